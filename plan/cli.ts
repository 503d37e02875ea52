import * as fs from "fs";
import * as path from "path";
import { formatIssue, StackConfigError, type ConfigIssue } from "../stacks/errors";
import { crossStackIssues } from "../stacks/crossStack";
import type { ClusterConfig } from "../stacks/load";
import { clusterFromStackFile, listStacks, readStackFile } from "../stacks/stackFile";
import { baselineOfPlan, emptyBaseline, type Baseline } from "./model/baseline";
import { diffRun, RunFailed } from "./model/diff";
import { diffText } from "./report/diffRender";
import { defaultMarkdownBudget, diffMarkdown, failedRunMarkdown } from "./report/diffMarkdown";
import { BaseNotFound, planAtRef } from "./record/gitBase";
import { meshIssues, meshText, meshView } from "../stacks/mesh";
import { offlineOrganization, record, stackOutputsOf, type Recording, type StackOutputs } from "./record/harness";
import { clusterFacts, runPolicyPack } from "./report/policy";
import { planJson, planMermaid, planText, type PolicyReport } from "./report/render";

const usage =
  "usage: npm run plan -- <stack> [--json | --graph mermaid] [--preview]\n" +
  "                              [--diff <plan.json | git ref> [--base-empty] [--fail-on-warning] [--json | --markdown [--markdown-budget <chars>]]]\n";

/**
 * `npm run plan -- <stack> [--json | --graph mermaid] [--preview]`: what `pulumi up` would do, offline.
 * The real program runs in-process through the recording harness against the real stack file,
 * with no network and no credentials. Exit 1 on invalid config or a mandatory policy violation.
 * With `--diff <base>`: what `pulumi up` would change in a stack whose state is the base's plan
 * (plan/model/diff.ts); exit 1 when the engine would fail, or on a warning with `--fail-on-warning`.
 * `--markdown` renders that diff for a pull-request comment (plan/report/diffMarkdown.ts), same exit codes.
 */
export async function main(argv: readonly string[], where: { projectDir?: string; entry?: string } = {}): Promise<number> {
  const json = argv.includes("--json");
  // As a first `pulumi preview` of a new stack sees it: ids and computed values unknown.
  const preview = argv.includes("--preview");
  const valueOf = (flag: string) => (argv.includes(flag) ? (argv[argv.indexOf(flag) + 1] ?? "") : undefined);
  const graph = valueOf("--graph");
  const diffBase = valueOf("--diff");
  const flagValues = new Set(["--graph", "--diff", "--markdown-budget"].filter((f) => argv.includes(f)).map((f) => argv.indexOf(f) + 1));
  const stack = argv.find((a, i) => !a.startsWith("--") && !flagValues.has(i));
  if (!stack || (graph !== undefined && graph !== "mermaid") || diffBase === "" || diffBase?.startsWith("--")) {
    process.stderr.write(usage);
    return 2;
  }
  const markdown = markdownOptions(argv, valueOf("--markdown-budget"), diffBase);
  if (typeof markdown === "string") {
    process.stderr.write(`plan: ${markdown}\n${usage}`);
    return 2;
  }

  const projectDir = where.projectDir ?? path.resolve(__dirname, "..");
  const known = listStacks(projectDir);
  if (!known.includes(stack)) {
    process.stderr.write(`plan: there is no Pulumi.${stack}.yaml; the stacks are: ${known.join(", ") || "(none)"}\n`);
    return 1;
  }
  const file = `Pulumi.${stack}.yaml`;
  // Every valid stack file, read once: for the ClusterMesh rules and collisions and this stack's policy facts.
  const valid = validStacks(projectDir);
  const self = valid.find((s) => s.file === file);
  // A ClusterMesh member reads the shared CA from the owner stack: record the owner first, so the
  // StackReference resolves to its offline outputs (secret ones stay secret).
  const mesh = self ? meshOrUndefined(self, valid) : undefined;
  const stackReferences: Record<string, StackOutputs> = {};
  if (mesh?.ca.kind === "stackReference") {
    const owner = await record({ stack: mesh.ca.ownerStack, preview, ...where });
    if (!owner.error) stackReferences[`${offlineOrganization}/${owner.project}/${mesh.ca.ownerStack}`] = stackOutputsOf(owner);
  }
  if (diffBase !== undefined)
    return diffMain(
      stack,
      diffBase,
      { json, markdown, failOnWarning: argv.includes("--fail-on-warning"), allowEmptyBase: argv.includes("--base-empty") },
      { ...where, projectDir, stackReferences },
    );
  const recording = await record({ stack, preview, stackReferences, ...where });
  const stacks = recording.error ? [] : valid;
  const crossStack = crossStackIssues(stacks).filter((i) => i.file === file || i.message.endsWith(`(${file})`));
  if (recording.error || crossStack.length > 0) {
    writeIssues(recording.error ? runIssues(recording, file) : crossStack, json);
    return 1;
  }

  const cluster = stacks.find((s) => s.file === file)?.cluster ?? clusterFromStackFile(readStackFile(projectDir, stack));
  const policy: PolicyReport = await runPolicyPack(recording, clusterFacts(cluster));
  if (graph === "mermaid") process.stdout.write(planMermaid(recording));
  else if (json) process.stdout.write(JSON.stringify(planJson(recording, policy), null, 2) + "\n");
  else process.stdout.write(planText(recording, policy) + meshText(mesh, cluster.cilium.clustermeshIp).join("\n"));
  return policy.violations.some((v) => v.level === "mandatory") ? 1 : 0;
}

