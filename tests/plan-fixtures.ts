import type { RecordedResource } from "../plan/record/harness";

/** Hand-built registrations for the plan's step-model tests (no program run). */
export const urnOf = (name: string, type = "test:index:Thing") => `urn:pulumi:s::p::${type}::${name}`;

/** A custom resource of `test:index:Thing` (or `over.type`) with every option at the engine's default. */
export function recordedResource(name: string, over: Partial<RecordedResource> = {}): RecordedResource {
  return {
    urn: urnOf(name, over.type),
    type: "test:index:Thing",
    name,
    custom: true,
    inputs: {},
    secretPaths: [],
    secretDigests: {},
    dependsOn: [],
    propertyDependencies: {},
    protect: false,
    retainOnDelete: false,
    deleteBeforeReplace: false,
    ignoreChanges: [],
    replaceOnChanges: [],
    aliases: [],
    additionalSecretOutputs: [],
    ...over,
  };
}
