import Ajv, { type ValidateFunction } from "ajv";
import Ajv2019 from "ajv/dist/2019";
import Ajv2020 from "ajv/dist/2020";
import type { KeyTree } from "./extract";

/**
 * How the tests check this program against the vendored contracts (contracts/README.md): chart
 * values against a chart's values schema or key tree, custom resources against their CRD schema.
 */

type Node = { [key: string]: unknown };

/** Keys whose value is a map of names to schemas, not a schema itself. */
const schemaMaps = new Set(["properties", "patternProperties", "$defs", "definitions", "dependentSchemas"]);
/** Keys whose value is data (defaults, enums), never a schema. */
const dataKeys = new Set(["default", "enum", "const", "examples", "example", "required", "x-kubernetes-validations"]);

export interface CloseOptions {
  /**
   * Drop `required`: chart values are an overlay that Helm merges over the chart's own defaults,
   * which already hold what the schema requires.
   */
  readonly overlay?: boolean;
}

/**
 * A copy of `schema` that refuses unknown keys: every object schema that lists `properties` and
 * says nothing about other keys gets `additionalProperties: false`. Objects that are left open on
 * purpose stay open: those with `additionalProperties`, `patternProperties`, or Kubernetes'
 * `x-kubernetes-preserve-unknown-fields: true` (the API server keeps unknown fields there). Elsewhere
 * a structural CRD schema makes the API server prune unknown fields silently, and Helm passes
 * unknown values to templates that never read them, so a misspelt key would be lost without a word.
 */
export function closeSchema<T>(schema: T, options: CloseOptions = {}): T {
  const walk = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(walk);
    if (value === null || typeof value !== "object") return value;
    const node = value as Node;
    const out: Node = {};
    for (const [key, child] of Object.entries(node)) {
      if (options.overlay && key === "required" && Array.isArray(child)) continue;
      if (dataKeys.has(key)) out[key] = child;
      else if (schemaMaps.has(key) && child !== null && typeof child === "object")
        out[key] = Object.fromEntries(Object.entries(child as Node).map(([name, sub]) => [name, walk(sub)]));
      else out[key] = walk(child);
    }
    const open = "additionalProperties" in node || "patternProperties" in node || node["x-kubernetes-preserve-unknown-fields"] === true;
    if ("properties" in node && !open) out.additionalProperties = false;
    return out;
  };
  return walk(schema) as T;
}

/** An ajv validator for a JSON Schema of any draft the vendored contracts use (07, 2019-09, 2020-12). */
export function validator(schema: object): ValidateFunction {
  const draft = String((schema as Node).$schema ?? "");
  const options = { strict: false, allErrors: true, validateFormats: false };
  const ajv = draft.includes("2020-12") ? new Ajv2020(options) : draft.includes("2019-09") ? new Ajv2019(options) : new Ajv(options);
  return ajv.compile(schema);
}

/** ajv's errors as `path: message` lines (empty when valid), for readable test failures. */
export function validationErrors(validate: ValidateFunction, value: unknown): string[] {
  if (validate(value)) return [];
  return (validate.errors ?? []).map((e) => {
    const extra = e.keyword === "additionalProperties" ? ` '${String(e.params.additionalProperty)}'` : "";
    return `${e.instancePath || "/"}: ${e.message ?? e.keyword}${extra}`;
  });
}

/**
 * Every key path of `values` that the chart's key tree does not have, or whose type differs from
 * the chart's default. An empty map in the tree (`annotations: {}`) takes any keys; a key only
 * the templates read ("unset") or whose default is null takes any type.
 */
export function keyTreeIssues(values: unknown, tree: KeyTree, prefix = ""): string[] {
  if (values === null || typeof values !== "object" || Array.isArray(values)) return [];
  return Object.entries(values as Node).flatMap(([key, value]) => {
    const where = prefix === "" ? key : `${prefix}.${key}`;
    const expected = tree[key];
    if (expected === undefined) return [`${where}: not a value of the chart`];
    if (typeof expected === "object") {
      if (value === null || typeof value !== "object" || Array.isArray(value)) return [`${where}: the chart expects a map here`];
      return Object.keys(expected).length === 0 ? [] : keyTreeIssues(value, expected, where);
    }
    if (expected === "unset" || expected === "null") return [];
    const actual = Array.isArray(value) ? "array" : value === null ? "null" : typeof value;
    return actual === expected ? [] : [`${where}: is ${actual}, the chart's default is ${expected}`];
  });
}
