import type { MachineClient } from "../machineApi/client";
import { outcomeUnknown, talosApiError } from "../machineApi/errors";
import type { EtcdMemberInfo } from "../machineApi/replies";
import { describeError } from "../machineApi/retry";
import { assessEtcdHealth, type EtcdStatusObservation, type Verdict } from "./quorum";

/**
 * Before a control plane goes down (OS upgrade on either path, removal): is etcd fit to lose it for a
 * while, and who leads it. The rules are Talos' own pre-upgrade validation (siderolabs/talos v1.13.9
 * internal/pkg/etcd/etcd.go, ValidateForUpgrade: refuses 2 members, a member not started, a member
 * that is not healthy) plus learners, asked of every control plane: the LifecycleService path of
 * v1.13 runs no such validation, and MachineService/Upgrade skips it with `force` or `preserve`.
 */

export interface EtcdObservation {
  observations: EtcdStatusObservation[];
  members?: EtcdMemberInfo[];
  /** Why no control plane gave a member list. */
  failures: string[];
}

/** Every control plane's EtcdStatus, and the member list from a peer that answers (the node going down last). */
export async function observeEtcd(controlPlanes: readonly MachineClient[], goingDown: string): Promise<EtcdObservation> {
  const observations: EtcdStatusObservation[] = [];
  for (const client of controlPlanes) {
    try {
      observations.push({ endpoint: client.node, status: await client.etcdStatus({ retryForMs: 0 }) });
    } catch (error) {
      observations.push({ endpoint: client.node, error: describeError(error) });
    }
  }
  const ordered = [...controlPlanes.filter((c) => c.node !== goingDown), ...controlPlanes.filter((c) => c.node === goingDown)];
  const failures: string[] = [];
  for (const client of ordered) {
    try {
      return { observations, members: await client.etcdMembers({ retryForMs: 0 }), failures };
    } catch (error) {
      failures.push(`${client.node}: ${describeError(error)}`);
    }
  }
  return { observations, failures };
}

/** Members that are not started (listed without a name: ValidateForUpgrade) or still learners. */
export function memberProblems(members: readonly EtcdMemberInfo[]): string[] {
  return members.flatMap((m) => [
    ...(m.hostname === "" ? [`member ${m.id} is not started`] : []),
    ...(m.isLearner ? [`member ${m.hostname || m.id} (${m.id}) is a learner, not yet a voting member`] : []),
  ]);
}

/**
 * Whether etcd keeps quorum while one member is down. Quorum of n is ⌊n/2⌋+1: 3 members keep 2 of 3,
 * 2 members do not (the one left is not a majority: etcd stops taking writes, so the Kubernetes API
 * stops, until the member is back; Talos refuses this too). A single member has no quorum to keep:
 * its cluster's API is down while it reboots whatever we do, as for any single control plane, and
 * Talos allows that upgrade; so it is allowed here, and said.
 */
export function oneDownKeepsQuorum(members: number): Verdict {
  if (members === 2)
    return {
      allowed: false,
      reason:
        "etcd has 2 members: with one down the other is not a quorum (2 of 2 needed), so etcd and the Kubernetes API " +
        "stop until it is back; add a third control plane (or go down to one) before taking a control plane down",
    };
  return { allowed: true };
}

/** Everything that must hold before the control plane `node` goes down for an OS upgrade; the reason when not. */
export async function etcdUpgradeVerdict(controlPlanes: readonly MachineClient[], node: string): Promise<Verdict> {
  const { observations, members, failures } = await observeEtcd(controlPlanes, node);
  if (!members) return { allowed: false, reason: `no control plane answered the etcd member list (${failures.join("; ")})` };
  const quorum = oneDownKeepsQuorum(members.length);
  if (!quorum.allowed) return quorum;
  const problems = memberProblems(members);
  if (problems.length > 0) return { allowed: false, reason: `etcd is not ready: ${problems.join("; ")}` };
  return assessEtcdHealth(members, observations);
}

/**
 * Hands etcd leadership to another member before the node goes down, as the Cluster API Talos
 * control-plane provider does before a member leaves (siderolabs/cluster-api-control-plane-provider-talos
 * v0.5.12 controllers/etcd.go, gracefulEtcdLeave: EtcdForfeitLeadership, then EtcdLeaveCluster): the
 * cluster elects no new leader under load while this one reboots. Sent once; when its outcome is
 * unknown, the node's own EtcdStatus says whether it still leads.
 */
export async function forfeitLeadership(talos: MachineClient, log: (line: string) => void): Promise<void> {
  try {
    const to = await talos.etcdForfeitLeadership();
    log(to ? `${talos.node}: etcd leadership handed to ${to}` : `${talos.node}: not the etcd leader`);
  } catch (error) {
    if (!outcomeUnknown(error)) throw error;
    const status = await talos.etcdStatus({ retryForMs: 30_000 });
    if (status.leader === status.memberId)
      throw talosApiError(
        talos.node,
        "EtcdForfeitLeadership",
        `${describeError(error)}; the node still leads etcd (member ${status.memberId})`,
      );
    log(`${talos.node}: etcd leadership forfeit outcome unknown, but member ${status.leader} leads now`);
  }
}
