import { certManagerValues, clusterIssuerSpec } from "../components/bootstrap/certManager";
import { apiServerAccess, ciliumValues } from "../components/bootstrap/cilium";
import { corednsValues } from "../components/bootstrap/coredns";
import { externalSecretsValues, onePasswordStoreSpec } from "../components/bootstrap/externalSecrets";
import { fqdn, scopedTokens, tunnelIngress, zoneScopedPolicy } from "../components/cloudflare/edge";
import { clusterSettings } from "../components/flux/clusterSettings";
import { fluxInstanceAwait, handoverMessage } from "../components/flux/handoverCriteria";
import { fluxInstanceSpec, fluxOperatorValues } from "../components/flux/fluxInstance";
import type { ClusterConfig } from "../stacks/load";
import { meshView, type MeshView } from "../stacks/mesh";
import { clusterFromStackFile, listStacks, readStackFile } from "../stacks/stackFile";
import { versions } from "../stacks/versions";
import { clone, fixture, fixtureDir, type RawCluster } from "./support";

/**
 * The chart values and specs the bootstrap, Flux and Cloudflare components hand to their resources,
 * as pure functions of the stack config: each checked whole, on each side of every branch, without
 * running the program (the program tests cover how the components wire them).
 */

const infra = fixture("infra");
const apps = fixture("apps");

/** A copy of a validated cluster with `edit` applied: the functions under test read only the config. */
function variant(base: ClusterConfig, edit: (cluster: RawCluster) => void): ClusterConfig {
  const copy = clone(base) as RawCluster;
  edit(copy);
  return copy as ClusterConfig;
}

const worker = (name: string, ip: string) => ({ name, ip, role: "worker", nics: { hardwareAddr: "aa:bb:cc:dd:ee:*" } });
/** infra with only its first control plane, plus two workers. */
const oneControlPlane = variant(infra, (c) => {
  c.nodes = [c.nodes[0], worker("infra-w1", "10.25.11.21"), worker("infra-w2", "10.25.11.22")];
});
/** infra's three control planes plus three workers: the workers must not count. */
const threeControlPlanesWithWorkers = variant(infra, (c) => {
  c.nodes.push(worker("infra-w1", "10.25.11.21"), worker("infra-w2", "10.25.11.22"), worker("infra-w3", "10.25.11.23"));
});
/** infra reaching the API server through its endpoint, on a port other than the default. */
const viaEndpoint = variant(infra, (c) => {
  c.cilium.apiServerAccess = "endpoint";
  c.endpoint.port = 8443;
});
/** infra with its LoadBalancer pool outside the node subnet (10.25.11.0/24): BGP only, no L2. */
const bgpOnly = variant(infra, (c) => {
  Object.assign(c.cilium, {
    loadBalancerPool: { start: "10.26.0.100", end: "10.26.0.119" },
    clustermeshIp: "10.26.0.100",
    gatewayIp: "10.26.0.110",
  });
});

/** The fixture stacks' mesh (infra owns the CA, apps reads it), as the program computes it. */
const fixtureStacks = listStacks(fixtureDir).map((s) => ({
  file: `Pulumi.${s}.yaml`,
  cluster: clusterFromStackFile(readStackFile(fixtureDir, s)),
}));
const meshOf = (name: string): MeshView =>
  meshView(
    fixtureStacks.find((s) => s.cluster.name === name)!,
    fixtureStacks,
  )!;

