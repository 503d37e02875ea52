import { stringify } from "yaml";
import { isStep, simulateBringUp, waitsFor, type BringUp } from "../model/bringUp";
import { handoverSection } from "./handover";
import type { RecordedResource, Recording } from "../record/harness";
import { UNKNOWN, type Json } from "../record/wire";

/** Policy results as the plan reports them (the pack itself is CrossGuard's, see policy/). */
export interface PolicyReport {
  readonly violations: ReadonlyArray<{ policy: string; level: string; urn: string; message: string; unknown?: true }>;
}

/** The `--json` document: exactly these top-level keys. */
export interface PlanJson {
  stack: string;
  project: string;
  resources: Array<{
    urn: string;
    type: string;
    name: string;
    parent: string | null;
    provider: string | null;
    dependsOn: string[];
    inputs: Json;
    secretPaths: string[];
    /** Digest of each secret input (plan/record/digest.ts): `--diff` tells a changed secret by it. */
    secretDigests: Record<string, string>;
    protect: boolean;
    retainOnDelete: boolean;
    ignoreChanges: string[];
    customTimeouts: { create?: string; update?: string; delete?: string } | null;
    /** Outputs known offline (a dynamic provider's, which `--diff` hands its diff), else null. */
    outputs: Json;
  }>;
  invokes: Array<{ token: string; args: Json; secretDigests: Record<string, string> }>;
  outputs: Json;
  policy: PolicyReport;
  bringUp: BringUp;
}

export function planJson(recording: Recording, policy: PolicyReport): PlanJson {
  return {
    stack: recording.stack,
    project: recording.project,
    resources: recording.resources.map((r) => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      parent: r.parent ?? null,
      provider: r.provider ?? null,
      dependsOn: [...r.dependsOn],
      inputs: r.inputs,
      secretPaths: [...r.secretPaths],
      secretDigests: { ...r.secretDigests },
      protect: r.protect,
      retainOnDelete: r.retainOnDelete,
      ignoreChanges: [...r.ignoreChanges],
      customTimeouts: r.customTimeouts ?? null,
      outputs: r.outputs ?? null,
    })),
    invokes: recording.invokes.map((i) => ({ token: i.token, args: i.args, secretDigests: { ...i.secretDigests } })),
    outputs: recording.outputs,
    policy,
    bringUp: simulateBringUp(recording.resources),
  };
}

/** Resources grouped into phases: each phase waits only for earlier ones. */
export function phases(resources: readonly RecordedResource[]): RecordedResource[][] {
  const custom = resources.filter(isStep);
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const depth = new Map<string, number>();
  const depthOf = (r: RecordedResource, seen: Set<string>): number => {
    const known = depth.get(r.urn);
    if (known !== undefined) return known;
    if (seen.has(r.urn)) return 0;
    seen.add(r.urn);
    const deps = waitsFor(r)
      .map((u) => byUrn.get(u))
      .filter((d): d is RecordedResource => d !== undefined && (isStep(d) || isProvider(d)));
    // A provider is not a step of its own: its dependents sit right after what it waits for.
    const d = deps.length === 0 ? 0 : Math.max(...deps.map((x) => depthOf(x, seen) + (isProvider(x) ? 0 : 1)));
    depth.set(r.urn, d);
    return d;
  };
  const out: RecordedResource[][] = [];
  for (const r of [...custom].sort((a, b) => a.name.localeCompare(b.name))) (out[depthOf(r, new Set())] ??= []).push(r);
  return out.filter((p) => p !== undefined);
}

