import type { ClusterConfig } from "../../stacks/load";

/** The in-cluster Gateway the tunnel forwards to (Cilium's Gateway API Service for `external`). */
export const externalGatewayService = "https://cilium-gateway-external.kube-system.svc.cluster.local:443";

/** Names as Cloudflare stores them: fully qualified, no trailing dot (a bare label diffs after refresh). */
export function fqdn(name: string, domain: string): string {
  const bare = name.replace(/\.$/, "");
  return bare === "@" ? domain : bare === domain || bare.endsWith(`.${domain}`) ? bare : `${bare}.${domain}`;
}

/** Remotely managed ingress: the cluster's names to the external Gateway, then a catch-all 404. */
export interface TunnelIngressRule {
  hostname?: string;
  service: string;
  originRequest?: { originServerName: string; http2Origin: boolean };
}

export function tunnelIngress(settings: { ingressHostname: string; anchor: string }): TunnelIngressRule[] {
  return [
    {
      hostname: settings.ingressHostname,
      service: externalGatewayService,
      originRequest: { originServerName: settings.anchor, http2Origin: true },
    },
    { service: "http_status:404" },
  ];
}

/** The permission groups each in-cluster token needs: read the zone, edit its DNS records. */
export const scopedTokenPermissions = ["Zone Read", "DNS Write"] as const;

/** One policy allowing the given permission groups on this one zone, and nothing account-wide. */
export function zoneScopedPolicy(
  zoneId: string,
  permissionGroupIds: string[],
): { effect: "allow"; permissionGroups: Array<{ id: string }>; resources: string } {
  return {
    effect: "allow",
    permissionGroups: permissionGroupIds.map((id) => ({ id })),
    resources: JSON.stringify({ [`com.cloudflare.api.account.zone.${zoneId}`]: "*" }),
  };
}

/** The scoped tokens this program creates, and where each is delivered. */
export function scopedTokens(cluster: ClusterConfig): Array<{ key: "dnsChallenge" | "externalDns"; name: string }> {
  return [
    { key: "dnsChallenge", name: `${cluster.name}-cert-manager-dns01` },
    { key: "externalDns", name: `${cluster.name}-external-dns` },
  ];
}
