import { isTypedDoc, mergeDocuments, mergePatches, nodePatches, talosContracts, type PatchDoc } from "../components/talos/patches";
import { allNodes, firstControlPlane, load, mergedConfig, renderedPatches, schemaErrors } from "./talos-patches-helpers";

describe("Talos patches against the config schema of each contract", () => {
  const cases = talosContracts.flatMap((contract) =>
    allNodes().map(({ label, cluster, node }) => [contract, label, cluster, node] as const),
  );

  it.each(cases)("%s %s: every rendered patch document is valid for its kind", (contract, _label, cluster, node) => {
    const docs = renderedPatches(cluster, node, contract).flat();
    // The v1alpha1 parts are partial; each is checked merged into the base below.
    expect(docs.filter(isTypedDoc).map((doc) => [doc.kind, doc.name, schemaErrors(contract, doc)])).toEqual(
      docs.filter(isTypedDoc).map((doc) => [doc.kind, doc.name, []]),
    );
  });

  it.each(cases)("%s %s: merged into the generated base as Talos does, every document is valid", (contract, _label, cluster, node) => {
    const docs = mergedConfig(cluster, node, contract);
    expect(docs.map((doc) => schemaErrors(contract, doc))).toEqual(docs.map(() => []));
  });

  describe.each(talosContracts)("%s: a near miss fails, so the checks above can fail", (contract) => {
    const cluster = load("infra");
    const cp = firstControlPlane(cluster);
    const merged = () => mergedConfig(cluster, cp, contract);

    it("rejects an unknown v1alpha1 field", () => {
      const v1alpha1 = merged().find((d) => !isTypedDoc(d)) as PatchDoc;
      expect(schemaErrors(contract, v1alpha1)).toEqual([]);
      const [bad] = mergeDocuments([v1alpha1], [{ machine: { kubelet: { nodeIp: { validSubnets: [] } } } }]);
      expect(schemaErrors(contract, bad!)).not.toEqual([]);
    });

    if (contract !== "v1.11") {
      it("rejects an unknown field in a typed document (a 1.11 bond field on BondConfig)", () => {
        const bond = merged().find((d) => isTypedDoc(d) && d.kind === "BondConfig")!;
        expect(schemaErrors(contract, bond)).toEqual([]);
        expect(schemaErrors(contract, { ...bond, deviceSelectors: [{ hardwareAddr: "f8:*" }] })).not.toEqual([]);
      });

      it("rejects a document kind the minor does not have", () => {
        expect(schemaErrors(contract, { apiVersion: "v1alpha1", kind: "NetworkDeviceConfig", name: "bond0" })).toEqual([
          `Talos ${contract} has no document v1alpha1/NetworkDeviceConfig`,
        ]);
      });
    }
  });
});

describe("patch content (1.11 contract)", () => {
  const cluster = load("infra");
  const cp = firstControlPlane(cluster);
  const config = (node = cp, c = cluster) =>
    mergePatches(
      { version: "v1alpha1", machine: { type: node.role } },
      nodePatches(c, node, "abc123", "v1.11").flatMap((p) => p.documents as PatchDoc[]),
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
    expect(config().machine.features).toEqual({
      kubePrism: { enabled: true, port: 7445 },
      hostDNS: { enabled: true, forwardKubeDNSToHost: false },
    });
    expect(config().machine.kubelet).toEqual({ nodeIP: { validSubnets: ["10.25.11.0/24"] }, clusterDNS: ["10.245.0.10"] });
  });

  it("builds bond0 over the node's NICs with its address, the route, the VLAN and the VIP", () => {
    expect(config().machine.network).toEqual({
      hostname: "infra-01",
      interfaces: [
        {
          interface: "bond0",
          bond: {
            deviceSelectors: [{ hardwareAddr: "f8:f2:1e:20:57:*", driver: "i40e" }],
            mode: "802.3ad",
            xmitHashPolicy: "layer3+4",
            lacpRate: "fast",
            miimon: 100,
          },
          dhcp: false,
          mtu: 9000,
          addresses: ["10.25.11.11/24"],
          routes: [{ network: "0.0.0.0/0", gateway: "10.25.11.1" }],
          vip: { ip: "10.25.11.10" },
          vlans: [{ vlanId: 2512, mtu: 1500, dhcp: false }],
        },
      ],
      nameservers: ["10.25.10.30"],
      disableSearchDomain: true,
    });
    expect(config().cluster.apiServer.certSANs).toEqual(["infra-k8s.monosense.io", "10.25.11.10"]);
  });

  it("drops the VLAN route metric: Talos reads dhcpOptions.routeMetric only with DHCP on, and the VLAN has none", () => {
    expect(cluster.network.vlans).toEqual([{ id: 2512, mtu: 1500, routeMetric: 4096 }]);
    const rendered = nodePatches(cluster, cp, "abc123", "v1.11").find((p) => p.name === "network")!;
    expect(JSON.stringify(rendered.documents)).not.toContain("routeMetric");
    expect(config().machine.network.interfaces[0].vlans).toEqual([{ vlanId: 2512, mtu: 1500, dhcp: false }]);
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
    expect(w.machine.nodeLabels).toEqual({
      "topology.kubernetes.io/region": "infra",
      "topology.kubernetes.io/zone": "w",
      cluster: "infra",
      gpu: "true",
    });
    expect(w.machine.nodeTaints).toEqual({ gpu: "true:NoSchedule" });
  });

  it("adds the containerd drop-in Spegel needs only when Spegel is on", () => {
    expect(config().machine.files).toEqual([
      {
        op: "create",
        path: "/etc/cri/conf.d/20-customization.part",
        content: '[plugins."io.containerd.cri.v1.images"]\n  discard_unpacked_layers = false\n',
      },
    ]);
    expect(config(cp, { ...cluster, spegel: { enabled: false } }).machine.files).toBeUndefined();
  });
});

