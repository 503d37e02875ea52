/**
 * Every version this program installs, in one place, and the compatibility matrix they are checked
 * against. Bumping a line here is the whole upgrade (see docs/configuration.md, "Versions"); stacks may
 * override Talos/Kubernetes only to stage an upgrade one cluster at a time. Each pin names the
 * upstream tag it was confirmed against.
 */
export const versions = {
  /** Talos OS (siderolabs/talos tag v1.13.9). */
  talos: "v1.13.9",
  /** Kubernetes: the default of Talos v1.13.9 (`constants.DefaultKubernetesVersion`). */
  kubernetes: "v1.36.3",
  /** Pulumiverse Talos provider plugin, installed by `pulumi up` from its download URL. */
  talosProvider: "0.8.1",
  talosProviderDownloadUrl: "github://api.github.com/pulumiverse",
  /** The other provider plugins are the npm packages' own versions (package.json, pinned exactly). */
  charts: {
    /** cilium/charts: cilium-1.20.0.tgz (cilium/cilium v1.20.0). */
    cilium: "1.20.0",
    /** coredns/helm tag coredns-1.46.2 (app 1.13.1). */
    coredns: "1.46.2",
    /** spegel-org/spegel tag v0.7.4. */
    spegel: "0.7.4",
    /** cert-manager/cert-manager tag v1.21.1. */
    certManager: "v1.21.1",
    /** external-secrets/external-secrets tag helm-chart-2.9.0 (app v2.9.0). */
    externalSecrets: "2.9.0",
    /** controlplaneio-fluxcd/flux-operator tag v0.58.1 (the chart is released with the operator's version). */
    fluxOperator: "0.58.1",
    /** prometheus-community/helm-charts tag prometheus-operator-crds-31.0.1 (prometheus-operator v0.93.1). */
    prometheusOperatorCrds: "31.0.1",
  },
  /** Gateway API CRD bundle (kubernetes-sigs/gateway-api tag v1.6.1): the release line Cilium 1.20 supports. */
  gatewayApi: "v1.6.1",
  /** Flux distribution the FluxInstance runs (fluxcd/flux2 tag v2.9.4; bundled by flux-operator v0.58.1). */
  flux: "2.9.4",
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

/** The pins the compatibility matrix looks at (versions.ts, or a variant in a test). */
export interface Pins {
  readonly talos: string;
  readonly kubernetes: string;
  readonly charts: { readonly cilium: string };
  readonly gatewayApi: string;
}

/** An inclusive range of Kubernetes minors (1.x). */
export interface MinorRange {
  readonly min: number;
  readonly max: number;
}

/**
 * Talos minor → the Kubernetes minors it supports, from siderolabs/talos v1.13.9
 * `pkg/machinery/compatibility/talos11{1,2,3}` (Minimum/MaximumKubernetesVersion) and the docs'
 * support matrix (siderolabs/docs `public/talos/v1.13/getting-started/support-matrix.mdx`).
 * These are also the Talos lines this program's machine-config patches are written for.
 */
export const talosKubernetes: Readonly<Record<string, MinorRange>> = {
  "1.11": { min: 29, max: 34 },
  "1.12": { min: 30, max: 35 },
  "1.13": { min: 31, max: 36 },
};

/**
 * Cilium minor → the Kubernetes minors its e2e tests cover (Cilium's "Kubernetes Compatibility"
 * page, Documentation/network/kubernetes/compatibility.rst of that release) and the Gateway API
 * release line its Gateway controller implements (its CRDs must be installed before Cilium).
 * 1.20's file could not be read here (the repository is too large to copy): 1.33–1.36 follows the
 * one-minor-per-release step of 1.18 (1.30–1.33) and 1.19 (1.32–1.35) and matches third-party
 * copies of the 1.20 page. Gateway API 1.6: the 1.20.0 chart's operator RBAC watches TCPRoute,
 * UDPRoute and ListenerSet, which 1.6 is the first release to carry in the standard channel.
 */
export const ciliumMatrix: Readonly<Record<string, { kubernetes: MinorRange; gatewayApi: string }>> = {
  "1.20": { kubernetes: { min: 33, max: 36 }, gatewayApi: "1.6" },
};

/** `v1.36.3` / `1.20.0` → [1, 36, 3]; undefined when it is not a dotted version. */
export function versionParts(version: string): [number, number, number] | undefined {
  const m = /^v?(\d+)\.(\d+)\.(\d+)$/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : undefined;
}

/** `v1.36.3` → "1.36". */
export function minorLine(version: string): string | undefined {
  const parts = versionParts(version);
  return parts ? `${parts[0]}.${parts[1]}` : undefined;
}

export function formatRange(range: MinorRange): string {
  return `v1.${range.min} to v1.${range.max}`;
}

/** The Talos lines a stack may run, as `v1.11, v1.12, v1.13`. */
export function supportedTalosLines(): string {
  return Object.keys(talosKubernetes)
    .map((line) => `v${line}`)
    .join(", ");
}

/** Whether Kubernetes `version` (v1.x.y) falls in `range`. */
export function kubernetesInRange(version: string, range: MinorRange): boolean {
  const parts = versionParts(version);
  return parts !== undefined && parts[0] === 1 && parts[1] >= range.min && parts[1] <= range.max;
}

/** Problems between the pins themselves (key = the versions.ts key), e.g. a Gateway API release Cilium does not implement. */
export function pinIssues(pins: Pins = versions): Array<{ key: string; message: string }> {
  const issues: Array<{ key: string; message: string }> = [];
  const ciliumLine = minorLine(pins.charts.cilium);
  const cilium = ciliumLine === undefined ? undefined : ciliumMatrix[ciliumLine];
  if (cilium === undefined) {
    issues.push({
      key: "charts.cilium",
      message: `${pins.charts.cilium} has no entry in the compatibility matrix (known: ${Object.keys(ciliumMatrix).join(", ")})`,
    });
  } else if (minorLine(pins.gatewayApi) !== cilium.gatewayApi) {
    issues.push({
      key: "gatewayApi",
      message: `${pins.gatewayApi} is not the Gateway API line Cilium ${ciliumLine} implements (v${cilium.gatewayApi}.x)`,
    });
  }
  const talosLine = minorLine(pins.talos);
  if (talosLine === undefined || talosKubernetes[talosLine] === undefined) {
    issues.push({ key: "talos", message: `${pins.talos} is not a supported Talos line (${supportedTalosLines()})` });
  }
  return issues;
}
