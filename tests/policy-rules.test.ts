import type { ClusterFacts } from "../policy/facts";
import * as network from "../policy/network";
import * as platform from "../policy/platform";
import * as secrets from "../policy/secrets";
import { facts, stackReportsOf, stackViolationsOf, violationsOf, type StackResource } from "./policy-support";

/**
 * Each rule alone over hand-built args (tests/policy-support.ts): a violating case and the near
 * misses on either side of each condition, with the exact messages. The pack over recorded stacks
 * is tests/policy.test.ts.
 */

const release = "kubernetes:helm.sh/v3:Release";
const apply = "talos:machine/configurationApply:ConfigurationApply";
const namespace = "kubernetes:core/v1:Namespace";
const networkPolicy = "kubernetes:networking.k8s.io/v1:NetworkPolicy";
const service = "kubernetes:core/v1:Service";
const configMap = "kubernetes:core/v1:ConfigMap";

const ciliumValues = {
  kubeProxyReplacement: true,
  k8sServiceHost: "127.0.0.1",
  k8sServicePort: 7445,
  encryption: { enabled: true, type: "wireguard" },
  cluster: { name: "infra", id: 1 },
};
/** The cilium release with some values replaced. */
const cilium = (values: Record<string, unknown> = {}) => ({ name: "cilium", values: { ...ciliumValues, ...values } });
const ciliumResource = (values: Record<string, unknown>): StackResource => ({
  type: release,
  name: "cilium",
  props: { name: "cilium", values },
});

/** Not the cilium release, though named cilium: the stack rules must pass over it. */
const ciliumNamespace: StackResource = { type: namespace, name: "cilium", props: { metadata: { name: "cilium" } } };
const spegelRelease: StackResource = { type: release, name: "spegel", props: { name: "spegel", values: {} } };

const cniNone = "cluster:\n  network:\n    cni:\n      name: none\n";
const proxyOff = "cluster:\n  proxy:\n    disabled: true\n";
const proxyOn = "cluster:\n  proxy:\n    disabled: false\n";
const features = (yaml: string) => `machine:\n  features:\n${yaml}`;
const patches = (...docs: unknown[]) => ({ configPatches: docs, node: "10.25.11.11", endpoint: "10.25.11.11" });
const node = (name: string, ...docs: unknown[]): StackResource => ({ type: apply, name, props: patches(...docs) });

describe("cilium-kube-proxy-replacement", () => {
  const rule = network.ciliumReplacesKubeProxy;
  const kubeProxy = "kubeProxyReplacement must be true (Talos runs without kube-proxy)";
  const apiServer =
    "k8sServiceHost and k8sServicePort must be set: without kube-proxy Cilium cannot find the API server through the Service";
  const wireguard = "node-to-node traffic must be encrypted: encryption.enabled true with type wireguard";
  const mesh = "cluster.name must be set and cluster.id must be 1-255 (ClusterMesh)";
  const all = [kubeProxy, apiServer, wireguard, mesh];

  it("accepts the complete values, with Helm's string booleans too", async () => {
    expect(await violationsOf(rule, release, cilium())).toEqual([]);
    expect(
      await violationsOf(rule, release, cilium({ kubeProxyReplacement: "true", encryption: { enabled: "true", type: "wireguard" } })),
    ).toEqual([]);
  });

  it("reports every missing value of a release without values", async () => {
    expect(await violationsOf(rule, release, { name: "cilium" })).toEqual(all);
    expect(await violationsOf(rule, release, { name: "cilium", values: {} })).toEqual(all);
  });

  it("finds the release by its Helm name, else by the resource name, and only the one named exactly cilium", async () => {
    expect(await violationsOf(rule, release, { values: {} }, { name: "cilium" })).toEqual(all);
    expect(await violationsOf(rule, release, { name: "cilium", values: {} }, { name: "cni" })).toEqual(all);
    // The Helm name wins over the resource name.
    expect(await violationsOf(rule, release, { name: "cilium-envoy", values: {} }, { name: "cilium" })).toEqual([]);
    expect(await violationsOf(rule, release, { name: "my-cilium", values: {} })).toEqual([]);
    expect(await violationsOf(rule, release, { name: "spegel", values: {} })).toEqual([]);
    expect(await violationsOf(rule, "kubernetes:yaml/v2:ConfigGroup", { name: "cilium", values: {} })).toEqual([]);
  });

  it("wants kube-proxy replacement on", async () => {
    for (const off of [false, "false", "strict", undefined])
      expect({ off, found: await violationsOf(rule, release, cilium({ kubeProxyReplacement: off })) }).toEqual({ off, found: [kubeProxy] });
  });

  it("wants both the API server host and port", async () => {
    expect(await violationsOf(rule, release, cilium({ k8sServicePort: undefined }))).toEqual([apiServer]);
    expect(await violationsOf(rule, release, cilium({ k8sServiceHost: "" }))).toEqual([apiServer]);
  });

  it("wants WireGuard encryption switched on", async () => {
    expect(await violationsOf(rule, release, cilium({ encryption: { enabled: false, type: "wireguard" } }))).toEqual([wireguard]);
    expect(await violationsOf(rule, release, cilium({ encryption: { enabled: true, type: "ipsec" } }))).toEqual([wireguard]);
    expect(await violationsOf(rule, release, cilium({ encryption: { type: "wireguard" } }))).toEqual([wireguard]);
    // A section left empty in YAML is null: it reads as unset, not as an error.
    expect(await violationsOf(rule, release, cilium({ encryption: null }))).toEqual([wireguard]);
  });

  it("wants a cluster name and an id from 1 to 255", async () => {
    for (const id of [1, 255])
      expect({ id, found: await violationsOf(rule, release, cilium({ cluster: { name: "infra", id } })) }).toEqual({ id, found: [] });
    for (const id of [0, 256, "1", undefined])
      expect({ id, found: await violationsOf(rule, release, cilium({ cluster: { name: "infra", id } })) }).toEqual({ id, found: [mesh] });
    expect(await violationsOf(rule, release, cilium({ cluster: { id: 1 } }))).toEqual([mesh]);
    expect(await violationsOf(rule, release, cilium({ cluster: { name: "", id: 1 } }))).toEqual([mesh]);
  });
});

describe("talos-cni-none-proxy-disabled", () => {
  const rule = network.talosHandsNetworkToCilium;
  const cni = "the config patches must set cluster.network.cni.name: none";
  const proxy = "the config patches must set cluster.proxy.disabled: true";

  it("accepts both settings in one document, in two patches, or in two documents of one patch", async () => {
    expect(await violationsOf(rule, apply, patches(cniNone + proxyOff.replace("cluster:\n", "")))).toEqual([]);
    expect(await violationsOf(rule, apply, patches(cniNone, proxyOff))).toEqual([]);
    expect(await violationsOf(rule, apply, patches(`${cniNone}---\n${proxyOff}`))).toEqual([]);
  });

  it("reports another CNI and kube-proxy left on", async () => {
    expect(await violationsOf(rule, apply, patches(cniNone.replace("none", "flannel"), proxyOn))).toEqual([cni, proxy]);
    expect(await violationsOf(rule, apply, patches(cniNone, 'cluster:\n  proxy:\n    disabled: "true"\n'))).toEqual([proxy]);
    expect(await violationsOf(rule, apply, patches(proxyOff))).toEqual([cni]);
  });

  it("reads only string patches; an apply without patches sets nothing", async () => {
    expect(await violationsOf(rule, apply, { node: "10.25.11.11" })).toEqual([cni, proxy]);
    const asObject = { cluster: { network: { cni: { name: "none" } }, proxy: { disabled: true } } };
    expect(await violationsOf(rule, apply, patches(asObject))).toEqual([cni, proxy]);
    expect(await violationsOf(rule, apply, patches(asObject, cniNone, proxyOff))).toEqual([]);
  });

  it("looks only at configuration applies", async () => {
    expect(await violationsOf(rule, "talos:machine/bootstrap:Bootstrap", patches(proxyOn))).toEqual([]);
  });
});

