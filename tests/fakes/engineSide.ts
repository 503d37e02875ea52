import { execFile } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";

/**
 * The engine's side of a dynamic resource, in a plain Node process (no ts-node, no jest): it loads the
 * provider text the way @pulumi/pulumi's cmd/dynamic-provider does (`requireFromString(text).handler()`,
 * module paths from the working directory) and runs a sequence of calls like the engine: create,
 * diff, update and delete against the previous call's outputs (the engine hands diff/update the old
 * outputs, delete the stored ones); `outputsOf` (the offline plan's convention) stands in for a create
 * whose outputs are known without the node.
 */
const script = `
const fs = require("fs");
const requireFromString = require("require-from-string");
const { provider: text, steps } = JSON.parse(fs.readFileSync(process.env.ENGINE_REQUEST, "utf8"));
const provider = requireFromString(text).handler();
(async () => {
  const results = [];
  let outs;
  let id;
  try {
    for (const step of steps) {
      const olds = step.olds === undefined ? outs : step.olds;
      const started = Date.now();
      if (step.op === "create") {
        const created = await provider.create(step.inputs);
        id = created.id;
        outs = created.outs;
        results.push({ op: "create", id, outs, ms: Date.now() - started });
      } else if (step.op === "diff") {
        results.push({ op: "diff", result: await provider.diff(id, olds, step.inputs) });
      } else if (step.op === "delete") {
        await provider.delete(step.id || id, olds);
        results.push({ op: "delete" });
      } else if (step.op === "outputsOf") {
        outs = provider.outputsOf(step.inputs);
        id = step.id;
        results.push({ op: "outputsOf", outs });
      } else {
        outs = (await provider.update(id, olds, step.inputs)).outs;
        results.push({ op: "update", outs, ms: Date.now() - started });
      }
    }
    process.stdout.write(JSON.stringify({ results }));
  } catch (error) {
    process.stdout.write(JSON.stringify({ results, error: error.message }));
  }
})();
`;

export const repoRoot = path.resolve(__dirname, "..", "..");

export function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}, cwd = repoRoot): Promise<string> {
  // Asynchronous on purpose: the fake apid lives in the test process and must keep answering meanwhile.
  return new Promise((resolve, reject) =>
    execFile(command, args, { cwd, env: { ...process.env, ...env }, timeout: 90_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} failed: ${error.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

/** Registers `kind` with `args` in a ts-node process (as `pulumi up` would) and returns the inputs the engine receives. */
export async function registeredInputs(kind: string, args: object, dir: string): Promise<Record<string, unknown>> {
  const argsFile = path.join(dir, `${kind}-args.json`);
  const outFile = path.join(dir, `${kind}-inputs.json`);
  fs.writeFileSync(argsFile, JSON.stringify(args));
  await run(process.execPath, ["-r", "ts-node/register/transpile-only", "tests/fakes/serializeLifecycle.ts", kind, argsFile, outFile]);
  return JSON.parse(fs.readFileSync(outFile, "utf8")) as Record<string, unknown>;
}

/** Registers one resource of each kind in `argsByKind` in a single ts-node process; their inputs by kind. */
export async function registeredAll(argsByKind: Record<string, object>, dir: string): Promise<Record<string, Record<string, unknown>>> {
  const argsFile = path.join(dir, "all-args.json");
  const outFile = path.join(dir, "all-inputs.json");
  fs.writeFileSync(argsFile, JSON.stringify(argsByKind));
  await run(process.execPath, ["-r", "ts-node/register/transpile-only", "tests/fakes/serializeLifecycle.ts", "all", argsFile, outFile]);
  return JSON.parse(fs.readFileSync(outFile, "utf8")) as Record<string, Record<string, unknown>>;
}

/** What the engine hands a provider that does not accept secrets: secret values unwrapped, `__provider` kept. */
export function engineInputs(registered: Record<string, unknown>, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const isSecret = (v: unknown): v is { value: unknown } =>
    v !== null && typeof v === "object" && (v as Record<string, unknown>)[specialSigKey] === specialSecretSig;
  const unwrapped = Object.fromEntries(Object.entries(registered).map(([k, v]) => [k, isSecret(v) ? v.value : v]));
  return { ...unwrapped, ...overrides };
}

export interface EngineStep {
  op: "create" | "diff" | "update" | "delete" | "outputsOf";
  inputs?: Record<string, unknown>;
  /** The resource's id, for a step that starts from stored state (`outputsOf`, `delete`). */
  id?: string;
  /** Defaults to the outputs of the previous create/update. */
  olds?: Record<string, unknown>;
}
export interface EngineResult {
  results: Array<{ op: string; id?: string; outs?: Record<string, unknown>; result?: unknown; ms?: number }>;
  error?: string;
}

/** Runs `steps` in a fresh engine-side process whose working directory (the engine's: the project root) is `cwd`. */
export async function engineRun(
  provider: string,
  steps: EngineStep[],
  dir: string,
  cwd = repoRoot,
  env: NodeJS.ProcessEnv = {},
): Promise<EngineResult> {
  const request = path.join(dir, `request-${Date.now()}-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(request, JSON.stringify({ provider, steps }));
  return JSON.parse(await run(process.execPath, ["-e", script], { ...env, ENGINE_REQUEST: request }, cwd)) as EngineResult;
}
