import * as path from "path";
import type { ConfigIssue } from "./errors";
import { cidrRange, contains, hostRange, ipRange, ipToNumber, numberToIp, overlaps, type Ipv4Range } from "../lib/ipv4";
import type { ClusterConfig } from "./load";

/**
 * Cilium ClusterMesh across stack files. Each stack names its peers by cluster name
 * (`cilium.clustermesh.peers`) and the one member that owns the shared CA (`caFrom`, left out on the
 * owner). A cluster's own file is the only place its mesh address, id and pod CIDR are written: the
 * other members read them from that file (at `pulumi up` from the project folder, offline from the
 * same files), so adding a cluster changes every member's Cilium values without typing anything twice.
 */

/** The port the clustermesh-apiserver Service exposes (cilium 1.20.0 chart, clustermesh-apiserver/service.yaml: 2379). */
export const clustermeshPort = 2379;

export interface StackCluster {
  readonly file: string;
  readonly cluster: ClusterConfig;
}

export interface MeshPeer {
  readonly name: string;
  readonly id: number;
  /** The peer's stack (the `<stack>` of `Pulumi.<stack>.yaml`). */
  readonly stack: string;
  readonly file: string;
  /** The peer's `cilium.clustermeshIp`: its clustermesh-apiserver LoadBalancer address. */
  readonly address: string;
  readonly port: number;
  readonly podCidr: string;
}

/** Where this member's copy of the shared CA comes from. */
export type CaSource =
  | { readonly kind: "owner"; readonly generation: number }
  | { readonly kind: "stackReference"; readonly ownerCluster: string; readonly ownerStack: string; readonly generation: number };

/** What one member needs to know about its mesh. */
export interface MeshView {
  readonly self: string;
  /** The other members, sorted by name (stable Helm values). */
  readonly peers: readonly MeshPeer[];
  readonly ca: CaSource;
  /** The smallest CIDR covering every member's pod CIDR: Cilium's `ipv4NativeRoutingCIDR`. */
  readonly nativeRoutingCidr: string;
}

/** The stack name of a `Pulumi.<stack>.yaml`. */
export function stackOf(file: string): string {
  return /^Pulumi\.(.+)\.yaml$/.exec(path.basename(file))?.[1] ?? file;
}

/** The smallest CIDR that covers all the given ones. */
export function coveringCidr(cidrs: readonly string[]): string {
  const ranges = cidrs.map(cidrRange);
  const first = Math.min(...ranges.map((r) => r.first));
  const last = Math.max(...ranges.map((r) => r.last));
  for (let prefix = 32; prefix >= 0; prefix--) {
    const size = 2 ** (32 - prefix);
    const base = Math.floor(first / size) * size;
    if (base + size - 1 >= last) return `${numberToIp(base)}/${prefix}`;
  }
  return "0.0.0.0/0";
}

/**
 * How the cluster's LoadBalancer addresses are announced, from where its pool lies: inside the node
 * subnet, hosts on that subnet ARP for them, so Cilium answers with L2 announcements; wholly outside
 * it, only routes reach them, so BGP alone announces them. A pool across the boundary is refused by
 * the per-stack rules (stacks/rules.ts), so `undefined` never reaches the components.
 */
export function lbAnnouncement(cluster: Pick<ClusterConfig, "network" | "cilium">): "l2" | "bgp" | undefined {
  const pool = poolRange(cluster);
  if (contains(hostRange(cluster.network.nodeSubnet), pool)) return "l2";
  if (!overlaps(cidrRange(cluster.network.nodeSubnet), pool)) return "bgp";
  return undefined;
}

function poolRange(cluster: Pick<ClusterConfig, "cilium">): Ipv4Range {
  const { start, end } = cluster.cilium.loadBalancerPool;
  return ipToNumber(start) <= ipToNumber(end) ? ipRange(start, end) : ipRange(end, start);
}

export const meshKey = "cluster.cilium.clustermesh";

/**
 * The mesh rules across stack files, each problem reported in the file to change and naming the
 * other file in parentheses: peers exist, membership is symmetric, one CA owner per mesh that every
 * other member names, and a native-routing CIDR that stays clear of the node subnets. (Distinct names,
 * ids and disjoint pod CIDRs are checked for every pair of stacks by crossStack.ts.)
 */