describe("apiServerAccess", () => {
  it("KubePrism: the node-local endpoint 127.0.0.1:7445, whatever the cluster endpoint", () => {
    expect(apiServerAccess(infra)).toStrictEqual({ host: "127.0.0.1", port: 7445 });
    expect(apiServerAccess(variant(infra, (c) => (c.endpoint.port = 8443)))).toStrictEqual({ host: "127.0.0.1", port: 7445 });
  });

  it("endpoint: the cluster endpoint's host and port", () => {
    expect(apiServerAccess(viaEndpoint)).toStrictEqual({ host: "infra-k8s.monosense.io", port: 8443 });
    expect(apiServerAccess(variant(apps, (c) => (c.cilium.apiServerAccess = "endpoint")))).toStrictEqual({
      host: "apps-k8s.monosense.io",
      port: 6443,
    });
  });

  it("returns a fresh object each call: a caller editing it cannot change the KubePrism default", () => {
    const first = apiServerAccess(infra);
    first.port = 1;
    expect(apiServerAccess(infra)).toStrictEqual({ host: "127.0.0.1", port: 7445 });
  });
});

describe("ciliumValues", () => {
  const serviceMonitor = { enabled: true };
  /** infra, three control planes, KubePrism, pool inside the node subnet, no mesh. */
  const infraAlone = {
    cluster: { name: "infra", id: 1 },
    kubeProxyReplacement: true,
    k8sServiceHost: "127.0.0.1",
    k8sServicePort: 7445,
    ipam: { mode: "kubernetes" },
    routingMode: "native",
    autoDirectNodeRoutes: true,
    ipv4NativeRoutingCIDR: "10.244.0.0/16",
    bpf: { masquerade: true, hostLegacyRouting: false },
    encryption: { enabled: true, type: "wireguard" },
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
    l2announcements: { enabled: true },
    hubble: {
      enabled: true,
      relay: { enabled: true },
      metrics: { enabled: ["dns:query", "drop", "tcp", "flow", "port-distribution", "icmp", "httpV2"], serviceMonitor },
    },
    prometheus: { enabled: true, serviceMonitor: { enabled: true, trustCRDsExist: true } },
    operator: { replicas: 2, prometheus: { enabled: true, serviceMonitor } },
  };

  it("without ClusterMesh, three control planes: the whole value set, two operator replicas", () => {
    expect(ciliumValues(infra)).toStrictEqual(infraAlone);
  });

  it("one control plane: one operator replica (workers do not count)", () => {
    expect(ciliumValues(oneControlPlane)).toStrictEqual({
      ...infraAlone,
      operator: { replicas: 1, prometheus: { enabled: true, serviceMonitor } },
    });
  });

  it("three control planes and three workers: still two operator replicas", () => {
    expect(ciliumValues(threeControlPlanesWithWorkers)).toStrictEqual(infraAlone);
  });

  it("two control planes: two operator replicas", () => {
    const two = variant(infra, (c) => (c.nodes = c.nodes.slice(0, 2)));
    expect(ciliumValues(two)).toStrictEqual(infraAlone);
  });

  it("API server through the endpoint: its host and port", () => {
    expect(ciliumValues(viaEndpoint)).toStrictEqual({ ...infraAlone, k8sServiceHost: "infra-k8s.monosense.io", k8sServicePort: 8443 });
  });

  it("a pool outside the node subnet: no L2 announcements", () => {
    expect(ciliumValues(bgpOnly)).toStrictEqual({ ...infraAlone, l2announcements: { enabled: false } });
  });

  it("apps: its own name, id and pod CIDR", () => {
    expect(ciliumValues(apps)).toStrictEqual({ ...infraAlone, cluster: { name: "apps", id: 2 }, ipv4NativeRoutingCIDR: "10.246.0.0/16" });
  });

  const meshHubble = { ...infraAlone.hubble, tls: { auto: { enabled: true, method: "cronJob" } } };
  const generation = (g: string) => ({ "talos-gitops.io/clustermesh-ca-generation": g });
  const apiserver = (ip: string, g: string) => ({
    podLabels: generation(g),
    service: { type: "LoadBalancer", annotations: { "lbipam.cilium.io/ips": ip } },
    tls: { authMode: "cluster", auto: { enabled: true, method: "cronJob" } },
  });

  it("ClusterMesh, the CA owner: routing CIDR over both meshes' pods, certgen with the CA generation, the peer's endpoint", () => {
    expect(ciliumValues(infra, meshOf("infra"))).toStrictEqual({
      ...infraAlone,
      ipv4NativeRoutingCIDR: "10.244.0.0/14",
      hubble: meshHubble,
      certgen: { generateCA: false, podLabels: generation("1") },
      clustermesh: {
        useAPIServer: true,
        config: { enabled: true, clusters: [{ name: "apps", port: 2379, ips: ["10.25.11.120"] }] },
        apiserver: apiserver("10.25.11.100", "1"),
      },
    });
  });

  it("ClusterMesh, a member reading the CA: its own mesh address, infra as the peer", () => {
    expect(ciliumValues(apps, meshOf("apps"))).toStrictEqual({
      ...infraAlone,
      cluster: { name: "apps", id: 2 },
      ipv4NativeRoutingCIDR: "10.244.0.0/14",
      hubble: meshHubble,
      certgen: { generateCA: false, podLabels: generation("1") },
      clustermesh: {
        useAPIServer: true,
        config: { enabled: true, clusters: [{ name: "infra", port: 2379, ips: ["10.25.11.100"] }] },
        apiserver: apiserver("10.25.11.120", "1"),
      },
    });
  });

  it("ClusterMesh with two peers and a rotated CA, at one control plane: every peer in order, the generation as a string", () => {
    const mesh: MeshView = {
      self: "infra",
      peers: [
        { name: "apps", id: 2, stack: "apps", file: "Pulumi.apps.yaml", address: "10.25.11.120", port: 2379, podCidr: "10.246.0.0/16" },
        { name: "edge", id: 3, stack: "edge", file: "Pulumi.edge.yaml", address: "10.25.11.140", port: 12379, podCidr: "10.248.0.0/16" },
      ],
      ca: { kind: "owner", generation: 3 },
      nativeRoutingCidr: "10.240.0.0/12",
    };
    expect(ciliumValues(oneControlPlane, mesh)).toStrictEqual({
      ...infraAlone,
      ipv4NativeRoutingCIDR: "10.240.0.0/12",
      hubble: meshHubble,
      operator: { replicas: 1, prometheus: { enabled: true, serviceMonitor } },
      certgen: { generateCA: false, podLabels: generation("3") },
      clustermesh: {
        useAPIServer: true,
        config: {
          enabled: true,
          clusters: [
            { name: "apps", port: 2379, ips: ["10.25.11.120"] },
            { name: "edge", port: 12379, ips: ["10.25.11.140"] },
          ],
        },
        apiserver: apiserver("10.25.11.100", "3"),
      },
    });
  });
});

