import type { PolicyConfigSchema } from "@pulumi/policy";

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
  /** Namespaces exempt from the default-deny rule (system and bootstrap namespaces). */
  networkPolicyExempt: string[];
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
        networkPolicyExempt: { type: "array", items: { type: "string" } },
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
        "hostNetworkAllowed",
        "allowedStores",
      ],
    },
  },
  required: ["facts"],
};

export type FactsConfig = { facts: ClusterFacts };
