import Module from "module";
import * as path from "path";
import type { Json } from "./wire";

/**
 * A dynamic provider as the engine loads it: from the `__provider` input, the provider object the
 * SDK serialised with its closure (`pulumi.dynamic.Resource`), deserialised the way
 * `sdk/nodejs/cmd/dynamic-provider/index.ts` does (`requireFromString(text).handler()`).
 *
 * `outputsOf` is this project's convention, not the SDK's: a provider whose `create`/`update` outs
 * are a pure function of its inputs exposes that function, so the offline run can record the
 * outputs the engine would keep in state, which is what the engine hands its `diff` as `olds`.
 */
/** Dynamic resources: `pulumi-nodejs:dynamic:Resource`, or with a module and type given, `pulumi-nodejs:dynamic/<module>:<type>`. */
export const isDynamic = (type: string) => /^pulumi-nodejs:dynamic[:/]/.test(type);

export interface DiffResult {
  readonly changes?: boolean;
  readonly replaces?: readonly string[];
  readonly deleteBeforeReplace?: boolean;
}

export interface LoadedProvider {
  diff?(id: string, olds: Record<string, Json>, news: Record<string, Json>): Promise<DiffResult>;
  outputsOf?(inputs: Record<string, Json>): Record<string, Json>;
}

export const providerKey = "__provider";

const cache = new Map<string, LoadedProvider>();

interface CompilableModule {
  filename: string;
  paths: string[];
  exports: { handler?: () => LoadedProvider };
  _compile(code: string, filename: string): void;
}
type ModuleInternals = { new (id: string): CompilableModule; _nodeModulePaths(dir: string): string[] };

/** Deserialises a provider (cached by its text, as the engine's provider process does). */
export function loadProvider(serialized: string): LoadedProvider {
  const cached = cache.get(serialized);
  if (cached) return cached;
  const internals = Module as unknown as ModuleInternals;
  // The engine runs the provider from the project directory: `require`s inside it resolve there.
  const filename = path.join(path.resolve(__dirname, "..", ".."), "__dynamic_provider.js");
  const m = new internals(filename);
  m.filename = filename;
  m.paths = internals._nodeModulePaths(path.dirname(filename));
  m._compile(serialized, filename);
  const handler = m.exports.handler;
  if (typeof handler !== "function") throw new Error("not a serialised dynamic provider: no handler export");
  const provider = handler();
  cache.set(serialized, provider);
  return provider;
}

/** The outputs a dynamic provider would return for these (plain) inputs, or undefined when offline cannot know. */
export function offlineOutputs(inputs: Record<string, Json>): Record<string, Json> | undefined {
  const serialized = inputs[providerKey];
  if (typeof serialized !== "string") return undefined;
  const provider = loadProvider(serialized);
  if (typeof provider.outputsOf !== "function") return undefined;
  // The engine's provider process also adds `__provider` to the outputs; the diff model adds it back.
  return provider.outputsOf(inputs);
}