export function planText(recording: Recording, policy: PolicyReport): string {
  const lines: string[] = [];
  const bringUp = simulateBringUp(recording.resources);
  lines.push(
    `Plan for stack ${recording.stack} (project ${recording.project}): ${recording.resources.length} resources, ${recording.invokes.length} invokes`,
  );
  lines.push("Offline: nothing was contacted; secrets show as [secret], values known only after apply as (known after apply).", "");

  lines.push("== Bring-up phases (each waits only for earlier phases)");
  phases(recording.resources).forEach((phase, i) =>
    lines.push(`  ${i + 1}. ${phase.map((r) => `${r.name} [${shortType(r.type)}]`).join(", ")}`),
  );
  lines.push(
    "",
    `== Bring-up estimate: ${minutes(bringUp.criticalPathSeconds)} with this graph, ${minutes(bringUp.sequentialSeconds)} one step at a time`,
    `   critical path: ${bringUp.path.join(" → ")}`,
    "",
  );

  lines.push(...bootMediaSection(recording));

  const applies = recording.resources.filter((r) => r.type === "talos:machine/configurationApply:ConfigurationApply");
  if (applies.length > 0) lines.push("== Talos config patches, per node");
  for (const apply of applies) {
    const inputs = apply.inputs as Record<string, Json>;
    lines.push(`--- ${apply.name} (node ${String(inputs.node)})${apply.protect ? " [protected]" : ""}`);
    // Under a first preview the patches embed the unknown schematic id: the whole list is unknown.
    const patches = inputs.configPatches;
    if (!Array.isArray(patches)) lines.push(`    ${String(patches ?? UNKNOWN)}`);
    else for (const patch of patches) lines.push(indent(String(patch).trimEnd(), "    "), "    ---");
  }

  lines.push(...talosTimeoutsSection(recording));

  const settings = recording.resources.filter((r) => r.type === "kubernetes:core/v1:ConfigMap" && r.name.includes("cluster-settings"));
  for (const cm of settings)
    lines.push("", "== cluster-settings ConfigMap", indent(stringify((cm.inputs as Record<string, Json>).data ?? {}).trimEnd(), "    "));

  lines.push(...handoverSection(recording));

  const releases = recording.resources.filter((r) => r.type === "kubernetes:helm.sh/v3:Release");
  if (releases.length > 0) lines.push("", "== Helm releases");
  for (const release of releases) {
    const inputs = release.inputs as Record<string, Json>;
    lines.push(
      `--- ${String(inputs.name ?? release.name)}: ${String(inputs.chart)} ${String(inputs.version)} in ${String(inputs.namespace)}`,
      indent(stringify(inputs.values ?? {}).trimEnd(), "    "),
    );
  }

  const cloudflare = recording.resources.filter((r) => r.type.startsWith("cloudflare:"));
  if (cloudflare.length > 0) lines.push("", "== Cloudflare");
  for (const cf of cloudflare) lines.push(`--- ${cf.name} [${shortType(cf.type)}]`, indent(stringify(cf.inputs).trimEnd(), "    "));

  lines.push("", "== Stack outputs", indent(stringify(recording.outputs).trimEnd(), "    "), "");
  lines.push("== Policy");
  const known = policy.violations.filter((v) => !v.unknown);
  const unknown = policy.violations.filter((v) => v.unknown);
  if (known.length === 0) lines.push("    no violations (policy/ pack, run in-process)");
  for (const v of known) lines.push(`    ${v.level.toUpperCase()} ${v.policy}: ${v.message} (${v.urn})`);
  // As CrossGuard under a preview: a rule that read a value known only after apply cannot judge it yet.
  if (unknown.length > 0) {
    const rules = [...new Set(unknown.map((v) => v.policy))].join(", ");
    lines.push(`    ${unknown.length} check(s) read values known only after apply, judged by pulumi up: ${rules}`);
  }
  return lines.join("\n") + "\n";
}

/** The Talos resources' own `timeouts` inputs: the ones that take effect (the bridged resources ignore customTimeouts). */
function talosTimeoutsSection(recording: Recording): string[] {
  const timed = recording.resources.filter((r) => r.type.startsWith("talos:") && (r.inputs as Record<string, Json> | null)?.timeouts);
  if (timed.length === 0) return [];
  return [
    "",
    "== Talos timeouts (each resource's own timeouts input)",
    ...timed.map((r) => {
      const t = (r.inputs as Record<string, Json>).timeouts as Record<string, Json>;
      return `    ${r.name} [${shortType(r.type)}]: ${Object.entries(t)
        .map(([k, v]) => `${k} ${String(v)}`)
        .join(", ")}`;
    }),
  ];
}

