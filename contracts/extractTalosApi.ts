import { execFileSync } from "child_process";
import * as fs from "fs";
import { common, parse, Root, type INamespace } from "protobufjs";

/**
 * Extracts the Talos machine API, as data, from siderolabs/talos at one tag into the JSON descriptor
 * vendored under contracts/talos-api/ (protobufjs's JSON form: packages, services, methods, messages,
 * fields, enums; no comments, no options but those that change the wire or mark a deprecation).
 *
 *   ts-node contracts/extractTalosApi.ts <talos bare git dir> <tag> <out.json>
 *
 * Upstream paths read at the tag (siderolabs/talos): `api/machine/machine.proto`,
 * `api/machine/image.proto` and `api/machine/lifecycle.proto` (from v1.13.0), `api/cluster/cluster.proto`,
 * `api/common/common.proto`, and every file they import: `api/<import>` or `api/vendor/<import>`
 * (`api/vendor/google/rpc/status.proto`); the `google/protobuf/*` well-known types come from protobufjs's
 * bundled common definitions. `google/protobuf/descriptor.proto` is imported by common.proto only for its
 * `extend google.protobuf.*Options` declarations (`remove_deprecated_*`, Go code-generation markers):
 * those extensions are dropped, and with them the need for descriptor.proto. Field names are kept as
 * upstream writes them (protobufjs `keepCase: true`).
 */

/** The machine-API files the client needs, where present at the tag. */
export const entryFiles = [
  "api/common/common.proto",
  "api/machine/machine.proto",
  "api/machine/image.proto",
  "api/machine/lifecycle.proto",
  "api/cluster/cluster.proto",
] as const;

/** Imported only for option extensions, which the descriptor leaves out. */
const optionsOnlyImport = "google/protobuf/descriptor.proto";

/** Options kept: they change the wire encoding (packed, proto3_optional) or mark an API as deprecated. */
const keptOptions = new Set(["deprecated", "packed", "proto3_optional"]);

/** First line of the upstream LICENSE → SPDX id; anything else stops the extraction rather than guessing. */
const licences: Record<string, string> = { "Mozilla Public License Version 2.0": "MPL-2.0" };

export interface Provenance {
  source: string;
  tag: string;
  commit: string;
  licence: string;
  licenceFile: string;
  /** Upstream files parsed, in the order read. */
  paths: string[];
  /** `google/protobuf/*` imports served from protobufjs's bundled definitions. */
  wellKnownTypes: string[];
  /** What the extraction leaves out, and why it is safe to. */
  omitted: string;
  fieldNames: "as upstream (protobufjs keepCase: true)";
  extractedBy: string;
}

export interface TalosApiDescriptor {
  provenance: Provenance;
  nested: NonNullable<INamespace["nested"]>;
}

type JsonObject = { [key: string]: unknown };

