import Ajv2020 from "ajv/dist/2020";
import * as fs from "fs";
import * as path from "path";
import { parse as parseYaml } from "yaml";
import { crossStackIssues } from "../stacks/crossStack";
import { stackJsonSchema, stackJsonSchemaFile } from "../stacks/jsonSchema";
import { clusterKeyDocs, configReferenceFile, withConfigReference } from "../stacks/keyPaths";
import { clusterFromStackFile, listStacks, projectName, readStackFile } from "../stacks/stackFile";
import { versions } from "../stacks/versions";
import { record } from "../plan/record/harness";
import { clone, fixture, fixtureDir, liveStacks, ofType, repoRoot, stacks } from "./support";

describe("the fixture stack files (shaped like the seed clusters)", () => {
  it("are exactly the infra and apps stacks", () => {
    expect(listStacks(fixtureDir)).toEqual(["apps", "infra"]);
  });

  it.each(stacks)("%s validates, runs the seed's versions and gets the derived defaults", (stack) => {
    const cluster = fixture(stack);
    expect(cluster.name).toBe(stack);
    // The fixtures are the running seed: Talos 1.11 / Kubernetes 1.34, staged below the pins.
    expect([cluster.talos.version, cluster.talos.kubernetesVersion]).toEqual(["v1.11.6", "v1.34.1"]);
    expect(cluster.talos.schematic.officialExtensions).toEqual([
      "siderolabs/intel-ucode",
      "siderolabs/i915",
      "siderolabs/iscsi-tools",
      "siderolabs/nfsrahead",
    ]);
    expect(cluster.flux.path).toBe(`kubernetes/clusters/${stack}`);
    expect(cluster.nodes.map((n) => n.role)).toEqual(["controlplane", "controlplane", "controlplane"]);
    expect(cluster.cloudflare?.tunnelName).toBe(`${stack}-tunnel`);
  });

  it.each(stacks)("%s without the staged versions takes the pins of stacks/versions.ts", (stack) => {
    const raw = readStackFile(fixtureDir, stack);
    const cluster = clone(raw.config.cluster) as { talos: Record<string, unknown> };
    delete cluster.talos.version;
    delete cluster.talos.kubernetesVersion;
    const loaded = clusterFromStackFile({ ...raw, config: { ...raw.config, cluster } });
    expect([loaded.talos.version, loaded.talos.kubernetesVersion]).toEqual([versions.talos, versions.kubernetes]);
    expect([versions.talos, versions.kubernetes]).toEqual(["v1.13.9", "v1.36.3"]);
  });

  it("describe the seed topology", () => {
    const infra = fixture("infra");
    const apps = fixture("apps");
    expect([infra.id, apps.id]).toEqual([1, 2]);
    expect(infra.nodes.map((n) => `${n.name}=${n.ip}`)).toEqual(["infra-01=10.25.11.11", "infra-02=10.25.11.12", "infra-03=10.25.11.13"]);
    expect(apps.nodes.map((n) => `${n.name}=${n.ip}`)).toEqual(["apps-01=10.25.11.14", "apps-02=10.25.11.15", "apps-03=10.25.11.16"]);
    expect([infra.network.podCidr, infra.network.serviceCidr, apps.network.podCidr, apps.network.serviceCidr]).toEqual([
      "10.244.0.0/16",
      "10.245.0.0/16",
      "10.246.0.0/16",
      "10.247.0.0/16",
    ]);
    expect([infra.coredns, apps.coredns]).toEqual([
      { clusterIp: "10.245.0.10", replicas: 2 },
      { clusterIp: "10.247.0.10", replicas: 2 },
    ]);
    expect(infra.cilium).toMatchObject({
      loadBalancerPool: { start: "10.25.11.100", end: "10.25.11.119" },
      clustermeshIp: "10.25.11.100",
      gatewayIp: "10.25.11.110",
    });
    expect(apps.cilium).toMatchObject({
      loadBalancerPool: { start: "10.25.11.120", end: "10.25.11.139" },
      clustermeshIp: "10.25.11.120",
      gatewayIp: "10.25.11.121",
    });
    expect([infra.cilium.bgp, apps.cilium.bgp]).toEqual([
      { localAsn: 64512, peerAddress: "10.25.11.1", peerAsn: 64501 },
      { localAsn: 64513, peerAddress: "10.25.11.1", peerAsn: 64501 },
    ]);
    for (const c of [infra, apps]) {
      expect(c.network).toMatchObject({
        nodeSubnet: "10.25.11.0/24",
        gateway: "10.25.11.1",
        mtu: 9000,
        bond: { mode: "802.3ad", xmitHashPolicy: "layer3+4" },
      });
      expect(c.network.vlans.map((v) => v.id)).toEqual([2512]);
      expect(c.flux.auth.type).toBe("ssh");
      expect(c.domain).toBe("monosense.io");
    }
    expect([infra.endpoint.host, apps.endpoint.host]).toEqual(["infra-k8s.monosense.io", "apps-k8s.monosense.io"]);
  });
});

