import { stateOfRecorded, type Baseline, type StateInvoke, type StateResource } from "./baseline";
import { waitsFor } from "./bringUp";
import { isDynamic } from "../record/dynamicProvider";
import type { RecordedResource } from "../record/harness";
import { changedPaths, overlaps } from "./inputDiff";
import { providerVerdict } from "./replaceRules";

/**
 * The engine's step generation between two runs (pulumi/pulumi pkg/resource/deploy/step_generator.go),
 * over recordings instead of live state:
 *
 * - each registered resource is looked up in the old state by URN, then by its aliases
 *   (`getOldResource`); not found, it is a create;
 * - found, its inputs are diffed after resetting `ignoreChanges` paths to their old values
 *   (`processIgnoreChanges`); a dynamic provider's own diff decides for it (it sees old outputs);
 * - a change on a provider's replace trigger (plan/model/replaceRules.ts) or on a `replaceOnChanges`
 *   path (`applyReplaceOnChanges`) replaces, other changes update; a resource whose provider is
 *   replaced is replaced too;
 * - replacing a resource protected in both runs is an error (`continueStepsFromDiff`), as is
 *   deleting one protected in the old state (step.go DeleteStep: the state's flag counts, so
 *   unprotecting and removing in one run still fails);
 * - resources left unregistered are deleted after every other step, in reverse dependency order,
 *   one antichain at a time (`ScheduleDeletes`); so are the old halves of create-before-delete
 *   replacements.
 *
 * Waves: the engine starts a step as soon as the steps it waits for are done, so independent steps
 * run at once. A changed resource's wave is one more than the latest wave among the changed
 * resources it (transitively) waits for; unchanged resources pass waits through and take wave 0.
 */
export type Op = "same" | "create" | "update" | "replace" | "delete";

export interface Step {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly op: Op;
  /** Changed input paths (property-path form); secrets by path only. */
  readonly changed: readonly string[];
  readonly reason: string;
  readonly wave: number;
  /** The old state (absent for creates). */
  readonly old?: StateResource;
  /** The new registration (absent for deletes). */
  readonly next?: RecordedResource;
  readonly deleteBeforeReplace: boolean;
  /** A create-before-delete replacement deletes its old instance in this later wave. */
  readonly deleteWave?: number;
}

export interface Issue {
  readonly urn: string;
  readonly message: string;
}

/** What a dynamic provider's diff said (plan/record/dynamicProvider.ts), or why offline cannot ask it. */
export type DynamicVerdict =
  | { readonly known: true; readonly changes: boolean; readonly replaces: readonly string[]; readonly deleteBeforeReplace: boolean }
  | { readonly known: false; readonly why: string };

export interface StepPlan {
  readonly steps: readonly Step[];
  readonly errors: readonly Issue[];
}

interface Pending {
  readonly op: Op;
  readonly changed: readonly string[];
  readonly reason: string;
  readonly old?: StateResource;
  readonly next?: RecordedResource;
  readonly deleteBeforeReplace: boolean;
}

