/**
 * Pure rules for upgrades: which version steps are allowed, in which order nodes go, and when the
 * machine-config contract may move. No I/O; the OsUpgrade resource and the wiring apply them.
 */
import type { NodeRole } from "../machineApi/readiness";

export interface VersionParts {
  major: number;
  minor: number;
  patch: number;
}

/** `v1.12.3`, `1.12.3`, `v1.13.0-beta.1` (the pre-release is ignored for ordering). */
export function parseVersion(version: string): VersionParts {
  const match = /^v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.-]+)?$/.exec(version.trim());
  if (!match) throw new Error(`not a version: ${JSON.stringify(version)} (expected e.g. v1.13.2)`);
  return { major: Number(match[1]), minor: Number(match[2]), patch: Number(match[3]) };
}

function compare(a: VersionParts, b: VersionParts): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

const minorOf = (v: VersionParts) => `v${v.major}.${v.minor}`;

export type StepVerdict = { allowed: true } | { allowed: false; reason: string };

/**
 * One Talos minor at a time, never backwards: v1.12.x → v1.12.y (y ≥ x) or v1.13.z is allowed;
 * v1.11 → v1.13 (Talos itself would accept it: compatibility/talos113 allows hosts from 1.11.0) and any
 * downgrade are refused, so each minor's migrations run on every node before the next.
 */
export function checkOsUpgradeStep(running: string, target: string): StepVerdict {
  const from = parseVersion(running);
  const to = parseVersion(target);
  if (from.major !== to.major) return { allowed: false, reason: `${running} → ${target} changes the major version` };
  if (compare(to, from) < 0) return { allowed: false, reason: `${running} → ${target} is a downgrade` };
  if (to.minor - from.minor > 1)
    return {
      allowed: false,
      reason: `${running} → ${target} skips ${Array.from({ length: to.minor - from.minor - 1 }, (_, i) => `v${from.major}.${from.minor + i + 1}`).join(", ")}: upgrade one minor at a time`,
    };
  return { allowed: true };
}

export interface PlanNode {
  name: string;
  role: NodeRole;
}

export interface UpgradeBatch {
  role: NodeRole;
  nodes: string[];
}

/**
 * The rolling order: control planes one at a time (etcd keeps quorum with one member down), in the
 * given order, then workers in batches of `maxUnavailableWorkers`. Each batch starts only when every
 * node of the previous one is back on the target version (the wiring expresses that with dependsOn).
 */
export function upgradePlan(nodes: readonly PlanNode[], options: { maxUnavailableWorkers: number }): UpgradeBatch[] {
  const size = options.maxUnavailableWorkers;
  if (!Number.isInteger(size) || size < 1) throw new Error(`maxUnavailableWorkers must be a positive integer, got ${size}`);
  const names = new Set<string>();
  for (const node of nodes) {
    if (names.has(node.name)) throw new Error(`node ${node.name} appears twice`);
    names.add(node.name);
  }
  const batches: UpgradeBatch[] = nodes.filter((n) => n.role === "controlplane").map((n) => ({ role: "controlplane", nodes: [n.name] }));
  const workers = nodes.filter((n) => n.role === "worker").map((n) => n.name);
  for (let i = 0; i < workers.length; i += size) batches.push({ role: "worker", nodes: workers.slice(i, i + size) });
  return batches;
}

/** For each node, the nodes whose upgrade it waits for: the whole previous batch. */
export function upgradeDependencies(batches: readonly UpgradeBatch[]): Map<string, string[]> {
  const waits = new Map<string, string[]>();
  batches.forEach((batch, i) => {
    for (const node of batch.nodes) waits.set(node, i === 0 ? [] : [...batches[i - 1].nodes]);
  });
  return waits;
}

/**
 * The machine-config contract the cluster may use: the lowest minor any node runs (`v1.12` while one
 * node is still on v1.12.x). A config for the new minor is applied only once every node runs it.
 */
export function configContractAfter(observedVersions: readonly string[]): string {
  if (observedVersions.length === 0) throw new Error("no observed versions: the contract follows the nodes");
  const [lowest] = observedVersions.map(parseVersion).sort(compare);
  return minorOf(lowest!);
}

/** The Kubernetes minors a Talos minor supports, inclusive (compatibility/talos113: 1.31 to 1.36). */
export interface KubernetesRange {
  /** e.g. `1.31` */
  min: string;
  /** e.g. `1.36` */
  max: string;
}

function minorPair(text: string): [number, number] {
  const match = /^v?(\d+)\.(\d+)$/.exec(text.trim());
  if (!match) throw new Error(`not a minor: ${JSON.stringify(text)} (expected e.g. 1.34)`);
  return [Number(match[1]), Number(match[2])];
}

/**
 * A kubernetesVersion change is allowed when it stays within the target Talos' supported range and
 * moves at most one minor forward (`talosctl upgrade-k8s` refuses other paths: go-kubernetes
 * upgrade.Path.IsSupported accepts only x.y→x.y and x.y→x.(y+1)); downgrades are refused.
 */
export function checkKubernetesUpgrade(from: string, to: string, talosRange: KubernetesRange): StepVerdict {
  const a = parseVersion(from);
  const b = parseVersion(to);
  const [minMajor, minMinor] = minorPair(talosRange.min);
  const [maxMajor, maxMinor] = minorPair(talosRange.max);
  const below = b.major < minMajor || (b.major === minMajor && b.minor < minMinor);
  const above = b.major > maxMajor || (b.major === maxMajor && b.minor > maxMinor);
  if (below || above)
    return {
      allowed: false,
      reason: `Kubernetes ${to} is outside the range the target Talos supports (${talosRange.min} to ${talosRange.max})`,
    };
  if (a.major !== b.major) return { allowed: false, reason: `Kubernetes ${from} → ${to} changes the major version` };
  if (compare(b, a) < 0) return { allowed: false, reason: `Kubernetes ${from} → ${to} is a downgrade` };
  if (b.minor - a.minor > 1) return { allowed: false, reason: `Kubernetes ${from} → ${to} skips a minor: upgrade one minor at a time` };
  return { allowed: true };
}
