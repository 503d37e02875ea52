import * as pulumi from "@pulumi/pulumi";
import { defaults } from "../../stacks/defaults";
import { formatPath, StackConfigError, type ConfigIssue } from "../../stacks/errors";
import { credentialFields, type ClusterConfig } from "../../stacks/load";
import type { OnePasswordClientFactory } from "./onePassword";

/** Environment variable and config key that carry the 1Password service-account token. */
export const tokenSources = { env: "OP_SERVICE_ACCOUNT_TOKEN", configKey: "onePasswordToken" } as const;

/** Every credential of a stack, resolved, each a Pulumi secret from the moment it was read. */
export class Credentials {
  constructor(
    private readonly values: ReadonlyMap<string, pulumi.Output<string>>,
    /** The 1Password service-account token, when the stack needs 1Password (references or write-back). */
    readonly onePasswordToken?: pulumi.Output<string>,
  ) {}

  /** The credential at a key path below `cluster`, e.g. `flux.auth.privateKey`. */
  require(path: string): pulumi.Output<string> {
    const value = this.values.get(path);
    if (!value) throw new Error(`internal: credential ${path} was not resolved`);
    return value;
  }

  get paths(): string[] {
    return [...this.values.keys()];
  }
}

export interface ResolveOptions {
  readonly file: string;
  readonly config: pulumi.Config;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly createClient: OnePasswordClientFactory;
}

/**
 * Resolves every credential reference of the stack before any resource is registered: `op://`
 * references in one 1Password batch (the client is created only if there is one), `config:<key>`
 * references from the stack's secure config. Any failure ends the run with one message per
 * reference naming its key, never a secret value.
 */
export async function resolveCredentials(cluster: ClusterConfig, options: ResolveOptions): Promise<Credentials> {
  const fields = credentialFields(cluster).map((f) => ({ ...f, key: formatPath(f.path) }));
  const values = new Map<string, pulumi.Output<string>>();
  const where = (key: string) => `${defaults.configKey}.${key}`;
  const fail = (issues: ConfigIssue[]) => new StackConfigError(issues, "could not resolve the stack's credentials");

  for (const field of fields.filter((f) => f.ref.startsWith("config:"))) {
    values.set(field.key, options.config.requireSecret(field.ref.slice("config:".length)));
  }

  const fromOnePassword = fields.filter((f) => f.ref.startsWith("op://"));
  const writeBack = cluster.onePassword?.writeBack.enabled === true;
  if (fromOnePassword.length === 0 && !writeBack) return new Credentials(values);

  const token = options.env[tokenSources.env] || options.config.get(tokenSources.configKey);
  if (!token) {
    const needs =
      fromOnePassword.length > 0
        ? fromOnePassword
        : [{ key: "onePassword.writeBack", ref: `the write-back to vault ${cluster.onePassword?.writeBack.vault}` }];
    throw fail(
      needs.map((f) => ({
        file: options.file,
        path: where(f.key),
        message: `${f.ref} needs 1Password, but neither ${tokenSources.env} nor the secure config value ${tokenSources.configKey} is set`,
      })),
    );
  }

  const secretToken = pulumi.secret(token);
  if (fromOnePassword.length === 0) return new Credentials(values, secretToken);

  let response;
  try {
    const client = await options.createClient(token);
    response = await client.secrets.resolveAll([...new Set(fromOnePassword.map((f) => f.ref))]);
  } catch (error) {
    const reason = error instanceof Error ? error.message : typeof error === "string" ? error : "unknown error";
    throw fail([
      {
        file: options.file,
        path: where(fromOnePassword[0]!.key),
        message: `1Password could not be reached or refused the token (${reason}); references: ${fromOnePassword.map((f) => f.ref).join(", ")}`,
      },
    ]);
  }

  const issues: ConfigIssue[] = [];
  for (const field of fromOnePassword) {
    const answer = response.individualResponses[field.ref];
    if (answer?.content) values.set(field.key, pulumi.secret(answer.content.secret));
    else issues.push({ file: options.file, path: where(field.key), message: `${field.ref}: ${describeFailure(answer?.error)}` });
  }
  if (issues.length > 0) throw fail(issues);
  return new Credentials(values, secretToken);
}

function describeFailure(error: { type: string; message?: string } | undefined): string {
  if (!error) return "1Password returned no answer for this reference";
  const known: Record<string, string> = {
    vaultNotFound: "no such vault (or the service account cannot see it)",
    itemNotFound: "no such item in that vault",
    fieldNotFound: "no such field in that item",
    parsing: "the reference could not be parsed",
    tooManyVaults: "several vaults match; use the vault id",
    tooManyItems: "several items match; use the item id",
    tooManyMatchingFields: "several fields match; use the field id",
  };
  return known[error.type] ?? `1Password error ${error.type}${error.message ? `: ${error.message}` : ""}`;
}
