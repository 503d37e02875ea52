import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { record } from "../plan/record/harness";
import { main as newStack } from "../stacks/newStack";
import { StackConfigError } from "../stacks/errors";
import { readStackFile } from "../stacks/stackFile";
import { fixtureDir, type RawCluster, recordWith } from "./support";

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/**
 * Every case runs the real program through the harness with one mistake in Pulumi.infra.yaml.
 * Each must end the run with a message naming the file and key, and register nothing.
 */
type Case = [description: string, mutate: (c: RawCluster) => void, expected: string, config?: Record<string, string | { secret: string }>];

const cases: Case[] = [
  ["cluster id 0", (c) => (c.id = 0), "cluster.id: must be at least 1"],
  ["cluster id 256", (c) => (c.id = 256), "cluster.id: must be at most 255"],
  ["cluster name not RFC 1123", (c) => (c.name = "Infra_1"), "cluster.name: must be an RFC 1123 label"],
  ["node name not RFC 1123", (c) => (c.nodes[0].name = "infra_01"), "cluster.nodes[0].name: must be an RFC 1123 label"],
  ["duplicate node name", (c) => (c.nodes[1].name = "infra-01"), "cluster.nodes[1].name: infra-01 is already the name of nodes[0]"],
  [
    "node IP outside the subnet",
    (c) => (c.nodes[2].ip = "10.25.12.13"),
    "cluster.nodes[2].ip: 10.25.12.13 is outside the node subnet 10.25.11.0/24",
  ],
  ["node IP used twice", (c) => (c.nodes[1].ip = "10.25.11.11"), "cluster.nodes[1].ip: 10.25.11.11 is already the address of nodes[0]"],
  [
    "node IP is the broadcast address",
    (c) => (c.nodes[2].ip = "10.25.11.255"),
    "cluster.nodes[2].ip: 10.25.11.255 is outside the node subnet 10.25.11.0/24 (it is the network or broadcast address)",
  ],
  ["malformed node IP", (c) => (c.nodes[0].ip = "10.25.11.300"), "cluster.nodes[0].ip: must be an IPv4 address"],
  ["even number of control planes", (c) => c.nodes.pop(), "cluster.nodes: has 2 control planes; etcd needs an odd number"],
  [
    "no control plane",
    (c) => c.nodes.forEach((n: RawCluster) => (n.role = "worker")),
    "cluster.nodes: needs at least one node with role controlplane",
  ],
  [
    "first node is a worker",
    (c) => c.nodes.unshift({ ...c.nodes[0], name: "infra-00", ip: "10.25.11.30", role: "worker" }),
    "cluster.nodes[0].role: the first node bootstraps etcd and must be a controlplane",
  ],
  ["no nodes at all", (c) => (c.nodes = []), "cluster.nodes: needs at least 1 entry"],
  ["unknown role", (c) => (c.nodes[0].role = "master"), 'cluster.nodes[0].role: must be one of "controlplane", "worker"'],
  [
    "VIP outside the subnet",
    (c) => (c.network.vip = "10.25.12.10"),
    "cluster.network.vip: 10.25.12.10 is outside the node subnet 10.25.11.0/24",
  ],
  [
    "VIP is a node address",
    (c) => (c.network.vip = "10.25.11.12"),
    "cluster.network.vip: 10.25.11.12 is the address of nodes[1] (infra-02)",
  ],
  ["VIP is the gateway", (c) => (c.network.vip = "10.25.11.1"), "cluster.network.vip: 10.25.11.1 is also the gateway"],
  [
    "gateway outside the subnet",
    (c) => (c.network.gateway = "10.25.10.1"),
    "cluster.network.gateway: 10.25.10.1 is outside the node subnet 10.25.11.0/24",
  ],
  [
    "pool holds the VIP",
    (c) => (c.cilium.loadBalancerPool.start = "10.25.11.5"),
    "cluster.cilium.loadBalancerPool: 10.25.11.5-10.25.11.119 contains 10.25.11.10, the VIP",
  ],
  [
    "pool holds a node",
    (c) => (c.cilium.loadBalancerPool.start = "10.25.11.12"),
    "cluster.cilium.loadBalancerPool: 10.25.11.12-10.25.11.119 contains 10.25.11.12, the address of nodes[1] (infra-02)",
  ],
  [
    "pool straddling the subnet boundary",
    (c) => Object.assign(c.cilium.loadBalancerPool, { start: "10.25.11.200", end: "10.25.12.20" }),
    "cluster.cilium.loadBalancerPool: 10.25.11.200-10.25.12.20 straddles the boundary of the node subnet 10.25.11.0/24",
  ],
  [
    "pool ends before it starts",
    (c) => (c.cilium.loadBalancerPool.end = "10.25.11.90"),
    "cluster.cilium.loadBalancerPool.end: 10.25.11.90 comes before the pool start 10.25.11.100",
  ],
  [
    "ClusterMesh address outside the pool",
    (c) => (c.cilium.clustermeshIp = "10.25.11.99"),
    "cluster.cilium.clustermeshIp: 10.25.11.99 is outside the LoadBalancer pool 10.25.11.100-10.25.11.119",
  ],
  [
    "Gateway and ClusterMesh share an address",
    (c) => (c.cilium.gatewayIp = "10.25.11.100"),
    "cluster.cilium.gatewayIp: 10.25.11.100 is also the ClusterMesh address",
  ],
  [
    "BGP peer outside the subnet",
    (c) => (c.cilium.bgp.peerAddress = "10.25.10.1"),
    "cluster.cilium.bgp.peerAddress: 10.25.10.1 is outside the node subnet 10.25.11.0/24",
  ],
  [
    "pod CIDR overlaps the service CIDR",
    (c) => (c.network.podCidr = "10.245.0.0/16"),
    "cluster.network.serviceCidr: 10.245.0.0/16 overlaps podCidr 10.245.0.0/16",
  ],
  [
    "pod CIDR overlaps the node subnet",
    (c) => (c.network.podCidr = "10.25.0.0/16"),
    "cluster.network.podCidr: 10.25.0.0/16 overlaps nodeSubnet 10.25.11.0/24",
  ],
  [
    "CIDR with host bits",
    (c) => (c.network.podCidr = "10.244.1.0/16"),
    "cluster.network.podCidr: must be an IPv4 network in CIDR form with no host bits set",
  ],
  [
    "CoreDNS outside the service CIDR",
    (c) => (c.coredns.clusterIp = "10.244.0.10"),
    "cluster.coredns.clusterIp: 10.244.0.10 is outside the service CIDR 10.245.0.0/16",
  ],
  [
    "CoreDNS on the kubernetes Service address",
    (c) => (c.coredns.clusterIp = "10.245.0.1"),
    "cluster.coredns.clusterIp: 10.245.0.1 is the first address of 10.245.0.0/16",
  ],
  [
    "Talos from an unsupported line",
    (c) => (c.talos.version = "v1.14.0"),
    "cluster.talos.version: v1.14.0 is not a supported Talos line (v1.11, v1.12, v1.13)",
  ],
  [
    "Talos older than the oldest line",
    (c) => (c.talos.version = "v1.10.7"),
    "cluster.talos.version: v1.10.7 is not a supported Talos line",
  ],
  ["version without v", (c) => (c.talos.version = "1.11.6"), "cluster.talos.version: must be a version such as v1.11.6"],
  [
    "Kubernetes 1.37 on Talos 1.11",
    (c) => (c.talos.kubernetesVersion = "v1.37.0"),
    "cluster.talos.kubernetesVersion: v1.37.0 is outside what Talos v1.11 supports (v1.29 to v1.34)",
  ],
  [
    "Kubernetes one minor above Talos 1.11's range",
    (c) => (c.talos.kubernetesVersion = "v1.35.0"),
    "cluster.talos.kubernetesVersion: v1.35.0 is outside what Talos v1.11 supports (v1.29 to v1.34)",
  ],
  [
    "Kubernetes 1.37 on Talos 1.13",
    (c) => Object.assign(c.talos, { version: "v1.13.9", kubernetesVersion: "v1.37.0" }),
    "cluster.talos.kubernetesVersion: v1.37.0 is outside what Talos v1.13 supports (v1.31 to v1.36)",
  ],
  [
    "Kubernetes 1.37 is outside Cilium's tested range too",
    (c) => (c.talos.kubernetesVersion = "v1.37.0"),
    "cluster.talos.kubernetesVersion: v1.37.0 is outside the Kubernetes range Cilium 1.20 is tested with (v1.33 to v1.36)",
  ],
  [
    "Kubernetes Talos supports but Cilium is not tested with",
    (c) => (c.talos.kubernetesVersion = "v1.32.9"),
    "cluster.talos.kubernetesVersion: v1.32.9 is outside the Kubernetes range Cilium 1.20 is tested with (v1.33 to v1.36)",
  ],
  [
    "the pinned Kubernetes on a stack staged at Talos 1.11",
    (c) => delete c.talos.kubernetesVersion,
    "cluster.talos.kubernetesVersion: v1.36.3 is outside what Talos v1.11 supports (v1.29 to v1.34)",
  ],
  [
    "a retired Talos extension name",
    (c) => (c.talos.schematic.officialExtensions = ["siderolabs/i915-ucode"]),
    "cluster.talos.schematic.officialExtensions[0]: siderolabs/i915-ucode no longer exists (since Talos 1.9); use siderolabs/i915",
  ],
  [
    "a retired Talos extension name on one node",
    (c) => (c.nodes[2].schematic = { officialExtensions: ["siderolabs/amdgpu-firmware"] }),
    "cluster.nodes[2].schematic.officialExtensions[0]: siderolabs/amdgpu-firmware no longer exists (since Talos 1.9); use siderolabs/amdgpu",
  ],
  [
    "plaintext credential",
    (c) => (c.flux.auth.privateKey = "-----BEGIN OPENSSH PRIVATE KEY----- abc"),
    "cluster.flux.auth.privateKey: must be an op://vault/item/field reference or config:<key> naming a secure: value (plaintext credentials are refused)",
  ],
  [
    "malformed op:// reference",
    (c) => (c.cloudflare.apiToken = "op://Prod/cloudflare"),
    "cluster.cloudflare.apiToken: must be an op://vault/item/field reference",
  ],
  [
    "config: reference to an unset key",
    (c) => (c.flux.auth.privateKey = "config:fluxKey"),
    "cluster.flux.auth.privateKey: names config key 'fluxKey', which this stack does not set",
  ],
  [
    "config: reference to a plaintext key",
    (c) => (c.flux.auth.privateKey = "config:fluxKey"),
    "cluster.flux.auth.privateKey: names config key 'fluxKey', which is not a secure: value",
    { fluxKey: "plain" },
  ],
  [
    "secure: value inside the cluster",
    (c) => (c.cloudflare.apiToken = { secure: "v1:abc" }),
    "cluster: holds a secure: value; keep the cluster description plain",
  ],
  ["misspelt key", (c) => (c.nodez = c.nodes), "cluster: unknown key 'nodez'"],
  ["missing endpoint", (c) => delete c.endpoint, "cluster.endpoint: is required (object)"],
  [
    "unquoted Cloudflare id read as a number",
    (c) => (c.cloudflare.zoneId = 2),
    "cluster.cloudflare.zoneId: must be string, not number; quote it in YAML",
  ],
  [
    "SSH auth with an https URL",
    (c) => (c.flux.url = "https://github.com/monosense-io/k8s-gitops"),
    "cluster.flux.url: SSH deploy-key auth needs an ssh:// URL",
  ],
  [
    "private address in public DNS",
    (c) => (c.cloudflare.records = [{ name: "gw", type: "A", content: "10.25.11.110" }]),
    "cluster.cloudflare.records[0].content: 10.25.11.110 is a private (RFC 1918) address; public DNS must not publish internal addresses",
  ],
  [
    "CGNAT address in public DNS",
    (c) => (c.cloudflare.records = [{ name: "gw", type: "A", content: "100.64.1.1" }]),
    "cluster.cloudflare.records[0].content: 100.64.1.1 is a CGNAT (RFC 6598) address",
  ],
  ["VLAN listed twice", (c) => c.network.vlans.push({ id: 2512 }), "cluster.network.vlans[1].id: VLAN 2512 is listed twice"],
  [
    "VLAN MTU above the bond MTU",
    (c) => (c.network.vlans[0].mtu = 9216),
    "cluster.network.vlans[0].mtu: 9216 is larger than the bond MTU 9000",
  ],
  [
    "a Talos version no release list holds",
    (c) => (c.talos.version = "v1.13.99"),
    "cluster.talos.version: v1.13.99 is not a known Talos release (v1.13.0 to v1.13.9 as of 2026-12-05)",
  ],
  [
    "empty disk selector",
    (c) => (c.talos.installDisk = { diskSelector: {} }),
    "cluster.talos.installDisk.diskSelector: needs at least one selector field",
  ],
];

