import type { EtcdMemberInfo, EtcdStatusInfo, ServiceState, VersionReply } from "./replies";

export type NodeRole = "controlplane" | "worker";

export interface NodeExpectations {
  /** The node's address, as errors name it. */
  node: string;
  role: NodeRole;
  /** The Talos tag the node must run, e.g. `v1.13.9`. */
  talosVersion: string;
  /** Services that must be Running and healthy; see `defaultServices`. */
  services: readonly string[];
  /** Boot id read before a reboot/upgrade request: the node is ready only on a different boot. */
  previousBootId?: string;
}

/** What talosctl health checks on every node, plus etcd and trustd, which run on control planes only. */
export function defaultServices(role: NodeRole): string[] {
  return role === "controlplane" ? ["apid", "containerd", "cri", "etcd", "kubelet", "trustd"] : ["apid", "containerd", "cri", "kubelet"];
}

/** One poll's findings, gathered in order; the first call that failed stops the round and is kept. */
export interface NodeObservation {
  version?: VersionReply;
  bootId?: string;
  services?: ServiceState[];
  etcdStatus?: EtcdStatusInfo;
  etcdMembers?: EtcdMemberInfo[];
  failure?: { call: string; detail: string; transient: boolean };
}

export type Readiness = { ready: true } | { ready: false; unmet: string; unreachable: boolean };

function unmet(text: string, unreachable = false): Readiness {
  return { ready: false, unmet: text, unreachable };
}

function serviceProblem(expected: string, services: readonly ServiceState[]): string | undefined {
  const service = services.find((s) => s.id === expected);
  if (!service) return `service ${expected} is not listed`;
  if (service.state !== "Running") return `service ${expected} is ${service.state}, not Running`;
  if (!service.healthy) {
    const why = service.healthUnknown ? "health not reported yet" : service.lastHealthMessage || "no message";
    return `service ${expected} is Running but not healthy (${why})`;
  }
  return undefined;
}

function etcdProblem(status: EtcdStatusInfo, members: readonly EtcdMemberInfo[]): string | undefined {
  if (status.errors.length > 0) return `etcd member ${status.memberId} reports errors: ${status.errors.join("; ")}`;
  const member = members.find((m) => m.id === status.memberId);
  if (!member)
    return `etcd member ${status.memberId} is missing from the member list (${members.map((m) => `${m.hostname}=${m.id}`).join(", ") || "empty"})`;
  if (member.isLearner || status.isLearner) return `etcd member ${member.hostname} (${member.id}) is still a learner`;
  return undefined;
}

/**
 * The readiness rules, in the order a booting node satisfies them: it answers, runs the expected
 * version, is on a new boot (when one was requested), its services are up, and (control planes)
 * its etcd member is a healthy voting member. The first unmet rule is the one reported.
 */
export function assessReadiness(expected: NodeExpectations, seen: NodeObservation): Readiness {
  if (!seen.version) {
    const failure = seen.failure;
    return unmet(failure ? `${failure.call}: ${failure.detail}` : "Version not queried", failure?.transient ?? false);
  }
  if (seen.version.tag !== expected.talosVersion) return unmet(`expected ${expected.talosVersion}, runs ${seen.version.tag}`);
  if (expected.previousBootId !== undefined) {
    if (seen.bootId === undefined)
      return unmet(seen.failure ? `boot id: ${seen.failure.call}: ${seen.failure.detail}` : "boot id not read");
    if (seen.bootId === expected.previousBootId) return unmet(`still on the boot before the reboot (boot id ${seen.bootId})`);
  }
  if (!seen.services) return unmet(seen.failure ? `${seen.failure.call}: ${seen.failure.detail}` : "services not listed");
  for (const service of expected.services) {
    const problem = serviceProblem(service, seen.services);
    if (problem) return unmet(problem);
  }
  if (expected.role === "controlplane") {
    if (!seen.etcdStatus || !seen.etcdMembers)
      return unmet(seen.failure ? `${seen.failure.call}: ${seen.failure.detail}` : "etcd not queried");
    const problem = etcdProblem(seen.etcdStatus, seen.etcdMembers);
    if (problem) return unmet(problem);
  }
  return { ready: true };
}
