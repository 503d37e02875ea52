import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { defaults } from "./defaults";
import { formatPath, StackConfigError, type PathSegment } from "./errors";
import { parseClusterConfig, type ClusterConfig } from "./load";
import { parseYamlSource } from "./yamlSource";

/** A `Pulumi.<stack>.yaml` read from disk, `secure:` values left encrypted. */
export interface StackFile {
  readonly stack: string;
  readonly file: string;
  readonly project: string;
  /** Config values by short key (without the `<project>:` namespace). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Short keys whose value is a `secure:` ciphertext. */
  readonly secureKeys: ReadonlySet<string>;
  /** The line of a config value by its path from the short key (`["cluster", "nodes", 0, "ip"]`), for messages. */
  readonly lineOf: (path: readonly PathSegment[]) => number | undefined;
}

export function projectName(projectDir: string): string {
  const doc = parseYaml(fs.readFileSync(path.join(projectDir, "Pulumi.yaml"), "utf8")) as { name?: unknown };
  if (typeof doc?.name !== "string") throw new Error(`${path.join(projectDir, "Pulumi.yaml")}: name is missing`);
  return doc.name;
}

/** Stack names that have a `Pulumi.<stack>.yaml` in the project, sorted. */
export function listStacks(projectDir: string): string[] {
  return fs
    .readdirSync(projectDir)
    .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/**
 * Reads `Pulumi.<stack>.yaml`. A file the YAML parser rejects (a repeated key, a tab used for
 * indentation, a broken flow collection) or whose `config` is not a mapping is a StackConfigError
 * naming file, line and key, like any other configuration mistake.
 */
export function readStackFile(projectDir: string, stack: string): StackFile {
  const project = projectName(projectDir);
  const file = `Pulumi.${stack}.yaml`;
  const source = parseYamlSource(fs.readFileSync(path.join(projectDir, file), "utf8"));
  const shortPath = (yamlPath: readonly PathSegment[]): string => {
    const [top, key, ...rest] = yamlPath;
    if (top !== "config" || typeof key !== "string") return formatPath(yamlPath);
    return formatPath([key.startsWith(`${project}:`) ? key.slice(project.length + 1) : key, ...rest]);
  };
  if (source.errors.length > 0) {
    throw new StackConfigError(source.errors.map((e) => ({ file, line: e.line, path: shortPath(e.path), message: e.message })));
  }
  const doc = source.value;
  const rawConfig = isMapping(doc) ? doc.config : undefined;
  if (doc !== null && doc !== undefined && (!isMapping(doc) || (rawConfig !== undefined && rawConfig !== null && !isMapping(rawConfig)))) {
    const where = isMapping(doc) ? ["config"] : [];
    throw new StackConfigError([
      {
        file,
        line: source.lineOf(where) ?? 1,
        path: where.join("."),
        message: "must be a mapping of config keys (see Pulumi.yaml's stack files)",
      },
    ]);
  }
  const config: Record<string, unknown> = {};
  const secureKeys = new Set<string>();
  const fullKeys = new Map<string, string>();
  for (const [fullKey, value] of Object.entries(isMapping(rawConfig) ? rawConfig : {})) {
    const key = fullKey.startsWith(`${project}:`) ? fullKey.slice(project.length + 1) : fullKey;
    config[key] = value;
    fullKeys.set(key, fullKey);
    if (isSecure(value)) secureKeys.add(key);
  }
  const lineOf = ([key, ...rest]: readonly PathSegment[]) =>
    typeof key === "string" && fullKeys.has(key) ? source.lineOf(["config", fullKeys.get(key)!, ...rest]) : undefined;
  return { stack, file, project, config, secureKeys, lineOf };
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function isSecure(value: unknown): value is { secure: string } {
  return typeof value === "object" && value !== null && typeof (value as { secure?: unknown }).secure === "string";
}

export function containsSecure(value: unknown): boolean {
  if (isSecure(value)) return true;
  if (Array.isArray(value)) return value.some(containsSecure);
  if (typeof value === "object" && value !== null) return Object.values(value).some(containsSecure);
  return false;
}

/** Validates a stack file as the program would, without the Pulumi runtime (tests, plan, cross-stack check). */
export function clusterFromStackFile(stackFile: StackFile): ClusterConfig {
  const raw = stackFile.config[defaults.configKey];
  if (containsSecure(raw)) {
    throw new StackConfigError([{ file: stackFile.file, path: defaults.configKey, message: nestedSecureMessage }]);
  }
  return parseClusterConfig({
    file: stackFile.file,
    raw,
    configKey: (key) => (stackFile.secureKeys.has(key) ? "secret" : key in stackFile.config ? "plaintext" : "missing"),
    lineOf: stackFile.lineOf,
  });
}

/** A secure: value nested in the cluster object would make Pulumi treat the whole object as one secret. */
export const nestedSecureMessage =
  "holds a secure: value; keep the cluster description plain and put each credential in a top-level secure: key referenced as config:<key>";
