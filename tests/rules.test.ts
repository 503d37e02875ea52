import { formatPath } from "../stacks/errors";
import { cidrRange, hostRange, ipToNumber, isIpv4, isIpv4Cidr, numberToIp, overlaps, prefixLength, privateKind } from "../lib/ipv4";
import { claimedRanges, clusterRuleIssues, versionRules } from "../stacks/rules";
import { kubernetesInRange, minorLine, pinIssues, versionParts, versions } from "../stacks/versions";
import { clusterSchema } from "../stacks/schema";
import { readStackFile } from "../stacks/stackFile";
import { clone, fixtureDir, type RawCluster } from "./support";

/**
 * Every single-stack validation rule at its boundaries: the value just inside must be accepted, the
 * value just outside refused with its exact message. Pure (no harness), so mutation testing of
 * stacks/rules.ts and the IPv4 arithmetic runs fast. The fixture infra: node subnet 10.25.11.0/24,
 * nodes .11–.13, VIP .10, gateway .1, pool .100–.119 (ClusterMesh .100, Gateway .110), bond MTU 9000,
 * services 10.245.0.0/16 with CoreDNS at .10, Talos v1.11.6 with Kubernetes v1.34.1.
 */
const raw = readStackFile(fixtureDir, "infra").config.cluster as RawCluster;

function issues(mutate: (c: RawCluster) => void): string[] {
  const c = clone(raw);
  mutate(c);
  return clusterRuleIssues(clusterSchema.parse(c)).map((i) => `${formatPath(i.path)}: ${i.message}`);
}

const accepted: Array<[string, (c: RawCluster) => void]> = [
  ["the fixture as it is", () => undefined],
  [
    "two control planes while removing them one per run (allowControlPlaneRemoval set)",
    (c) => {
      c.nodes = [c.nodes[0], c.nodes[1]];
      c.talos.allowControlPlaneRemoval = true;
    },
  ],
  [
    "no bgp, clustermeshIp or domain with an L2 pool, no mesh and no Cloudflare",
    (c) => {
      delete c.cilium.bgp;
      delete c.cilium.clustermeshIp;
      delete c.cilium.clustermesh;
      delete c.domain;
      delete c.cloudflare;
    },
  ],
  [
    "a pool outside the node subnet with cilium.bgp",
    (c) => {
      c.cilium.loadBalancerPool = { start: "10.25.20.0", end: "10.25.20.31" };
      c.cilium.clustermeshIp = "10.25.20.1";
      c.cilium.gatewayIp = "10.25.20.2";
    },
  ],
  ["a node on the first host address", (c) => (c.nodes[2].ip = "10.25.11.2")],
  ["a node on the last host address", (c) => (c.nodes[2].ip = "10.25.11.254")],
  ["a VIP on the last host address", (c) => (c.network.vip = "10.25.11.254")],
  [
    "a two-address pool holding the ClusterMesh and Gateway addresses",
    (c) => {
      c.cilium.loadBalancerPool = { start: "10.25.11.100", end: "10.25.11.101" };
      c.cilium.gatewayIp = "10.25.11.101";
    },
  ],
  ["the ClusterMesh and Gateway addresses on the pool's two ends", (c) => (c.cilium.gatewayIp = "10.25.11.119")],
  ["a VLAN MTU equal to the bond's", (c) => (c.network.vlans[0].mtu = 9000)],
  ["CoreDNS on the second address of the service CIDR", (c) => (c.coredns.clusterIp = "10.245.0.2")],
  ["CoreDNS on the last address before the broadcast", (c) => (c.coredns.clusterIp = "10.245.255.254")],
  ["one control plane", (c) => (c.nodes = [c.nodes[0]])],
  [
    "five control planes",
    (c) => c.nodes.push({ ...c.nodes[0], name: "infra-04", ip: "10.25.11.14" }, { ...c.nodes[0], name: "infra-05", ip: "10.25.11.15" }),
  ],
  [
    "a worker after the first control plane",
    (c) => (c.nodes = [c.nodes[0], { ...c.nodes[1], role: "worker" }, { ...c.nodes[2], role: "worker" }]),
  ],
  [
    "GitHub App auth over https",
    (c) => {
      c.flux.url = "https://github.com/org/repo.git";
      c.flux.auth = { type: "githubApp", appId: "1", installationId: "2", privateKey: "op://v/i/f" };
    },
  ],
  [
    "public A, AAAA, CNAME and TXT records",
    (c) =>
      (c.cloudflare.records = [
        { name: "a", type: "A", content: "1.1.1.1" },
        { name: "b", type: "A", content: "172.32.0.1" },
        { name: "c", type: "AAAA", content: "2606:4700::1" },
        { name: "d", type: "CNAME", content: "example.net" },
        { name: "e", type: "TXT", content: "10.0.0.1 is just text" },
      ]),
  ],
  ["Kubernetes at the top of Talos 1.11's range", (c) => (c.talos.kubernetesVersion = "v1.34.3")],
  ["Kubernetes at the bottom of the range Cilium and Talos 1.11 share", (c) => (c.talos.kubernetesVersion = "v1.33.0")],
  ["the CA read from a member of the mesh", (c) => (c.cilium.clustermesh = { peers: ["apps"], caFrom: "apps" })],
  ["no ClusterMesh", (c) => delete c.cilium.clustermesh],
  ["no Cloudflare", (c) => delete c.cloudflare],
  [
    "a pool wholly outside the node subnet (announced by BGP)",
    (c) => {
      c.cilium.loadBalancerPool = { start: "10.25.12.0", end: "10.25.12.19" };
      c.cilium.clustermeshIp = "10.25.12.0";
      c.cilium.gatewayIp = "10.25.12.19";
    },
  ],
  [
    "public A and AAAA records, and an AAAA that only starts like loopback",
    (c) =>
      (c.cloudflare.records = [
        { name: "a", type: "A", content: "1.1.1.1" },
        { name: "b", type: "AAAA", content: "2606:4700::1111" },
        { name: "c", type: "AAAA", content: "::1:2" },
        { name: "d", type: "CNAME", content: "10.0.0.1" },
        { name: "e", type: "CNAME", content: "fd-gw.example.net" },
        { name: "f", type: "TXT", content: "fe80 is link-local" },
      ]),
  ],
  ["official extensions that still exist", (c) => (c.talos.schematic.officialExtensions = ["siderolabs/i915", "siderolabs/amdgpu"])],
];

