import * as fs from "fs";
import { parseAllDocuments } from "yaml";

/**
 * Turns an upstream schema into the machine-readable contract vendored under contracts/: the data
 * a test checks against, with upstream prose (descriptions, docs, examples) removed.
 *
 *   ts-node contracts/extract.ts talos    <config.schema.json> <out.json>
 *   ts-node contracts/extract.ts provider <schema.json (pulumi package get-schema)> <out.json>
 *   ts-node contracts/extract.ts crd      <crds.yaml> <kind> <out.json>   (openAPIV3Schema per served version)
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

function main(argv: string[]): void {
  const [mode, input, ...rest] = argv;
  const read = () => fs.readFileSync(input ?? "", "utf8");
  const write = (file: string | undefined, value: Json) => fs.writeFileSync(file ?? "", JSON.stringify(value, null, 2) + "\n");
  if (mode === "talos" && input) write(rest[0], stripProse(JSON.parse(read()) as Json));
  else if (mode === "provider" && input) write(rest[0], providerContract(JSON.parse(read()) as { [key: string]: Json }));
  else if (mode === "crd" && input && rest[0]) write(rest[1], crdContract(read(), rest[0]));
  else throw new Error("usage: ts-node contracts/extract.ts talos|provider|crd <input> [kind] <output>");
}

if (require.main === module) main(process.argv.slice(2));
