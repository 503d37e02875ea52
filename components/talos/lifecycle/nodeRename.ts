import type { KubernetesClient } from "../../kubernetesApi/client";
import type { KubeNode } from "../../kubernetesApi/types";
import { systemClock, type Clock } from "../machineApi/clock";
import { notReady } from "./kubernetesComponents";

/**
 * A node renamed at the same address: Talos changes the hostname in place and the kubelet registers
 * a Node under the new name, but nothing deletes the Node object of the old name. It is deleted here
 * once (1) the new Node is Ready, so the machine's kubelet runs under the new name, and (2) no kubelet
 * posts the old one any more: its Ready condition is Unknown, as the node lifecycle controller marks
 * a Node whose kubelet stopped posting status and lease for the grace period (kubernetes/kubernetes
 * pkg/controller/nodelifecycle/node_lifecycle_controller.go, commit 003e862, tryUpdateNodeHealth:
 * Status Unknown, Reason NodeStatusUnknown, "Kubelet stopped posting node status."). Ready True or
 * False means a kubelet still posts it: never deleted then. Until both hold, the old object is left
 * alone, and at the timeout the step fails naming both. A failed update keeps the resource's old
 * state (pulumi/pulumi v3.248.0 pkg/resource/deploy/step.go UpdateStep.Apply: only a
 * StatusPartialFailure records new outputs, and a plain Error thrown from a dynamic provider is none:
 * sdk/nodejs/cmd/dynamic-provider/index.ts grpcResponseFromError), so the next run sees the old name
 * again and retries.
 */

export interface RenameRequest {
  oldName: string;
  newName: string;
  /** The node's Talos address, as errors name it. */
  node: string;
  /** How long to wait for the new Node to be Ready and the old one to be left by its kubelet. */
  timeoutMs: number;
  /** Pause between polls. */
  intervalMs?: number;
}

export type RenameOutcome = "deleted" | "already gone";

/** Why a kubelet still owns `node` (its Ready condition is True or False: posted), or undefined. */
function stillPosted(name: string, node: KubeNode): string | undefined {
  const ready = node.status?.conditions?.find((c) => c.type === "Ready");
  if (!ready || ready.status === "Unknown") return undefined;
  return `Node ${name} is still posted by a kubelet (Ready=${ready.status}${ready.reason ? ` ${ready.reason}` : ""})`;
}

export async function retireRenamedNode(
  kube: KubernetesClient,
  request: RenameRequest,
  clock: Clock = systemClock,
  log: (line: string) => void = () => undefined,
): Promise<RenameOutcome> {
  const { oldName, newName } = request;
  const what = `rename ${oldName} → ${newName} (${request.node})`;
  const start = clock.now();
  for (;;) {
    const fresh = await kube.getNode(newName);
    const stale = await kube.getNode(oldName);
    const waiting = [fresh ? notReady(newName, fresh) : `no Node ${newName}`, stale && stillPosted(oldName, stale)].filter(
      (why): why is string => typeof why === "string",
    );
    if (waiting.length === 0) {
      // 404 is success, on the read or the delete: an operator (or an interrupted run) deleted it already.
      const outcome: RenameOutcome = stale && (await kube.deleteNode(oldName)) === "deleted" ? "deleted" : "already gone";
      log(`${what}: Node ${newName} is Ready; Node ${oldName} ${outcome === "deleted" ? "deleted" : "was already gone"}`);
      return outcome;
    }
    const elapsed = clock.now() - start;
    if (elapsed >= request.timeoutMs)
      throw new Error(
        `${what}: ${waiting.join("; ")} after ${Math.round(elapsed / 1000)}s; Node ${oldName} is kept ` +
          `(once ${newName} is Ready and ${oldName} Unknown, run pulumi up again or kubectl delete node ${oldName})`,
      );
    await clock.sleep(Math.min(request.intervalMs ?? 5000, request.timeoutMs - elapsed));
  }
}
