import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { managedLabels } from "./labels";

/** Pod Security level each namespace this program creates enforces (kube-system already exists). */
export const namespaceSecurity = {
  // Spegel mounts containerd's socket and config from the host.
  spegel: "privileged",
  "cert-manager": "restricted",
  "external-secrets": "restricted",
  "flux-system": "baseline",
  // Flux deploys cloudflared and external-dns here; the namespaces exist first to hold their tokens.
  cloudflared: "restricted",
  "external-dns": "restricted",
} as const;

export type ManagedNamespace = keyof typeof namespaceSecurity;

export function podSecurityLabels(level: string): Record<string, string> {
  return {
    "pod-security.kubernetes.io/enforce": level,
    "pod-security.kubernetes.io/audit": "restricted",
    "pod-security.kubernetes.io/warn": "restricted",
  };
}

export function namespace(name: ManagedNamespace, opts: pulumi.CustomResourceOptions): k8s.core.v1.Namespace {
  return new k8s.core.v1.Namespace(
    name,
    { metadata: { name, labels: { ...managedLabels, ...podSecurityLabels(namespaceSecurity[name]) } } },
    opts,
  );
}
