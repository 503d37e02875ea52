import { clusterHealthChanges, type ClusterHealthInputs } from "../../components/talos/lifecycle/clusterHealthProvider";
import type { Baseline, StateResource } from "./baseline";
import { plainEffect } from "./stepEffects";
import { clusterHealthType, clusterReadyType } from "./bringUp";
import { canonical } from "../record/digest";
import type { Recording } from "../record/harness";
import { valueAt } from "./inputDiff";
import type { Issue, Step } from "./steps";
import type { Json } from "../record/wire";

/**
 * What the steps do to the cluster, in words, and what deserves a warning before `pulumi up`:
 * machines reset, control planes re-applied together, CRDs (and every object of their kinds)
 * deleted. Pure: steps, the two runs, and the preview calls in; effects per step and warnings out.
 */
export const APPLY = "talos:machine/configurationApply:ConfigurationApply";
export const MEMBERSHIP = "pulumi-nodejs:dynamic/talos:NodeMembership";
export const OS_UPGRADE = "pulumi-nodejs:dynamic/talos:OsUpgrade";

export interface PreviewCall {
  readonly token: string;
  /** The longest the call may wait (its own `timeouts`), or null when it sets none. */
  readonly timeout: string | null;
}

/** Custom resources whose CRDs go with them: the kinds named are the ones this program relies on. */
const crdCarriers: ReadonlyArray<{ match: (r: StateResource) => boolean; kinds: string; kept?: (r: StateResource) => boolean }> = [
  {
    match: (r) => isRelease(r) && valueAt(r.inputs, "values.crds.enabled") === true,
    kinds: "Certificate, Issuer, ClusterIssuer",
    // cert-manager's crds.keep annotates its CRDs helm.sh/resource-policy: keep, so uninstalling leaves them.
    kept: (r) => valueAt(r.inputs, "values.crds.keep") === true,
  },
  { match: (r) => isRelease(r) && valueAt(r.inputs, "values.installCRDs") === true, kinds: "ExternalSecret, ClusterSecretStore" },
  {
    match: (r) => isRelease(r) && String(valueAt(r.inputs, "chart") ?? "").endsWith("prometheus-operator-crds"),
    kinds: "ServiceMonitor, PodMonitor, PrometheusRule",
  },
  { match: (r) => r.type === "kubernetes:yaml/v2:ConfigGroup" && /crds/.test(r.name), kinds: "Gateway, HTTPRoute, TLSRoute" },
];

/** An invoke's own wait: the Talos data sources take `timeouts: { read }`. */
export function timeoutOf(args: Json): string | null {
  const t = valueAt(args, "timeouts");
  const read = t !== undefined ? (valueAt(t, "read") ?? valueAt(t, "create")) : undefined;
  return typeof read === "string" ? read : null;
}

function isRelease(r: StateResource): boolean {
  return r.type === "kubernetes:helm.sh/v3:Release";
}

/** A preview that may wait this long (or longer) is worth a warning: CI runners wait with it. */
const longWaitSeconds = 60;

function seconds(duration: string): number {
  const unit: Record<string, number> = { h: 3600, m: 60, s: 1 };
  let total = 0;
  for (const [, n, u] of duration.matchAll(/(\d+(?:\.\d+)?)([hms])/g)) total += Number(n) * (unit[u ?? "s"] ?? 1);
  return total;
}

/**
 * Control planes: the nodes `ClusterReady` lists with role controlplane and `ClusterHealth` names as
 * control planes (their inputs, in state or in this run); a base run from before those resources
 * named them in the `talos:cluster/getHealth` invoke.
 */
function controlPlaneIps(
  resources: ReadonlyArray<{ type: string; inputs: Json }>,
  invokes: ReadonlyArray<{ token: string; args: Json }>,
): Set<string> {
  const ips = new Set<string>();
  const add = (nodes: Json | undefined) => Array.isArray(nodes) && nodes.forEach((n) => ips.add(String(n)));
  for (const r of resources) {
    if (r.type === clusterHealthType) add(valueAt(r.inputs, "controlPlaneNodes"));
    if (r.type !== clusterReadyType) continue;
    const nodes = valueAt(r.inputs, "nodes");
    if (!Array.isArray(nodes)) continue;
    for (const n of nodes) if (valueAt(n, "role") === "controlplane") ips.add(String(valueAt(n, "node")));
  }
  for (const i of invokes) if (i.token === "talos:cluster/getHealth:getHealth") add(valueAt(i.args, "controlPlaneNodes"));
  return ips;
}

function hostname(r: StateResource | { inputs: Json }): string | undefined {
  const patches = valueAt(r.inputs, "configPatches");
  if (!Array.isArray(patches)) return undefined;
  for (const p of patches) {
    const m = /^\s*hostname:\s*(\S+)\s*$/m.exec(String(p));
    if (m) return m[1];
  }
  return undefined;
}

