import type { NodeNetwork } from "./network";
import type { PatchDoc } from "./types";

/**
 * The 1.11 spelling: everything under `.machine.network` (and `.machine.time`), as Talos 1.11
 * documents it (schema `contracts/talos/config.schema.v1.11.json`, `v1alpha1.NetworkConfig`).
 */
export function legacyNetworkPatch(net: NodeNetwork): PatchDoc {
  const { bond } = net;
  const device = {
    interface: bond.name,
    bond: {
      deviceSelectors: [bond.nics],
      mode: bond.mode,
      xmitHashPolicy: bond.xmitHashPolicy,
      lacpRate: bond.lacpRate,
      miimon: bond.miimon,
    },
    dhcp: false,
    mtu: bond.mtu,
    addresses: [...bond.addresses],
    routes: bond.gateways.map((gateway) => ({ network: "0.0.0.0/0", gateway })),
    ...(net.vip === undefined ? {} : { vip: { ip: net.vip } }),
    ...(net.vlans.length > 0
      ? { vlans: net.vlans.map((v) => ({ vlanId: v.id, ...(v.mtu === undefined ? {} : { mtu: v.mtu }), dhcp: false })) }
      : {}),
  };
  return {
    machine: {
      network: { hostname: net.hostname, interfaces: [device], nameservers: [...net.nameservers], disableSearchDomain: true },
    },
  };
}

export function legacyTimePatch(servers: readonly string[]): PatchDoc {
  return { machine: { time: { disabled: false, servers: [...servers] } } };
}
