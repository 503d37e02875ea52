/* eslint-disable @typescript-eslint/no-require-imports -- the entry must `require` at call time, in the engine's process */
import * as fs from "fs";
import * as path from "path";
import type * as pulumi from "@pulumi/pulumi";
import { logicVersion } from "./logicVersion";
import { forwarded, logicKey, type Forwarded, type Logic } from "./thinRuntime";

/**
 * A thin entry for a dynamic resource: the provider object handed to `pulumi.dynamic.Resource` holds
 * no logic, only where the logic lives. Its methods `require` the provider module from the project
 * at call time, so
 *  - the serialized `__provider` text is about 1 KB instead of 35–68 KB (stored twice per resource:
 *    inputs and outputs), the same text for every resource of a kind;
 *  - a delete (and a read) — which the engine runs from the `__provider` stored in state — runs the
 *    logic installed today, not the logic of the program version that created the resource.
 *
 * How the engine runs it (pulumi/pulumi v3.248.0):
 *  - sdk/nodejs/dynamic/index.ts: `serializeFunction(() => provider)` (runtime/closure) turns the
 *    object into a module whose `handler()` returns it; `require` is never captured
 *    (runtime/closure/parseFunction.ts `nodeModuleGlobals`), it is the loading module's own.
 *  - sdk/nodejs/cmd/dynamic-provider/index.ts: `requireFromString(props.__provider).handler()`, cached
 *    by text; create/update/diff/check take the provider from the NEW inputs, read/delete from the
 *    stored props. require-from-string 2.0.2 compiles with filename "" → `require` resolves packages
 *    from the working directory's node_modules and `./x` against the working directory.
 *  - sdk/nodejs/dist/pulumi-resource-pulumi-nodejs: plain `node` (no ts-node) on the script found by
 *    `require.resolve` from the working directory; sdk/go/common/resource/plugin/plugin.go starts it
 *    with `cmd.Dir = ctx.Pwd`, and pkg/engine/project.go `getPwdMain` makes that the project root
 *    (the folder of Pulumi.yaml; this project sets no `main`). So the entry names the module relative
 *    to the project root — a clone elsewhere, or another machine, loads its own copy — and registers
 *    the project's ts-node (transpile-only: the program run type-checks) when `.ts` is not loadable yet.
 *
 * The logic's version (a hash of the provider module and the local modules it imports) is an ordinary
 * input, `providerLogic`, so `plan --diff` and `pulumi preview --diff` show a logic change, and the
 * entry's diff reports it as a change: the engine runs an update that stores the new version (and the
 * thin `__provider`, on a resource created before thin entries). The provider never sees the key.
 */

export { logicKey };

export interface ThinEntry {
  /** What the resource passes to `pulumi.dynamic.Resource` as its provider. */
  readonly provider: pulumi.dynamic.ResourceProvider;
  /** Spread into the resource's inputs. */
  readonly inputs: { readonly [logicKey]: string };
}

type Method = (...args: unknown[]) => unknown;

/**
 * The provider object: one-line methods (those the logic has, of `forwarded`) around `go`, which
 * uses only its captured strings and `require`, so the closure serializer captures nothing of this
 * project. No comments inside: a function's text is what state stores.
 */
function entryFor(logic: string, runtime: string, methods: readonly Forwarded[]): Partial<Record<Forwarded, Method>> {
  // ts-node's own transpile-only entry (the program run type-checks); the host has no `.ts` loader.
  const go = (m: Forwarded, a: unknown[]) => {
    if (!(".ts" in require.extensions)) require("ts-node/register/transpile-only");
    return (require(runtime) as typeof import("./thinRuntime")).invoke(logic, m, a);
  };
  const all: Record<Forwarded, Method> = {
    diff: (...a) => go("diff", a),
    create: (...a) => go("create", a),
    read: (...a) => go("read", a),
    update: (...a) => go("update", a),
    delete: (...a) => go("delete", a),
    outputsOf: (...a) => go("outputsOf", a),
  };
  return Object.fromEntries(methods.map((method) => [method, all[method]]));
}

/** The project root: where the engine starts the dynamic-provider host (see above). */
export const projectRoot = path.resolve(__dirname, "..", "..");

/** `file` as the engine's host requires it: relative to its working directory, the project root. */
function fromRoot(file: string): string {
  const relative = path.relative(projectRoot, file).replace(/\.[cm]?[jt]s$/, "");
  if (relative.startsWith("..") || path.isAbsolute(relative)) throw new Error(`thin entry: ${file} is outside the project ${projectRoot}`);
  return `./${relative.split(path.sep).join("/")}`;
}

const entries = new Map<string, ThinEntry>();

/**
 * The thin entry for the provider exported as `exportName` by `file` (an absolute path, e.g.
 * `require.resolve("./nodeGateProvider")`), with its logic version computed now, once per process.
 */
export function thinEntry(file: string, exportName: string): ThinEntry {
  const id = `${file}#${exportName}`;
  const known = entries.get(id);
  if (known) return known;
  if (!fs.existsSync(path.join(projectRoot, "Pulumi.yaml"))) throw new Error(`thin entry: no Pulumi.yaml in ${projectRoot}`);
  const logic = (require(file) as Record<string, Logic | undefined>)[exportName];
  if (typeof logic?.create !== "function") throw new Error(`thin entry: ${file} exports no provider ${exportName}`);
  // The entry leaves these to the SDK's defaults (news as they are; no configuration): a logic needing them must be forwarded.
  if (logic.check !== undefined || logic.configure !== undefined)
    throw new Error(`thin entry: ${exportName} has check/configure, not forwarded`);
  const runtime = require.resolve("./thinRuntime");
  // The methods the logic has (for the others cmd/dynamic-provider's defaults apply, as they would to the
  // logic), and always `delete`: a removal added to the logic later must reach resources stored today.
  const methods = forwarded.filter((method) => method === "delete" || logic[method] !== undefined);
  const entry: ThinEntry = {
    provider: entryFor(`${fromRoot(file)}#${exportName}`, fromRoot(runtime), methods) as unknown as pulumi.dynamic.ResourceProvider,
    inputs: { [logicKey]: logicVersion([file, runtime], projectRoot) },
  };
  entries.set(id, entry);
  return entry;
}
