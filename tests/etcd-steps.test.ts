import { leaveEtcd } from "../components/talos/lifecycle/etcdLeave";
import { etcdUpgradeVerdict, forfeitLeadership, observeEtcd } from "../components/talos/lifecycle/etcdPreflight";
import { afterUnknown, sentOnce } from "../components/talos/lifecycle/sentOnce";
import type { MachineClient } from "../components/talos/machineApi/client";
import { talosApiError, type TalosApiError } from "../components/talos/machineApi/errors";
import type { EtcdMemberInfo, EtcdStatusInfo } from "../components/talos/machineApi/replies";
import { virtualClock } from "./fakes/virtualClock";

/**
 * The etcd steps of an upgrade or removal, on scripted clients: every branch of what the control
 * planes may answer, in microseconds. The same steps against the fake apid over gRPC (wire shapes,
 * deadlines, dropped connections) are in node-removal-etcd and os-upgrade-safety.
 */

type Answer<T> = T | Error | (() => T | Error);
interface Script {
  members?: Answer<EtcdMemberInfo[]>[];
  status?: Answer<EtcdStatusInfo>;
  forfeit?: Answer<string>;
  leave?: Answer<void>;
}

const member = (id: string, hostname = `cp-${id}`, isLearner = false): EtcdMemberInfo => ({ id, hostname, isLearner, peerUrls: [] });
const status = (memberId: string, leader = "1", errors: string[] = []): EtcdStatusInfo => ({ memberId, leader, isLearner: false, errors });
const unavailable = (node: string, call: string) => talosApiError(node, call, "UNAVAILABLE: connection refused", 14);
const unknownOutcome = (node: string, call: string) =>
  talosApiError(node, call, "CANCELLED: the connection dropped after the request was sent", 1, true);
const three = [member("1"), member("2"), member("3")];

/** A client that answers from `script`; `calls` lists what was asked, with the retry window. */
function scripted(node: string, script: Script) {
  const calls: string[] = [];
  let memberAnswers = 0;
  const answer = async <T>(value: Answer<T> | undefined, call: string): Promise<T> => {
    const resolved = typeof value === "function" ? (value as () => T | Error)() : value;
    if (resolved === undefined && call !== "EtcdLeaveCluster") throw new Error(`${node}: unscripted ${call}`);
    if (resolved instanceof Error) throw resolved;
    return resolved as T;
  };
  const client = {
    node,
    etcdMembers: (o?: { retryForMs?: number }) => {
      calls.push(`EtcdMemberList ${o?.retryForMs}`);
      const list = script.members ?? [];
      return answer(list[Math.min(memberAnswers++, list.length - 1)], "EtcdMemberList");
    },
    etcdStatus: (o?: { retryForMs?: number }) => {
      calls.push(`EtcdStatus ${o?.retryForMs}`);
      return answer(script.status, "EtcdStatus");
    },
    etcdForfeitLeadership: () => {
      calls.push("EtcdForfeitLeadership");
      return answer(script.forfeit, "EtcdForfeitLeadership");
    },
    etcdLeaveCluster: () => {
      calls.push("EtcdLeaveCluster");
      return answer(script.leave, "EtcdLeaveCluster");
    },
  };
  return { client: client as unknown as MachineClient, calls };
}

