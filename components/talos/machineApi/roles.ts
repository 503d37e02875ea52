import type { MethodName } from "./schema";

/**
 * Which client certificate each call uses. Talos authorizes by the roles in the client
 * certificate's Organization (siderolabs/talos v1.13.9 pkg/grpc/middleware/authz/injector.go,
 * extractRoles) against a per-method table (internal/app/machined/pkg/system/services/machined.go,
 * `rules`; same entries at v1.12.11). `reader` is used only where that table admits os:reader AND
 * the call does nothing on the caller's behalf that needs more.
 */
export type CallRole = "reader" | "admin";

export const callRoles: { readonly [K in MethodName]: CallRole } = {
  // rules: Admin, Operator, Reader (EtcdMemberList/EtcdStatus also EtcdBackup).
  Version: "reader",
  ServiceList: "reader",
  EtcdMemberList: "reader",
  EtcdStatus: "reader",
  // rules: `/machine.MachineService/Read: role.MakeSet(role.Admin)`: the boot-id read is admin-only
  // (talosctl's own boot-id check falls back to "(unauthorized)" for lesser roles:
  // cmd/talosctl/pkg/talos/action/tracker.go, unauthorizedBootIDFallback).
  Read: "admin",
  // rules admit Reader, but the check runs its own calls with the caller's roles
  // (internal/app/machined/internal/server/v1alpha1/v1alpha1_cluster.go: NewLocalClientProvider(...,
  // authz.GetRoles(ctx))) and its Kubernetes checks fetch a kubeconfig through MachineService/Kubeconfig
  // (pkg/cluster/kubernetes.go), which is Admin-only: under os:reader they could never pass.
  HealthCheck: "admin",
  // Calls that change a machine: Admin only (Reboot and ImageService/Pull also Operator; we hold no operator certificate).
  Reboot: "admin",
  Reset: "admin",
  Upgrade: "admin",
  LifecycleUpgrade: "admin",
  ImagePull: "admin",
  EtcdLeaveCluster: "admin",
  EtcdRemoveMemberByID: "admin",
  EtcdForfeitLeadership: "admin",
};

/** Calls that change a machine: sent once, never again once they may have arrived (see client.ts). */
export const mutatingCalls: ReadonlySet<MethodName> = new Set<MethodName>([
  "Reboot",
  "Reset",
  "Upgrade",
  "LifecycleUpgrade",
  "EtcdLeaveCluster",
  "EtcdRemoveMemberByID",
  "EtcdForfeitLeadership",
]);
