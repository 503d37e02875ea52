import { defaults } from "../../stacks/defaults";
import type { ClusterConfig } from "../../stacks/load";

/** Where Cilium (and the GitOps tree) reach the API server: KubePrism on each node, or the endpoint. */
export function apiServerAccess(cluster: ClusterConfig): { host: string; port: number } {
  return cluster.cilium.apiServerAccess === "kubeprism"
    ? { ...defaults.kubePrism }
    : { host: cluster.endpoint.host, port: cluster.endpoint.port };
}

/** Cilium's Helm values for a Talos node: kube-proxy replacement, native routing, WireGuard, BGP, Gateway API. */
export function ciliumValues(cluster: ClusterConfig): Record<string, unknown> {
  const api = apiServerAccess(cluster);
  const controlPlanes = cluster.nodes.filter((n) => n.role === "controlplane").length;
  // The CRDs are installed before Cilium; `trustCRDsExist` exists only under prometheus.serviceMonitor.
  const serviceMonitor = { enabled: true };
  return {
    cluster: { name: cluster.name, id: cluster.id },
    kubeProxyReplacement: true,
    k8sServiceHost: api.host,
    k8sServicePort: api.port,
    ipam: { mode: "kubernetes" },
    routingMode: "native",
    autoDirectNodeRoutes: true,
    ipv4NativeRoutingCIDR: cluster.network.podCidr,
    // The eBPF datapath end to end: BPF masquerading and BPF host routing (hostLegacyRouting off).
    // Talos' forwardKubeDNSToHost must then be off (Talos' Cilium guide, "Known issues"; cilium#36852):
    // the Talos patch sets `machine.features.hostDNS: { enabled: true, forwardKubeDNSToHost: false }`,
    // so CoreDNS forwards to the nodes' upstream resolvers and never to 169.254.116.108.
    bpf: { masquerade: true, hostLegacyRouting: false },
    encryption: { enabled: true, type: "wireguard" },
    // Talos: modules cannot be loaded from workloads (no SYS_MODULE); cgroupv2 is already mounted.
    securityContext: {
      capabilities: {
        ciliumAgent: [
          "CHOWN",
          "KILL",
          "NET_ADMIN",
          "NET_RAW",
          "IPC_LOCK",
          "SYS_ADMIN",
          "SYS_RESOURCE",
          "DAC_OVERRIDE",
          "FOWNER",
          "SETGID",
          "SETUID",
        ],
        cleanCiliumState: ["NET_ADMIN", "SYS_ADMIN", "SYS_RESOURCE"],
      },
    },
    cgroup: { autoMount: { enabled: false }, hostRoot: "/sys/fs/cgroup" },
    bgpControlPlane: { enabled: true },
    gatewayAPI: { enabled: true, enableAlpn: true, enableAppProtocol: true },
    // LoadBalancer IPAM is always on; the pool and the BGP peering objects come from the GitOps tree.
    l2announcements: { enabled: false },
    hubble: {
      enabled: true,
      relay: { enabled: true },
      metrics: { enabled: ["dns:query", "drop", "tcp", "flow", "port-distribution", "icmp", "httpV2"], serviceMonitor },
    },
    prometheus: { enabled: true, serviceMonitor: { ...serviceMonitor, trustCRDsExist: true } },
    operator: { replicas: Math.min(2, controlPlanes), prometheus: { enabled: true, serviceMonitor } },
  };
}
