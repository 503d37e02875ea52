import { bondMembers } from "./bondMembers";
import type { TalosContract } from "./contract";
import { vlanLinkName, type NodeNetwork } from "./network";
import type { TypedDoc } from "./types";

/**
 * The 1.12+ spelling of a node's networking: typed documents only, nothing under `.machine.network`.
 * Kinds and fields are those of `contracts/talos/config.schema.v1.{12,13}.json` (identical for these
 * kinds in both) and of pkg/machinery/config/types/network/*.go at siderolabs/talos v1.12.11 and
 * v1.13.9. Each field maps one 1.11 setting; legacy.ts is the other side of that map.
 */
export function networkDocuments(net: NodeNetwork, contract: Exclude<TalosContract, "v1.11">): TypedDoc[] {
  const { bond } = net;
  const members = bondMembers(bond.name, bond.nics, contract);
  return [
    // The generated base already holds `HostnameConfig { auto: stable }` for these contracts
    // (pkg/machinery/config/generate/network.go at v1.13.0, the machinery of provider 0.8.1), and the
    // patch merges into it; a static name beside `auto: stable` is invalid (hostname.go Validate), so
    // switch `auto` off as upstream's own static-hostname patch does (generate/stdpatches).
    { apiVersion: "v1alpha1", kind: "HostnameConfig", auto: "off", hostname: net.hostname },
    ...members.aliases,
    {
      apiVersion: "v1alpha1",
      kind: "BondConfig",
      name: bond.name,
      links: [...members.links],
      bondMode: bond.mode,
      xmitHashPolicy: bond.xmitHashPolicy,
      lacpRate: bond.lacpRate,
      miimon: bond.miimon,
      mtu: bond.mtu,
      addresses: bond.addresses.map((address) => ({ address })),
      // No destination: a default route for the gateway's family (RouteConfig in link.go).
      routes: bond.gateways.map((gateway) => ({ gateway })),
    },
    ...net.vlans.map((v) => ({
      apiVersion: "v1alpha1" as const,
      kind: "VLANConfig",
      // The name 1.11 gives the same VLAN, so the kernel link does not change across the upgrade.
      name: vlanLinkName(bond.name, v.id),
      vlanID: v.id,
      parent: bond.name,
      ...(v.mtu === undefined ? {} : { mtu: v.mtu }),
    })),
    ...(net.vip === undefined ? [] : [{ apiVersion: "v1alpha1" as const, kind: "Layer2VIPConfig", name: net.vip, link: bond.name }]),
    {
      apiVersion: "v1alpha1",
      kind: "ResolverConfig",
      nameservers: net.nameservers.map((address) => ({ address })),
      // 1.11's `disableSearchDomain: true`: no search domain derived from the hostname.
      searchDomains: { disableDefault: true },
    },
  ];
}

/** `.machine.time` became `TimeSyncConfig` in 1.12 (network/time_sync.go at v1.12.11). */
export function timeSyncDocument(servers: readonly string[]): TypedDoc {
  return { apiVersion: "v1alpha1", kind: "TimeSyncConfig", enabled: true, ntp: { servers: [...servers] } };
}
