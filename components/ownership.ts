import type { ClusterConfig } from "../stacks/load";

/**
 * Who owns each Kubernetes object of a cluster: Pulumi (this program creates, updates and, where
 * not retained, deletes it) or Flux (flux-operator or the GitOps tree does). One owner per object;
 * `tests/ownership.test.ts` derives the Pulumi rows from a recorded run and checks them against
 * the objects the program really registers, and that no object is listed for both.
 *
 * Cilium and CoreDNS stay Pulumi's: their values are functions of the stack that the Talos
 * patches share (KubePrism, pod CIDR, cluster id and name; CoreDNS's address is the kubelets'
 * cluster DNS), and ClusterMesh changes Cilium's values from this program. So cluster-settings no
 * longer carries `CILIUM_VERSION` or `COREDNS_*`: no HelmRelease in Git may manage them too.
 */
export type Owner = "Pulumi" | "Flux";

export interface OwnershipRow {
  /** `<Kind> <namespace>/<name>`, `<Kind> <name>` for cluster-scoped objects; Helm releases as `HelmRelease(helm) ns/name`. */
  readonly object: string;
  readonly owner: Owner;
  readonly reason: string;
  /** Only in clusters where this holds (optional components). */
  readonly when?: (cluster: ClusterConfig) => boolean;
  /** docs/architecture.md wording of `when`. */
  readonly condition?: string;
}

const externalSecrets = { when: (c: ClusterConfig) => c.externalSecrets?.enabled === true, condition: "externalSecrets.enabled" };
const spegel = { when: (c: ClusterConfig) => c.spegel.enabled, condition: "spegel.enabled" };
const cloudflare = { when: (c: ClusterConfig) => c.cloudflare !== undefined, condition: "cloudflare set" };
const clustermesh = { when: (c: ClusterConfig) => c.cilium.clustermesh !== undefined, condition: "cilium.clustermesh set" };

/** The Helm release row key: releases are Helm storage Secrets, not one Kubernetes object. */
export const helmRelease = (namespace: string, name: string): string => `HelmRelease(helm) ${namespace}/${name}`;