describe("cross-stack check", () => {
  const loaded = () => stacks.map((stack) => ({ file: `Pulumi.${stack}.yaml`, cluster: fixture(stack) }));

  it("finds the committed stacks disjoint", () => {
    expect(crossStackIssues(loaded())).toEqual([]);
  });

  const collisions: Array<[string, (apps: ReturnType<typeof loaded>[number]["cluster"]) => unknown, string]> = [
    [
      "a shared name",
      (a) => ({ ...a, name: "infra" }),
      "Pulumi.apps.yaml: cluster.name: infra is already the name of another cluster (Pulumi.infra.yaml)",
    ],
    ["a shared id", (a) => ({ ...a, id: 1 }), "cluster.id: 1 is already the id of cluster infra"],
    [
      "overlapping pod CIDRs",
      (a) => ({ ...a, network: { ...a.network, podCidr: "10.244.0.0/15" } }),
      "cluster.network.podCidr: pod CIDR 10.244.0.0/15 overlaps pod CIDR 10.244.0.0/16 of cluster infra",
    ],
    [
      "overlapping service CIDRs",
      (a) => ({ ...a, network: { ...a.network, serviceCidr: "10.245.128.0/17" } }),
      "cluster.network.serviceCidr: service CIDR 10.245.128.0/17 overlaps service CIDR 10.245.0.0/16",
    ],
    [
      "overlapping pools",
      (a) => ({ ...a, cilium: { ...a.cilium, loadBalancerPool: { start: "10.25.11.115", end: "10.25.11.139" } } }),
      "LoadBalancer pool 10.25.11.115-10.25.11.139 overlaps LoadBalancer pool 10.25.11.100-10.25.11.119",
    ],
    [
      "a shared VIP",
      (a) => ({ ...a, network: { ...a.network, vip: "10.25.11.10" } }),
      "cluster.network.vip: VIP 10.25.11.10 overlaps VIP 10.25.11.10 of cluster infra",
    ],
    [
      "the same anchor record in a shared zone",
      (a) => ({ ...a, cloudflare: { ...a.cloudflare!, anchor: "external.monosense.io" } }),
      "cluster.cloudflare.anchor: external.monosense.io is already cluster infra's anchor in the same zone",
    ],
    [
      "the same tunnel ingress names in a shared zone",
      (a) => ({ ...a, cloudflare: { ...a.cloudflare!, ingressHostname: "*.monosense.io" } }),
      "cluster.cloudflare.ingressHostname: *.monosense.io is already routed to cluster infra's tunnel",
    ],
    [
      "a node IP used twice",
      (a) => ({ ...a, nodes: [{ ...a.nodes[0], ip: "10.25.11.13" }, ...a.nodes.slice(1)] }),
      "cluster.nodes[0].ip: node apps-01 10.25.11.13 overlaps node infra-03 10.25.11.13",
    ],
  ];

  it.each(collisions)("fails on %s", (_what, mutate, message) => {
    const [infra, apps] = loaded();
    const issues = crossStackIssues([infra!, { ...apps!, cluster: mutate(clone(apps!.cluster)) as typeof apps.cluster }]);
    expect(issues.map((i) => `${i.file}: ${i.path}: ${i.message}`).join("\n")).toContain(message);
  });
});

