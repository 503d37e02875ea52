import { defaults } from "../../stacks/defaults";
import type { ClusterConfig } from "../../stacks/load";
import { lbAnnouncement, type MeshView } from "../../stacks/mesh";

/** Where Cilium (and the GitOps tree) reach the API server: KubePrism on each node, or the endpoint. */
export function apiServerAccess(cluster: ClusterConfig): { host: string; port: number } {
  return cluster.cilium.apiServerAccess === "kubeprism"
    ? { ...defaults.kubePrism }
    : { host: cluster.endpoint.host, port: cluster.endpoint.port };
}

/** Label on the certgen Jobs' pods carrying the CA generation: a new generation changes the Jobs' spec. */
export const caGenerationLabel = "talos-gitops.io/clustermesh-ca-generation";

/**
 * Cilium's Helm values for a Talos node: kube-proxy replacement, native routing, WireGuard, BGP,
 * Gateway API, L2 announcements when the pool lies in the node subnet, and ClusterMesh when the
 * stack is a member of one (`mesh`, from stacks/mesh.ts).
 */
export function ciliumValues(cluster: ClusterConfig, mesh?: MeshView): Record<string, unknown> {
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
    // Traffic to these addresses is not masqueraded. In a mesh it must cover every member's pod
    // CIDR, or pods would reach remote pods from their node's address (Cilium docs, ClusterMesh
    // requirements with native routing); stacks/mesh.ts keeps the covering CIDR off the node subnets.
    ipv4NativeRoutingCIDR: mesh?.nativeRoutingCidr ?? cluster.network.podCidr,
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
    // LoadBalancer IPAM is always on; the pool, the BGP peering and the CiliumL2AnnouncementPolicy
    // come from the GitOps tree (their CRDs exist only once the operator runs). A pool inside the node
    // subnet is answered by ARP (L2 announcements), one outside it is reached through BGP only.
    l2announcements: { enabled: lbAnnouncement(cluster) === "l2" },
    hubble: {
      enabled: true,
      relay: { enabled: true },
      metrics: { enabled: ["dns:query", "drop", "tcp", "flow", "port-distribution", "icmp", "httpV2"], serviceMonitor },
      // In a mesh kube-system/cilium-ca belongs to Pulumi: the chart's `helm` method would render that
      // Secret itself (templates/cilium-ca-secret.yaml), so Hubble's certificates come from certgen too.
      ...(mesh ? { tls: { auto: { enabled: true, method: "cronJob" } } } : {}),
    },
    prometheus: { enabled: true, serviceMonitor: { ...serviceMonitor, trustCRDsExist: true } },
    operator: { replicas: Math.min(2, controlPlanes), prometheus: { enabled: true, serviceMonitor } },
    ...(mesh ? clustermeshValues(cluster, mesh) : {}),
  };
}

/**
 * ClusterMesh (cilium 1.20.0 chart). The clustermesh-apiserver runs behind a LoadBalancer Service
 * at the cluster's `clustermeshIp` (requested from LB-IPAM by annotation; policy/network.ts reads
 * `lbipam.cilium.io/ips` as the current key). Its certificates come from the `cronJob` method: the
 * certgen Job signs them with the CA in kube-system/cilium-ca (`--ca-reuse-secret`, and
 * `generateCA: false` so certgen fails rather than mint a CA of its own), once at install and on the
 * chart's schedule, not on every `helm upgrade` as the `helm` method does (its templates call
 * genSignedCert on each render). The peers' endpoints go to `clustermesh.config`: with `ips`, the
 * agents dial `<name>.mesh.cilium.io:2379` through a host alias, a name the server certificate
 * carries (`*.mesh.cilium.io`, clustermesh-apiserver/_helpers.tpl). KVStoreMesh stays the chart default (on).
 */
function clustermeshValues(cluster: ClusterConfig, mesh: MeshView): Record<string, unknown> {
  // The certgen Job's name is a checksum of its spec: a new CA generation re-runs it at `pulumi up`.
  const generation = { [caGenerationLabel]: String(mesh.ca.generation) };
  return {
    certgen: { generateCA: false, podLabels: generation },
    clustermesh: {
      useAPIServer: true,
      config: {
        enabled: true,
        clusters: mesh.peers.map((p) => ({ name: p.name, port: p.port, ips: [p.address] })),
      },
      apiserver: {
        podLabels: generation,
        service: { type: "LoadBalancer", annotations: { "lbipam.cilium.io/ips": cluster.cilium.clustermeshIp } },
        tls: {
          // Every member's client certificate is `remote-<cluster>` from the one shared CA (chart values.yaml, authMode).
          authMode: "cluster",
          auto: { enabled: true, method: "cronJob" },
        },
      },
    },
  };
}
