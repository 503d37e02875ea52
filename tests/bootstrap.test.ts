import { type RecordedResource, type Recording } from "../plan/record/harness";
import { ciliumValues } from "../components/bootstrap/cilium";
import { gatewayApiCrdUrls } from "../components/bootstrap/crds";
import { clusterSettings } from "../components/flux/clusterSettings";
import { fluxInstanceSpec } from "../components/flux/fluxInstance";
import { fixture, recordFixture, recordWith, stacks } from "./support";

type R = RecordedResource;

/** Every URN a resource waits for, transitively, through its dependencies and its provider. */
function upstream(r: Recording, start: R): Set<string> {
  const byUrn = new Map(r.resources.map((x) => [x.urn, x]));
  const seen = new Set<string>();
  const walk = (x: R) => {
    for (const dep of [...x.dependsOn, ...(x.provider ? [x.provider] : [])]) {
      if (seen.has(dep)) continue;
      seen.add(dep);
      const next = byUrn.get(dep);
      if (next) walk(next);
    }
  };
  walk(start);
  return seen;
}

const named = (r: Recording, type: string, name: string): RecordedResource => {
  const found = r.resources.find((x) => x.type === type && x.name === name);
  if (!found) throw new Error(`no ${type} ${name}`);
  return found;
};
const release = (r: Recording, name: string) => named(r, "kubernetes:helm.sh/v3:Release", name);
const waitsOn = (r: Recording, later: R, earlier: R) => upstream(r, later).has(earlier.urn);

