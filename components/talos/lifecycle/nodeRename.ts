import type { KubernetesClient } from "../../kubernetesApi/client";
import { systemClock, type Clock } from "../machineApi/clock";
import { notReady } from "./kubernetesComponents";

/**
 * A node renamed at the same address: Talos changes the hostname in place and the kubelet registers
 * a Node under the new name, but nothing deletes the Node object of the old name (it only turns
 * NotReady). Once the new Node is Ready, the machine's one kubelet runs under the new name and no
 * longer owns the old object: deleting it then takes nothing from a running node. Until then the old
 * object is left alone, and a new Node that never gets Ready fails the step naming both. A failed
 * update keeps the resource's old state (pulumi/pulumi v3.248.0 pkg/resource/deploy/step.go
 * UpdateStep.Apply: only a StatusPartialFailure records new outputs, and a plain Error thrown from a
 * dynamic provider is none: sdk/nodejs/cmd/dynamic-provider/index.ts grpcResponseFromError), so the
 * next run sees the old name again and retries.
 */

export interface RenameRequest {
  oldName: string;
  newName: string;
  /** The node's Talos address, as errors name it. */
  node: string;
  /** How long to wait for the new Node to be Ready. */
  timeoutMs: number;
  /** Pause between polls of the new Node. */
  intervalMs?: number;
}

export type RenameOutcome = "deleted" | "already gone";

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
    const node = await kube.getNode(newName);
    const behind = node ? notReady(newName, node) : `no Node ${newName}`;
    if (behind === undefined) break;
    const elapsed = clock.now() - start;
    if (elapsed >= request.timeoutMs)
      throw new Error(
        `${what}: ${behind} after ${Math.round(elapsed / 1000)}s; Node ${oldName} is kept ` +
          `(once ${newName} is Ready, run pulumi up again or kubectl delete node ${oldName})`,
      );
    await clock.sleep(Math.min(request.intervalMs ?? 5000, request.timeoutMs - elapsed));
  }
  // 404 is success: an operator (or an earlier, interrupted run) deleted it already.
  const outcome = (await kube.deleteNode(oldName)) === "deleted" ? "deleted" : "already gone";
  log(`${what}: Node ${newName} is Ready; Node ${oldName} ${outcome === "deleted" ? "deleted" : "was already gone"}`);
  return outcome;
}
