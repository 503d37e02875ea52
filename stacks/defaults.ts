/** Defaults a stack file may leave out, in one place. Versions live in `versions.ts`. */
export const defaults = {
  /** The config key (under the project namespace) that holds the cluster. */
  configKey: "cluster",
  apiServerPort: 6443,
  /** Talos KubePrism: a node-local, highly available API endpoint; Cilium uses it before DNS or Services work. */
  kubePrism: { host: "127.0.0.1", port: 7445 },
  mtu: 1500,
  bond: { mode: "802.3ad", xmitHashPolicy: "layer3+4", lacpRate: "fast", miimon: 100 },
  timeServers: ["time.cloudflare.com"],
  corednsReplicas: 2,
  /** Talos config changes roll: control planes one at a time, workers this many at a time, each batch waiting for the last. */
  rollout: { maxUnavailableWorkers: 1, unmanagedPods: "evict" as "evict" | "refuse" },
  fluxBranch: "main",
  /** Flux syncs this folder of the GitOps repository; `<cluster>` is the cluster name. */
  fluxPath: (cluster: string) => `kubernetes/clusters/${cluster}`,
  writeBackItem: (cluster: string) => `${cluster}-talos`,
  tunnelName: (cluster: string) => `${cluster}-tunnel`,
  anchor: (domain: string) => `external.${domain}`,
  ingressHostname: (domain: string) => `*.${domain}`,
  /** Per-record TTL 1 means "automatic" to Cloudflare (required for proxied records). */
  dnsTtl: 1,
} as const;