describe("cilium-talos-agree", () => {
  const rule = network.ciliumAndTalosAgree;
  const disagree = (replacement: boolean, disabled: boolean) =>
    `Cilium kubeProxyReplacement is ${replacement} but this node's kube-proxy disabled is ${disabled}`;

  it("accepts both sides agreeing, either way", async () => {
    expect(await stackViolationsOf(rule, [ciliumResource(ciliumValues), node("cp1", cniNone, proxyOff)])).toEqual([]);
    expect(await stackViolationsOf(rule, [ciliumResource({ kubeProxyReplacement: "true" }), node("cp1", proxyOff)])).toEqual([]);
    expect(await stackViolationsOf(rule, [ciliumResource({ kubeProxyReplacement: false }), node("cp1", proxyOn)])).toEqual([]);
    expect(await stackViolationsOf(rule, [ciliumResource({}), node("cp1", cniNone)])).toEqual([]);
  });

  it("reports each node that disagrees, at that node", async () => {
    expect(
      await stackReportsOf(rule, [ciliumResource(ciliumValues), node("cp1", proxyOff), node("cp2", proxyOn), node("cp3", cniNone)]),
    ).toEqual([
      [disagree(true, false), "urn:cp2"],
      [disagree(true, false), "urn:cp3"],
    ]);
    expect(await stackReportsOf(rule, [ciliumResource({ kubeProxyReplacement: false }), node("cp1", proxyOff)])).toEqual([
      [disagree(false, true), "urn:cp1"],
    ]);
  });

  it("judges the release named cilium, found by its Helm name or its resource name", async () => {
    expect(await stackViolationsOf(rule, [spegelRelease, ciliumResource(ciliumValues), node("cp1", proxyOff)])).toEqual([]);
    expect(await stackViolationsOf(rule, [ciliumNamespace, ciliumResource(ciliumValues), node("cp1", proxyOn)])).toEqual([
      disagree(true, false),
    ]);
    const byResourceName: StackResource = { type: release, name: "cilium", props: { values: ciliumValues } };
    expect(await stackViolationsOf(rule, [byResourceName, node("cp1", proxyOn)])).toEqual([disagree(true, false)]);
  });

  it("has nothing to compare without Cilium or without nodes", async () => {
    expect(await stackViolationsOf(rule, [node("cp1", proxyOn)])).toEqual([]);
    expect(await stackViolationsOf(rule, [ciliumResource(ciliumValues)])).toEqual([]);
  });
});

describe("namespace-default-deny", () => {
  const rule = network.namespacesDenyByDefault;
  const noDeny = (ns: string) =>
    `namespace ${ns} has no default-deny NetworkPolicy for ingress and egress (or an exemption with a reason in the policy config)`;
  const noDns = (ns: string) => `namespace ${ns} has no NetworkPolicy allowing DNS (port 53) to CoreDNS`;
  const ns = (name: string): StackResource => ({ type: namespace, name, props: { metadata: { name } } });
  const policyIn = (ns: string, name: string, spec: Record<string, unknown>): StackResource => ({
    type: networkPolicy,
    name,
    props: { metadata: { name, namespace: ns }, spec },
  });
  const denySpec = { podSelector: {}, policyTypes: ["Ingress", "Egress"] };
  const deny = (ns: string) => policyIn(ns, `${ns}-deny`, denySpec);
  const dnsSpec = (port: number) => ({
    podSelector: {},
    policyTypes: ["Egress"],
    egress: [
      {
        ports: [
          { protocol: "UDP", port },
          { protocol: "TCP", port },
        ],
      },
    ],
  });
  const dns = (ns: string) => policyIn(ns, `${ns}-dns`, dnsSpec(53));

  it("accepts a namespace with a default-deny and a DNS allowance", async () => {
    expect(await stackViolationsOf(rule, [ns("apps"), deny("apps"), dns("apps")])).toEqual([]);
  });

  it("reports each namespace without them, at the namespace", async () => {
    expect(await stackReportsOf(rule, [ns("apps"), ns("web"), deny("apps"), dns("apps"), dns("web")])).toEqual([
      [noDeny("web"), "urn:web"],
    ]);
    expect(await stackViolationsOf(rule, [ns("apps")])).toEqual([noDeny("apps"), noDns("apps")]);
  });

  it("exempts only the namespaces the config exempts with a reason", async () => {
    expect(await stackViolationsOf(rule, [ns("spegel"), ns("kube-system")])).toEqual([]);
    expect(await stackViolationsOf(rule, [ns("flux-system")])).toEqual([noDeny("flux-system"), noDns("flux-system")]);
    // An own property of the exemptions, not anything an object answers to.
    expect(await stackViolationsOf(rule, [ns("constructor")])).toEqual([noDeny("constructor"), noDns("constructor")]);
  });

  it("names a namespace by metadata.name, else by its resource name", async () => {
    const unnamed: StackResource = { type: namespace, name: "apps", props: {} };
    expect(await stackViolationsOf(rule, [unnamed, deny("apps"), dns("apps")])).toEqual([]);
    const named: StackResource = { type: namespace, name: "ns", props: { metadata: { name: "apps" } } };
    expect(await stackViolationsOf(rule, [named, deny("ns"), dns("ns")])).toEqual([noDeny("apps"), noDns("apps")]);
  });

  it("counts only policies in the namespace itself", async () => {
    expect(await stackViolationsOf(rule, [ns("apps"), deny("web"), dns("web")])).toEqual([noDeny("apps"), noDns("apps")]);
  });

  it("refuses near misses of a default-deny: one direction, a selector that picks pods, or a rule that allows", async () => {
    const nearMisses = [
      { podSelector: {}, policyTypes: ["Ingress"] },
      { podSelector: {}, policyTypes: ["Egress"] },
      // Without policyTypes Kubernetes reads Ingress only.
      { podSelector: {} },
      { policyTypes: ["Ingress", "Egress"] },
      { podSelector: { matchLabels: { app: "web" } }, policyTypes: ["Ingress", "Egress"] },
      { ...denySpec, ingress: [{}] },
      { ...denySpec, egress: [{}] },
    ];
    for (const spec of nearMisses)
      expect({ spec, found: await stackViolationsOf(rule, [ns("apps"), policyIn("apps", "leaky", spec), dns("apps")]) }).toEqual({
        spec,
        found: [noDeny("apps")],
      });
    const specless: StackResource = { type: networkPolicy, name: "empty", props: { metadata: { namespace: "apps" } } };
    expect(await stackViolationsOf(rule, [ns("apps"), specless, dns("apps")])).toEqual([noDeny("apps")]);
  });

  it("counts Kubernetes NetworkPolicies only (the program creates them before Cilium's CRDs exist)", async () => {
    const asCilium = (r: StackResource): StackResource => ({ ...r, type: "kubernetes:cilium.io/v2:CiliumNetworkPolicy" });
    expect(await stackViolationsOf(rule, [ns("apps"), asCilium(deny("apps")), asCilium(dns("apps"))])).toEqual([
      noDeny("apps"),
      noDns("apps"),
    ]);
  });

  it("wants an egress rule to port 53 itself, in a NetworkPolicy", async () => {
    // Port 5353 (mDNS) or 530 is not DNS.
    expect(await stackViolationsOf(rule, [ns("apps"), deny("apps"), policyIn("apps", "mdns", dnsSpec(5353))])).toEqual([noDns("apps")]);
    expect(await stackViolationsOf(rule, [ns("apps"), deny("apps"), policyIn("apps", "p530", dnsSpec(530))])).toEqual([noDns("apps")]);
    // Letting others query this namespace on 53 is not a way out to CoreDNS.
    const ingress53 = { podSelector: {}, policyTypes: ["Ingress"], ingress: [{ ports: [{ protocol: "UDP", port: 53 }] }] };
    expect(await stackViolationsOf(rule, [ns("apps"), deny("apps"), policyIn("apps", "serve", ingress53)])).toEqual([noDns("apps")]);
    // A Service on port 53 is no allowance.
    const dnsService: StackResource = {
      type: service,
      name: "resolver",
      props: { metadata: { namespace: "apps" }, spec: { ports: [{ protocol: "UDP", port: 53 }] } },
    };
    expect(await stackViolationsOf(rule, [ns("apps"), deny("apps"), dnsService])).toEqual([noDns("apps")]);
    // TCP alone, with a peer, is DNS all the same.
    const tcpOnly = {
      podSelector: {},
      policyTypes: ["Egress"],
      egress: [{ to: [{ podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }], ports: [{ protocol: "TCP", port: 53 }] }],
    };
    expect(await stackViolationsOf(rule, [ns("apps"), deny("apps"), policyIn("apps", "tcp", tcpOnly)])).toEqual([]);
  });

  describe("ports as a NetworkPolicy has them: numbered, named, ranges, none", () => {
    const egress = (...rules: Array<Record<string, unknown>>) => ({ podSelector: {}, policyTypes: ["Egress"], egress: rules });
    const toCoreDns = { to: [{ namespaceSelector: {}, podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }] };
    const judged = async (spec: Record<string, unknown>) =>
      stackViolationsOf(rule, [ns("apps"), deny("apps"), policyIn("apps", "dns", spec)]);
    const unmatched = (names: string) =>
      `${noDns("apps")}: named port ${names} matches no port of the CoreDNS pods (the coredns chart names its port 53 udp-53 and tcp-53)`;

    it("accepts the names the CoreDNS pods give port 53 (coredns chart udp-53/UDP, tcp-53/TCP, TCP by default)", async () => {
      const named = [
        { protocol: "UDP", port: "udp-53" },
        { protocol: "TCP", port: "tcp-53" },
      ];
      expect(await judged(egress({ ...toCoreDns, ports: named }))).toEqual([]);
      expect(await judged(egress({ ...toCoreDns, ports: [{ port: "tcp-53" }] }))).toEqual([]);
    });

    it("refuses a name the CoreDNS pods do not have, saying so: `dns` matches nothing on them", async () => {
      const kubernetesNames = [
        { protocol: "UDP", port: "dns" },
        { protocol: "TCP", port: "dns-tcp" },
      ];
      expect(await judged(egress({ ...toCoreDns, ports: kubernetesNames }))).toEqual([unmatched("dns, dns-tcp")]);
      // A name matches a container port of that name and protocol: udp-53 over TCP is no port of CoreDNS.
      expect(await judged(egress({ ...toCoreDns, ports: [{ protocol: "TCP", port: "udp-53" }, { port: "udp-53" }] }))).toEqual([
        unmatched("udp-53"),
      ]);
      // Every name is listed once, across rules and policies.
      expect(
        await stackViolationsOf(rule, [
          ns("apps"),
          deny("apps"),
          policyIn("apps", "a", egress({ ports: [{ port: "dns" }] }, { ports: [{ port: "metrics" }] })),
          policyIn("apps", "b", egress({ ports: [{ protocol: "UDP", port: "dns" }] })),
        ]),
      ).toEqual([unmatched("dns, metrics")]);
    });

    it("accepts numbered 53 over UDP or TCP, a range that holds 53, and a protocol with every port", async () => {
      expect(await judged(egress({ ...toCoreDns, ports: [{ protocol: "UDP", port: 53 }] }))).toEqual([]);
      expect(await judged(egress({ ...toCoreDns, ports: [{ port: 53 }] }))).toEqual([]);
      for (const [port, endPort] of [
        [50, 60],
        [53, 53],
        [1, 53],
      ])
        expect(await judged(egress({ ports: [{ protocol: "UDP", port, endPort }] }))).toEqual([]);
      expect(await judged(egress({ ...toCoreDns, ports: [{ protocol: "UDP" }] }))).toEqual([]);
      // An empty `port:` in YAML is null: unset, every port.
      expect(await judged(egress({ ...toCoreDns, ports: [{ protocol: "UDP", port: null }] }))).toEqual([]);
    });

    it("refuses 53 over SCTP and ranges beside 53", async () => {
      expect(await judged(egress({ ports: [{ protocol: "SCTP", port: 53 }] }))).toEqual([noDns("apps")]);
      expect(await judged(egress({ ports: [{ protocol: "SCTP" }] }))).toEqual([noDns("apps")]);
      for (const [port, endPort] of [
        [54, 60],
        [40, 52],
      ])
        expect(await judged(egress({ ports: [{ protocol: "UDP", port, endPort }] }))).toEqual([noDns("apps")]);
      // A string "53" is no port number (a named port must hold a letter): it matches no CoreDNS port name.
      expect(await judged(egress({ ports: [{ protocol: "UDP", port: "53" }] }))).toEqual([unmatched("53")]);
    });

    it("counts a rule that allows all egress, but not a port-less rule to chosen peers", async () => {
      expect(await judged(egress({}))).toEqual([]);
      expect(await judged(egress({ ports: [], to: [] }))).toEqual([]);
      expect(await judged(egress(toCoreDns))).toEqual([noDns("apps")]);
      expect(await judged(egress({ to: [{ ipBlock: { cidr: "0.0.0.0/0" } }], ports: [] }))).toEqual([noDns("apps")]);
    });
  });
});

