import type { KubernetesClient } from "../../kubernetesApi/client";
import type { KubeNode, KubePod, NodeCondition } from "../../kubernetesApi/types";
import { systemClock, type Clock } from "../machineApi/clock";
import type { NodeRole } from "../machineApi/readiness";

/**
 * Whether a node's Kubernetes components run a version: the kubelet (the Node's
 * `status.nodeInfo.kubeletVersion`) and, on a control plane, the static pods Talos runs for the API
 * server, controller manager and scheduler (their mirror pods `<component>-<node>` in kube-system:
 * image tag and container ready). A Kubernetes version change re-applies each node's config, and
 * Talos restarts these with the new images; the rolling gate waits for this before the next node.
 */
export const controlPlaneComponents = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"] as const;

/** `registry.k8s.io/kube-apiserver:v1.35.0@sha256:…` → `v1.35.0`; undefined without a tag. */
export function imageTag(image: string): string | undefined {
  const name = image.split("@")[0] ?? "";
  const colon = name.lastIndexOf(":");
  return colon > name.lastIndexOf("/") ? name.slice(colon + 1) : undefined;
}

const sameVersion = (a: string | undefined, b: string) => a !== undefined && a.replace(/^v/, "") === b.replace(/^v/, "");

export interface ComponentsObservation {
  node?: KubeNode;
  /** Mirror pods by component name (control planes only). */
  pods: Partial<Record<(typeof controlPlaneComponents)[number], KubePod>>;
}

/**
 * `Node w1 not Ready (Ready=False KubeletNotReady: ...; MemoryPressure=True ...)`, or undefined when Ready.
 * The kubelet's conditions (kubernetes pkg/kubelet/nodestatus/setters.go): Ready must be True; the
 * pressure and NetworkUnavailable conditions that are True are named beside it, as they say why.
 */
export function notReady(nodeName: string, node: KubeNode): string | undefined {
  const conditions = node.status?.conditions ?? [];
  const ready = conditions.find((c) => c.type === "Ready");
  if (ready?.status === "True") return undefined;
  const describe = (c: NodeCondition) => `${c.type}=${c.status}${c.reason ? ` ${c.reason}` : ""}${c.message ? `: ${c.message}` : ""}`;
  const why = [
    ready ? describe(ready) : "no Ready condition",
    ...conditions.filter((c) => c.type !== "Ready" && c.status === "True").map(describe),
  ];
  return `Node ${nodeName} not Ready (${why.join("; ")})`;
}

/**
 * What is not yet Ready or on `version`, one phrase each; empty when everything is. Without `version`
 * only readiness counts; with `nodeOnly` the control-plane components are not looked at.
 */
export function componentsBehind(
  role: NodeRole,
  nodeName: string,
  version: string | undefined,
  seen: ComponentsObservation,
  nodeOnly = false,
): string[] {
  const behind: string[] = [];
  const kubelet = seen.node?.status?.nodeInfo?.kubeletVersion;
  if (!seen.node) behind.push(`no Node ${nodeName}`);
  else {
    const unready = notReady(nodeName, seen.node);
    if (unready) behind.push(unready);
    if (version !== undefined && !sameVersion(kubelet, version)) behind.push(`kubelet runs ${kubelet ?? "an unknown version"}`);
  }
  if (role !== "controlplane" || nodeOnly || version === undefined) return behind;
  for (const component of controlPlaneComponents) {
    const pod = seen.pods[component];
    if (!pod) {
      behind.push(`no ${component} pod`);
      continue;
    }
    const tag = imageTag(pod.spec?.containers?.find((c) => c.name === component)?.image ?? "");
    if (!sameVersion(tag, version)) behind.push(`${component} runs ${tag ?? "an untagged image"}`);
    else if (pod.status?.containerStatuses?.find((c) => c.name === component)?.ready !== true) behind.push(`${component} not ready`);
  }
  return behind;
}

export interface ComponentsRequest {
  nodeName: string;
  role: NodeRole;
  /** e.g. `v1.35.0`; without it, only the Node's readiness is waited for. */
  version?: string;
  timeoutMs: number;
  intervalMs?: number;
  /** The Node only (Ready, kubelet version): after an OS upgrade, which does not change the components' images. */
  nodeOnly?: boolean;
}

/** Polls until every component of the node runs `version`; fails naming what is still behind. */
export async function waitForKubernetesComponents(
  kube: KubernetesClient,
  request: ComponentsRequest,
  clock: Clock = systemClock,
): Promise<void> {
  const start = clock.now();
  const intervalMs = request.intervalMs ?? 5000;
  for (;;) {
    const node = await kube.getNode(request.nodeName);
    const pods: ComponentsObservation["pods"] = {};
    if (request.role === "controlplane" && !request.nodeOnly && request.version !== undefined) {
      for (const component of controlPlaneComponents)
        pods[component] = await kube.getPod("kube-system", `${component}-${request.nodeName}`);
    }
    const behind = componentsBehind(request.role, request.nodeName, request.version, { node, pods }, request.nodeOnly);
    if (behind.length === 0) return;
    const elapsed = clock.now() - start;
    if (elapsed >= request.timeoutMs)
      throw new Error(
        `${request.nodeName}: Kubernetes not ${request.version ? `on ${request.version}` : "ready"} after ${Math.round(elapsed / 1000)}s: ${behind.join("; ")}`,
      );
    await clock.sleep(Math.min(intervalMs, request.timeoutMs - elapsed));
  }
}
