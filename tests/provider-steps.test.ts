import { invoke, logicKey } from "../components/dynamic/thinRuntime";
import { watchForReboot } from "../components/talos/lifecycle/nodeGateProvider";
import type { MachineClient } from "../components/talos/machineApi/client";
import * as logic from "./fakes/recordingLogic";
import { unavailable } from "./fakes/scriptedNode";
import { virtualClock } from "./fakes/virtualClock";

/**
 * The dynamic providers' decisions that do not need the wire, on scripted answers and a virtual
 * clock. How the engine drives the providers (serialized, in another process, against the fake apid)
 * is node-gate(-rolling), os-upgrade-provider, node-removal-provider and cluster-health's.
 */

/** Boot ids answered in turn (the last repeats); an Error is thrown instead. */
function bootIds(...answers: Array<string | Error>) {
  const calls: string[] = [];
  let index = 0;
  const client = {
    node: "10.0.0.1",
    bootId: async (o?: { retryForMs?: number }) => {
      calls.push(`Read retry=${o?.retryForMs}`);
      const answer = answers[Math.min(index++, answers.length - 1)]!;
      if (answer instanceof Error) throw answer;
      return answer;
    },
  };
  return { client: client as unknown as MachineClient, calls };
}

const options = (clock = virtualClock(3_000_000)) => ({ graceMs: 5000, timeoutMs: 20_000, intervalMs: 2000, clock });

describe("NodeGate: watching for the reboot an apply set off", () => {
  it("a certain reboot with the boot from before waits for a new boot id, polling at the interval", async () => {
    const node = bootIds("b1", "b1", "b2");
    const o = options();
    await expect(watchForReboot(node.client, "b1", "yes", o)).resolves.toEqual({ previousBootId: "b1", outcome: "rebooted" });
    expect(o.clock.slept).toEqual([2000, 2000]);
    expect(node.calls).toEqual(["Read retry=0", "Read retry=0", "Read retry=0"]);
  });

  it("a certain reboot that never comes fails at the full timeout, not the grace period", async () => {
    const o = options();
    await expect(watchForReboot(bootIds("b1").client, "b1", "yes", o)).rejects.toThrow(
      "node 10.0.0.1: reboot: no new boot after 20s (last: still on boot b1)",
    );
  });

  it("a possible reboot: a new boot id within the grace period is a reboot from the boot before", async () => {
    const o = options();
    const node = bootIds("b1", "b1", "b2");
    await expect(watchForReboot(node.client, "b1", "maybe", o)).resolves.toEqual({
      previousBootId: "b1",
      outcome: "rebooted",
    });
    // One attempt per read: the watch is the retry loop.
    expect(node.calls).toEqual(["Read retry=0", "Read retry=0", "Read retry=0"]);
  });

  it("without a boot from before (a create that did not wait), the first read is the baseline, for a certain reboot too", async () => {
    for (const expectation of ["yes", "maybe"] as const) {
      const o = options();
      await expect(watchForReboot(bootIds("b7", "b7", "b8").client, undefined, expectation, o)).resolves.toEqual({
        previousBootId: "b7",
        outcome: "rebooted",
      });
      expect(o.clock.slept).toEqual([2000, 2000]);
    }
  });

  it("a node that stops answering went down: readiness then needs a new boot, or with none known just an answer", async () => {
    const down = unavailable("10.0.0.1", "Read");
    await expect(watchForReboot(bootIds("b1", down).client, "b1", "maybe", options())).resolves.toEqual({
      previousBootId: "b1",
      outcome: "went down",
    });
    await expect(watchForReboot(bootIds(down).client, undefined, "maybe", options())).resolves.toEqual({
      previousBootId: undefined,
      outcome: "went down",
    });
  });

  it("no reboot within the grace period: judged on the boot it is on, the last pause cut to the grace period", async () => {
    const o = { ...options(), graceMs: 5000, intervalMs: 2000 };
    await expect(watchForReboot(bootIds("b1").client, "b1", "maybe", o)).resolves.toEqual({ outcome: "no reboot seen" });
    expect(o.clock.slept).toEqual([2000, 2000, 1000]);
  });

  it("an error that is not the node going down fails the gate", async () => {
    const denied = new Error("PermissionDenied: not allowed");
    await expect(watchForReboot(bootIds("b1", denied).client, "b1", "maybe", options())).rejects.toThrow("PermissionDenied: not allowed");
  });
});