describe("loadbalancer-from-pool", () => {
  const rule = network.loadBalancersFromOwnPool;
  const nodePort = "NodePort Services are not allowed; use a LoadBalancer address from the Cilium pool";
  const outside = (ip: string) => `${ip} is outside the cluster's LoadBalancer pool 10.25.11.100-10.25.11.119`;
  const hostNetwork = "hostNetwork pods are allowed only for allow-listed system components (Cilium, Spegel)";
  const hostPort = "hostPort is allowed only for allow-listed system components (Cilium, Spegel)";
  const lb = (loadBalancerIP?: string, annotations?: Record<string, string>) => ({
    ...(annotations ? { metadata: { annotations } } : {}),
    spec: { type: "LoadBalancer", ...(loadBalancerIP === undefined ? {} : { loadBalancerIP }) },
  });

  it("takes LoadBalancer addresses from the pool, both ends included", async () => {
    for (const ip of ["10.25.11.100", "10.25.11.119"]) expect(await violationsOf(rule, service, lb(ip))).toEqual([]);
    for (const ip of ["10.25.11.99", "10.25.11.120"]) expect(await violationsOf(rule, service, lb(ip))).toEqual([outside(ip)]);
    // No request: LB IPAM picks from the pool.
    expect(await violationsOf(rule, service, lb())).toEqual([]);
  });

  it("reads the loadBalancerIP and both LB IPAM annotations, each a comma-separated list", async () => {
    expect(
      await violationsOf(
        rule,
        service,
        lb("10.25.11.99", { "lbipam.cilium.io/ips": "10.25.11.101,10.25.11.130", "io.cilium/lb-ipam-ips": "10.25.11.125" }),
      ),
    ).toEqual([outside("10.25.11.99"), outside("10.25.11.130"), outside("10.25.11.125")]);
    expect(await violationsOf(rule, service, lb(undefined, { "lbipam.cilium.io/ips": " 10.25.11.101, 10.25.11.102," }))).toEqual([]);
    expect(await violationsOf(rule, service, lb(undefined, { "io.cilium/lb-ipam-ips": "10.25.11.110" }))).toEqual([]);
  });

  it("refuses what is not a plain IPv4 address, even one that would read as inside", async () => {
    // Leading zeros read as octal to some parsers: ambiguous, so refused.
    expect(await violationsOf(rule, service, lb("10.25.11.0110"))).toEqual([outside("10.25.11.0110")]);
    expect(await violationsOf(rule, service, lb(undefined, { "lbipam.cilium.io/ips": "auto" }))).toEqual([outside("auto")]);
  });

  it("checks the pool even for an allow-listed workload", async () => {
    expect(await violationsOf(rule, service, lb("10.25.11.130"), { name: "cilium" })).toEqual([outside("10.25.11.130")]);
  });

  it("judges requested addresses on LoadBalancer Services only", async () => {
    // A loadBalancerIP left behind on a Service switched to ClusterIP asks for nothing.
    expect(await violationsOf(rule, service, { spec: { type: "ClusterIP", loadBalancerIP: "10.25.11.200" } })).toEqual([]);
  });

  it("refuses NodePort Services outside the allow-list, by resource name or metadata.name", async () => {
    expect(await violationsOf(rule, service, { spec: { type: "NodePort" } })).toEqual([nodePort]);
    expect(await violationsOf(rule, service, { spec: { type: "NodePort" } }, { name: "spegel" })).toEqual([]);
    expect(await violationsOf(rule, service, { metadata: { name: "cilium" }, spec: { type: "NodePort" } }, { name: "x" })).toEqual([]);
    expect(await violationsOf(rule, service, { spec: { type: "ClusterIP" } })).toEqual([]);
    expect(await violationsOf(rule, service, {})).toEqual([]);
  });

  it("refuses hostNetwork and hostPort pods outside the allow-list", async () => {
    const ds = "kubernetes:apps/v1:DaemonSet";
    const hostPod = { spec: { template: { spec: { hostNetwork: true, containers: [{ name: "c", ports: [{ hostPort: 80 }] }] } } } };
    expect(await violationsOf(rule, ds, hostPod, { name: "agent" })).toEqual([hostNetwork, hostPort]);
    expect(await violationsOf(rule, ds, hostPod, { name: "spegel" })).toEqual([]);
    expect(await violationsOf(rule, ds, { metadata: { name: "cilium" }, ...hostPod }, { name: "agent" })).toEqual([]);
    const plain = {
      spec: { template: { spec: { hostNetwork: false, containers: [{ name: "c", ports: [{ containerPort: 80 }] }] } } },
    };
    expect(await violationsOf(rule, ds, plain)).toEqual([]);
  });

  it("finds the pod spec of a workload, a CronJob and a bare Pod", async () => {
    const cronJob = { spec: { jobTemplate: { spec: { template: { spec: { hostNetwork: true, containers: [] } } } } } };
    expect(await violationsOf(rule, "kubernetes:batch/v1:CronJob", cronJob)).toEqual([hostNetwork]);
    const pod = "kubernetes:core/v1:Pod";
    expect(await violationsOf(rule, pod, { kind: "Pod", spec: { hostNetwork: true } })).toEqual([hostNetwork]);
    expect(await violationsOf(rule, pod, { spec: { containers: [{ name: "c", ports: [{ hostPort: 53 }] }] } })).toEqual([hostPort]);
    expect(await violationsOf(rule, pod, { kind: "Pod", spec: null })).toEqual([]);
    expect(await violationsOf(rule, configMap, { data: { hostNetwork: "true" } })).toEqual([]);
    // A workload's own spec is no pod spec: only its template is.
    const misplaced = { spec: { hostNetwork: true, template: { spec: { containers: [{ name: "c" }] } } } };
    expect(await violationsOf(rule, "kubernetes:apps/v1:Deployment", misplaced)).toEqual([]);
  });

  it("finds a hostPort on any container or init container, on any port", async () => {
    const deployment = "kubernetes:apps/v1:Deployment";
    const withContainers = (spec: Record<string, unknown>) => ({ spec: { template: { spec } } });
    const plainContainer = { name: "a", ports: [{ containerPort: 80 }] };
    const hostContainer = { name: "b", ports: [{ containerPort: 8080 }, { containerPort: 9090, hostPort: 9090 }] };
    expect(await violationsOf(rule, deployment, withContainers({ containers: [plainContainer, hostContainer] }))).toEqual([hostPort]);
    expect(await violationsOf(rule, deployment, withContainers({ containers: [plainContainer], initContainers: [hostContainer] }))).toEqual(
      [hostPort],
    );
    expect(await violationsOf(rule, deployment, withContainers({ containers: [{ name: "c" }] }))).toEqual([]);
  });
});

