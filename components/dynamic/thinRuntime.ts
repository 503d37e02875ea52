/**
 * The engine-side half of a thin entry (components/dynamic/thinProvider.ts): what each method of the
 * serialized entry does once it has loaded the provider logic. It lives in the project, not in state,
 * so a fix here reaches every existing resource too. The logic never sees the version key: it is
 * taken off what the logic receives and put back on what it returns.
 */

import * as path from "path";

export type Props = Record<string, unknown>;

/** The input (and output) carrying the logic's version. Not `__`-prefixed: the engine hides those in diffs. */
export const logicKey = "providerLogic";

/** This module's project: the installed copy the engine's host runs in, wherever it was cloned. */
const projectRoot = path.resolve(__dirname, "..", "..");

export interface Logic {
  diff?(id: string, olds: Props, news: Props): Promise<{ changes?: boolean; replaces?: string[]; deleteBeforeReplace?: boolean }>;
  create(inputs: Props): Promise<{ id: string; outs?: Props }>;
  read?(id: string, props: Props): Promise<{ id?: string; props?: Props; inputs?: Props }>;
  update?(id: string, olds: Props, news: Props): Promise<{ outs?: Props } | undefined>;
  delete?(id: string, props: Props): Promise<void>;
  outputsOf?(inputs: Props): Props;
  check?: unknown;
  configure?: unknown;
}

/** The methods a thin entry can forward; the SDK's defaults for `check` and `configure` are kept (see thinEntry). */
export const forwarded = ["diff", "create", "read", "update", "delete", "outputsOf"] as const;
export type Forwarded = (typeof forwarded)[number];

function strip(props: Props | undefined, key: string): Props {
  const rest = { ...props };
  delete rest[key];
  return rest;
}

function mark(props: Props | undefined, key: string, from: Props): Props {
  return { ...props, [key]: from[key] };
}

/**
 * A thin entry's call: loads the logic (`<module relative to the project root>#<export>`) and runs
 * `method` as pulumi/pulumi v3.248.0 sdk/nodejs/cmd/dynamic-provider/index.ts calls it.
 */
export function invoke(spec: string, method: Forwarded, args: unknown[]): unknown {
  const [module = "", name = ""] = spec.split("#");
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const logic = (require(path.join(projectRoot, module)) as Record<string, Logic | undefined>)[name];
  if (!logic) throw new Error(`dynamic provider: ${module} has no export ${name}`);
  const key = logicKey;
  switch (method) {
    case "diff":
      return diff(logic, key, ...(args as [string, Props, Props]));
    case "create":
      return create(logic, key, args[0] as Props);
    case "read":
      return read(logic, key, ...(args as [string, Props]));
    case "update":
      return update(logic, key, ...(args as [string, Props, Props]));
    case "delete":
      return logic.delete?.(args[0] as string, strip(args[1] as Props, key));
    case "outputsOf":
      // This project's offline-plan convention (plan/dynamicProvider.ts): undefined when the logic cannot know.
      return logic.outputsOf ? mark(logic.outputsOf(strip(args[0] as Props, key)), key, args[0] as Props) : undefined;
  }
}

async function diff(logic: Logic, key: string, id: string, olds: Props, news: Props) {
  const result = logic.diff ? await logic.diff(id, strip(olds, key), strip(news, key)) : {};
  // A new logic version is a change (the engine then updates and stores it), never a replacement by itself.
  return olds[key] !== news[key] && result.changes !== true ? { ...result, changes: true } : result;
}

async function create(logic: Logic, key: string, inputs: Props) {
  const result = await logic.create(strip(inputs, key));
  return { ...result, outs: mark(result.outs, key, inputs) };
}

async function read(logic: Logic, key: string, id: string, props: Props) {
  if (!logic.read) return { id, props };
  const result = await logic.read(id, strip(props, key));
  return { ...result, props: mark(result.props, key, props), ...(result.inputs ? { inputs: mark(result.inputs, key, props) } : {}) };
}

async function update(logic: Logic, key: string, id: string, olds: Props, news: Props) {
  if (!logic.update) return {};
  // Only the version moved (the logic's own diff sees no change): no wait, no upgrade — store the
  // outputs the engine would have kept on a `same` step, with the new version.
  if (logic.diff && (await logic.diff(id, strip(olds, key), strip(news, key))).changes === false) {
    return { outs: mark(strip(olds, key), key, news) };
  }
  const result = await logic.update(id, strip(olds, key), strip(news, key));
  return { ...result, outs: mark(result?.outs, key, news) };
}
