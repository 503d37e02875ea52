import { baselineOfRecording, type Baseline, type StateResource } from "./baseline";
import { canonical } from "../record/digest";
import { isDynamic, loadProvider, type DiffResult } from "../record/dynamicProvider";
import { caErrors } from "./diffCa";
import { consequences, removalErrors, timeoutOf, type PreviewCall } from "./effects";
import type { RecordOptions, Recording } from "../record/harness";
import { changedPaths, valueAt } from "./inputDiff";
import { networkRewriteWarnings } from "./networkRewrite";
import type { Renewal } from "../record/renewal";
import {
  combinedMinorWarnings,
  protectionChanges,
  removalProcedure,
  rolloutOrder,
  versionChanges,
  type NodeRollout,
  type ProtectionChange,
  type VersionChange,
} from "./summary";
import { planSteps, stateAfter, type DynamicVerdict, type Issue, type Op, type Step } from "./steps";
import type { Json } from "../record/wire";

/**
 * `plan --diff`: what `pulumi up` would do to a stack whose state is the base run. Runs the program
 * offline (plan/record/harness.ts), re-running it while the run creates or replaces resources so their new
 * ids and values flow where the program really uses them (plan/record/renewal.ts), models the engine's
 * steps (plan/model/steps.ts), runs it once more as the preview of the existing stack to see which
 * invokes `pulumi preview` calls, and checks that a second run with the same inputs changes nothing.
 */
export interface DiffReport {
  stack: string;
  base: string;
  steps: Array<{ urn: string; type: string; name: string; op: Op; changed: string[]; reason: string; effects: string[]; wave: number }>;
  previewCalls: PreviewCall[];
  /** Talos, Kubernetes and chart versions this run moves (plan/model/summary.ts). */
  versions: VersionChange[];
  /** The nodes this run touches, in the order it reaches them, with their waves. */
  rollout: NodeRollout[];
  /** Resources whose `protect` this run changes (a `same` step to the engine). */
  protection: ProtectionChange[];
  warnings: Issue[];
  errors: Issue[];
}

export interface DiffOutcome {
  readonly report: DiffReport;
  /** The modelled steps, for the text rendering (patch lines). */
  readonly steps: readonly Step[];
  /** The state the engine holds once these steps ran: the base of the run after this one. */
  readonly state: Baseline;
}

/** Runs the program for this diff; the CLI and tests decide where the stack and program come from. */
export type Recorder = (options: Omit<RecordOptions, "stack">) => Promise<Recording>;

/** The run itself failed (invalid config, a program error): nothing to diff. */
export class RunFailed extends Error {
  constructor(readonly recording: Recording) {
    super(recording.error?.message ?? "the program failed");
  }
}

/** Re-runs are bounded: each one only adds resources, so this is far above any real chain. */
const maxRounds = 8;

export async function diffRun(stack: string, base: Baseline, record: Recorder): Promise<DiffOutcome> {
  const renewal = (resources: ReadonlySet<string>): Renewal => ({ resources, invokeSeen: invokeIndex(base) });
  let renewed = new Set<string>();
  let recording = await checked(record({ renewal: renewal(renewed) }));
  let refusals: Issue[] = [];
  let plan = planSteps(base, recording.resources, await dynamicVerdicts(base, recording, refusals));
  for (let round = 1; round < maxRounds; round++) {
    const more = plan.steps.filter((s) => s.next && (s.op === "create" || s.op === "replace")).map((s) => s.urn);
    if (more.every((urn) => renewed.has(urn))) break;
    renewed = new Set([...renewed, ...more]);
    recording = await checked(record({ renewal: renewal(renewed) }));
    refusals = [];
    plan = planSteps(base, recording.resources, await dynamicVerdicts(base, recording, refusals));
  }

  const kept = new Set(plan.steps.filter((s) => s.op === "same" || s.op === "update").map((s) => s.urn));
  const preview = await checked(record({ preview: true, existing: kept }));
  const calls = preview.invokes.map((i) => ({ token: i.token, timeout: timeoutOf(i.args), args: i.args }));
  const previewCalls = calls.map(({ token, timeout }) => ({ token, timeout }));

  const { effects, warnings } = consequences(plan.steps, base, recording, calls);
  const versions = versionChanges(plan.steps);
  const errors = [...refusals, ...plan.errors, ...caErrors(plan.steps, base, recording.resources), ...removalErrors(plan.steps)];
  const state = stateAfter(plan.steps, baselineOfRecording(recording, "").invokes, "this run");
  const report: DiffReport = {
    stack,
    base: base.label,
    steps: plan.steps.map((s) => ({
      urn: s.urn,
      type: s.type,
      name: s.name,
      op: s.op,
      changed: [...s.changed],
      reason: s.reason,
      effects: [...(effects.get(s) ?? [])],
      wave: s.wave,
    })),
    previewCalls,
    versions,
    rollout: rolloutOrder(plan.steps),
    protection: protectionChanges(plan.steps),
    warnings: [
      ...combinedMinorWarnings(versions),
      ...networkRewriteWarnings(versions, plan.steps),
      ...warnings,
      ...(await unconverged(state, recording)),
    ],
    errors: [...errors, ...removalProcedure(plan.steps, errors)],
  };
  return { report, steps: plan.steps, state };
}

