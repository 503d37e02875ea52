import type { ClusterConfig } from "../../stacks/load";
import { versions } from "../../stacks/versions";

/** The Git credentials Secret the FluxInstance pulls with (flux-system/flux-system). */
export const gitCredentialsSecret = { name: "flux-system", namespace: "flux-system" } as const;

export function fluxOperatorValues(): Record<string, unknown> {
  return { serviceMonitor: { create: true } };
}

/** The FluxInstance spec: Flux syncing kubernetes/clusters/<cluster> from the stack's Git source. */
export function fluxInstanceSpec(cluster: ClusterConfig): Record<string, unknown> {
  return {
    // flux-operator's default, stated so it cannot be switched off unnoticed: with it, Ready means every
    // object the instance applied passed a kstatus health check, the sync GitRepository and
    // Kustomization included (flux-operator v0.58.1 internal/controller/fluxinstance_controller.go,
    // `apply`: `if obj.GetWait() ... resourceManager.WaitForSetWithContext(changeSet...)`, and
    // internal/builder/build.go renders sync.yaml into that change set).
    wait: true,
    distribution: {
      version: versions.flux,
      registry: "ghcr.io/fluxcd",
      artifact: "oci://ghcr.io/controlplaneio-fluxcd/flux-operator-manifests",
    },
    components: ["source-controller", "kustomize-controller", "helm-controller", "notification-controller"],
    cluster: { type: "kubernetes", networkPolicy: true, domain: "cluster.local" },
    sync: {
      kind: "GitRepository",
      url: cluster.flux.url,
      ref: `refs/heads/${cluster.flux.branch}`,
      path: cluster.flux.path,
      pullSecret: gitCredentialsSecret.name,
      ...(cluster.flux.auth.type === "githubApp" ? { provider: "github" } : {}),
    },
  };
}
