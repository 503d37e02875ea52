import * as fs from "fs";
import { main as plan } from "../plan/cli";
import { record } from "../plan/record/harness";
import { crossStackIssues } from "../stacks/crossStack";
import { formatIssue } from "../stacks/errors";
import { coveringCidr, lbAnnouncement } from "../stacks/mesh";
import { edgeCluster, meshProject, projectStacks } from "./mesh-support";
import { fixture, type RawCluster } from "./support";

/** Each case: a project built from the fixtures, what the cross-stack check says, and what a run of `stack` says. */
interface Case {
  readonly edit: Record<string, (c: RawCluster) => void>;
  readonly extra?: Record<string, RawCluster>;
  /** Expected issue lines of the cross-stack check (undefined: a per-stack rule refuses a file first). */
  readonly issues?: string[];
  /** The stack whose program run must refuse, and the fragments its error must carry. */
  readonly run: { stack: string; fragments: string[] };
}

const cases: Record<string, Case> = {
  "asymmetric peers": {
    edit: { apps: (c) => delete c.cilium.clustermesh },
    issues: [
      "Pulumi.infra.yaml: cluster.cilium.clustermesh.peers[0]: apps does not list infra in its cluster.cilium.clustermesh.peers: membership must be symmetric (Pulumi.apps.yaml)",
    ],
    run: { stack: "infra", fragments: ["Pulumi.infra.yaml: cluster.cilium.clustermesh.peers[0]", "(Pulumi.apps.yaml)"] },
  },
  "a shared cluster id": {
    edit: { apps: (c) => (c.id = 1) },
    issues: ["Pulumi.infra.yaml: cluster.id: 1 is already the id of cluster apps (Pulumi.apps.yaml)"],
    run: { stack: "apps", fragments: ["Pulumi.infra.yaml: cluster.id: 1 is already the id of cluster apps (Pulumi.apps.yaml)"] },
  },
  "overlapping pod CIDRs": {
    edit: { apps: (c) => (c.network.podCidr = "10.244.128.0/17") },
    issues: [
      "Pulumi.infra.yaml: cluster.network.podCidr: pod CIDR 10.244.0.0/16 overlaps pod CIDR 10.244.128.0/17 of cluster apps (Pulumi.apps.yaml)",
    ],
    run: {
      stack: "apps",
      fragments: ["Pulumi.infra.yaml: cluster.network.podCidr: pod CIDR 10.244.0.0/16 overlaps", "(Pulumi.apps.yaml)"],
    },
  },
  "a clustermeshIp outside its pool": {
    edit: { infra: (c) => (c.cilium.clustermeshIp = "10.25.11.150") },
    run: {
      stack: "apps",
      fragments: [
        "Pulumi.apps.yaml: cluster.cilium.clustermesh: peer infra's stack file does not validate (cluster.cilium.clustermeshIp: 10.25.11.150 is outside the LoadBalancer pool 10.25.11.100-10.25.11.119)",
        "(Pulumi.infra.yaml)",
      ],
    },
  },
  "two CA owners": {
    edit: { apps: (c) => delete c.cilium.clustermesh.caFrom },
    issues: [
      "Pulumi.infra.yaml: cluster.cilium.clustermesh.caFrom: is left out here and on apps: a mesh has exactly one CA owner; set caFrom: apps (Pulumi.apps.yaml)",
    ],
    run: {
      stack: "apps",
      fragments: ["Pulumi.infra.yaml: cluster.cilium.clustermesh.caFrom: is left out here and on apps", "(Pulumi.apps.yaml)"],
    },
  },
  "a pool straddling the subnet boundary": {
    edit: {
      infra: (c) =>
        Object.assign(c.cilium, {
          loadBalancerPool: { start: "10.25.11.240", end: "10.25.12.15" },
          clustermeshIp: "10.25.11.241",
          gatewayIp: "10.25.11.242",
        }),
    },
    run: {
      stack: "apps",
      fragments: [
        "Pulumi.apps.yaml: cluster.cilium.clustermesh: peer infra's stack file does not validate (cluster.cilium.loadBalancerPool: 10.25.11.240-10.25.12.15 straddles the boundary of the node subnet 10.25.11.0/24",
        "(Pulumi.infra.yaml)",
      ],
    },
  },
  "a member naming another member as CA owner": {
    edit: { infra: (c) => (c.cilium.clustermesh.peers = ["apps", "edge"]), apps: (c) => (c.cilium.clustermesh.peers = ["infra", "edge"]) },
    extra: { edge: { ...edgeCluster(), cilium: { ...edgeCluster().cilium, clustermesh: { peers: ["infra", "apps"], caFrom: "apps" } } } },
    issues: [
      "Pulumi.edge.yaml: cluster.cilium.clustermesh.caFrom: apps is not the CA owner of this mesh; infra owns it (Pulumi.infra.yaml)",
    ],
    run: { stack: "edge", fragments: ["apps is not the CA owner of this mesh; infra owns it (Pulumi.infra.yaml)"] },
  },
  "a peer no stack file describes": {
    edit: { infra: (c) => (c.cilium.clustermesh.peers = ["apps", "lab"]) },
    issues: ["Pulumi.infra.yaml: cluster.cilium.clustermesh.peers[1]: no stack file describes a cluster named lab (clusters: apps, infra)"],
    run: { stack: "infra", fragments: ["no stack file describes a cluster named lab"] },
  },
  "pod CIDRs whose covering CIDR takes the node subnet": {
    edit: { apps: (c) => (c.network.podCidr = "10.64.0.0/16") },
    issues: ["apps", "infra"].map(
      (stack) =>
        `Pulumi.${stack}.yaml: cluster.network.podCidr: the mesh's pod CIDRs (10.64.0.0/16, 10.244.0.0/16) are covered only by 10.0.0.0/8 ` +
        "(Cilium's ipv4NativeRoutingCIDR), which overlaps the node subnet 10.25.11.0/24: traffic to the nodes would no longer be masqueraded; " +
        `renumber the pod CIDRs close together (Pulumi.${stack === "apps" ? "infra" : "apps"}.yaml)`,
    ),
    run: {
      stack: "infra",
      fragments: ["covered only by 10.0.0.0/8 (Cilium's ipv4NativeRoutingCIDR), which overlaps the node subnet 10.25.11.0/24"],
    },
  },
};

