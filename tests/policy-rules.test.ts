import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { clusterFacts } from "../plan/policy";
import type { ClusterFacts } from "../policy/facts";
import * as network from "../policy/network";
import * as platform from "../policy/platform";
import * as secrets from "../policy/secrets";
import { fixture } from "./support";

/** The rules one by one over hand-built args: no stack is recorded, so each case costs milliseconds. */
const facts: ClusterFacts = clusterFacts(fixture("infra"));

/** Hand-built args carrying every field of ResourceValidationArgs (retainOnDelete as the offline plan passes it). */
function resourceArgs(type: string, props: Record<string, unknown>, name = "r", retainOnDelete?: boolean): ResourceValidationArgs {
  return {
    type,
    props,
    urn: `urn:pulumi:infra::talos-gitops::${type}::${name}`,
    name,
    opts: {
      protect: false,
      ignoreChanges: [],
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [],
      ...(retainOnDelete === undefined ? {} : { retainOnDelete }),
    },
    stackTags: new Map(),
    isType: () => false,
    asType: () => undefined,
    getConfig: <T extends object>() => ({ facts }) as unknown as T,
    notApplicable: (reason?: string): never => {
      throw new Error(`not applicable: ${reason}`);
    },
  };
}

async function violationsOf(
  policy: ResourceValidationPolicy,
  type: string,
  props: Record<string, unknown>,
  name?: string,
  retainOnDelete?: boolean,
): Promise<string[]> {
  const found: string[] = [];
  const validate = policy.validateResource;
  for (const v of Array.isArray(validate) ? validate : validate ? [validate] : [])
    await v(resourceArgs(type, props, name, retainOnDelete), (m) => void found.push(m));
  return found;
}

async function stackViolationsOf(
  policy: StackValidationPolicy,
  resources: Array<Pick<PolicyResource, "type" | "props" | "name">>,
  withFacts: ClusterFacts = facts,
): Promise<string[]> {
  const found: string[] = [];
  const args: StackValidationArgs = {
    resources: resources.map((r, i) => ({
      ...r,
      urn: `urn:${i}`,
      opts: resourceArgs(r.type, r.props).opts,
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    })),
    stackTags: new Map(),
    getConfig: <T extends object>() => ({ facts: withFacts }) as unknown as T,
    notApplicable: (reason?: string): never => {
      throw new Error(String(reason));
    },
  };
  await policy.validateStack(args, (m) => void found.push(m));
  return found;
}

const release = "kubernetes:helm.sh/v3:Release";
const goodCilium = {
  name: "cilium",
  values: {
    kubeProxyReplacement: true,
    k8sServiceHost: "127.0.0.1",
    k8sServicePort: 7445,
    encryption: { enabled: true, type: "wireguard" },
    cluster: { name: "infra", id: 1 },
  },
};
const talosPatch = (cni: string, proxyDisabled: boolean) => ({
  configPatches: [`cluster:\n  network:\n    cni:\n      name: ${cni}\n  proxy:\n    disabled: ${proxyDisabled}\n`],
  node: "10.25.11.11",
  endpoint: "10.25.11.11",
});
const apply = "talos:machine/configurationApply:ConfigurationApply";

