import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../stacks/load";
import type { MeshView } from "../../stacks/mesh";
import type { Credentials } from "../secrets/resolver";
import type { TalosCluster } from "../talos/talosCluster";
import { acmeServers, certManagerValues, cloudflareTokenSecret, clusterIssuerSpec } from "./certManager";
import { ciliumValues } from "./cilium";
import { corednsValues } from "./coredns";
import { gatewayApiCrds, prometheusOperatorCrds } from "./crds";
import { clusterSecretStoreName, externalSecretsValues, onePasswordStoreSpec, onePasswordTokenSecret } from "./externalSecrets";
import { namespace, type ManagedNamespace } from "./namespaces";
import { lifecycleRbac } from "./lifecycleRbac";
import { defaultDeny, type DefaultDenyNamespace } from "./networkPolicies";
import { chartRelease } from "./release";
import { bootstrapSecret } from "./secret";
import { spegelValues } from "./spegel";

export interface ClusterBootstrapArgs {
  readonly config: ClusterConfig;
  readonly credentials: Credentials;
  readonly talos: TalosCluster;
  readonly provider: k8s.Provider;
  /** The zone-scoped DNS-01 token (from the Cloudflare component); without it no ClusterIssuer is made. */
  readonly dnsChallengeToken?: pulumi.Output<string>;
  /** The stack's ClusterMesh, and the kube-system/cilium-ca Secret Cilium must find when it installs. */
  readonly mesh?: { readonly view: MeshView; readonly caSecret: pulumi.Resource };
}

/**
 * Takes a fresh Talos cluster (nodes NotReady, no CNI, no DNS) to one ready for Flux. Each step
 * depends on what it really needs, so independent steps run side by side:
 *
 *   CRDs → Cilium → (Talos health with Kubernetes checks) → CoreDNS ─┬→ cert-manager → issuers
 *                                                    └→ Spegel ──────┼→ external-secrets → store
 *                                                                    └→ flux-operator (components/flux)
 */
export class ClusterBootstrap extends pulumi.ComponentResource {
  readonly namespaces: ReadonlyMap<ManagedNamespace, k8s.core.v1.Namespace>;
  readonly cilium: k8s.helm.v3.Release;
  readonly coredns: k8s.helm.v3.Release;
  readonly spegel?: k8s.helm.v3.Release;
  readonly monitoringCrds: k8s.helm.v3.Release;
  /** What every image-heavy release after DNS waits for: CoreDNS, and Spegel when it runs. */
  readonly platformReady: pulumi.Resource[];