describe("lb-pool-placement", () => {
  const rule = network.poolPlacement;
  const straddles = (label: string) =>
    `pool ${label} straddles the node subnet 10.25.11.0/24 or takes its network or broadcast address: put it wholly inside (L2) or wholly outside (BGP)`;
  const pool = (name: string, blocks: unknown[]): StackResource => ({
    type: "kubernetes:cilium.io/v2:CiliumLoadBalancerIPPool",
    name,
    props: { spec: { blocks } },
  });

  it("accepts a pool wholly inside the node subnet's hosts, or wholly outside it", async () => {
    expect(await stackViolationsOf(rule, [pool("p", [{ start: "10.25.11.100", stop: "10.25.11.119" }])])).toEqual([]);
    expect(await stackViolationsOf(rule, [pool("p", [{ start: "10.25.11.240", stop: "10.25.11.254" }])])).toEqual([]);
    expect(await stackViolationsOf(rule, [pool("p", [{ start: "10.25.11.2", stop: "10.25.11.9" }])])).toEqual([]);
    expect(await stackViolationsOf(rule, [pool("p", [{ cidr: "10.25.12.0/28" }, { start: "10.25.12.1", stop: "10.25.12.9" }])])).toEqual(
      [],
    );
    expect(await stackViolationsOf(rule, [pool("p", [])])).toEqual([]);
    expect(await stackViolationsOf(rule, [{ type: "kubernetes:cilium.io/v2:CiliumLoadBalancerIPPool", name: "p", props: {} }])).toEqual([]);
  });

  it("reports a pool across the subnet's edge or on its network or broadcast address, at the pool", async () => {
    expect(await stackReportsOf(rule, [pool("edge", [{ start: "10.25.11.250", stop: "10.25.12.9" }])])).toEqual([
      [straddles("10.25.11.250-10.25.12.9"), "urn:edge"],
    ]);
    expect(await stackViolationsOf(rule, [pool("p", [{ start: "10.25.11.240", stop: "10.25.11.255" }])])).toEqual([
      straddles("10.25.11.240-10.25.11.255"),
    ]);
    expect(await stackViolationsOf(rule, [pool("p", [{ cidr: "10.25.11.0/32" }])])).toEqual([straddles("10.25.11.0/32")]);
    expect(await stackViolationsOf(rule, [pool("p", [{ start: "10.25.10.250", stop: "10.25.11.0" }])])).toEqual([
      straddles("10.25.10.250-10.25.11.0"),
    ]);
  });

  it("reports every node, the VIP and the gateway a pool contains", async () => {
    expect(await stackViolationsOf(rule, [pool("p", [{ cidr: "10.25.11.0/28" }])])).toEqual([
      straddles("10.25.11.0/28"),
      "pool 10.25.11.0/28 contains 10.25.11.11, the node",
      "pool 10.25.11.0/28 contains 10.25.11.12, the node",
      "pool 10.25.11.0/28 contains 10.25.11.13, the node",
      "pool 10.25.11.0/28 contains 10.25.11.10, the VIP",
      "pool 10.25.11.0/28 contains 10.25.11.1, the gateway",
    ]);
    expect(await stackViolationsOf(rule, [pool("p", [{ start: "10.25.11.13", stop: "10.25.11.20" }])])).toEqual([
      "pool 10.25.11.13-10.25.11.20 contains 10.25.11.13, the node",
    ]);
  });

  it("judges the stack's own pool from the facts too, and every block of every pool", async () => {
    const lowPool = { ...facts, pool: { start: "10.25.11.1", end: "10.25.11.9" } };
    expect(await stackReportsOf(rule, [], lowPool)).toEqual([["pool 10.25.11.1-10.25.11.9 contains 10.25.11.1, the gateway", undefined]]);
    expect(
      await stackViolationsOf(rule, [
        pool("a", [{ start: "10.25.11.200", stop: "10.25.11.210" }, { cidr: "10.25.11.8/30" }]),
        pool("b", [{ start: "10.25.11.12", stop: "10.25.11.12" }]),
      ]),
    ).toEqual([
      "pool 10.25.11.8/30 contains 10.25.11.11, the node",
      "pool 10.25.11.8/30 contains 10.25.11.10, the VIP",
      "pool 10.25.11.12-10.25.11.12 contains 10.25.11.12, the node",
    ]);
  });

  it("reads a lone start as one address", async () => {
    expect(await stackReportsOf(rule, [pool("vip", [{ start: "10.25.11.10" }])])).toEqual([
      ["pool 10.25.11.10 contains 10.25.11.10, the VIP", "urn:vip"],
    ]);
    expect(await stackViolationsOf(rule, [pool("p", [{ start: "10.25.11.150" }])])).toEqual([]);
  });

  it("refuses the legacy spec.cidrs, which the pinned Cilium prunes, and still judges the blocks beside it", async () => {
    const legacy = (name: string) =>
      `pool ${name} sets spec.cidrs, a field Cilium removed in 1.16: the pinned Cilium's CRD has no such field, so the API server prunes it and those addresses are never served; put them in spec.blocks`;
    const cidrPool = (name: string, spec: Record<string, unknown>): StackResource => ({
      type: "kubernetes:cilium.io/v2:CiliumLoadBalancerIPPool",
      name,
      props: { apiVersion: "cilium.io/v2", kind: "CiliumLoadBalancerIPPool", metadata: { name }, spec },
    });
    // A Cilium 1.14 pool, as its CRD had it: `cidrs: [{cidr}]`; inside the node subnet's hosts, clear of every reserved address.
    expect(await stackReportsOf(rule, [cidrPool("old", { cidrs: [{ cidr: "10.25.11.128/28" }] })])).toEqual([[legacy("old"), "urn:old"]]);
    expect(await stackViolationsOf(rule, [cidrPool("empty", { cidrs: [] })])).toEqual([legacy("empty")]);
    expect(
      await stackViolationsOf(rule, [cidrPool("both", { blocks: [{ cidr: "10.25.11.8/30" }], cidrs: [{ cidr: "10.25.11.128/28" }] })]),
    ).toEqual([legacy("both"), "pool 10.25.11.8/30 contains 10.25.11.11, the node", "pool 10.25.11.8/30 contains 10.25.11.10, the VIP"]);
    expect(await stackViolationsOf(rule, [cidrPool("unset", { blocks: [{ cidr: "10.25.11.128/28" }], cidrs: null })])).toEqual([]);
  });

  it("reads only LoadBalancer IP pools", async () => {
    const other: StackResource = {
      type: "kubernetes:cilium.io/v2:CiliumPodIPPool",
      name: "pods",
      props: { spec: { blocks: [{ cidr: "10.25.11.0/28" }] } },
    };
    expect(await stackViolationsOf(rule, [other])).toEqual([]);
  });
});

