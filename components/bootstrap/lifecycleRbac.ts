import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { lifecycleRules, lifecycleUser } from "../kubernetesApi/rbac";
import { managedLabels } from "./labels";

/**
 * The lifecycle identity's permissions (components/kubernetesApi/rbac.ts), bound to its user.
 *
 * Why this cannot make a cycle, and why it is safe that nothing waits for it: the lifecycle
 * resources (OsUpgrade, NodeGate, NodeMembership) take the lifecycle kubeconfig, which depends on
 * the machine secrets only, and run before the applies; these objects need the Kubernetes provider,
 * which needs the cluster. On a first bring-up the lifecycle resources only record (their create
 * contacts nothing), so they never call the API before these exist; every day-2 action (an update
 * that drains, waits or uncordons, a delete that removes a node) happens in a later run, when the
 * objects exist. The one exception is the run that introduces them into an existing stack: run it
 * with no version or node change (nothing drains then), as the README says.
 */
export function lifecycleRbac(opts: pulumi.CustomResourceOptions): {
  role: k8s.rbac.v1.ClusterRole;
  binding: k8s.rbac.v1.ClusterRoleBinding;
} {
  const metadata = { name: lifecycleUser, labels: { ...managedLabels } };
  const role = new k8s.rbac.v1.ClusterRole("lifecycle", { metadata, rules: lifecycleRules.map((rule) => ({ ...rule })) }, opts);
  const binding = new k8s.rbac.v1.ClusterRoleBinding(
    "lifecycle",
    {
      metadata,
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: lifecycleUser },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: lifecycleUser }],
    },
    { ...opts, dependsOn: [role] },
  );
  return { role, binding };
}