const refused: Array<[string, (c: RawCluster) => void, string[]]> = [
  [
    "a node on the subnet's network address",
    (c) => (c.nodes[2].ip = "10.25.11.0"),
    ["nodes[2].ip: 10.25.11.0 is outside the node subnet 10.25.11.0/24 (it is the network or broadcast address)"],
  ],
  [
    "a node on the broadcast address",
    (c) => (c.nodes[2].ip = "10.25.11.255"),
    ["nodes[2].ip: 10.25.11.255 is outside the node subnet 10.25.11.0/24 (it is the network or broadcast address)"],
  ],
  [
    "a node just outside the subnet",
    (c) => (c.nodes[2].ip = "10.25.12.1"),
    ["nodes[2].ip: 10.25.12.1 is outside the node subnet 10.25.11.0/24"],
  ],
  ["two nodes with one name", (c) => (c.nodes[2].name = "infra-01"), ["nodes[2].name: infra-01 is already the name of nodes[0]"]],
  ["two nodes with one address", (c) => (c.nodes[2].ip = "10.25.11.11"), ["nodes[2].ip: 10.25.11.11 is already the address of nodes[0]"]],
  [
    "the VIP on the network address",
    (c) => (c.network.vip = "10.25.11.0"),
    ["network.vip: 10.25.11.0 is outside the node subnet 10.25.11.0/24"],
  ],
  [
    "the gateway on the broadcast address",
    (c) => (c.network.gateway = "10.25.11.255"),
    ["network.gateway: 10.25.11.255 is outside the node subnet 10.25.11.0/24"],
  ],
  [
    "the gateway on a node",
    (c) => (c.network.gateway = "10.25.11.12"),
    ["network.gateway: 10.25.11.12 is the address of nodes[1] (infra-02)"],
  ],
  ["the VIP on a node", (c) => (c.network.vip = "10.25.11.13"), ["network.vip: 10.25.11.13 is the address of nodes[2] (infra-03)"]],
  ["the VIP on the gateway", (c) => (c.network.vip = "10.25.11.1"), ["network.vip: 10.25.11.1 is also the gateway"]],
  [
    "a pool that ends before it starts",
    (c) => (c.cilium.loadBalancerPool = { start: "10.25.11.119", end: "10.25.11.100" }),
    ["cilium.loadBalancerPool.end: 10.25.11.100 comes before the pool start 10.25.11.119"],
  ],
  [
    "a one-address pool (ClusterMesh and Gateway need two)",
    (c) => {
      c.cilium.loadBalancerPool = { start: "10.25.11.100", end: "10.25.11.100" };
      c.cilium.gatewayIp = "10.25.11.100";
    },
    ["cilium.gatewayIp: 10.25.11.100 is also the ClusterMesh address"],
  ],
  [
    "the Gateway address one past the pool",
    (c) => (c.cilium.gatewayIp = "10.25.11.120"),
    ["cilium.gatewayIp: 10.25.11.120 is outside the LoadBalancer pool 10.25.11.100-10.25.11.119"],
  ],
  [
    "the ClusterMesh address one before the pool",
    (c) => (c.cilium.clustermeshIp = "10.25.11.99"),
    ["cilium.clustermeshIp: 10.25.11.99 is outside the LoadBalancer pool 10.25.11.100-10.25.11.119"],
  ],
  [
    "a pool over a node",
    (c) => (c.cilium.loadBalancerPool = { start: "10.25.11.13", end: "10.25.11.119" }),
    ["cilium.loadBalancerPool: 10.25.11.13-10.25.11.119 contains 10.25.11.13, the address of nodes[2] (infra-03)"],
  ],
  [
    "a pool over the VIP and the gateway",
    (c) => (c.cilium.loadBalancerPool = { start: "10.25.11.1", end: "10.25.11.10" }),
    [
      "cilium.loadBalancerPool: 10.25.11.1-10.25.11.10 contains 10.25.11.10, the VIP",
      "cilium.loadBalancerPool: 10.25.11.1-10.25.11.10 contains 10.25.11.1, the gateway",
      "cilium.clustermeshIp: 10.25.11.100 is outside the LoadBalancer pool 10.25.11.1-10.25.11.10",
      "cilium.gatewayIp: 10.25.11.110 is outside the LoadBalancer pool 10.25.11.1-10.25.11.10",
    ],
  ],
  [
    "a BGP peer outside the node subnet",
    (c) => (c.cilium.bgp.peerAddress = "10.25.12.1"),
    ["cilium.bgp.peerAddress: 10.25.12.1 is outside the node subnet 10.25.11.0/24"],
  ],
  [
    "pod CIDR overlapping the node subnet",
    (c) => (c.network.podCidr = "10.25.0.0/16"),
    ["network.podCidr: 10.25.0.0/16 overlaps nodeSubnet 10.25.11.0/24"],
  ],
  [
    "service CIDR overlapping the pod CIDR",
    (c) => {
      c.network.serviceCidr = "10.244.128.0/17";
      c.coredns.clusterIp = "10.244.128.10";
    },
    ["network.serviceCidr: 10.244.128.0/17 overlaps podCidr 10.244.0.0/16"],
  ],
  [
    "a VLAN MTU one above the bond's",
    (c) => (c.network.vlans[0].mtu = 9001),
    ["network.vlans[0].mtu: 9001 is larger than the bond MTU 9000"],
  ],
  ["a VLAN listed twice", (c) => c.network.vlans.push({ id: 2512 }), ["network.vlans[1].id: VLAN 2512 is listed twice"]],
  [
    "CoreDNS on the service CIDR's network address",
    (c) => (c.coredns.clusterIp = "10.245.0.0"),
    ["coredns.clusterIp: 10.245.0.0 is the network address of 10.245.0.0/16"],
  ],
  [
    "CoreDNS on the kubernetes Service's address",
    (c) => (c.coredns.clusterIp = "10.245.0.1"),
    [
      "coredns.clusterIp: 10.245.0.1 is the first address of 10.245.0.0/16, which Kubernetes gives the kubernetes Service; use e.g. 10.245.0.10",
    ],
  ],
  [
    "CoreDNS on the broadcast address",
    (c) => (c.coredns.clusterIp = "10.245.255.255"),
    ["coredns.clusterIp: 10.245.255.255 is the broadcast address of 10.245.0.0/16"],
  ],
  [
    "CoreDNS outside the service CIDR",
    (c) => (c.coredns.clusterIp = "10.246.0.10"),
    ["coredns.clusterIp: 10.246.0.10 is outside the service CIDR 10.245.0.0/16"],
  ],
  [
    "two control planes",
    (c) => (c.nodes = [c.nodes[0], c.nodes[1]]),
    [
      "nodes: has 2 control planes; etcd needs an odd number (1, 3, 5) to keep quorum (an even count is accepted only while talos.allowControlPlaneRemoval is set, between two removals)",
    ],
  ],
  [
    "no control plane",
    (c) => (c.nodes = c.nodes.map((n: RawCluster) => ({ ...n, role: "worker" }))),
    ["nodes: needs at least one node with role controlplane", "nodes[0].role: the first node bootstraps etcd and must be a controlplane"],
  ],
  [
    "a worker first",
    (c) => (c.nodes = [{ ...c.nodes[2], role: "worker" }, c.nodes[0], c.nodes[1], { ...c.nodes[0], name: "infra-04", ip: "10.25.11.14" }]),
    ["nodes[0].role: the first node bootstraps etcd and must be a controlplane"],
  ],
  [
    "GitHub App auth over ssh://",
    (c) => (c.flux.auth = { type: "githubApp", appId: "1", installationId: "2", privateKey: "op://v/i/f" }),
    ["flux.url: GitHub App auth needs an https:// URL"],
  ],
  [
    "a deploy key over https://",
    (c) => (c.flux.url = "https://github.com/org/repo.git"),
    ["flux.url: SSH deploy-key auth needs an ssh:// URL such as ssh://git@github.com/org/repo.git"],
  ],
  [
    "a private, a CGNAT and a non-IPv4 A record; a unique-local and a link-local AAAA",
    (c) =>
      (c.cloudflare.records = [
        { name: "a", type: "A", content: "172.16.0.1" },
        { name: "b", type: "A", content: "100.64.0.1" },
        { name: "c", type: "A", content: "example.net" },
        { name: "d", type: "AAAA", content: "fd00::1" },
        { name: "e", type: "AAAA", content: "fe80::1" },
      ]),
    [
      "cloudflare.records[0].content: 172.16.0.1 is a private (RFC 1918) address; public DNS must not publish internal addresses (use the private zone)",
      "cloudflare.records[1].content: 100.64.0.1 is a CGNAT (RFC 6598) address; public DNS must not publish internal addresses (use the private zone)",
      "cloudflare.records[2].content: example.net is not an IPv4 address",
      "cloudflare.records[3].content: fd00::1 is a loopback, unique-local or link-local address; public DNS must not publish it",
      "cloudflare.records[4].content: fe80::1 is a loopback, unique-local or link-local address; public DNS must not publish it",
    ],
  ],
  [
    "Kubernetes one minor below the range Cilium is tested with",
    (c) => (c.talos.kubernetesVersion = "v1.32.9"),
    ["talos.kubernetesVersion: v1.32.9 is outside the Kubernetes range Cilium 1.20 is tested with (v1.33 to v1.36)"],
  ],
  [
    "Kubernetes one minor below Talos 1.11's range",
    (c) => (c.talos.kubernetesVersion = "v1.28.15"),
    [
      "talos.kubernetesVersion: v1.28.15 is outside what Talos v1.11 supports (v1.29 to v1.34)",
      "talos.kubernetesVersion: v1.28.15 is outside the Kubernetes range Cilium 1.20 is tested with (v1.33 to v1.36)",
    ],
  ],
  [
    "Kubernetes one minor above Talos 1.11's range",
    (c) => (c.talos.kubernetesVersion = "v1.35.0"),
    ["talos.kubernetesVersion: v1.35.0 is outside what Talos v1.11 supports (v1.29 to v1.34)"],
  ],
  [
    "ClusterMesh peers naming this cluster, and a peer twice",
    (c) => (c.cilium.clustermesh = { peers: ["apps", "infra", "apps"] }),
    [
      "cilium.clustermesh.peers[1]: infra is this cluster; list only the other members",
      "cilium.clustermesh.peers[2]: apps is already peers[0]",
    ],
  ],
  [
    "the CA taken from this cluster itself",
    (c) => (c.cilium.clustermesh = { peers: ["apps"], caFrom: "infra" }),
    ["cilium.clustermesh.caFrom: names this cluster; the CA owner leaves caFrom out"],
  ],
  [
    "the CA taken from a cluster outside the mesh, with a CA generation of its own",
    (c) => (c.cilium.clustermesh = { peers: ["apps"], caFrom: "edge", caGeneration: 2 }),
    [
      "cilium.clustermesh.caFrom: edge is not one of peers; the CA owner must be a member of the mesh",
      "cilium.clustermesh.caGeneration: only the CA owner (edge) sets caGeneration; the other members follow it through the owner's stack file",
    ],
  ],
  [
    "a pool that takes the node subnet's broadcast address",
    (c) => {
      c.cilium.loadBalancerPool = { start: "10.25.11.240", end: "10.25.11.255" };
      c.cilium.clustermeshIp = "10.25.11.240";
      c.cilium.gatewayIp = "10.25.11.241";
    },
    [
      "cilium.loadBalancerPool: 10.25.11.240-10.25.11.255 straddles the boundary of the node subnet 10.25.11.0/24 (or takes its network or broadcast address): " +
        "a pool inside the subnet is announced by L2 (ARP), one wholly outside it by BGP only; put it entirely on one side",
    ],
  ],
  [
    "a pool outside the node subnet without cilium.bgp",
    (c) => {
      c.cilium.loadBalancerPool = { start: "10.25.20.0", end: "10.25.20.31" };
      c.cilium.clustermeshIp = "10.25.20.1";
      c.cilium.gatewayIp = "10.25.20.2";
      delete c.cilium.bgp;
    },
    [
      "cilium.bgp: is required because the LoadBalancer pool 10.25.20.0-10.25.20.31 lies outside the node subnet 10.25.11.0/24 (BGP announces it)",
    ],
  ],
  [
    "a mesh member without cilium.clustermeshIp",
    (c) => delete c.cilium.clustermeshIp,
    [
      "cilium.clustermeshIp: is required because cilium.clustermesh is set (the other members reach this cluster's clustermesh-apiserver there)",
    ],
  ],
  [
    "cloudflare without domain",
    (c) => delete c.domain,
    [
      "domain: is required because cloudflare is set (the tunnel's hostnames, DNS records and cert-manager's DNS-01 issuers live in that zone)",
    ],
  ],
  [
    "a Talos and a Kubernetes version that no upstream release list holds",
    (c) => {
      c.talos.version = "v1.11.99";
      c.talos.kubernetesVersion = "v1.34.99";
    },
    [
      "talos.version: v1.11.99 is not a known Talos release (v1.11.0 to v1.11.6 as of 2026-12-05); if it was released since, add it to stacks/releases.ts",
      "talos.kubernetesVersion: v1.34.99 is not a known Kubernetes release (v1.34.0 to v1.34.3 as of 2026-12-05); if it was released since, add it to stacks/releases.ts",
    ],
  ],
  [
    "a Talos line this program has no patches for",
    (c) => (c.talos.version = "v1.10.7"),
    ["talos.version: v1.10.7 is not a supported Talos line (v1.11, v1.12, v1.13); this program's patches are written for those"],
  ],
  [
    "retired official extensions, cluster-wide and on one node",
    (c) => {
      c.talos.schematic.officialExtensions = ["siderolabs/iscsi-tools", "siderolabs/i915-ucode"];
      c.nodes[1].schematic = { ...c.talos.schematic, officialExtensions: ["siderolabs/amdgpu-firmware"] };
    },
    [
      "talos.schematic.officialExtensions[1]: siderolabs/i915-ucode no longer exists (since Talos 1.9); use siderolabs/i915",
      "nodes[1].schematic.officialExtensions[0]: siderolabs/amdgpu-firmware no longer exists (since Talos 1.9); use siderolabs/amdgpu",
    ],
  ],
];

