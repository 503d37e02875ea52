import * as cloudflare from "@pulumi/cloudflare";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { ClusterConfig } from "../../stacks/load";
import { namespace } from "../bootstrap/namespaces";
import { bootstrapSecret } from "../bootstrap/secret";
import type { Credentials } from "../secrets/resolver";
import { fqdn, scopedTokenPermissions, scopedTokens, tunnelIngress, zoneScopedPolicy } from "./edge";

export interface CloudflareEdgeArgs {
  readonly config: ClusterConfig;
  readonly settings: NonNullable<ClusterConfig["cloudflare"]>;
  readonly credentials: Credentials;
  readonly kubernetes: k8s.Provider;
}

/** Secrets (and their namespaces) where cloudflared and external-dns read their tokens. */
export const edgeSecrets = {
  tunnel: { namespace: "cloudflared", name: "cloudflared-tunnel", key: "token" },
  externalDns: { namespace: "external-dns", name: "cloudflare-api-token", key: "api-token" },
} as const;

/**
 * The public edge: a named tunnel for cloudflared with its remotely managed ingress, the one proxied
 * anchor record, and two API tokens scoped to the cluster's zone with the least permission.
 */
export class CloudflareEdge extends pulumi.ComponentResource {
  /** Zone-scoped token for cert-manager's DNS-01 solver. Secret. */
  readonly dnsChallengeToken: pulumi.Output<string>;
  readonly tunnelId: pulumi.Output<string>;

  constructor(name: string, args: CloudflareEdgeArgs, opts?: pulumi.ComponentResourceOptions) {
    super("talos-gitops:cloudflare:CloudflareEdge", name, {}, opts);
    const { config, settings, credentials } = args;
    const { accountId, zoneId } = settings;
    // The rules require domain with cloudflare (stacks/rules.ts featureRules); checked again, not assumed.
    const zone = config.domain;
    if (zone === undefined) throw new Error(`${config.name}: cloudflare needs cluster.domain, the zone its records live in`);
    const provider = new cloudflare.Provider(
      `${name}-cloudflare`,
      { apiToken: credentials.require("cloudflare.apiToken") },
      { parent: this },
    );
    const cf = { parent: this, provider };

    // Generated once and kept in state, never in config.
    const tunnelSecret = new random.RandomBytes(`${name}-tunnel-secret`, { length: 32 }, { parent: this });
    const tunnel = new cloudflare.ZeroTrustTunnelCloudflared(
      `${name}-tunnel`,
      { accountId, name: settings.tunnelName, configSrc: "cloudflare", tunnelSecret: tunnelSecret.base64 },
      cf,
    );
    this.tunnelId = tunnel.id;
    new cloudflare.ZeroTrustTunnelCloudflaredConfig(
      `${name}-tunnel-config`,
      { accountId, tunnelId: tunnel.id, source: "cloudflare", config: { ingresses: tunnelIngress(settings) } },
      cf,
    );

    new cloudflare.DnsRecord(
      `${name}-anchor`,
      {
        zoneId,
        name: settings.anchor,
        type: "CNAME",
        content: pulumi.interpolate`${tunnel.id}.cfargotunnel.com`,
        proxied: true,
        ttl: 1,
        comment: `tunnel ${settings.tunnelName}; external-dns points application names here`,
      },
      cf,
    );
    settings.records.forEach((record, i) => {
      new cloudflare.DnsRecord(
        `${name}-record-${i}`,
        {
          zoneId,
          name: fqdn(record.name, zone),
          type: record.type,
          content: record.content,
          proxied: record.proxied,
          ttl: record.ttl,
        },
        cf,
      );
    });

    const groupIds = pulumi
      .all(
        scopedTokenPermissions.map(
          (permission) =>
            cloudflare.getAccountApiTokenPermissionGroupsListOutput(
              { accountId, name: encodeURIComponent(permission), scope: "com.cloudflare.api.account.zone" },
              cf,
            ).results,
        ),
      )
      .apply((lists) =>
        lists.map((results, i) => {
          const found = results[0];
          if (!found) throw new Error(`Cloudflare has no permission group named ${scopedTokenPermissions[i]}`);
          return found.id;
        }),
      );
    const tokens = new Map(
      scopedTokens(config).map(({ key, name: tokenName }) => [
        key,
        new cloudflare.AccountToken(
          tokenName,
          { accountId, name: tokenName, policies: [groupIds.apply((ids) => zoneScopedPolicy(zoneId, ids))] },
          cf,
        ).value,
      ]),
    );
    const token = (key: "dnsChallenge" | "externalDns") => {
      const value = tokens.get(key);
      if (!value) throw new Error(`internal: token ${key}`);
      return pulumi.secret(value);
    };
    this.dnsChallengeToken = token("dnsChallenge");

    // Where cloudflared and external-dns (both deployed by Flux) read their credentials.
    const kube = { parent: this, provider: args.kubernetes };
    const connectorToken = pulumi.secret(cloudflare.getZeroTrustTunnelCloudflaredTokenOutput({ accountId, tunnelId: tunnel.id }, cf).token);
    for (const [secret, value] of [
      [edgeSecrets.tunnel, connectorToken],
      [edgeSecrets.externalDns, token("externalDns")],
    ] as const) {
      const ns = namespace(secret.namespace, kube);
      bootstrapSecret(
        `${secret.namespace}-${secret.name}`,
        { name: secret.name, namespace: secret.namespace },
        { [secret.key]: value },
        { ...kube, dependsOn: [ns] },
      );
    }
    this.registerOutputs({ tunnelId: this.tunnelId });
  }
}
