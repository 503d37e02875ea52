/**
 * Every version this program installs, in one place. Bumping a line here is the whole upgrade
 * (see the README's "Operations"); stacks may override Talos/Kubernetes only to stage an upgrade
 * one cluster at a time.
 */
export const versions = {
  /** Talos OS; the machine-config patches are validated against this line's schema (1.11). */
  talos: "v1.11.6",
  /** Kubernetes, within the range Talos 1.11 supports. */
  kubernetes: "v1.34.1",
  /** Pulumiverse Talos provider plugin, installed by `pulumi up` from its download URL. */
  talosProvider: "0.8.1",
  talosProviderDownloadUrl: "github://api.github.com/pulumiverse",
  /** The other provider plugins are the npm packages' own versions (package.json, pinned exactly). */
  charts: {
    cilium: "1.18.3",
    coredns: "1.44.3",
    spegel: "0.7.4",
    certManager: "v1.19.0",
    externalSecrets: "0.20.3",
    fluxOperator: "0.32.0",
    prometheusOperatorCrds: "24.0.1",
  },
  /** Gateway API CRD bundle: the release Cilium 1.18 supports. */
  gatewayApi: "v1.3.0",
  /** Flux distribution the FluxInstance runs. */
  flux: "2.7.2",
  /** Where each chart comes from (OCI where the project publishes one). */
  chartSources: {
    cilium: { repo: "https://helm.cilium.io/", chart: "cilium" },
    coredns: { chart: "oci://ghcr.io/coredns/charts/coredns" },
    spegel: { chart: "oci://ghcr.io/spegel-org/helm-charts/spegel" },
    certManager: { chart: "oci://quay.io/jetstack/charts/cert-manager" },
    externalSecrets: { chart: "oci://ghcr.io/external-secrets/charts/external-secrets" },
    fluxOperator: { chart: "oci://ghcr.io/controlplaneio-fluxcd/charts/flux-operator" },
    prometheusOperatorCrds: { chart: "oci://ghcr.io/prometheus-community/charts/prometheus-operator-crds" },
  },
} as const;

/** Talos minor line whose config schema the patches are checked against. */
export const supportedTalosLine = { major: 1, minor: 11 } as const;
/** Kubernetes minors Talos 1.11 supports (its support matrix: 1.29 to 1.34). */
export const supportedKubernetesMinors = { min: 29, max: 34 } as const;