describe("observeEtcd", () => {
  it("asks every control plane its status, and the member list of a peer before the node going down", async () => {
    const a = scripted("10.0.0.1", { status: status("1"), members: [three] });
    const b = scripted("10.0.0.2", { status: unavailable("10.0.0.2", "EtcdStatus"), members: [[member("2")]] });
    const c = scripted("10.0.0.3", { status: status("3"), members: [[member("3")]] });
    const seen = await observeEtcd([a.client, b.client, c.client], "10.0.0.1");
    expect(seen).toEqual({
      observations: [
        { endpoint: "10.0.0.1", status: status("1") },
        { endpoint: "10.0.0.2", error: expect.stringContaining("UNAVAILABLE: connection refused") },
        { endpoint: "10.0.0.3", status: status("3") },
      ],
      members: [member("2")],
      failures: [],
    });
    // No retries inside a check: one answer each, the list from the first peer.
    expect([a.calls, b.calls, c.calls]).toEqual([["EtcdStatus 0"], ["EtcdStatus 0", "EtcdMemberList 0"], ["EtcdStatus 0"]]);
  });

  it("falls back to the next peer, then to the node going down, and names every failure when none answers", async () => {
    const down = scripted("10.0.0.1", { status: status("1"), members: [three] });
    const peer = scripted("10.0.0.2", { status: status("2"), members: [unavailable("10.0.0.2", "EtcdMemberList")] });
    expect((await observeEtcd([down.client, peer.client], "10.0.0.1")).members).toEqual(three);
    expect(peer.calls).toContain("EtcdMemberList 0");

    const none = scripted("10.0.0.1", { status: status("1"), members: [unavailable("10.0.0.1", "EtcdMemberList")] });
    const seen = await observeEtcd([none.client, peer.client], "10.0.0.1");
    expect(seen.members).toBeUndefined();
    expect(seen.failures).toEqual([
      expect.stringMatching(/^10\.0\.0\.2: .*UNAVAILABLE/),
      expect.stringMatching(/^10\.0\.0\.1: .*UNAVAILABLE/),
    ]);
  });
});

describe("etcdUpgradeVerdict", () => {
  const healthy = (node: string, id: string, members: EtcdMemberInfo[] = three) =>
    scripted(node, { status: status(id), members: [members] });

  it("allows three healthy started voting members", async () => {
    const cps = [healthy("10.0.0.1", "1"), healthy("10.0.0.2", "2"), healthy("10.0.0.3", "3")].map((s) => s.client);
    expect(await etcdUpgradeVerdict(cps, "10.0.0.1")).toEqual({ allowed: true });
  });

  it("refuses when no control plane gives a member list, naming each failure", async () => {
    const s = scripted("10.0.0.1", { status: status("1"), members: [unavailable("10.0.0.1", "EtcdMemberList")] });
    const peer = scripted("10.0.0.2", { status: status("2"), members: [unavailable("10.0.0.2", "EtcdMemberList")] });
    const verdict = await etcdUpgradeVerdict([s.client, peer.client], "10.0.0.1");
    expect(verdict).toEqual({
      allowed: false,
      reason: expect.stringMatching(
        /^no control plane answered the etcd member list \(10\.0\.0\.2: [^;]*UNAVAILABLE[^;]*; 10\.0\.0\.1: [^;]*UNAVAILABLE[^;]*\)$/,
      ),
    });
  });

  it("refuses two members with the way out, and members not started or still learners", async () => {
    const two = [member("1"), member("2")];
    const verdict = await etcdUpgradeVerdict([healthy("10.0.0.1", "1", two).client, healthy("10.0.0.2", "2", two).client], "10.0.0.1");
    expect(verdict).toEqual({
      allowed: false,
      reason:
        "etcd has 2 members: with one down the other is not a quorum (2 of 2 needed), so etcd and the Kubernetes API " +
        "stop until it is back; add a third control plane (or go down to one) before taking a control plane down",
    });
    const odd = [member("1"), member("2", ""), member("3", "cp-3", true)];
    const cps = [healthy("10.0.0.1", "1", odd), healthy("10.0.0.2", "2", odd), healthy("10.0.0.3", "3", odd)].map((s) => s.client);
    expect(await etcdUpgradeVerdict(cps, "10.0.0.1")).toEqual({
      allowed: false,
      reason: "etcd is not ready: member 2 is not started; member cp-3 (3) is a learner, not yet a voting member",
    });
  });

  it("refuses a member that reports errors on another control plane", async () => {
    const sick = scripted("10.0.0.3", { status: status("3", "1", ["NOSPACE"]), members: [three] });
    const verdict = await etcdUpgradeVerdict([healthy("10.0.0.1", "1").client, healthy("10.0.0.2", "2").client, sick.client], "10.0.0.1");
    expect(verdict).toEqual({ allowed: false, reason: "etcd is unhealthy: member cp-3 (3) reports errors: NOSPACE" });
  });
});

