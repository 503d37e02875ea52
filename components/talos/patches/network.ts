import { prefixLength } from "../../../lib/ipv4";
import type { ClusterConfig } from "../../../stacks/load";
import type { ClusterNode } from "../../../stacks/schema";

/**
 * A node's host networking, independent of how a Talos contract spells it: legacy.ts renders it as
 * `.machine.network` (1.11), documents.ts as typed documents (1.12 and later). Both renderers read
 * only this, so they cannot disagree on what the settings are.
 */
export interface NodeNetwork {
  readonly hostname: string;
  readonly bond: {
    readonly name: string;
    /** The member NICs: a (wildcard) MAC pattern and an optional kernel driver. */
    readonly nics: { readonly hardwareAddr: string; readonly driver?: string };
    readonly mode: string;
    readonly xmitHashPolicy: string;
    readonly lacpRate: string;
    readonly miimon: number;
    readonly mtu: number;
    /** CIDR form, e.g. 10.25.11.11/24. */
    readonly addresses: readonly string[];
    /** Default gateways (the only routes the stack describes). */
    readonly gateways: readonly string[];
  };
  /** The layer-2 VIP on the bond; control planes only. */
  readonly vip?: string;
  /** VLANs on the bond, without addresses: the stack gives none (see the report on `routeMetric`). */
  readonly vlans: ReadonlyArray<{ readonly id: number; readonly mtu?: number }>;
  readonly nameservers: readonly string[];
  readonly timeServers: readonly string[];
}

export const bondName = "bond0";

export function nodeNetwork(cluster: ClusterConfig, node: ClusterNode): NodeNetwork {
  const { network } = cluster;
  return {
    hostname: node.name,
    bond: {
      name: bondName,
      nics: node.nics.driver === undefined ? { hardwareAddr: node.nics.hardwareAddr } : { ...node.nics },
      mode: network.bond.mode,
      xmitHashPolicy: network.bond.xmitHashPolicy,
      lacpRate: network.bond.lacpRate,
      miimon: network.bond.miimon,
      mtu: network.mtu,
      addresses: [`${node.ip}/${prefixLength(network.nodeSubnet)}`],
      gateways: [network.gateway],
    },
    // Talos elects the VIP's holder through etcd, so only control planes carry it.
    ...(node.role === "controlplane" ? { vip: network.vip } : {}),
    // `routeMetric` is deliberately not carried: Talos reads a VLAN's route metric only from its DHCP
    // options, and only when DHCP is on (operator_config.go at siderolabs/talos v1.11.6, the
    // `vlan.DHCP() && ...RouteMetric()` branch); these VLANs have no DHCP and no routes to weigh.
    vlans: network.vlans.map((v) => (v.mtu === undefined ? { id: v.id } : { id: v.id, mtu: v.mtu })),
    nameservers: cluster.talos.nameservers,
    timeServers: cluster.talos.timeServers,
  };
}

/** The kernel name Talos gives a VLAN link on a parent (nethelpers.VLANLinkName: `<parent>.<id>`). */
export function vlanLinkName(parent: string, id: number): string {
  return `${parent}.${id}`;
}
