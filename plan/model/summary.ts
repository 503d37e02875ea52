import type { Issue, Step } from "./steps";
import { valueAt } from "./inputDiff";

/**
 * What an operator decides from first: the versions a run moves (Talos, Kubernetes, every chart)
 * and the resources whose protection it changes. A protect-only change is a `same` step to the
 * engine (it rewrites the flag in state and calls no provider), so the step list alone hides it.
 */
export interface VersionChange {
  readonly what: string;
  readonly from: string;
  readonly to: string;
}

export interface ProtectionChange {
  readonly name: string;
  readonly protect: boolean;
}

const VERSION_GUARD = "pulumi-nodejs:dynamic/talos:VersionGuard";
const RELEASE = "kubernetes:helm.sh/v3:Release";

export function versionChanges(steps: readonly Step[]): VersionChange[] {
  const out: VersionChange[] = [];
  for (const s of steps) {
    if (!s.old || !s.next) continue;
    const moved = (what: string, path: string) => {
      const from = valueAt(s.old?.inputs ?? null, path);
      const to = valueAt(s.next?.inputs ?? null, path);
      if (typeof from === "string" && typeof to === "string" && from !== to) out.push({ what, from, to });
    };
    if (s.type === VERSION_GUARD) {
      moved("Talos", "talosVersion");
      moved("Kubernetes", "kubernetesVersion");
    }
    if (s.type === RELEASE) moved(`chart ${s.name}`, "version");
  }
  return out;
}

export function protectionChanges(steps: readonly Step[]): ProtectionChange[] {
  return steps.flatMap((s) => (s.old && s.next && s.old.protect !== s.next.protect ? [{ name: s.name, protect: s.next.protect }] : []));
}

const minorOf = (version: string) => /^v?(\d+)\.(\d+)/.exec(version)?.slice(1, 3).join(".");

/** Talos and Kubernetes minors moved by one run: each is allowed alone, together they roll every node twice at once. */
export function combinedMinorWarnings(changes: readonly VersionChange[]): Issue[] {
  const minor = (what: string) => changes.find((c) => c.what === what && minorOf(c.from) !== minorOf(c.to));
  const talos = minor("Talos");
  const kubernetes = minor("Kubernetes");
  if (!talos || !kubernetes) return [];
  return [
    {
      urn: "",
      message:
        `Talos ${talos.from} → ${talos.to} and Kubernetes ${kubernetes.from} → ${kubernetes.to} change minor in one run: ` +
        `every node is upgraded and then its machine config rolled with the new Kubernetes, and a failure half-way leaves both half-done; ` +
        `upgrade Talos in one run, Kubernetes in the next`,
    },
  ];
}

/**
 * `talos.allowControlPlaneRemoval` and a control plane's removal in the same run: the engine checks
 * `protect` in the *state* before it deletes (pulumi/pulumi pkg/resource/deploy/step.go DeleteStep),
 * so the flag takes effect only once a run has written it. Says how to proceed, next to the refusal.
 */
export function removalProcedure(steps: readonly Step[], errors: readonly Issue[]): Issue[] {
  const unprotects = protectionChanges(steps).some((c) => !c.protect);
  const refused = steps.find((s) => s.op === "delete" && s.old?.protect && errors.some((e) => e.urn === s.urn));
  if (!unprotects || !refused) return [];
  return [
    {
      urn: refused.urn,
      message:
        `talos.allowControlPlaneRemoval and the removal come in one run, but the engine reads protect from state: ` +
        `first \`pulumi up\` with the flag and every node still listed (it only unprotects), then remove the node and run \`pulumi up\` again`,
    },
  ];
}

/**
 * One node's part of the run: the waves from its first step that does something to its last (OS
 * upgrade, config apply, gate wait, membership), and whether it joins, leaves or changes. Nodes that
 * share their waves roll together (a worker batch).
 */
export interface NodeRollout {
  readonly node: string;
  /** Its hostname when the run names it (membership, gate), else the address again. */
  readonly name: string;
  readonly firstWave: number;
  readonly lastWave: number;
  readonly change: "joins" | "changes" | "leaves";
}

/** Resources that belong to one node, keyed by their `node` input (the node's address). */
const perNode = new Set([
  "talos:machine/configurationApply:ConfigurationApply",
  "pulumi-nodejs:dynamic/talos:OsUpgrade",
  "pulumi-nodejs:dynamic/talos:NodeGate",
  "pulumi-nodejs:dynamic/talos:NodeMembership",
]);

/** The nodes this run touches, in the order it reaches them. */
export function rolloutOrder(steps: readonly Step[]): NodeRollout[] {
  const nodes = new Map<string, { name?: string; first: number; last: number; ops: Set<string> }>();
  for (const s of steps) {
    if (s.op === "same" || !perNode.has(s.type)) continue;
    const inputs = s.next?.inputs ?? s.old?.inputs ?? null;
    const node = valueAt(inputs, "node");
    if (typeof node !== "string") continue;
    const name = valueAt(inputs, "nodeName") ?? valueAt(inputs, "kubernetes.nodeName");
    const entry = nodes.get(node) ?? { first: s.wave, last: s.wave, ops: new Set<string>() };
    entry.first = Math.min(entry.first, s.wave);
    entry.last = Math.max(entry.last, s.wave, s.deleteWave ?? 0);
    entry.ops.add(s.op);
    if (typeof name === "string") entry.name = name;
    nodes.set(node, entry);
  }
  return [...nodes]
    .map(([node, e]) => ({
      node,
      name: e.name ?? node,
      firstWave: e.first,
      lastWave: e.last,
      change: only(e.ops, "create") ? ("joins" as const) : only(e.ops, "delete") ? ("leaves" as const) : ("changes" as const),
    }))
    .sort((a, b) => a.firstWave - b.firstWave || a.lastWave - b.lastWave || a.node.localeCompare(b.node));
}

const only = (ops: ReadonlySet<string>, op: string) => ops.size === 1 && ops.has(op);
