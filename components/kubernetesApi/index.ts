/** A small Kubernetes REST client (Node's https, kubeconfig credentials): what node removal and upgrades call. */
export { budgetOf, createKubernetesClient, type KubernetesClient, type KubernetesClientOptions } from "./client";
export { isKubernetesApiError, kubernetesApiError, type KubernetesApiError } from "./errors";
export { parseKubeconfig, type KubeCredentials } from "./kubeconfig";
export type { EvictionOutcome, KubeNode, NodeCondition, KubePod, KubeStatus, ObjectMeta, OwnerReference } from "./types";
export { lifecycleRules, lifecycleUser, type PolicyRule } from "./rbac";