describe("corednsValues", () => {
  const expected = {
    replicaCount: 2,
    k8sAppLabelOverride: "kube-dns",
    service: { name: "kube-dns", clusterIP: "10.245.0.10" },
    prometheus: { service: { enabled: true }, monitor: { enabled: true } },
    serviceAccount: { create: true },
    priorityClassName: "system-cluster-critical",
  };

  it("the Service address and replica count from the stack", () => {
    expect(corednsValues(infra)).toStrictEqual(expected);
    expect(corednsValues(variant(apps, (c) => (c.coredns.replicas = 3)))).toStrictEqual({
      ...expected,
      replicaCount: 3,
      service: { name: "kube-dns", clusterIP: "10.247.0.10" },
    });
  });
});

describe("cert-manager", () => {
  it("chart values: CRDs installed and kept, leader election in its namespace, a ServiceMonitor", () => {
    expect(certManagerValues()).toStrictEqual({
      crds: { enabled: true, keep: true },
      global: { leaderElection: { namespace: "cert-manager" } },
      prometheus: { enabled: true, servicemonitor: { enabled: true } },
    });
  });

  const issuer = (email: string, server: string, key: string, zone: string) => ({
    acme: {
      email,
      server,
      privateKeySecretRef: { name: key },
      solvers: [
        {
          dns01: { cloudflare: { apiTokenSecretRef: { name: "cloudflare-api-token", key: "api-token" } } },
          selector: { dnsZones: [zone] },
        },
      ],
    },
  });

  it("the production issuer: Let's Encrypt's production directory, DNS-01 through Cloudflare for the zone", () => {
    expect(clusterIssuerSpec(infra, "letsencrypt-production")).toStrictEqual(
      issuer("admin@monosense.io", "https://acme-v02.api.letsencrypt.org/directory", "letsencrypt-production-account-key", "monosense.io"),
    );
  });

  it("the staging issuer: the staging directory and its own account key", () => {
    expect(clusterIssuerSpec(infra, "letsencrypt-staging")).toStrictEqual(
      issuer(
        "admin@monosense.io",
        "https://acme-staging-v02.api.letsencrypt.org/directory",
        "letsencrypt-staging-account-key",
        "monosense.io",
      ),
    );
  });

  it("the e-mail and zone come from the stack", () => {
    const other = variant(infra, (c) => {
      c.domain = "example.org";
      c.certManager.email = "ops@example.org";
    });
    expect(clusterIssuerSpec(other, "letsencrypt-production")).toStrictEqual(
      issuer("ops@example.org", "https://acme-v02.api.letsencrypt.org/directory", "letsencrypt-production-account-key", "example.org"),
    );
  });
});

