import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { managedLabels } from "./labels";

/**
 * The only way this program writes a Kubernetes Secret: Opaque, labelled as ours, every value a
 * Pulumi secret. Everything else reaches the cluster through external-secrets.
 */
export function bootstrapSecret(
  resourceName: string,
  target: { name: string; namespace: string },
  stringData: Record<string, pulumi.Input<string>>,
  opts: pulumi.CustomResourceOptions,
): k8s.core.v1.Secret {
  const secretData = Object.fromEntries(Object.entries(stringData).map(([k, v]) => [k, pulumi.secret(v)]));
  return new k8s.core.v1.Secret(
    resourceName,
    { metadata: { ...target, labels: { ...managedLabels } }, type: "Opaque", stringData: secretData },
    opts,
  );
}