describe("bad stack config", () => {
  it("has at least 30 cases", () => expect(cases.length).toBeGreaterThanOrEqual(30));

  // A rest parameter keeps jest from taking an absent 4th column for its `done` callback.
  it.each(cases)("%s: names file and key, registers nothing", async (...[, mutate, expected, config]: Case) => {
    const recording = await recordWith("infra", mutate, { config });
    expect(StackConfigError.isInstance(recording.error)).toBe(true);
    // Shape problems carry the line of their key (`file:line: key: message`); cross-field rules name the key.
    expect(recording.error?.message).toMatch(new RegExp(`Pulumi\\.infra\\.yaml(:\\d+)?: ${escapeRegExp(expected)}`));
    expect(recording.resources).toEqual([]);
  });

  // The other side of each range boundary above: these must pass (the Talos and Cilium ranges meet here).
  const accepted: Array<[talos: string, kubernetes: string]> = [
    ["v1.11.6", "v1.33.0"], // Cilium 1.20's lowest tested minor, inside Talos 1.11's range
    ["v1.11.6", "v1.34.3"], // Talos 1.11's highest minor, its highest known patch
    ["v1.12.11", "v1.35.0"], // Talos 1.12's highest minor
    ["v1.13.0", "v1.33.0"],
    ["v1.13.9", "v1.36.3"], // Talos 1.13's and Cilium 1.20's highest minor, its highest known patch
  ];
  it.each(accepted)("accepts Talos %s with Kubernetes %s", async (talos, kubernetes) => {
    const recording = await recordWith("infra", (c) => Object.assign(c.talos, { version: talos, kubernetesVersion: kubernetes }));
    expect(recording.error).toBeUndefined();
    expect(recording.resources.length).toBeGreaterThan(0);
  });

  it("reports every problem of a run at once", async () => {
    const recording = await recordWith("infra", (c) => {
      c.network.vip = "10.25.11.1";
      c.coredns.clusterIp = "10.245.0.1";
      c.nodes[2].ip = "10.25.12.13";
    });
    const issues = StackConfigError.isInstance(recording.error) ? recording.error.issues.map((i) => i.path) : [];
    expect(issues).toEqual(expect.arrayContaining(["cluster.network.vip", "cluster.coredns.clusterIp", "cluster.nodes[2].ip"]));
    expect(recording.resources).toEqual([]);
  });

  it("never repeats a plaintext credential in its message", async () => {
    const pasted = "ghp_thisLooksLikeAToken1234567890";
    const recording = await recordWith("infra", (c) => (c.cloudflare.apiToken = pasted));
    expect(recording.error?.message).toContain("cluster.cloudflare.apiToken");
    expect(recording.error?.message).not.toContain(pasted);
  });
});

