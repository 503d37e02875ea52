import {
  effectiveSettings,
  isTypedDoc,
  talosContracts,
  type ConfigDocument,
  type Nic,
  type TalosContract,
} from "../components/talos/patches";
import type { ClusterNode } from "../stacks/schema";
import { allNodes, firstControlPlane, load, renderedPatches } from "./talos-patches-helpers";

/**
 * A machine for a node: the two ports of the card its MAC pattern names (consecutive addresses), plus
 * a port of the same card under another driver and an onboard NIC under the same driver, which the
 * bond must leave out.
 */
function machineFor(node: ClusterNode): Nic[] {
  const { hardwareAddr, driver = "i40e" } = node.nics;
  const card = hardwareAddr.endsWith("*") ? hardwareAddr.slice(0, -1) : undefined;
  const ports = card ? [`${card}a0`, `${card}a1`] : [hardwareAddr];
  return [
    ...ports.map((mac, i) => ({ name: `enp1s0f${i}`, mac, driver })),
    { name: "enp1s0f2", mac: card ? `${card}a2` : "f8:f2:1e:20:57:b2", driver: "other" },
    { name: "eno1", mac: "00:11:22:33:44:a0", driver },
  ];
}

const settings = (docs: ConfigDocument[], contract: (typeof talosContracts)[number], node: ClusterNode) =>
  effectiveSettings(docs, contract, machineFor(node));

describe("the same node means the same settings under every contract", () => {
  it.each(allNodes().map(({ label, cluster, node }) => [label, cluster, node] as const))("%s", (_label, cluster, node) => {
    const [v111, v112, v113] = talosContracts.map((c) => settings(renderedPatches(cluster, node, c).flat(), c, node));
    expect(v112).toEqual(v111);
    expect(v113).toEqual(v111);
  });

  it("reads every setting of a control plane (the values the comparison above compares)", () => {
    const cluster = load("infra");
    const cp = firstControlPlane(cluster);
    const link = { dhcp: false, addresses: [], routes: [] };
    for (const contract of talosContracts) {
      expect(settings(renderedPatches(cluster, cp, contract).flat(), contract, cp)).toEqual({
        hostname: "infra-01",
        bond: {
          name: "bond0",
          members: ["f8:f2:1e:20:57:a0", "f8:f2:1e:20:57:a1"],
          mode: "802.3ad",
          xmitHashPolicy: "layer3+4",
          lacpRate: "fast",
          miimon: 100,
          mtu: 9000,
          addresses: ["10.25.11.11/24"],
          routes: [{ destination: "0.0.0.0/0", gateway: "10.25.11.1" }],
          dhcp: false,
        },
        vlans: [{ ...link, name: "bond0.2512", parent: "bond0", id: 2512, mtu: 1500 }],
        vip: { ip: "10.25.11.10", link: "bond0" },
        nameservers: ["10.25.10.30"],
        searchDomainDisabled: true,
        time: { enabled: true, servers: ["time.cloudflare.com"] },
      });
    }
  });

  it.each(["v1.12", "v1.13"] as const)("%s: a dropped document changes the settings, so the comparison can fail", (contract) => {
    const cluster = load("infra");
    const cp = firstControlPlane(cluster);
    const docs = renderedPatches(cluster, cp, contract).flat();
    const reference = settings(renderedPatches(cluster, cp, "v1.11").flat(), "v1.11", cp);
    for (const kind of ["Layer2VIPConfig", "VLANConfig", "ResolverConfig", "TimeSyncConfig", "LinkAliasConfig"]) {
      const without = docs.filter(
        (d) =>
          !(isTypedDoc(d) && d.kind === kind && (kind !== "LinkAliasConfig" || ["bond0-port0", "bond0-port%d"].includes(String(d.name)))),
      );
      expect(settings(without, contract, cp)).not.toEqual(reference);
    }
  });

  const sharedLastDigit = [
    { name: "a", mac: "f8:f2:1e:20:57:10", driver: "i40e" },
    { name: "b", mac: "f8:f2:1e:20:57:20", driver: "i40e" },
    { name: "c", mac: "f8:f2:1e:20:57:21", driver: "i40e" },
  ];

  it("v1.12: limit of naming members by the last digit of their MAC: two that share it are both left out", () => {
    const cluster = load("infra");
    const cp = firstControlPlane(cluster);
    const members = (contract: TalosContract) =>
      effectiveSettings(renderedPatches(cluster, cp, contract).flat(), contract, sharedLastDigit).bond?.members;
    expect(members("v1.11")).toEqual(sharedLastDigit.map((n) => n.mac));
    expect(members("v1.12")).toEqual(["f8:f2:1e:20:57:21"]);
  });

  it("v1.13: one pattern alias names every member, in MAC order, so none is left out", () => {
    const cluster = load("infra");
    const cp = firstControlPlane(cluster);
    // Listed in reverse: Talos names them by MAC, not by discovery order.
    const members = effectiveSettings(renderedPatches(cluster, cp, "v1.13").flat(), "v1.13", [...sharedLastDigit].reverse()).bond?.members;
    expect(members).toEqual(["f8:f2:1e:20:57:10", "f8:f2:1e:20:57:20", "f8:f2:1e:20:57:21"]);
  });
});

describe("effectiveSettings refuses what it cannot read, so nothing drops out of the comparison", () => {
  const nics: Nic[] = [];
  it("an unknown document kind", () => {
    expect(() => effectiveSettings([{ apiVersion: "v1alpha1", kind: "DHCPv4Config", name: "bond0" }], "v1.12", nics)).toThrow(
      "effectiveSettings: unread document kind DHCPv4Config",
    );
  });
  it("an unknown field of a read document", () => {
    expect(() =>
      effectiveSettings(
        [{ apiVersion: "v1alpha1", kind: "VLANConfig", name: "bond0.5", vlanID: 5, parent: "bond0", up: false }],
        "v1.13",
        nics,
      ),
    ).toThrow("effectiveSettings: unread field(s) up in VLANConfig");
  });
  it("an unknown v1alpha1 network field", () => {
    expect(() => effectiveSettings([{ machine: { network: { searchDomains: ["x"] } } }], "v1.11", nics)).toThrow(
      "effectiveSettings: unread field(s) searchDomains in machine.network",
    );
  });
  it("a selector form it does not evaluate", () => {
    const alias = {
      apiVersion: "v1alpha1" as const,
      kind: "LinkAliasConfig",
      name: "x",
      selector: { match: 'link.pci_id == "8086:1572"' },
    };
    expect(() => effectiveSettings([alias], "v1.12", nics)).toThrow('effectiveSettings: unread selector term link.pci_id == "8086:1572"');
  });
});
