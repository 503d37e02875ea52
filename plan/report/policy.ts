import type {
  PolicyResource,
  PolicyResourceOptions,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { cloudflareTokenSecret } from "../../components/bootstrap/certManager";
import { onePasswordTokenSecret } from "../../components/bootstrap/externalSecrets";
import { edgeSecrets } from "../../components/cloudflare/cloudflareEdge";
import { clustermeshCaSecret } from "../../components/clustermesh/clusterMesh";
import { gitCredentialsSecret } from "../../components/flux/fluxInstance";
import type { ClusterFacts, PodSecurityLevel } from "../../policy/facts";
import { networkPolicies } from "../../policy/network";
import { platformPolicies } from "../../policy/platform";
import { secretPolicies } from "../../policy/secrets";
import type { ClusterConfig } from "../../stacks/load";
import type { Recording } from "../record/harness";
import { UNKNOWN } from "../record/wire";
import type { PolicyReport } from "./render";

/** The pack's rules, as `policy/index.ts` registers them. */
export const packPolicies: ReadonlyArray<ResourceValidationPolicy | StackValidationPolicy> = [
  ...networkPolicies,
  ...secretPolicies,
  ...platformPolicies,
];

/** Secrets the program writes (namespace/name): the bootstrap Secrets of docs/security.md. */
export const bootstrapSecretIds = [
  gitCredentialsSecret,
  onePasswordTokenSecret,
  cloudflareTokenSecret,
  edgeSecrets.externalDns,
  edgeSecrets.tunnel,
  clustermeshCaSecret,
].map((s) => `${s.namespace}/${s.name}`);

/**
 * Namespaces without a default-deny, each with its reason (the rule `namespace-default-deny` reads
 * this; cert-manager, external-secrets and flux-system get theirs from components/bootstrap/networkPolicies.ts).
 */
export const networkPolicyExempt: Readonly<Record<string, string>> = {
  default: "Kubernetes' own; nothing is deployed there",
  "kube-system": "Cilium, CoreDNS and Talos' control plane: host-network components and the DNS every other namespace's allowances lead to",
  "kube-public": "Kubernetes' own; no pods",
  "kube-node-lease": "Kubernetes' own; no pods",
  spegel:
    "Spegel serves containerd on each node through a hostPort and its peers on every node: host and remote-node traffic a NetworkPolicy ipBlock cannot select under Cilium (policyCIDRMatchMode unset), and a wrong deny silently turns the mirror off",
  cloudflared: "Pulumi creates only the namespace and the tunnel token; cloudflared and its policies come from the GitOps tree (Flux)",
  "external-dns": "Pulumi creates only the namespace and the DNS token; external-dns and its policies come from the GitOps tree (Flux)",
};

/**
 * The Pod Security level each namespace the program creates must enforce, from what its pods need
 * (independent of components/bootstrap/namespaces.ts, which the rule checks). Unlisted: restricted.
 */
export const podSecurityNeeded: Readonly<Record<string, PodSecurityLevel>> = {
  // Spegel mounts containerd's socket and config from the host and serves on a hostPort.
  spegel: "privileged",
  // Flux's controllers and flux-operator are restricted-compliant (the chart's default securityContext
  // says so), but flux-system also runs what the GitOps tree adds there; audit and warn stay restricted.
  "flux-system": "baseline",
  "cert-manager": "restricted",
  "external-secrets": "restricted",
  cloudflared: "restricted",
  "external-dns": "restricted",
};

/**
 * Releases and ConfigGroups that install CRDs: Gateway API (standard-install.yaml), the
 * prometheus-operator CRDs chart, cert-manager (`crds.enabled`), external-secrets (`installCRDs`)
 * and flux-operator (`installCRDs` defaults to true, controlplaneio-fluxcd/charts flux-operator
 * values.yaml). Cilium's CRDs are registered by its operator at run time, not by Helm.
 */
export const crdCarriers = ["gateway-api-crds", "prometheus-operator-crds", "cert-manager", "external-secrets", "flux-operator"];

/**
 * Weakening kernel arguments a cluster keeps on purpose (talos-kernel-hardening reports every other
 * one). The author's seed clusters trade host hardening for throughput on trusted home-lab
 * hardware; a new stack starts with none accepted and sees each as an advisory.
 */
const seedTradeOff = "seed home-lab cluster: host hardening traded for throughput on trusted hardware (accepted, not recommended)";
export const acceptedKernelArgs: Readonly<Record<string, Readonly<Record<string, string>>>> = Object.fromEntries(
  ["infra", "apps"].map((cluster) => [
    cluster,
    Object.fromEntries(
      ["-init_on_alloc", "init_on_alloc=0", "-selinux", "apparmor=0", "mitigations=off", "security=none"].map((a) => [a, seedTradeOff]),
    ),
  ]),
);

/** The facts the cluster-aware rules check against, from the validated stack. */
export function clusterFacts(cluster: ClusterConfig): ClusterFacts {
  return {
    clusterName: cluster.name,
    clusterId: cluster.id,
    nodeSubnet: cluster.network.nodeSubnet,
    nodeIps: cluster.nodes.map((n) => n.ip),
    vip: cluster.network.vip,
    gateway: cluster.network.gateway,
    pool: { ...cluster.cilium.loadBalancerPool },
    ...(cluster.cloudflare ? { zoneId: cluster.cloudflare.zoneId } : {}),
    allowedSecrets: bootstrapSecretIds,
    networkPolicyExempt: { ...networkPolicyExempt },
    podSecurity: { ...podSecurityNeeded },
    crdCarriers: [...crdCarriers],
    apiServerAccess: cluster.cilium.apiServerAccess,
    acceptedKernelArgs: { ...(acceptedKernelArgs[cluster.name] ?? {}) },
    endpoint: { host: cluster.endpoint.host, port: cluster.endpoint.port },
    hostNetworkAllowed: ["cilium", "spegel"],
    allowedStores: ["onepassword"],
  };
}

export function policyConfigFile(stack: string): string {
  return `policy/config/${stack}.json`;
}

/** The pack's config for `pulumi preview --policy-pack policy --policy-pack-config <file>`. */
export function policyPackConfig(facts: ClusterFacts): Record<string, { facts: ClusterFacts }> {
  return Object.fromEntries(packPolicies.filter((p) => p.configSchema !== undefined).map((p) => [p.name, { facts }]));
}

class NotApplicable extends Error {}

/**
 * Props as a policy sees them, noting when a rule reads a value only known after apply: CrossGuard
 * then turns a mandatory violation into an advisory one, and so does this runner.
 */
function watchUnknowns(props: Record<string, unknown>, seen: { unknown: boolean }): Record<string, unknown> {
  const wrap = (value: unknown): unknown => {
    if (value === UNKNOWN) seen.unknown = true;
    if (value === null || typeof value !== "object") return value;
    return new Proxy(value as object, { get: (target, key) => wrap(Reflect.get(target, key)) });
  };
  return wrap(props) as Record<string, unknown>;
}

/** Runs every rule over a recorded graph in-process, as the analyzer would over a preview. */
export async function runPolicyPack(recording: Recording, facts: ClusterFacts): Promise<PolicyReport> {
  const violations: Array<{ policy: string; level: string; urn: string; message: string; unknown?: true }> = [];
  const common = {
    stackTags: new Map<string, string>(),
    getConfig: <T extends object>() => ({ facts }) as unknown as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
  const readUnknown = { unknown: false };
  const resources: PolicyResource[] = recording.resources.map((r) => {
    // retainOnDelete too, which CrossGuard's analyzer does not send (policy/platform.ts).
    const opts: PolicyResourceOptions & { retainOnDelete: boolean } = {
      protect: r.protect,
      retainOnDelete: r.retainOnDelete,
      ignoreChanges: [...r.ignoreChanges],
      deleteBeforeReplace: r.deleteBeforeReplace,
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [...r.additionalSecretOutputs],
      parent: r.parent,
    };
    return {
      type: r.type,
      props: watchUnknowns(recording.plainInputs(r.urn) as Record<string, unknown>, readUnknown),
      urn: r.urn,
      name: r.name,
      opts,
      dependencies: [],
      propertyDependencies: {},
      isType: () => false,
      asType: () => undefined,
    };
  });

  for (const policy of packPolicies) {
    const level = policy.enforcementLevel ?? "advisory";
    if (level === "disabled") continue;
    const reportFor =
      (urn: string): ReportViolation =>
      (message, at) =>
        void violations.push({
          policy: policy.name,
          level: readUnknown.unknown && level === "mandatory" ? "advisory" : level,
          urn: at ?? urn,
          message,
          // The rule read a value known only after apply: what it says may not hold then.
          ...(readUnknown.unknown ? { unknown: true as const } : {}),
        });
    try {
      if ("validateStack" in policy) {
        readUnknown.unknown = false;
        const args: StackValidationArgs = { ...common, resources };
        await policy.validateStack(args, reportFor(""));
        continue;
      }
      const validators =
        policy.validateResource === undefined
          ? []
          : Array.isArray(policy.validateResource)
            ? policy.validateResource
            : [policy.validateResource];
      for (const resource of resources) {
        const args: ResourceValidationArgs = { ...common, ...resource, asType: () => undefined };
        for (const validate of validators) {
          readUnknown.unknown = false;
          try {
            await validate(args, reportFor(resource.urn));
          } catch (e) {
            if (!(e instanceof NotApplicable)) throw e;
          }
        }
      }
    } catch (e) {
      if (!(e instanceof NotApplicable)) throw e;
    }
  }
  return { violations };
}