describe("single-stack rules: boundaries and near misses", () => {
  it.each(accepted)("accepts %s", (_what, mutate) => {
    expect(issues(mutate)).toEqual([]);
  });
  it.each(refused)("refuses %s, with exactly these messages", (_what, mutate, expected) => {
    expect(issues(mutate)).toEqual(expected);
  });
});

describe("single-stack rules beyond the schema's guarantees", () => {
  const parsed = () => clusterSchema.parse(clone(raw));

  it("run on a cluster without nodes (the schema requires one; the rules do not rely on it)", () => {
    const cluster = { ...parsed(), nodes: [] };
    expect(clusterRuleIssues(cluster).map((i) => `${formatPath(i.path)}: ${i.message}`)).toEqual([
      "nodes: needs at least one node with role controlplane",
    ]);
  });

  it("report a pin of Cilium outside the compatibility matrix once, and skip the Kubernetes check it cannot make", () => {
    const pins = { ...versions, charts: { ...versions.charts, cilium: "0.9.0" } };
    expect(versionRules(parsed(), pins).map((i) => `${formatPath(i.path)}: ${i.message}`)).toEqual([
      expect.stringMatching(/^: stacks\/versions\.ts: charts\.cilium: 0\.9\.0 has no entry in the compatibility matrix \(known: /),
    ]);
  });

  it("read versions only as whole dotted triples, and a pin outside every Talos line is named", () => {
    expect(["v1.36.3", "1.20.0", "v10.2.30", "xv1.2.3", "v1.2", "v1.2.3-rc.1", "latest"].map(versionParts)).toEqual([
      [1, 36, 3],
      [1, 20, 0],
      [10, 2, 30],
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(["v1.36.3", "latest"].map(minorLine)).toEqual(["1.36", undefined]);
    expect(
      ["v1.33.0", "v1.36.9", "v1.32.9", "v1.37.0", "v2.34.0", "latest"].map((v) => kubernetesInRange(v, { min: 33, max: 36 })),
    ).toEqual([true, true, false, false, false, false]);
    expect(pinIssues({ ...versions, talos: "latest" })).toEqual([
      { key: "talos", message: "latest is not a supported Talos line (v1.11, v1.12, v1.13)" },
    ]);
    expect(pinIssues({ ...versions, talos: "v1.9.0" })).toEqual([
      { key: "talos", message: "v1.9.0 is not a supported Talos line (v1.11, v1.12, v1.13)" },
    ]);
  });

  it("claim the pod and service CIDRs, the pool, the VIP and each node for the cross-stack check", () => {
    const n = ipToNumber;
    expect(claimedRanges(parsed())).toEqual([
      { path: "network.podCidr", what: "pod CIDR 10.244.0.0/16", range: { first: n("10.244.0.0"), last: n("10.244.255.255") } },
      { path: "network.serviceCidr", what: "service CIDR 10.245.0.0/16", range: { first: n("10.245.0.0"), last: n("10.245.255.255") } },
      {
        path: "cilium.loadBalancerPool",
        what: "LoadBalancer pool 10.25.11.100-10.25.11.119",
        range: { first: n("10.25.11.100"), last: n("10.25.11.119") },
      },
      { path: "network.vip", what: "VIP 10.25.11.10", range: { first: n("10.25.11.10"), last: n("10.25.11.10") } },
      { path: "nodes[0].ip", what: "node infra-01 10.25.11.11", range: { first: n("10.25.11.11"), last: n("10.25.11.11") } },
      { path: "nodes[1].ip", what: "node infra-02 10.25.11.12", range: { first: n("10.25.11.12"), last: n("10.25.11.12") } },
      { path: "nodes[2].ip", what: "node infra-03 10.25.11.13", range: { first: n("10.25.11.13"), last: n("10.25.11.13") } },
    ]);
  });
});

describe("IPv4 arithmetic", () => {
  it("parses and prints addresses at both ends of the space", () => {
    expect([ipToNumber("0.0.0.0"), ipToNumber("255.255.255.255"), ipToNumber("10.25.11.1")]).toEqual([0, 4294967295, 169413377]);
    expect([numberToIp(0), numberToIp(4294967295), numberToIp(169413377)]).toEqual(["0.0.0.0", "255.255.255.255", "10.25.11.1"]);
  });

  it("accepts only dotted quads of 0–255, and CIDRs whose host bits are zero", () => {
    expect(["0.0.0.0", "255.255.255.255", "10.0.0.1"].map(isIpv4)).toEqual([true, true, true]);
    expect(["256.0.0.1", "1.2.3", "1.2.3.4.5", "01.2.3.4", "a.b.c.d", ""].map(isIpv4)).toEqual([false, false, false, false, false, false]);
    expect(["10.0.0.0/8", "10.25.11.0/24", "0.0.0.0/0", "10.0.0.1/32"].map(isIpv4Cidr)).toEqual([true, true, true, true]);
    // Near misses: host bits set (also under /0), prefixes past 32 (the mask arithmetic alone would
    // wrap them), and prefixes with blanks that Number() would forgive.
    expect(
      ["10.0.0.1/8", "10.0.0.0/33", "0.0.0.0/99", "1.0.0.0/0", "10.0.0.0", "10.0.0.0/8/1", "10.0.0.0/x", "10.0.0.0/ 8", "10.0.0.0/8 "].map(
        isIpv4Cidr,
      ),
    ).toEqual(Array(9).fill(false));
  });

  it("ranges, host ranges, overlap and prefix length", () => {
    expect(cidrRange("10.25.11.0/24")).toEqual({ first: ipToNumber("10.25.11.0"), last: ipToNumber("10.25.11.255") });
    expect(hostRange("10.25.11.0/24")).toEqual({ first: ipToNumber("10.25.11.1"), last: ipToNumber("10.25.11.254") });
    // A /31 or /32 has no network and broadcast address to leave out.
    expect(hostRange("10.0.0.0/31")).toEqual(cidrRange("10.0.0.0/31"));
    expect(hostRange("10.0.0.0/30")).toEqual({ first: ipToNumber("10.0.0.1"), last: ipToNumber("10.0.0.2") });
    expect(overlaps(cidrRange("10.0.0.0/24"), cidrRange("10.0.0.255/32"))).toBe(true);
    expect(overlaps(cidrRange("10.0.0.0/24"), cidrRange("10.0.1.0/24"))).toBe(false);
    expect(prefixLength("10.25.11.0/24")).toBe(24);
  });

  it("names why an address must not be published, at each range's edges", () => {
    expect(
      [
        "10.0.0.0",
        "10.255.255.255",
        "172.16.0.0",
        "172.31.255.255",
        "192.168.0.1",
        "127.0.0.1",
        "169.254.1.1",
        "100.64.0.0",
        "100.127.255.255",
        "0.0.0.1",
      ].map(privateKind),
    ).toEqual([
      "private (RFC 1918)",
      "private (RFC 1918)",
      "private (RFC 1918)",
      "private (RFC 1918)",
      "private (RFC 1918)",
      "loopback",
      "link-local",
      "CGNAT (RFC 6598)",
      "CGNAT (RFC 6598)",
      "unspecified",
    ]);
    expect(
      ["9.255.255.255", "11.0.0.0", "172.15.255.255", "172.32.0.0", "100.63.255.255", "100.128.0.0", "1.1.1.1"].map(privateKind),
    ).toEqual(Array(7).fill(undefined));
  });
});
