import { overlaps, valueAt } from "./inputDiff";
import { UNKNOWN } from "../record/wire";
import type { Json } from "../record/wire";

/**
 * Which input changes make a provider replace a resource rather than update it, for the resource
 * types this program registers. Read from the providers' own source at the versions this project
 * pins (package.json; stacks/versions.ts for the Talos plugin):
 *
 * | type                                          | replaced when changed                    | source |
 * | --------------------------------------------- | ---------------------------------------- | ------ |
 * | talos:machine/secrets:Secrets                 | talosVersion, only when lowered          | siderolabs/terraform-provider-talos v0.11.0 (bridged by pulumiverse/pulumi-talos v0.8.1): pkg/talos/talos_machine_secrets_resource.go, talosMachineFeaturesVersionPlanModifier |
 * | talos:machine/configurationApply:…            | nothing (node, endpoint, patches update) | pkg/talos/talos_machine_configuration_apply_resource.go (no RequiresReplace) |
 * | talos:machine/bootstrap:Bootstrap             | nothing (Update only stores state)       | pkg/talos/talos_machine_bootstrap_resource.go |
 * | talos:cluster/kubeconfig:Kubeconfig           | nothing                                  | pkg/talos/talos_cluster_kubeconfig_resource.go |
 * | talos:imageFactory/schematic:Schematic        | nothing; its id changes in place, which Pulumi does not see (below) | pkg/talos/talos_image_factory_schematic_resource.go |
 * | cloudflare:…/zeroTrustTunnelCloudflared       | accountId, configSrc                     | cloudflare/terraform-provider-cloudflare v5.x internal/services/zero_trust_tunnel_cloudflared/schema.go |
 * | cloudflare:…/zeroTrustTunnelCloudflaredConfig | accountId, tunnelId                      | internal/services/zero_trust_tunnel_cloudflared_config/schema.go |
 * | cloudflare:index/dnsRecord:DnsRecord          | zoneId, type                             | internal/services/dns_record/schema.go |
 * | cloudflare:index/accountToken:AccountToken    | accountId                                | internal/services/account_token/schema.go |
 * | random:index/randomBytes:RandomBytes          | length, keepers                          | hashicorp/terraform-provider-random internal/provider/resource_bytes.go |
 * | kubernetes:* objects                          | metadata.name, metadata.namespace        | pulumi/pulumi-kubernetes provider/pkg/provider/provider.go (Diff) and diff.go |
 * | kubernetes:core/v1:Secret                     | + type; + data, stringData (enableSecretMutable unset, or immutable) | diff.go forceNewProperties, diff_test.go (type replaces even when mutable) |
 * | kubernetes:core/v1:ConfigMap                  | + data, binaryData (enableConfigMapMutable unset)    | diff.go forceNewProperties |
 * | kubernetes:core/v1:Service                    | + spec.clusterIP                         | diff.go |
 * | kubernetes:helm.sh/v3:Release                 | name, namespace                          | provider/pkg/provider/helm_release.go (Diff, forceNewFields) |
 * | tls:index/privateKey:PrivateKey               | algorithm, rsaBits, ecdsaCurve (every input) | hashicorp/terraform-provider-tls v4 (bridged by @pulumi/tls 5.6.1): internal/provider/resource_private_key.go, RequiresReplace on each attribute |
 * | tls:index/selfSignedCert:SelfSignedCert       | privateKeyPem, subject, validityPeriodHours, allowedUses, isCaCertificate, setSubjectKeyId, setAuthorityKeyId, dnsNames, ipAddresses, uris | internal/provider/resource_self_signed_cert.go |
 * | tls:index/certRequest:CertRequest             | privateKeyPem, subject, dnsNames, ipAddresses, uris (every input) | internal/provider/resource_cert_request.go |
 * | tls:index/locallySignedCert:LocallySignedCert | every input; and on the first plan within earlyRenewalHours of its end (not modelled offline) | internal/provider/resource_locally_signed_cert.go, common_cert.go modifyPlanIfCertificateReadyForRenewal |
 * | pulumi:providers:kubernetes                   | clusterIdentifier, when set before and after; nothing else once it is set | provider.go DiffConfig |
 * | pulumi-nodejs:dynamic:*                       | whatever the provider's own diff says (plan/record/dynamicProvider.ts) | pulumi/pulumi sdk/nodejs/cmd/dynamic-provider/index.ts |
 *
 * A Kubernetes object replaced under the same name and namespace is deleted before it is
 * re-created (the provider sets deleteBeforeReplace; provider.go Diff); a Helm release is not
 * (helm_release.go returns false). Pulumi keeps a resource's id on update (pulumi/pulumi
 * pkg/resource/deploy/step.go, UpdateStep.Apply), which is why the Schematic needs
 * `replaceOnChanges` to pass a new schematic id on.
 */
