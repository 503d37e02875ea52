import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { record } from "../plan/record/harness";
import { crossStackIssues } from "../stacks/crossStack";
import { StackConfigError } from "../stacks/errors";
import { chooseNewStack, claimsOf, main } from "../stacks/newStack";
import { placeholderIssues } from "../stacks/placeholders";
import { clusterFromStackFile, listStacks, readStackFile } from "../stacks/stackFile";
import { fixtureDir } from "./support";

/** A project folder holding copies of the fixture stacks, where new-stack may write. */
function scratchProject(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "new-stack-"));
  for (const f of fs.readdirSync(fixtureDir)) fs.copyFileSync(path.join(fixtureDir, f), path.join(dir, f));
  return dir;
}

function quietly<T>(run: () => T): { result: T; out: string; err: string } {
  let out = "";
  let err = "";
  const stdout = jest.spyOn(process.stdout, "write").mockImplementation((c) => ((out += String(c)), true));
  const stderr = jest.spyOn(process.stderr, "write").mockImplementation((c) => ((err += String(c)), true));
  try {
    return { result: run(), out, err };
  } finally {
    stdout.mockRestore();
    stderr.mockRestore();
  }
}

/** What a user fills in: a second site on its own subnet. */
const filled: Record<string, string> = {
  "<Kubernetes API name; a private DNS record pointing at network.vip>": "k8s.lab.example.com",
  "<install disk, e.g. /dev/nvme0n1>": "/dev/nvme0n1",
  "<DNS server the nodes use, e.g. 192.168.1.1>": "192.168.50.1",
  "<the nodes' subnet, e.g. 192.168.1.0/24>": "192.168.50.0/24",
  "<default gateway in that subnet>": "192.168.50.1",
  "<free address in that subnet for the Kubernetes API>": "192.168.50.10",
  "<address of lab-01 in nodeSubnet>": "192.168.50.11",
  "<MAC of lab-01's NIC to bond, e.g. aa:bb:cc:dd:ee:ff or a wildcard aa:bb:cc:*>": "aa:bb:cc:dd:ee:01",
  "<address of lab-02 in nodeSubnet>": "192.168.50.12",
  "<MAC of lab-02's NIC to bond, e.g. aa:bb:cc:dd:ee:ff or a wildcard aa:bb:cc:*>": "aa:bb:cc:dd:ee:02",
  "<address of lab-03 in nodeSubnet>": "192.168.50.13",
  "<MAC of lab-03's NIC to bond, e.g. aa:bb:cc:dd:ee:ff or a wildcard aa:bb:cc:*>": "aa:bb:cc:dd:ee:03",
  "<address of lab-04 in nodeSubnet>": "192.168.50.14",
  "<MAC of lab-04's NIC to bond, e.g. aa:bb:cc:dd:ee:ff or a wildcard aa:bb:cc:*>": "aa:bb:cc:dd:ee:04",
  "<first LoadBalancer address>": "192.168.50.100",
  "<last LoadBalancer address>": "192.168.50.119",
  "<LoadBalancer address for the external Gateway, inside the pool>": "192.168.50.101",
  "<ACME account e-mail>": "ops@example.com",
  "<ssh://git@github.com/you/your-gitops-repo.git>": "ssh://git@github.com/you/gitops.git",
  "<op://vault/item/field of the deploy key, or config:KEY naming a secure: value>": "op://Lab/deploy-key/private-key",
  "<the Git host's SSH host key line, e.g. from ssh-keyscan github.com>":
    "github.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl",
};

