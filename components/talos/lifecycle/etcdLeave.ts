import { systemClock, type Clock } from "../machineApi/clock";
import type { MachineClient } from "../machineApi/client";
import { talosApiError } from "../machineApi/errors";
import { describeError } from "../machineApi/retry";
import { forfeitLeadership } from "./etcdPreflight";
import { afterUnknown, sentOnce } from "./sentOnce";

export interface EtcdLeaveOptions {
  /** The leaving member's id (from the member list). */
  memberId: string;
  /** The other control planes: whether the member left is read from their member list. */
  peers: readonly MachineClient[];
  /** How long to wait for the member list to drop it once the call returned (default 60 s). */
  confirmMs?: number;
  clock?: Clock;
  log?: (line: string) => void;
}

/**
 * Takes a control plane out of etcd: leadership handed off first (as the Cluster API Talos provider
 * does before a leave: cluster-api-control-plane-provider-talos v0.5.12 controllers/etcd.go,
 * gracefulEtcdLeave), then MachineService/EtcdLeaveCluster, sent once with the deadline the server's
 * own retries need (client.ts, callDeadlinesMs). Whether the member left is decided from a peer's
 * member list, not from how the call ended: a dropped connection or a passed deadline may hide a
 * leave that happened, and a reply does not prove the list changed.
 */
export async function leaveEtcd(talos: MachineClient, options: EtcdLeaveOptions): Promise<void> {
  const clock = options.clock ?? systemClock;
  const log = options.log ?? (() => undefined);
  await forfeitLeadership(talos, log);
  const unknown = await sentOnce(() => talos.etcdLeaveCluster(), log);
  const confirmMs = options.confirmMs ?? 60_000;
  const start = clock.now();
  let last = "no other control plane to ask";
  for (;;) {
    for (const peer of options.peers) {
      try {
        const members = await peer.etcdMembers({ retryForMs: 0 });
        if (!members.some((m) => m.id === options.memberId)) return;
        last = `${peer.node} still lists member ${options.memberId}`;
        break;
      } catch (error) {
        last = `${peer.node}: ${describeError(error)}`;
      }
    }
    const elapsed = clock.now() - start;
    if (elapsed >= confirmMs)
      throw afterUnknown(
        unknown,
        talosApiError(talos.node, "EtcdLeaveCluster", `member not gone after ${Math.round(elapsed / 1000)}s (last: ${last})`),
      );
    await clock.sleep(Math.min(2000, confirmMs - elapsed));
  }
}