export interface RuleContext {
  readonly old: Json;
  readonly next: Json;
  /** Inputs of the resource's explicit provider, when it has one. */
  readonly providerInputs?: Json;
}

interface ReplaceRule {
  readonly applies: (type: string) => boolean;
  /** Input paths whose change replaces the resource, given the two sides. */
  readonly triggers: (ctx: RuleContext) => readonly string[];
  readonly deleteBeforeReplace?: (ctx: RuleContext) => boolean;
  /** Who replaces, as the report says it. */
  readonly provider: string;
}

const is =
  (...types: string[]) =>
  (type: string) =>
    types.includes(type);
const always =
  (...paths: string[]) =>
  () =>
    paths;

/** `v1.11.6` vs `v1.10` as the Talos provider compares them (semver, `v` optional). */
function lowered(before: Json | undefined, after: Json | undefined): boolean {
  const parts = (v: Json | undefined) =>
    String(v ?? "")
      .replace(/^v/, "")
      .split(".")
      .map((p) => Number.parseInt(p, 10) || 0);
  const [a, b] = [parts(before), parts(after)];
  for (let i = 0; i < 3; i++) if ((b[i] ?? 0) !== (a[i] ?? 0)) return (b[i] ?? 0) < (a[i] ?? 0);
  return false;
}

const isKubernetesObject = (type: string) =>
  type.startsWith("kubernetes:") && !type.startsWith("kubernetes:helm.sh/") && !type.startsWith("kubernetes:yaml/");

