import { parseAllDocuments } from "yaml";
import {
  configContract,
  hostDns,
  isTypedDoc,
  nodePatches,
  renderPatches,
  talosContracts,
  usesNetworkDocuments,
  type PatchDoc,
} from "../components/talos/patches";
import { allNodes, firstControlPlane, load, mergedConfig } from "./talos-patches-helpers";

describe("configContract", () => {
  it.each([
    ["v1.11.6", "v1.11"],
    ["v1.11.0", "v1.11"],
    ["v1.12.11", "v1.12"],
    ["v1.13.0", "v1.13"],
    ["v1.13.0-beta.1", "v1.13"],
  ])("%s targets %s", (version, contract) => {
    expect(configContract(version)).toBe(contract);
  });

  it.each(["v1.10.7", "v1.14.0", "v2.12.0", "1.12.0", "v1.12", "latest", "xv1.12.0", "v1.12.0x", "v1.12.0 "])(
    "refuses %s, naming the supported minors and what adding one takes",
    (version) => {
      expect(() => configContract(version)).toThrow(
        new Error(
          `Talos ${version}: no machine-config patches for this version; the patches target v1.11, v1.12, v1.13 ` +
            "(add the minor to components/talos/patches and its schema to contracts/talos first)",
        ),
      );
    },
  );

  it("uses typed network documents from 1.12 on", () => {
    expect(talosContracts.map((c) => [c, usesNetworkDocuments(c)])).toEqual([
      ["v1.11", false],
      ["v1.12", true],
      ["v1.13", true],
    ]);
  });
});

describe("no deprecated field in 1.12+ output", () => {
  const cases = (["v1.12", "v1.13"] as const).flatMap((contract) =>
    allNodes().map(({ label, cluster, node }) => [contract, label, cluster, node] as const),
  );

  it.each(cases)("%s %s: nothing under machine.network, machine.time, machine.registries or machine.env", (contract, _l, cluster, node) => {
    const v1alpha1 = nodePatches(cluster, node, "abc123", contract).flatMap((p) =>
      p.documents.filter((d): d is PatchDoc => !isTypedDoc(d)),
    );
    const machineKeys = new Set(v1alpha1.flatMap((d) => Object.keys(d.machine ?? {})));
    expect(["network", "time", "registries", "env", "disks", "systemDiskEncryption"].filter((k) => machineKeys.has(k))).toEqual([]);
    const networkKeys = v1alpha1.flatMap((d) => Object.keys((d.machine?.network as object | undefined) ?? {}));
    expect(networkKeys).toEqual([]);
    const install = v1alpha1.map((d) => d.machine?.install as Record<string, unknown> | undefined).find((i) => i !== undefined);
    expect(Object.keys(install ?? {}).filter((k) => ["extraKernelArgs", "extensions", "bootloader"].includes(k))).toEqual([]);
  });

  it("1.11 keeps its network settings under machine.network (the only spelling 1.11 has)", () => {
    const cluster = load("infra");
    const v1alpha1 = nodePatches(cluster, firstControlPlane(cluster), "abc123", "v1.11").flatMap((p) => p.documents);
    expect(v1alpha1.filter(isTypedDoc)).toEqual([]);
    expect(v1alpha1.flatMap((d) => Object.keys(((d as PatchDoc).machine?.network as object | undefined) ?? {}))).toEqual([
      "hostname",
      "interfaces",
      "nameservers",
      "disableSearchDomain",
    ]);
  });

  it.each(["v1.12", "v1.13"] as const)("%s: the merged HostnameConfig has a static name and automatic names off", (contract) => {
    // The generated base holds `auto: stable`; a name beside it would fail Talos' validation.
    const cluster = load("infra");
    const hostname = mergedConfig(cluster, firstControlPlane(cluster), contract).filter(
      (d) => isTypedDoc(d) && d.kind === "HostnameConfig",
    );
    expect(hostname).toEqual([{ apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname: "infra-01" }]);
  });
});

describe("rendering", () => {
  const cluster = load("infra");
  const cp = firstControlPlane(cluster);

  it("renders each patch as one string; a patch of several documents as one ---separated stream", () => {
    const patches = nodePatches(cluster, cp, "abc123", "v1.12");
    const rendered = renderPatches(patches);
    expect(rendered).toHaveLength(patches.length);
    expect(rendered.map((text) => parseAllDocuments(text).map((d) => d.toJS()))).toEqual(patches.map((p) => p.documents));
  });

  it("quotes the HostnameConfig's auto: off, which a YAML 1.1 reader would take for false", () => {
    const network = renderPatches(nodePatches(cluster, cp, "abc123", "v1.13"))[1]!;
    expect(network.startsWith('apiVersion: v1alpha1\nkind: HostnameConfig\nauto: "off"\nhostname: infra-01\n---\n')).toBe(true);
  });

  it("keeps the patch names across contracts", () => {
    const names = talosContracts.map((c) => nodePatches(cluster, cp, "abc123", c).map((p) => p.name));
    expect(names).toEqual(
      talosContracts.map(() => [
        "install",
        "network",
        "kubernetes-network",
        "control-plane",
        "kubelet-and-features",
        "labels-and-taints",
        "time-and-sysctls",
        "spegel-containerd",
      ]),
    );
  });
});

describe("host DNS", () => {
  it("is on, without forwarding cluster DNS to the host, under every contract", () => {
    expect(hostDns()).toEqual({ enabled: true, forwardKubeDNSToHost: false });
    const cluster = load("infra");
    for (const contract of talosContracts) {
      const kubelet = nodePatches(cluster, firstControlPlane(cluster), "abc123", contract).find((p) => p.name === "kubelet-and-features")!;
      expect(kubelet.documents).toEqual([
        {
          machine: {
            kubelet: { nodeIP: { validSubnets: ["10.25.11.0/24"] }, clusterDNS: ["10.245.0.10"] },
            features: { kubePrism: { enabled: true, port: 7445 }, hostDNS: { enabled: true, forwardKubeDNSToHost: false } },
          },
        },
      ]);
    }
  });
});