describe("thin provider entries: the logic loaded at call time, its version an input it never sees", () => {
  const spec = "tests/fakes/recordingLogic#recording";
  const v1 = { [logicKey]: "v1" };
  const v2 = { [logicKey]: "v2" };
  beforeEach(() => {
    logic.calls.length = 0;
    logic.control.changed = true;
  });

  it("create, read and delete hand the logic its props without the version, which create and read put back", async () => {
    await expect(invoke(spec, "create", [{ a: 1, ...v1 }])).resolves.toEqual({ id: "r-1", outs: { a: 1, created: true, ...v1 } });
    await expect(invoke(spec, "read", ["r-1", { a: 1, ...v1 }])).resolves.toEqual({
      id: "r-1",
      props: { a: 1, read: true, ...v1 },
      inputs: { a: 1, ...v1 },
    });
    await invoke(spec, "delete", ["r-1", { a: 1, ...v1 }]);
    expect(logic.calls).toEqual([
      { method: "create", args: [{ a: 1 }] },
      { method: "read", args: ["r-1", { a: 1 }] },
      { method: "delete", args: ["r-1", { a: 1 }] },
    ]);
    // A read without inputs gets none added; a logic without read keeps the props as stored.
    await expect(invoke("tests/fakes/recordingLogic#readOnly", "read", ["o-1", { b: 2, ...v1 }])).resolves.toEqual({
      id: "o-1",
      props: { b: 2, ...v1 },
    });
    await expect(invoke("tests/fakes/recordingLogic#minimal", "read", ["m-1", { c: 3, ...v1 }])).resolves.toEqual({
      id: "m-1",
      props: { c: 3, ...v1 },
    });
  });

  it("diff: a new version alone is an in-place change, the logic's verdict otherwise (never turned into a replacement)", async () => {
    logic.control.changed = false;
    await expect(invoke(spec, "diff", ["r-1", { a: 1, ...v1 }, { a: 1, ...v2 }])).resolves.toEqual({ changes: true, replaces: [] });
    await expect(invoke(spec, "diff", ["r-1", { a: 1, ...v1 }, { a: 1, ...v1 }])).resolves.toEqual({ changes: false, replaces: [] });
    logic.control.changed = true;
    await expect(invoke(spec, "diff", ["r-1", { a: 1, ...v1 }, { a: 2, ...v1 }])).resolves.toEqual({ changes: true, replaces: [] });
    expect(logic.calls.map((c) => c.args.slice(1))).toEqual([
      [{ a: 1 }, { a: 1 }],
      [{ a: 1 }, { a: 1 }],
      [{ a: 1 }, { a: 2 }],
    ]);
    // A logic without diff: only the version decides.
    await expect(invoke("tests/fakes/recordingLogic#minimal", "diff", ["m-1", { ...v1 }, { ...v2 }])).resolves.toEqual({ changes: true });
    await expect(invoke("tests/fakes/recordingLogic#minimal", "diff", ["m-1", { ...v1 }, { ...v1 }])).resolves.toEqual({});
  });

  it("update: only the version moved, so the old outputs are kept with the new version and the logic's update never runs", async () => {
    logic.control.changed = false;
    await expect(invoke(spec, "update", ["r-1", { a: 1, observed: "x", ...v1 }, { a: 1, ...v2 }])).resolves.toEqual({
      outs: { a: 1, observed: "x", ...v2 },
    });
    expect(logic.calls.map((c) => c.method)).toEqual(["diff"]);
    logic.control.changed = true;
    await expect(invoke(spec, "update", ["r-1", { a: 1, ...v1 }, { a: 2, ...v2 }])).resolves.toEqual({
      outs: { a: 2, updated: true, ...v2 },
    });
    expect(logic.calls.at(-1)).toEqual({ method: "update", args: ["r-1", { a: 1 }, { a: 2 }] });
    await expect(invoke("tests/fakes/recordingLogic#minimal", "update", ["m-1", { ...v1 }, { ...v2 }])).resolves.toEqual({});
    await expect(invoke("tests/fakes/recordingLogic#silentUpdate", "update", ["s-1", { ...v1 }, { a: 1, ...v2 }])).resolves.toEqual({
      outs: { ...v2 },
    });
    // A logic without delete: nothing to do.
    expect(invoke("tests/fakes/recordingLogic#minimal", "delete", ["m-1", { ...v1 }])).toBeUndefined();
  });

  it("outputsOf: the logic's offline outputs with the version, undefined when the logic cannot know; an unknown export is named", () => {
    expect(invoke(spec, "outputsOf", [{ a: 1, ...v1 }])).toEqual({ a: 1, recorded: true, ...v1 });
    expect(invoke("tests/fakes/recordingLogic#minimal", "outputsOf", [{ a: 1, ...v1 }])).toBeUndefined();
    expect(() => invoke("tests/fakes/recordingLogic#nothing", "create", [{}])).toThrow(
      "dynamic provider: tests/fakes/recordingLogic has no export nothing",
    );
    expect(() => invoke("tests/fakes/recordingLogic", "create", [{}])).toThrow(
      /^dynamic provider: tests\/fakes\/recordingLogic has no export $/,
    );
  });
});