/** A delete of this resource wipes a machine: an apply with onDestroy.reset (before memberships), or a membership. */
function resets(old: StateResource): boolean {
  if (old.retainOnDelete) return false;
  return (old.type === APPLY && valueAt(old.inputs, "onDestroy.reset") === true) || old.type === MEMBERSHIP;
}

/** ` (a refresh found v1.x.y)` when state says the node runs another version than it was brought to. */
function drift(s: Step): string {
  const observed = s.old ? valueAt(s.old.outputs, "observedVersion") : undefined;
  const broughtTo = s.old ? valueAt(s.old.outputs, "targetVersion") : undefined;
  return typeof observed === "string" && observed !== broughtTo ? ` (a refresh found ${observed})` : "";
}

/** What a membership's delete does (components/talos/lifecycle/nodeRemoval.ts), in its order. */
function removalText(old: StateResource): string {
  const ip = String(valueAt(old.inputs, "node"));
  const name = String(valueAt(old.inputs, "nodeName"));
  const drain = `drains ${name} (evictions honour PodDisruptionBudgets; fails after ${String(valueAt(old.inputs, "drainTimeoutSeconds"))}s)`;
  const reset = `resets machine ${ip} (wipes its STATE and EPHEMERAL partitions), then deletes Node ${name}`;
  return valueAt(old.inputs, "role") === "controlplane"
    ? `checks etcd is healthy and keeps quorum without ${name}, ${drain}, takes it out of etcd, ${reset}`
    : `${drain}, ${reset}`;
}

/**
 * Only one control plane may leave per run: a second membership delete would be refused by the
 * removal itself (quorum.ts claimControlPlaneRemoval) after the first has run. Said before the run.
 */
export function removalErrors(steps: readonly Step[]): Issue[] {
  const leaving = steps.filter((s) => s.op === "delete" && s.old?.type === MEMBERSHIP && valueAt(s.old.inputs, "role") === "controlplane");
  if (leaving.length < 2) return [];
  const names = leaving.map((s) => String(valueAt(s.old?.inputs ?? null, "nodeName")));
  return leaving.slice(1).map((s) => ({
    urn: s.urn,
    message: `${names.length} control planes leave in one run (${names.join(", ")}): only one may leave etcd per run; remove them one per pulumi up`,
  }));
}

export interface Consequences {
  readonly effects: ReadonlyMap<Step, readonly string[]>;
  readonly warnings: readonly Issue[];
}