describe.each(Object.entries(cases))("ClusterMesh refuses %s", (_name, c) => {
  let dir: string;
  beforeAll(() => (dir = meshProject(c.edit, c.extra)));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  if (c.issues) {
    it("in the cross-stack check, naming both files", () => {
      expect(crossStackIssues(projectStacks(dir)).map(formatIssue).sort()).toEqual([...c.issues!].sort());
    });
  }

  it("in the program's run, before anything is registered", async () => {
    const r = await record({ projectDir: dir, stack: c.run.stack });
    expect(r.resources).toEqual([]);
    for (const fragment of c.run.fragments) expect(r.error?.message).toContain(fragment);
  });
});

describe("the per-stack mesh rules", () => {
  const issuesOf = async (edit: (c: RawCluster) => void) => {
    const dir = meshProject({ apps: edit });
    try {
      return (await record({ projectDir: dir, stack: "apps" })).error?.message ?? "";
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  };

  it("refuses this cluster among its peers, a CA owner outside the peers, and caGeneration on a member", async () => {
    const message = await issuesOf((c) => {
      c.cilium.clustermesh = { peers: ["infra", "apps"], caFrom: "lab", caGeneration: 2 };
    });
    expect(message).toContain("Pulumi.apps.yaml: cluster.cilium.clustermesh.peers[1]: apps is this cluster; list only the other members");
    expect(message).toContain("Pulumi.apps.yaml: cluster.cilium.clustermesh.caFrom: lab is not one of peers");
    expect(message).toContain("Pulumi.apps.yaml: cluster.cilium.clustermesh.caGeneration: only the CA owner (lab) sets caGeneration");
  });
});

describe("the offline plan", () => {
  it("reports a mesh error with both files and exits 1", async () => {
    const dir = meshProject({ apps: (c) => delete c.cilium.clustermesh.caFrom });
    const err: string[] = [];
    const write = jest.spyOn(process.stderr, "write").mockImplementation((chunk: string | Uint8Array) => {
      err.push(String(chunk));
      return true;
    });
    try {
      expect(await plan(["apps"], { projectDir: dir })).toBe(1);
    } finally {
      write.mockRestore();
      fs.rmSync(dir, { recursive: true, force: true });
    }
    expect(err.join("")).toContain("Pulumi.infra.yaml: cluster.cilium.clustermesh.caFrom: is left out here and on apps");
    expect(err.join("")).toContain("(Pulumi.apps.yaml)");
  });
});

describe("mesh arithmetic", () => {
  it("the covering CIDR is the smallest aligned one", () => {
    expect(coveringCidr(["10.244.0.0/16", "10.246.0.0/16"])).toBe("10.244.0.0/14");
    expect(coveringCidr(["10.244.0.0/16", "10.246.0.0/16", "10.248.0.0/16"])).toBe("10.240.0.0/12");
    expect(coveringCidr(["10.244.0.0/16"])).toBe("10.244.0.0/16");
  });

  it("the pool's place decides the announcement: inside L2, outside BGP, across neither", () => {
    const infra = fixture("infra");
    const withPool = (start: string, end: string) => ({ ...infra, cilium: { ...infra.cilium, loadBalancerPool: { start, end } } });
    expect(lbAnnouncement(infra)).toBe("l2");
    expect(lbAnnouncement(withPool("10.25.50.0", "10.25.50.19"))).toBe("bgp");
    expect(lbAnnouncement(withPool("10.25.11.240", "10.25.12.15"))).toBeUndefined();
    expect(lbAnnouncement(withPool("10.25.11.250", "10.25.11.255"))).toBeUndefined();
  });
});
