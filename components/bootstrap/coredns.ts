import type { ClusterConfig } from "../../stacks/load";

/** CoreDNS in place of Talos' own: the Service address and replica count from the stack. */
export function corednsValues(cluster: ClusterConfig): Record<string, unknown> {
  return {
    replicaCount: cluster.coredns.replicas,
    k8sAppLabelOverride: "kube-dns",
    service: { name: "kube-dns", clusterIP: cluster.coredns.clusterIp },
    prometheus: { monitor: { enabled: true } },
    priorityClassName: "system-cluster-critical",
  };
}
