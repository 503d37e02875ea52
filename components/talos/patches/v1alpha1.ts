import { defaults } from "../../../stacks/defaults";
import type { ClusterConfig } from "../../../stacks/load";
import type { ClusterNode, DiskSelection } from "../../../stacks/schema";
import { installerImage } from "./render";
import type { PatchDoc } from "./types";

/**
 * The patches that stay in the v1alpha1 document under every supported contract: none of these
 * fields is deprecated in 1.11, 1.12 or 1.13 (v1alpha1_types.go at v1.12.11 and v1.13.9; the
 * schemas of all three minors still list them).
 */

export function installPatch(cluster: ClusterConfig, node: ClusterNode, schematicId: string): PatchDoc {
  const disk: DiskSelection = node.installDisk ?? cluster.talos.installDisk;
  const selection = "disk" in disk ? { disk: disk.disk } : { diskSelector: stripUndefined(disk.diskSelector) };
  return { machine: { install: { ...selection, image: installerImage(schematicId, cluster.talos.version), wipe: false } } };
}

export function kubernetesNetworkPatch(cluster: ClusterConfig): PatchDoc {
  return {
    cluster: {
      network: { podSubnets: [cluster.network.podCidr], serviceSubnets: [cluster.network.serviceCidr], cni: { name: "none" } },
      // Cilium replaces kube-proxy and the program installs its own CoreDNS.
      proxy: { disabled: true },
      coreDNS: { disabled: true },
    },
  };
}

export function controlPlanePatch(cluster: ClusterConfig): PatchDoc {
  return {
    cluster: {
      apiServer: { certSANs: [cluster.endpoint.host, cluster.network.vip] },
      etcd: { advertisedSubnets: [cluster.network.nodeSubnet] },
      allowSchedulingOnControlPlanes: cluster.talos.allowSchedulingOnControlPlanes,
    },
  };
}

export function kubeletPatch(cluster: ClusterConfig): PatchDoc {
  return {
    machine: {
      // Pods resolve through our CoreDNS; Talos would otherwise assume the 10th service address.
      kubelet: { nodeIP: { validSubnets: [cluster.network.nodeSubnet] }, clusterDNS: [cluster.coredns.clusterIp] },
      features: { kubePrism: { enabled: true, port: defaults.kubePrism.port }, hostDNS: hostDns() },
    },
  };
}

/** Talos' host DNS cache, kept apart: how cluster DNS reaches it depends on the Cilium datapath. */
export function hostDns(): { enabled: boolean; forwardKubeDNSToHost: boolean } {
  // Forwarding cluster DNS to the host resolver breaks CoreDNS under Cilium's BPF masquerading.
  return { enabled: true, forwardKubeDNSToHost: false };
}

export function labelsPatch(cluster: ClusterConfig, node: ClusterNode): PatchDoc {
  const labels = {
    "topology.kubernetes.io/region": cluster.name,
    "topology.kubernetes.io/zone": node.role === "controlplane" ? "m" : "w",
    cluster: cluster.name,
    ...node.labels,
  };
  const taints = Object.fromEntries(node.taints.map((t) => [t.key, t.value === undefined ? t.effect : `${t.value}:${t.effect}`]));
  return { machine: { nodeLabels: labels, ...(node.taints.length > 0 ? { nodeTaints: taints } : {}) } };
}

/** Kernel parameters; none when the stack sets none. */
export function sysctlsPatch(cluster: ClusterConfig): PatchDoc | undefined {
  return Object.keys(cluster.talos.sysctls).length > 0 ? { machine: { sysctls: cluster.talos.sysctls } } : undefined;
}

/** Spegel serves images from containerd's content store; Talos discards unpacked layers unless told not to. */
export function spegelPatch(): PatchDoc {
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