export function planSteps(base: Baseline, next: readonly RecordedResource[], dynamic: ReadonlyMap<string, DynamicVerdict>): StepPlan {
  const olds = new Map(base.resources.map((r) => [r.urn, r]));
  const claimed = new Map<string, string>();
  const errors: Issue[] = [];
  const pending = new Map<string, Pending>();
  const inputsOf = new Map(next.map((r) => [r.urn, r.inputs]));

  for (const r of next) {
    const oldUrn = olds.has(r.urn) ? r.urn : r.aliases.find((a) => olds.has(a));
    const old = oldUrn === undefined ? undefined : olds.get(oldUrn);
    if (oldUrn !== undefined) {
      const other = claimed.get(oldUrn);
      if (other !== undefined) errors.push({ urn: r.urn, message: `${oldUrn} is claimed by ${other} as well (duplicate alias)` });
      claimed.set(oldUrn, r.urn);
    }
    if (!old) {
      pending.set(r.urn, { op: "create", changed: [], reason: "not in the base", next: r, deleteBeforeReplace: false });
      continue;
    }
    const step = diffOne(old, r, dynamic.get(r.urn), r.provider ? inputsOf.get(r.provider) : undefined, pending);
    if (step.op === "replace" && r.protect && old.protect) {
      errors.push({ urn: r.urn, message: `protected: the engine refuses to replace ${r.name} (${step.reason})` });
    }
    // The old state's flag decides (pulumi/pulumi pkg/resource/deploy/step.go DeleteStep.Apply: a retained
    // delete is a no-op), so the delete-first create meets the object it was to replace.
    if (step.op === "replace" && step.deleteBeforeReplace && old.retainOnDelete) {
      errors.push({
        urn: r.urn,
        message:
          `retained: ${r.name} would be replaced delete-first (${step.reason}), but its delete only forgets it, so the ` +
          `create meets the object under the same name and fails; it stays pending on every later run. ` +
          `Change it in place or give it a new name`,
      });
    }
    const reason = oldUrn === r.urn ? step.reason : [step.reason, `was ${old.name} (alias)`].filter((x) => x !== "").join("; ");
    pending.set(r.urn, { ...step, reason, old, next: r });
  }

  for (const old of base.resources) {
    if (claimed.has(old.urn)) continue;
    pending.set(`delete:${old.urn}`, { op: "delete", changed: [], reason: "no longer in the program", old, deleteBeforeReplace: false });
    if (old.protect) errors.push({ urn: old.urn, message: `protected: the engine refuses to delete ${old.name}` });
  }

  return { steps: scheduled(pending, next, base), errors };
}

function diffOne(
  old: StateResource,
  r: RecordedResource,
  verdict: DynamicVerdict | undefined,
  providerInputs: RecordedResource["inputs"] | undefined,
  earlier: ReadonlyMap<string, Pending>,
): Omit<Pending, "old" | "next"> {
  const changed = changedPaths(old, r, r.ignoreChanges).filter((p) => !(isDynamic(r.type) && p === "__provider"));
  if (r.provider && earlier.get(r.provider)?.op === "replace") {
    return { op: "replace", changed, reason: "its provider is replaced", deleteBeforeReplace: r.deleteBeforeReplace };
  }
  if (isDynamic(r.type)) {
    if (!verdict || !verdict.known) return { op: "update", changed, reason: verdict?.why ?? "no diff", deleteBeforeReplace: false };
    if (!verdict.changes) return { op: "same", changed: [], reason: "", deleteBeforeReplace: false };
    const replaces = verdict.replaces.length > 0;
    return {
      op: replaces ? "replace" : "update",
      changed,
      reason: replaces ? `its provider's diff replaces on ${verdict.replaces.join(", ")}` : "its provider's diff reports a change",
      deleteBeforeReplace: deleteFirst(r, verdict.deleteBeforeReplace),
    };
  }
  if (changed.length === 0) return { op: "same", changed, reason: "", deleteBeforeReplace: false };
  const provider = providerVerdict(r.type, changed, { old: old.inputs, next: r.inputs, providerInputs });
  const onChanges = changed.filter((p) => r.replaceOnChanges.some((t) => overlaps(t, p)));
  if (provider.replaceOn.length > 0) {
    return {
      op: "replace",
      changed,
      reason: `${provider.provider} replaces on ${provider.replaceOn.join(", ")}`,
      deleteBeforeReplace: deleteFirst(r, provider.deleteBeforeReplace),
    };
  }
  if (onChanges.length > 0) {
    return {
      op: "replace",
      changed,
      reason: `replaceOnChanges: ${onChanges.join(", ")}`,
      deleteBeforeReplace: deleteFirst(r, provider.deleteBeforeReplace),
    };
  }
  return { op: "update", changed, reason: "inputs changed", deleteBeforeReplace: false };
}

/**
 * The program's `deleteBeforeReplace`, when it set one, overrides the provider's either way
 * (pulumi/pulumi pkg/resource/deploy/step_generator.go: `if goal.DeleteBeforeReplace != nil`).
 */
function deleteFirst(r: RecordedResource, providerSays: boolean): boolean {
  return r.deleteBeforeReplaceDefined ? r.deleteBeforeReplace : r.deleteBeforeReplace || providerSays;
}

