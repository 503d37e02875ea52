import * as fs from "fs";
import * as path from "path";
import { record, type RecordedResource, type RecordOptions, type Recording } from "../plan/harness";

export const repoRoot = path.resolve(__dirname, "..");
export const stacks = ["infra", "apps"] as const;

/** A deep copy of a parsed YAML value, to mutate in a test. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Loose access to the raw cluster object for bad-input mutations (the point is to break its type). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RawCluster = any;

/** Records a stack with its cluster rewritten by `mutate`. */
export function recordWith(
  stack: string,
  mutate: (cluster: RawCluster) => void,
  extra: Omit<RecordOptions, "stack" | "cluster"> = {},
): Promise<Recording> {
  return record({
    stack,
    ...extra,
    cluster: (raw) => {
      const copy = clone(raw);
      mutate(copy);
      return copy;
    },
  });
}

/**
 * `../shared` holds the reference schemas. Locally a test may skip without it, saying why;
 * in CI (CI=true) its absence is a failure, never a skip.
 */
export const sharedDir = path.resolve(repoRoot, "..", "shared");
export function requireShared(relative: string): string | undefined {
  const file = path.join(sharedDir, relative);
  if (fs.existsSync(file)) return file;
  const message = `../shared/${relative} is missing: the contract tests need the shared reference data next to this repository`;
  if (process.env.CI === "true") throw new Error(message);
  console.warn(`SKIPPED: ${message}`);
  return undefined;
}

/** The recorded resources of one type, in registration order. */
export function ofType(recording: Recording, type: string): RecordedResource[] {
  return recording.resources.filter((r) => r.type === type);
}
