import * as fs from "fs";
import * as path from "path";
import { record, type RecordedResource, type RecordOptions, type Recording } from "../plan/record/harness";
import type { ClusterConfig } from "../stacks/load";
import { clusterFromStackFile, listStacks, readStackFile } from "../stacks/stackFile";

export const repoRoot = path.resolve(__dirname, "..");
/**
 * Fixture stacks shaped like the seed clusters (tests/fixtures/stacks): every test that asserts
 * topology (nodes, names, IPs, releases) runs on these, so users may edit or replace the live
 * Pulumi.<stack>.yaml files; those only have to validate, plan and pass policy.
 */
export const fixtureDir = path.join(__dirname, "fixtures", "stacks");
export const stacks = ["infra", "apps"] as const;
/** The live stack files of this checkout, whatever the user made of them. */
export const liveStacks = listStacks(repoRoot);

/** A fixture stack's validated cluster. */
export function fixture(stack: string): ClusterConfig {
  return clusterFromStackFile(readStackFile(fixtureDir, stack));
}

/** Records a fixture stack (the repository's program, the fixture's stack file). */
export function recordFixture(options: RecordOptions): Promise<Recording> {
  return record({ projectDir: fixtureDir, ...options });
}

/** A deep copy of a parsed YAML value, to mutate in a test. */
export function clone<T>(value: T): T {
  return JSON.parse(JSON.stringify(value)) as T;
}

/** Loose access to the raw cluster object for bad-input mutations (the point is to break its type). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type RawCluster = any;

/** Records a fixture stack with its cluster rewritten by `mutate`. */
export function recordWith(
  stack: string,
  mutate: (cluster: RawCluster) => void,
  extra: Omit<RecordOptions, "stack" | "cluster"> = {},
): Promise<Recording> {
  return recordFixture({
    stack,
    ...extra,
    cluster: (raw) => {
      const copy = clone(raw);
      mutate(copy);
      return copy;
    },
  });
}

/** A vendored upstream contract (contracts/README.md says where each came from), parsed. */
export function readContract<T>(relative: string): T {
  return JSON.parse(fs.readFileSync(path.join(repoRoot, "contracts", relative), "utf8")) as T;
}

/** The recorded resources of one type, in registration order. */
export function ofType(recording: Recording, type: string): RecordedResource[] {
  return recording.resources.filter((r) => r.type === type);
}
