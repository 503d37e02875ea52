import { removeNode, type RemovalRequest } from "../components/talos/lifecycle/nodeRemoval";
import { upgradeNode, type OsUpgradeRequest } from "../components/talos/lifecycle/osUpgrade";
import type { EtcdMemberInfo } from "../components/talos/machineApi/replies";
import { scriptedNode, unavailable, unknownOutcome, type ScriptedNodeOptions } from "./fakes/scriptedNode";
import { virtualClock } from "./fakes/virtualClock";

/**
 * The OS-upgrade flow's decisions on a scripted node (tests/fakes/scriptedNode.ts): the exact calls,
 * their order and deadlines, what is logged and what each failure says, in microseconds. The wire
 * (gRPC deadlines, dropped streams, the fake apid's own upgrade) is os-upgrade(-safety)'s.
 */

const member = (id: string): EtcdMemberInfo => ({ id, hostname: `cp-${id}`, isLearner: false, peerUrls: [] });
const three = [member("1"), member("2"), member("3")];

function upgrade(options: Partial<ScriptedNodeOptions> & { version: string }, request: Partial<OsUpgradeRequest> = {}) {
  const sim = scriptedNode({ members: three, ...options });
  // A control plane's peers answer the etcd pre-flight as healthy members 2 and 3.
  const peers = [2, 3].map((n) =>
    scriptedNode({
      node: `10.0.0.${n}`,
      role: "controlplane",
      version: options.version,
      members: options.members ?? three,
      memberId: `${n}`,
    }),
  );
  const lines: string[] = [];
  const events: string[] = [];
  const clock = virtualClock(7_000_000);
  const target = request.targetVersion ?? "v1.13.9";
  const run = upgradeNode(
    {
      talos: sim.talos,
      kube: sim.kube,
      controlPlanes: [sim.talos, ...peers.map((p) => p.talos)],
      clock,
      log: (l) => lines.push(l),
      onEvent: (e, n) => events.push(`${e} ${n}`),
    },
    {
      node: "10.0.0.1",
      nodeName: "n1",
      role: options.role ?? "worker",
      image: `factory.talos.dev/installer/abc:${target}`,
      targetVersion: target,
      timeoutMs: 30_000,
      drainTimeoutMs: 10_000,
      ...request,
    },
  );
  return { sim, lines, events, clock, run };
}

