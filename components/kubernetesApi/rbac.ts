/**
 * The Kubernetes identity the lifecycle resources use (drain, cordon, Node delete, readiness waits)
 * and the only permissions it has. Pure data: the bootstrap registers it as a ClusterRole and a
 * ClusterRoleBinding (components/bootstrap/lifecycleRbac.ts), adminKubeconfig.ts signs a client
 * certificate for the user, and tests/lifecycle-rbac.test.ts holds the rules equal to what
 * `KubernetesClient` (client.ts) calls, verb by verb.
 *
 * Verbs as RBAC sees a request (kubernetes/apiserver pkg/endpoints/request/requestinfo.go): GET of a
 * named object `get`, of a collection `list`, PATCH `patch`, DELETE `delete`, POST `create`; the
 * eviction is the `pods/eviction` subresource.
 */
export interface PolicyRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/** User (certificate CN) and ClusterRole/ClusterRoleBinding name; not `system:masters`, not in any privileged group. */
export const lifecycleUser = "talos-gitops:lifecycle";

export const lifecycleRules: readonly PolicyRule[] = [
  // getNode / setUnschedulable (merge patch of spec.unschedulable) / deleteNode
  { apiGroups: [""], resources: ["nodes"], verbs: ["get", "patch", "delete"] },
  // listPodsOnNode (all namespaces, fieldSelector spec.nodeName) / getPod (eviction done, static pods' versions)
  { apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] },
  // evictPod: policy/v1 Eviction POSTed to the pod's eviction subresource
  { apiGroups: [""], resources: ["pods/eviction"], verbs: ["create"] },
];
