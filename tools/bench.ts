import { performance } from "perf_hooks";
import { formatStateSize, perAddedNode, stateSize, type StateSize } from "./stateSize";
import { baselineOfRecording } from "../plan/model/baseline";
import { applyType, nodeGateType, simulateBringUp, withoutRollingChain } from "../plan/model/bringUp";
import { diffRun } from "../plan/model/diff";
import type { RecordedResource } from "../plan/record/harness";
import { record } from "../plan/record/harness";

/**
 * `npm run bench`: cost of the in-process plan for the real stack and for generated stacks of
 * 3, 30 and 300 nodes (measured side by side in this run), the simulated bring-up
 * critical/sequential ratio for 3, 5 and 9 nodes (with the rolling chain, and without it), and the
 * critical path of a rolling config change at several worker batch sizes, and the cost of
 * `plan --diff` on those stacks (a no-op, and one sysctl changed).
 */

type Raw = { nodes: unknown[]; network: Record<string, unknown> } & Record<string, unknown>;

/**
 * A rolling change's duration per node: apply RPC (10 s) + reboot (~120 s) + the gate's readiness
 * wait (~50 s). Only the applies and gates take part in a config change; everything else is unchanged.
 */
const rollingStepSeconds = { apply: 10, gate: 170 };
const rollingDuration = (r: RecordedResource) =>
  r.type === applyType ? rollingStepSeconds.apply : r.type === nodeGateType ? rollingStepSeconds.gate : 0;

/** The infra stack grown to `count` nodes (3 control planes, the rest workers) on a /16 node network. */
function scaled(count: number, controlPlanes = 3, maxUnavailableWorkers?: number) {
  return (raw: unknown): unknown => {
    const base = JSON.parse(JSON.stringify(raw)) as Raw;
    const template = base.nodes[0] as Record<string, unknown>;
    base.network = { ...base.network, nodeSubnet: "10.25.0.0/16" };
    base.nodes = Array.from({ length: count }, (_, i) => ({
      ...template,
      name: `node-${String(i + 1).padStart(3, "0")}`,
      ip: `10.25.${20 + Math.floor(i / 200)}.${(i % 200) + 10}`,
      role: i < controlPlanes ? "controlplane" : "worker",
    }));
    if (maxUnavailableWorkers !== undefined) base.talos = { ...(base.talos as object), rollout: { maxUnavailableWorkers } };
    return base;
  };
}

/** The stack with one sysctl changed: every node's apply changes. */
function withSysctl(raw: unknown): unknown {
  const base = JSON.parse(JSON.stringify(raw)) as Raw & { talos: { sysctls?: Record<string, string> } };
  base.talos.sysctls = { ...base.talos.sysctls, "net.core.rmem_max": "134217728" };
  return base;
}

async function timePlan(cluster?: (raw: unknown) => unknown, runs = 3): Promise<{ ms: number; resources: number }> {
  let best = Infinity;
  let resources = 0;
  for (let i = 0; i < runs; i++) {
    const started = performance.now();
    const r = await record({ stack: "infra", cluster });
    if (r.error) throw r.error;
    best = Math.min(best, performance.now() - started);
    resources = r.resources.length;
  }
  return { ms: best, resources };
}