describe("public-dns-no-private", () => {
  const rule = network.publicDnsIsPublic;
  const record = "cloudflare:index/dnsRecord:DnsRecord";
  const proxied = (name: string) => `${name} is a public application record and must be proxied`;

  it("accepts proxied public records and records that are not application records", async () => {
    expect(
      await violationsOf(rule, record, { name: "www.monosense.io", type: "CNAME", content: "x.cfargotunnel.com", proxied: true }),
    ).toEqual([]);
    expect(await violationsOf(rule, record, { name: "www.monosense.io", type: "A", content: "203.0.113.7", proxied: true })).toEqual([]);
    for (const type of ["TXT", "MX"])
      expect(await violationsOf(rule, record, { name: "monosense.io", type, content: "10.25.11.110", proxied: false })).toEqual([]);
  });

  it("reports a private address, and an unproxied application record", async () => {
    expect(await violationsOf(rule, record, { name: "gw.monosense.io", type: "A", content: "10.25.11.110", proxied: false })).toEqual([
      "gw.monosense.io publishes 10.25.11.110, a private (RFC 1918) address",
      proxied("gw.monosense.io"),
    ]);
    expect(await violationsOf(rule, record, { name: "cg.monosense.io", type: "A", content: "100.64.0.1", proxied: true })).toEqual([
      "cg.monosense.io publishes 100.64.0.1, a CGNAT (RFC 6598) address",
    ]);
    expect(await violationsOf(rule, record, { name: "v6.monosense.io", type: "AAAA", content: "2001:db8::1" })).toEqual([
      proxied("v6.monosense.io"),
    ]);
    expect(await violationsOf(rule, record, { name: "c.monosense.io", type: "CNAME", content: "x.example.com", proxied: "true" })).toEqual([
      proxied("c.monosense.io"),
    ]);
    expect(await violationsOf(rule, record, { name: "a.monosense.io", type: "A", proxied: false })).toEqual([proxied("a.monosense.io")]);
  });

  it("judges an IPv4 address in an AAAA record too (preview runs before Cloudflare's API refuses it)", async () => {
    expect(await violationsOf(rule, record, { name: "v6.monosense.io", type: "AAAA", content: "192.168.1.1", proxied: true })).toEqual([
      "v6.monosense.io publishes 192.168.1.1, a private (RFC 1918) address",
    ]);
  });

  describe("AAAA records as @pulumi/cloudflare's DnsRecord has them (type AAAA, the address in content)", () => {
    const aaaa = (content: string) => ({ name: "v6.monosense.io", type: "AAAA", content, proxied: true, ttl: 1, zoneId: facts.zoneId });
    const publishes = (content: string, kind: string) => [`v6.monosense.io publishes ${content}, a ${kind} address`];

    it("reports unique local fc00::/7 at both ends, in any text form", async () => {
      for (const ip of ["fd12:3456:789a::1", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "FD00::1", "fd00:0:0:0:0:0:0:1"])
        expect({ ip, found: await violationsOf(rule, record, aaaa(ip)) }).toEqual({
          ip,
          found: publishes(ip, "unique local (ULA, RFC 4193)"),
        });
    });

    it("reports link-local fe80::/10 (a zone index too) and the retired site-local fec0::/10", async () => {
      for (const ip of ["fe80::1", "febf:ffff::1", "fe80::1%eth0"])
        expect({ ip, found: await violationsOf(rule, record, aaaa(ip)) }).toEqual({ ip, found: publishes(ip, "link-local") });
      expect(await violationsOf(rule, record, aaaa("fec0::1"))).toEqual(publishes("fec0::1", "site-local (deprecated, RFC 3879)"));
    });

    it("reports an IPv4-mapped private address, dotted or in hex, and loopback and unspecified", async () => {
      expect(await violationsOf(rule, record, aaaa("::ffff:10.1.2.3"))).toEqual(
        publishes("::ffff:10.1.2.3", "IPv4-mapped private (RFC 1918)"),
      );
      expect(await violationsOf(rule, record, aaaa("::ffff:c0a8:101"))).toEqual(
        publishes("::ffff:c0a8:101", "IPv4-mapped private (RFC 1918)"),
      );
      expect(await violationsOf(rule, record, aaaa("0:0:0:0:0:ffff:6440:1"))).toEqual(
        publishes("0:0:0:0:0:ffff:6440:1", "IPv4-mapped CGNAT (RFC 6598)"),
      );
      // The low 16 bits count too: 192.168.0.1 is private, 192.167.255.255 would not be.
      expect(await violationsOf(rule, record, aaaa("::ffff:192.168.0.1"))).toEqual(
        publishes("::ffff:192.168.0.1", "IPv4-mapped private (RFC 1918)"),
      );
      // Multi-digit octets, leading groups written out, and a zone index after the dotted tail.
      for (const ip of ["0:0::ffff:192.168.100.200", "::ffff:10.0.0.1%eth0"])
        expect({ ip, found: await violationsOf(rule, record, aaaa(ip)) }).toEqual({
          ip,
          found: publishes(ip, "IPv4-mapped private (RFC 1918)"),
        });
      expect(await violationsOf(rule, record, aaaa("::1"))).toEqual(publishes("::1", "loopback"));
      expect(await violationsOf(rule, record, aaaa("::"))).toEqual(publishes("::", "unspecified"));
    });

    it("accepts the near misses: public, beside fc00::/7 and fe80::/10, a public mapped address, other embeddings", async () => {
      for (const ip of [
        "2001:db8::1",
        "2606:4700::6810:84e5",
        "fbff:ffff::1",
        "fe00::1",
        "fe7f::1",
        "ff02::1",
        "::ffff:203.0.113.7",
        "::ffff:0:10.0.0.1",
        "::fffe:10.0.0.1",
        "::1:a00:1",
        "1::ffff:10.0.0.1",
        "::2",
        "1::",
      ])
        expect({ ip, found: await violationsOf(rule, record, aaaa(ip)) }).toEqual({ ip, found: [] });
    });

    it("reads only what is an IPv6 address", async () => {
      for (const ip of ["fd00::1::2", "fd00:::1", "gd00::1", "fd00::1/64", ""])
        expect({ ip, found: await violationsOf(rule, record, aaaa(ip)) }).toEqual({ ip, found: [] });
    });
  });

  it("reads the content as an address only when it is a plain IPv4 address", async () => {
    expect(await violationsOf(rule, record, { name: "z.monosense.io", type: "A", content: "10.0.0.010", proxied: true })).toEqual([]);
  });

  it("looks only at DNS records", async () => {
    expect(await violationsOf(rule, "cloudflare:index/zone:Zone", { name: "monosense.io", type: "A", content: "10.0.0.1" })).toEqual([]);
  });
});

describe("talos-api-endpoints", () => {
  const rule = network.talosApiThroughEndpoints;
  const boot = "talos:machine/bootstrap:Bootstrap";
  const notPrivate = (key: string, value: string) =>
    `${key} ${value} is not a private address: the Talos API must not be reached over a public or wildcard endpoint`;
  const notNode = (key: string, value: string) => `${key} ${value} is not one of the stack's nodes`;

  it("accepts the stack's nodes", async () => {
    expect(await violationsOf(rule, boot, { node: "10.25.11.11", endpoint: "10.25.11.13" })).toEqual([]);
    expect(await violationsOf(rule, "talos:cluster/kubeconfig:Kubeconfig", { node: "10.25.11.12" })).toEqual([]);
  });

  it("reports public, wildcard and foreign addresses, node and endpoint alike", async () => {
    expect(await violationsOf(rule, boot, { node: "10.25.11.11", endpoint: "203.0.113.7" })).toEqual([
      notPrivate("endpoint", "203.0.113.7"),
    ]);
    expect(await violationsOf(rule, boot, { node: "10.25.11.99", endpoint: "*" })).toEqual([
      notNode("node", "10.25.11.99"),
      notPrivate("endpoint", "*"),
    ]);
    // The VIP is no Talos endpoint: it follows etcd and Kubernetes' health.
    expect(await violationsOf(rule, boot, { node: "10.25.11.11", endpoint: "10.25.11.10" })).toEqual([notNode("endpoint", "10.25.11.10")]);
    expect(await violationsOf(rule, "talos:cluster/kubeconfig:Kubeconfig", { node: "198.51.100.1" })).toEqual([
      notPrivate("node", "198.51.100.1"),
    ]);
  });

  it("refuses a zero-padded address, though it reads as a node", async () => {
    expect(await violationsOf(rule, boot, { node: "10.25.11.011" })).toEqual([notPrivate("node", "10.25.11.011")]);
  });

  it("reads only string addresses of the machine and cluster resources", async () => {
    expect(await violationsOf(rule, "talos:machine/secrets:Secrets", { talosVersion: "v1.13.0" })).toEqual([]);
    expect(await violationsOf(rule, boot, { node: 42 })).toEqual([]);
    expect(await violationsOf(rule, "talos:imageFactory/schematic:Schematic", { node: "*" })).toEqual([]);
    expect(await violationsOf(rule, "command:local:Command", { endpoint: "*" })).toEqual([]);
  });
});

