import type { KubernetesClient } from "../../kubernetesApi/client";
import { systemClock, type Clock } from "../machineApi/clock";
import type { MachineClient } from "../machineApi/client";
import type { NodeRole } from "../machineApi/readiness";
import { describeError, isTransient } from "../machineApi/retry";
import { drainNode, leftCordoned, uncordonAfterFailure, type DrainOptions } from "./drain";
import { leaveEtcd } from "./etcdLeave";
import { memberProblems, observeEtcd } from "./etcdPreflight";
import { assessEtcdHealth, claimControlPlaneRemoval, removalKeepsQuorum } from "./quorum";
import { afterUnknown, sentOnce } from "./sentOnce";

/**
 * Taking a node out of the cluster, in the order that loses nothing:
 * - worker: drain (PodDisruptionBudgets honoured), Talos reset (graceful, reboot), delete the Node;
 * - control plane: refuse unless etcd is healthy and keeps quorum without it (and no other control
 *   plane leaves in this run), then drain, leave etcd, reset, delete the Node.
 * A failed drain stops everything before the reset: the node stays in the cluster, uncordoned again
 * (drain.ts); a failure after it uncordons too while the node is still up, and says it is left
 * cordoned once the reset may have been delivered.
 */

export interface RemovalRequest {
  /** The Kubernetes Node name (the Talos hostname). */
  nodeName: string;
  /** The node's Talos address, as errors name it. */
  node: string;
  role: NodeRole;
  drain: Omit<DrainOptions, "clock" | "log">;
  /** Allow 2→1 etcd members (never 1→0). */
  allowBelowMajority?: boolean;
  /** How long to wait for the node to leave its current boot after the reset request. */
  resetTimeoutMs: number;
}

export interface RemovalDeps {
  kube: KubernetesClient;
  /** The leaving node's machine API. */
  talos: MachineClient;
  /** Every control plane's machine API (the leaving one included, if a control plane): the etcd health check asks each. */
  controlPlanes: readonly MachineClient[];
  clock?: Clock;
  log?: (line: string) => void;
}

export type RemovalStep = "drain" | "etcd-leave" | "reset" | "delete-node";

export interface RemovalResult {
  steps: RemovalStep[];
  /** What the node already had done to it by an earlier, interrupted removal. */
  skipped: string[];
}

/**
 * Polls until the node is no longer on `bootId`: reset wipes it and reboots into maintenance mode,
 * where our certificates no longer answer (a transport failure: refused, or a TLS handshake against
 * the maintenance service's own certificate). Any other error is not "gone" and fails the removal.
 */
async function waitUntilLeft(talos: MachineClient, bootId: string, timeoutMs: number, clock: Clock): Promise<void> {
  const start = clock.now();
  for (;;) {
    try {
      if ((await talos.bootId({ retryForMs: 0 })) !== bootId) return;
    } catch (error) {
      if (isTransient(error)) return;
      throw error;
    }
    const elapsed = clock.now() - start;
    if (elapsed >= timeoutMs) throw new Error(`node ${talos.node}: reset: still on boot ${bootId} after ${Math.round(elapsed / 1000)}s`);
    await clock.sleep(Math.min(1000, timeoutMs - elapsed));
  }
}

export async function removeNode(deps: RemovalDeps, request: RemovalRequest): Promise<RemovalResult> {
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? (() => undefined);
  const steps: RemovalStep[] = [];
  const skipped: string[] = [];
  const what = `remove ${request.role === "controlplane" ? "control plane" : "worker"} ${request.nodeName}`;
  let leavingMember: string | undefined;

  if (request.role === "controlplane") {
    const claim = claimControlPlaneRemoval(deps.kube.server, request.nodeName);
    try {
      const { observations, members, failures } = await observeEtcd(deps.controlPlanes, request.node);
      if (!members) throw new Error(`${what}: refused: no control plane answered the etcd member list (${failures.join("; ")})`);
      const own = observations.find((o) => o.endpoint === request.node)?.status?.memberId;
      const member = members.find((m) => (own !== undefined ? m.id === own : m.hostname === request.nodeName));
      // Its own status is not asked of a node that already left (an interrupted earlier removal).
      const relevant = member ? observations : observations.filter((o) => o.endpoint !== request.node);
      const problems = memberProblems(members);
      if (problems.length > 0) throw new Error(`${what}: refused: etcd is not ready: ${problems.join("; ")}`);
      const health = assessEtcdHealth(members, relevant);
      if (!health.allowed) throw new Error(`${what}: refused: ${health.reason}`);
      if (member) {
        const quorum = removalKeepsQuorum(members.length, request.allowBelowMajority);
        if (!quorum.allowed) throw new Error(`${what}: refused: ${quorum.reason}`);
        leavingMember = member.id;
      } else {
        skipped.push(`etcd: ${request.nodeName} is not an etcd member any more`);
      }
    } catch (error) {
      claim.release();
      throw error;
    }
  }

  const nodeObject = await deps.kube.getNode(request.nodeName);
  if (nodeObject) {
    log(`${what}: draining`);
    await drainNode(deps.kube, request.nodeName, { ...request.drain, clock, log });
    steps.push("drain");
  } else {
    skipped.push(`drain: no Node ${request.nodeName}`);
  }

  // The node is drained and cordoned from here on (when it has a Node); until the reset is sent it is up.
  const drained = steps.includes("drain");
  const beforeReset = async (error: unknown): Promise<never> => {
    if (drained) await uncordonAfterFailure(deps.kube, request.nodeName, error);
    throw error;
  };

  if (leavingMember !== undefined) {
    log(`${what}: leaving etcd`);
    const peers = deps.controlPlanes.filter((c) => c.node !== request.node);
    await leaveEtcd(deps.talos, { memberId: leavingMember, peers, clock, log }).catch(beforeReset);
    steps.push("etcd-leave");
  }

  let bootId: string | undefined;
  try {
    bootId = await deps.talos.bootId({ retryForMs: 0 });
  } catch (error) {
    // Reset before, Node deleted: an earlier run finished; nothing answers on our certificates any more.
    if (!nodeObject) return { steps, skipped: [...skipped, `reset: node does not answer (${describeError(error)})`] };
    return beforeReset(error);
  }
  log(`${what}: resetting`);
  // Sent once: a Reset whose outcome is unknown is judged by the node leaving its boot. Refused
  // outright, nothing went down; from the moment it may have arrived, the node stays cordoned.
  let unknown: Awaited<ReturnType<typeof sentOnce>>;
  try {
    unknown = await sentOnce(() => deps.talos.reset({ graceful: true, reboot: true }), log);
  } catch (error) {
    return beforeReset(error);
  }
  steps.push("reset");
  try {
    await waitUntilLeft(deps.talos, bootId, request.resetTimeoutMs, clock);
  } catch (error) {
    const cause = afterUnknown(unknown, error);
    throw drained ? leftCordoned(request.nodeName, cause, "its reset was requested and may be under way") : cause;
  }

  // After the reset, so a kubelet still running cannot register the Node again.
  if (nodeObject || (await deps.kube.getNode(request.nodeName))) {
    await deps.kube.deleteNode(request.nodeName);
    steps.push("delete-node");
  }
  return { steps, skipped };
}
