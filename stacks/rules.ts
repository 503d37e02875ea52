import type { PathSegment } from "./errors";
import {
  cidrRange,
  contains,
  hostRange,
  ipRange,
  ipToNumber,
  isIpv4,
  numberToIp,
  overlaps,
  privateKind,
  single,
  type Ipv4Range,
} from "../lib/ipv4";
import { lbAnnouncement } from "./mesh";
import { unknownReleaseMessage } from "./releases";
import type { ParsedCluster } from "./schema";
import {
  ciliumMatrix,
  formatRange,
  kubernetesInRange,
  minorLine,
  pinIssues,
  supportedTalosLines,
  talosKubernetes,
  versions,
  type Pins,
} from "./versions";

/** A rule's finding, located by key path below the cluster key. */
export interface RuleIssue {
  readonly path: PathSegment[];
  readonly message: string;
}

/** The cross-field rules of one cluster (the design's "Stack config" section). Runs on a shape-valid cluster. */
export function clusterRuleIssues(cluster: ParsedCluster): RuleIssue[] {
  return [
    ...nodeRules(cluster),
    ...addressRules(cluster),
    ...cidrRules(cluster),
    ...corednsRules(cluster),
    ...versionRules(cluster),
    ...fluxRules(cluster),
    ...cloudflareRules(cluster),
    ...clustermeshRules(cluster),
    ...featureRules(cluster),
  ];
}

/** Keys that are optional until the feature that needs them is on, each refused with the feature's name. */
function featureRules(cluster: ParsedCluster): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const { start, end } = cluster.cilium.loadBalancerPool;
  if (cluster.cilium.bgp === undefined && lbAnnouncement(cluster) === "bgp")
    issues.push({
      path: ["cilium", "bgp"],
      message: `is required because the LoadBalancer pool ${start}-${end} lies outside the node subnet ${cluster.network.nodeSubnet} (BGP announces it)`,
    });
  if (cluster.cilium.clustermeshIp === undefined && cluster.cilium.clustermesh !== undefined)
    issues.push({
      path: ["cilium", "clustermeshIp"],
      message: "is required because cilium.clustermesh is set (the other members reach this cluster's clustermesh-apiserver there)",
    });
  if (cluster.domain === undefined && cluster.cloudflare !== undefined)
    issues.push({
      path: ["domain"],
      message:
        "is required because cloudflare is set (the tunnel's hostnames, DNS records and cert-manager's DNS-01 issuers live in that zone)",
    });
  return issues;
}

/** The mesh settings of one stack; the rules across stacks live in stacks/mesh.ts. */
function clustermeshRules(cluster: ParsedCluster): RuleIssue[] {
  const mesh = cluster.cilium.clustermesh;
  if (!mesh) return [];
  const issues: RuleIssue[] = [];
  const at = (...rest: PathSegment[]): PathSegment[] => ["cilium", "clustermesh", ...rest];
  const seen = new Map<string, number>();
  mesh.peers.forEach((peer, i) => {
    if (peer === cluster.name) issues.push({ path: at("peers", i), message: `${peer} is this cluster; list only the other members` });
    const first = seen.get(peer);
    if (first !== undefined) issues.push({ path: at("peers", i), message: `${peer} is already peers[${first}]` });
    else seen.set(peer, i);
  });
  if (mesh.caFrom !== undefined) {
    if (mesh.caFrom === cluster.name) issues.push({ path: at("caFrom"), message: "names this cluster; the CA owner leaves caFrom out" });
    else if (!mesh.peers.includes(mesh.caFrom))
      issues.push({ path: at("caFrom"), message: `${mesh.caFrom} is not one of peers; the CA owner must be a member of the mesh` });
    if (mesh.caGeneration !== undefined)
      issues.push({
        path: at("caGeneration"),
        message: `only the CA owner (${mesh.caFrom}) sets caGeneration; the other members follow it through the owner's stack file`,
      });
  }
  return issues;
}

