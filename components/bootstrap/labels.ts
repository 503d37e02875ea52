/** Labels on every Kubernetes object this program creates, so owners can tell Pulumi's from Flux's. */
export const managedLabels = { "app.kubernetes.io/managed-by": "pulumi-talos-gitops" } as const;
