import type { ClusterConfig } from "../../stacks/load";

/** CoreDNS in place of Talos' own: the Service address and replica count from the stack. */
export function corednsValues(cluster: ClusterConfig): Record<string, unknown> {
  return {
    replicaCount: cluster.coredns.replicas,
    k8sAppLabelOverride: "kube-dns",
    service: { name: "kube-dns", clusterIP: cluster.coredns.clusterIp },
    // The chart's ServiceMonitor selects `app.kubernetes.io/component: metrics`, which only its metrics Service carries.
    prometheus: { service: { enabled: true }, monitor: { enabled: true } },
    // Without its own ServiceAccount the chart binds its ClusterRole to kube-system:default.
    serviceAccount: { create: true },
    priorityClassName: "system-cluster-critical",
  };
}
