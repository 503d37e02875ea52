import { stringify } from "yaml";
import { defaults } from "../../stacks/defaults";
import { prefixLength } from "../../stacks/ipv4";
import type { ClusterConfig } from "../../stacks/load";
import type { ClusterNode, DiskSelection, Schematic } from "../../stacks/schema";

/**
 * Talos machine-config patches for one node, as pure functions of the validated config. They carry
 * no secret (the PKI comes from the generated config), so a preview shows exactly which line changed.
 * Each patch is a strategic-merge document for Talos 1.11's v1alpha1 config.
 */

export type PatchDoc = { machine?: Record<string, unknown>; cluster?: Record<string, unknown> };

export interface NamedPatch {
  /** What the patch is about, for the plan's output. */
  readonly name: string;
  readonly patch: PatchDoc;
}

export function nodePatches(cluster: ClusterConfig, node: ClusterNode, schematicId: string): NamedPatch[] {
  const isControlPlane = node.role === "controlplane";
  return [
    { name: "install", patch: installPatch(cluster, node, schematicId) },
    { name: "network", patch: networkPatch(cluster, node) },
    { name: "kubernetes-network", patch: kubernetesNetworkPatch(cluster) },
    ...(isControlPlane ? [{ name: "control-plane", patch: controlPlanePatch(cluster) }] : []),
    { name: "kubelet-and-features", patch: kubeletPatch(cluster) },
    { name: "labels-and-taints", patch: labelsPatch(cluster, node) },
    { name: "time-and-sysctls", patch: timePatch(cluster) },
    ...(cluster.spegel.enabled ? [{ name: "spegel-containerd", patch: spegelPatch() }] : []),
  ];
}

/** The patches as the provider takes them: one YAML document each. */
export function renderPatches(patches: readonly NamedPatch[]): string[] {
  return patches.map((p) => stringify(p.patch, { lineWidth: 0 }));
}

/** The Image Factory schematic document (its content hash is the schematic id). */
export function schematicYaml(schematic: Schematic): string {
  return stringify(
    {
      customization: { extraKernelArgs: schematic.extraKernelArgs, systemExtensions: { officialExtensions: schematic.officialExtensions } },
    },
    { lineWidth: 0 },
  );
}

export function installerImage(schematicId: string, talosVersion: string): string {
  return `factory.talos.dev/metal-installer/${schematicId}:${talosVersion}`;
}

function installPatch(cluster: ClusterConfig, node: ClusterNode, schematicId: string): PatchDoc {
  const disk: DiskSelection = node.installDisk ?? cluster.talos.installDisk;
  const selection = "disk" in disk ? { disk: disk.disk } : { diskSelector: stripUndefined(disk.diskSelector) };
  return { machine: { install: { ...selection, image: installerImage(schematicId, cluster.talos.version), wipe: false } } };
}

function networkPatch(cluster: ClusterConfig, node: ClusterNode): PatchDoc {
  const { network } = cluster;
  const bond = {
    interface: "bond0",
    bond: {
      deviceSelectors: [stripUndefined({ hardwareAddr: node.nics.hardwareAddr, driver: node.nics.driver })],
      mode: network.bond.mode,
      xmitHashPolicy: network.bond.xmitHashPolicy,
      lacpRate: network.bond.lacpRate,
      miimon: network.bond.miimon,
    },
    dhcp: false,
    mtu: network.mtu,
    addresses: [`${node.ip}/${prefixLength(network.nodeSubnet)}`],
    routes: [{ network: "0.0.0.0/0", gateway: network.gateway }],
    // The shared API address; Talos elects its holder through etcd, so only control planes carry it.
    ...(node.role === "controlplane" ? { vip: { ip: network.vip } } : {}),
    ...(network.vlans.length > 0
      ? {
          vlans: network.vlans.map((v) =>
            stripUndefined({
              vlanId: v.id,
              mtu: v.mtu,
              dhcp: false,
              dhcpOptions: v.routeMetric === undefined ? undefined : { routeMetric: v.routeMetric },
            }),
          ),
        }
      : {}),
  };
  return {
    machine: {
      network: { hostname: node.name, interfaces: [bond], nameservers: cluster.talos.nameservers, disableSearchDomain: true },
    },
  };
}

