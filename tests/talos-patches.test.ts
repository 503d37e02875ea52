import Ajv2020 from "ajv/dist/2020";
import { parse as parseYaml } from "yaml";
import { mergePatches, nodePatches, renderPatches, type PatchDoc } from "../components/talos/patches";
import { fixture, readContract, stacks } from "./support";

const load = (stack: string) => fixture(stack);
const merged = (patches: PatchDoc[], type: string) => mergePatches({ version: "v1alpha1", machine: { type } }, patches);

describe("Talos patches against the Talos 1.11 config schema", () => {
  const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false });
  const schema = readContract<{ $id: string }>("talos/config.schema.v1.11.json");
  ajv.addSchema(schema);
  const validate = ajv.getSchema(`${schema.$id}#/$defs/v1alpha1.Config`)!;

  const allNodes = stacks.flatMap((stack) => load(stack).nodes.map((node) => [stack, node.name] as const));
  it.each(allNodes)("%s/%s: every patch, rendered and merged as Talos does, is valid", (stack, name) => {
    const cluster = load(stack);
    const node = cluster.nodes.find((n) => n.name === name)!;
    const docs = renderPatches(nodePatches(cluster, node, "abc123")).map((y) => parseYaml(y) as PatchDoc);
    expect(validate(merged(docs, node.role)) ? [] : validate.errors).toEqual([]);
  });

  it("rejects an unknown field, so the check above can fail", () => {
    const cluster = load("infra");
    const docs = nodePatches(cluster, cluster.nodes[0]!, "abc123").map((p) => p.patch);
    expect(validate(merged([...docs, { machine: { kubelet: { nodeIp: { validSubnets: [] } } } }], "controlplane"))).toBe(false);
  });
});

describe("patch content", () => {
  const cluster = load("infra");
  const cp = cluster.nodes[0]!;
  const config = (node = cp, c = cluster) =>
    merged(
      nodePatches(c, node, "abc123").map((p) => p.patch),
      node.role,
    ) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

  it("installs from the Image Factory installer for the node's schematic and Talos version", () => {
    expect(config().machine.install).toEqual({
      diskSelector: { model: "Samsung SSD 860" },
      image: "factory.talos.dev/metal-installer/abc123:v1.11.6",
      wipe: false,
    });
  });

  it("hands networking to Cilium and DNS to our CoreDNS", () => {
    const c = config().cluster;
    expect(c.network).toEqual({ podSubnets: ["10.244.0.0/16"], serviceSubnets: ["10.245.0.0/16"], cni: { name: "none" } });
    expect(c.proxy).toEqual({ disabled: true });
    expect(c.coreDNS).toEqual({ disabled: true });
    expect(config().machine.features.kubePrism).toEqual({ enabled: true, port: 7445 });
    expect(config().machine.kubelet.nodeIP.validSubnets).toEqual(["10.25.11.0/24"]);
    expect(config().machine.kubelet.clusterDNS).toEqual(["10.245.0.10"]);
  });

  it("builds bond0 over the node's NICs with its address, the route, the VLAN and the VIP", () => {
    const network = config().machine.network;
    expect(network.hostname).toBe("infra-01");
    expect(network.interfaces).toEqual([
      expect.objectContaining({
        interface: "bond0",
        bond: {
          deviceSelectors: [{ hardwareAddr: "f8:f2:1e:20:57:*", driver: "i40e" }],
          mode: "802.3ad",
          xmitHashPolicy: "layer3+4",
          lacpRate: "fast",
          miimon: 100,
        },
        mtu: 9000,
        addresses: ["10.25.11.11/24"],
        routes: [{ network: "0.0.0.0/0", gateway: "10.25.11.1" }],
        vip: { ip: "10.25.11.10" },
        vlans: [{ vlanId: 2512, mtu: 1500, dhcp: false, dhcpOptions: { routeMetric: 4096 } }],
      }),
    ]);
    expect(config().cluster.apiServer.certSANs).toEqual(["infra-k8s.monosense.io", "10.25.11.10"]);
  });

  it("gives workers no VIP and no control-plane settings, and carries labels and taints", () => {
    const worker = {
      ...cp,
      name: "infra-w1",
      ip: "10.25.11.40",
      role: "worker" as const,
      labels: { gpu: "true" },
      taints: [{ key: "gpu", value: "true", effect: "NoSchedule" as const }],
    };
    const w = config(worker);
    expect(w.machine.network.interfaces[0].vip).toBeUndefined();
    expect(w.cluster.apiServer).toBeUndefined();
    expect(w.machine.nodeLabels).toMatchObject({ gpu: "true", "topology.kubernetes.io/zone": "w" });
    expect(w.machine.nodeTaints).toEqual({ gpu: "true:NoSchedule" });
  });

  it("adds the containerd drop-in Spegel needs only when Spegel is on", () => {
    expect(config().machine.files).toEqual([
      expect.objectContaining({
        path: "/etc/cri/conf.d/20-customization.part",
        content: expect.stringContaining("discard_unpacked_layers = false"),
      }),
    ]);
    expect(config(cp, { ...cluster, spegel: { enabled: false } }).machine.files).toBeUndefined();
  });

  it("merges lists as Talos does: interfaces by name, subnets replaced", () => {
    const out = mergePatches({}, [
      { machine: { network: { interfaces: [{ interface: "bond0", mtu: 1500 }] } }, cluster: { network: { podSubnets: ["a"] } } },
      {
        machine: { network: { interfaces: [{ interface: "bond0", dhcp: false }, { interface: "eth0" }] } },
        cluster: { network: { podSubnets: ["b"] } },
      },
    ]) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(out.machine.network.interfaces).toEqual([{ interface: "bond0", mtu: 1500, dhcp: false }, { interface: "eth0" }]);
    expect(out.cluster.network.podSubnets).toEqual(["b"]);
  });
});
