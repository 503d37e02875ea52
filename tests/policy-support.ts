import type {
  PolicyResource,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import type { ClusterFacts } from "../policy/facts";

/**
 * Hand-built CrossGuard args for the rules one by one: no program runs and no stack is recorded.
 * The facts are written out here (shaped like the infra fixture) so each expectation can be read
 * against them without opening a stack file.
 */
export const facts: ClusterFacts = {
  clusterName: "infra",
  clusterId: 1,
  nodeSubnet: "10.25.11.0/24",
  nodeIps: ["10.25.11.11", "10.25.11.12", "10.25.11.13"],
  vip: "10.25.11.10",
  gateway: "10.25.11.1",
  pool: { start: "10.25.11.100", end: "10.25.11.119" },
  zoneId: "00000000000000000000000000000002",
  allowedSecrets: ["flux-system/flux-system", "external-secrets/onepassword-service-account"],
  networkPolicyExempt: {
    "kube-system": "Cilium, CoreDNS and the control plane",
    spegel: "Spegel serves containerd on each node through a hostPort",
  },
  podSecurity: { spegel: "privileged", "flux-system": "baseline", "cert-manager": "restricted" },
  crdCarriers: ["gateway-api-crds", "cert-manager", "flux-operator"],
  apiServerAccess: "kubeprism",
  acceptedKernelArgs: { "mitigations=off": "trusted hardware, accepted on purpose" },
  endpoint: { host: "infra-k8s.monosense.io", port: 6443 },
  hostNetworkAllowed: ["cilium", "spegel"],
  allowedStores: ["onepassword"],
};

export interface ResourceCase {
  /** The resource's name (not metadata.name); "r" unless given. */
  readonly name?: string;
  /** retainOnDelete as the offline plan passes it; CrossGuard's analyzer leaves it out. */
  readonly retainOnDelete?: boolean;
  readonly facts?: ClusterFacts;
}

/** Hand-built args carrying every field of ResourceValidationArgs. */
export function resourceArgs(type: string, props: Record<string, unknown>, options: ResourceCase = {}): ResourceValidationArgs {
  const { name = "r", retainOnDelete, facts: withFacts = facts } = options;
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
    getConfig: <T extends object>() => ({ facts: withFacts }) as unknown as T,
    notApplicable: (reason?: string): never => {
      throw new Error(`not applicable: ${reason}`);
    },
  };
}

/** The messages a resource rule reports, in order. */
export async function violationsOf(
  policy: ResourceValidationPolicy,
  type: string,
  props: Record<string, unknown>,
  options?: ResourceCase,
): Promise<string[]> {
  const found: string[] = [];
  const validate = policy.validateResource;
  for (const v of Array.isArray(validate) ? validate : validate ? [validate] : [])
    await v(resourceArgs(type, props, options), (m) => void found.push(m));
  return found;
}

export type StackResource = Pick<PolicyResource, "type" | "props" | "name">;

/** What a stack rule reports, in order: each message with the URN it names (`urn:<name>`, or none). */
export async function stackReportsOf(
  policy: StackValidationPolicy,
  resources: StackResource[],
  withFacts: ClusterFacts = facts,
): Promise<Array<[string, string | undefined]>> {
  const found: Array<[string, string | undefined]> = [];
  const args: StackValidationArgs = {
    resources: resources.map((r) => ({
      ...r,
      urn: `urn:${r.name}`,
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
  await policy.validateStack(args, (m, urn) => void found.push([m, urn]));
  return found;
}

/** The messages a stack rule reports, in order. */
export async function stackViolationsOf(
  policy: StackValidationPolicy,
  resources: StackResource[],
  withFacts: ClusterFacts = facts,
): Promise<string[]> {
  return (await stackReportsOf(policy, resources, withFacts)).map(([message]) => message);
}