export function consequences(
  steps: readonly Step[],
  base: Baseline,
  next: Recording,
  previewCalls: ReadonlyArray<PreviewCall & { args: Json }>,
): Consequences {
  const effects = new Map<Step, string[]>();
  const warnings: Issue[] = [];
  const say = (s: Step, text: string) => effects.set(s, [...(effects.get(s) ?? []), text]);
  const controlPlanes = new Set([...controlPlaneIps(base.resources, base.invokes), ...controlPlaneIps(next.resources, next.invokes)]);
  const nextApplies = next.resources.filter((r) => r.type === APPLY);

  for (const s of steps) {
    const old = s.old;
    const goes = s.op === "delete" || s.op === "replace";
    if (goes && old?.protect && (s.op === "delete" || s.next?.protect)) say(s, "protected: the engine will refuse");
    if (s.op === "delete" && old?.retainOnDelete) say(s, "forgotten (retainOnDelete): nothing is deleted");
    if (s.op === "replace") {
      say(
        s,
        s.deleteBeforeReplace
          ? "deleted before its replacement is created: absent in between"
          : `created anew first; the old one is deleted in wave ${s.deleteWave ?? "?"}`,
      );
    }
    if (old && goes && resets(old)) {
      const ip = String(valueAt(old.inputs, "node"));
      const graceful = valueAt(old.inputs, "onDestroy.graceful") === true ? ", leaving etcd first" : "";
      say(s, old.type === MEMBERSHIP ? removalText(old) : `resets machine ${ip} (wipes its STATE and EPHEMERAL partitions${graceful})`);
      const name = old.type === MEMBERSHIP ? String(valueAt(old.inputs, "nodeName")) : hostname(old);
      const stays = nextApplies.find((a) => (s.op === "replace" && a.urn === s.urn) || sameNode(a, ip, name));
      if (stays) {
        warnings.push({
          urn: s.urn,
          message: `node ${name ?? ip} stays in the stack but ${old.name} is ${s.op === "delete" ? "deleted" : "replaced"}: machine ${ip} is wiped`,
        });
      } else if (controlPlanes.has(ip) && !old.protect) {
        warnings.push({ urn: s.urn, message: `control plane ${name ?? ip} leaves: etcd loses a member` });
      }
    }
    if ((s.op === "update" || s.op === "create") && s.type === OS_UPGRADE && s.next) {
      const inputs = s.next.inputs;
      say(
        s,
        s.op === "create"
          ? `records ${String(valueAt(inputs, "node"))} as installed on ${String(valueAt(inputs, "targetVersion"))} (its apply installs it)`
          : `upgrades Talos on ${String(valueAt(inputs, "node"))} to ${String(valueAt(inputs, "targetVersion"))} unless it runs it already${drift(s)}: ` +
              `installs ${String(valueAt(inputs, "image"))}, reboots, waits until it is back and healthy`,
      );
    }
    if (s.op === "update" && s.type === clusterHealthType && s.next) say(s, healthEffect(s.next.inputs, old?.outputs ?? null));
    if (s.op === "update" && s.type === APPLY && s.next) {
      say(
        s,
        `re-applies the machine config to ${String(valueAt(s.next.inputs, "node"))} (applyMode ${String(valueAt(s.next.inputs, "applyMode"))})`,
      );
    }
    // A retained resource is only forgotten (on delete and on a replacement's delete alike): its CRDs stay.
    if (old && goes && !old.retainOnDelete) {
      const carrier = crdCarriers.find((c) => c.match(old));
      if (carrier) {
        const kept = carrier.kept?.(old) ?? false;
        const text = kept
          ? `its CRDs stay (kept on uninstall), its controllers go: ${carrier.kinds} stop being served`
          : `deletes CRDs: every ${carrier.kinds} in the cluster goes`;
        say(s, text);
        warnings.push({ urn: s.urn, message: `${old.name} is ${s.op === "delete" ? "deleted" : "replaced"}: ${text}` });
      }
    }
  }

  // Every step that does something says what; the rules above are the specific ones.
  for (const s of steps) {
    if (effects.has(s)) continue;
    const plain = plainEffect(s);
    if (plain) say(s, plain);
  }

  // Talos control planes re-applied at once can take etcd below quorum if a change reboots them.
  const byWave = new Map<number, Step[]>();
  for (const s of steps) {
    const ip = s.next ? String(valueAt(s.next.inputs, "node")) : "";
    if (s.type === APPLY && (s.op === "update" || s.op === "replace") && controlPlanes.has(ip)) {
      byWave.set(s.wave, [...(byWave.get(s.wave) ?? []), s]);
    }
  }
  for (const [wave, group] of byWave) {
    if (group.length < 2) continue;
    const message = `${group.length} control planes re-apply at the same time (wave ${wave}): ${group.map((g) => g.name).join(", ")}`;
    group.forEach((g) => say(g, message));
    warnings.push({ urn: group[0]?.urn ?? "", message });
  }

  // Waits every run has are not this change's; a wait that is new, or that names a node only
  // this run configures (so the preview waits for a machine not set up yet), is.
  const before = new Set(base.invokes.map((i) => `${i.token} ${timeoutOf(i.args) ?? ""}`));
  const created = steps
    .filter((s) => s.op === "create" && s.type === APPLY && s.next)
    .map((s) => String(valueAt(s.next?.inputs ?? null, "node")));
  const waits = new Set<string>();
  for (const call of previewCalls) {
    if (call.timeout === null || seconds(call.timeout) < longWaitSeconds) continue;
    if (!before.has(`${call.token} ${call.timeout}`)) waits.add(`preview now runs ${call.token}, which may wait up to ${call.timeout}`);
    const args = canonical(call.args);
    for (const ip of created.filter((a) => args.includes(JSON.stringify(a)))) {
      waits.add(`preview runs ${call.token} naming ${ip}, which only this run configures: it may wait up to ${call.timeout} and fail`);
    }
  }
  for (const message of waits) warnings.push({ urn: "", message });
  return { effects, warnings };
}

function sameNode(apply: { inputs: Json }, ip: string, name: string | undefined): boolean {
  return String(valueAt(apply.inputs, "node")) === ip || (name !== undefined && hostname(apply) === name);
}

/** What a ClusterHealth update does: check the cluster, or (nodes only left) store the node set and check nothing. */
function healthEffect(inputs: Json, olds: Json): string {
  const news = inputs as unknown as ClusterHealthInputs;
  const stored = olds !== null && typeof olds === "object" && !Array.isArray(olds);
  if (stored && clusterHealthChanges(olds as Partial<ClusterHealthInputs>, news).length === 0)
    return "records the node set (nodes only left): no check, the leaving Nodes still exist until their deletes";
  return (
    `runs Talos' cluster health check (${news.controlPlaneNodes.length} control planes, ${news.workerNodes.length} workers; ` +
    `waits up to ${news.timeoutSeconds}s)`
  );
}