describe("network rules", () => {
  it("cilium-kube-proxy-replacement", async () => {
    expect(await violationsOf(network.ciliumReplacesKubeProxy, release, goodCilium)).toEqual([]);
    const bad = await violationsOf(network.ciliumReplacesKubeProxy, release, {
      name: "cilium",
      values: { kubeProxyReplacement: false, encryption: { enabled: false }, cluster: { name: "infra", id: 300 } },
    });
    expect(bad).toHaveLength(4);
  });

  it("talos-cni-none-proxy-disabled", async () => {
    expect(await violationsOf(network.talosHandsNetworkToCilium, apply, talosPatch("none", true))).toEqual([]);
    expect(await violationsOf(network.talosHandsNetworkToCilium, apply, talosPatch("flannel", false))).toEqual([
      "the config patches must set cluster.network.cni.name: none",
      "the config patches must set cluster.proxy.disabled: true",
    ]);
  });

  it("cilium-talos-agree", async () => {
    expect(
      await stackViolationsOf(network.ciliumAndTalosAgree, [
        { type: release, name: "cilium", props: goodCilium },
        { type: apply, name: "a", props: talosPatch("none", true) },
      ]),
    ).toEqual([]);
    expect(
      await stackViolationsOf(network.ciliumAndTalosAgree, [
        { type: release, name: "cilium", props: goodCilium },
        { type: apply, name: "a", props: talosPatch("none", false) },
      ]),
    ).toHaveLength(1);
  });

  it("namespace-default-deny", async () => {
    const ns = { type: "kubernetes:core/v1:Namespace", name: "apps", props: { metadata: { name: "apps" } } };
    const deny = {
      type: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
      name: "deny",
      props: { metadata: { namespace: "apps" }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
    };
    const dns = {
      type: "kubernetes:networking.k8s.io/v1:NetworkPolicy",
      name: "dns",
      props: {
        metadata: { namespace: "apps" },
        spec: { podSelector: {}, policyTypes: ["Egress"], egress: [{ ports: [{ protocol: "UDP", port: 53 }] }] },
      },
    };
    expect(await stackViolationsOf(network.namespacesDenyByDefault, [ns, deny, dns])).toEqual([]);
    expect(await stackViolationsOf(network.namespacesDenyByDefault, [ns])).toEqual([
      "namespace apps has no default-deny NetworkPolicy for ingress and egress (or an exemption with a reason in the policy config)",
      "namespace apps has no NetworkPolicy allowing DNS (port 53) to CoreDNS",
    ]);
    // Exempt only with a reason in the config: spegel is, the bootstrap namespaces are not any more.
    expect(await stackViolationsOf(network.namespacesDenyByDefault, [{ ...ns, props: { metadata: { name: "spegel" } } }])).toEqual([]);
    expect(facts.networkPolicyExempt.spegel).toContain("hostPort");
    expect(
      await stackViolationsOf(network.namespacesDenyByDefault, [{ ...ns, props: { metadata: { name: "flux-system" } } }]),
    ).toHaveLength(2);
    // Near miss: a deny that lists a rule is an allowance, not a default-deny.
    const leaky = {
      ...deny,
      props: { metadata: { namespace: "apps" }, spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"], egress: [{}] } },
    };
    expect(await stackViolationsOf(network.namespacesDenyByDefault, [ns, leaky, dns])).toEqual([
      "namespace apps has no default-deny NetworkPolicy for ingress and egress (or an exemption with a reason in the policy config)",
    ]);
  });

  it("loadbalancer-from-pool", async () => {
    const service = "kubernetes:core/v1:Service";
    expect(
      await violationsOf(network.loadBalancersFromOwnPool, service, { spec: { type: "LoadBalancer", loadBalancerIP: "10.25.11.105" } }),
    ).toEqual([]);
    expect(
      await violationsOf(network.loadBalancersFromOwnPool, service, {
        metadata: { annotations: { "io.cilium/lb-ipam-ips": "10.25.11.125" } },
        spec: { type: "LoadBalancer" },
      }),
    ).toHaveLength(1);
    expect(
      await violationsOf(network.loadBalancersFromOwnPool, service, {
        metadata: { annotations: { "lbipam.cilium.io/ips": "10.25.11.101,10.25.11.130" } },
        spec: { type: "LoadBalancer" },
      }),
    ).toEqual(["10.25.11.130 is outside the cluster's LoadBalancer pool 10.25.11.100-10.25.11.119"]);
    expect(await violationsOf(network.loadBalancersFromOwnPool, service, { spec: { type: "NodePort" } })).toHaveLength(1);
    const ds = "kubernetes:apps/v1:DaemonSet";
    const hostPod = { spec: { template: { spec: { hostNetwork: true, containers: [{ name: "c", ports: [{ hostPort: 80 }] }] } } } };
    expect(await violationsOf(network.loadBalancersFromOwnPool, ds, hostPod, "agent")).toHaveLength(2);
    expect(await violationsOf(network.loadBalancersFromOwnPool, ds, hostPod, "spegel")).toEqual([]);
  });

  it("lb-pool-placement", async () => {
    const pool = (blocks: unknown[]) => ({
      type: "kubernetes:cilium.io/v2:CiliumLoadBalancerIPPool",
      name: "p",
      props: { spec: { blocks } },
    });
    expect(await stackViolationsOf(network.poolPlacement, [pool([{ start: "10.25.11.100", stop: "10.25.11.119" }])])).toEqual([]);
    expect(await stackViolationsOf(network.poolPlacement, [pool([{ cidr: "10.25.11.0/28" }])])).toEqual([
      "pool 10.25.11.0/28 straddles the node subnet 10.25.11.0/24 or takes its network or broadcast address: put it wholly inside (L2) or wholly outside (BGP)",
      "pool 10.25.11.0/28 contains 10.25.11.11, the node",
      "pool 10.25.11.0/28 contains 10.25.11.12, the node",
      "pool 10.25.11.0/28 contains 10.25.11.13, the node",
      "pool 10.25.11.0/28 contains 10.25.11.10, the VIP",
      "pool 10.25.11.0/28 contains 10.25.11.1, the gateway",
    ]);
    // Wholly outside the node subnet is a BGP-only pool: fine; across its edge is not.
    expect(await stackViolationsOf(network.poolPlacement, [pool([{ start: "10.25.12.1", stop: "10.25.12.9" }])])).toEqual([]);
    expect(await stackViolationsOf(network.poolPlacement, [pool([{ start: "10.25.11.250", stop: "10.25.12.9" }])])).toEqual([
      "pool 10.25.11.250-10.25.12.9 straddles the node subnet 10.25.11.0/24 or takes its network or broadcast address: put it wholly inside (L2) or wholly outside (BGP)",
    ]);
    expect(await stackViolationsOf(network.poolPlacement, [pool([{ start: "10.25.11.240", stop: "10.25.11.254" }])])).toEqual([]);
    expect(await stackViolationsOf(network.poolPlacement, [pool([{ start: "10.25.11.240", stop: "10.25.11.255" }])])).toEqual([
      "pool 10.25.11.240-10.25.11.255 straddles the node subnet 10.25.11.0/24 or takes its network or broadcast address: put it wholly inside (L2) or wholly outside (BGP)",
    ]);
  });

  it("public-dns-no-private", async () => {
    const record = "cloudflare:index/dnsRecord:DnsRecord";
    expect(
      await violationsOf(network.publicDnsIsPublic, record, {
        name: "external.monosense.io",
        type: "CNAME",
        content: "x.cfargotunnel.com",
        proxied: true,
      }),
    ).toEqual([]);
    expect(
      await violationsOf(network.publicDnsIsPublic, record, {
        name: "gw.monosense.io",
        type: "A",
        content: "10.25.11.110",
        proxied: false,
      }),
    ).toHaveLength(2);
    expect(
      await violationsOf(network.publicDnsIsPublic, record, { name: "txt.monosense.io", type: "TXT", content: "v=spf1", proxied: false }),
    ).toEqual([]);
  });

  it("talos-api-endpoints", async () => {
    const boot = "talos:machine/bootstrap:Bootstrap";
    expect(await violationsOf(network.talosApiThroughEndpoints, boot, { node: "10.25.11.11", endpoint: "10.25.11.11" })).toEqual([]);
    expect(await violationsOf(network.talosApiThroughEndpoints, boot, { node: "10.25.11.11", endpoint: "203.0.113.7" })).toHaveLength(1);
    expect(await violationsOf(network.talosApiThroughEndpoints, boot, { node: "10.25.11.99", endpoint: "*" })).toHaveLength(2);
  });
});

describe("secret rules", () => {
  const secret = "kubernetes:core/v1:Secret";

  it("secrets-allow-listed", async () => {
    expect(
      await violationsOf(secrets.onlyBootstrapSecrets, secret, { metadata: { name: "flux-system", namespace: "flux-system" } }),
    ).toEqual([]);
    expect(await violationsOf(secrets.onlyBootstrapSecrets, secret, { metadata: { name: "db-password", namespace: "apps" } })).toEqual([
      "Secret apps/db-password is not a bootstrap Secret; deliver it with an ExternalSecret from the 1Password store",
    ]);
  });

  it("external-secrets-store", async () => {
    const es = "kubernetes:external-secrets.io/v1:ExternalSecret";
    expect(
      await violationsOf(secrets.externalSecretsUseOnePassword, es, {
        spec: { secretStoreRef: { kind: "ClusterSecretStore", name: "onepassword" } },
      }),
    ).toEqual([]);
    expect(
      await violationsOf(secrets.externalSecretsUseOnePassword, es, { spec: { secretStoreRef: { kind: "SecretStore", name: "inline" } } }),
    ).toHaveLength(1);
  });

  it("no-credential-literals, never echoing the value", async () => {
    expect(
      await violationsOf(secrets.noCredentialLiterals, release, {
        values: { auth: { existingSecret: "" }, serviceMonitor: { enabled: true } },
      }),
    ).toEqual([]);
    const found = await violationsOf(secrets.noCredentialLiterals, "kubernetes:core/v1:ConfigMap", {
      data: { SECRET_DOMAIN: "monosense.io", DB_PASSWORD: "hunter2" },
    });
    expect(found).toEqual(["DB_PASSWORD holds a literal credential-looking value; reference a Secret instead"]);
    expect(found.join()).not.toContain("hunter2");
  });

  it("cloudflare-token-scope", async () => {
    const token = "cloudflare:index/accountToken:AccountToken";
    const zone = `com.cloudflare.api.account.zone.${facts.zoneId}`;
    expect(
      await violationsOf(secrets.cloudflareTokensZoneScoped, token, {
        policies: [{ effect: "allow", permissionGroups: [{ id: "a" }, { id: "b" }], resources: JSON.stringify({ [zone]: "*" }) }],
      }),
    ).toEqual([]);
    const accountWide = JSON.stringify({ "com.cloudflare.api.account.abc": { "com.cloudflare.api.account.zone.*": "*" } });
    expect(
      await violationsOf(secrets.cloudflareTokensZoneScoped, token, {
        policies: [{ effect: "allow", permissionGroups: [{ id: "a" }, { id: "b" }, { id: "c" }], resources: accountWide }],
      }),
    ).toHaveLength(3);
  });

  it("no-sops", async () => {
    expect(await violationsOf(secrets.noSops, "kubernetes:core/v1:ConfigMap", { data: { a: "plain" } })).toEqual([]);
    expect(
      await violationsOf(secrets.noSops, "kubernetes:core/v1:ConfigMap", {
        data: { key: "AGE-SECRET-KEY-1QQQ", b: "ENC[AES256_GCM,data:abc]" },
      }),
    ).toHaveLength(2);
  });
});

const patchDocs = (...docs: string[]) => ({ configPatches: docs, node: "10.25.11.11", endpoint: "10.25.11.11" });
const features = (yaml: string) => `machine:\n  features:\n${yaml}`;
const ciliumWith = (values: Record<string, unknown>) => ({ type: release, name: "cilium", props: { name: "cilium", values } });
const node = (...docs: string[]) => ({ type: apply, name: "a", props: patchDocs(...docs) });

describe("rules that read the deployed values and patches", () => {
  it("cilium-kube-proxy-replacement takes Helm's string booleans too", async () => {
    const asString = { ...goodCilium, values: { ...goodCilium.values, kubeProxyReplacement: "true" } };
    expect(await violationsOf(network.ciliumReplacesKubeProxy, release, asString)).toEqual([]);
    const off = { ...goodCilium, values: { ...goodCilium.values, kubeProxyReplacement: "false" } };
    expect(await violationsOf(network.ciliumReplacesKubeProxy, release, off)).toEqual([
      "kubeProxyReplacement must be true (Talos runs without kube-proxy)",
    ]);
    const plain = { ...goodCilium, values: { ...goodCilium.values, encryption: { enabled: true, type: "ipsec" } } };
    expect(await violationsOf(network.ciliumReplacesKubeProxy, release, plain)).toEqual([
      "node-to-node traffic must be encrypted: encryption.enabled true with type wireguard",
    ]);
  });

  it("cilium-api-server-access", async () => {
    const prism = (port: number) => ciliumWith({ k8sServiceHost: "127.0.0.1", k8sServicePort: port });
    const on = features("    kubePrism:\n      enabled: true\n      port: 7445\n");
    expect(await stackViolationsOf(network.ciliumUsesKubePrism, [prism(7445), node(on)])).toEqual([]);
    // KubePrism is on by default: a node without the patch still has it on 7445.
    expect(await stackViolationsOf(network.ciliumUsesKubePrism, [prism(7445), node("machine: {}\n")])).toEqual([]);
    // Near misses: the right host on the wrong port, the endpoint while KubePrism is on, KubePrism switched off.
    expect(await stackViolationsOf(network.ciliumUsesKubePrism, [prism(7444), node(on)])).toEqual([
      "Cilium's k8sServiceHost/Port is 127.0.0.1:7444, but KubePrism is on (port 7445): it must be 127.0.0.1:7445",
    ]);
    const endpoint = ciliumWith({ k8sServiceHost: "infra-k8s.monosense.io", k8sServicePort: 6443 });
    expect(await stackViolationsOf(network.ciliumUsesKubePrism, [endpoint, node(on)])).toHaveLength(1);
    const off = features("    kubePrism:\n      enabled: false\n");
    expect(await stackViolationsOf(network.ciliumUsesKubePrism, [prism(7445), node(on, off)])).toEqual([
      "KubePrism is off on this node, but Cilium reaches the API server through it (127.0.0.1:7445); enable it or use apiServerAccess: endpoint",
    ]);
    // With apiServerAccess: endpoint the stack's endpoint is right and KubePrism is not.
    const viaEndpoint = { ...facts, apiServerAccess: "endpoint" as const };
    expect(await stackViolationsOf(network.ciliumUsesKubePrism, [endpoint, node(on)], viaEndpoint)).toEqual([]);
    expect(await stackViolationsOf(network.ciliumUsesKubePrism, [prism(7445), node(on)], viaEndpoint)).toEqual([
      "Cilium reaches the API server at 127.0.0.1:7445, but the stack's apiServerAccess is endpoint (infra-k8s.monosense.io:6443)",
    ]);
  });

  it("cilium-masquerade-host-dns", async () => {
    const masq = (on: unknown) => ciliumWith({ bpf: { masquerade: on } });
    const forward = (v: boolean) => features(`    hostDNS:\n      enabled: true\n      forwardKubeDNSToHost: ${v}\n`);
    expect(await stackViolationsOf(network.ciliumMasqueradeWithoutHostDnsForwarding, [masq(true), node(forward(false))])).toEqual([]);
    expect(await stackViolationsOf(network.ciliumMasqueradeWithoutHostDnsForwarding, [masq(true), node(forward(true))])).toEqual([
      "Cilium's bpf.masquerade is on, so this node must set machine.features.hostDNS.forwardKubeDNSToHost: false (it is true)",
    ]);
    // Unset counts as on (Talos' generated config since 1.8); a later patch wins over an earlier one.
    expect(await stackViolationsOf(network.ciliumMasqueradeWithoutHostDnsForwarding, [masq(true), node("machine: {}\n")])).toEqual([
      "Cilium's bpf.masquerade is on, so this node must set machine.features.hostDNS.forwardKubeDNSToHost: false (it is unset, which Talos turns on)",
    ]);
    expect(
      await stackViolationsOf(network.ciliumMasqueradeWithoutHostDnsForwarding, [masq(true), node(forward(false), forward(true))]),
    ).toHaveLength(1);
    // Near misses on the passing side: masquerading off, or host DNS off altogether.
    expect(await stackViolationsOf(network.ciliumMasqueradeWithoutHostDnsForwarding, [masq(false), node(forward(true))])).toEqual([]);
    const hostDnsOff = features("    hostDNS:\n      enabled: false\n");
    expect(await stackViolationsOf(network.ciliumMasqueradeWithoutHostDnsForwarding, [masq(true), node(hostDnsOff)])).toEqual([]);
  });

  it("namespace-pod-security", async () => {
    const nsType = "kubernetes:core/v1:Namespace";
    const ns = (name: string, level?: string) => ({
      metadata: { name, labels: level ? { "pod-security.kubernetes.io/enforce": level } : {} },
    });
    expect(await violationsOf(platform.namespacePodSecurity, nsType, ns("spegel", "privileged"))).toEqual([]);
    expect(await violationsOf(platform.namespacePodSecurity, nsType, ns("cert-manager", "restricted"))).toEqual([]);
    expect(await violationsOf(platform.namespacePodSecurity, nsType, ns("flux-system", "baseline"))).toEqual([]);
    expect(await violationsOf(platform.namespacePodSecurity, nsType, ns("cert-manager", "baseline"))).toEqual([
      "namespace cert-manager enforces baseline, weaker than the restricted its workloads need",
    ]);
    expect(await violationsOf(platform.namespacePodSecurity, nsType, ns("spegel", "baseline"))).toEqual([
      "namespace spegel enforces baseline, stricter than the privileged its workloads need: their pods would be refused",
    ]);
    expect(await violationsOf(platform.namespacePodSecurity, nsType, ns("apps"))).toEqual([
      "namespace apps has no pod-security.kubernetes.io/enforce label (it would admit privileged pods); it needs restricted",
    ]);
    expect(await violationsOf(platform.namespacePodSecurity, nsType, ns("apps", "Restricted"))).toEqual([
      "namespace apps enforces unknown Pod Security level Restricted; it needs restricted",
    ]);
  });

  it("crd-carriers-retained", async () => {
    const rule = platform.crdCarriersRetained;
    const group = "kubernetes:yaml/v2:ConfigGroup";
    expect(await violationsOf(rule, release, { name: "flux-operator", values: {} }, "flux-operator", true)).toEqual([]);
    expect(await violationsOf(rule, release, { name: "flux-operator", values: {} }, "flux-operator", false)).toEqual([
      "flux-operator installs CRDs but is not retainOnDelete: removing it from the program would delete its CRDs and every custom resource of them",
    ]);
    expect(await violationsOf(rule, group, { files: [] }, "gateway-api-crds", false)).toHaveLength(1);
    // A chart not in the list is caught by its values; one that installs no CRD is left alone.
    expect(await violationsOf(rule, release, { name: "other", values: { installCRDs: true } }, "other", false)).toHaveLength(1);
    expect(await violationsOf(rule, release, { name: "spegel", values: {} }, "spegel", false)).toEqual([]);
    // CrossGuard's analyzer does not pass retainOnDelete: only the Helm-level keep is judged then.
    expect(await violationsOf(rule, release, { name: "flux-operator", values: {} }, "flux-operator")).toEqual([]);
    expect(
      await violationsOf(rule, release, { name: "cert-manager", values: { crds: { enabled: true, keep: true } } }, "cert-manager"),
    ).toEqual([]);
    expect(await violationsOf(rule, release, { name: "cert-manager", values: { crds: { enabled: true } } }, "cert-manager")).toEqual([
      "cert-manager installs its CRDs with crds.enabled but not crds.keep: helm uninstall would delete them",
    ]);
  });

  it("talos-kernel-hardening (advisory)", async () => {
    const rule = platform.kernelArgsKeepHardening;
    const schematic = (args: string[]) => ({
      schematic: `customization:\n  extraKernelArgs:\n${args.map((a) => `    - ${a}\n`).join("")}`,
    });
    const type = "talos:imageFactory/schematic:Schematic";
    // A cluster that accepts nothing (the fixture's facts accept the seed clusters' trade-offs).
    const strict = { ...facts, acceptedKernelArgs: {} };
    const violationsOf = async (_rule: ResourceValidationPolicy, t: string, props: Record<string, unknown>): Promise<string[]> => {
      const found: string[] = [];
      const args = { ...resourceArgs(t, props), getConfig: <T extends object>() => ({ facts: strict }) as unknown as T };
      const validate = rule.validateResource;
      for (const v of Array.isArray(validate) ? validate : validate ? [validate] : []) await v(args, (m) => void found.push(m));
      return found;
    };
    expect(rule.enforcementLevel).toBe("advisory");
    // Near misses that are fine: mitigations=auto, apparmor=1, an unrelated removal.
    expect(await violationsOf(rule, type, schematic(["mitigations=auto", "apparmor=1", "-console", "init_on_free=0"]))).toEqual([]);
    expect(
      await violationsOf(
        rule,
        type,
        schematic(["mitigations=off", "security=none", "apparmor=0", "-selinux", "-init_on_alloc", "pti=off"]),
      ),
    ).toEqual([
      "kernel argument mitigations=off turns off CPU vulnerability mitigations",
      "kernel argument security=none loads no Linux security module",
      "kernel argument apparmor=0 turns off AppArmor",
      "kernel argument -selinux turns off SELinux (Talos enables it)",
      "kernel argument -init_on_alloc stops zeroing memory on allocation (a Talos default)",
      "kernel argument pti=off turns off page-table isolation (a Talos default)",
    ]);
    // The accepting cluster still hears of an argument it did not accept.
    const validate = rule.validateResource;
    const seen: string[] = [];
    for (const v of Array.isArray(validate) ? validate : validate ? [validate] : [])
      await v(resourceArgs(type, schematic(["mitigations=off", "pti=off"])), (m) => void seen.push(m));
    expect(seen).toEqual(["kernel argument pti=off turns off page-table isolation (a Talos default)"]);
  });
});