/** Waves as the engine runs them; steps in execution order (unchanged ones first, at wave 0). */
function scheduled(pending: ReadonlyMap<string, Pending>, next: readonly RecordedResource[], base: Baseline): Step[] {
  const byUrn = new Map(next.map((r) => [r.urn, r]));
  const reach = new Map<string, number>();
  // The latest wave among a resource and everything it waits for.
  const reached = (urn: string, seen: Set<string>): number => {
    const known = reach.get(urn);
    if (known !== undefined) return known;
    const r = byUrn.get(urn);
    if (!r || seen.has(urn)) return 0;
    seen.add(urn);
    const before = Math.max(0, ...waitsFor(r).map((d) => reached(d, seen)));
    const changed = (pending.get(urn)?.op ?? "same") !== "same";
    const at = changed ? before + 1 : before;
    reach.set(urn, at);
    return at;
  };
  const steps: Step[] = [];
  for (const r of next) {
    const p = pending.get(r.urn);
    if (!p) continue;
    steps.push({ urn: r.urn, type: r.type, name: r.name, ...p, wave: p.op === "same" ? 0 : reached(r.urn, new Set()) });
  }
  const last = Math.max(0, ...steps.map((s) => s.wave));

  // Condemned: unregistered resources and the old halves of create-before-delete replacements.
  const condemned = new Map<string, StateResource>();
  for (const p of pending.values()) {
    if (p.old && (p.op === "delete" || (p.op === "replace" && !p.deleteBeforeReplace))) condemned.set(p.old.urn, p.old);
  }
  const deleteWave = new Map<string, number>();
  antichains(condemned).forEach((chain, i) => chain.forEach((urn) => deleteWave.set(urn, last + 1 + i)));

  const withDeletes = steps.map((s) =>
    s.op === "replace" && s.old && deleteWave.has(s.old.urn) ? { ...s, deleteWave: deleteWave.get(s.old.urn) } : s,
  );
  const order = new Map(base.resources.map((r, i) => [r.urn, i]));
  const deletes: Step[] = [...pending.values()]
    .filter((p): p is Pending & { old: StateResource } => p.op === "delete" && p.old !== undefined)
    .map((p) => ({ urn: p.old.urn, type: p.old.type, name: p.old.name, ...p, wave: deleteWave.get(p.old.urn) ?? last + 1 }))
    .sort((a, b) => a.wave - b.wave || (order.get(a.urn) ?? 0) - (order.get(b.urn) ?? 0));
  return [...withDeletes.sort((a, b) => a.wave - b.wave), ...deletes];
}

/**
 * As `ScheduleDeletes`: peel off the condemned resources that depend on no other condemned one
 * (dependencies, provider, parent in the old state), then reverse, so dependents go first.
 */
function antichains(condemned: ReadonlyMap<string, StateResource>): string[][] {
  const left = new Set(condemned.keys());
  const chains: string[][] = [];
  while (left.size > 0) {
    const chain = [...left].filter((urn) => {
      const r = condemned.get(urn);
      const deps = r ? [...r.dependsOn, r.provider ?? "", r.parent ?? ""] : [];
      return !deps.some((d) => d !== urn && left.has(d));
    });
    // A cycle cannot happen in a state the engine wrote; guard anyway rather than loop forever.
    const take = chain.length > 0 ? chain : [...left];
    take.forEach((urn) => left.delete(urn));
    chains.push(take);
  }
  return chains.reverse();
}

/**
 * The state the engine holds after these steps ran (pulumi/pulumi pkg/resource/deploy/step.go): a
 * `same` stores the new inputs with the old outputs (SameStep.Apply: "Retain the ID and outputs"),
 * so a dynamic resource whose diff ignored a change keeps outputs older than its inputs; creates,
 * updates and replacements store what the provider returned (offline: its `outputsOf`); deletes
 * leave nothing. The next run's diff starts from this, not from a fresh recording.
 */
export function stateAfter(steps: readonly Step[], invokes: readonly StateInvoke[], label: string): Baseline {
  const resources = steps
    .filter((s): s is Step & { next: RecordedResource } => s.next !== undefined)
    .map((s) => (s.op === "same" && s.old ? { ...stateOfRecorded(s.next), outputs: s.old.outputs } : stateOfRecorded(s.next)));
  return { label, resources, invokes };
}
