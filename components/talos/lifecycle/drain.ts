import type { KubernetesClient } from "../../kubernetesApi/client";
import type { KubePod } from "../../kubernetesApi/types";
import { systemClock, type Clock } from "../machineApi/clock";

/**
 * kubectl drain's semantics (kubernetes/kubectl v0.35.0 pkg/drain/filters.go, drain.go), without kubectl:
 * cordon, then evict every pod through the Eviction API so PodDisruptionBudgets are honoured, except
 * - DaemonSet-managed pods (the DaemonSet controller ignores unschedulable and would recreate them) and
 * - mirror pods (annotation `kubernetes.io/config.mirror`: static pods, which the API cannot delete);
 * pods with emptyDir volumes are evicted only with `deleteEmptyDirData` (their data is lost), bare pods
 * with no controller only with `force` (nothing recreates them). Finished pods (Succeeded/Failed) pass.
 * An eviction refused with 429 (a budget allows no disruption now) is retried with backoff until the
 * drain's deadline; then every evicted pod must be gone (404, or a new pod under the same name:
 * drain.go waitForDelete). One deadline covers both (drain.go evictPods: the global timeout).
 *
 * Deliberately not kubectl: kubectl GETs a DaemonSet pod's DaemonSet to delete orphans under --force
 * (filters.go daemonSetFilter); we leave every DaemonSet pod, as Talos' own drain does (siderolabs/talos
 * v1.13.9 pkg/kubernetes/kubernetes.go Drain), which keeps the lifecycle identity off `apps/daemonsets`.
 * And a failed drain uncordons the node again (kubectl leaves it cordoned): nothing is taken down.
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

/**
 * How `talosctl upgrade --drain` drains (siderolabs/talos v1.13.9 cmd/talosctl/pkg/talos/nodedrain/nodedrain.go,
 * CordonAndDrain: drain.Helper{Force: true, IgnoreAllDaemonSets: true, DeleteEmptyDirData: true,
 * GracePeriodSeconds: -1, Timeout: drain timeout}): the node reboots or is wiped, its emptyDir data is
 * lost either way, and a controller-less pod dies with it. GracePeriodSeconds -1 is what we send too:
 * no DeleteOptions, so each pod's own terminationGracePeriodSeconds (drain.go makeDeleteOptions).
 */
export const talosctlDrain = { deleteEmptyDirData: true, force: true } as const;

/** The stack file's `talos.rollout.unmanagedPods`: evict them (talosctl's --force) or refuse the drain. */
export type UnmanagedPods = "evict" | "refuse";

export function drainPolicy(unmanagedPods: UnmanagedPods = "evict"): Pick<DrainOptions, "deleteEmptyDirData" | "force"> {
  return { deleteEmptyDirData: talosctlDrain.deleteEmptyDirData, force: unmanagedPods === "evict" };
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

/** Appends to an error's message, keeping the error (its fields classify it); a non-Error becomes one. */
export function withNote(error: unknown, note: string): Error {
  if (error instanceof Error) {
    error.message = `${error.message}; ${note}`;
    return error;
  }
  return new Error(`${String(error)}; ${note}`);
}

/**
 * After a failure while `node` is cordoned by us and still up (a drain that failed, a Talos call that
 * failed before the node went down): uncordon it and rethrow, saying so; if the uncordon fails too,
 * the error says the node is left cordoned and why.
 */
export async function uncordonAfterFailure(client: KubernetesClient, node: string, error: unknown): Promise<never> {
  try {
    await client.setUnschedulable(node, false);
  } catch (uncordon) {
    throw withNote(error, `${node} is left cordoned: uncordon failed (${uncordon instanceof Error ? uncordon.message : String(uncordon)})`);
  }
  throw withNote(error, `${node} uncordoned again (nothing was taken down)`);
}

/** The failure of a step after which the node may be down or is down: it stays cordoned, and the error says why. */
export function leftCordoned(node: string, error: unknown, why: string): Error {
  return withNote(error, `${node} is left cordoned: ${why}; uncordon it once it is back (kubectl uncordon ${node})`);
}

/** `db/pg-0 (PodDisruptionBudget db/pg: needs 1 healthy pods and has 1 currently)` */
function blockedBy(pod: KubePod, last: { budget?: string; budgetDetail?: string; message: string } | undefined): string {
  if (!last) return podKey(pod);
  if (!last.budget) return `${podKey(pod)} (${last.message})`;
  return `${podKey(pod)} (PodDisruptionBudget ${pod.metadata.namespace}/${last.budget}${last.budgetDetail ? `: ${last.budgetDetail}` : ""})`;
}

/**
 * Cordons `node` and evicts its pods; throws `drain <node>: ...` naming every pod (and its budget) still
 * blocking at the deadline. On any failure the node is uncordoned again before the error is thrown.
 */
export async function drainNode(client: KubernetesClient, node: string, options: DrainOptions): Promise<DrainResult> {
  await client.setUnschedulable(node, true);
  try {
    return await evictAll(client, node, options);
  } catch (error) {
    return uncordonAfterFailure(client, node, error);
  }
}

async function evictAll(client: KubernetesClient, node: string, options: DrainOptions): Promise<DrainResult> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  const fail = (detail: string) => new Error(`drain ${node}: ${detail}`);
  const start = clock.now();
  const elapsed = () => clock.now() - start;

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
  // As kubectl: nothing is evicted when one pod is refused.
  if (refused.length > 0) throw fail(`refusing to evict: ${refused.join("; ")}`);

  let pending = toEvict;
  const evicted: KubePod[] = [];
  const blocked = new Map<string, { budget?: string; budgetDetail?: string; message: string }>();
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
      const pods = pending.map((pod) => blockedBy(pod, blocked.get(podKey(pod))));
      throw fail(`${pending.length} pod(s) still blocked by their disruption budgets after ${seconds(elapsed())}: ${pods.join("; ")}`);
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
      throw fail(
        `${terminating.length} evicted pod(s) still terminating after ${seconds(elapsed())}: ${terminating.map(podKey).join(", ")}`,
      );
    }
    await clock.sleep(Math.min(options.pollMs ?? 2000, options.timeoutMs - elapsed()));
  }
  return { evicted: evicted.map(podKey), skipped };
}