describe("merging", () => {
  it("merges v1alpha1 lists as Talos does: interfaces by name, subnets replaced", () => {
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

  it("appends lists that have no merge key, objects included", () => {
    const out = mergePatches({}, [
      { machine: { files: [{ path: "/a" }], certSANs: ["a"] } },
      { machine: { files: [{ path: "/b" }], certSANs: ["b"] } },
    ]);
    expect(out).toEqual({ machine: { files: [{ path: "/a" }, { path: "/b" }], certSANs: ["a", "b"] } });
  });

  it("appends a keyed list's entries that are not objects", () => {
    const out = mergePatches({}, [
      { machine: { network: { interfaces: [{ interface: "bond0" }] } } },
      { machine: { network: { interfaces: ["eth0"] } } },
    ]);
    expect(out).toEqual({ machine: { network: { interfaces: [{ interface: "bond0" }, "eth0"] } } });
  });

  it("replaces an object by a value that is not one, and a list by an object", () => {
    const base = { machine: { a: { x: 1 }, b: { x: 1 }, c: { x: 1 }, d: ["x"], e: "s" } };
    const patch = { machine: { a: "s", b: null, c: ["y"], d: { y: 1 }, e: { y: 1 } } };
    expect(mergePatches(base, [patch])).toEqual({ machine: { a: "s", b: null, c: ["y"], d: { y: 1 }, e: { y: 1 } } });
  });

  it("takes a typed document without a name for the one named by the empty string", () => {
    const out = mergeDocuments(
      [{ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" }],
      [{ apiVersion: "v1alpha1", kind: "HostnameConfig", name: "", auto: "off" }],
    );
    expect(out).toEqual([{ apiVersion: "v1alpha1", kind: "HostnameConfig", name: "", auto: "off" }]);
  });

  it("merges typed documents by apiVersion, kind and name, and appends the ones the base lacks", () => {
    const out = mergeDocuments(
      [
        { version: "v1alpha1", machine: { type: "worker" } } as PatchDoc,
        { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "stable" },
      ],
      [
        { machine: { sysctls: { a: "1" } } },
        { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname: "n1" },
        { apiVersion: "v1alpha1", kind: "VLANConfig", name: "bond0.1", vlanID: 1, parent: "bond0" },
        { apiVersion: "v1alpha1", kind: "VLANConfig", name: "bond0.2", vlanID: 2, parent: "bond0" },
        { apiVersion: "v1alpha1", kind: "VLANConfig", name: "bond0.1", mtu: 1500 },
      ],
    );
    expect(out).toEqual([
      { version: "v1alpha1", machine: { type: "worker", sysctls: { a: "1" } } },
      { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname: "n1" },
      { apiVersion: "v1alpha1", kind: "VLANConfig", name: "bond0.1", vlanID: 1, parent: "bond0", mtu: 1500 },
      { apiVersion: "v1alpha1", kind: "VLANConfig", name: "bond0.2", vlanID: 2, parent: "bond0" },
    ]);
  });
});