function runIssues(recording: Recording, file: string): ConfigIssue[] {
  const error = recording.error;
  if (!error) return [];
  return StackConfigError.isInstance(error) ? [...error.issues] : [{ file, path: "", message: error.message }];
}

function writeIssues(errors: readonly ConfigIssue[], json: boolean): void {
  if (json) process.stdout.write(JSON.stringify({ errors }, null, 2) + "\n");
  else process.stderr.write(errors.map(formatIssue).join("\n") + "\n");
}

/**
 * `--markdown [--markdown-budget <chars>]`: a rendering of `--diff` only, and one output at a time.
 * Undefined without the flag; a string says what is wrong with the command line.
 */
function markdownOptions(
  argv: readonly string[],
  budget: string | undefined,
  diffBase: string | undefined,
): { budget: number } | undefined | string {
  if (!argv.includes("--markdown")) return budget === undefined ? undefined : "--markdown-budget needs --markdown";
  const clash = ["--json", "--graph"].filter((f) => argv.includes(f));
  if (clash.length > 0) return `--markdown and ${clash.join(" and ")} are different outputs: pass one`;
  if (diffBase === undefined) return "--markdown renders a --diff: pass --diff <base>";
  if (budget === undefined) return { budget: defaultMarkdownBudget };
  // Below this not even the frame of the cut detail fits; the summary is never cut.
  if (!/^\d+$/.test(budget) || Number(budget) < 1000)
    return `--markdown-budget ${budget || "(none)"}: a number of characters, 1000 or more`;
  return { budget: Number(budget) };
}

/** A word a POSIX shell reads back as itself: plain, or single-quoted. */
function shellWord(word: string): string {
  return /^[\w./:@%+=,-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}

/** `--diff <base>`: the base is a `plan --json` file if one exists at that path, else a git ref. */
async function diffMain(
  stack: string,
  base: string,
  options: { json: boolean; markdown?: { budget: number }; failOnWarning: boolean; allowEmptyBase: boolean },
  where: { projectDir: string; entry?: string; stackReferences?: Record<string, StackOutputs> },
): Promise<number> {
  let baseline: Baseline;
  if (fs.existsSync(base)) {
    baseline = baselineOfPlan(JSON.parse(fs.readFileSync(base, "utf8")) as unknown, path.basename(base));
  } else {
    let document: unknown;
    try {
      document = await planAtRef(where.projectDir, base, stack);
    } catch (e) {
      if (!(e instanceof BaseNotFound)) throw e;
      process.stderr.write(`plan: ${e.message}\n`);
      return 2;
    }
    const empty = emptyBaseIssue(base, stack, document, options.allowEmptyBase);
    if (empty) {
      process.stderr.write(`plan: ${empty}\n`);
      return 2;
    }
    baseline = document === undefined ? emptyBaseline(`${base} (no stack file there: a new stack)`) : baselineOfPlan(document, base);
  }
  try {
    const outcome = await diffRun(stack, baseline, (o) => record({ stack, ...where, ...o }));
    const fullCommand = `npm run plan -- ${shellWord(stack)} --diff ${shellWord(base)}${options.allowEmptyBase ? " --base-empty" : ""}`;
    if (options.markdown) process.stdout.write(diffMarkdown(outcome, { budget: options.markdown.budget, fullCommand }));
    else process.stdout.write(options.json ? JSON.stringify(outcome.report, null, 2) + "\n" : diffText(outcome));
    const { errors, warnings } = outcome.report;
    return errors.length > 0 || (options.failOnWarning && warnings.length > 0) ? 1 : 0;
  } catch (e) {
    if (!(e instanceof RunFailed)) throw e;
    const issues = runIssues(e.recording, `Pulumi.${stack}.yaml`);
    // The pull-request comment shows why there is no diff, not an empty section.
    if (options.markdown) process.stdout.write(failedRunMarkdown(stack, base, issues));
    else writeIssues(issues, options.json);
    return 1;
  }
}

/**
 * A stack with no stack file at the base ref would diff as all creates: only on purpose. Without
 * `--base-empty` that is an error naming the ref, so a wrong ref never passes for an empty stack.
 */
export function emptyBaseIssue(ref: string, stack: string, document: unknown, allowEmpty: boolean): string | undefined {
  if (document !== undefined || allowEmpty) return undefined;
  return `Pulumi.${stack}.yaml does not exist at ${ref}: pass --base-empty to plan it as a new stack (every resource a create)`;
}

/** The project's stack files that validate; an invalid one fails its own plan. */
function validStacks(projectDir: string): Array<{ file: string; cluster: ClusterConfig }> {
  return listStacks(projectDir).flatMap((s) => {
    try {
      return [{ file: `Pulumi.${s}.yaml`, cluster: clusterFromStackFile(readStackFile(projectDir, s)) }];
    } catch {
      return [];
    }
  });
}

/** This stack's mesh when the project's mesh settings hold together; the recording reports them otherwise. */
function meshOrUndefined(self: { file: string; cluster: ClusterConfig }, stacks: Array<{ file: string; cluster: ClusterConfig }>) {
  try {
    const mine = meshIssues(stacks).filter((i) => i.file === self.file || i.message.endsWith(`(${self.file})`));
    return mine.length === 0 ? meshView(self, stacks) : undefined;
  } catch {
    return undefined;
  }
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (error: unknown) => {
      process.stderr.write(`${error instanceof Error ? error.stack : String(error)}\n`);
      process.exitCode = 1;
    },
  );
}
