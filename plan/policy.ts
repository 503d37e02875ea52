import type {
  PolicyResource,
  ReportViolation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { cloudflareTokenSecret } from "../components/bootstrap/certManager";
import { onePasswordTokenSecret } from "../components/bootstrap/externalSecrets";
import { namespaceSecurity } from "../components/bootstrap/namespaces";
import { edgeSecrets } from "../components/cloudflare/cloudflareEdge";
import { clustermeshCaSecret } from "../components/clustermesh/clusterMesh";
import { gitCredentialsSecret } from "../components/flux/fluxInstance";
import type { ClusterFacts } from "../policy/facts";
import { networkPolicies } from "../policy/network";
import { secretPolicies } from "../policy/secrets";
import type { ClusterConfig } from "../stacks/load";
import type { Recording } from "./harness";
import { UNKNOWN } from "./wire";
import type { PolicyReport } from "./render";

/** The pack's rules, as `policy/index.ts` registers them. */
export const packPolicies: ReadonlyArray<ResourceValidationPolicy | StackValidationPolicy> = [...networkPolicies, ...secretPolicies];

/** Secrets the program writes (namespace/name): the bootstrap Secrets of the README. */
export const bootstrapSecretIds = [
  gitCredentialsSecret,
  onePasswordTokenSecret,
  cloudflareTokenSecret,
  edgeSecrets.externalDns,
  edgeSecrets.tunnel,
  clustermeshCaSecret,
].map((s) => `${s.namespace}/${s.name}`);

/**
 * The facts the cluster-aware rules check against, from the validated stack. Namespaces the
 * bootstrap creates are exempt from default-deny: their charts run before any policy could allow them.
 */
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
    networkPolicyExempt: ["default", "kube-system", "kube-public", "kube-node-lease", ...Object.keys(namespaceSecurity)],
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
  const violations: Array<{ policy: string; level: string; urn: string; message: string }> = [];
  const common = {
    stackTags: new Map<string, string>(),
    getConfig: <T extends object>() => ({ facts }) as unknown as T,
    notApplicable: (reason?: string): never => {
      throw new NotApplicable(reason);
    },
  };
  const readUnknown = { unknown: false };
  const resources: PolicyResource[] = recording.resources.map((r) => ({
    type: r.type,
    props: watchUnknowns(recording.plainInputs(r.urn) as Record<string, unknown>, readUnknown),
    urn: r.urn,
    name: r.name,
    opts: {
      protect: r.protect,
      ignoreChanges: [...r.ignoreChanges],
      deleteBeforeReplace: r.deleteBeforeReplace,
      aliases: [],
      customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
      additionalSecretOutputs: [...r.additionalSecretOutputs],
      parent: r.parent,
    },
    dependencies: [],
    propertyDependencies: {},
    isType: () => false,
    asType: () => undefined,
  }));

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
