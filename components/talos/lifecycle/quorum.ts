import type { EtcdMemberInfo, EtcdStatusInfo } from "../machineApi/replies";

/**
 * Rules for taking a control plane out of etcd. Pure: the removal sequencing (nodeRemoval.ts) gathers
 * the observations, these decide.
 */

export type Verdict = { allowed: true } | { allowed: false; reason: string };

/**
 * Whether removing one member keeps quorum: the members left must still be a majority of the current
 * member count (quorum of n is ⌊n/2⌋+1). 5→4, 4→3, 3→2 keep it; 2→1 does not (the one left is half,
 * not a majority: any further fault loses the cluster) and is refused unless explicitly allowed;
 * 1→0 deletes the cluster's data store and is always refused.
 */
export function removalKeepsQuorum(currentMembers: number, allowBelowMajority = false): Verdict {
  if (!Number.isInteger(currentMembers) || currentMembers < 1) return { allowed: false, reason: `etcd has ${currentMembers} members` };
  if (currentMembers === 1) return { allowed: false, reason: "it is the last etcd member: removing it deletes the cluster's data" };
  const after = currentMembers - 1;
  const majority = Math.floor(currentMembers / 2) + 1;
  if (after >= majority) return { allowed: true };
  if (allowBelowMajority) return { allowed: true };
  return {
    allowed: false,
    reason:
      `etcd would go from ${currentMembers} to ${after} member(s), below a majority (${majority}) of ${currentMembers}: ` +
      `one more fault would lose quorum (allow it explicitly to proceed)`,
  };
}

/** One control plane's answer to EtcdStatus, or why there was none. */
export interface EtcdStatusObservation {
  endpoint: string;
  status?: EtcdStatusInfo;
  error?: string;
}

/**
 * etcd is healthy when every member of the list answered EtcdStatus through some control plane and
 * none reports errors. Learners count as members (they are in the list and in the quorum arithmetic
 * only once promoted, but a stuck learner is still a reason not to remove anything).
 */
export function assessEtcdHealth(members: readonly EtcdMemberInfo[], observations: readonly EtcdStatusObservation[]): Verdict {
  if (members.length === 0) return { allowed: false, reason: "etcd member list is empty" };
  const problems: string[] = [];
  const byId = new Map<string, EtcdStatusInfo>();
  for (const o of observations) if (o.status) byId.set(o.status.memberId, o.status);
  for (const member of members) {
    const seen = byId.get(member.id);
    if (!seen) {
      problems.push(`member ${member.hostname} (${member.id}) did not answer`);
      continue;
    }
    if (seen.errors.length > 0) problems.push(`member ${member.hostname} (${member.id}) reports errors: ${seen.errors.join("; ")}`);
  }
  const listed = new Set(members.map((m) => m.id));
  for (const { endpoint, status, error } of observations) {
    if (error) problems.push(`${endpoint}: ${error}`);
    else if (status && !listed.has(status.memberId)) problems.push(`${endpoint}: its member ${status.memberId} is not in the member list`);
  }
  return problems.length === 0 ? { allowed: true } : { allowed: false, reason: `etcd is unhealthy: ${problems.join("; ")}` };
}

/**
 * Only one control plane leaves etcd per `pulumi up`. Validation cannot enforce it: it sees the new
 * stack file only, not which nodes state still holds. A NodeMembership's delete sees only its own
 * old outputs. What every delete of one run shares is the engine's dynamic-provider process (one
 * `pulumi-resource-pulumi-nodejs` per deployment, whatever provider text each resource carries), so
 * the claim lives on `globalThis` there, keyed by cluster (API server URL): the first control-plane
 * removal to claim it proceeds, any other in the same run is refused — concurrently (JavaScript runs
 * the check-and-set without interleaving) or later in the run. The claim is released only when the
 * removal was refused before it changed anything; a removal that started keeps it for the run.
 */
const registryKey = "__talosGitopsControlPlaneRemovals";

export interface RemovalClaim {
  /** Gives the claim back: only for a removal refused before it touched anything. */
  release(): void;
}

export function claimControlPlaneRemoval(cluster: string, node: string): RemovalClaim {
  const holder = globalThis as unknown as Record<string, Map<string, string> | undefined>;
  const registry = (holder[registryKey] ??= new Map<string, string>());
  const current = registry.get(cluster);
  if (current !== undefined && current !== node) {
    throw new Error(
      `remove control plane ${node}: refused: control plane ${current} already leaves etcd in this run; ` +
        `only one control plane may leave per run (run pulumi up again once ${current} is gone)`,
    );
  }
  registry.set(cluster, node);
  return { release: () => void (registry.get(cluster) === node && registry.delete(cluster)) };
}