/** A project folder holding the fixture's Pulumi.yaml and one stack file with the given text. */
function projectWith(stackText: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bad-yaml-"));
  fs.copyFileSync(path.join(fixtureDir, "Pulumi.yaml"), path.join(dir, "Pulumi.yaml"));
  fs.writeFileSync(path.join(dir, "Pulumi.infra.yaml"), stackText);
  return dir;
}

const fixtureText = fs.readFileSync(path.join(fixtureDir, "Pulumi.infra.yaml"), "utf8");
const lineNumberOf = (text: string, fragment: string) => text.slice(0, text.indexOf(fragment)).split("\n").length;

describe("a stack file the YAML parser refuses", () => {
  const yamlCases: Array<[what: string, text: string, line: number, expected: string]> = [
    [
      "a repeated key",
      fixtureText.replace("    id: 1\n", "    id: 1\n    id: 2\n"),
      lineNumberOf(fixtureText, "    id: 1\n") + 1,
      "cluster.id: Map keys must be unique",
    ],
    [
      "a tab used for indentation",
      fixtureText.replace("      port: 6443\n", "\tport: 6443\n"),
      lineNumberOf(fixtureText, "      port: 6443"),
      "cluster.endpoint.port: Tabs are not allowed as indentation",
    ],
    [
      "a tab under a key that opens a block",
      fixtureText.replace("    name: infra\n", "\tname: infra\n"),
      lineNumberOf(fixtureText, "    name: infra"),
      "cluster.name: Tabs are not allowed as indentation",
    ],
  ];

  it.each(yamlCases)("%s: file:line: key: message, thrown before the program runs", async (_what, text, line, expected) => {
    const dir = projectWith(text);
    expect(() => readStackFile(dir, "infra")).toThrow(`Pulumi.infra.yaml:${line}: ${expected}`);
    // The harness reads the file before the program registers anything: the run fails first.
    const run = record({ projectDir: dir, stack: "infra" });
    await expect(run).rejects.toThrow(`Pulumi.infra.yaml:${line}: ${expected}`);
    const error = await run.catch((e: unknown) => e);
    expect(StackConfigError.isInstance(error)).toBe(true);
    // Whatever prints `error.stack` (npm run plan's last resort) prints the message, no trace.
    expect((error as Error).stack).not.toMatch(/\n\s+at /);
  });

  it("npm run new-stack names the broken file and line and exits 1 (it reads every stack file for free ids)", () => {
    const dir = projectWith(fixtureText.replace("    id: 1\n", "    id: 1\n    id: 2\n"));
    const err: string[] = [];
    const spy = jest.spyOn(process.stderr, "write").mockImplementation((chunk) => (err.push(String(chunk)), true));
    try {
      expect(newStack(["lab"], dir)).toBe(1);
    } finally {
      spy.mockRestore();
    }
    expect(err.join("")).toContain(
      `Pulumi.infra.yaml:${lineNumberOf(fixtureText, "    id: 1\n") + 1}: cluster.id: Map keys must be unique`,
    );
    expect(err.join("")).not.toMatch(/\n\s+at /);
    expect(fs.existsSync(path.join(dir, "Pulumi.lab.yaml"))).toBe(false);
  });
});

