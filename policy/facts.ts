import type { PolicyConfigSchema } from "@pulumi/policy";

/** Pod Security Standards levels, weakest first. */
export const podSecurityLevels = ["privileged", "baseline", "restricted"] as const;
export type PodSecurityLevel = (typeof podSecurityLevels)[number];

/**
 * What the rules need to know about the cluster a stack describes. Generated from the stack file
 * (`npm run schema` writes policy/config/<stack>.json) and passed to every cluster-aware rule.
 */
export interface ClusterFacts {
  clusterName: string;
  clusterId: number;
  nodeSubnet: string;
  nodeIps: string[];
  vip: string;
  gateway: string;
  pool: { start: string; end: string };
  /** The Cloudflare zone tokens may be scoped to, when the stack has Cloudflare. */
  zoneId?: string;
  /** `namespace/name` of every Secret the program may write (the bootstrap Secrets). */
  allowedSecrets: string[];
  /** Namespaces exempt from the default-deny rule, each with the reason it is exempt. */
  networkPolicyExempt: Record<string, string>;
  /** The Pod Security level (`pod-security.kubernetes.io/enforce`) each created namespace needs; others need `restricted`. */
  podSecurity: Record<string, PodSecurityLevel>;
  /** Helm releases and ConfigGroups (release or resource names) that install CRDs, so must be kept on delete. */
  crdCarriers: string[];
  /** How Cilium reaches the API server: through KubePrism on each node, or at the cluster endpoint. */
  apiServerAccess: "kubeprism" | "endpoint";
  /** Weakening kernel arguments this cluster accepts on purpose, each with the reason (talos-kernel-hardening skips them). */
  acceptedKernelArgs: Record<string, string>;
  /** The cluster's API endpoint (host and port), for `apiServerAccess: endpoint`. */
  endpoint: { host: string; port: number };
  /** Workloads allowed hostNetwork, hostPort or NodePort (release or object names). */
  hostNetworkAllowed: string[];
  /** ClusterSecretStores ExternalSecrets may use. */
  allowedStores: string[];
}

/** JSON Schema of the facts, as every cluster-aware rule's configSchema. */
export const factsSchema: PolicyConfigSchema = {
  properties: {
    facts: {
      type: "object",
      properties: {
        clusterName: { type: "string" },
        clusterId: { type: "integer" },
        nodeSubnet: { type: "string" },
        nodeIps: { type: "array", items: { type: "string" } },
        vip: { type: "string" },
        gateway: { type: "string" },
        pool: { type: "object", properties: { start: { type: "string" }, end: { type: "string" } } },
        zoneId: { type: "string" },
        allowedSecrets: { type: "array", items: { type: "string" } },
        networkPolicyExempt: { type: "object", additionalProperties: { type: "string" } },
        podSecurity: { type: "object", additionalProperties: { type: "string", enum: ["privileged", "baseline", "restricted"] } },
        crdCarriers: { type: "array", items: { type: "string" } },
        apiServerAccess: { type: "string", enum: ["kubeprism", "endpoint"] },
        acceptedKernelArgs: { type: "object", additionalProperties: { type: "string" } },
        endpoint: { type: "object", properties: { host: { type: "string" }, port: { type: "integer" } } },
        hostNetworkAllowed: { type: "array", items: { type: "string" } },
        allowedStores: { type: "array", items: { type: "string" } },
      },
      required: [
        "clusterName",
        "nodeSubnet",
        "nodeIps",
        "vip",
        "gateway",
        "pool",
        "allowedSecrets",
        "networkPolicyExempt",
        "podSecurity",
        "crdCarriers",
        "apiServerAccess",
        "acceptedKernelArgs",
        "endpoint",
        "hostNetworkAllowed",
        "allowedStores",
      ],
    },
  },
  required: ["facts"],
};

export type FactsConfig = { facts: ClusterFacts };
