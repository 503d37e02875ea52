import type { ClusterConfig } from "../../../stacks/load";
import type { ClusterNode } from "../../../stacks/schema";
import { usesNetworkDocuments, type TalosContract } from "./contract";
import { networkDocuments, timeSyncDocument } from "./documents";
import { legacyNetworkPatch, legacyTimePatch } from "./legacy";
import { nodeNetwork } from "./network";
import type { ConfigDocument, NamedPatch } from "./types";
import { controlPlanePatch, installPatch, kubeletPatch, kubernetesNetworkPatch, labelsPatch, spegelPatch, sysctlsPatch } from "./v1alpha1";

/**
 * Talos machine-config patches for one node, as pure functions of the validated config and the
 * contract the configuration is generated for. They carry no secret (the PKI comes from the generated
 * config), so a preview shows exactly which line changed. Patch names are the same under every
 * contract; only the network and time patches change form (contract.ts says why).
 */
export function nodePatches(cluster: ClusterConfig, node: ClusterNode, schematicId: string, contract: TalosContract): NamedPatch[] {
  const net = nodeNetwork(cluster, node);
  const documents = usesNetworkDocuments(contract);
  const sysctls = sysctlsPatch(cluster);
  const timeAndSysctls: ConfigDocument[] = documents
    ? [...(sysctls ? [sysctls] : []), timeSyncDocument(net.timeServers)]
    : [{ machine: { ...legacyTimePatch(net.timeServers).machine, ...sysctls?.machine } }];
  return [
    { name: "install", documents: [installPatch(cluster, node, schematicId)] },
    { name: "network", documents: contract === "v1.11" ? [legacyNetworkPatch(net)] : networkDocuments(net, contract) },
    { name: "kubernetes-network", documents: [kubernetesNetworkPatch(cluster)] },
    ...(node.role === "controlplane" ? [{ name: "control-plane", documents: [controlPlanePatch(cluster)] }] : []),
    { name: "kubelet-and-features", documents: [kubeletPatch(cluster)] },
    { name: "labels-and-taints", documents: [labelsPatch(cluster, node)] },
    { name: "time-and-sysctls", documents: timeAndSysctls },
    ...(cluster.spegel.enabled ? [{ name: "spegel-containerd", documents: [spegelPatch()] }] : []),
  ];
}