async function checked(recording: Promise<Recording>): Promise<Recording> {
  const r = await recording;
  if (r.error) throw new RunFailed(r);
  return r;
}

/**
 * The invokes of the base run, to tell which ones this run calls with new arguments. Secret
 * arguments compare by digest, unless the base document predates digests (then by mask only).
 */
function invokeIndex(base: Baseline): Renewal["invokeSeen"] {
  const withDigests = base.invokes.some((i) => Object.keys(i.secretDigests).length > 0);
  const key = (token: string, args: Json, digests: Readonly<Record<string, string>>) =>
    `${token}\n${canonical(args)}\n${withDigests ? canonical({ ...digests }) : ""}`;
  const seen = new Set(base.invokes.map((i) => key(i.token, i.args, i.secretDigests)));
  return (token, args, digests) => seen.has(key(token, args, digests));
}

/**
 * A dynamic resource's diff is its provider's, called as the engine calls it: `olds` are the
 * outputs the last create/update returned (known offline through `outputsOf`), `news` the new
 * inputs with secrets unwrapped (the dynamic provider does not accept secrets). A diff that throws
 * fails the preview and the update (the SDK's provider host returns it as the RPC's error): it goes
 * to `refusals`, and the step counts as changed.
 */
async function dynamicVerdicts(base: Baseline, recording: Recording, refusals: Issue[] = []): Promise<Map<string, DynamicVerdict>> {
  const olds = new Map(base.resources.map((r) => [r.urn, r]));
  const verdicts = new Map<string, DynamicVerdict>();
  for (const r of recording.resources.filter((x) => isDynamic(x.type))) {
    const old = olds.get(r.urn) ?? r.aliases.map((a) => olds.get(a)).find((x): x is StateResource => x !== undefined);
    if (!old) continue;
    // The engine resets ignored paths to their old values before it calls the provider's diff
    // (pulumi/pulumi pkg/resource/deploy/step_generator.go processIgnoreChanges).
    const news = withIgnoredReset(recording.plainInputs(r.urn) as Record<string, Json>, old.inputs, r.ignoreChanges);
    const provider = loadProvider(String(news.__provider));
    // A diff the provider does not give (no diff, or `changes` unset: DIFF_UNKNOWN, @pulumi/pulumi
    // cmd/dynamic-provider/index.js) falls back to the engine comparing inputs, `__provider` included.
    const inputsChanged = changedPaths(old, r, r.ignoreChanges).length > 0;
    if (!provider.diff) {
      // No diff of its own: the engine compares old and new inputs.
      verdicts.set(r.urn, { known: true, changes: inputsChanged, replaces: [], deleteBeforeReplace: false });
      continue;
    }
    if (old.outputs === null || typeof old.outputs !== "object" || Array.isArray(old.outputs)) {
      verdicts.set(r.urn, {
        known: false,
        why: "its old outputs are unknown offline (the provider has no outputsOf): its diff may report a change",
      });
      continue;
    }
    let result: DiffResult;
    try {
      result = await provider.diff(`(${r.name} id)`, { ...old.outputs, __provider: valueAt(old.inputs, "__provider") ?? null }, news);
    } catch (error) {
      // The provider runs in another realm than this module: an Error from there is not `instanceof Error` here.
      const message = (error as { message?: unknown } | null)?.message;
      refusals.push({ urn: r.urn, message: `${r.name}: ${typeof message === "string" ? message : String(error)}` });
      result = { changes: true };
    }
    // changes left undefined is DIFF_UNKNOWN: the engine then compares inputs.
    const changes = result.changes ?? inputsChanged;
    verdicts.set(r.urn, {
      known: true,
      changes,
      replaces: [...(result.replaces ?? [])],
      deleteBeforeReplace: result.deleteBeforeReplace ?? false,
    });
  }
  return verdicts;
}

/** The new inputs with every ignored path that the old inputs hold set back to its old value. */
function withIgnoredReset(news: Record<string, Json>, olds: Json, ignore: readonly string[]): Record<string, Json> {
  let result = news;
  for (const path of ignore) {
    const before = valueAt(olds, path);
    if (before !== undefined) result = setAt(result, path, before) as Record<string, Json>;
  }
  return result;
}

/** A copy of `value` with `path` (dotted keys and [n] indexes) set. */
function setAt(value: Json, path: string, to: Json): Json {
  const [head, ...rest] = path.match(/[^.[\]]+/g) ?? [];
  if (head === undefined) return to;
  const inner = (current: Json | undefined) => (rest.length === 0 ? to : setAt(current ?? {}, rest.join("."), to));
  if (Array.isArray(value) && /^\d+$/.test(head)) return value.map((v, i) => (i === Number(head) ? inner(v) : v));
  const object = value !== null && typeof value === "object" && !Array.isArray(value) ? value : {};
  return { ...object, [head]: inner(object[head]) };
}

/** After this run, a second one with the same inputs should change nothing; what it would change, it never stops changing. */
async function unconverged(after: Baseline, recording: Recording): Promise<Issue[]> {
  const again = planSteps(after, recording.resources, await dynamicVerdicts(after, recording));
  return again.steps
    .filter((s) => s.op !== "same")
    .map((s) => ({ urn: s.urn, message: `does not converge: a re-run with the same inputs would ${s.op} ${s.name} again (${s.reason})` }));
}