export function meshIssues(stacks: readonly StackCluster[]): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const byName = new Map(stacks.map((s) => [s.cluster.name, s]));
  const meshed = stacks.filter((s) => s.cluster.cilium.clustermesh !== undefined);
  const known = stacks.map((s) => s.cluster.name).join(", ");

  for (const s of meshed) {
    const mesh = s.cluster.cilium.clustermesh!;
    mesh.peers.forEach((peer, i) => {
      const other = byName.get(peer);
      if (!other) {
        issues.push({
          file: s.file,
          path: `${meshKey}.peers[${i}]`,
          message: `no stack file describes a cluster named ${peer} (clusters: ${known})`,
        });
      } else if (other !== s && !(other.cluster.cilium.clustermesh?.peers ?? []).includes(s.cluster.name)) {
        issues.push({
          file: s.file,
          path: `${meshKey}.peers[${i}]`,
          message: `${peer} does not list ${s.cluster.name} in its ${meshKey}.peers: membership must be symmetric (${other.file})`,
        });
      }
    });
  }

  for (const members of meshComponents(meshed, byName)) {
    const owners = members.filter((m) => m.cluster.cilium.clustermesh!.caFrom === undefined);
    const names = members.map((m) => m.cluster.name).join(", ");
    if (owners.length === 0) {
      for (const m of members)
        issues.push({
          file: m.file,
          path: `${meshKey}.caFrom`,
          message: `the mesh ${names} has no CA owner: exactly one member must leave caFrom out and own the shared CA`,
        });
    }
    const owner = owners[0];
    for (const extra of owners.slice(1)) {
      issues.push({
        file: extra.file,
        path: `${meshKey}.caFrom`,
        message: `is left out here and on ${owner!.cluster.name}: a mesh has exactly one CA owner; set caFrom: ${owner!.cluster.name} (${owner!.file})`,
      });
    }
    if (owner) {
      for (const m of members) {
        const caFrom = m.cluster.cilium.clustermesh!.caFrom;
        if (caFrom !== undefined && caFrom !== owner.cluster.name) {
          issues.push({
            file: m.file,
            path: `${meshKey}.caFrom`,
            message: `${caFrom} is not the CA owner of this mesh; ${owner.cluster.name} owns it (${owner.file})`,
          });
        }
      }
    }
    const podCidrs = members.map((m) => m.cluster.network.podCidr);
    const routing = coveringCidr(podCidrs);
    const clash = members.find((o) => overlaps(cidrRange(routing), cidrRange(o.cluster.network.nodeSubnet)));
    for (const m of clash && members.length > 1 ? members : []) {
      const others = members.filter((o) => o !== m).map((o) => o.file);
      issues.push({
        file: m.file,
        path: "cluster.network.podCidr",
        message:
          `the mesh's pod CIDRs (${podCidrs.join(", ")}) are covered only by ${routing} (Cilium's ipv4NativeRoutingCIDR), which ` +
          `overlaps the node subnet ${clash!.cluster.network.nodeSubnet}: traffic to the nodes would no longer be masqueraded; ` +
          `renumber the pod CIDRs close together (${others.join(", ")})`,
      });
    }
  }
  return issues;
}

/** Meshed stacks grouped into meshes (connected through peers that exist), each sorted by name. */
function meshComponents(meshed: readonly StackCluster[], byName: ReadonlyMap<string, StackCluster>): StackCluster[][] {
  const seen = new Set<StackCluster>();
  const out: StackCluster[][] = [];
  for (const start of meshed) {
    if (seen.has(start)) continue;
    const members: StackCluster[] = [];
    const queue = [start];
    while (queue.length > 0) {
      const s = queue.pop()!;
      if (seen.has(s) || s.cluster.cilium.clustermesh === undefined) continue;
      seen.add(s);
      members.push(s);
      for (const peer of s.cluster.cilium.clustermesh.peers) {
        const other = byName.get(peer);
        if (other) queue.push(other);
      }
      // Clusters that list this one belong to the same mesh too, even when this one forgot them.
      for (const other of meshed) if (other.cluster.cilium.clustermesh!.peers.includes(s.cluster.name)) queue.push(other);
    }
    out.push(members.sort((a, b) => a.cluster.name.localeCompare(b.cluster.name)));
  }
  return out;
}

/** This member's view of its mesh, from a set of stacks that passed `meshIssues`. */
export function meshView(self: StackCluster, stacks: readonly StackCluster[]): MeshView | undefined {
  const mesh = self.cluster.cilium.clustermesh;
  if (!mesh) return undefined;
  const byName = new Map(stacks.map((s) => [s.cluster.name, s]));
  const peers = mesh.peers
    .map((name) => {
      const s = byName.get(name);
      // A member's clustermeshIp is required by its own rules (stacks/rules.ts featureRules).
      if (!s || s.cluster.cilium.clustermeshIp === undefined) throw new Error(`internal: mesh peer ${name} was not validated`);
      return {
        name,
        id: s.cluster.id,
        stack: stackOf(s.file),
        file: s.file,
        address: s.cluster.cilium.clustermeshIp,
        port: clustermeshPort,
        podCidr: s.cluster.network.podCidr,
      };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
  let ca: CaSource;
  if (mesh.caFrom === undefined) ca = { kind: "owner", generation: mesh.caGeneration ?? 1 };
  else {
    const owner = byName.get(mesh.caFrom);
    if (!owner) throw new Error(`internal: CA owner ${mesh.caFrom} was not validated`);
    ca = {
      kind: "stackReference",
      ownerCluster: mesh.caFrom,
      ownerStack: stackOf(owner.file),
      generation: owner.cluster.cilium.clustermesh?.caGeneration ?? 1,
    };
  }
  return {
    self: self.cluster.name,
    peers,
    ca,
    nativeRoutingCidr: coveringCidr([self.cluster.network.podCidr, ...peers.map((p) => p.podCidr)]),
  };
}

/** The mesh as the offline text plan prints it. */
export function meshText(view: MeshView | undefined, clustermeshIp: string | undefined): string[] {
  if (!view) return [];
  const ca =
    view.ca.kind === "owner"
      ? `owned here: tls PrivateKey clustermesh-ca-key-g${view.ca.generation} + SelfSignedCert clustermesh-ca-g${view.ca.generation} (protected), ` +
        "exported as clustermeshCaCert and clustermeshCaKey (secret)"
      : `StackReference to ${view.ca.ownerStack} (cluster ${view.ca.ownerCluster}, generation ${view.ca.generation}): outputs clustermeshCaCert, clustermeshCaKey (secret)`;
  return [
    "== ClusterMesh",
    `    this cluster: ${view.self} at ${clustermeshIp}:${clustermeshPort} (clustermesh-apiserver, LoadBalancer)`,
    `    CA: ${ca}; written to kube-system/cilium-ca before Cilium`,
    `    native routing CIDR: ${view.nativeRoutingCidr}`,
    ...view.peers.map((p) => `    peer ${p.name} (id ${p.id}, ${p.file}): ${p.address}:${p.port}, pods ${p.podCidr}`),
    "",
  ];
}