describe("forfeitLeadership", () => {
  it("logs who leads now, or that the node did not lead", async () => {
    const lines: string[] = [];
    await forfeitLeadership(scripted("10.0.0.1", { forfeit: "cp-2" }).client, (l) => lines.push(l));
    await forfeitLeadership(scripted("10.0.0.1", { forfeit: "" }).client, (l) => lines.push(l));
    expect(lines).toEqual(["10.0.0.1: etcd leadership handed to cp-2", "10.0.0.1: not the etcd leader"]);
  });

  it("a definite failure is thrown as it came, without asking the node", async () => {
    const refused = talosApiError("10.0.0.1", "EtcdForfeitLeadership", "PERMISSION_DENIED not authorized", 7);
    const s = scripted("10.0.0.1", { forfeit: refused, status: status("1", "1") });
    await expect(forfeitLeadership(s.client, () => undefined)).rejects.toBe(refused);
    expect(s.calls).toEqual(["EtcdForfeitLeadership"]);
  });

  it("an unknown outcome is judged by the node's own status: still leading fails, another leader goes on", async () => {
    const still = scripted("10.0.0.1", { forfeit: unknownOutcome("10.0.0.1", "EtcdForfeitLeadership"), status: status("1", "1") });
    await expect(forfeitLeadership(still.client, () => undefined)).rejects.toThrow(
      "node 10.0.0.1: EtcdForfeitLeadership: CANCELLED: the connection dropped after the request was sent; the node still leads etcd (member 1)",
    );
    // Sent once; the status read may retry (the node is up, the connection just dropped).
    expect(still.calls).toEqual(["EtcdForfeitLeadership", "EtcdStatus 30000"]);

    const lines: string[] = [];
    const moved = scripted("10.0.0.1", { forfeit: unknownOutcome("10.0.0.1", "EtcdForfeitLeadership"), status: status("1", "2") });
    await forfeitLeadership(moved.client, (l) => lines.push(l));
    expect(lines).toEqual(["10.0.0.1: etcd leadership forfeit outcome unknown, but member 2 leads now"]);
  });
});