describe("cilium-api-server-access", () => {
  const rule = network.ciliumUsesKubePrism;
  const api = (k8sServiceHost: string, k8sServicePort: number | string) => ciliumResource({ k8sServiceHost, k8sServicePort });
  const prism = (port: number | string = 7445) => api("127.0.0.1", port);
  const kubePrism = (yaml: string) => features(`    kubePrism:\n${yaml}`);
  const on = kubePrism("      enabled: true\n      port: 7445\n");
  const off = kubePrism("      enabled: false\n");
  const port = (p: number) => kubePrism(`      port: ${p}\n`);
  const mismatch = (at: string, p: number) =>
    `Cilium's k8sServiceHost/Port is ${at}, but KubePrism is on (port ${p}): it must be 127.0.0.1:${p}`;
  const prismOff = (at: string) =>
    `KubePrism is off on this node, but Cilium reaches the API server through it (${at}); enable it or use apiServerAccess: endpoint`;

  it("accepts KubePrism on its port, by default or as patched", async () => {
    expect(await stackViolationsOf(rule, [prism(), node("cp1", on)])).toEqual([]);
    // KubePrism is on by default on 7445: a node without the patch has it.
    expect(await stackViolationsOf(rule, [prism(), node("cp1", "machine: {}\n")])).toEqual([]);
    expect(await stackViolationsOf(rule, [api("localhost", "7445"), node("cp1")])).toEqual([]);
    expect(await stackViolationsOf(rule, [prism(7446), node("cp1", port(7446))])).toEqual([]);
  });

  it("reports the wrong host or port, at the node", async () => {
    expect(await stackReportsOf(rule, [prism(7444), node("cp1", on)])).toEqual([[mismatch("127.0.0.1:7444", 7445), "urn:cp1"]]);
    expect(await stackViolationsOf(rule, [api("10.25.11.10", 7445), node("cp1", on)])).toEqual([mismatch("10.25.11.10:7445", 7445)]);
    expect(await stackViolationsOf(rule, [api("infra-k8s.monosense.io", 6443), node("cp1", on)])).toEqual([
      mismatch("infra-k8s.monosense.io:6443", 7445),
    ]);
    expect(await stackViolationsOf(rule, [prism(), node("cp1", port(7446))])).toEqual([mismatch("127.0.0.1:7445", 7446)]);
  });

  it("takes the last patch that sets a KubePrism setting", async () => {
    expect(await stackViolationsOf(rule, [prism(7446), node("cp1", port(7446), "machine: {}\n")])).toEqual([]);
    expect(await stackViolationsOf(rule, [prism(7447), node("cp1", port(7446), port(7447))])).toEqual([]);
    expect(await stackViolationsOf(rule, [prism(), node("cp1", off, on)])).toEqual([]);
    expect(await stackReportsOf(rule, [prism(), node("cp1", on), node("cp2", on, off)])).toEqual([[prismOff("127.0.0.1:7445"), "urn:cp2"]]);
  });

  it("with apiServerAccess: endpoint, wants the stack's endpoint whatever KubePrism does", async () => {
    const viaEndpoint = { ...facts, apiServerAccess: "endpoint" as const };
    const wrong = (at: string) =>
      `Cilium reaches the API server at ${at}, but the stack's apiServerAccess is endpoint (infra-k8s.monosense.io:6443)`;
    expect(await stackViolationsOf(rule, [api("infra-k8s.monosense.io", 6443), node("cp1", off)], viaEndpoint)).toEqual([]);
    expect(await stackReportsOf(rule, [prism(), node("cp1", on)], viaEndpoint)).toEqual([[wrong("127.0.0.1:7445"), "urn:cilium"]]);
    expect(await stackViolationsOf(rule, [api("infra-k8s.monosense.io", 443)], viaEndpoint)).toEqual([wrong("infra-k8s.monosense.io:443")]);
  });

  it("has nothing to check without the cilium release", async () => {
    expect(await stackViolationsOf(rule, [node("cp1", off)])).toEqual([]);
    expect(await stackViolationsOf(rule, [spegelRelease, node("cp1", on)])).toEqual([]);
    expect(await stackViolationsOf(rule, [ciliumNamespace, spegelRelease, prism(7444), node("cp1", on)])).toEqual([
      mismatch("127.0.0.1:7444", 7445),
    ]);
  });
});

describe("cilium-masquerade-host-dns", () => {
  const rule = network.ciliumMasqueradeWithoutHostDnsForwarding;
  const masq = (on: unknown) => ciliumResource({ bpf: { masquerade: on } });
  const forward = (v: boolean) => features(`    hostDNS:\n      enabled: true\n      forwardKubeDNSToHost: ${v}\n`);
  const hostDnsOff = features("    hostDNS:\n      enabled: false\n");
  const forwarding = (it: string) =>
    `Cilium's bpf.masquerade is on, so this node must set machine.features.hostDNS.forwardKubeDNSToHost: false (it is ${it})`;

  it("accepts forwarding off, masquerading off, or host DNS off", async () => {
    expect(await stackViolationsOf(rule, [masq(true), node("cp1", forward(false))])).toEqual([]);
    expect(await stackViolationsOf(rule, [masq(false), node("cp1", forward(true))])).toEqual([]);
    expect(await stackViolationsOf(rule, [masq(true), node("cp1", hostDnsOff)])).toEqual([]);
    expect(await stackViolationsOf(rule, [node("cp1", forward(true))])).toEqual([]);
  });

  it("reports each node that forwards, or leaves forwarding to Talos' default, at the node", async () => {
    expect(await stackReportsOf(rule, [masq(true), node("cp1", forward(false)), node("cp2", forward(true))])).toEqual([
      [forwarding("true"), "urn:cp2"],
    ]);
    expect(await stackViolationsOf(rule, [masq("true"), node("cp1", "machine: {}\n")])).toEqual([
      forwarding("unset, which Talos turns on"),
    ]);
  });

  it("judges the cilium release, not another release or another resource named cilium", async () => {
    expect(await stackViolationsOf(rule, [ciliumNamespace, spegelRelease, masq(true), node("cp1", forward(true))])).toEqual([
      forwarding("true"),
    ]);
  });

  it("takes the last patch that sets forwarding", async () => {
    expect(await stackViolationsOf(rule, [masq(true), node("cp1", forward(false), forward(true))])).toEqual([forwarding("true")]);
    expect(await stackViolationsOf(rule, [masq(true), node("cp1", forward(true), forward(false))])).toEqual([]);
  });
});

describe("secrets-allow-listed", () => {
  const rule = secrets.onlyBootstrapSecrets;
  const secret = "kubernetes:core/v1:Secret";
  const refused = (id: string) => `Secret ${id} is not a bootstrap Secret; deliver it with an ExternalSecret from the 1Password store`;

  it("accepts only the allow-listed bootstrap Secrets", async () => {
    expect(await violationsOf(rule, secret, { metadata: { name: "flux-system", namespace: "flux-system" } })).toEqual([]);
    expect(await violationsOf(rule, secret, { metadata: { name: "db-password", namespace: "apps" } })).toEqual([
      refused("apps/db-password"),
    ]);
    // The right name in another namespace is another Secret.
    expect(await violationsOf(rule, secret, { metadata: { name: "flux-system", namespace: "apps" } })).toEqual([
      refused("apps/flux-system"),
    ]);
  });

  it("names the Secret by namespace (default unless set) and metadata.name, else its resource name", async () => {
    expect(await violationsOf(rule, secret, { metadata: { name: "db" } })).toEqual([refused("default/db")]);
    expect(await violationsOf(rule, secret, { metadata: { namespace: "flux-system" } }, { name: "flux-system" })).toEqual([]);
    expect(await violationsOf(rule, secret, {}, { name: "token" })).toEqual([refused("default/token")]);
  });

  it("looks only at Secrets", async () => {
    expect(await violationsOf(rule, configMap, { metadata: { name: "db-password", namespace: "apps" } })).toEqual([]);
  });
});

