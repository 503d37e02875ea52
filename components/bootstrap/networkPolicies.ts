import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../stacks/load";
import { managedLabels } from "./labels";

/**
 * Default-deny for the namespaces whose workloads this program installs, with the allowances each
 * needs, as plain `networking.k8s.io/v1` NetworkPolicies: they are created with the namespaces,
 * before Cilium runs, when CiliumNetworkPolicy's CRD does not exist yet (Cilium's operator
 * registers it at start-up), and Cilium enforces them once it runs.
 *
 * Why API server and webhook rules name ports but no peer: the API server runs on the control
 * planes' host network, so under Cilium its traffic carries the `kube-apiserver`/`remote-node`/`host`
 * identities, which a NetworkPolicy `ipBlock` does not select unless Cilium's `policyCIDRMatchMode`
 * includes `nodes` (cilium 1.20.0 values.yaml: "policyCIDRMatchMode is a list of entities that may be
 * selected by CIDR selector"; it is unset here). A port-only rule selects every peer, which is
 * cert-manager's own upstream shape (cert-manager v1.21.1 `deploy/charts/cert-manager/values.yaml`,
 * `networkPolicy.egress`: 80, 443, 53, 6443 with no peer). Egress to the API server is allowed on
 * 443 (the `kubernetes` Service) and 6443 (its endpoints, which Cilium's kube-proxy replacement
 * translates to before policy applies).
 */
export interface NamespaceAllowances {
  /** Why each allowance exists, for docs/architecture.md and the plan. */
  readonly reason: string;
  readonly ingress: k8s.types.input.networking.v1.NetworkPolicyIngressRule[];
  readonly egress: k8s.types.input.networking.v1.NetworkPolicyEgressRule[];
}

type Port = { protocol: "TCP" | "UDP"; port: number | string };
const tcp = (...ports: Array<number | string>): Port[] => ports.map((port) => ({ protocol: "TCP", port }));
const dnsPorts: Port[] = [
  { protocol: "UDP", port: 53 },
  { protocol: "TCP", port: 53 },
];
/** CoreDNS pods (the chart labels them `k8s-app: kube-dns` through `k8sAppLabelOverride`, coredns-1.46.2 deployment.yaml). */
const toCoreDns: k8s.types.input.networking.v1.NetworkPolicyEgressRule = {
  to: [
    {
      namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
      podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
    },
  ],
  ports: dnsPorts,
};
const apiServer: k8s.types.input.networking.v1.NetworkPolicyEgressRule = { ports: tcp(443, 6443) };

/** Addresses outside the cluster: anything but the pod and Service networks. */
function outside(cluster: ClusterConfig): k8s.types.input.networking.v1.NetworkPolicyPeer[] {
  return [{ ipBlock: { cidr: "0.0.0.0/0", except: [cluster.network.podCidr, cluster.network.serviceCidr] } }];
}

/** The allowances of each bootstrap namespace that gets a default-deny. */
export function namespaceAllowances(
  cluster: ClusterConfig,
): Record<"cert-manager" | "external-secrets" | "flux-system", NamespaceAllowances> {
  return {
    "cert-manager": {
      reason:
        "API server; DNS to CoreDNS and to the zone's authoritative servers (DNS-01 propagation check); HTTPS to Let's Encrypt and the Cloudflare API; webhook, metrics and health ports in",
      // cert-manager v1.21.1 chart: webhook `https` (securePort 10250) and `healthcheck`, `http-metrics` (9402), `http-healthz`.
      ingress: [{ ports: tcp("https", "healthcheck", "http-metrics", "http-healthz") }],
      egress: [apiServer, { ports: dnsPorts }, { to: outside(cluster), ports: tcp(443) }],
    },
    "external-secrets": {
      reason:
        "API server; DNS to CoreDNS; HTTPS to 1Password (SDK provider); webhook (10250), metrics (8080) and health (8081, 8082) ports in",
      // external-secrets helm-chart-2.9.0 values.yaml: webhook port 10250, metrics 8080, health 8081 (controller) / 8082 (webhook).
      ingress: [{ ports: tcp(10250, 8080, 8081, 8082) }],
      egress: [apiServer, toCoreDns, { to: outside(cluster), ports: tcp(443) }],
    },
    "flux-system": {
      reason:
        "API server; DNS to CoreDNS; HTTPS (Flux distribution artifact on ghcr.io, Git over HTTPS, Helm/OCI sources) and SSH (Git) out; flux-operator metrics (8080), health (8081) and web UI (9080) in. Flux adds its own allow-egress/allow-scraping/allow-webhooks policies (FluxInstance cluster.networkPolicy)",
      // flux-operator chart deployment.yaml: containerPort 8080 (http-metrics), 8081 (health), 9080 (web).
      ingress: [{ ports: tcp(8080, 8081, 9080) }],
      egress: [apiServer, toCoreDns, { to: outside(cluster), ports: tcp(443, 22) }],
    },
  };
}

export type DefaultDenyNamespace = keyof ReturnType<typeof namespaceAllowances>;

/**
 * `default-deny` (every pod, ingress and egress, no rule) and `bootstrap-allow` (the allowances above)
 * in one namespace; NetworkPolicies add up, so a pod may do what any policy selecting it allows.
 */
export function defaultDeny(
  name: DefaultDenyNamespace,
  cluster: ClusterConfig,
  opts: pulumi.CustomResourceOptions,
): k8s.networking.v1.NetworkPolicy[] {
  const allow = namespaceAllowances(cluster)[name];
  const metadata = (policy: string) => ({ name: policy, namespace: name, labels: { ...managedLabels } });
  return [
    new k8s.networking.v1.NetworkPolicy(
      `${name}-default-deny`,
      { metadata: metadata("default-deny"), spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
      opts,
    ),
    new k8s.networking.v1.NetworkPolicy(
      `${name}-bootstrap-allow`,
      {
        metadata: metadata("bootstrap-allow"),
        spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], ingress: allow.ingress, egress: allow.egress },
      },
      opts,
    ),
  ];
}