describe("external-secrets", () => {
  it("chart values: CRDs and a ServiceMonitor", () => {
    expect(externalSecretsValues()).toStrictEqual({ installCRDs: true, serviceMonitor: { enabled: true } });
  });

  it("the ClusterSecretStore: the 1Password SDK provider on the given vault, signing in with the token Secret", () => {
    const store = (vault: string) => ({
      provider: {
        onepasswordSDK: {
          vault,
          auth: { serviceAccountSecretRef: { name: "onepassword-service-account", namespace: "external-secrets", key: "token" } },
        },
      },
    });
    expect(onePasswordStoreSpec("Infra")).toStrictEqual(store("Infra"));
    expect(onePasswordStoreSpec("Apps")).toStrictEqual(store("Apps"));
  });
});

describe("clusterSettings", () => {
  const infraSettings = {
    CLUSTER: "infra",
    CLUSTER_ID: "1",
    POD_CIDR: '["10.244.0.0/16"]',
    POD_CIDR_STRING: "10.244.0.0/16",
    SERVICE_CIDR: '["10.245.0.0/16"]',
    K8S_SERVICE_HOST: "127.0.0.1",
    K8S_SERVICE_PORT: "7445",
    CLUSTERMESH_IP: "10.25.11.100",
    CILIUM_GATEWAY_LB_IP: "10.25.11.110",
    CILIUM_BGP_LOCAL_ASN: "64512",
    CILIUM_BGP_PEER_ASN: "64501",
    CILIUM_BGP_PEER_ADDRESS: "10.25.11.1",
    CILIUM_LB_POOL_START: "10.25.11.100",
    CILIUM_LB_POOL_END: "10.25.11.119",
    CILIUM_L2_ANNOUNCEMENTS: "true",
    CILIUM_L2_INTERFACE: "^bond0$",
    SECRET_DOMAIN: "monosense.io",
    LETSENCRYPT_EMAIL: "admin@monosense.io",
  };

  it("infra: every value the GitOps tree substitutes, as strings", () => {
    expect(clusterSettings(infra)).toStrictEqual(infraSettings);
  });

  it("apps: its own name, CIDRs, addresses and ASN", () => {
    expect(clusterSettings(apps)).toStrictEqual({
      ...infraSettings,
      CLUSTER: "apps",
      CLUSTER_ID: "2",
      POD_CIDR: '["10.246.0.0/16"]',
      POD_CIDR_STRING: "10.246.0.0/16",
      SERVICE_CIDR: '["10.247.0.0/16"]',
      CLUSTERMESH_IP: "10.25.11.120",
      CILIUM_GATEWAY_LB_IP: "10.25.11.121",
      CILIUM_BGP_LOCAL_ASN: "64513",
      CILIUM_LB_POOL_START: "10.25.11.120",
      CILIUM_LB_POOL_END: "10.25.11.139",
    });
  });

  it("API server through the endpoint: its host and port", () => {
    expect(clusterSettings(viaEndpoint)).toStrictEqual({
      ...infraSettings,
      K8S_SERVICE_HOST: "infra-k8s.monosense.io",
      K8S_SERVICE_PORT: "8443",
    });
  });

  it("a pool outside the node subnet: no L2 announcements", () => {
    expect(clusterSettings(bgpOnly)).toStrictEqual({
      ...infraSettings,
      CLUSTERMESH_IP: "10.26.0.100",
      CILIUM_GATEWAY_LB_IP: "10.26.0.110",
      CILIUM_LB_POOL_START: "10.26.0.100",
      CILIUM_LB_POOL_END: "10.26.0.119",
      CILIUM_L2_ANNOUNCEMENTS: "false",
    });
  });

  it("the BGP peer, domain and e-mail come from the stack", () => {
    const other = variant(infra, (c) => {
      c.cilium.bgp = { localAsn: 65010, peerAddress: "10.25.11.2", peerAsn: 65000 };
      c.domain = "example.org";
      c.certManager.email = "ops@example.org";
    });
    expect(clusterSettings(other)).toStrictEqual({
      ...infraSettings,
      CILIUM_BGP_LOCAL_ASN: "65010",
      CILIUM_BGP_PEER_ASN: "65000",
      CILIUM_BGP_PEER_ADDRESS: "10.25.11.2",
      SECRET_DOMAIN: "example.org",
      LETSENCRYPT_EMAIL: "ops@example.org",
    });
  });
});