async function main(): Promise<void> {
  await timePlan(undefined, 1); // warm-up: module loading is not the plan's cost
  const real = await timePlan();
  console.log(`real stack (infra): ${real.ms.toFixed(1)} ms, ${real.resources} resources`);
  const sizes = [3, 30, 300];
  const results = new Map<number, number>();
  for (const n of sizes) {
    const t = await timePlan(scaled(n));
    results.set(n, t.ms);
    console.log(`${String(n).padStart(3)} nodes: ${t.ms.toFixed(1)} ms, ${t.resources} resources, ${(t.ms / n).toFixed(2)} ms/node`);
  }
  const perNode3 = (results.get(3) ?? 0) / 3;
  const perNode300 = (results.get(300) ?? 0) / 300;
  console.log(
    `ratio 300-node/3-node: ${((results.get(300) ?? 0) / (results.get(3) ?? 1)).toFixed(1)}x for 100x the nodes; per-node cost ratio ${(perNode300 / perNode3).toFixed(2)} (≤ 1 is linear or better)`,
  );
  // The fixed part (the rest of the graph) hides the slope; the marginal cost per added node shows it.
  const t = (n: number) => results.get(n) ?? 0;
  const early = (t(30) - t(3)) / 27;
  const late = (t(300) - t(30)) / 270;
  console.log(
    `marginal cost per added node: ${early.toFixed(2)} ms (3→30), ${late.toFixed(2)} ms (30→300), ratio ${(late / early).toFixed(2)} (≈1 is linear, >1 worse)`,
  );

  // --diff: the base state is recorded once (outside the timing); the diff runs the program, models
  // the steps and runs it again as a preview, plus re-runs while it creates or replaces resources.
  const diffTimes = new Map<string, number>();
  const states = new Map<number, StateSize>();
  for (const n of sizes) {
    const recorded = await record({ stack: "infra", cluster: scaled(n) });
    // State bytes per node as the engine would store them (target ≤ 20 KB, issue #24).
    states.set(n, stateSize(recorded, n));
    console.log(formatStateSize(states.get(n)!));
    const base = baselineOfRecording(recorded, "bench");
    for (const [label, change] of [
      ["no-op", (raw: unknown) => raw],
      ["one sysctl", (raw: unknown) => withSysctl(raw)],
    ] as const) {
      const cluster = (raw: unknown) => change(scaled(n)(raw));
      let best = Infinity;
      let steps = 0;
      for (let i = 0; i < 2; i++) {
        const started = performance.now();
        const { report } = await diffRun("infra", base, (o) => record({ stack: "infra", cluster, ...o }));
        best = Math.min(best, performance.now() - started);
        steps = report.steps.filter((s) => s.op !== "same").length;
      }
      diffTimes.set(`${label} ${n}`, best);
      console.log(`--diff ${label}, ${String(n).padStart(3)} nodes: ${best.toFixed(1)} ms, ${steps} changing steps`);
    }
  }
  const added = perAddedNode(states.get(30)!, states.get(300)!);
  console.log(
    `state per added node (30 → 300 nodes): dynamic resources ${(added.dynamicBytes / 1024).toFixed(1)} KB (target ≤ 20 KB), ` +
      `every resource ${(added.totalBytes / 1024).toFixed(1)} KB; cluster-wide part ${(added.fixedBytes / 1024).toFixed(1)} KB ` +
      `(credentials and the machine configuration are placeholders offline: tools/stateSize.ts)`,
  );
  for (const label of ["no-op", "one sysctl"]) {
    const ratio = (diffTimes.get(`${label} 300`) ?? 0) / (diffTimes.get(`${label} 3`) ?? 1);
    console.log(
      `--diff ${label}: ratio 300-node/3-node ${ratio.toFixed(1)}x for 100x the nodes; per-node cost ratio ${(ratio / 100).toFixed(2)} (target ≤ 3)`,
    );
  }

  for (const n of [3, 5, 9]) {
    const r = await record({ stack: "infra", cluster: scaled(n, n) });
    if (r.error) throw r.error;
    const b = simulateBringUp(r.resources);
    const parallel = simulateBringUp(withoutRollingChain(r.resources));
    console.log(
      `bring-up, ${n} control planes: critical ${b.criticalPathSeconds}s vs sequential ${b.sequentialSeconds}s, ratio ${(b.criticalPathSeconds / b.sequentialSeconds).toFixed(2)}; ` +
        `without the rolling chain ${parallel.criticalPathSeconds}s (gates cost x${(b.criticalPathSeconds / parallel.criticalPathSeconds).toFixed(3)})`,
    );
  }

  // A config change of every node (3 control planes + 30 workers), each node taking apply + reboot + gate wait.
  for (const max of [1, 5, 10]) {
    const r = await record({ stack: "infra", cluster: scaled(33, 3, max) });
    if (r.error) throw r.error;
    const install = 0;
    const rolling = simulateBringUp(r.resources, rollingDuration, install).criticalPathSeconds;
    const allAtOnce = simulateBringUp(withoutRollingChain(r.resources), rollingDuration, install).criticalPathSeconds;
    const oneByOne = simulateBringUp(r.resources, rollingDuration, install).sequentialSeconds;
    console.log(
      `rolling change, 3 control planes + 30 workers, maxUnavailableWorkers ${String(max).padStart(2)}: ${rolling}s (${(rolling / 60).toFixed(1)} min); ` +
        `all at once ${allAtOnce}s, one by one ${oneByOne}s`,
    );
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