function isObject(value: unknown): value is JsonObject {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function filteredOptions(options: unknown): JsonObject | undefined {
  if (!isObject(options)) return undefined;
  const kept = Object.entries(options).filter(([key]) => keptOptions.has(key));
  return kept.length > 0 ? Object.fromEntries(kept) : undefined;
}

/**
 * protobufjs's JSON with file-level and code-generation options removed (go_package, java_package,
 * `(common.remove_deprecated_*)`), `parsedOptions` dropped, and extension fields (`extend`) left out.
 */
export function prune(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(prune);
  if (!isObject(value)) return value;
  const out: JsonObject = {};
  for (const [key, child] of Object.entries(value)) {
    if (key === "parsedOptions" || key === "comment" || key === "comments") continue;
    if (key === "options") {
      const kept = filteredOptions(child);
      if (kept) out[key] = kept;
    } else if (key === "valuesOptions" && isObject(child)) {
      const perValue = Object.entries(child)
        .map(([name, options]) => [name, filteredOptions(options)] as const)
        .filter(([, options]) => options !== undefined);
      if (perValue.length > 0) out[key] = Object.fromEntries(perValue);
    } else if (key === "nested" && isObject(child)) {
      const members = Object.entries(child).filter(([, member]) => !(isObject(member) && "extend" in member));
      out[key] = Object.fromEntries(members.map(([name, member]) => [name, prune(member)]));
    } else out[key] = prune(child);
  }
  return out;
}

class TalosMirror {
  constructor(
    private readonly gitDir: string,
    private readonly tag: string,
  ) {}

  private git(...args: string[]): string {
    return execFileSync("git", ["--git-dir", this.gitDir, ...args], {
      encoding: "utf8",
      maxBuffer: 64 * 1024 * 1024,
      stdio: ["ignore", "pipe", "pipe"],
    });
  }

  commit(): string {
    return this.git("rev-parse", `${this.tag}^{commit}`).trim();
  }

  has(path: string): boolean {
    try {
      this.git("cat-file", "-e", `${this.tag}:${path}`);
      return true;
    } catch {
      return false;
    }
  }

  read(path: string): string {
    return this.git("show", `${this.tag}:${path}`);
  }
}

function bundledWellKnown(importPath: string): INamespace {
  const json = common.get(importPath);
  if (!json) throw new Error(`${importPath}: not among protobufjs's bundled common definitions`);
  return json;
}

export function extract(gitDir: string, tag: string): TalosApiDescriptor {
  const mirror = new TalosMirror(gitDir, tag);
  const root = new Root();
  const paths: string[] = [];
  const wellKnownTypes: string[] = [];
  const queue: string[] = entryFiles.filter((path) => mirror.has(path));
  const seen = new Set<string>();
  while (queue.length > 0) {
    const path = queue.shift() as string;
    if (seen.has(path)) continue;
    seen.add(path);
    paths.push(path);
    const parsed = parse(mirror.read(path), root, { keepCase: true });
    for (const imported of parsed.imports ?? []) {
      if (imported === optionsOnlyImport) continue;
      if (imported.startsWith("google/protobuf/")) {
        if (!wellKnownTypes.includes(imported)) wellKnownTypes.push(imported);
        continue;
      }
      const found = [`api/${imported}`, `api/vendor/${imported}`].find((candidate) => mirror.has(candidate));
      if (!found) throw new Error(`${path} imports ${imported}, found neither under api/ nor api/vendor/ at ${tag}`);
      queue.push(found);
    }
  }
  for (const imported of wellKnownTypes) root.addJSON(bundledWellKnown(imported).nested ?? {});

  const nested = (prune(root.toJSON()) as INamespace).nested ?? {};
  // Self-contained: every type the descriptor names resolves within it (descriptor.proto is not needed).
  Root.fromJSON({ nested }).resolveAll();

  const licenceLine = mirror.read("LICENSE").split("\n")[0]?.trim() ?? "";
  const licence = licences[licenceLine];
  if (!licence) throw new Error(`LICENSE at ${tag} begins "${licenceLine}": not a licence this script knows`);

  return {
    provenance: {
      source: "https://github.com/siderolabs/talos",
      tag,
      commit: mirror.commit(),
      licence,
      licenceFile: "LICENSE",
      paths,
      wellKnownTypes: wellKnownTypes.map((p) => `${p} (protobufjs bundled common definitions)`),
      omitted:
        "comments; options except deprecated, packed and proto3_optional; common.proto's option extensions " +
        "(remove_deprecated_*), hence its import google/protobuf/descriptor.proto",
      fieldNames: "as upstream (protobufjs keepCase: true)",
      extractedBy: "contracts/extractTalosApi.ts",
    },
    nested,
  };
}

/** One line for a value holding no object: `{ "type": "string", "id": 1 }`, `["a", "b"]`. */
function oneLine(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(oneLine).join(", ")}]`;
  if (!isObject(value)) return JSON.stringify(value);
  const entries = Object.entries(value).map(([k, v]) => `${JSON.stringify(k)}: ${oneLine(v)}`);
  return entries.length === 0 ? "{}" : `{ ${entries.join(", ")} }`;
}

function holdsObject(value: unknown): boolean {
  return (Array.isArray(value) ? value : isObject(value) ? Object.values(value) : []).some(
    (v) => isObject(v) || (Array.isArray(v) && v.some(isObject)),
  );
}

/** 2-space JSON with each small object of plain values (a field, an enum's values) on one line: compact, still diffable. */
export function format(value: unknown, indent = ""): string {
  const line = oneLine(value);
  if (!holdsObject(value) && indent.length + line.length <= 120) return line;
  if (!isObject(value) && !Array.isArray(value)) return line;
  const inner = indent + "  ";
  if (Array.isArray(value)) return `[\n${value.map((v) => inner + format(v, inner)).join(",\n")}\n${indent}]`;
  const entries = Object.entries(value).map(([k, v]) => `${inner}${JSON.stringify(k)}: ${format(v, inner)}`);
  return `{\n${entries.join(",\n")}\n${indent}}`;
}

function main(argv: string[]): void {
  const [gitDir, tag, out] = argv;
  if (!gitDir || !tag || !out) throw new Error("usage: ts-node contracts/extractTalosApi.ts <talos bare git dir> <tag> <out.json>");
  fs.writeFileSync(out, format(extract(gitDir, tag)) + "\n");
}

if (require.main === module) main(process.argv.slice(2));