describe("npm run new-stack", () => {
  let dir: string;
  beforeEach(() => (dir = scratchProject()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("writes a template whose placeholders validation names, one per key, with the file", () => {
    const { result, out } = quietly(() => main(["lab"], dir));
    expect(result).toBe(0);
    expect(out).toContain("wrote Pulumi.lab.yaml (cluster id 3, pods 10.255.0.0/16, services 10.254.0.0/16)");
    let error: unknown;
    try {
      clusterFromStackFile(readStackFile(dir, "lab"));
    } catch (e) {
      error = e;
    }
    expect(StackConfigError.isInstance(error)).toBe(true);
    const issues = (error as StackConfigError).issues;
    expect(issues.map((i) => i.path)).toEqual([
      "cluster.endpoint.host",
      "cluster.talos.installDisk.disk",
      "cluster.talos.nameservers[0]",
      "cluster.network.nodeSubnet",
      "cluster.network.gateway",
      "cluster.network.vip",
      ...[0, 1, 2, 3].flatMap((i) => [`cluster.nodes[${i}].ip`, `cluster.nodes[${i}].nics.hardwareAddr`]),
      "cluster.cilium.loadBalancerPool.start",
      "cluster.cilium.loadBalancerPool.end",
      "cluster.cilium.gatewayIp",
      "cluster.certManager.email",
      "cluster.flux.url",
      "cluster.flux.auth.privateKey",
      "cluster.flux.auth.knownHosts",
    ]);
    expect(issues[0]).toEqual({
      file: "Pulumi.lab.yaml",
      line: 10,
      path: "cluster.endpoint.host",
      message:
        "is still the template placeholder <Kubernetes API name; a private DNS record pointing at network.vip>: replace it with this cluster's value",
    });
  });

  it("once filled in, validates and collides with no other stack", () => {
    quietly(() => main(["lab"], dir));
    const file = path.join(dir, "Pulumi.lab.yaml");
    let text = fs.readFileSync(file, "utf8");
    for (const [placeholder, value] of Object.entries(filled))
      text = text.split(`"${placeholder}"`).join(/^\d+$/.test(value) ? value : `"${value}"`);
    fs.writeFileSync(file, text);
    const stacks = listStacks(dir).map((s) => ({ file: `Pulumi.${s}.yaml`, cluster: clusterFromStackFile(readStackFile(dir, s)) }));
    expect(stacks.map((s) => s.cluster.name)).toEqual(["apps", "infra", "lab"]);
    expect(crossStackIssues(stacks)).toEqual([]);
    const lab = stacks[2]!.cluster;
    // Three control planes and a worker, each with a zone label of its own (not the role's m/w default).
    expect(lab.nodes.map((n) => [n.name, n.role, n.labels["topology.kubernetes.io/zone"]])).toEqual([
      ["lab-01", "controlplane", "zone-a"],
      ["lab-02", "controlplane", "zone-b"],
      ["lab-03", "controlplane", "zone-c"],
      ["lab-04", "worker", "zone-a"],
    ]);
    // A home lab: an L2 pool, no BGP, ClusterMesh, Cloudflare or domain.
    expect([lab.domain, lab.cilium.bgp, lab.cilium.clustermeshIp, lab.cloudflare]).toEqual([undefined, undefined, undefined, undefined]);
    expect([lab.id, lab.network.podCidr, lab.network.serviceCidr, lab.coredns.clusterIp]).toEqual([
      3,
      "10.255.0.0/16",
      "10.254.0.0/16",
      "10.254.0.10",
    ]);
  });

  it("once filled in, plans cleanly as a home lab: no Cloudflare resource, no error", async () => {
    quietly(() => main(["lab"], dir));
    const file = path.join(dir, "Pulumi.lab.yaml");
    let text = fs.readFileSync(file, "utf8");
    for (const [placeholder, value] of Object.entries(filled))
      text = text.split(`"${placeholder}"`).join(/^\d+$/.test(value) ? value : `"${value}"`);
    fs.writeFileSync(file, text);
    const recording = await record({ projectDir: dir, stack: "lab" });
    expect(recording.error).toBeUndefined();
    expect(recording.resources.filter((r) => r.type.startsWith("cloudflare:"))).toEqual([]);
    expect(recording.resources.filter((r) => r.type === "talos:machine/configurationApply:ConfigurationApply")).toHaveLength(4);
  });

  it("refuses a name, an id or a file that is already taken, and writes nothing", () => {
    for (const [argv, message] of [
      [["infra"], "new-stack: Pulumi.infra.yaml already exists\n"],
      [["lab", "--id", "2"], "new-stack: --id 2 is already another cluster's id (ClusterMesh needs them unique)\n"],
      [["lab", "--id", "256"], "new-stack: --id 256: a cluster id is 1–255\n"],
      [["Lab_1"], "new-stack: stack name Lab_1 must be an RFC 1123 label (lower-case letters, digits, '-'): it is the cluster name\n"],
    ] as const) {
      const { result, err } = quietly(() => main([...argv], dir));
      expect({ argv, result, err }).toEqual({ argv, result: 1, err: message });
    }
    expect(listStacks(dir)).toEqual(["apps", "infra"]);
    expect(quietly(() => main([], dir)).result).toBe(2);
  });

  it("keeps clear of every stack's pods, services and node subnet, and of a name used only inside a file", () => {
    const claims = claimsOf(dir);
    expect([...claims.ids].sort()).toEqual([1, 2]);
    const taken = { ...claims, ranges: [...claims.ranges, { first: 0x0aff0000, last: 0x0affffff }] };
    expect(chooseNewStack("lab", taken)).toEqual({
      name: "lab",
      id: 3,
      podCidr: "10.254.0.0/16",
      serviceCidr: "10.253.0.0/16",
      corednsIp: "10.253.0.10",
    });
    expect(() => chooseNewStack("edge", { ...claims, names: new Set(["edge"]) })).toThrow("a stack or cluster named edge already exists");
    expect(chooseNewStack("lab", claims, 7).id).toBe(7);
  });
});

describe("new-stack's choices, exactly", () => {
  let dir: string;
  beforeEach(() => (dir = scratchProject()));
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  const none = { names: new Set<string>(), ids: new Set<number>(), ranges: [] };
  const slash16 = (octet: number) => ({ first: (10 * 256 + octet) * 65536, last: (10 * 256 + octet) * 65536 + 65535 });

  it("reads names, ids and ranges from every stack file, raw: other cluster names, half-filled templates, empty files", () => {
    fs.writeFileSync(path.join(dir, "Pulumi.edge.yaml"), "config:\n  talos-gitops:cluster:\n    name: edge-site\n    id: 9\n");
    fs.writeFileSync(
      path.join(dir, "Pulumi.half.yaml"),
      'config:\n  talos-gitops:cluster:\n    name: half\n    id: "<id>"\n    network: { podCidr: "<pods>", serviceCidr: 10.9.0.1/16, nodeSubnet: 10.8.0.0/16 }\n',
    );
    fs.writeFileSync(path.join(dir, "Pulumi.empty.yaml"), "");
    fs.writeFileSync(path.join(dir, "Pulumi.bare.yaml"), "config:\n  talos-gitops:cluster:\n    name: 7\n");
    const claims = claimsOf(dir);
    expect([...claims.names].sort()).toEqual(["apps", "bare", "edge", "edge-site", "empty", "half", "infra"]);
    expect([...claims.ids].sort((a, b) => a - b)).toEqual([1, 2, 9]);
    // apps, then infra (listStacks order), each pod, service, node subnet; half's valid node subnet only.
    const n = (ip: string) => ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
    const range = (first: string, last: string) => ({ first: n(first), last: n(last) });
    expect(claims.ranges).toEqual([
      range("10.246.0.0", "10.246.255.255"),
      range("10.247.0.0", "10.247.255.255"),
      range("10.25.11.0", "10.25.11.255"),
      range("10.8.0.0", "10.8.255.255"),
      range("10.244.0.0", "10.244.255.255"),
      range("10.245.0.0", "10.245.255.255"),
      range("10.25.11.0", "10.25.11.255"),
    ]);
  });

  it("takes the ids 1 and 255 and refuses 0, 256 and fractions", () => {
    expect(chooseNewStack("lab", none, 1).id).toBe(1);
    expect(chooseNewStack("lab", none, 255).id).toBe(255);
    for (const id of [0, 256, 1.5]) expect(() => chooseNewStack("lab", none, id)).toThrow(new Error(`--id ${id}: a cluster id is 1–255`));
  });

  it("gives the first free id, 255 last, and fails when none is left", () => {
    const ids = (count: number) => new Set(Array.from({ length: count }, (_, i) => i + 1));
    expect(chooseNewStack("lab", { ...none, ids: ids(254) }).id).toBe(255);
    expect(() => chooseNewStack("lab", { ...none, ids: ids(255) })).toThrow(new Error("every cluster id 1–255 is taken"));
  });

  it("counts down from 10.255 to 10.16 for the pod and service /16s, and fails with fewer than two free", () => {
    expect(chooseNewStack("lab", none)).toEqual({
      name: "lab",
      id: 1,
      podCidr: "10.255.0.0/16",
      serviceCidr: "10.254.0.0/16",
      corednsIp: "10.254.0.10",
    });
    const from = (low: number) => ({ first: slash16(low).first, last: slash16(255).last });
    expect(chooseNewStack("lab", { ...none, ranges: [from(18)] })).toMatchObject({ podCidr: "10.17.0.0/16", serviceCidr: "10.16.0.0/16" });
    const oneLeft = { ...none, ranges: [from(17)] };
    expect(() => chooseNewStack("lab", oneLeft)).toThrow(new Error("no free /16 left in 10.0.0.0/8 for the pod and service networks"));
  });

  it("reads --id before or after the name, and prints usage for a missing name or id value", () => {
    const run = (argv: string[]) => quietly(() => main(argv, dir));
    expect(run(["--id", "7", "lab"])).toEqual({
      result: 0,
      out:
        "wrote Pulumi.lab.yaml (cluster id 7, pods 10.255.0.0/16, services 10.254.0.0/16).\n" +
        "Next: replace its <placeholders>, then `npm run plan -- lab` until it plans cleanly, `npm run schema`, and `pulumi stack init lab`.\n",
      err: "",
    });
    expect(run(["--verbose", "edge", "--id", "8"])).toMatchObject({
      result: 0,
      out: expect.stringContaining("wrote Pulumi.edge.yaml (cluster id 8,"),
    });
    const usage = { result: 2, out: "", err: "usage: npm run new-stack -- <name> [--id <1-255>]\n" };
    expect(run(["site", "--id"])).toEqual(usage);
    expect(run(["--id", "7"])).toEqual(usage);
    expect(run([])).toEqual(usage);
    expect(listStacks(dir)).toEqual(["apps", "edge", "infra", "lab"]);
  });
});

describe("placeholderIssues", () => {
  it("names every <placeholder> by path, in objects and arrays, and passes other values and nulls", () => {
    expect(placeholderIssues({ a: "<x>", b: [1, "<y y>", null], c: { d: "not <z>", e: "<>", f: "<a<b>" }, g: null, h: 5 })).toEqual([
      { path: ["a"], message: "is still the template placeholder <x>: replace it with this cluster's value" },
      { path: ["b", 1], message: "is still the template placeholder <y y>: replace it with this cluster's value" },
    ]);
  });
});
