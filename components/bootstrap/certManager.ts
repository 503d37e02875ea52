import type { ClusterConfig } from "../../stacks/load";

export const acmeServers = {
  "letsencrypt-production": "https://acme-v02.api.letsencrypt.org/directory",
  "letsencrypt-staging": "https://acme-staging-v02.api.letsencrypt.org/directory",
} as const;

/** Secret (in cert-manager's namespace) holding the zone-scoped Cloudflare token for DNS-01. */
export const cloudflareTokenSecret = { name: "cloudflare-api-token", namespace: "cert-manager", key: "api-token" } as const;

export function certManagerValues(): Record<string, unknown> {
  return {
    crds: { enabled: true, keep: true },
    global: { leaderElection: { namespace: "cert-manager" } },
    prometheus: { enabled: true, servicemonitor: { enabled: true } },
  };
}

/** A Let's Encrypt ClusterIssuer answering DNS-01 challenges for the cluster's zone through Cloudflare. */
export function clusterIssuerSpec(cluster: ClusterConfig, issuer: keyof typeof acmeServers): Record<string, unknown> {
  // The issuers come with the Cloudflare DNS-01 token, so with cloudflare, whose zone is always set.
  const zone = cluster.domain;
  if (zone === undefined) throw new Error(`${cluster.name}: DNS-01 issuers need the cloudflare settings and their zone (cluster.domain)`);
  return {
    acme: {
      email: cluster.certManager.email,
      server: acmeServers[issuer],
      privateKeySecretRef: { name: `${issuer}-account-key` },
      solvers: [
        {
          dns01: { cloudflare: { apiTokenSecretRef: { name: cloudflareTokenSecret.name, key: cloudflareTokenSecret.key } } },
          selector: { dnsZones: [zone] },
        },
      ],
    },
  };
}
