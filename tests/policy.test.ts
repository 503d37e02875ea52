import * as fs from "fs";
import * as path from "path";
import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { clusterFacts, packPolicies, policyConfigFile, policyPackConfig, runPolicyPack } from "../plan/policy";
import type { ClusterFacts } from "../policy/facts";
import * as network from "../policy/network";
import * as secrets from "../policy/secrets";
import { fixture, liveStacks, recordFixture, repoRoot, stacks } from "./support";
import { clusterFromStackFile, readStackFile } from "../stacks/stackFile";

const facts: ClusterFacts = clusterFacts(fixture("infra"));

/** Hand-built args carrying every field of ResourceValidationArgs. */
function resourceArgs(type: string, props: Record<string, unknown>, name = "r"): ResourceValidationArgs {
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
): Promise<string[]> {
  const found: string[] = [];
  const validate = policy.validateResource;
  for (const v of Array.isArray(validate) ? validate : validate ? [validate] : [])
    await v(resourceArgs(type, props, name), (m) => void found.push(m));
  return found;
}

async function stackViolationsOf(
  policy: StackValidationPolicy,
  resources: Array<Pick<PolicyResource, "type" | "props" | "name">>,
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
    getConfig: <T extends object>() => ({ facts }) as unknown as T,
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
    expect(await stackViolationsOf(network.namespacesDenyByDefault, [ns])).toHaveLength(2);
    expect(await stackViolationsOf(network.namespacesDenyByDefault, [{ ...ns, props: { metadata: { name: "flux-system" } } }])).toEqual([]);
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
      "pool 10.25.11.0/28 contains 10.25.11.11, the node",
      "pool 10.25.11.0/28 contains 10.25.11.12, the node",
      "pool 10.25.11.0/28 contains 10.25.11.13, the node",
      "pool 10.25.11.0/28 contains 10.25.11.10, the VIP",
      "pool 10.25.11.0/28 contains 10.25.11.1, the gateway",
    ]);
    expect(await stackViolationsOf(network.poolPlacement, [pool([{ start: "10.25.12.1", stop: "10.25.12.9" }])])).toEqual([
      "pool 10.25.12.1-10.25.12.9 is not inside the node subnet 10.25.11.0/24",
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

describe("the pack over the real stacks", () => {
  it("registers every rule with an id, a description and an enforcement level", () => {
    expect(packPolicies.map((p) => p.name)).toHaveLength(13);
    for (const p of packPolicies) expect(p.description.length > 10 && p.enforcementLevel !== undefined).toBe(true);
  });

  it.each(stacks)("%s has no mandatory violation", async (stack) => {
    const r = await recordFixture({ stack });
    const report = await runPolicyPack(r, clusterFacts(fixture(stack)));
    expect(report.violations.filter((v) => v.level === "mandatory")).toEqual([]);
  });

  it("finds a planted violation in a real stack's graph", async () => {
    const r = await recordFixture({ stack: "infra" });
    const otherZone = {
      ...clusterFacts(fixture("infra")),
      zoneId: "ffffffffffffffffffffffffffffffff",
    };
    const report = await runPolicyPack(r, otherZone);
    expect(report.violations.filter((v) => v.policy === "cloudflare-token-scope")).toHaveLength(2);
  });

  it.each(liveStacks)("policy/config/%s.json is up to date with Pulumi.%s.yaml (npm run schema)", (stack) => {
    const committed = JSON.parse(fs.readFileSync(path.join(repoRoot, policyConfigFile(stack)), "utf8"));
    const live = clusterFromStackFile(readStackFile(repoRoot, stack));
    expect(committed).toEqual(JSON.parse(JSON.stringify(policyPackConfig(clusterFacts(live)))));
  });
});

describe("workflows", () => {
  it.each(["preview.yml", "up.yml"])("%s runs the pack with the stack's config", (file) => {
    const text = fs.readFileSync(path.join(repoRoot, ".github", "workflows", file), "utf8");
    expect(text).toContain("pulumi/actions@");
    expect(text).toContain("policyPacks: policy");
    expect(text).toContain("policyPackConfigs: policy/config/${{ matrix.stack }}.json");
    // Every stack file, whatever the user named them; on the runner the user chose (LAN access).
    expect(text).toContain("stack: ${{ fromJSON(needs.stacks.outputs.list) }}");
    expect(text).toContain(`runs-on: \${{ fromJSON(vars.PULUMI_RUNNER_LABELS || '["self-hosted"]') }}`);
  });

  it("the pull-request preview gets only the read-only 1Password token; up runs in the stack's environment", () => {
    const preview = fs.readFileSync(path.join(repoRoot, ".github", "workflows", "preview.yml"), "utf8");
    const up = fs.readFileSync(path.join(repoRoot, ".github", "workflows", "up.yml"), "utf8");
    expect(preview.match(/OP_SERVICE_ACCOUNT_TOKEN\w*: \$\{\{ secrets\.(\w+) \}\}/g)).toEqual([
      "OP_SERVICE_ACCOUNT_TOKEN: ${{ secrets.OP_SERVICE_ACCOUNT_TOKEN_READONLY }}",
    ]);
    expect(preview).toContain("if: github.event.pull_request.head.repo.full_name == github.repository");
    expect(up).toContain("environment: ${{ matrix.stack }}");
    expect(up).toContain("OP_SERVICE_ACCOUNT_TOKEN: ${{ secrets.OP_SERVICE_ACCOUNT_TOKEN }}");
  });
});
