import type { ConfigIssue } from "./errors";
import { overlaps } from "./ipv4";
import type { ClusterConfig } from "./load";
import { claimedRanges } from "./rules";

/**
 * Rules across all stacks of the project: ClusterMesh joins the clusters, so names, ids, pod and
 * service CIDRs, LoadBalancer pools, VIPs and node addresses must not collide between them; in a
 * shared Cloudflare zone, neither may tunnels, anchors and ingress names.
 */
export function crossStackIssues(stacks: ReadonlyArray<{ file: string; cluster: ClusterConfig }>): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  stacks.forEach((a, i) =>
    stacks.slice(i + 1).forEach((b) => {
      const clash = (path: string, message: string) =>
        issues.push({ file: b.file, path: `cluster.${path}`, message: `${message} (${a.file})` });
      if (a.cluster.name === b.cluster.name) clash("name", `${b.cluster.name} is already the name of another cluster`);
      if (a.cluster.id === b.cluster.id) clash("id", `${b.cluster.id} is already the id of cluster ${a.cluster.name}`);
      const [cfA, cfB] = [a.cluster.cloudflare, b.cluster.cloudflare];
      if (cfA && cfB && cfA.zoneId === cfB.zoneId) {
        // Two clusters in one zone: each needs its own tunnel, anchor record and ingress names.
        if (cfA.tunnelName === cfB.tunnelName)
          clash("cloudflare.tunnelName", `tunnel ${cfB.tunnelName} is already cluster ${a.cluster.name}'s`);
        if (cfA.anchor === cfB.anchor)
          clash("cloudflare.anchor", `${cfB.anchor} is already cluster ${a.cluster.name}'s anchor in the same zone`);
        if (cfA.ingressHostname === cfB.ingressHostname)
          clash("cloudflare.ingressHostname", `${cfB.ingressHostname} is already routed to cluster ${a.cluster.name}'s tunnel`);
      }
      const claimsA = claimedRanges(a.cluster);
      for (const claim of claimedRanges(b.cluster)) {
        const other = claimsA.find((c) => overlaps(c.range, claim.range));
        if (other) clash(claim.path, `${claim.what} overlaps ${other.what} of cluster ${a.cluster.name}`);
      }
    }),
  );
  return issues;
}
