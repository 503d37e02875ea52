import { z } from "zod";
import type { RecordedResource, Recording } from "../record/harness";
import type { Json } from "../record/wire";

/**
 * The state a diff starts from: what the engine would hold after the base run, as far as an
 * offline recording knows it. It comes from a `plan --json` document (a file, or the plan of a git
 * ref) or straight from a recording. Documents written before the diff existed lack secret digests
 * and outputs: their secrets then compare as unchanged and dynamic resources as unknown.
 */
export interface StateResource {
  readonly urn: string;
  readonly type: string;
  readonly name: string;
  readonly parent: string | null;
  readonly provider: string | null;
  readonly dependsOn: readonly string[];
  readonly inputs: Json;
  readonly secretPaths: readonly string[];
  readonly secretDigests: Readonly<Record<string, string>>;
  readonly protect: boolean;
  readonly retainOnDelete: boolean;
  /** Outputs known offline (a dynamic provider's); null when offline cannot know them. */
  readonly outputs: Json;
}

export interface StateInvoke {
  readonly token: string;
  readonly args: Json;
  readonly secretDigests: Readonly<Record<string, string>>;
}

export interface Baseline {
  /** What the base is, as the report names it: a file name, a git ref, "(same program)". */
  readonly label: string;
  readonly resources: readonly StateResource[];
  readonly invokes: readonly StateInvoke[];
}

const json: z.ZodType<Json> = z.lazy(() =>
  z.union([z.null(), z.boolean(), z.number(), z.string(), z.array(json), z.record(z.string(), json)]),
);
const digests = z.record(z.string(), z.string()).default({});

const planDocument = z.object({
  resources: z.array(
    z.object({
      urn: z.string(),
      type: z.string(),
      name: z.string(),
      parent: z.string().nullable(),
      provider: z.string().nullable(),
      dependsOn: z.array(z.string()),
      inputs: json,
      secretPaths: z.array(z.string()),
      secretDigests: digests,
      protect: z.boolean(),
      retainOnDelete: z.boolean(),
      outputs: json.default(null),
    }),
  ),
  invokes: z.array(z.object({ token: z.string(), args: json, secretDigests: digests })),
});

/** A `plan --json` document as a baseline; throws naming what is missing when it is not one. */
export function baselineOfPlan(document: unknown, label: string): Baseline {
  const parsed = planDocument.safeParse(document);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new Error(`${label} is not a plan --json document (${first ? `${first.path.join(".")}: ${first.message}` : "invalid"})`);
  }
  return { label, resources: parsed.data.resources, invokes: parsed.data.invokes };
}

/** The state one recorded registration leaves behind (its inputs, and the outputs known offline). */
export function stateOfRecorded(r: RecordedResource): StateResource {
  return {
    urn: r.urn,
    type: r.type,
    name: r.name,
    parent: r.parent ?? null,
    provider: r.provider ?? null,
    dependsOn: r.dependsOn,
    inputs: r.inputs,
    secretPaths: r.secretPaths,
    secretDigests: r.secretDigests,
    protect: r.protect,
    retainOnDelete: r.retainOnDelete,
    outputs: r.outputs ?? null,
  };
}

/** The state a recorded run leaves behind. */
export function baselineOfRecording(recording: Recording, label: string): Baseline {
  return {
    label,
    resources: recording.resources.map(stateOfRecorded),
    invokes: recording.invokes.map((i) => ({ token: i.token, args: i.args, secretDigests: i.secretDigests })),
  };
}

/** A stack with nothing in it yet: every resource is a create. */
export function emptyBaseline(label: string): Baseline {
  return { label, resources: [], invokes: [] };
}