  constructor(name: string, args: ClusterBootstrapArgs, opts?: pulumi.ComponentResourceOptions) {
    super("talos-gitops:bootstrap:ClusterBootstrap", name, {}, opts);
    const { config, credentials, provider } = args;
    const child = { parent: this, provider };
    // Nothing lost on delete (docs/architecture.md, "Bootstrap and hand-over to Flux"): what carries CRDs, and what
    // lives in or depends on those CRDs, is forgotten by Pulumi on delete, never deleted.
    const kept = { ...child, retainOnDelete: true };
    const retainedNamespaces: ReadonlySet<ManagedNamespace> = new Set(["cert-manager", "external-secrets", "flux-system"]);

    const wanted: ManagedNamespace[] = [
      "cert-manager",
      "flux-system",
      ...(config.spegel.enabled ? (["spegel"] as const) : []),
      ...(config.externalSecrets?.enabled ? (["external-secrets"] as const) : []),
    ];
    this.namespaces = new Map(wanted.map((ns) => [ns, namespace(ns, retainedNamespaces.has(ns) ? kept : child)]));
    const ns = (n: ManagedNamespace) => {
      const found = this.namespaces.get(n);
      if (!found) throw new Error(`internal: namespace ${n} not created`);
      return found;
    };

    // Default-deny with each namespace's allowances (networkPolicies.ts), before anything runs there.
    for (const name of ["cert-manager", "external-secrets", "flux-system"] as const satisfies readonly DefaultDenyNamespace[]) {
      if (this.namespaces.has(name)) defaultDeny(name, config, { ...kept, dependsOn: [ns(name)] });
    }

    // What the Talos lifecycle resources may do in Kubernetes (drain, cordon, delete Node, readiness).
    lifecycleRbac(child);

    // The engine hands retainOnDelete down to the ConfigGroup's CRDs (pulumi/pulumi
    // pkg/resource/deploy/source_eval.go: children inherit RetainOnDelete from their parent).
    const gatewayCrds = gatewayApiCrds(kept);
    this.monitoringCrds = prometheusOperatorCrds(kept);

    // Helm's wait cannot succeed here: Hubble relay needs cluster DNS, which comes after Cilium.
    // Readiness is awaited by the Talos health check with Kubernetes checks (nodes Ready = CNI up).
    this.cilium = chartRelease(
      "cilium",
      { chart: "cilium", namespace: "kube-system", values: ciliumValues(config, args.mesh?.view), wait: false },
      { ...child, dependsOn: [gatewayCrds, this.monitoringCrds, ...(args.mesh ? [args.mesh.caSecret] : [])] },
    );
    // Talos' full health check (nodes Ready = CNI up) as a resource: it runs when the nodes, versions or
    // Cilium's chart version or values changed, and CoreDNS/Spegel depend on it like on any resource.
    const networkReady = args.talos.health({ release: this.cilium, chartVersion: this.cilium.version, values: this.cilium.values });

    this.coredns = chartRelease(
      "coredns",
      { chart: "coredns", namespace: "kube-system", values: corednsValues(config) },
      { ...child, dependsOn: [this.cilium, networkReady, this.monitoringCrds] },
    );

    if (config.spegel.enabled) {
      this.spegel = chartRelease(
        "spegel",
        { chart: "spegel", namespace: "spegel", values: spegelValues() },
        { ...child, dependsOn: [this.cilium, networkReady, ns("spegel"), this.monitoringCrds] },
      );
    }
    this.platformReady = [this.coredns, ...(this.spegel ? [this.spegel] : []), this.monitoringCrds];

    const certManager = chartRelease(
      "cert-manager",
      { chart: "certManager", namespace: "cert-manager", values: certManagerValues(), waitForJobs: true },
      { ...kept, dependsOn: [...this.platformReady, ns("cert-manager")] },
    );
    if (args.dnsChallengeToken) {
      const token = bootstrapSecret(
        "cloudflare-api-token",
        { name: cloudflareTokenSecret.name, namespace: cloudflareTokenSecret.namespace },
        { [cloudflareTokenSecret.key]: args.dnsChallengeToken },
        { ...kept, dependsOn: [ns("cert-manager")] },
      );
      for (const issuer of Object.keys(acmeServers) as Array<keyof typeof acmeServers>) {
        new k8s.apiextensions.CustomResource(
          issuer,
          { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: issuer }, spec: clusterIssuerSpec(config, issuer) },
          { ...kept, dependsOn: [certManager, token] },
        );
      }
    } else {
      pulumi.log.info(
        `${config.name}: no Cloudflare settings, so no Let's Encrypt DNS-01 ClusterIssuers; add them through the GitOps tree`,
        this,
      );
    }

    if (config.externalSecrets?.enabled) {
      const eso = chartRelease(
        "external-secrets",
        { chart: "externalSecrets", namespace: "external-secrets", values: externalSecretsValues() },
        { ...kept, dependsOn: [...this.platformReady, ns("external-secrets")] },
      );
      const token = bootstrapSecret(
        "onepassword-service-account",
        { name: onePasswordTokenSecret.name, namespace: onePasswordTokenSecret.namespace },
        { [onePasswordTokenSecret.key]: credentials.require("externalSecrets.serviceAccountToken") },
        { ...kept, dependsOn: [ns("external-secrets")] },
      );
      new k8s.apiextensions.CustomResource(
        "onepassword-store",
        {
          apiVersion: "external-secrets.io/v1",
          kind: "ClusterSecretStore",
          metadata: { name: clusterSecretStoreName },
          spec: onePasswordStoreSpec(config.externalSecrets.vault),
        },
        { ...kept, dependsOn: [eso, token] },
      );
    }
    this.registerOutputs({});
  }
}