const rules: readonly ReplaceRule[] = [
  {
    applies: is("talos:machine/secrets:Secrets"),
    triggers: ({ old, next }) => (lowered(valueAt(old, "talosVersion"), valueAt(next, "talosVersion")) ? ["talosVersion"] : []),
    provider: "talos",
  },
  {
    applies: is("cloudflare:index/zeroTrustTunnelCloudflared:ZeroTrustTunnelCloudflared"),
    triggers: always("accountId", "configSrc"),
    provider: "cloudflare",
  },
  {
    applies: is("cloudflare:index/zeroTrustTunnelCloudflaredConfig:ZeroTrustTunnelCloudflaredConfig"),
    triggers: always("accountId", "tunnelId"),
    provider: "cloudflare",
  },
  { applies: is("cloudflare:index/dnsRecord:DnsRecord"), triggers: always("zoneId", "type"), provider: "cloudflare" },
  { applies: is("cloudflare:index/accountToken:AccountToken"), triggers: always("accountId"), provider: "cloudflare" },
  { applies: is("random:index/randomBytes:RandomBytes"), triggers: always("length", "keepers"), provider: "random" },
  { applies: is("tls:index/privateKey:PrivateKey"), triggers: always("algorithm", "rsaBits", "ecdsaCurve"), provider: "tls" },
  {
    applies: is("tls:index/selfSignedCert:SelfSignedCert"),
    triggers: always(
      "privateKeyPem",
      "subject",
      "validityPeriodHours",
      "allowedUses",
      "isCaCertificate",
      "setSubjectKeyId",
      "setAuthorityKeyId",
      "dnsNames",
      "ipAddresses",
      "uris",
    ),
    provider: "tls",
  },
  {
    applies: is("tls:index/certRequest:CertRequest"),
    triggers: always("privateKeyPem", "subject", "dnsNames", "ipAddresses", "uris"),
    provider: "tls",
  },
  {
    applies: is("tls:index/locallySignedCert:LocallySignedCert"),
    triggers: always(
      "certRequestPem",
      "caCertPem",
      "caPrivateKeyPem",
      "validityPeriodHours",
      "allowedUses",
      "isCaCertificate",
      "maxPathLength",
      "setSubjectKeyId",
    ),
    provider: "tls",
  },
  {
    applies: isKubernetesObject,
    triggers: ({ next, providerInputs }) => {
      const kind = valueAt(next, "kind");
      const immutable = valueAt(next, "immutable") === true;
      // The SDK sends provider inputs JSON-encoded (@pulumi/kubernetes provider.js: `.apply(JSON.stringify)`) and
      // the provider compares the string (provider.go Configure: `enabled == trueStr`).
      const flag = (name: string) => providerInputs !== undefined && [true, "true"].some((on) => valueAt(providerInputs, name) === on);
      const extra =
        kind === "Secret"
          ? immutable || !flag("enableSecretMutable")
            ? ["type", "data", "stringData"]
            : ["type"]
          : kind === "ConfigMap" && (immutable || !flag("enableConfigMapMutable"))
            ? ["data", "binaryData"]
            : kind === "Service"
              ? ["spec.clusterIP"]
              : [];
      return ["metadata.name", "metadata.namespace", ...extra];
    },
    deleteBeforeReplace: ({ old, next }) =>
      valueAt(old, "metadata.name") === valueAt(next, "metadata.name") &&
      valueAt(old, "metadata.namespace") === valueAt(next, "metadata.namespace"),
    provider: "kubernetes",
  },
  { applies: is("kubernetes:helm.sh/v3:Release"), triggers: always("name", "namespace"), provider: "kubernetes (Helm)" },
  {
    applies: is("pulumi:providers:kubernetes"),
    // provider.go DiffConfig: a changed identifier replaces; an identifier set and unchanged clears every
    // replacement (its deferred `resp.Replaces = nil`), an unknown kubeconfig's included; otherwise (none,
    // or one added or removed) a kubeconfig, context or cluster unknown during a preview replaces (the provider cannot tell the
    // cluster), and a known one replaces when its active cluster changes, which offline cannot read:
    // assumed to stay (this program always sets the identifier).
    triggers: ({ old, next }) => {
      const before = valueAt(old, "clusterIdentifier");
      const after = valueAt(next, "clusterIdentifier");
      const set = (v: Json | undefined) => v !== undefined && v !== null;
      if (set(after) && before === after) return [];
      const unknown = ["kubeconfig", "context", "cluster"].filter((key) => valueAt(next, key) === UNKNOWN);
      return set(before) && set(after) ? ["clusterIdentifier", ...unknown] : unknown;
    },
    provider: "kubernetes",
  },
];

export interface ProviderVerdict {
  /** Changed paths the provider replaces on; empty when it updates in place. */
  readonly replaceOn: readonly string[];
  readonly deleteBeforeReplace: boolean;
  readonly provider?: string;
}

/** What the resource's provider does with these changed paths. */
export function providerVerdict(type: string, changed: readonly string[], ctx: RuleContext): ProviderVerdict {
  const rule = rules.find((r) => r.applies(type));
  if (!rule) return { replaceOn: [], deleteBeforeReplace: false };
  const triggers = rule.triggers(ctx);
  const replaceOn = changed.filter((path) => triggers.some((t) => overlaps(t, path)));
  return {
    replaceOn,
    deleteBeforeReplace: replaceOn.length > 0 && (rule.deleteBeforeReplace?.(ctx) ?? false),
    provider: rule.provider,
  };
}