/**
 * What to boot the machines with, before the first `pulumi up`. The schematic id is the Image
 * Factory's hash of the schematic, known once the Schematic resource exists; the same id comes
 * back from posting the schematic document to the factory, which the section shows how to do.
 */
function bootMediaSection(recording: Recording): string[] {
  const images = (recording.outputs as Record<string, Json> | null)?.bootImages;
  if (!images || typeof images !== "object" || Array.isArray(images)) return [];
  const schematics = new Map(
    recording.resources
      .filter((r) => r.type === "talos:imageFactory/schematic:Schematic")
      .map((r) => [r.name, String((r.inputs as Record<string, Json>).schematic ?? "")]),
  );
  const lines = ["== Boot media (boot each machine into maintenance mode with its schematic's ISO or PXE)"];
  for (const [name, value] of Object.entries(images)) {
    const entry = value as Record<string, Json>;
    lines.push(
      `--- ${name}: nodes ${((entry.nodes as string[] | null) ?? []).join(", ")}`,
      `    iso: ${String(entry.iso)}`,
      `    pxe: ${String(entry.pxe)}`,
      `    disk image: ${String(entry.diskImage)}`,
      "    its schematic id before any pulumi up (the factory answers with it):",
      "curl -sX POST --data-binary @- https://factory.talos.dev/schematics <<'EOF'",
      (schematics.get(name) ?? "").trimEnd(),
      "EOF",
    );
  }
  return [...lines, ""];
}

/** The bring-up graph as a Mermaid flowchart (custom resources; edges are real dependencies). */
export function planMermaid(recording: Recording): string {
  // Sorted: registration order varies between runs, the diagram must not.
  const custom = recording.resources.filter(isStep).sort((a, b) => a.urn.localeCompare(b.urn));
  const ids = new Map(custom.map((r, i) => [r.urn, `n${i}`]));
  const lines = ["flowchart TD"];
  for (const r of custom) lines.push(`  ${ids.get(r.urn)}["${r.name}<br/><small>${shortType(r.type)}</small>"]`);
  const byUrn = new Map(recording.resources.map((r) => [r.urn, r]));
  // Edges through a provider go to what the provider waits for.
  const direct = (urn: string): string[] => {
    const r = byUrn.get(urn);
    return r && isProvider(r) ? waitsFor(r).flatMap(direct) : [urn];
  };
  const edges = new Map(
    custom.map((r) => [
      r.urn,
      new Set(
        waitsFor(r)
          .flatMap(direct)
          .filter((d) => ids.has(d) && d !== r.urn),
      ),
    ]),
  );
  for (const r of custom) {
    for (const dep of transitiveReduction(r.urn, edges)) lines.push(`  ${ids.get(dep)} --> ${ids.get(r.urn)}`);
  }
  return lines.join("\n") + "\n";
}

/**
 * The dependencies of `urn` that it does not already reach through another dependency: the
 * diagram draws only those, so it stays readable while every ordering it implies is still real.
 */
export function transitiveReduction(urn: string, edges: ReadonlyMap<string, ReadonlySet<string>>): string[] {
  const reach = new Map<string, Set<string>>();
  const reachable = (from: string, path: Set<string>): Set<string> => {
    const known = reach.get(from);
    if (known) return known;
    const out = new Set<string>();
    if (path.has(from)) return out;
    path.add(from);
    for (const d of edges.get(from) ?? []) {
      out.add(d);
      for (const x of reachable(d, path)) out.add(x);
    }
    path.delete(from);
    reach.set(from, out);
    return out;
  };
  const deps = [...(edges.get(urn) ?? [])];
  return deps.filter((d) => !deps.some((other) => other !== d && reachable(other, new Set()).has(d))).sort();
}

function isProvider(r: RecordedResource): boolean {
  return r.type.startsWith("pulumi:providers:");
}

function shortType(type: string): string {
  return type.split(":").pop() ?? type;
}

function indent(text: string, prefix: string): string {
  return text
    .split("\n")
    .map((l) => prefix + l)
    .join("\n");
}

function minutes(seconds: number): string {
  return `${Math.round(seconds / 6) / 10} min`;
}
