import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { defaults } from "./defaults";
import { StackConfigError } from "./errors";
import { parseClusterConfig, type ClusterConfig } from "./load";

/** A `Pulumi.<stack>.yaml` read from disk, `secure:` values left encrypted. */
export interface StackFile {
  readonly stack: string;
  readonly file: string;
  readonly project: string;
  /** Config values by short key (without the `<project>:` namespace). */
  readonly config: Readonly<Record<string, unknown>>;
  /** Short keys whose value is a `secure:` ciphertext. */
  readonly secureKeys: ReadonlySet<string>;
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

export function readStackFile(projectDir: string, stack: string): StackFile {
  const project = projectName(projectDir);
  const file = `Pulumi.${stack}.yaml`;
  const doc = parseYaml(fs.readFileSync(path.join(projectDir, file), "utf8")) as { config?: Record<string, unknown> } | null;
  const config: Record<string, unknown> = {};
  const secureKeys = new Set<string>();
  for (const [fullKey, value] of Object.entries(doc?.config ?? {})) {
    const key = fullKey.startsWith(`${project}:`) ? fullKey.slice(project.length + 1) : fullKey;
    config[key] = value;
    if (isSecure(value)) secureKeys.add(key);
  }
  return { stack, file, project, config, secureKeys };
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
  });
}

/** A secure: value nested in the cluster object would make Pulumi treat the whole object as one secret. */
export const nestedSecureMessage =
  "holds a secure: value; keep the cluster description plain and put each credential in a top-level secure: key referenced as config:<key>";