describe("external-secrets-store", () => {
  const rule = secrets.externalSecretsUseOnePassword;
  const refused = (got: string, stores = "onepassword") => `ExternalSecret must use a ClusterSecretStore from ${stores} (got ${got})`;
  const es = (secretStoreRef?: Record<string, unknown>, version = "v1") =>
    [`kubernetes:external-secrets.io/${version}:ExternalSecret`, { spec: secretStoreRef === undefined ? {} : { secretStoreRef } }] as const;

  it("accepts the 1Password ClusterSecretStore, in v1 and v1beta1", async () => {
    for (const version of ["v1", "v1beta1"])
      expect(await violationsOf(rule, ...es({ kind: "ClusterSecretStore", name: "onepassword" }, version))).toEqual([]);
  });

  it("refuses a namespaced store, another store, and a missing reference", async () => {
    expect(await violationsOf(rule, ...es({ kind: "SecretStore", name: "onepassword" }))).toEqual([refused("SecretStore/onepassword")]);
    expect(await violationsOf(rule, ...es({ kind: "ClusterSecretStore", name: "vault" }, "v1beta1"))).toEqual([
      refused("ClusterSecretStore/vault"),
    ]);
    // Kubernetes' default kind is SecretStore.
    expect(await violationsOf(rule, ...es({ name: "onepassword" }))).toEqual([refused("SecretStore/onepassword")]);
    expect(await violationsOf(rule, ...es())).toEqual([refused("SecretStore/undefined")]);
  });

  it("lists every allowed store", async () => {
    const twoStores = { ...facts, allowedStores: ["onepassword", "onepassword-ci"] };
    expect(await violationsOf(rule, ...es({ kind: "ClusterSecretStore", name: "onepassword-ci" }), { facts: twoStores })).toEqual([]);
    expect(await violationsOf(rule, ...es({ kind: "ClusterSecretStore", name: "vault" }), { facts: twoStores })).toEqual([
      refused("ClusterSecretStore/vault", "onepassword, onepassword-ci"),
    ]);
  });

  it("looks only at ExternalSecrets", async () => {
    const ref = { spec: { secretStoreRef: { kind: "SecretStore", name: "vault" } } };
    for (const type of [
      "kubernetes:external-secrets.io/v1:ClusterExternalSecret",
      "kubernetes:external-secrets.io/v1alpha1:ExternalSecret",
      "kubernetes:external-secrets.io/v1:ExternalSecretList",
      "x-kubernetes:external-secrets.io/v1:ExternalSecret",
    ])
      expect({ type, found: await violationsOf(rule, type, ref) }).toEqual({ type, found: [] });
  });
});

describe("no-credential-literals", () => {
  const rule = secrets.noCredentialLiterals;
  const literal = (path: string) => `${path} holds a literal credential-looking value; reference a Secret instead`;

  it("finds literals nested anywhere in a Helm release's values, by path, never echoing the value", async () => {
    const values = {
      auth: { postgresPassword: "hunter2", existingSecret: "" },
      extraEnv: [
        { name: "API_TOKEN", value: "from-a-secret" },
        { name: "x", apiKey: "k3y-v4lue" },
      ],
      s3: { AccessKey: "AKIA-EXAMPLE", region: "eu-west-1" },
      serviceMonitor: { enabled: true },
      requirePassword: true,
      tokenTTL: 3600,
      tls: null,
    };
    const found = await violationsOf(rule, release, { name: "db", values });
    expect(found).toEqual([literal("auth.postgresPassword"), literal("extraEnv[1].apiKey"), literal("s3.AccessKey")]);
    for (const value of ["hunter2", "k3y-v4lue", "AKIA-EXAMPLE"]) expect(found.join("\n")).not.toContain(value);
  });

  it("accepts a reference to a Secret by name, and empty values", async () => {
    expect(
      await violationsOf(rule, release, {
        values: { auth: { existingSecret: "db-credentials", password: "" }, tls: { userExistingSecret: "db-tls" } },
      }),
    ).toEqual([]);
  });

  it("finds literals in a ConfigMap's data", async () => {
    const found = await violationsOf(rule, configMap, {
      data: { SECRET_DOMAIN: "monosense.io", DB_PASSWORD: "hunter2", EMPTY_TOKEN: "", "client.secret": "s3cr3t" },
    });
    expect(found).toEqual([literal("DB_PASSWORD"), literal("client.secret")]);
    expect(found.join("\n")).not.toMatch(/hunter2|s3cr3t/);
  });

  it("reads a release's values and a ConfigMap's data only", async () => {
    expect(await violationsOf(rule, release, { name: "db" })).toEqual([]);
    expect(await violationsOf(rule, configMap, {})).toEqual([]);
    expect(await violationsOf(rule, release, { name: "db", data: { password: "x" } })).toEqual([]);
    expect(await violationsOf(rule, configMap, { values: { password: "x" } })).toEqual([]);
    // A Secret is where a credential belongs.
    expect(await violationsOf(rule, "kubernetes:core/v1:Secret", { stringData: { password: "x" }, data: { password: "eA==" } })).toEqual(
      [],
    );
  });
});

describe("cloudflare-token-scope", () => {
  const rule = secrets.cloudflareTokensZoneScoped;
  const token = "cloudflare:index/accountToken:AccountToken";
  const zone = "com.cloudflare.api.account.zone.00000000000000000000000000000002";
  const scope = (not: string, zoneId = "00000000000000000000000000000002") =>
    `token must be scoped to exactly the zone ${zoneId}, not ${not}`;
  const groups = (n: number) => `token carries ${n} permission groups; least privilege is Zone Read + DNS Write`;
  const everyZone = "token must not cover every zone of the account";
  const policy = (resources: unknown, groupCount = 2) => ({
    effect: "allow",
    permissionGroups: Array.from({ length: groupCount }, (_, i) => ({ id: `g${i}` })),
    resources: typeof resources === "string" ? resources : JSON.stringify(resources),
  });

  it("accepts the one zone with one or two permission groups, for account and user tokens", async () => {
    for (const type of [token, "cloudflare:index/apiToken:ApiToken"])
      for (const n of [1, 2]) expect(await violationsOf(rule, type, { policies: [policy({ [zone]: "*" }, n)] })).toEqual([]);
    expect(await violationsOf(rule, token, {})).toEqual([]);
  });

  it("judges user API tokens like account tokens", async () => {
    expect(await violationsOf(rule, "cloudflare:index/apiToken:ApiToken", { policies: [policy({ [zone]: "*" }, 3)] })).toEqual([groups(3)]);
  });

  it("reports no permission group or more than two", async () => {
    expect(await violationsOf(rule, token, { policies: [policy({ [zone]: "*" }, 0)] })).toEqual([groups(0)]);
    expect(await violationsOf(rule, token, { policies: [policy({ [zone]: "*" }, 3)] })).toEqual([groups(3)]);
    expect(await violationsOf(rule, token, { policies: [{ resources: JSON.stringify({ [zone]: "*" }) }] })).toEqual([groups(0)]);
  });

  it("reports any other scope, listing what the token covers", async () => {
    const other = "com.cloudflare.api.account.zone.ffffffffffffffffffffffffffffffff";
    expect(await violationsOf(rule, token, { policies: [policy({ [other]: "*" })] })).toEqual([scope(other)]);
    expect(await violationsOf(rule, token, { policies: [policy({ [zone]: "*", [other]: "*" })] })).toEqual([scope(`${zone}, ${other}`)]);
    expect(await violationsOf(rule, token, { policies: [policy({})] })).toEqual([scope("nothing")]);
    const accountWide = { "com.cloudflare.api.account.abc": { "com.cloudflare.api.account.zone.*": "*" } };
    expect(await violationsOf(rule, token, { policies: [policy(accountWide, 3)] })).toEqual([
      scope("com.cloudflare.api.account.abc"),
      everyZone,
      groups(3),
    ]);
  });

  it("judges each policy of a token", async () => {
    expect(await violationsOf(rule, token, { policies: [policy({ [zone]: "*" }), policy({ [zone]: "*" }, 0)] })).toEqual([groups(0)]);
    expect(await violationsOf(rule, token, { policies: [policy("{not json"), policy({ [zone]: "*" }, 3)] })).toEqual([
      "token policy resources are not a JSON object",
      groups(3),
    ]);
  });

  it("reports a policy whose resources are null, as the property or as the JSON text, and judges the next", async () => {
    const nullScope = "token policy names no resources (null): it must be scoped to exactly the zone 00000000000000000000000000000002";
    const asProvider = (resources: unknown) => ({ effect: "allow", permissionGroups: [{ id: "g0" }, { id: "g1" }], resources });
    for (const type of [token, "cloudflare:index/apiToken:ApiToken"]) {
      expect(await violationsOf(rule, type, { policies: [asProvider(null)] })).toEqual([nullScope]);
      expect(await violationsOf(rule, type, { policies: [asProvider("null")] })).toEqual([nullScope]);
    }
    expect(await violationsOf(rule, token, { policies: [asProvider(null), policy({ [zone]: "*" }, 3)] })).toEqual([nullScope, groups(3)]);
  });

  it("reports JSON that is no object: an array, a number, a string, a missing property", async () => {
    const notObject = "token policy resources are not a JSON object";
    for (const resources of ["[]", `["${zone}"]`, "5", '"*"'])
      expect({ resources, found: await violationsOf(rule, token, { policies: [policy(resources)] }) }).toEqual({
        resources,
        found: [notObject],
      });
    expect(await violationsOf(rule, token, { policies: [{ effect: "allow", permissionGroups: [{ id: "g0" }] }] })).toEqual([notObject]);
  });

  it("says so when the stack has no zone", async () => {
    const noZone: ClusterFacts = { ...facts };
    delete noZone.zoneId;
    expect(await violationsOf(rule, token, { policies: [policy({ [zone]: "*" })] }, { facts: noZone })).toEqual([
      scope(zone, "(none configured)"),
    ]);
  });

  it("looks only at API tokens", async () => {
    expect(await violationsOf(rule, "cloudflare:index/dnsRecord:DnsRecord", { policies: [policy("{not json", 3)] })).toEqual([]);
  });
});

