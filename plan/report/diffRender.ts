import type { DiffOutcome, DiffReport } from "../model/diff";
import { APPLY } from "../model/effects";
import { valueAt } from "../model/inputDiff";
import { patchDiff } from "./patchDiff";

/**
 * `plan --diff` as text, what decides first: the errors that make `pulumi up` fail (each with what to
 * do), the warnings, the counts, the versions moved and protection changed; then one line per step
 * in execution order (wave, op, name, type, changed paths, reason) with its effects under it, the
 * Talos patch lines that change and the calls a `pulumi preview` makes. Unchanged resources are
 * counted, not listed.
 */
export function diffText(outcome: DiffOutcome): string {
  return [...diffSummaryLines(outcome.report), ...diffDetailLines(outcome)].join("\n") + "\n";
}

/** The counts by operation, `unchanged` last: `2 to create, 1 to update, 52 unchanged`. */
export function opCounts(report: DiffReport): string {
  const changes = report.steps.filter((s) => s.op !== "same");
  const counts = (["create", "update", "replace", "delete"] as const)
    .map((op) => [op, changes.filter((s) => s.op === op).length] as const)
    .filter(([, n]) => n > 0)
    .map(([op, n]) => `${n} to ${op}`);
  return [...counts, `${report.steps.length - changes.length} unchanged`].join(", ");
}

/** What decides first: the headline with the counts, errors, warnings, versions moved, protection changed. */
export function diffSummaryLines(report: DiffReport): string[] {
  const lines = [`Diff of stack ${report.stack} against ${report.base}: ${opCounts(report)}`];
  if (report.errors.length > 0) {
    lines.push("", "== Errors: `pulumi up` would fail");
    for (const e of report.errors) lines.push(`    ${e.message}`);
  }
  lines.push("", "== Warnings");
  if (report.warnings.length === 0) lines.push("    none");
  for (const w of report.warnings) lines.push(`    ${w.message}`);
  if (report.versions.length > 0) lines.push("", "== Versions");
  for (const v of report.versions) lines.push(`    ${v.what}: ${v.from} → ${v.to}`);
  if (report.rollout.length > 0) lines.push("", "== Roll-out order (nodes on one line roll together)");
  for (const r of rolloutLines(report)) lines.push(`    ${r}`);
  if (report.protection.length > 0) lines.push("", "== Protection (state only: no provider call)");
  for (const p of report.protection) lines.push(`    ${p.protect ? "protect" : "unprotect"} ${p.name}`);
  return lines;
}

/** The nodes in the order the run reaches them, one line per wave range: `waves 2–3: infra-01 (10.25.11.11)`. */
export function rolloutLines(report: DiffReport): string[] {
  const groups = new Map<string, string[]>();
  for (const r of report.rollout) {
    const waves = r.firstWave === r.lastWave ? `wave ${r.firstWave}` : `waves ${r.firstWave}–${r.lastWave}`;
    const key = `${waves}${r.change === "changes" ? "" : ` (${r.change})`}`;
    groups.set(key, [...(groups.get(key) ?? []), r.name === r.node ? r.node : `${r.name} (${r.node})`]);
  }
  return [...groups].map(([key, nodes]) => `${key}: ${nodes.join(", ")}`);
}

/** The detail under the summary: every step with its effects, the Talos patch lines that change, the preview's calls. */
export function diffDetailLines({ report, steps }: DiffOutcome): string[] {
  const lines: string[] = [];
  const changes = report.steps.filter((s) => s.op !== "same");
  if (changes.length > 0) lines.push("", "== Steps, in execution order (one wave runs at once)");
  for (const s of changes) {
    const changed = s.changed.length > 0 ? `  ${s.changed.join(", ")}` : "";
    lines.push(`  wave ${s.wave}  ${s.op.padEnd(7)} ${s.name} [${s.type.split(":").pop() ?? s.type}]${changed}  (${s.reason})`);
    for (const effect of s.effects) lines.push(`          → ${effect}`);
  }

  // Applies that change the same patch lines are shown once.
  const patches = new Map<string, string[]>();
  for (const s of steps) {
    if (s.type !== APPLY || s.op !== "update" || !s.old || !s.next) continue;
    const diff = patchDiff(strings(valueAt(s.old.inputs, "configPatches")), strings(valueAt(s.next.inputs, "configPatches")));
    if (diff.length === 0) continue;
    const key = diff.join("\n");
    patches.set(key, [...(patches.get(key) ?? []), s.name]);
  }
  if (patches.size > 0) lines.push("", "== Talos patch lines that change");
  for (const [diff, names] of patches) lines.push(`--- ${names.join(", ")}`, ...diff.split("\n").map((l) => `  ${l}`));

  lines.push("", "== Calls `pulumi preview` makes (inputs known), with their own wait");
  if (report.previewCalls.length === 0) lines.push("    none");
  for (const c of report.previewCalls) lines.push(`    ${c.token}${c.timeout ? ` (up to ${c.timeout})` : ""}`);
  return lines;
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}