function nodeRules(cluster: ParsedCluster): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const subnet = cluster.network.nodeSubnet;
  const hosts = hostRange(subnet);
  const seenNames = new Map<string, number>();
  const seenIps = new Map<string, number>();
  cluster.nodes.forEach((node, i) => {
    const firstName = seenNames.get(node.name);
    if (firstName !== undefined)
      issues.push({ path: ["nodes", i, "name"], message: `${node.name} is already the name of nodes[${firstName}]` });
    else seenNames.set(node.name, i);
    const firstIp = seenIps.get(node.ip);
    if (firstIp !== undefined) issues.push({ path: ["nodes", i, "ip"], message: `${node.ip} is already the address of nodes[${firstIp}]` });
    else seenIps.set(node.ip, i);
    if (!contains(hosts, single(node.ip))) {
      issues.push({ path: ["nodes", i, "ip"], message: `${node.ip} is outside the node subnet ${subnet}` + usableSuffix(subnet, node.ip) });
    }
  });
  const controlPlanes = cluster.nodes.filter((n) => n.role === "controlplane").length;
  if (controlPlanes === 0) {
    issues.push({ path: ["nodes"], message: "needs at least one node with role controlplane" });
  } else if (controlPlanes % 2 === 0 && !cluster.talos.allowControlPlaneRemoval) {
    // Control planes leave one per run (NodeMembership): going 5 → 3 passes through 4, which the
    // removal flag allows for as long as it is set.
    issues.push({
      path: ["nodes"],
      message:
        `has ${controlPlanes} control planes; etcd needs an odd number (1, 3, 5) to keep quorum ` +
        "(an even count is accepted only while talos.allowControlPlaneRemoval is set, between two removals)",
    });
  }
  const firstNode = cluster.nodes[0];
  if (firstNode !== undefined && firstNode.role !== "controlplane") {
    issues.push({ path: ["nodes", 0, "role"], message: "the first node bootstraps etcd and must be a controlplane" });
  }
  return issues;
}

function usableSuffix(subnet: string, ip: string): string {
  return contains(cidrRange(subnet), single(ip)) ? " (it is the network or broadcast address)" : "";
}

/** VIP, gateway, pool and the addresses inside it: in the node subnet, clear of nodes and of each other. */
function addressRules(cluster: ParsedCluster): RuleIssue[] {
  const issues: RuleIssue[] = [];
  const { network, cilium } = cluster;
  const hosts = hostRange(network.nodeSubnet);
  const nodeAt = new Map(cluster.nodes.map((n, i) => [n.ip, `nodes[${i}] (${n.name})`]));
  const inSubnet = (path: PathSegment[], ip: string) => {
    if (!contains(hosts, single(ip))) issues.push({ path, message: `${ip} is outside the node subnet ${network.nodeSubnet}` });
  };
  const notANode = (path: PathSegment[], ip: string) => {
    const node = nodeAt.get(ip);
    if (node !== undefined) issues.push({ path, message: `${ip} is the address of ${node}` });
  };

  inSubnet(["network", "gateway"], network.gateway);
  notANode(["network", "gateway"], network.gateway);
  inSubnet(["network", "vip"], network.vip);
  notANode(["network", "vip"], network.vip);
  if (network.vip === network.gateway) issues.push({ path: ["network", "vip"], message: `${network.vip} is also the gateway` });

  const { start, end } = cilium.loadBalancerPool;
  const poolPath = ["cilium", "loadBalancerPool"];
  if (ipToNumber(start) > ipToNumber(end)) {
    issues.push({ path: [...poolPath, "end"], message: `${end} comes before the pool start ${start}` });
    return issues;
  }
  const pool = ipRange(start, end);
  // Inside the node subnet, hosts on it ARP for the addresses and Cilium answers (L2 announcements);
  // wholly outside it, BGP alone announces them (stacks/mesh.ts lbAnnouncement). Across the boundary
  // neither works for every address, and the network and broadcast addresses are never usable.
  if (!contains(hosts, pool) && overlaps(cidrRange(network.nodeSubnet), pool))
    issues.push({
      path: poolPath,
      message:
        `${start}-${end} straddles the boundary of the node subnet ${network.nodeSubnet} (or takes its network or broadcast address): ` +
        `a pool inside the subnet is announced by L2 (ARP), one wholly outside it by BGP only; put it entirely on one side`,
    });
  cluster.nodes.forEach((n, i) => {
    if (contains(pool, single(n.ip)))
      issues.push({ path: poolPath, message: `${start}-${end} contains ${n.ip}, the address of nodes[${i}] (${n.name})` });
  });
  for (const [what, ip] of [
    ["the VIP", network.vip],
    ["the gateway", network.gateway],
  ] as const) {
    if (contains(pool, single(ip))) issues.push({ path: poolPath, message: `${start}-${end} contains ${ip}, ${what}` });
  }
  for (const key of ["clustermeshIp", "gatewayIp"] as const) {
    const ip = cilium[key];
    if (ip !== undefined && !contains(pool, single(ip))) {
      issues.push({ path: ["cilium", key], message: `${ip} is outside the LoadBalancer pool ${start}-${end}` });
    }
  }
  if (cilium.clustermeshIp === cilium.gatewayIp) {
    issues.push({ path: ["cilium", "gatewayIp"], message: `${cilium.gatewayIp} is also the ClusterMesh address` });
  }
  if (cilium.bgp) inSubnet(["cilium", "bgp", "peerAddress"], cilium.bgp.peerAddress);
  return issues;
}