describe("Flux", () => {
  it("flux-operator chart values: a ServiceMonitor", () => {
    expect(fluxOperatorValues()).toStrictEqual({ serviceMonitor: { create: true } });
  });

  const instance = (sync: Record<string, unknown>) => ({
    wait: true,
    distribution: {
      version: versions.flux,
      registry: "ghcr.io/fluxcd",
      artifact: "oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests",
    },
    components: ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"],
    cluster: { type: "kubernetes", networkPolicy: true, domain: "cluster.local" },
    sync: { kind: "GitRepository", pullSecret: "flux-system", ...sync },
  });

  it("the FluxInstance over SSH: the stack's URL, branch and path, no provider", () => {
    expect(fluxInstanceSpec(infra)).toStrictEqual(
      instance({ url: "ssh://git@github.com/monosense-io/k8s-gitops.git", ref: "refs/heads/main", path: "kubernetes/clusters/infra" }),
    );
  });

  it("the FluxInstance through a GitHub App: the github provider, another branch and path", () => {
    const app = variant(apps, (c) => {
      c.flux = {
        url: "https://github.com/monosense-io/k8s-gitops.git",
        branch: "release",
        path: "clusters/apps-prod",
        auth: { type: "githubApp", appId: "123", installationId: "456", privateKey: "op://Prod/app/private-key" },
      };
    });
    expect(fluxInstanceSpec(app)).toStrictEqual(
      instance({
        url: "https://github.com/monosense-io/k8s-gitops.git",
        ref: "refs/heads/release",
        path: "clusters/apps-prod",
        provider: "github",
      }),
    );
  });

  it("the FluxInstance await: Ready, for up to 900 s", () => {
    expect(fluxInstanceAwait()).toStrictEqual({ "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "900" });
  });

  it("the hand-over message: each criterion, the resource awaiting it and where to look", () => {
    expect(handoverMessage()).toBe(
      [
        "hand-over to Flux: pulumi up completes only when",
        "  - flux-operator is installed and its Deployment is available [awaited by flux-operator: Helm's wait on the release " +
          "(atomic, 600 s): a failed install rolls back]; if not: kubectl -n flux-system get deploy,pods -l " +
          "app.kubernetes.io/name=flux-operator ; kubectl -n flux-system logs deploy/flux-operator",
        "  - the FluxInstance reports Ready: Flux's controllers are installed and healthy [awaited by flux: pulumi-kubernetes " +
          "awaits Ready=True at the current generation (pulumi.com/waitFor: condition=Ready, 900 s)]; if not: " +
          "kubectl -n flux-system get fluxinstance flux -o yaml ; kubectl -n flux-system get events --field-selector involvedObject.name=flux",
        "  - the sync source (GitRepository flux-system) fetched an artifact from the repository [awaited by flux: implied by " +
          "the FluxInstance's Ready (spec.wait: true health-checks the sync GitRepository)]; if not: flux get sources git -n " +
          "flux-system ; kubectl -n flux-system describe gitrepository flux-system",
        "  - the root Kustomization (flux-system) applied a revision once [awaited by flux: implied by the FluxInstance's Ready " +
          "(spec.wait: true health-checks the sync Kustomization)]; if not: flux get kustomizations -n flux-system ; flux logs " +
          "--kind=Kustomization --name=flux-system -n flux-system",
      ].join("\n"),
    );
  });
});

describe("Cloudflare edge", () => {
  it.each([
    ["@", "monosense.io"],
    ["@.", "monosense.io"],
    ["www", "www.monosense.io"],
    ["www.", "www.monosense.io"],
    ["a.b", "a.b.monosense.io"],
    ["a.b.", "a.b.monosense.io"],
    ["monosense.io", "monosense.io"],
    ["monosense.io.", "monosense.io"],
    ["external.monosense.io", "external.monosense.io"],
    ["external.monosense.io.", "external.monosense.io"],
    ["*.apps.monosense.io", "*.apps.monosense.io"],
    // Ends with the zone's name but is not in the zone: a label is added.
    ["xmonosense.io", "xmonosense.io.monosense.io"],
    ["monosense.io.example", "monosense.io.example.monosense.io"],
    ["@www", "@www.monosense.io"],
  ])("fqdn(%j) in monosense.io is %j", (name, expected) => {
    expect(fqdn(name, "monosense.io")).toBe(expected);
  });

  it("tunnel ingress: the cluster's names to the external Gateway over HTTP/2 with the anchor as SNI, then a catch-all 404", () => {
    expect(tunnelIngress({ ingressHostname: "*.apps.monosense.io", anchor: "external.apps.monosense.io" })).toStrictEqual([
      {
        hostname: "*.apps.monosense.io",
        service: "https://cilium-gateway-external.kube-system.svc.cluster.local:443",
        originRequest: { originServerName: "external.apps.monosense.io", http2Origin: true },
      },
      { service: "http_status:404" },
    ]);
  });

  it("a zone-scoped policy: allow the given permission groups on that zone only", () => {
    expect(zoneScopedPolicy("00000000000000000000000000000002", ["zone-read-id", "dns-write-id"])).toStrictEqual({
      effect: "allow",
      permissionGroups: [{ id: "zone-read-id" }, { id: "dns-write-id" }],
      resources: '{"com.cloudflare.api.account.zone.00000000000000000000000000000002":"*"}',
    });
    expect(zoneScopedPolicy("abc", [])).toStrictEqual({
      effect: "allow",
      permissionGroups: [],
      resources: '{"com.cloudflare.api.account.zone.abc":"*"}',
    });
  });

  it("the scoped tokens: one for cert-manager's DNS-01, one for external-dns, named after the cluster", () => {
    expect(scopedTokens(infra)).toStrictEqual([
      { key: "dnsChallenge", name: "infra-cert-manager-dns01" },
      { key: "externalDns", name: "infra-external-dns" },
    ]);
    expect(scopedTokens(apps)).toStrictEqual([
      { key: "dnsChallenge", name: "apps-cert-manager-dns01" },
      { key: "externalDns", name: "apps-external-dns" },
    ]);
  });
});
