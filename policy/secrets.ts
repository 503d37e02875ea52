import type { ResourceValidationPolicy } from "@pulumi/policy";
import { factsSchema, type FactsConfig } from "./facts";
import { get, stringLeaves, type Props } from "./values";

/**
 * Key names that hold credentials when their value is a literal string. Not `existingSecret` (charts'
 * key for the name of a Secret to read): that is a reference, the very thing the rule asks for.
 */
const credentialKey = /(?<!existing)(password|passwd|token|secret|privateKey|apiKey|accessKey|secretKey|clientKey)$/i;

export const onlyBootstrapSecrets: ResourceValidationPolicy = {
  name: "secrets-allow-listed",
  description: "The program writes only the allow-listed bootstrap Secrets; everything else comes through ExternalSecret from 1Password.",
  enforcementLevel: "mandatory",
  configSchema: factsSchema,
  validateResource: (args, report) => {
    if (args.type !== "kubernetes:core/v1:Secret") return;
    const { facts } = args.getConfig<FactsConfig>();
    const id = `${get(args.props, "metadata.namespace") ?? "default"}/${get(args.props, "metadata.name") ?? args.name}`;
    if (!facts.allowedSecrets.includes(id))
      report(`Secret ${id} is not a bootstrap Secret; deliver it with an ExternalSecret from the 1Password store`);
  },
};

export const externalSecretsUseOnePassword: ResourceValidationPolicy = {
  name: "external-secrets-store",
  description: "ExternalSecrets read the 1Password ClusterSecretStore, never an inline or namespaced store outside the allow-list.",
  enforcementLevel: "mandatory",
  configSchema: factsSchema,
  validateResource: (args, report) => {
    if (!/^kubernetes:external-secrets\.io\/v1(beta1)?:ExternalSecret$/.test(args.type)) return;
    const { facts } = args.getConfig<FactsConfig>();
    const ref = (get(args.props, "spec.secretStoreRef") ?? {}) as Props;
    if (ref.kind !== "ClusterSecretStore" || !facts.allowedStores.includes(String(ref.name))) {
      report(
        `ExternalSecret must use a ClusterSecretStore from ${facts.allowedStores.join(", ")} (got ${String(ref.kind ?? "SecretStore")}/${String(ref.name)})`,
      );
    }
  },
};

export const noCredentialLiterals: ResourceValidationPolicy = {
  name: "no-credential-literals",
  description: "Helm values and ConfigMaps carry no credential-looking literal (password/token/secret/key fields with a string value).",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    const where =
      args.type === "kubernetes:helm.sh/v3:Release"
        ? args.props.values
        : args.type === "kubernetes:core/v1:ConfigMap"
          ? args.props.data
          : undefined;
    // Without values or data there is no string leaf. The path ends with the key's name and no key name
    // pattern holds a "." or "[", so testing the path tests the key. The rule never repeats the value it found.
    for (const [path, value] of stringLeaves(where)) {
      if (credentialKey.test(path) && value !== "") report(`${path} holds a literal credential-looking value; reference a Secret instead`);
    }
  },
};

export const cloudflareTokensZoneScoped: ResourceValidationPolicy = {
  name: "cloudflare-token-scope",
  description: "Cloudflare API tokens are scoped to the cluster's one zone with least permission, never account-wide.",
  enforcementLevel: "mandatory",
  configSchema: factsSchema,
  validateResource: (args, report) => {
    if (args.type !== "cloudflare:index/accountToken:AccountToken" && args.type !== "cloudflare:index/apiToken:ApiToken") return;
    const { facts } = args.getConfig<FactsConfig>();
    const zone = facts.zoneId ?? "(none configured)";
    for (const policy of (args.props.policies as Props[] | undefined) ?? []) {
      // The provider types `resources` as a JSON string (@pulumi/cloudflare 6.22.1 types/input.d.ts
      // `ApiTokenPolicy`, `AccountTokenPolicy`). A null property and the JSON text "null" both parse
      // to null here (String(null) is "null"): a policy scoped to nothing, reported, not a crash.
      let resources: unknown;
      try {
        resources = JSON.parse(String(policy.resources));
      } catch {
        // not JSON: left undefined, reported below as no JSON object
      }
      if (resources === null) {
        report(`token policy names no resources (null): it must be scoped to exactly the zone ${zone}`);
        continue;
      }
      if (typeof resources !== "object" || Array.isArray(resources)) {
        report("token policy resources are not a JSON object");
        continue;
      }
      const keys = Object.keys(resources);
      const zoneKey = `com.cloudflare.api.account.zone.${facts.zoneId}`;
      if (keys.length !== 1 || keys[0] !== zoneKey)
        report(`token must be scoped to exactly the zone ${zone}, not ${keys.join(", ") || "nothing"}`);
      if (JSON.stringify(resources).includes("zone.*")) report("token must not cover every zone of the account");
      const groups = (policy.permissionGroups as Props[] | undefined) ?? [];
      if (groups.length === 0 || groups.length > 2)
        report(`token carries ${groups.length} permission groups; least privilege is Zone Read + DNS Write`);
    }
  },
};

const sopsMarkers = [/ENC\[AES256_GCM,/, /AGE-SECRET-KEY-1/, /^sops:/m, /"sops":\s*\{/];

export const noSops: ResourceValidationPolicy = {
  name: "no-sops",
  description: "No SOPS-encrypted payload or age key is shipped: this platform keeps secrets in 1Password only.",
  enforcementLevel: "mandatory",
  validateResource: (args, report) => {
    for (const [path, value] of stringLeaves(args.props)) {
      if (sopsMarkers.some((m) => m.test(value))) report(`${path || "a value"} contains SOPS or age material`);
    }
    if (get(args.props, "sops") !== undefined) report("the resource carries SOPS metadata");
  },
};

export const secretPolicies = [
  onlyBootstrapSecrets,
  externalSecretsUseOnePassword,
  noCredentialLiterals,
  cloudflareTokensZoneScoped,
  noSops,
];
