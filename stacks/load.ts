import type { z } from "zod";
import { defaults } from "./defaults";
import { formatPath, StackConfigError, type ConfigIssue, type PathSegment } from "./errors";
import { placeholderIssues } from "./placeholders";
import { clusterRuleIssues } from "./rules";
import { clusterSchema, type ParsedCluster } from "./schema";
import { versions } from "./versions";

/** A validated cluster with every derived default filled in: what the components build from. */
export type ClusterConfig = Omit<ParsedCluster, "talos" | "flux" | "cloudflare" | "onePassword"> & {
  readonly talos: ParsedCluster["talos"] & { version: string; kubernetesVersion: string };
  readonly flux: ParsedCluster["flux"] & { path: string };
  /** With cloudflare, `domain` is always set (stacks/rules.ts featureRules). */
  readonly cloudflare?: NonNullable<ParsedCluster["cloudflare"]> & { tunnelName: string; anchor: string; ingressHostname: string };
  readonly onePassword?: { writeBack: NonNullable<ParsedCluster["onePassword"]>["writeBack"] & { item: string } };
};

/** What the stack's top-level config says about a key named by a `config:<key>` credential. */
export type ConfigKeyState = "secret" | "plaintext" | "missing";

export interface StackSource {
  /** The stack file, for messages: `Pulumi.<stack>.yaml`. */
  readonly file: string;
  /** The value of `<project>:cluster`, as read from config. */
  readonly raw: unknown;
  /** Looks up a top-level config key of the same stack (for `config:<key>` credentials). */
  readonly configKey: (key: string) => ConfigKeyState;
  /** The line of a value in the stack file by its path from the config key (`["cluster", "id"]`), when the file is at hand. */
  readonly lineOf?: (path: readonly PathSegment[]) => number | undefined;
}

/**
 * Validates one stack's cluster config: shape first (all problems at once), then the cross-field
 * rules (all at once). Throws StackConfigError naming the file and key path of each problem.
 */
export function parseClusterConfig(source: StackSource): ClusterConfig {
  const where = (path: readonly PathSegment[]) => formatPath([defaults.configKey, ...path]);
  if (source.raw === undefined) {
    throw new StackConfigError([
      { file: source.file, path: defaults.configKey, message: "is missing: every stack needs its cluster description" },
    ]);
  }
  const placeholders = placeholderIssues(source.raw);
  if (placeholders.length > 0)
    throw new StackConfigError(
      placeholders.map((i) => ({
        file: source.file,
        line: source.lineOf?.([defaults.configKey, ...i.path]),
        path: where(i.path),
        message: i.message,
      })),
    );
  const parsed = clusterSchema.safeParse(source.raw);
  if (!parsed.success) {
    throw new StackConfigError(
      parsed.error.issues.map((issue) => ({
        file: source.file,
        line: source.lineOf?.([defaults.configKey, ...(issue.path as PathSegment[])]),
        path: where(issue.path as PathSegment[]),
        message: describeZodIssue(issue),
      })),
    );
  }
  const issues: ConfigIssue[] = [
    ...clusterRuleIssues(parsed.data).map((i) => ({ file: source.file, path: where(i.path), message: i.message })),
    ...configReferenceIssues(parsed.data, source).map((i) => ({ file: source.file, path: where(i.path), message: i.message })),
  ];
  if (issues.length > 0) throw new StackConfigError(issues);
  return withDerivedDefaults(parsed.data);
}

function describeZodIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "unrecognized_keys":
      return `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.map((k) => `'${k}'`).join(", ")} (check the spelling against stacks/stack.schema.json)`;
    case "invalid_type": {
      // zod does not keep the input (it could be a credential); its message names the received type.
      const received = /received (\w+)/.exec(issue.message)?.[1];
      if (received === "undefined") return `is required (${issue.expected})`;
      const hint = issue.expected === "string" && received === "number" ? "; quote it in YAML" : "";
      return `must be ${issue.expected}, not ${received ?? "this type"}${hint}`;
    }
    case "too_small":
      return issue.origin === "array"
        ? `needs at least ${issue.minimum} entr${issue.minimum === 1 ? "y" : "ies"}`
        : `must be at least ${issue.minimum}`;
    case "too_big":
      return issue.origin === "array" ? `takes at most ${issue.maximum} entries` : `must be at most ${issue.maximum}`;
    case "invalid_value":
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")}`;
    case "invalid_union":
      return "matches none of the allowed forms (see stacks/stack.schema.json)";
    default:
      return issue.message;
  }
}

/** `config:<key>` credentials must name a top-level key of this stack that holds a `secure:` value. */
function configReferenceIssues(cluster: ParsedCluster, source: StackSource): Array<{ path: PathSegment[]; message: string }> {
  return credentialFields(cluster).flatMap(({ path, ref }) => {
    if (!ref.startsWith("config:")) return [];
    const key = ref.slice("config:".length);
    const state = source.configKey(key);
    if (state === "missing")
      return [{ path, message: `names config key '${key}', which this stack does not set (pulumi config set --secret ${key} ...)` }];
    if (state === "plaintext")
      return [{ path, message: `names config key '${key}', which is not a secure: value (pulumi config set --secret ${key} ...)` }];
    return [];
  });
}

/** Every credential reference in a cluster, with its key path. The one list the resolver and the checks share. */
export function credentialFields(
  cluster: Pick<ParsedCluster, "externalSecrets" | "flux" | "cloudflare">,
): Array<{ path: PathSegment[]; ref: string }> {
  return [
    ...(cluster.externalSecrets?.enabled
      ? [{ path: ["externalSecrets", "serviceAccountToken"], ref: cluster.externalSecrets.serviceAccountToken }]
      : []),
    { path: ["flux", "auth", "privateKey"], ref: cluster.flux.auth.privateKey },
    ...(cluster.cloudflare ? [{ path: ["cloudflare", "apiToken"], ref: cluster.cloudflare.apiToken }] : []),
  ];
}

function withDerivedDefaults(cluster: ParsedCluster): ClusterConfig {
  const zone = cluster.domain;
  return {
    ...cluster,
    talos: {
      ...cluster.talos,
      version: cluster.talos.version ?? versions.talos,
      kubernetesVersion: cluster.talos.kubernetesVersion ?? versions.kubernetes,
    },
    flux: { ...cluster.flux, path: cluster.flux.path ?? defaults.fluxPath(cluster.name) },
    // Never undefined with cloudflare set: featureRules (stacks/rules.ts) refuses that before this runs.
    cloudflare:
      cluster.cloudflare && zone !== undefined
        ? {
            ...cluster.cloudflare,
            tunnelName: cluster.cloudflare.tunnelName ?? defaults.tunnelName(cluster.name),
            anchor: cluster.cloudflare.anchor ?? defaults.anchor(zone),
            ingressHostname: cluster.cloudflare.ingressHostname ?? defaults.ingressHostname(zone),
          }
        : undefined,
    onePassword: cluster.onePassword && {
      writeBack: { ...cluster.onePassword.writeBack, item: cluster.onePassword.writeBack.item ?? defaults.writeBackItem(cluster.name) },
    },
  };
}
