import { defaults } from "./defaults";
import { StackConfigError, type ConfigIssue } from "./errors";
import { overlaps } from "../lib/ipv4";
import type { ClusterConfig } from "./load";
import { meshIssues, meshKey, meshView, type MeshView, type StackCluster } from "./mesh";
import { clusterFromStackFile, listStacks, readStackFile } from "./stackFile";
import { claimedRanges } from "./rules";

/**
 * Rules across all stacks of the project: ClusterMesh joins the clusters, so names, ids, pod and
 * service CIDRs, LoadBalancer pools, VIPs and node addresses must not collide between them; in a
 * shared Cloudflare zone, neither may tunnels, anchors and ingress names. The ClusterMesh membership
 * rules (stacks/mesh.ts) run on the same set.
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
  return [...issues, ...meshIssues(stacks)];
}

/**
 * The mesh of the stack being deployed, read from the project's stack files (the folder holding
 * Pulumi.yaml: `pulumi.runtime.getRootDirectory()` under `pulumi up`, the harness's project folder
 * offline). Every cross-stack rule that involves this stack runs (names, ids, CIDRs, pools, mesh
 * membership), as the offline plan runs them. The running stack's own, already validated config
 * stands in for its file. A peer file that does not validate, or a rule this stack breaks, ends the
 * run naming the files.
 */
export function loadMesh(self: StackCluster, projectDir: string): MeshView | undefined {
  if (!self.cluster.cilium.clustermesh) return undefined;
  const issues: ConfigIssue[] = [];
  const stacks: StackCluster[] = [];
  for (const stack of listStacks(projectDir)) {
    const file = `Pulumi.${stack}.yaml`;
    if (file === self.file) {
      stacks.push(self);
      continue;
    }
    const stackFile = readStackFile(projectDir, stack);
    try {
      stacks.push({ file, cluster: clusterFromStackFile(stackFile) });
    } catch (e) {
      // Only a file this mesh needs may stop the run: one whose cluster is a peer.
      const name = (stackFile.config[defaults.configKey] as { name?: unknown } | undefined)?.name;
      if (typeof name === "string" && self.cluster.cilium.clustermesh.peers.includes(name)) {
        const first = StackConfigError.isInstance(e) ? e.issues[0] : undefined;
        const why = first ? `${first.path}: ${first.message}` : e instanceof Error ? e.message : String(e);
        issues.push({
          file: self.file,
          path: meshKey,
          message: `peer ${name}'s stack file does not validate (${why}), so its mesh settings cannot be read (${file})`,
        });
      }
    }
  }
  if (!stacks.includes(self)) stacks.push(self);
  issues.push(...crossStackIssues(stacks).filter((i) => i.file === self.file || i.message.endsWith(`(${self.file})`)));
  if (issues.length > 0) throw new StackConfigError(issues, "invalid ClusterMesh configuration");
  return meshView(self, stacks);
}