function cidrRules(cluster: ParsedCluster): RuleIssue[] {
  const { network } = cluster;
  const keys = ["nodeSubnet", "podCidr", "serviceCidr"] as const;
  const issues: RuleIssue[] = [];
  keys.forEach((a, i) =>
    keys.slice(i + 1).forEach((b) => {
      if (overlaps(cidrRange(network[a]), cidrRange(network[b])))
        issues.push({ path: ["network", b], message: `${network[b]} overlaps ${a} ${network[a]}` });
    }),
  );
  const vlanSeen = new Set<number>();
  cluster.network.vlans.forEach((vlan, i) => {
    if (vlanSeen.has(vlan.id)) issues.push({ path: ["network", "vlans", i, "id"], message: `VLAN ${vlan.id} is listed twice` });
    vlanSeen.add(vlan.id);
    if ((vlan.mtu ?? 0) > cluster.network.mtu) {
      issues.push({ path: ["network", "vlans", i, "mtu"], message: `${vlan.mtu} is larger than the bond MTU ${cluster.network.mtu}` });
    }
  });
  return issues;
}

function corednsRules(cluster: ParsedCluster): RuleIssue[] {
  const { serviceCidr } = cluster.network;
  const service = cidrRange(serviceCidr);
  const ip = cluster.coredns.clusterIp;
  const path = ["coredns", "clusterIp"];
  if (!contains(service, single(ip))) return [{ path, message: `${ip} is outside the service CIDR ${serviceCidr}` }];
  const n = ipToNumber(ip);
  if (n === service.first) return [{ path, message: `${ip} is the network address of ${serviceCidr}` }];
  if (n === service.first + 1) {
    return [
      {
        path,
        message: `${ip} is the first address of ${serviceCidr}, which Kubernetes gives the kubernetes Service; use e.g. ${numberToIp(service.first + 10)}`,
      },
    ];
  }
  if (n === service.last) return [{ path, message: `${ip} is the broadcast address of ${serviceCidr}` }];
  return [];
}

/**
 * The compatibility matrix (versions.ts) applied to the versions this stack runs: its Talos line,
 * Kubernetes within what that line and the pinned Cilium support, the pins consistent among
 * themselves, and no retired Talos extension names.
 */