function kubernetesNetworkPatch(cluster: ClusterConfig): PatchDoc {
  return {
    cluster: {
      network: { podSubnets: [cluster.network.podCidr], serviceSubnets: [cluster.network.serviceCidr], cni: { name: "none" } },
      // Cilium replaces kube-proxy and the program installs its own CoreDNS.
      proxy: { disabled: true },
      coreDNS: { disabled: true },
    },
  };
}

function controlPlanePatch(cluster: ClusterConfig): PatchDoc {
  return {
    cluster: {
      apiServer: { certSANs: [cluster.endpoint.host, cluster.network.vip] },
      etcd: { advertisedSubnets: [cluster.network.nodeSubnet] },
      allowSchedulingOnControlPlanes: cluster.talos.allowSchedulingOnControlPlanes,
    },
  };
}

function kubeletPatch(cluster: ClusterConfig): PatchDoc {
  return {
    machine: {
      // Pods resolve through our CoreDNS; Talos would otherwise assume the 10th service address.
      kubelet: { nodeIP: { validSubnets: [cluster.network.nodeSubnet] }, clusterDNS: [cluster.coredns.clusterIp] },
      features: {
        kubePrism: { enabled: true, port: defaults.kubePrism.port },
        // Forwarding cluster DNS to the host resolver breaks CoreDNS under Cilium's BPF masquerading.
        hostDNS: { enabled: true, forwardKubeDNSToHost: false },
      },
    },
  };
}

function labelsPatch(cluster: ClusterConfig, node: ClusterNode): PatchDoc {
  const labels = {
    "topology.kubernetes.io/region": cluster.name,
    "topology.kubernetes.io/zone": node.role === "controlplane" ? "m" : "w",
    cluster: cluster.name,
    ...node.labels,
  };
  const taints = Object.fromEntries(node.taints.map((t) => [t.key, t.value === undefined ? t.effect : `${t.value}:${t.effect}`]));
  return { machine: { nodeLabels: labels, ...(node.taints.length > 0 ? { nodeTaints: taints } : {}) } };
}

function timePatch(cluster: ClusterConfig): PatchDoc {
  return {
    machine: {
      time: { disabled: false, servers: cluster.talos.timeServers },
      ...(Object.keys(cluster.talos.sysctls).length > 0 ? { sysctls: cluster.talos.sysctls } : {}),
    },
  };
}

/** Spegel serves images from containerd's content store; Talos discards unpacked layers unless told not to. */
function spegelPatch(): PatchDoc {
  return {
    machine: {
      files: [
        {
          op: "create",
          path: "/etc/cri/conf.d/20-customization.part",
          content: '[plugins."io.containerd.cri.v1.images"]\n  discard_unpacked_layers = false\n',
        },
      ],
    },
  };
}

function stripUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}

type Doc = Record<string, unknown>;

/** Lists Talos merges by a key instead of appending (its strategic-merge rules). */
const mergeKeys: Record<string, string> = { interfaces: "interface", vlans: "vlanId" };
/** Lists Talos replaces outright. */
const replacedLists = new Set(["podSubnets", "serviceSubnets"]);

/** Merges patches in order as Talos does (objects deep-merged, lists appended unless keyed or replaced). */
export function mergePatches(base: Doc, patches: readonly PatchDoc[]): Doc {
  return patches.reduce<Doc>((acc, patch) => mergeObject(acc, patch as Doc), base);
}

function mergeObject(target: Doc, patch: Doc): Doc {
  const out: Doc = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const existing = out[key];
    if (Array.isArray(value) && Array.isArray(existing)) {
      out[key] = replacedLists.has(key) ? value : mergeList(existing, value, mergeKeys[key]);
    } else if (isDoc(value) && isDoc(existing)) {
      out[key] = mergeObject(existing, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function mergeList(existing: unknown[], added: unknown[], key: string | undefined): unknown[] {
  if (key === undefined) return [...existing, ...added];
  const out = [...existing];
  for (const item of added) {
    const index = isDoc(item) ? out.findIndex((e) => isDoc(e) && e[key] === item[key]) : -1;
    if (index >= 0 && isDoc(item)) out[index] = mergeObject(out[index] as Doc, item);
    else out.push(item);
  }
  return out;
}

function isDoc(value: unknown): value is Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
