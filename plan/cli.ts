import * as path from "path";
import { StackConfigError, type ConfigIssue } from "../stacks/errors";
import { crossStackIssues } from "../stacks/crossStack";
import type { ClusterConfig } from "../stacks/load";
import { clusterFromStackFile, listStacks, readStackFile } from "../stacks/stackFile";
import { meshIssues, meshText, meshView } from "../stacks/mesh";
import { offlineOrganization, record, stackOutputsOf, type StackOutputs } from "./harness";
import { clusterFacts, runPolicyPack } from "./policy";
import { planJson, planMermaid, planText, type PolicyReport } from "./render";

/**
 * `npm run plan -- <stack> [--json | --graph mermaid] [--preview]`: what `pulumi up` would do, offline.
 * The real program runs in-process through the recording harness against the real stack file,
 * with no network and no credentials. Exit 1 on invalid config or a mandatory policy violation.
 */
export async function main(argv: readonly string[], where: { projectDir?: string; entry?: string } = {}): Promise<number> {
  const json = argv.includes("--json");
  // As a first `pulumi preview` of a new stack sees it: ids and computed values unknown.
  const preview = argv.includes("--preview");
  const graphAt = argv.indexOf("--graph");
  const graph = graphAt >= 0 ? argv[graphAt + 1] : undefined;
  const stack = argv.find((a, i) => !a.startsWith("--") && (graphAt < 0 || i !== graphAt + 1));
  if (!stack || (graphAt >= 0 && graph !== "mermaid")) {
    process.stderr.write("usage: npm run plan -- <stack> [--json | --graph mermaid] [--preview]\n");
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
  const recording = await record({ stack, preview, stackReferences, ...where });
  const stacks = recording.error ? [] : valid;
  const crossStack = crossStackIssues(stacks).filter((i) => i.file === file || i.message.endsWith(`(${file})`));
  if (recording.error || crossStack.length > 0) {
    const errors: ConfigIssue[] = !recording.error
      ? crossStack
      : StackConfigError.isInstance(recording.error)
        ? [...recording.error.issues]
        : [{ file, path: "", message: recording.error.message }];
    if (json) process.stdout.write(JSON.stringify({ errors }, null, 2) + "\n");
    else process.stderr.write(errors.map((e) => `${e.file}: ${e.path ? `${e.path}: ` : ""}${e.message}`).join("\n") + "\n");
    return 1;
  }

  const cluster = stacks.find((s) => s.file === file)?.cluster ?? clusterFromStackFile(readStackFile(projectDir, stack));
  const policy: PolicyReport = await runPolicyPack(recording, clusterFacts(cluster));
  if (graph === "mermaid") process.stdout.write(planMermaid(recording));
  else if (json) process.stdout.write(JSON.stringify(planJson(recording, policy), null, 2) + "\n");
  else process.stdout.write(planText(recording, policy) + meshText(mesh, cluster.cilium.clustermeshIp).join("\n"));
  return policy.violations.some((v) => v.level === "mandatory") ? 1 : 0;
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
