import { systemClock, type Clock } from "./clock";
import type { MachineClient } from "./client";
import { talosApiError } from "./errors";
import { assessReadiness, type NodeExpectations, type NodeObservation } from "./readiness";
import type { VersionReply } from "./replies";
import { describeError, isTransient, seconds } from "./retry";

export interface WaitOptions {
  timeoutMs: number;
  /** Pause between polls. */
  intervalMs?: number;
  clock?: Clock;
  /** Called after every unsuccessful poll, e.g. to log progress. */
  onPoll?: (unmet: string) => void;
}

export interface ReadyNode {
  version: VersionReply;
  bootId?: string;
  polls: number;
  elapsedMs: number;
}

/** One poll: single attempts (the wait loop is the retry), in the order readiness is judged, stopping at the first failure. */
export async function observeNode(client: MachineClient, expected: NodeExpectations): Promise<NodeObservation> {
  const seen: NodeObservation = {};
  const once = { retryForMs: 0 };
  const steps: Array<[string, () => Promise<void>]> = [
    ["Version", async () => void (seen.version = await client.version(once))],
    ["Read", async () => void (expected.previousBootId !== undefined && (seen.bootId = await client.bootId(once)))],
    ["ServiceList", async () => void (seen.services = await client.services(once))],
    ["EtcdStatus", async () => void (expected.role === "controlplane" && (seen.etcdStatus = await client.etcdStatus(once)))],
    ["EtcdMemberList", async () => void (expected.role === "controlplane" && (seen.etcdMembers = await client.etcdMembers(once)))],
  ];
  for (const [call, step] of steps) {
    try {
      await step();
    } catch (error) {
      seen.failure = { call, detail: describeError(error), transient: isTransient(error) };
      break;
    }
  }
  return seen;
}

/**
 * Polls until the node meets every expectation, or throws after `timeoutMs` naming the node and the
 * unmet condition, e.g. `node 10.25.11.11: readiness: not ready after 600s: expected v1.13.9, runs v1.12.11`;
 * an unreachable node fails as `node ...: Version: still unreachable after 600s (last: UNAVAILABLE ...)`.
 */
export async function waitUntilReady(client: MachineClient, expected: NodeExpectations, options: WaitOptions): Promise<ReadyNode> {
  const clock = options.clock ?? systemClock;
  const intervalMs = options.intervalMs ?? 5000;
  const start = clock.now();
  for (let polls = 1; ; polls++) {
    const seen = await observeNode(client, expected);
    const readiness = assessReadiness(expected, seen);
    const elapsedMs = clock.now() - start;
    if (readiness.ready && seen.version) return { version: seen.version, bootId: seen.bootId, polls, elapsedMs };
    if (readiness.ready) throw new Error("internal: ready without a version");
    if (elapsedMs >= options.timeoutMs) {
      if (readiness.unreachable && seen.failure) {
        throw talosApiError(
          expected.node,
          seen.failure.call,
          `still unreachable after ${seconds(elapsedMs)} (last: ${seen.failure.detail})`,
        );
      }
      throw talosApiError(expected.node, "readiness", `not ready after ${seconds(elapsedMs)}: ${readiness.unmet}`);
    }
    options.onPoll?.(readiness.unmet);
    await clock.sleep(Math.min(intervalMs, options.timeoutMs - elapsedMs));
  }
}

export interface RebootSeen {
  bootId: string;
  /** Whether a poll found the node unreachable in between (a fast reboot can slip between polls). */
  sawDown: boolean;
}

/**
 * After a reboot or upgrade request the node keeps answering on its old boot for a while (it drains,
 * stops services, then reboots), so "it answers" proves nothing. Version and uptime are no use either:
 * a plain reboot keeps the version, and the API has no uptime call. The kernel boot id is what changes
 * on every boot (talosctl's own reboot check reads it the same way), so this waits for a different one.
 */
export async function waitForReboot(client: MachineClient, previousBootId: string, options: WaitOptions): Promise<RebootSeen> {
  const clock = options.clock ?? systemClock;
  const intervalMs = options.intervalMs ?? 2000;
  const start = clock.now();
  let sawDown = false;
  let last = `still on boot ${previousBootId}`;
  for (;;) {
    try {
      const bootId = await client.bootId({ retryForMs: 0 });
      if (bootId !== previousBootId) return { bootId, sawDown };
      last = `still on boot ${previousBootId}`;
    } catch (error) {
      if (!isTransient(error)) throw error;
      sawDown = true;
      last = `unreachable (${describeError(error)})`;
    }
    const elapsedMs = clock.now() - start;
    if (elapsedMs >= options.timeoutMs)
      throw talosApiError(client.node, "reboot", `no new boot after ${seconds(elapsedMs)} (last: ${last})`);
    options.onPoll?.(last);
    await clock.sleep(Math.min(intervalMs, options.timeoutMs - elapsedMs));
  }
}
