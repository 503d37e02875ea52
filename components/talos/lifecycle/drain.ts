import type { KubernetesClient } from "../../kubernetesApi/client";
import type { KubePod } from "../../kubernetesApi/types";
import { systemClock, type Clock } from "../machineApi/clock";

/**
 * kubectl drain's semantics (staging/src/k8s.io/kubectl/pkg/drain/filters.go), without kubectl:
 * cordon, then evict every pod through the Eviction API so PodDisruptionBudgets are honoured, except
 * - DaemonSet-managed pods (the DaemonSet controller ignores unschedulable and would recreate them) and
 * - mirror pods (annotation `kubernetes.io/config.mirror`: static pods, which the API cannot delete);
 * pods with emptyDir volumes are evicted only with explicit consent (their data is lost), bare pods
 * with no controller only with `force` (nothing recreates them). Finished pods (Succeeded/Failed) pass.
 * An eviction refused with 429 (a budget allows no disruption now) is retried with backoff until the
 * drain's deadline; then every evicted pod must be gone (404, or a new pod under the same name).
 */

export interface DrainOptions {
  timeoutMs: number;
  /** Evict pods that use emptyDir volumes (their data is lost): kubectl's --delete-emptydir-data. */
  deleteEmptyDirData?: boolean;
  /** Evict pods no controller recreates: kubectl's --force. */
  force?: boolean;
  /** First pause after a refused eviction; doubles up to `maxRetryMs`. */
  retryMs?: number;
  maxRetryMs?: number;
  /** Pause between checks that evicted pods are gone. */
  pollMs?: number;
  clock?: Clock;
  /** Progress lines (`evicting db/pg-0`, `db/pg-0 blocked by PodDisruptionBudget db/pg`). */
  log?: (line: string) => void;
}

export interface DrainResult {
  evicted: string[];
  /** DaemonSet and mirror pods left in place. */
  skipped: string[];
}

export const mirrorPodAnnotation = "kubernetes.io/config.mirror";

export type PodDecision = { action: "evict" } | { action: "skip"; why: "daemonset" | "mirror" } | { action: "refuse"; why: string };

function finished(pod: KubePod): boolean {
  return pod.status?.phase === "Succeeded" || pod.status?.phase === "Failed";
}

/** What drain does with one pod, as kubectl's filters decide it (daemonSet, mirror, localStorage, unreplicated). */
export function decideForPod(pod: KubePod, options: Pick<DrainOptions, "deleteEmptyDirData" | "force">): PodDecision {
  const controller = (pod.metadata.ownerReferences ?? []).find((o) => o.controller === true);
  if (controller?.kind === "DaemonSet" && !finished(pod)) return { action: "skip", why: "daemonset" };
  if (pod.metadata.annotations?.[mirrorPodAnnotation] !== undefined) return { action: "skip", why: "mirror" };
  if (finished(pod)) return { action: "evict" };
  if ((pod.spec?.volumes ?? []).some((v) => v.emptyDir !== undefined) && !options.deleteEmptyDirData)
    return { action: "refuse", why: "uses emptyDir volumes (local data is lost; allow with deleteEmptyDirData)" };
  if (!controller && !options.force) return { action: "refuse", why: "has no controller to recreate it (allow with force)" };
  return { action: "evict" };
}

function seconds(ms: number): string {
  return `${Math.round(ms / 1000)}s`;
}

const podKey = (pod: KubePod) => `${pod.metadata.namespace}/${pod.metadata.name}`;

/** Cordons `node` and evicts its pods; throws `drain <node>: ...` naming the pod and the last state on failure or timeout. */
export async function drainNode(client: KubernetesClient, node: string, options: DrainOptions): Promise<DrainResult> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const fail = (detail: string) => new Error(`drain ${node}: ${detail}`);
  const start = clock.now();
  const elapsed = () => clock.now() - start;

  await client.setUnschedulable(node, true);
  const pods = await client.listPodsOnNode(node);
  const toEvict: KubePod[] = [];
  const skipped: string[] = [];
  const refused: string[] = [];
  for (const pod of pods) {
    const decision = decideForPod(pod, options);
    if (decision.action === "evict") toEvict.push(pod);
    else if (decision.action === "skip") skipped.push(podKey(pod));
    else refused.push(`${podKey(pod)} ${decision.why}`);
  }
  // As kubectl: the node stays cordoned, nothing is evicted.
  if (refused.length > 0) throw fail(`refusing to evict: ${refused.join("; ")}`);

  let pending = toEvict;
  const evicted: KubePod[] = [];
  const blocked = new Map<string, { budget?: string; message: string }>();
  for (let round = 0; pending.length > 0; round++) {
    const stillPending: KubePod[] = [];
    for (const pod of pending) {
      log(`evicting ${podKey(pod)}`);
      const result = await client.evictPod(pod.metadata.namespace, pod.metadata.name);
      if (result.outcome === "blocked") {
        blocked.set(podKey(pod), result);
        stillPending.push(pod);
        log(`${podKey(pod)} blocked${result.budget ? ` by PodDisruptionBudget ${pod.metadata.namespace}/${result.budget}` : ""}`);
      } else {
        blocked.delete(podKey(pod));
        if (result.outcome === "evicted") evicted.push(pod);
      }
    }
    pending = stillPending;
    if (pending.length === 0) break;
    if (elapsed() >= options.timeoutMs) {
      const [first] = pending;
      const last = blocked.get(podKey(first));
      const by = last?.budget
        ? `PodDisruptionBudget ${first.metadata.namespace}/${last.budget}`
        : `its disruption budget (${last?.message})`;
      const others = pending.length > 1 ? ` (and ${pending.length - 1} more: ${pending.slice(1).map(podKey).join(", ")})` : "";
      throw fail(`pod ${podKey(first)} still blocked by ${by} after ${seconds(elapsed())}${others}`);
    }
    const retry = Math.min((options.retryMs ?? 1000) * 2 ** round, options.maxRetryMs ?? 10_000);
    await clock.sleep(Math.min(retry, options.timeoutMs - elapsed()));
  }

  // Evicted pods terminate gracefully; gone means 404, or a new pod (another uid) under the same name.
  let terminating = evicted;
  while (terminating.length > 0) {
    const remaining: KubePod[] = [];
    for (const pod of terminating) {
      const current = await client.getPod(pod.metadata.namespace, pod.metadata.name);
      if (current && current.metadata.uid === pod.metadata.uid) remaining.push(pod);
    }
    terminating = remaining;
    if (terminating.length === 0) break;
    if (elapsed() >= options.timeoutMs) {
      throw fail(`pod ${podKey(terminating[0])} still terminating after ${seconds(elapsed())} (${terminating.length} pod(s) not gone)`);
    }
    await clock.sleep(Math.min(options.pollMs ?? 2000, options.timeoutMs - elapsed()));
  }
  return { evicted: evicted.map(podKey), skipped };
}
