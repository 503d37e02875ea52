import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml, parseAllDocuments } from "yaml";

/**
 * Turns an upstream schema into the machine-readable contract vendored under contracts/: the data
 * a test checks against, with upstream prose (descriptions, docs, examples) removed.
 *
 *   ts-node contracts/extract.ts talos    <config.schema.json> <out.json>
 *   ts-node contracts/extract.ts provider <schema.json (pulumi package get-schema)> <out.json>
 *   ts-node contracts/extract.ts crd      <crds.yaml> <kind> <out.json>   (openAPIV3Schema per served version)
 *   ts-node contracts/extract.ts schema   <values.schema.json> <out.json>  (a chart's values schema)
 *   ts-node contracts/extract.ts values-keys <values.yaml> <templates dir> <out.json>
 *                                          (the key tree of a chart's values, for charts without a schema)
 */

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Keys whose value is documentation, not contract. */
const proseKeys = new Set([
  "description",
  "markdownDescription",
  "x-intellij-html-description",
  "title",
  "examples",
  "example",
  "deprecationMessage",
  "language",
]);
/** Keys whose children are names (a property called "description" is contract, not prose). */
const nameMaps = new Set([
  "properties",
  "patternProperties",
  "$defs",
  "definitions",
  "resources",
  "functions",
  "types",
  "inputProperties",
  "variables",
]);

export function stripProse(value: Json, underNameMap = false): Json {
  if (Array.isArray(value)) return value.map((v) => stripProse(v));
  if (value === null || typeof value !== "object") return value;
  const out: { [key: string]: Json } = {};
  for (const [key, child] of Object.entries(value)) {
    if (!underNameMap && proseKeys.has(key) && (typeof child === "string" || key === "examples" || key === "language")) continue;
    out[key] = stripProse(child, nameMaps.has(key) && !underNameMap);
  }
  return out;
}

/** The Pulumi provider schema, reduced to what a binding is checked against. */
export function providerContract(schema: { [key: string]: Json }): Json {
  const keep = ["name", "version", "config", "provider", "types", "resources", "functions"];
  return stripProse(Object.fromEntries(keep.filter((k) => k in schema).map((k) => [k, schema[k] as Json])));
}

interface CrdDoc {
  kind?: string;
  spec?: {
    group?: string;
    names?: { kind?: string };
    versions?: Array<{ name: string; served?: boolean; schema?: { openAPIV3Schema?: Json } }>;
  };
}

/** `{ group, kind, versions: { <name>: openAPIV3Schema } }` of one CRD in a multi-document YAML file. */
export function crdContract(yamlText: string, kind: string): Json {
  const crd = parseAllDocuments(yamlText)
    .map((d) => d.toJSON() as CrdDoc | null)
    .find((d) => d?.kind === "CustomResourceDefinition" && d.spec?.names?.kind === kind);
  if (!crd?.spec) throw new Error(`no CustomResourceDefinition of kind ${kind}`);
  const versions: { [name: string]: Json } = {};
  for (const v of crd.spec.versions ?? [])
    if (v.served !== false && v.schema?.openAPIV3Schema) versions[v.name] = stripProse(v.schema.openAPIV3Schema);
  return { group: crd.spec.group ?? "", kind, versions };
}

/** What a values key holds in the chart's own values.yaml: its JSON type, or "unset" when only a template reads it. */
export type ValueKind = "string" | "number" | "boolean" | "null" | "array" | "unset";
/** A chart's values as a key tree: each key maps to its children, or to the kind of its default. */
export interface KeyTree {
  [key: string]: KeyTree | ValueKind;
}

function kindOf(value: unknown): ValueKind {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  const t = typeof value;
  return t === "string" || t === "number" || t === "boolean" ? t : "null";
}

function treeOf(value: { [key: string]: unknown }): KeyTree {
  const out: KeyTree = {};
  for (const [key, child] of Object.entries(value)) {
    out[key] =
      child !== null && typeof child === "object" && !Array.isArray(child) ? treeOf(child as { [key: string]: unknown }) : kindOf(child);
  }
  return out;
}

/**
 * The key tree of a chart's values.yaml (no values, no comments), plus every `.Values.a.b` path its
 * templates read that values.yaml leaves out (commented-out options), marked "unset".
 */
export function valuesKeyTree(valuesYaml: string, templates: string[] = []): KeyTree {
  const tree = treeOf((parseYaml(valuesYaml) ?? {}) as { [key: string]: unknown });
  for (const text of templates) {
    for (const match of text.matchAll(/\.Values((?:\.[A-Za-z_][A-Za-z0-9_]*)+)/g)) {
      let node: KeyTree = tree;
      const keys = (match[1] ?? "").slice(1).split(".");
      keys.forEach((key, i) => {
        const last = i === keys.length - 1;
        const child = node[key];
        if (child === undefined) node[key] = last ? "unset" : {};
        const next = node[key];
        if (!last && typeof next === "object") node = next;
        else if (!last) node = {}; // a template reads below a scalar default: nothing to record
      });
    }
  }
  return sortTree(tree);
}

function sortTree(tree: KeyTree): KeyTree {
  return Object.fromEntries(
    Object.keys(tree)
      .sort()
      .map((k) => {
        const v = tree[k] as KeyTree | ValueKind;
        return [k, typeof v === "object" ? sortTree(v) : v];
      }),
  );
}

function templateTexts(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((f) => /\.(ya?ml|tpl|txt)$/.test(f))
    .sort()
    .map((f) => fs.readFileSync(path.join(dir, f), "utf8"));
}

function main(argv: string[]): void {
  const [mode, input, ...rest] = argv;
  const read = () => fs.readFileSync(input ?? "", "utf8");
  const write = (file: string | undefined, value: Json) => fs.writeFileSync(file ?? "", JSON.stringify(value, null, 2) + "\n");
  if (mode === "talos" && input) write(rest[0], stripProse(JSON.parse(read()) as Json));
  else if (mode === "provider" && input) write(rest[0], providerContract(JSON.parse(read()) as { [key: string]: Json }));
  else if (mode === "crd" && input && rest[0]) write(rest[1], crdContract(read(), rest[0]));
  else if (mode === "schema" && input) write(rest[0], stripProse(JSON.parse(read()) as Json));
  else if (mode === "values-keys" && input && rest[0]) write(rest[1], valuesKeyTree(read(), templateTexts(rest[0])) as Json);
  else throw new Error("usage: ts-node contracts/extract.ts talos|provider|crd|schema|values-keys <input> [kind|templates dir] <output>");
}

if (require.main === module) main(process.argv.slice(2));