describe.each(stacks)("bootstrap graph, stack %s", (stack) => {
  let r: Recording;
  beforeAll(async () => {
    r = await recordFixture({ stack });
    if (r.error) throw r.error;
  });

  it("builds the Kubernetes provider from the secret kubeconfig, after the Talos health wait", () => {
    const provider = r.resources.find((x) => x.type === "pulumi:providers:kubernetes")!;
    expect(provider.secretPaths).toEqual(["kubeconfig"]);
    const kubeconfig = r.resources.find((x) => x.type === "talos:cluster/kubeconfig:Kubeconfig")!;
    const bootstrap = r.resources.find((x) => x.type === "talos:machine/bootstrap:Bootstrap")!;
    const ready = r.resources.find((x) => x.type === "pulumi-nodejs:dynamic/talos:ClusterReady")!;
    // The kubeconfig output waits for ClusterReady (which waits for the bootstrap): the provider depends on both.
    expect(provider.dependsOn).toEqual(expect.arrayContaining([kubeconfig.urn, ready.urn]));
    expect(ready.dependsOn).toContain(bootstrap.urn);
  });

  it("puts every Helm release and CRD bundle behind the Talos bootstrap", () => {
    const bootstrap = r.resources.find((x) => x.type === "talos:machine/bootstrap:Bootstrap")!;
    const kubernetes = r.resources.filter((x) => x.type === "kubernetes:helm.sh/v3:Release" || x.type.startsWith("kubernetes:yaml/v2:"));
    expect(kubernetes.length).toBeGreaterThanOrEqual(8);
    for (const k of kubernetes) expect({ name: k.name, waits: waitsOn(r, k, bootstrap) }).toEqual({ name: k.name, waits: true });
  });

  it("orders the charts by real dependencies", () => {
    const [crds, gateway, cilium, coredns, spegel, certManager, eso, fluxOperator] = [
      release(r, "prometheus-operator-crds"),
      named(r, "kubernetes:yaml/v2:ConfigGroup", "gateway-api-crds"),
      release(r, "cilium"),
      release(r, "coredns"),
      release(r, "spegel"),
      release(r, "cert-manager"),
      release(r, "external-secrets"),
      release(r, "flux-operator"),
    ];
    expect(cilium.dependsOn).toEqual(expect.arrayContaining([crds.urn, gateway.urn]));
    expect(coredns.dependsOn).toContain(cilium.urn);
    expect(spegel.dependsOn).toContain(cilium.urn);
    expect(spegel.dependsOn).not.toContain(coredns.urn);
    for (const later of [certManager, eso, fluxOperator]) {
      expect(later.dependsOn).toEqual(expect.arrayContaining([coredns.urn, spegel.urn]));
      expect(later.dependsOn).not.toContain(cilium.urn);
    }
    const instance = named(r, "kubernetes:fluxcd.controlplane.io/v1:FluxInstance", "flux");
    expect(instance.dependsOn).toEqual(
      expect.arrayContaining([fluxOperator.urn, named(r, "kubernetes:core/v1:Secret", "flux-git-credentials").urn]),
    );
  });

  it("waits for a full Talos health check (Kubernetes included) between Cilium and CoreDNS", () => {
    const health = named(r, "pulumi-nodejs:dynamic/talos:ClusterHealth", "cluster-health");
    expect(health.dependsOn).toContain(release(r, "cilium").urn);
    expect(release(r, "coredns").dependsOn).toContain(health.urn);
  });

  it("pins every chart and sizes its timeout for a first boot", () => {
    for (const rel of r.resources.filter((x) => x.type === "kubernetes:helm.sh/v3:Release")) {
      const inputs = rel.inputs as Record<string, unknown>;
      expect(inputs.version).toEqual(expect.stringMatching(/^v?\d+\.\d+\.\d+$/));
      expect(inputs).toMatchObject({ timeout: 600, cleanupOnFail: true, name: rel.name });
      expect(inputs.atomic).toBe(rel.name !== "cilium");
    }
  });

  it("creates the namespaces with Pod Security labels", () => {
    const spegel = named(r, "kubernetes:core/v1:Namespace", "spegel");
    expect((spegel.inputs as { metadata: { labels: Record<string, string> } }).metadata.labels["pod-security.kubernetes.io/enforce"]).toBe(
      "privileged",
    );
    const cm = named(r, "kubernetes:core/v1:Namespace", "cert-manager");
    expect((cm.inputs as { metadata: { labels: Record<string, string> } }).metadata.labels["pod-security.kubernetes.io/enforce"]).toBe(
      "restricted",
    );
  });

  it("writes cluster-settings from the stack config", () => {
    const cluster = fixture(stack);
    const cm = named(r, "kubernetes:core/v1:ConfigMap", "cluster-settings");
    expect((cm.inputs as { data: Record<string, string> }).data).toEqual(clusterSettings(cluster));
  });

  it("keeps bootstrap Secrets Opaque, labelled, and their data secret", () => {
    const secrets = r.resources.filter((x) => x.type === "kubernetes:core/v1:Secret");
    // The allow-list of bootstrap Secrets (docs/security.md): nothing else is written by this program.
    const allowed = [
      "flux-git-credentials",
      "onepassword-service-account",
      "cloudflare-api-token",
      "external-dns-cloudflare-api-token",
      "cloudflared-cloudflared-tunnel",
      "cilium-ca",
    ];
    expect(secrets.length).toBeGreaterThanOrEqual(3);
    for (const s of secrets) expect(allowed).toContain(s.name);
    for (const s of secrets) {
      expect(s.inputs).toMatchObject({ type: "Opaque", metadata: { labels: { "app.kubernetes.io/managed-by": "pulumi-talos-gitops" } } });
      expect(s.secretPaths).toEqual(["stringData"]);
      expect((s.inputs as { stringData: unknown }).stringData).toBe("[secret]");
      expect(Object.keys((r.plainInputs(s.urn) as { stringData: Record<string, unknown> }).stringData).length).toBeGreaterThan(0);
    }
  });

  it("gives two runs byte-identical inputs", async () => {
    const again = await recordFixture({ stack });
    // Registration order may vary between runs; what each resource asks for must not.
    const byUrn = (rec: Recording) =>
      JSON.stringify(rec.resources.map((x) => [x.urn, x.inputs]).sort(([a], [b]) => String(a).localeCompare(String(b))));
    expect(byUrn(again)).toBe(byUrn(r));
  });
});