export const ownership: readonly OwnershipRow[] = [
  // Pulumi: what must exist before Flux can run, and what derives from the stack.
  { object: "ConfigGroup gateway-api-crds", owner: "Pulumi", reason: "Cilium's Gateway controller needs the CRDs before it starts" },
  { object: helmRelease("kube-system", "prometheus-operator-crds"), owner: "Pulumi", reason: "every chart's monitors need the CRDs" },
  { object: helmRelease("kube-system", "cilium"), owner: "Pulumi", reason: "the CNI: values derive from the stack and the Talos patches" },
  { object: helmRelease("kube-system", "coredns"), owner: "Pulumi", reason: "cluster DNS at the address the kubelets use (stack)" },
  { object: helmRelease("spegel", "spegel"), owner: "Pulumi", reason: "pulls the later charts' images", ...spegel },
  { object: helmRelease("cert-manager", "cert-manager"), owner: "Pulumi", reason: "issuers exist before Flux deploys" },
  {
    object: helmRelease("external-secrets", "external-secrets"),
    owner: "Pulumi",
    reason: "secrets from 1Password before Flux deploys",
    ...externalSecrets,
  },
  { object: helmRelease("flux-system", "flux-operator"), owner: "Pulumi", reason: "installs Flux" },
  { object: "Namespace cert-manager", owner: "Pulumi", reason: "holds the DNS-01 token before cert-manager runs" },
  { object: "Namespace flux-system", owner: "Pulumi", reason: "holds the Git credentials before Flux runs" },
  { object: "Namespace spegel", owner: "Pulumi", reason: "Spegel's release", ...spegel },
  { object: "Namespace external-secrets", owner: "Pulumi", reason: "holds the 1Password token", ...externalSecrets },
  { object: "Namespace cloudflared", owner: "Pulumi", reason: "holds the tunnel token before Flux deploys cloudflared", ...cloudflare },
  { object: "Namespace external-dns", owner: "Pulumi", reason: "holds the DNS token before Flux deploys external-dns", ...cloudflare },
  ...(["cert-manager", "flux-system", "external-secrets"] as const).flatMap((ns) =>
    ["default-deny", "bootstrap-allow"].map((name): OwnershipRow => ({
      object: `NetworkPolicy ${ns}/${name}`,
      owner: "Pulumi",
      reason: "default-deny with the allowances bootstrap needs, before anything runs there",
      ...(ns === "external-secrets" ? externalSecrets : {}),
    })),
  ),
  {
    object: "ClusterRole talos-gitops:lifecycle",
    owner: "Pulumi",
    reason: "the only rights of the lifecycle credential: cordon, evict, delete Node, readiness reads",
  },
  {
    object: "ClusterRoleBinding talos-gitops:lifecycle",
    owner: "Pulumi",
    reason: "binds that role to the lifecycle certificate's user",
  },
  { object: "Secret flux-system/flux-system", owner: "Pulumi", reason: "Git credentials from 1Password (bootstrap Secret)" },
  {
    object: "Secret external-secrets/onepassword-service-account",
    owner: "Pulumi",
    reason: "the store's own credential (bootstrap Secret)",
    ...externalSecrets,
  },
  {
    object: "Secret cert-manager/cloudflare-api-token",
    owner: "Pulumi",
    reason: "zone-scoped token Pulumi creates (bootstrap Secret)",
    ...cloudflare,
  },
  {
    object: "Secret external-dns/cloudflare-api-token",
    owner: "Pulumi",
    reason: "zone-scoped token Pulumi creates (bootstrap Secret)",
    ...cloudflare,
  },
  {
    object: "Secret cloudflared/cloudflared-tunnel",
    owner: "Pulumi",
    reason: "connector token of the tunnel Pulumi creates",
    ...cloudflare,
  },
  {
    object: "Secret kube-system/cilium-ca",
    owner: "Pulumi",
    reason: "the ClusterMesh CA shared by every meshed cluster, needed before Cilium starts (bootstrap Secret)",
    ...clustermesh,
  },
  {
    object: "CiliumL2AnnouncementPolicy",
    owner: "Flux",
    reason: "GitOps tree, from CILIUM_L2_* in cluster-settings (a Cilium CRD the operator registers at run time)",
  },
  { object: "ConfigMap flux-system/cluster-settings", owner: "Pulumi", reason: "values computed from the stack, substituted by Flux" },
  { object: "FluxInstance flux-system/flux", owner: "Pulumi", reason: "the hand-over itself" },
  { object: "ClusterIssuer letsencrypt-production", owner: "Pulumi", reason: "uses the token Pulumi creates", ...cloudflare },
  { object: "ClusterIssuer letsencrypt-staging", owner: "Pulumi", reason: "uses the token Pulumi creates", ...cloudflare },
  { object: "ClusterSecretStore onepassword", owner: "Pulumi", reason: "uses the token Pulumi writes", ...externalSecrets },
  // Flux: created by flux-operator from the FluxInstance, or by the GitOps tree.
  { object: "GitRepository flux-system/flux-system", owner: "Flux", reason: "flux-operator renders it from FluxInstance.spec.sync" },
  { object: "Kustomization flux-system/flux-system", owner: "Flux", reason: "flux-operator renders it from FluxInstance.spec.sync" },
  {
    object: "Flux controllers, CRDs and NetworkPolicies (allow-egress, allow-scraping, allow-webhooks) in flux-system",
    owner: "Flux",
    reason: "flux-operator installs the distribution the FluxInstance names",
  },
  {
    object: "CiliumLoadBalancerIPPool, CiliumBGP* objects",
    owner: "Flux",
    reason: "GitOps tree, from CILIUM_LB_POOL_* / CILIUM_BGP_* in cluster-settings",
  },
  { object: "cloudflared, external-dns workloads", owner: "Flux", reason: "GitOps tree; they read the Secrets Pulumi writes" },
  { object: "everything else under flux.path", owner: "Flux", reason: "the GitOps tree" },
];

/** The rows that apply to one cluster. */
export function ownershipFor(cluster: ClusterConfig): OwnershipRow[] {
  return ownership.filter((row) => row.when === undefined || row.when(cluster));
}