describe("JSON Schema for editors", () => {
  it("is committed and up to date with the zod schema (npm run schema)", () => {
    const committed = JSON.parse(fs.readFileSync(path.join(repoRoot, stackJsonSchemaFile), "utf8"));
    expect(committed).toEqual(stackJsonSchema(projectName(repoRoot)));
  });

  it("accepts the live and fixture stack files and rejects a misspelt key", () => {
    const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: false });
    const validate = ajv.compile(stackJsonSchema(projectName(repoRoot)));
    const files = [
      ...liveStacks.map((s) => path.join(repoRoot, `Pulumi.${s}.yaml`)),
      ...stacks.map((s) => path.join(fixtureDir, `Pulumi.${s}.yaml`)),
    ];
    for (const file of files) {
      const doc = parseYaml(fs.readFileSync(file, "utf8"));
      expect({ file, errors: validate(doc) ? [] : validate.errors }).toEqual({ file, errors: [] });
    }
    const doc = parseYaml(fs.readFileSync(path.join(fixtureDir, "Pulumi.infra.yaml"), "utf8"));
    doc.config["talos-gitops:cluster"].nodez = [];
    expect(validate(doc)).toBe(false);
  });
});

describe("configuration reference (docs/configuration.md)", () => {
  it("is generated from the schema and up to date (npm run schema)", () => {
    const readme = fs.readFileSync(path.join(repoRoot, configReferenceFile), "utf8");
    expect(withConfigReference(readme)).toBe(readme);
  });

  it("documents every key of the schema", () => {
    const readme = fs.readFileSync(path.join(repoRoot, configReferenceFile), "utf8");
    const missing = clusterKeyDocs().filter((d) => !readme.includes(`\`${d.path}\``));
    expect(missing.map((d) => d.path)).toEqual([]);
    expect(clusterKeyDocs().map((d) => d.path)).toContain("cluster.nodes[].ip");
  });
});

describe("a 3-node home lab without BGP, ClusterMesh or Cloudflare (tests/fixtures/homelab)", () => {
  const homelabDir = path.join(__dirname, "fixtures", "homelab");

  it("sets none of cilium.bgp, cilium.clustermeshIp, domain", () => {
    const cluster = readStackFile(homelabDir, "homelab").config.cluster as Record<string, Record<string, unknown>>;
    expect(cluster.domain).toBeUndefined();
    expect(cluster.cilium).not.toHaveProperty("bgp");
    expect(cluster.cilium).not.toHaveProperty("clustermeshIp");
  });

  it("plans cleanly: no error, no Cloudflare resource, no DNS-01 issuer, cluster-settings without the features' keys", async () => {
    const recording = await record({ projectDir: homelabDir, stack: "homelab" });
    expect(recording.error).toBeUndefined();
    expect(recording.resources.length).toBeGreaterThan(0);
    expect(recording.resources.filter((r) => r.type.startsWith("cloudflare:"))).toEqual([]);
    const customResources = ofType(recording, "kubernetes:apiextensions.k8s.io:CustomResource");
    expect(customResources.filter((r) => (r.inputs as { kind?: string }).kind === "ClusterIssuer")).toEqual([]);
    const settings = ofType(recording, "kubernetes:core/v1:ConfigMap").find((r) => r.name.includes("cluster-settings"));
    const data = (settings?.inputs as { data?: Record<string, string> } | undefined)?.data ?? {};
    expect(data.CLUSTER).toBe("homelab");
    expect(data.CILIUM_L2_ANNOUNCEMENTS).toBe("true");
    for (const key of ["CLUSTERMESH_IP", "CILIUM_BGP_LOCAL_ASN", "CILIUM_BGP_PEER_ASN", "CILIUM_BGP_PEER_ADDRESS", "SECRET_DOMAIN"])
      expect(data).not.toHaveProperty(key);
  });
});