describe("Cilium values", () => {
  const infra = fixture("infra");

  it("replace kube-proxy through KubePrism, with the Talos settings, WireGuard and the cluster identity", () => {
    expect(ciliumValues(infra)).toMatchObject({
      cluster: { name: "infra", id: 1 },
      kubeProxyReplacement: true,
      k8sServiceHost: "127.0.0.1",
      k8sServicePort: 7445,
      ipam: { mode: "kubernetes" },
      ipv4NativeRoutingCIDR: "10.244.0.0/16",
      routingMode: "native",
      bpf: { masquerade: true, hostLegacyRouting: false },
      encryption: { enabled: true, type: "wireguard" },
      cgroup: { autoMount: { enabled: false }, hostRoot: "/sys/fs/cgroup" },
      bgpControlPlane: { enabled: true },
      gatewayAPI: { enabled: true },
      hubble: { enabled: true, relay: { enabled: true } },
    });
    expect(JSON.stringify(ciliumValues(infra))).not.toContain("SYS_MODULE");
  });

  it("use the API endpoint when the stack says so", () => {
    expect(ciliumValues({ ...infra, cilium: { ...infra.cilium, apiServerAccess: "endpoint" } })).toMatchObject({
      k8sServiceHost: "infra-k8s.monosense.io",
      k8sServicePort: 6443,
    });
  });
});

describe("Gateway API CRDs", () => {
  it("come from the pinned release's standard channel alone (TLSRoute is standard since v1.5)", () => {
    expect(gatewayApiCrdUrls()).toEqual(["https://github.com/kubernetes-sigs/gateway-api/releases/download/v1.6.1/standard-install.yaml"]);
  });

  it("are the one bundle the recorded ConfigGroup applies", async () => {
    const r = await recordFixture({ stack: "infra" });
    expect(named(r, "kubernetes:yaml/v2:ConfigGroup", "gateway-api-crds").inputs).toMatchObject({ files: gatewayApiCrdUrls() });
  });
});

describe("FluxInstance", () => {
  it("runs the pinned Flux distribution and syncs the cluster's path", () => {
    expect(fluxInstanceSpec(fixture("infra"))).toEqual({
      wait: true,
      distribution: {
        version: "2.9.4",
        registry: "ghcr.io/fluxcd",
        artifact: "oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests",
      },
      components: ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"],
      cluster: { type: "kubernetes", networkPolicy: true, domain: "cluster.local" },
      sync: {
        kind: "GitRepository",
        url: "ssh://git@github.com/monosense-io/k8s-gitops.git",
        ref: "refs/heads/main",
        path: "kubernetes/clusters/infra",
        pullSecret: "flux-system",
      },
    });
  });
});

describe("cluster-settings", () => {
  it("has the keys the GitOps tree substitutes, computed from the config", () => {
    const apps = fixture("apps");
    expect(clusterSettings(apps)).toMatchObject({
      CLUSTER: "apps",
      CLUSTER_ID: "2",
      POD_CIDR: '["10.246.0.0/16"]',
      POD_CIDR_STRING: "10.246.0.0/16",
      SERVICE_CIDR: '["10.247.0.0/16"]',
      K8S_SERVICE_HOST: "127.0.0.1",
      K8S_SERVICE_PORT: "7445",
      CLUSTERMESH_IP: "10.25.11.120",
      CILIUM_GATEWAY_LB_IP: "10.25.11.121",
      CILIUM_BGP_LOCAL_ASN: "64513",
      CILIUM_BGP_PEER_ASN: "64501",
      CILIUM_BGP_PEER_ADDRESS: "10.25.11.1",
      CILIUM_LB_POOL_START: "10.25.11.120",
      CILIUM_LB_POOL_END: "10.25.11.139",
      SECRET_DOMAIN: "monosense.io",
    });
  });

  it("carries no value of a release Pulumi owns (Cilium, CoreDNS): Flux must not manage those too", () => {
    const keys = Object.keys(clusterSettings(fixture("apps")));
    expect(keys.filter((k) => k.startsWith("COREDNS_") || k === "CILIUM_VERSION")).toEqual([]);
  });
});

describe("optional parts", () => {
  it("without Spegel or external-secrets, none of their resources exist and the rest still orders", async () => {
    const r = await recordWith("infra", (c) => {
      c.spegel = { enabled: false };
      delete c.externalSecrets;
    });
    expect(r.error).toBeUndefined();
    const names = r.resources.map((x) => x.name);
    for (const gone of ["spegel", "external-secrets", "onepassword-store", "onepassword-service-account"])
      expect(names).not.toContain(gone);
    expect(release(r, "cert-manager").dependsOn).toContain(release(r, "coredns").urn);
  });
});