describe("upgradeNode on a scripted node", () => {
  it("does nothing to a node on the target version, unless its installer changed", async () => {
    const same = upgrade({ version: "v1.13.9" });
    await expect(same.run).resolves.toEqual({ previousVersion: "v1.13.9", observedVersion: "v1.13.9", upgraded: false });
    expect(same.sim.calls).toEqual(["Version"]);

    const reinstall = upgrade({ version: "v1.13.9", boots: "same" }, { reinstall: true });
    await expect(reinstall.run).resolves.toEqual({
      previousVersion: "v1.13.9",
      observedVersion: "v1.13.9",
      upgraded: true,
      path: "lifecycle",
    });
    expect(reinstall.sim.state().boot).toBe(2);
  });

  it("v1.13+: drains, installs with a deadline that outlasts the pull, reboots once, waits for the new boot, uncordons", async () => {
    const { sim, lines, events, clock, run } = upgrade({ version: "v1.13.0", downPolls: 2 }, { intervalMs: 1500 });
    await expect(run).resolves.toEqual({ previousVersion: "v1.13.0", observedVersion: "v1.13.9", upgraded: true, path: "lifecycle" });
    expect(sim.changes()).toEqual([
      "cordon n1",
      "LifecycleService/Upgrade factory.talos.dev/installer/abc:v1.13.9 deadline=60000",
      "Reboot DEFAULT",
      "uncordon n1",
    ]);
    expect(sim.calls.slice(0, 5)).toEqual(["Version", "Version retry=0", "ServiceList retry=0", "Read", "getNode n1"]);
    expect(lines).toEqual(["10.0.0.1: draining n1", "10.0.0.1: installing factory.talos.dev/installer/abc:v1.13.9"]);
    expect(events).toEqual(["going-down 10.0.0.1", "ready 10.0.0.1"]);
    // Two polls find it down, the request's interval between them; the version read after the reboot may retry
    // for what is left of the timeout (30 s less the 3 s slept).
    expect(clock.slept).toEqual([1500, 1500]);
    expect(sim.calls).toContain("Version retry=27000");
    expect(sim.state()).toMatchObject({ tag: "v1.13.9", unschedulable: false });
  });

  it("the install deadline is the upgrade timeout when that is longer than a minute", async () => {
    const { sim, run } = upgrade({ version: "v1.13.0" }, { timeoutMs: 600_000 });
    await run;
    expect(sim.changes()).toContain("LifecycleService/Upgrade factory.talos.dev/installer/abc:v1.13.9 deadline=600000");
  });

  it("before v1.13: MachineService/Upgrade (Talos drains and reboots), after a control plane hands over etcd leadership", async () => {
    const { sim, lines, events, run } = upgrade({ version: "v1.12.11", role: "controlplane" }, { targetVersion: "v1.13.9" });
    await expect(run).resolves.toMatchObject({ previousVersion: "v1.12.11", upgraded: true, path: "machine" });
    expect(sim.changes()).toEqual([
      "EtcdForfeitLeadership",
      "MachineService/Upgrade factory.talos.dev/installer/abc:v1.13.9 deadline=60000",
      "uncordon n1",
    ]);
    expect(lines).toEqual([
      "10.0.0.1: etcd leadership handed to 2",
      "10.0.0.1: upgrading to factory.talos.dev/installer/abc:v1.13.9 (MachineService/Upgrade: Talos drains and reboots)",
    ]);
    expect(events).toEqual(["going-down 10.0.0.1", "ready 10.0.0.1"]);

    const worker = upgrade({ version: "v1.12.0" }, { targetVersion: "v1.12.11", timeoutMs: 90_000 });
    await worker.run;
    expect(worker.sim.changes()).toEqual(["MachineService/Upgrade factory.talos.dev/installer/abc:v1.12.11 deadline=90000", "uncordon n1"]);
  });

  it("a control plane on v1.13+ hands over etcd leadership after the install, before the reboot", async () => {
    const { sim, run } = upgrade({ version: "v1.13.0", role: "controlplane" });
    await run;
    expect(sim.changes()).toEqual([
      "cordon n1",
      "LifecycleService/Upgrade factory.talos.dev/installer/abc:v1.13.9 deadline=60000",
      "EtcdForfeitLeadership",
      "Reboot DEFAULT",
      "uncordon n1",
    ]);
  });

  it("a node on Talos 2.x takes the lifecycle path", async () => {
    const { sim, run } = upgrade({ version: "v2.0.0" }, { targetVersion: "v2.0.1" });
    await expect(run).resolves.toMatchObject({ path: "lifecycle" });
    expect(sim.changes()[1]).toMatch(/^LifecycleService\/Upgrade/);
  });

  it("refuses, before touching the node, a step the upgrade rules forbid, a mistagged installer, an unhealthy node and a refused etcd", async () => {
    const skip = upgrade({ version: "v1.11.0" });
    await expect(skip.run).rejects.toThrow("node 10.0.0.1: upgrade: refused: v1.11.0 → v1.13.9 skips v1.12: upgrade one minor at a time");
    const tagged = upgrade({ version: "v1.13.0" }, { image: "factory.talos.dev/installer/abc:v1.13.8" });
    await expect(tagged.run).rejects.toThrow(
      "node 10.0.0.1: upgrade: refused: installer factory.talos.dev/installer/abc:v1.13.8 is not tagged v1.13.9",
    );
    const sick = upgrade({ version: "v1.13.0", fail: { ServiceList: [unavailable("10.0.0.1", "ServiceList")] } });
    await expect(sick.run).rejects.toThrow(
      /^node 10\.0\.0\.1: upgrade: refused: the node is not healthy on v1\.13\.0 before the upgrade: .*ServiceList.*UNAVAILABLE/,
    );
    const alone = upgrade({ version: "v1.13.0", role: "controlplane", members: [member("1"), member("2")] });
    await expect(alone.run).rejects.toThrow("node 10.0.0.1: upgrade: refused: etcd has 2 members: with one down the other is not a quorum");
    for (const refused of [skip, tagged, sick, alone]) expect(refused.sim.changes()).toEqual([]);
  });

  it("a failed install or a refused reboot gives the node back to the scheduler", async () => {
    const install = upgrade({
      version: "v1.13.0",
      fail: { "LifecycleService/Upgrade factory.talos.dev/installer/abc:v1.13.9": [new Error("pull failed")] },
    });
    await expect(install.run).rejects.toThrow("pull failed; n1 uncordoned again (nothing was taken down)");
    expect(install.sim.changes()).toEqual([
      "cordon n1",
      "LifecycleService/Upgrade factory.talos.dev/installer/abc:v1.13.9 deadline=60000",
      "uncordon n1",
    ]);
    expect(install.events).toEqual([]);

    const reboot = upgrade({ version: "v1.13.0", fail: { "Reboot DEFAULT": [new Error("PermissionDenied")] } });
    await expect(reboot.run).rejects.toThrow("PermissionDenied; n1 uncordoned again (nothing was taken down)");
    expect(reboot.sim.changes().at(-1)).toBe("uncordon n1");
  });

  it("a node that boots the version it ran fails at once, left cordoned", async () => {
    const { sim, run } = upgrade({ version: "v1.13.0", boots: "same" });
    await expect(run).rejects.toThrow(
      "node 10.0.0.1: upgrade: the node came back on v1.13.0 after the reboot, not v1.13.9: the new version did not boot; n1 is left cordoned: it went down for the upgrade and did not come back healthy; uncordon it once it is back (kubectl uncordon n1)",
    );
    expect(sim.state().unschedulable).toBe(true);
  });

  it("a reboot that never comes fails at the timeout, measured from the request, left cordoned", async () => {
    const { sim, clock, run } = upgrade({ version: "v1.13.0", boots: "never" }, { intervalMs: 4000, timeoutMs: 10_000 });
    await expect(run).rejects.toThrow(
      "node 10.0.0.1: reboot: no new boot after 10s (last: still on boot boot-1); n1 is left cordoned: it went down for the upgrade and did not come back healthy",
    );
    expect(clock.slept).toEqual([4000, 4000, 2000]);
    expect(sim.state().unschedulable).toBe(true);
  });

  it("a reboot of unknown outcome is judged by the boot id: it went down, so the upgrade goes on; it did not, so both are said", async () => {
    // The request arrived and the reply was lost: the node reboots all the same.
    const went = upgrade({ version: "v1.13.0", fail: { "Reboot DEFAULT": [unknownOutcome("10.0.0.1", "Reboot")] } });
    const lost = upgrade(
      { version: "v1.13.0", boots: "never", fail: { "Reboot DEFAULT": [unknownOutcome("10.0.0.1", "Reboot")] } },
      { timeoutMs: 2000 },
    );
    await expect(went.run).resolves.toMatchObject({ upgraded: true });
    await expect(lost.run).rejects.toThrow(
      "node 10.0.0.1: Reboot: outcome unknown (CANCELLED: the connection dropped after the request was sent), and the node shows no sign it ran: node 10.0.0.1: reboot: no new boot after 2s",
    );
    expect(lost.lines).toContain(
      "node 10.0.0.1: Reboot: CANCELLED: the connection dropped after the request was sent; checking the node instead",
    );
    expect(lost.sim.changes().filter((c) => c.startsWith("Reboot"))).toHaveLength(1);
  });

  it("a control plane without its peers' clients asks itself alone, and etcd's other members count as silent", async () => {
    const sim = scriptedNode({ role: "controlplane", version: "v1.13.0", members: three });
    const run = upgradeNode(
      { talos: sim.talos, kube: sim.kube, clock: virtualClock() },
      {
        node: "10.0.0.1",
        nodeName: "n1",
        role: "controlplane",
        image: "i:v1.13.9",
        targetVersion: "v1.13.9",
        timeoutMs: 30_000,
        drainTimeoutMs: 1000,
      },
    );
    await expect(run).rejects.toThrow(
      "node 10.0.0.1: upgrade: refused: etcd is unhealthy: member cp-2 (2) did not answer; member cp-3 (3) did not answer",
    );
    expect(sim.calls).toContain("EtcdMemberList retry=0");
  });

  it("a node that boots the target but never gets healthy fails at the timeout, left cordoned", async () => {
    const { sim, clock, run } = upgrade({ version: "v1.13.0", unhealthyAfterBoot: "kubelet" }, { intervalMs: 4000, timeoutMs: 20_000 });
    await expect(run).rejects.toThrow(
      /^node 10\.0\.0\.1: readiness: not ready after 1[0-9]s: service kubelet is Running but not healthy \(probe failed\); n1 is left cordoned/,
    );
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBe(20_000);
    expect(sim.state().unschedulable).toBe(true);
  });

  it("waits for the Node to be Ready on the kubelet it ran before uncordoning; a node not in Kubernetes has no such wait", async () => {
    const inKube = upgrade({ version: "v1.13.0", kubelet: "v1.34.2", notReadyReads: 2 }, { intervalMs: 3000 });
    await inKube.run;
    expect(inKube.sim.calls.filter((c) => c === "getNode n1")).toHaveLength(4);
    expect(inKube.sim.changes().at(-1)).toBe("uncordon n1");
    // One pause for the reboot, two while the Node reads NotReady.
    expect(inKube.clock.slept).toEqual([3000, 3000, 3000]);
    const outside = upgrade({ version: "v1.12.0", kubelet: undefined }, { targetVersion: "v1.12.11" });
    await outside.run;
    expect(outside.sim.calls.filter((c) => c === "getNode n1")).toHaveLength(1);
  });
});