describe("a wrong type is reported at its line", () => {
  const typeCases: Array<[what: string, mutate: (c: RawCluster) => void, key: string, fragment: string, expected: string]> = [
    [
      "a number where a string belongs",
      (c) => (c.nodes[1].ip = 12),
      "cluster.nodes[1].ip",
      "ip: 10.25.11.12",
      "must be string, not number",
    ],
    ["a string where a number belongs", (c) => (c.network.mtu = "9000"), "cluster.network.mtu", "mtu: 9000", "must be number, not string"],
    ["a list where a mapping belongs", (c) => (c.coredns = [1]), "cluster.coredns", "coredns:", "must be object, not array"],
    [
      "a wrong nested type",
      (c) => (c.talos.rollout = { maxUnavailableWorkers: "two" }),
      "cluster.talos.rollout.maxUnavailableWorkers",
      "    talos:",
      "must be number, not string",
    ],
  ];

  it.each(typeCases)("%s: file:line: key: message, registers nothing", async (_what, mutate, key, fragment, expected) => {
    const recording = await recordWith("infra", mutate);
    expect(StackConfigError.isInstance(recording.error)).toBe(true);
    // The line of the key in the file, or of its deepest ancestor present there (rollout is a default).
    expect(recording.error?.message).toContain(`Pulumi.infra.yaml:${lineNumberOf(fixtureText, fragment)}: ${key}: ${expected}`);
    expect(recording.resources).toEqual([]);
  });
});
