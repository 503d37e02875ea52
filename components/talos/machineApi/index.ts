/** The Talos machine API client: mutual-TLS gRPC calls, readiness rules and the waits built on them. */
export { callDeadlinesMs, createMachineClient, talosApiPort } from "./client";
export type {
  CallOptions,
  HealthCheckRequest,
  MachineClient,
  MachineClientOptions,
  RebootMode,
  ResetRequest,
  UpgradeRequest,
} from "./client";
export { systemClock, type Clock } from "./clock";
export { channelCredentials, pemFrom, type ClientConfiguration } from "./credentials";
export { isTalosApiError, outcomeUnknown, talosApiError, type TalosApiError } from "./errors";
export { callRoles, mutatingCalls, type CallRole } from "./roles";
export { assessReadiness, defaultServices } from "./readiness";
export type { NodeExpectations, NodeObservation, NodeRole, Readiness } from "./readiness";
export type { EtcdMemberInfo, EtcdStatusInfo, ServiceState, VersionReply } from "./replies";
export { observeNode, waitForReboot, waitUntilReady, type ReadyNode, type RebootSeen, type WaitOptions } from "./wait";