describe("leaveEtcd", () => {
  const leaving = (script: Script = {}) => scripted("10.0.0.1", { forfeit: "cp-2", ...script });

  it("hands leadership off, leaves once, and is done as soon as a peer's list drops the member", async () => {
    const node = leaving();
    const peer = scripted("10.0.0.2", { members: [three, [member("2"), member("3")]] });
    const clock = virtualClock();
    await leaveEtcd(node.client, { memberId: "1", peers: [peer.client], clock });
    expect(node.calls).toEqual(["EtcdForfeitLeadership", "EtcdLeaveCluster"]);
    expect(peer.calls).toEqual(["EtcdMemberList 0", "EtcdMemberList 0"]);
    // Polls every 2 s.
    expect(clock.slept).toEqual([2000]);
  });

  it("asks the next peer when one fails, and stops at the first that answers", async () => {
    const broken = scripted("10.0.0.2", { members: [unavailable("10.0.0.2", "EtcdMemberList")] });
    const answers = scripted("10.0.0.3", { members: [[member("2"), member("3")]] });
    const spare = scripted("10.0.0.4", { members: [three] });
    await leaveEtcd(leaving().client, { memberId: "1", peers: [broken.client, answers.client, spare.client], clock: virtualClock() });
    expect([broken.calls.length, answers.calls.length, spare.calls.length]).toEqual([1, 1, 0]);
  });

  it("a member still listed at the deadline fails, naming the wait and what a peer last said", async () => {
    // A clock that does not start at 0: the wait is measured from when the leave returned.
    const clock = virtualClock(1_700_000_000_000);
    const peer = scripted("10.0.0.2", { members: [three] });
    await expect(leaveEtcd(leaving().client, { memberId: "1", peers: [peer.client], clock, confirmMs: 5000 })).rejects.toThrow(
      "node 10.0.0.1: EtcdLeaveCluster: member not gone after 5s (last: 10.0.0.2 still lists member 1)",
    );
    // The last pause is trimmed to the deadline.
    expect(clock.slept).toEqual([2000, 2000, 1000]);
  });

  it("with no other control plane to ask, the wait fails saying so", async () => {
    await expect(leaveEtcd(leaving().client, { memberId: "1", peers: [], clock: virtualClock(), confirmMs: 2000 })).rejects.toThrow(
      "node 10.0.0.1: EtcdLeaveCluster: member not gone after 2s (last: no other control plane to ask)",
    );
  });

  it("peers that never answer fail the wait with their error, after the default minute", async () => {
    const clock = virtualClock();
    const peer = scripted("10.0.0.2", { members: [unavailable("10.0.0.2", "EtcdMemberList")] });
    await expect(leaveEtcd(leaving().client, { memberId: "1", peers: [peer.client], clock })).rejects.toThrow(
      /^node 10\.0\.0\.1: EtcdLeaveCluster: member not gone after 60s \(last: 10\.0\.0\.2: .*UNAVAILABLE: connection refused\)$/,
    );
    expect(clock.now()).toBe(60_000);
  });

  it("after a leave of unknown outcome, a member that stays listed fails saying both, so no one re-sends blindly", async () => {
    const lines: string[] = [];
    const node = leaving({ leave: unknownOutcome("10.0.0.1", "EtcdLeaveCluster") });
    const peer = scripted("10.0.0.2", { members: [three] });
    const failure = leaveEtcd(node.client, {
      memberId: "1",
      peers: [peer.client],
      clock: virtualClock(),
      confirmMs: 2000,
      log: (l) => lines.push(l),
    });
    await expect(failure).rejects.toThrow(
      "node 10.0.0.1: EtcdLeaveCluster: outcome unknown (CANCELLED: the connection dropped after the request was sent), " +
        "and the node shows no sign it ran: node 10.0.0.1: EtcdLeaveCluster: member not gone after 2s (last: 10.0.0.2 still lists member 1)",
    );
    expect(node.calls.filter((c) => c === "EtcdLeaveCluster")).toHaveLength(1);
    expect(lines).toEqual([
      "10.0.0.1: etcd leadership handed to cp-2",
      "node 10.0.0.1: EtcdLeaveCluster: CANCELLED: the connection dropped after the request was sent; checking the node instead",
    ]);
  });
});

describe("sentOnce", () => {
  it("returns nothing on success, the error on an unknown outcome (logged), and throws a definite failure", async () => {
    const lines: string[] = [];
    expect(
      await sentOnce(
        async () => "ok",
        (l) => lines.push(l),
      ),
    ).toBeUndefined();
    const unknown = unknownOutcome("10.0.0.1", "Reboot");
    expect(
      await sentOnce(
        () => Promise.reject(unknown),
        (l) => lines.push(l),
      ),
    ).toBe(unknown);
    const refused = talosApiError("10.0.0.1", "Reboot", "PERMISSION_DENIED", 7);
    await expect(
      sentOnce(
        () => Promise.reject(refused),
        (l) => lines.push(l),
      ),
    ).rejects.toBe(refused);
    const plain = new Error("not a Talos API error");
    await expect(
      sentOnce(
        () => Promise.reject(plain),
        (l) => lines.push(l),
      ),
    ).rejects.toBe(plain);
    expect(lines).toEqual([
      "node 10.0.0.1: Reboot: CANCELLED: the connection dropped after the request was sent; checking the node instead",
    ]);
  });

  it("afterUnknown passes a failure through when the outcome was known, and says both otherwise", () => {
    const wait = new Error("timed out");
    expect(afterUnknown(undefined, wait)).toBe(wait);
    const said = afterUnknown(unknownOutcome("10.0.0.1", "Reset") as TalosApiError, "gone") as TalosApiError;
    expect(said.message).toBe(
      "node 10.0.0.1: Reset: outcome unknown (CANCELLED: the connection dropped after the request was sent), and the node shows no sign it ran: gone",
    );
  });
});