describe("no-sops", () => {
  const rule = secrets.noSops;
  const material = (path: string) => `${path} contains SOPS or age material`;

  it("accepts plain values", async () => {
    expect(await violationsOf(rule, configMap, { data: { a: "plain", b: "sops is a tool", c: "x\n  sops: nested" } })).toEqual([]);
  });

  it("finds each marker anywhere in any resource's props, by path", async () => {
    expect(
      await violationsOf(rule, configMap, {
        data: {
          key: "AGE-SECRET-KEY-1QQQ",
          enc: "ENC[AES256_GCM,data:abc]",
          yaml: "password: x\nsops:\n  version: 3.8.1\n",
          json: '{"password": "x", "sops": {"version": "3.8.1"}}',
        },
      }),
    ).toEqual([material("data.key"), material("data.enc"), material("data.yaml"), material("data.json")]);
    expect(await violationsOf(rule, release, { values: { env: [{ value: "plain" }, { value: "ENC[AES256_GCM,data:x]" }] } })).toEqual([
      material("values.env[1].value"),
    ]);
  });

  it("calls a value at the top under an empty key a value", async () => {
    expect(await violationsOf(rule, configMap, { "": "AGE-SECRET-KEY-1QQQ" })).toEqual([material("a value")]);
  });

  it("reports SOPS metadata on the resource itself", async () => {
    expect(await violationsOf(rule, configMap, { data: {}, sops: { version: "3.8.1" } })).toEqual(["the resource carries SOPS metadata"]);
  });
});

describe("namespace-pod-security", () => {
  const rule = platform.namespacePodSecurity;
  const ns = (name: string, level?: string) => ({
    metadata: { name, labels: level ? { "pod-security.kubernetes.io/enforce": level } : {} },
  });

  it("accepts the level each namespace needs", async () => {
    expect(await violationsOf(rule, namespace, ns("spegel", "privileged"))).toEqual([]);
    expect(await violationsOf(rule, namespace, ns("cert-manager", "restricted"))).toEqual([]);
    expect(await violationsOf(rule, namespace, ns("flux-system", "baseline"))).toEqual([]);
  });

  it("reports a weaker, a stricter, a missing or an unknown level", async () => {
    expect(await violationsOf(rule, namespace, ns("cert-manager", "baseline"))).toEqual([
      "namespace cert-manager enforces baseline, weaker than the restricted its workloads need",
    ]);
    expect(await violationsOf(rule, namespace, ns("spegel", "baseline"))).toEqual([
      "namespace spegel enforces baseline, stricter than the privileged its workloads need: their pods would be refused",
    ]);
    expect(await violationsOf(rule, namespace, ns("apps"))).toEqual([
      "namespace apps has no pod-security.kubernetes.io/enforce label (it would admit privileged pods); it needs restricted",
    ]);
    expect(await violationsOf(rule, namespace, ns("apps", "Restricted"))).toEqual([
      "namespace apps enforces unknown Pod Security level Restricted; it needs restricted",
    ]);
  });
});

describe("crd-carriers-retained", () => {
  const rule = platform.crdCarriersRetained;
  const group = "kubernetes:yaml/v2:ConfigGroup";

  it("wants CRD carriers retained on delete", async () => {
    expect(
      await violationsOf(rule, release, { name: "flux-operator", values: {} }, { name: "flux-operator", retainOnDelete: true }),
    ).toEqual([]);
    expect(
      await violationsOf(rule, release, { name: "flux-operator", values: {} }, { name: "flux-operator", retainOnDelete: false }),
    ).toEqual([
      "flux-operator installs CRDs but is not retainOnDelete: removing it from the program would delete its CRDs and every custom resource of them",
    ]);
    expect(await violationsOf(rule, group, { files: [] }, { name: "gateway-api-crds", retainOnDelete: false })).toEqual([
      "gateway-api-crds installs CRDs but is not retainOnDelete: removing it from the program would delete its CRDs and every custom resource of them",
    ]);
  });

  it("knows a chart not in the list by its values, and leaves one without CRDs alone", async () => {
    expect(
      await violationsOf(rule, release, { name: "other", values: { installCRDs: true } }, { name: "other", retainOnDelete: false }),
    ).toEqual([
      "other installs CRDs but is not retainOnDelete: removing it from the program would delete its CRDs and every custom resource of them",
    ]);
    expect(await violationsOf(rule, release, { name: "spegel", values: {} }, { name: "spegel", retainOnDelete: false })).toEqual([]);
  });

  it("judges only the Helm-level keep when CrossGuard's analyzer leaves retainOnDelete out", async () => {
    expect(await violationsOf(rule, release, { name: "flux-operator", values: {} }, { name: "flux-operator" })).toEqual([]);
    expect(
      await violationsOf(
        rule,
        release,
        { name: "cert-manager", values: { crds: { enabled: true, keep: true } } },
        { name: "cert-manager" },
      ),
    ).toEqual([]);
    expect(
      await violationsOf(rule, release, { name: "cert-manager", values: { crds: { enabled: true } } }, { name: "cert-manager" }),
    ).toEqual(["cert-manager installs its CRDs with crds.enabled but not crds.keep: helm uninstall would delete them"]);
  });
});

describe("talos-kernel-hardening (advisory)", () => {
  const rule = platform.kernelArgsKeepHardening;
  const type = "talos:imageFactory/schematic:Schematic";
  const schematic = (args: string[]) => ({
    schematic: `customization:\n  extraKernelArgs:\n${args.map((a) => `    - ${a}\n`).join("")}`,
  });
  /** A cluster that accepts no weakening argument. */
  const strict = { ...facts, acceptedKernelArgs: {} };

  it("is advisory", () => {
    expect(rule.enforcementLevel).toBe("advisory");
  });

  it("accepts near misses: mitigations=auto, apparmor=1, an unrelated removal", async () => {
    expect(
      await violationsOf(rule, type, schematic(["mitigations=auto", "apparmor=1", "-console", "init_on_free=0"]), { facts: strict }),
    ).toEqual([]);
  });

  it("reports each weakening argument", async () => {
    expect(
      await violationsOf(
        rule,
        type,
        schematic(["mitigations=off", "security=none", "apparmor=0", "-selinux", "-init_on_alloc", "pti=off"]),
        {
          facts: strict,
        },
      ),
    ).toEqual([
      "kernel argument mitigations=off turns off CPU vulnerability mitigations",
      "kernel argument security=none loads no Linux security module",
      "kernel argument apparmor=0 turns off AppArmor",
      "kernel argument -selinux turns off SELinux (Talos enables it)",
      "kernel argument -init_on_alloc stops zeroing memory on allocation (a Talos default)",
      "kernel argument pti=off turns off page-table isolation (a Talos default)",
    ]);
  });

  it("leaves out the arguments the cluster accepts with a reason, and only those", async () => {
    expect(await violationsOf(rule, type, schematic(["mitigations=off", "pti=off"]))).toEqual([
      "kernel argument pti=off turns off page-table isolation (a Talos default)",
    ]);
  });
});