export function versionRules(cluster: ParsedCluster, pins: Pins = versions): RuleIssue[] {
  const issues: RuleIssue[] = pinIssues(pins).map((i) => ({ path: [], message: `stacks/versions.ts: ${i.key}: ${i.message}` }));
  const talos = cluster.talos.version ?? pins.talos;
  const talosLine = minorLine(talos);
  const talosRange = talosKubernetes[talosLine ?? ""];
  if (talosRange === undefined) {
    issues.push({
      path: ["talos", "version"],
      message: `${talos} is not a supported Talos line (${supportedTalosLines()}); this program's patches are written for those`,
    });
  }
  const kube = cluster.talos.kubernetesVersion ?? pins.kubernetes;
  const kubePath = ["talos", "kubernetesVersion"];
  // Only a stack's own overrides: the pins are checked against the same list by tests/versions.test.ts.
  for (const [project, value, path] of [
    ["talos", cluster.talos.version, ["talos", "version"]],
    ["kubernetes", cluster.talos.kubernetesVersion, kubePath],
  ] as const) {
    const message = value === undefined ? undefined : unknownReleaseMessage(project, value);
    if (message !== undefined) issues.push({ path: [...path], message });
  }
  if (talosRange !== undefined && !kubernetesInRange(kube, talosRange)) {
    issues.push({ path: kubePath, message: `${kube} is outside what Talos v${talosLine} supports (${formatRange(talosRange)})` });
  }
  const ciliumLine = minorLine(pins.charts.cilium);
  const cilium = ciliumMatrix[ciliumLine ?? ""];
  if (cilium !== undefined && !kubernetesInRange(kube, cilium.kubernetes)) {
    issues.push({
      path: kubePath,
      message: `${kube} is outside the Kubernetes range Cilium ${ciliumLine} is tested with (${formatRange(cilium.kubernetes)})`,
    });
  }
  const extensionIssues = (path: PathSegment[], extensions: readonly string[]) =>
    extensions.forEach((name, i) => {
      const successor = retiredExtensions[name];
      if (successor !== undefined)
        issues.push({ path: [...path, i], message: `${name} no longer exists (since Talos 1.9); use ${successor}` });
    });
  extensionIssues(["talos", "schematic", "officialExtensions"], cluster.talos.schematic.officialExtensions);
  cluster.nodes.forEach((node, n) => {
    if (node.schematic) extensionIssues(["nodes", n, "schematic", "officialExtensions"], node.schematic.officialExtensions);
  });
  return issues;
}

/**
 * Official extensions Sidero Labs folded into others (siderolabs/extensions f925a59, "combine
 * i915/amdgpu firmware+drivers", first in v1.9.0): the Image Factory has no such extension any more.
 */
export const retiredExtensions: Readonly<Record<string, string>> = {
  "siderolabs/i915-ucode": "siderolabs/i915",
  "siderolabs/amdgpu-firmware": "siderolabs/amdgpu",
};

function fluxRules(cluster: ParsedCluster): RuleIssue[] {
  const { url, auth } = cluster.flux;
  if (auth.type === "ssh" && !url.startsWith("ssh://")) {
    return [{ path: ["flux", "url"], message: "SSH deploy-key auth needs an ssh:// URL such as ssh://git@github.com/org/repo.git" }];
  }
  if (auth.type === "githubApp" && !url.startsWith("https://")) {
    return [{ path: ["flux", "url"], message: "GitHub App auth needs an https:// URL" }];
  }
  return [];
}

function cloudflareRules(cluster: ParsedCluster): RuleIssue[] {
  if (!cluster.cloudflare) return [];
  const issues: RuleIssue[] = [];
  cluster.cloudflare.records.forEach((record, i) => {
    const path = ["cloudflare", "records", i, "content"];
    if (record.type === "A") {
      if (!isIpv4(record.content)) {
        issues.push({ path, message: `${record.content} is not an IPv4 address` });
      } else {
        const kind = privateKind(record.content);
        if (kind !== undefined)
          issues.push({
            path,
            message: `${record.content} is a ${kind} address; public DNS must not publish internal addresses (use the private zone)`,
          });
      }
    }
    if (record.type === "AAAA" && /^(::1$|f[cd]|fe[89ab])/i.test(record.content)) {
      issues.push({ path, message: `${record.content} is a loopback, unique-local or link-local address; public DNS must not publish it` });
    }
  });
  return issues;
}

/** Ranges a cluster claims on the shared network, for the cross-stack check (ClusterMesh needs them disjoint). */
export function claimedRanges(cluster: ParsedCluster): Array<{ path: string; what: string; range: Ipv4Range }> {
  return [
    { path: "network.podCidr", what: `pod CIDR ${cluster.network.podCidr}`, range: cidrRange(cluster.network.podCidr) },
    { path: "network.serviceCidr", what: `service CIDR ${cluster.network.serviceCidr}`, range: cidrRange(cluster.network.serviceCidr) },
    {
      path: "cilium.loadBalancerPool",
      what: `LoadBalancer pool ${cluster.cilium.loadBalancerPool.start}-${cluster.cilium.loadBalancerPool.end}`,
      range: ipRange(cluster.cilium.loadBalancerPool.start, cluster.cilium.loadBalancerPool.end),
    },
    { path: "network.vip", what: `VIP ${cluster.network.vip}`, range: single(cluster.network.vip) },
    ...cluster.nodes.map((n, i) => ({ path: `nodes[${i}].ip`, what: `node ${n.name} ${n.ip}`, range: single(n.ip) })),
  ];
}