describe("removeNode on a scripted node", () => {
  let cluster = 0;
  function remove(
    options: Partial<ScriptedNodeOptions>,
    request: Partial<RemovalRequest> = {},
    peerFail: Record<string, ScriptedNodeOptions["fail"]> = {},
  ) {
    const server = `https://127.0.0.1:${6443 + ++cluster}`;
    const members = options.members ?? [member("1"), member("2"), member("3")];
    const role = options.role ?? "worker";
    const sim = scriptedNode({ version: "v1.13.9", members, server, ...options });
    // The other control planes: those with a member in the list (a 2-member etcd has one peer).
    const peers = ["2", "3"]
      .filter((id) => members.some((m) => m.id === id))
      .map((id) =>
        scriptedNode({ node: `10.0.0.${id}`, role: "controlplane", version: "v1.13.9", members, memberId: id, fail: peerFail[id] }),
      );
    const lines: string[] = [];
    const clock = virtualClock(9_000_000);
    const run = removeNode(
      {
        kube: sim.kube,
        talos: sim.talos,
        // The leaving node last: its own status must be found by its address, not taken from the first answer.
        controlPlanes: role === "controlplane" ? [...peers.map((p) => p.talos), sim.talos] : [],
        clock,
        log: (l) => lines.push(l),
      },
      { nodeName: options.nodeName ?? "n1", node: "10.0.0.1", role, drain: { timeoutMs: 10_000 }, resetTimeoutMs: 5000, ...request },
    );
    return { sim, peers, members, lines, clock, run };
  }

  it("a worker: drain, a graceful reset sent once, the node leaves its boot, then its Node is deleted", async () => {
    const { sim, lines, run } = remove({});
    await expect(run).resolves.toEqual({ steps: ["drain", "reset", "delete-node"], skipped: [] });
    expect(sim.changes()).toEqual(["cordon n1", 'Reset {"graceful":true,"reboot":true}', "deleteNode n1"]);
    expect(sim.calls.filter((c) => c.startsWith("Read"))).toEqual(["Read retry=0", "Read retry=0"]);
    expect(lines).toEqual(["remove worker n1: draining", "remove worker n1: resetting"]);
  });

  it("a control plane: etcd checked, drained, leadership handed over, the member leaves, reset, Node deleted", async () => {
    // Its member not first in the list: found by its own member id, not by position.
    const { sim, members, lines, run } = remove({ role: "controlplane", members: [member("2"), member("1"), member("3")] });
    await expect(run).resolves.toEqual({ steps: ["drain", "etcd-leave", "reset", "delete-node"], skipped: [] });
    expect(sim.changes()).toEqual([
      "cordon n1",
      "EtcdForfeitLeadership",
      "EtcdLeaveCluster",
      'Reset {"graceful":true,"reboot":true}',
      "deleteNode n1",
    ]);
    expect(members.map((m) => m.id)).toEqual(["2", "3"]);
    // Whether it left is read from a peer: the leaving node is not asked again after its leave.
    const leftAt = sim.calls.indexOf("EtcdLeaveCluster");
    expect(sim.calls.slice(leftAt).filter((c) => c.startsWith("EtcdMemberList"))).toEqual([]);
    expect(lines).toEqual([
      "remove control plane n1: draining",
      "remove control plane n1: leaving etcd",
      "10.0.0.1: etcd leadership handed to 2",
      "remove control plane n1: resetting",
    ]);
  });

  it("picks up an interrupted removal: a member gone, a Node gone, a node that no longer answers", async () => {
    const left = remove({ role: "controlplane", members: [member("2"), member("3")], memberId: "1" });
    await expect(left.run).resolves.toEqual({
      steps: ["drain", "reset", "delete-node"],
      skipped: ["etcd: n1 is not an etcd member any more"],
    });
    expect(left.sim.changes()).not.toContain("EtcdLeaveCluster");

    const noNode = remove({ kubelet: undefined });
    await expect(noNode.run).resolves.toEqual({ steps: ["reset"], skipped: ["drain: no Node n1"] });
    expect(noNode.sim.changes()).toEqual(['Reset {"graceful":true,"reboot":true}']);

    const wiped = remove({ kubelet: undefined, fail: { Read: [unavailable("10.0.0.1", "Read")] } });
    await expect(wiped.run).resolves.toEqual({
      steps: [],
      skipped: ["drain: no Node n1", "reset: node does not answer (UNAVAILABLE: connection refused)"],
    });
    expect(wiped.sim.changes()).toEqual([]);
  });

  it("refuses a control plane when etcd cannot lose it, and lets the next removal claim the run", async () => {
    const two = remove({ role: "controlplane", members: [member("1"), member("2")] });
    await expect(two.run).rejects.toThrow(
      "remove control plane n1: refused: etcd would go from 2 to 1 member(s), below a majority (2) of 2: one more fault would lose quorum (allow it explicitly to proceed)",
    );
    expect(two.sim.changes()).toEqual([]);
    const allowed = remove({ role: "controlplane", members: [member("1"), member("2")] }, { allowBelowMajority: true });
    await expect(allowed.run).resolves.toMatchObject({ steps: ["drain", "etcd-leave", "reset", "delete-node"] });
    const learner = remove({ role: "controlplane", members: [member("1"), member("2"), { ...member("3"), isLearner: true }] });
    await expect(learner.run).rejects.toThrow(/^remove control plane n1: refused: etcd is not ready: .*cp-3/);
    const noList = [unavailable("-", "EtcdMemberList")];
    const silent = remove(
      { role: "controlplane", fail: { EtcdMemberList: noList } },
      {},
      { 2: { EtcdMemberList: noList }, 3: { EtcdMemberList: noList } },
    );
    await expect(silent.run).rejects.toThrow(
      "remove control plane n1: refused: no control plane answered the etcd member list (10.0.0.2: UNAVAILABLE: connection refused; 10.0.0.3: UNAVAILABLE: connection refused; 10.0.0.1: UNAVAILABLE: connection refused)",
    );
    const learners = remove({
      role: "controlplane",
      members: [member("1"), { ...member("2"), isLearner: true }, { ...member("3"), hostname: "" }],
    });
    await expect(learners.run).rejects.toThrow(
      "remove control plane n1: refused: etcd is not ready: member cp-2 (2) is a learner, not yet a voting member; member 3 is not started",
    );
    // The leaving node's own status unanswered: its member is found by its hostname, and it did not answer.
    const mute = remove({
      role: "controlplane",
      members: [member("2"), { ...member("1"), hostname: "n1" }, member("3")],
      fail: { EtcdStatus: [unavailable("10.0.0.1", "EtcdStatus")] },
    });
    await expect(mute.run).rejects.toThrow(
      /^remove control plane n1: refused: etcd is unhealthy: member n1 \(1\) did not answer; 10\.0\.0\.1: UNAVAILABLE: connection refused$/,
    );
    // Not a member any more, its etcd not answering: found by no name, so its own failure is no reason to refuse.
    const gone = remove({
      role: "controlplane",
      members: [member("2"), member("3")],
      fail: { EtcdStatus: [unavailable("10.0.0.1", "EtcdStatus")] },
    });
    await expect(gone.run).resolves.toEqual({
      steps: ["drain", "reset", "delete-node"],
      skipped: ["etcd: n1 is not an etcd member any more"],
    });
    // Each refusal released its claim: another control plane of the same cluster may leave in this run.
    const server = "https://127.0.0.1:7443";
    await expect(remove({ role: "controlplane", server, members: [member("1"), member("2")] }).run).rejects.toThrow("refused");
    await expect(remove({ role: "controlplane", server, nodeName: "n9" }).run).resolves.toMatchObject({
      steps: ["drain", "etcd-leave", "reset", "delete-node"],
    });
  });

  it("a refused reset or leave gives the node back to the scheduler; a reset that may have arrived leaves it cordoned", async () => {
    const refused = remove({ fail: { 'Reset {"graceful":true,"reboot":true}': [new Error("PermissionDenied")] } });
    await expect(refused.run).rejects.toThrow("PermissionDenied; n1 uncordoned again (nothing was taken down)");
    expect(refused.sim.state().unschedulable).toBe(false);

    // Not drained (no Node): nothing to uncordon.
    const bare = remove({ kubelet: undefined, fail: { 'Reset {"graceful":true,"reboot":true}': [new Error("PermissionDenied")] } });
    await expect(bare.run).rejects.toThrow(/^PermissionDenied$/);
    expect(bare.sim.changes()).toEqual(['Reset {"graceful":true,"reboot":true}']);
    // A Node, and the node does not answer before the reset: it is up as far as anyone knows, so uncordoned.
    const silent = remove({ fail: { Read: [unavailable("10.0.0.1", "Read")] } });
    await expect(silent.run).rejects.toThrow(
      "node 10.0.0.1: Read: UNAVAILABLE: connection refused; n1 uncordoned again (nothing was taken down)",
    );

    // Peers that stop answering after the pre-flight: the leave is unconfirmed, even though the
    // leaving node's own (stale) list would say it left; it stays in the cluster, uncordoned.
    const down = Array.from({ length: 100 }, () => unavailable("-", "EtcdMemberList"));
    const unconfirmed = remove({ role: "controlplane" }, {}, { 2: { EtcdMemberList: [undefined, ...down] }, 3: { EtcdMemberList: down } });
    await expect(unconfirmed.run).rejects.toThrow(
      "node 10.0.0.1: EtcdLeaveCluster: member not gone after 60s (last: 10.0.0.3: UNAVAILABLE: connection refused); n1 uncordoned again",
    );
    expect(unconfirmed.sim.calls.filter((c) => c.startsWith("EtcdMemberList"))).toEqual([]);

    const leave = remove({ role: "controlplane", fail: { EtcdLeaveCluster: [new Error("etcd refused")] } });
    await expect(leave.run).rejects.toThrow("etcd refused; n1 uncordoned again (nothing was taken down)");
    expect(leave.sim.changes()).not.toContainEqual(expect.stringMatching(/^Reset/));

    const lost = remove(
      { boots: "never", fail: { 'Reset {"graceful":true,"reboot":true}': [unknownOutcome("10.0.0.1", "Reset")] } },
      { resetTimeoutMs: 2500 },
    );
    await expect(lost.run).rejects.toThrow(
      "node 10.0.0.1: Reset: outcome unknown (CANCELLED: the connection dropped after the request was sent), and the node shows no sign it ran: node 10.0.0.1: reset: still on boot boot-1 after 3s; n1 is left cordoned: its reset was requested and may be under way",
    );
    expect(lost.clock.slept).toEqual([1000, 1000, 500]);
    expect(lost.sim.changes()).toEqual(["cordon n1", 'Reset {"graceful":true,"reboot":true}']);
  });

  it("a reset that stays on its boot without a Node fails without a cordon note; an error that is not the node going away fails the removal", async () => {
    const stuck = remove({ kubelet: undefined, boots: "never" }, { resetTimeoutMs: 1000 });
    await expect(stuck.run).rejects.toThrow(/^node 10\.0\.0\.1: reset: still on boot boot-1 after 1s$/);
    const denied = remove({ downPolls: 0, fail: { Read: [undefined, new Error("PermissionDenied: not allowed")] } });
    await expect(denied.run).rejects.toThrow(/^PermissionDenied: not allowed; n1 is left cordoned/);
  });
});
