import { baselineOfRecording, type Baseline } from "../plan/model/baseline";
import { diffRun, type DiffOutcome } from "../plan/model/diff";
import { diffText, rolloutLines } from "../plan/report/diffRender";
import type { Json } from "../plan/record/wire";
import { fixture, recordWith, stacks, type RawCluster } from "./support";

/**
 * Day-2 changes to the fixture stacks, as the engine would run them after the base run: the
 * exact steps (wave, op, name, changed paths, reason), effects, warnings and errors of each.
 */
jest.setTimeout(180_000);

// 10.25.11.14 is apps-01's: the mesh refuses a node address the other stack file uses.
const worker = { name: "infra-04", ip: "10.25.11.31", role: "worker", nics: { hardwareAddr: "aa:bb:cc:dd:ee:*" } };
const worker2 = { name: "infra-05", ip: "10.25.11.32", role: "worker", nics: { hardwareAddr: "aa:bb:cc:dd:ef:*" } };
const keep = () => undefined;

async function diff(
  stack: string,
  base: (c: RawCluster) => void,
  next: (c: RawCluster) => void,
  tweak = (b: Baseline) => b,
): Promise<DiffOutcome> {
  const recorded = await recordWith(stack, base);
  // A base the program refuses would silently diff against an almost empty state.
  if (recorded.error) throw new Error(`the base run failed: ${recorded.error.message}`);
  const baseline = tweak(baselineOfRecording(recorded, "base"));
  const o = await diffRun(stack, baseline, (opts) => recordWith(stack, next, opts));
  // Every scenario: a step that does something says what (issue #26).
  expect(o.report.steps.filter((s) => s.op !== "same" && s.effects.length === 0).map((s) => `${s.op} ${s.name}`)).toEqual([]);
  return o;
}

/** Every step that does something, one line each: `wave op name [changed] (reason)`. */
function changes(o: DiffOutcome): string[] {
  return o.report.steps.filter((s) => s.op !== "same").map((s) => `${s.wave} ${s.op} ${s.name} [${s.changed.join(", ")}] (${s.reason})`);
}

function effectsOf(o: DiffOutcome, name: string): string[] {
  return o.report.steps.find((s) => s.name === name && s.op !== "same")?.effects ?? [];
}

/** State as the program left it before NodeMembership/OsUpgrade: none of them, and applies that reset on delete. */
const beforeMemberships = (b: Baseline): Baseline => ({
  ...b,
  resources: b.resources
    .filter((r) => !/^(membership|osupgrade)-/.test(r.name) && !/^(versions|lifecycle-)/.test(r.name))
    .map((r) =>
      r.name.startsWith("apply-")
        ? { ...r, inputs: JSON.parse(JSON.stringify(r.inputs).split('"reset":false').join('"reset":true')) as typeof r.inputs }
        : r,
    ),
});
const messages = (issues: ReadonlyArray<{ message: string }>) => issues.map((i) => i.message);
const cps = ["10.25.11.11", "10.25.11.12", "10.25.11.13"];
/** The rolling chain: each control plane's apply, then its gate, one wave each, starting at `wave`. */
const rolling = (wave: number, changed: string, gateChanged = "fingerprint") =>
  cps.flatMap((ip, i) => [
    `${wave + 2 * i} update apply-${ip} [${changed}] (inputs changed)`,
    `${wave + 2 * i + 1} update gate-${ip} [${gateChanged}] (its provider's diff reports a change)`,
  ]);
/** The inputs this run registers for a resource, by name. */
/** Two control planes leaving (infra-02, infra-03): their deletes, last and one after the other (memberships chained). */
const removedControlPlanes = [
  "4 delete membership-10.25.11.13 [] (no longer in the program)",
  "4 delete gate-10.25.11.13 [] (no longer in the program)",
  "5 delete apply-10.25.11.13 [] (no longer in the program)",
  "6 delete osupgrade-10.25.11.13 [] (no longer in the program)",
  "6 delete membership-10.25.11.12 [] (no longer in the program)",
  "6 delete gate-10.25.11.12 [] (no longer in the program)",
  "7 delete osupgrade-10.25.11.12 [] (no longer in the program)",
  "7 delete apply-10.25.11.12 [] (no longer in the program)",
];
const twoLeave = "2 control planes leave in one run (infra-03, infra-02): only one may leave etcd per run; remove them one per pulumi up";
/** The OS upgrades of the control planes, one per wave from `wave`. */
const upgradeWaves = (wave: number, changed: string) =>
  cps.map((ip, i) => `${wave + i} update osupgrade-${ip} [${changed}] (its provider's diff reports a change)`);
const inputsOf = (o: DiffOutcome, name: string) => o.steps.find((s) => s.name === name && s.next)?.next?.inputs;
const waits = [
  "pulumi-nodejs:dynamic/talos:NodeGate",
  "pulumi-nodejs:dynamic/talos:ClusterReady",
  "pulumi-nodejs:dynamic/talos:ClusterHealth",
];

describe.each(stacks)("no-op re-run of %s", (stack) => {
  it("is every step same (gates and health resources included), with no warning or error, and no waiting preview call", async () => {
    const o = await diff(stack, keep, keep);
    expect(o.report.steps.every((s) => s.op === "same" && s.wave === 0 && s.changed.length === 0)).toBe(true);
    expect(o.report.steps.length).toBeGreaterThan(40);
    // The rolling gates and both cluster-wide waits are there, and unchanged: they wait for nothing.
    const gatesAndHealth = o.report.steps.filter((s) => waits.includes(s.type));
    expect(gatesAndHealth.map((s) => s.name).sort()).toEqual(
      ["cluster-health", "cluster-ready", ...fixture(stack).nodes.map((n) => `gate-${n.ip}`)].sort(),
    );
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
    // Issue #14: the health waits are resources now; `pulumi preview` calls nothing that waits.
    expect(o.report.previewCalls.map((c) => c.token).sort()).toEqual([
      "cloudflare:index/getAccountApiTokenPermissionGroupsList:getAccountApiTokenPermissionGroupsList",
      "cloudflare:index/getAccountApiTokenPermissionGroupsList:getAccountApiTokenPermissionGroupsList",
      "cloudflare:index/getZeroTrustTunnelCloudflaredToken:getZeroTrustTunnelCloudflaredToken",
      "talos:client/getConfiguration:getConfiguration",
      "talos:imageFactory/getUrls:getUrls",
      "talos:machine/getConfiguration:getConfiguration",
    ]);
    expect(o.report.previewCalls.filter((c) => c.timeout !== null)).toEqual([]);
  });
});

describe("nodes", () => {
  it("adding a worker records its OS version, creates its apply, gate and membership after the last control plane's gate, then the health waits run again with it; no waiting preview call", async () => {
    const o = await diff("infra", keep, (c) => c.nodes.push(worker));
    expect(changes(o)).toEqual([
      "1 create osupgrade-10.25.11.31 [] (not in the base)",
      "2 create apply-10.25.11.31 [] (not in the base)",
      "3 create membership-10.25.11.31 [] (not in the base)",
      "3 create gate-10.25.11.31 [] (not in the base)",
      "4 update cluster-ready [fingerprint, nodes[3]] (its provider's diff reports a change)",
      "5 update infra-credentials [fields] (its provider's diff reports a change)",
      "5 update cluster-health [workerNodes[0]] (its provider's diff reports a change)",
    ]);
    // Its apply installs the stack's version: the upgrade resource only records it (no call to a machine in maintenance mode).
    expect(effectsOf(o, "osupgrade-10.25.11.31")).toEqual(["records 10.25.11.31 as installed on v1.11.6 (its apply installs it)"]);
    expect(inputsOf(o, "cluster-health")).toMatchObject({ workerNodes: ["10.25.11.31"] });
    // The waits are resources after the new gate, not preview calls: nothing warns of a preview wait.
    expect(o.report.previewCalls.filter((c) => c.timeout !== null)).toEqual([]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
  });

  it("removing a worker: ClusterReady updates without it, ClusterHealth only records the node set (the Node still exists until the delete), then, after every other step, its membership drains, resets and deletes its Node; the rest is only forgotten", async () => {
    const o = await diff("infra", (c) => c.nodes.push(worker), keep);
    expect(changes(o)).toEqual([
      "1 update cluster-ready [fingerprint, nodes[3]] (its provider's diff reports a change)",
      "2 update infra-credentials [fields] (its provider's diff reports a change)",
      "2 update cluster-health [workerNodes[0]] (its provider's diff reports a change)",
      "3 delete membership-10.25.11.31 [] (no longer in the program)",
      "3 delete gate-10.25.11.31 [] (no longer in the program)",
      "4 delete osupgrade-10.25.11.31 [] (no longer in the program)",
      "4 delete apply-10.25.11.31 [] (no longer in the program)",
    ]);
    // No wait expects the leaving worker.
    expect(JSON.stringify(inputsOf(o, "cluster-ready"))).not.toContain("10.25.11.31");
    expect(inputsOf(o, "cluster-health")).toMatchObject({ workerNodes: [] });
    expect(effectsOf(o, "cluster-health")).toEqual([
      "records the node set (nodes only left): no check, the leaving Nodes still exist until their deletes",
    ]);
    // The removal comes after every step that keeps or changes something, and it is the only one that touches the machine.
    const removal = o.report.steps.find((s) => s.name === "membership-10.25.11.31");
    const lastOther = Math.max(...o.report.steps.filter((s) => s.op !== "delete").map((s) => s.wave));
    expect(removal?.wave).toBeGreaterThan(lastOther);
    expect(removal?.effects).toEqual([
      "drains infra-04 (evictions honour PodDisruptionBudgets; fails after 600s), resets machine 10.25.11.31 (wipes its STATE and EPHEMERAL partitions), then deletes Node infra-04",
    ]);
    // The rest is only forgotten, and says so.
    expect(["apply-10.25.11.31", "gate-10.25.11.31", "osupgrade-10.25.11.31"].map((name) => effectsOf(o, name))).toEqual([
      ["forgets the apply of 10.25.11.31: the machine is not touched by it"],
      ["forgets the gate: nothing runs on the machine"],
      ["forgets the upgrade record: a node is never downgraded or touched by it"],
    ]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
  });

  it("a worker that leaves and comes back is health-checked again: the run it leaves stores the node set the check saw", async () => {
    const withWorker = (c: RawCluster) => c.nodes.push(worker);
    const left = await diff("infra", withWorker, keep);
    // The engine keeps a `same` resource's old outputs: the next run diffs against what this run stores.
    const back = await diffRun("infra", left.state, (o) => recordWith("infra", withWorker, o));
    // The write-back item's fields are Talos provider outputs, placeholders offline: not asserted here.
    expect(changes(back).filter((line) => !line.includes("infra-credentials"))).toEqual([
      "1 create osupgrade-10.25.11.31 [] (not in the base)",
      "2 create apply-10.25.11.31 [] (not in the base)",
      "3 create membership-10.25.11.31 [] (not in the base)",
      "3 create gate-10.25.11.31 [] (not in the base)",
      "4 update cluster-ready [fingerprint, nodes[3]] (its provider's diff reports a change)",
      "5 update cluster-health [workerNodes[0]] (its provider's diff reports a change)",
    ]);
    expect(effectsOf(back, "cluster-health")).toEqual([
      "runs Talos' cluster health check (3 control planes, 1 workers; waits up to 1200s)",
    ]);
    expect(back.report).toMatchObject({ warnings: [], errors: [] });
  });

  it("a worker removed from a stack deployed before memberships existed is still reset by its apply's delete (state holds reset: true)", async () => {
    const o = await diff("infra", (c) => c.nodes.push(worker), keep, beforeMemberships);
    expect(effectsOf(o, "apply-10.25.11.31")).toEqual([
      "resets machine 10.25.11.31 (wipes its STATE and EPHEMERAL partitions, leaving etcd first)",
    ]);
    // The nodes that stay gain their memberships and upgrade records, and their applies stop resetting on delete.
    expect(changes(o)).toEqual(expect.arrayContaining(["4 create osupgrade-10.25.11.11 [] (not in the base)"]));
    expect(o.report.steps.find((s) => s.name === "apply-10.25.11.11")?.changed).toEqual(["onDestroy.reset"]);
  });

  it("removing control planes is refused: their applies are protected", async () => {
    const o = await diff("infra", keep, (c) => c.nodes.splice(1, 2));
    expect(changes(o)).toEqual([
      // The control plane that stays records the new list (its own removal's etcd check asks these).
      "1 update membership-10.25.11.11 [controlPlanes[1], controlPlanes[2]] (its provider's diff reports a change)",
      "1 update cluster-ready [fingerprint, nodes[1], nodes[2]] (its provider's diff reports a change)",
      "2 update infra-credentials [fields] (its provider's diff reports a change)",
      "2 update cilium [values.operator.replicas] (inputs changed)",
      "3 update cluster-health [controlPlaneNodes[1], controlPlaneNodes[2], endpoints[1], endpoints[2], fingerprint] (its provider's diff reports a change)",
      ...removedControlPlanes,
    ]);
    expect(messages(o.report.errors)).toEqual([
      "protected: the engine refuses to delete apply-10.25.11.12",
      "protected: the engine refuses to delete membership-10.25.11.12",
      "protected: the engine refuses to delete apply-10.25.11.13",
      "protected: the engine refuses to delete membership-10.25.11.13",
      twoLeave,
    ]);
    expect(effectsOf(o, "apply-10.25.11.12")[0]).toBe("protected: the engine will refuse");
    expect(effectsOf(o, "membership-10.25.11.12")[0]).toBe("protected: the engine will refuse");
    // The gates are not protected (their delete does nothing to the machine).
    expect(effectsOf(o, "gate-10.25.11.12")).toEqual(["forgets the gate: nothing runs on the machine"]);
  });

  it("allowing removal and removing in the same run is still refused: the engine checks the flag in state, and --diff says the two-run procedure", async () => {
    const o = await diff("infra", keep, (c) => {
      c.talos.allowControlPlaneRemoval = true;
      c.nodes.splice(1, 2);
    });
    expect(messages(o.report.errors)).toEqual([
      "protected: the engine refuses to delete apply-10.25.11.12",
      "protected: the engine refuses to delete membership-10.25.11.12",
      "protected: the engine refuses to delete apply-10.25.11.13",
      "protected: the engine refuses to delete membership-10.25.11.13",
      twoLeave,
      "talos.allowControlPlaneRemoval and the removal come in one run, but the engine reads protect from state: " +
        "first `pulumi up` with the flag and every node still listed (it only unprotects), then remove the node and run `pulumi up` again",
    ]);
    expect(o.report.protection).toEqual([
      { name: "apply-10.25.11.11", protect: false },
      { name: "membership-10.25.11.11", protect: false },
    ]);
  });

  it("the run that only sets talos.allowControlPlaneRemoval changes no step, and shows what it unprotects", async () => {
    const o = await diff("infra", keep, (c) => (c.talos.allowControlPlaneRemoval = true));
    expect(changes(o)).toEqual([]);
    expect(o.report.protection.map((p) => `${p.protect ? "protect" : "unprotect"} ${p.name}`)).toEqual([
      "unprotect apply-10.25.11.11",
      "unprotect membership-10.25.11.11",
      "unprotect apply-10.25.11.12",
      "unprotect membership-10.25.11.12",
      "unprotect apply-10.25.11.13",
      "unprotect membership-10.25.11.13",
    ]);
    expect(diffText(o)).toContain("== Protection (state only: no provider call)\n    unprotect apply-10.25.11.11\n");
  });

  it("with talos.allowControlPlaneRemoval applied first, removing two control planes in one run is an error: one may leave etcd per run", async () => {
    const allow = (c: RawCluster) => (c.talos.allowControlPlaneRemoval = true);
    const o = await diff("infra", allow, (c) => {
      allow(c);
      c.nodes.splice(1, 2);
    });
    expect(changes(o)).toEqual([
      // The control plane that stays records the new list (its own removal's etcd check asks these).
      "1 update membership-10.25.11.11 [controlPlanes[1], controlPlanes[2]] (its provider's diff reports a change)",
      "1 update cluster-ready [fingerprint, nodes[1], nodes[2]] (its provider's diff reports a change)",
      "2 update infra-credentials [fields] (its provider's diff reports a change)",
      "2 update cilium [values.operator.replicas] (inputs changed)",
      "3 update cluster-health [controlPlaneNodes[1], controlPlaneNodes[2], endpoints[1], endpoints[2], fingerprint] (its provider's diff reports a change)",
      ...removedControlPlanes,
    ]);
    expect(messages(o.report.errors)).toEqual([twoLeave]);
    // Control planes are known from ClusterReady/ClusterHealth in state (no getHealth invoke any more).
    expect(messages(o.report.warnings)).toEqual([
      "control plane infra-03 leaves: etcd loses a member",
      "control plane infra-02 leaves: etcd loses a member",
    ]);
  });

  it("with talos.allowControlPlaneRemoval applied first, one control plane leaves: etcd checks, drain, etcd leave, reset and Node delete, after every other step", async () => {
    const allow = (c: RawCluster) => (c.talos.allowControlPlaneRemoval = true);
    const o = await diff("infra", allow, (c) => {
      allow(c);
      c.nodes.splice(2, 1);
    });
    const removal = o.report.steps.find((s) => s.name === "membership-10.25.11.13");
    expect(removal?.op).toBe("delete");
    expect(removal?.wave).toBeGreaterThan(Math.max(...o.report.steps.filter((s) => s.op !== "delete").map((s) => s.wave)));
    expect(removal?.effects).toEqual([
      "checks etcd is healthy and keeps quorum without infra-03, drains infra-03 (evictions honour PodDisruptionBudgets; fails after 600s), takes it out of etcd, resets machine 10.25.11.13 (wipes its STATE and EPHEMERAL partitions), then deletes Node infra-03",
    ]);
    expect(o.report.errors).toEqual([]);
    expect(messages(o.report.warnings)).toEqual(["control plane infra-03 leaves: etcd loses a member"]);
    // The control planes that stay record the new list (their own removal's etcd check asks these).
    // No chart changes (Cilium's operator runs min(2, control planes) replicas: 2 for 3 and for 2),
    // and ClusterHealth only records the node set (docs/operations.md, issue #26).
    expect(changes(o)).toEqual([
      "1 update membership-10.25.11.11 [controlPlanes[2]] (its provider's diff reports a change)",
      "1 update cluster-ready [fingerprint, nodes[2]] (its provider's diff reports a change)",
      "2 update membership-10.25.11.12 [controlPlanes[2]] (its provider's diff reports a change)",
      "2 update infra-credentials [fields] (its provider's diff reports a change)",
      "2 update cluster-health [controlPlaneNodes[2], endpoints[2]] (its provider's diff reports a change)",
      "3 delete membership-10.25.11.13 [] (no longer in the program)",
      "3 delete gate-10.25.11.13 [] (no longer in the program)",
      "4 delete osupgrade-10.25.11.13 [] (no longer in the program)",
      "4 delete apply-10.25.11.13 [] (no longer in the program)",
    ]);
    expect(effectsOf(o, "cluster-health")).toEqual([
      "records the node set (nodes only left): no check, the leaving Nodes still exist until their deletes",
    ]);
  });

  it("renaming a node (same IP) updates its hostname in place, its gate and ClusterReady wait (not ClusterHealth: same addresses), its membership deletes the old Node object once the new one is Ready: nothing is reset", async () => {
    const o = await diff("infra", keep, (c) => (c.nodes[2].name = "infra-09"));
    expect(changes(o)).toEqual([
      "1 update apply-10.25.11.13 [configPatches[1]] (inputs changed)",
      "2 update membership-10.25.11.13 [nodeName] (its provider's diff reports a change)",
      "2 update gate-10.25.11.13 [fingerprint, kubernetes.nodeName] (its provider's diff reports a change)",
      // The node set (names) is in their fingerprint: Kubernetes sees a Node of another name.
      "3 update cluster-ready [fingerprint] (its provider's diff reports a change)",
    ]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
    expect(diffText(o)).toContain("  -     hostname: infra-03\n  +     hostname: infra-09\n");
    expect(effectsOf(o, "membership-10.25.11.13")).toEqual([
      "renamed at the same address: waits until Node infra-09 is Ready and no kubelet posts infra-03 (Unknown), then deletes the old Node object infra-03; after 1200s without that the step fails and infra-03 is kept",
    ]);
  });

  it("changing a node's IP is another machine: a new apply, and the old one deleted last (refused for a control plane)", async () => {
    const o = await diff("infra", keep, (c) => (c.nodes[2].ip = "10.25.11.23"));
    expect(changes(o)).toEqual([
      "1 create osupgrade-10.25.11.23 [] (not in the base)",
      "2 update membership-10.25.11.11 [controlPlanes[2].endpoint, controlPlanes[2].node] (its provider's diff reports a change)",
      "2 create apply-10.25.11.23 [] (not in the base)",
      "3 update membership-10.25.11.12 [controlPlanes[2].endpoint, controlPlanes[2].node] (its provider's diff reports a change)",
      "3 create gate-10.25.11.23 [] (not in the base)",
      "4 create membership-10.25.11.23 [] (not in the base)",
      "4 update cluster-ready [fingerprint, nodes[2].node] (its provider's diff reports a change)",
      "5 update infra-credentials [fields] (its provider's diff reports a change)",
      "5 update cluster-health [controlPlaneNodes[2], endpoints[2]] (its provider's diff reports a change)",
      "6 delete membership-10.25.11.13 [] (no longer in the program)",
      "6 delete gate-10.25.11.13 [] (no longer in the program)",
      "7 delete osupgrade-10.25.11.13 [] (no longer in the program)",
      "7 delete apply-10.25.11.13 [] (no longer in the program)",
    ]);
    expect(messages(o.report.warnings)).toEqual([
      "node infra-03 stays in the stack but membership-10.25.11.13 is deleted: machine 10.25.11.13 is wiped",
    ]);
    expect(messages(o.report.errors)).toEqual([
      "protected: the engine refuses to delete apply-10.25.11.13",
      "protected: the engine refuses to delete membership-10.25.11.13",
    ]);
  });

  describe("a stack deployed when applies were named by node", () => {
    // Its state as the engine holds it: the same resources under `apply-<node name>`.
    const nameKeyed = (b: Baseline): Baseline => {
      let text = JSON.stringify(b);
      for (const n of fixture("infra").nodes) text = text.split(`apply-${n.ip}"`).join(`apply-${n.name}"`);
      return JSON.parse(text) as Baseline;
    };

    it("keeps its applies: the alias finds them, every step is same", async () => {
      const o = await diff("infra", keep, keep, nameKeyed);
      expect(changes(o)).toEqual([]);
      expect(o.report).toMatchObject({ warnings: [], errors: [] });
    });

    it("must not rename in that same run: the old apply would be deleted and its machine reset (refused for a control plane)", async () => {
      // Such a stack predates memberships too: its applies reset on delete.
      const o = await diff(
        "infra",
        keep,
        (c) => (c.nodes[2].name = "infra-09"),
        (b) => nameKeyed(beforeMemberships(b)),
      );
      // A new apply under the new name, and the old one deleted, last.
      const ofNode = changes(o).filter((c) => /apply-(10\.25\.11\.13|infra-03) /.test(c));
      expect(ofNode.map((c) => c.replace(/^\d+ /, ""))).toEqual([
        "create apply-10.25.11.13 [] (not in the base)",
        "delete apply-infra-03 [] (no longer in the program)",
      ]);
      expect(o.report.steps.find((s) => s.name === "apply-infra-03")?.wave).toBe(Math.max(...o.report.steps.map((s) => s.wave)));
      // That state predates memberships: its apply still resets on delete.
      expect(messages(o.report.warnings)).toEqual([
        "node infra-03 stays in the stack but apply-infra-03 is deleted: machine 10.25.11.13 is wiped",
      ]);
      expect(messages(o.report.errors)).toEqual(["protected: the engine refuses to delete apply-infra-03"]);
    });
  });
});

describe("machine config", () => {
  it("a sysctl change re-applies the three control planes in successive waves, apply then gate, with no same-wave warning (issue #14)", async () => {
    const o = await diff("infra", keep, (c) => (c.talos.sysctls["net.core.rmem_max"] = "134217728"));
    expect(changes(o)).toEqual(rolling(1, "configPatches[6]"));
    // Neither the node set nor the versions changed: the cluster-wide waits stay put.
    expect(effectsOf(o, "apply-10.25.11.12")).toEqual(["re-applies the machine config to 10.25.11.12 (applyMode auto)"]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
    expect(diffText(o)).toContain(
      [
        "--- apply-10.25.11.11, apply-10.25.11.12, apply-10.25.11.13",
        "  @@ patch 6 @@",
        "        net.core.default_qdisc: fq",
        '  -     net.core.rmem_max: "67108864"',
        '  +     net.core.rmem_max: "134217728"',
        '        net.core.wmem_max: "67108864"',
      ].join("\n"),
    );
  });

  it("a new schematic replaces it, so the installer image gets the new id on every node", async () => {
    const o = await diff("infra", keep, (c) => c.talos.schematic.officialExtensions.push("siderolabs/gvisor"));
    expect(changes(o)).toEqual([
      "1 replace schematic [schematic] (replaceOnChanges: schematic)",
      // A new schematic is a new installer: each node is upgraded to it in place (same version), then the configs follow.
      ...upgradeWaves(2, "image"),
      ...rolling(5, "configPatches[0]"),
    ]);
    expect(effectsOf(o, "schematic")).toEqual(["created anew first; the old one is deleted in wave 11"]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
    expect(diffText(o)).toContain("+     image: factory.talos.dev/metal-installer/(new schematic id):v1.11.6");
  });

  it("a Talos patch bump upgrades each control plane in turn, then rolls every apply, each gate expecting the new version", async () => {
    // v1.11.5 → v1.11.6: real tags (stacks/releases.ts refuses a version no release list holds).
    const o = await diff(
      "infra",
      (c) => (c.talos.version = "v1.11.5"),
      (c) => (c.talos.version = "v1.11.6"),
    );
    expect(changes(o)).toEqual([
      // The versions record first: the machine secrets wait for it (VersionGuard).
      "1 update versions [talosVersion] (its provider's diff reports a change)",
      "2 update secrets [talosVersion] (inputs changed)",
      ...upgradeWaves(3, "image, targetVersion"),
      ...rolling(6, "configPatches[0], machineConfigurationInput", "expectations.talosVersion, fingerprint"),
      "12 update cluster-ready [fingerprint, talosVersion] (its provider's diff reports a change)",
      "13 update cluster-health [fingerprint] (its provider's diff reports a change)",
    ]);
    expect(effectsOf(o, "osupgrade-10.25.11.12")).toEqual([
      "upgrades Talos on 10.25.11.12 to v1.11.6 unless it runs it already: installs factory.talos.dev/metal-installer/(schematic id):v1.11.6, reboots, waits until it is back and healthy",
    ]);
    expect(o.report.warnings).toEqual([]);
    expect(o.report.errors).toEqual([]);
  });

  it("a Talos minor bump upgrades control planes one at a time, then worker batches, and moves the config contract only after the last upgrade (issue #15)", async () => {
    const workers = (c: RawCluster) => {
      c.nodes.push(worker, worker2);
      c.talos.rollout = { ...c.talos.rollout, maxUnavailableWorkers: 2 };
    };
    const o = await diff("infra", workers, (c) => {
      workers(c);
      c.talos.version = "v1.12.11";
    });
    const waves = (prefix: string) =>
      o.report.steps.filter((s) => s.name.startsWith(prefix) && s.op === "update").map((s) => `${s.wave} ${s.name}`);
    // Control planes alone, then both workers together (one batch of maxUnavailableWorkers: 2).
    // Wave 1 is the versions record and 2 the machine secrets, which wait for it (VersionGuard).
    expect(waves("osupgrade-")).toEqual([
      "3 osupgrade-10.25.11.11",
      "4 osupgrade-10.25.11.12",
      "5 osupgrade-10.25.11.13",
      "6 osupgrade-10.25.11.31",
      "6 osupgrade-10.25.11.32",
    ]);
    // The summary's roll-out order: each node from its upgrade to its gate, the worker batch on one line.
    expect(rolloutLines(o.report)).toEqual([
      "waves 3–8: infra-01 (10.25.11.11)",
      "waves 4–10: infra-02 (10.25.11.12)",
      "waves 5–12: infra-03 (10.25.11.13)",
      "waves 6–14: infra-04 (10.25.11.31), infra-05 (10.25.11.32)",
    ]);
    // Then the configs of the new contract roll in the same order, each behind the gate before.
    expect(waves("apply-")).toEqual([
      "7 apply-10.25.11.11",
      "9 apply-10.25.11.12",
      "11 apply-10.25.11.13",
      "13 apply-10.25.11.31",
      "13 apply-10.25.11.32",
    ]);
    // The installer image (patch 0), and the 1.12 contract: the network settings move to their own documents (patches 1 and 5).
    expect(o.report.steps.find((s) => s.name === "apply-10.25.11.31")?.changed).toEqual([
      "configPatches[0]",
      "configPatches[1]",
      "configPatches[5]",
      "machineConfigurationInput",
    ]);
    expect(o.report.errors).toEqual([]);
    // The rewrite is said up front, with each node's network documents (issue #26): the control
    // planes carry the VIP, the workers do not; sixteen aliases per wildcard-MAC bond under 1.12.
    expect(messages(o.report.warnings)).toEqual([
      "Talos v1.11.6 → v1.12.11 moves the machine-config contract v1.11 → v1.12 and rewrites each node's network config; network documents per node: " +
        "infra-01, infra-02, infra-03: 0 (under machine.network) → 22 (BondConfig 1, HostnameConfig 1, Layer2VIPConfig 1, LinkAliasConfig 16, ResolverConfig 1, TimeSyncConfig 1, VLANConfig 1); " +
        "infra-04, infra-05: 0 (under machine.network) → 21 (BondConfig 1, HostnameConfig 1, LinkAliasConfig 16, ResolverConfig 1, TimeSyncConfig 1, VLANConfig 1). " +
        "They reach each node with its apply (waves 7–13), after every node runs v1.12 (the OS upgrades come first); the bond keeps its member NICs and addresses",
    ]);
  });

  it("a node a refresh found on another version (someone ran talosctl) is shown and converged: its upgrade runs again, nothing else", async () => {
    // State after `pulumi refresh`: the OsUpgrade's read recorded what the node runs.
    const drifted = (b: Baseline): Baseline => ({
      ...b,
      resources: b.resources.map((r) =>
        r.name === "osupgrade-10.25.11.12" ? { ...r, outputs: { ...(r.outputs as Record<string, Json>), observedVersion: "v1.11.5" } } : r,
      ),
    });
    const o = await diff("infra", keep, keep, drifted);
    expect(changes(o)).toEqual(["1 update osupgrade-10.25.11.12 [] (its provider's diff reports a change)"]);
    expect(effectsOf(o, "osupgrade-10.25.11.12")).toEqual([
      "upgrades Talos on 10.25.11.12 to v1.11.6 unless it runs it already (a refresh found v1.11.5): installs factory.talos.dev/metal-installer/(schematic id):v1.11.6, reboots, waits until it is back and healthy",
    ]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
  });

  it("skipping a Talos minor is refused by the versions record before anything runs", async () => {
    const o = await diff("infra", keep, (c) => (c.talos.version = "v1.13.9"));
    expect(messages(o.report.errors)).toEqual([
      "versions: refused version change: Pulumi.infra.yaml talos.version: v1.11.6 → v1.13.9 skips v1.12: upgrade one minor at a time",
    ]);
  });

  it("a Talos version downgrade is refused twice: by the versions record, and by the protected machine secrets it would replace", async () => {
    const o = await diff("infra", keep, (c) => (c.talos.version = "v1.11.5"));
    // The versions record updates first (wave 1); the machine secrets wait for it.
    expect(changes(o)).toContain("2 replace secrets [talosVersion] (talos replaces on talosVersion)");
    expect(messages(o.report.errors)).toEqual([
      "versions: refused version change: Pulumi.infra.yaml talos.version: v1.11.6 → v1.11.5 is a downgrade",
      "protected: the engine refuses to replace secrets (talos replaces on talosVersion)",
    ]);
  });

  it("a Kubernetes version bump re-applies each node in turn, each gate waiting for that node's components on the new version", async () => {
    const o = await diff("infra", keep, (c) => (c.talos.kubernetesVersion = "v1.34.2"));
    expect(changes(o)).toEqual([
      "1 update versions [kubernetesVersion] (its provider's diff reports a change)",
      ...rolling(2, "machineConfigurationInput", "fingerprint, kubernetes.version"),
      "8 update cluster-ready [fingerprint] (its provider's diff reports a change)",
      "9 update cluster-health [fingerprint] (its provider's diff reports a change)",
    ]);
    expect(inputsOf(o, "gate-10.25.11.12")).toMatchObject({ kubernetes: { nodeName: "infra-02", version: "v1.34.2" } });
    expect(o.report).toMatchObject({ warnings: [], errors: [], versions: [{ what: "Kubernetes", from: "v1.34.1", to: "v1.34.2" }] });
    // The operator reads the move on the first screen, before the steps.
    expect(diffText(o).split("\n").slice(0, 10)).toContain("    Kubernetes: v1.34.1 → v1.34.2");
  });

  it("Talos and Kubernetes minors moved in one run warn: each alone is the runbook", async () => {
    const o = await diff("infra", keep, (c) => {
      c.talos.version = "v1.12.11";
      c.talos.kubernetesVersion = "v1.35.0";
    });
    expect(o.report.versions.filter((v) => v.what === "Talos" || v.what === "Kubernetes")).toEqual([
      { what: "Talos", from: "v1.11.6", to: "v1.12.11" },
      { what: "Kubernetes", from: "v1.34.1", to: "v1.35.0" },
    ]);
    expect(messages(o.report.warnings)[0]).toBe(
      "Talos v1.11.6 → v1.12.11 and Kubernetes v1.34.1 → v1.35.0 change minor in one run: every node is upgraded and then its machine config " +
        "rolled with the new Kubernetes, and a failure half-way leaves both half-done; upgrade Talos in one run, Kubernetes in the next",
    );
  });

  it("a Kubernetes minor bump rolls the same way; skipping a minor is refused by the versions record", async () => {
    const at = (version: string) => (c: RawCluster) => (c.talos.kubernetesVersion = version);
    const minor = await diff("infra", at("v1.33.5"), at("v1.34.1"));
    expect(changes(minor).slice(0, 3)).toEqual([
      "1 update versions [kubernetesVersion] (its provider's diff reports a change)",
      "2 update apply-10.25.11.11 [machineConfigurationInput] (inputs changed)",
      "3 update gate-10.25.11.11 [fingerprint, kubernetes.version] (its provider's diff reports a change)",
    ]);
    expect(minor.report.errors).toEqual([]);
    // On Talos 1.12 (Kubernetes 1.30 to 1.35; Cilium needs 1.33 or later), 1.33 → 1.35 stays in every range but skips 1.34.
    const onTalos112 = (version: string) => (c: RawCluster) => {
      c.talos.version = "v1.12.11";
      at(version)(c);
    };
    const skip = await diff("infra", onTalos112("v1.33.5"), onTalos112("v1.35.0"));
    expect(messages(skip.report.errors)).toEqual([
      "versions: refused version change: Pulumi.infra.yaml talos.kubernetesVersion: Kubernetes v1.33.5 → v1.35.0 skips a minor: upgrade one minor at a time",
    ]);
  });
});

describe("platform components", () => {
  it("disabling Spegel drops its containerd patch on every node, then deletes the release and its namespace", async () => {
    const o = await diff("infra", keep, (c) => (c.spegel.enabled = false));
    expect(changes(o)).toEqual([
      ...rolling(1, "configPatches[7]"),
      "7 delete spegel [] (no longer in the program)",
      "8 delete spegel [] (no longer in the program)",
    ]);
    expect(o.report.steps.filter((s) => s.op === "delete").map((s) => s.type)).toEqual([
      "kubernetes:helm.sh/v3:Release",
      "kubernetes:core/v1:Namespace",
    ]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
  });

  it("disabling external-secrets keeps its CRDs and objects: every resource of it is retained, so the run only forgets them (issue #17)", async () => {
    const o = await diff("infra", keep, (c) => (c.externalSecrets.enabled = false));
    expect(changes(o)).toEqual([
      "1 delete onepassword-store [] (no longer in the program)",
      "2 delete onepassword-service-account [] (no longer in the program)",
      "2 delete external-secrets-default-deny [] (no longer in the program)",
      "2 delete external-secrets-bootstrap-allow [] (no longer in the program)",
      "2 delete external-secrets [] (no longer in the program)",
      "3 delete external-secrets [] (no longer in the program)",
    ]);
    for (const s of o.report.steps.filter((x) => x.op === "delete"))
      expect({ name: s.name, effects: s.effects }).toEqual({ name: s.name, effects: ["forgotten (retainOnDelete): nothing is deleted"] });
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
  });

  it("a release carrying CRDs that is not retained still warns when it goes (the rule itself)", async () => {
    const unretained = (b: Baseline): Baseline => ({
      ...b,
      resources: b.resources.map((r) => (r.type === "kubernetes:helm.sh/v3:Release" ? { ...r, retainOnDelete: false } : r)),
    });
    const o = await diff("infra", keep, (c) => (c.externalSecrets.enabled = false), unretained);
    const crds = "deletes CRDs: every ExternalSecret, ClusterSecretStore in the cluster goes";
    expect(o.report.steps.find((s) => s.op === "delete" && s.type === "kubernetes:helm.sh/v3:Release")?.effects).toEqual([crds]);
    expect(messages(o.report.warnings)).toEqual([`external-secrets is deleted: ${crds}`]);
  });

  it("a rotated credential reference changes only the Secret it feeds, in place (the provider makes Secrets mutable)", async () => {
    const o = await diff("infra", keep, (c) => (c.externalSecrets.serviceAccountToken = "op://Prod/infra-external-secrets/rotated"));
    expect(changes(o)).toEqual(["1 update onepassword-service-account [stringData] (inputs changed)"]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
    expect(JSON.stringify(o.report)).not.toContain("op://Prod/infra-external-secrets");
  });

  it("a rotated Flux deploy key updates flux-git-credentials in place", async () => {
    const o = await diff("infra", keep, (c) => (c.flux.auth.privateKey = "op://Prod/k8s-gitops-deploy-key/rotated"));
    expect(changes(o)).toEqual(["1 update flux-git-credentials [stringData] (inputs changed)"]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
  });

  it("a new Cloudflare token value updates cloudflare-api-token in place", async () => {
    // The token is an AccountToken's output: a base that stored another value stands for a rotated token.
    const rotated = (b: Baseline): Baseline => ({
      ...b,
      resources: b.resources.map((r) =>
        r.name === "cloudflare-api-token" ? { ...r, secretDigests: { ...r.secretDigests, stringData: "an older token" } } : r,
      ),
    });
    const o = await diff("infra", keep, keep, rotated);
    expect(changes(o)).toEqual(["1 update cloudflare-api-token [stringData] (inputs changed)"]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
  });

  it("a value that flows into cluster-settings updates the retained ConfigMap in place", async () => {
    const o = await diff("infra", keep, (c) => (c.certManager.email = "ops@monosense.io"));
    expect(changes(o).filter((line) => line.includes("cluster-settings"))).toEqual([
      "1 update cluster-settings [data.LETSENCRYPT_EMAIL] (inputs changed)",
    ]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
  });

  it("a retained fixed-name Secret forced to replace delete-first is an error (its delete only forgets it)", async () => {
    // A Secret's type replaces it even when Secrets are mutable (pulumi-kubernetes diff.go forceNew core/v1 Secret).
    const otherType = (b: Baseline): Baseline => ({
      ...b,
      resources: b.resources.map((r) =>
        r.name === "flux-git-credentials" ? { ...r, inputs: { ...(r.inputs as Record<string, Json>), type: "kubernetes.io/ssh-auth" } } : r,
      ),
    });
    const o = await diff("infra", keep, keep, otherType);
    expect(changes(o)).toEqual(["1 replace flux-git-credentials [type] (kubernetes replaces on type)"]);
    expect(messages(o.report.errors)).toEqual([
      "retained: flux-git-credentials would be replaced delete-first (kubernetes replaces on type), but its delete only forgets it, " +
        "so the create meets the object under the same name and fails; it stays pending on every later run. Change it in place or give it a new name",
    ]);
  });
});

describe("ClusterMesh CA (issue #16)", () => {
  const ca = ["clustermesh-ca-key-g1", "clustermesh-ca-g1"];
  /** The base state as after `pulumi state unprotect` of the CA pair (the documented rotation step). */
  const unprotected = (b: Baseline): Baseline => ({
    ...b,
    resources: b.resources.map((r) => (ca.includes(r.name) ? { ...r, protect: false } : r)),
  });
  /** A CA key created with other inputs than the program's: the tls provider replaces on each. */
  const otherKey = (b: Baseline): Baseline => ({
    ...b,
    resources: b.resources.map((r) =>
      r.name === "clustermesh-ca-key-g1" ? { ...r, inputs: { ...(r.inputs as Record<string, unknown>), rsaBits: 2048 } } : r,
    ),
  });
  const caError = (name: string, op: string, reason: string) =>
    `the ClusterMesh CA ${name} would be ${op} (${reason}) without raising cilium.clustermesh.caGeneration (generation 1 before, 1 now): every member's mesh would break`;

  it("a replacement without a new caGeneration is an error, even with the pair unprotected in state", async () => {
    const o = await diff("infra", keep, keep, (b) => unprotected(otherKey(b)));
    expect(changes(o)).toEqual([
      "1 replace clustermesh-ca-key-g1 [rsaBits] (tls replaces on rsaBits)",
      "2 replace clustermesh-ca-g1 [privateKeyPem] (tls replaces on privateKeyPem)",
      "3 update cilium-ca [stringData] (inputs changed)",
    ]);
    expect(messages(o.report.errors)).toEqual([
      caError("clustermesh-ca-key-g1", "replaced", "tls replaces on rsaBits"),
      caError("clustermesh-ca-g1", "replaced", "tls replaces on privateKeyPem"),
    ]);
  });

  it("protected in state as well, the engine's refusal and the CA rule both report it", async () => {
    const o = await diff("infra", keep, keep, otherKey);
    expect(messages(o.report.errors)).toEqual([
      "protected: the engine refuses to replace clustermesh-ca-key-g1 (tls replaces on rsaBits)",
      "protected: the engine refuses to replace clustermesh-ca-g1 (tls replaces on privateKeyPem)",
      caError("clustermesh-ca-key-g1", "replaced", "tls replaces on rsaBits"),
      caError("clustermesh-ca-g1", "replaced", "tls replaces on privateKeyPem"),
    ]);
  });

  it("raising caGeneration creates the new pair, re-issues cilium-ca, and deletes the old pair last: allowed once it is unprotected", async () => {
    const o = await diff("infra", keep, (c) => (c.cilium.clustermesh.caGeneration = 2), unprotected);
    expect(changes(o)).toEqual([
      "1 create clustermesh-ca-key-g2 [] (not in the base)",
      "2 create clustermesh-ca-g2 [] (not in the base)",
      "3 update cilium-ca [stringData] (inputs changed)",
      '4 update cilium [values.certgen.podLabels["talos-gitops.io/clustermesh-ca-generation"], values.clustermesh.apiserver.podLabels["talos-gitops.io/clustermesh-ca-generation"]] (inputs changed)',
      "5 update cluster-health [fingerprint] (its provider's diff reports a change)",
      "6 delete clustermesh-ca-g1 [] (no longer in the program)",
      "7 delete clustermesh-ca-key-g1 [] (no longer in the program)",
    ]);
    expect(o.report.errors).toEqual([]);
  });

  it("raising caGeneration with the old pair still protected stops at it (the engine refuses), as the rotation runbook says", async () => {
    const o = await diff("infra", keep, (c) => (c.cilium.clustermesh.caGeneration = 2));
    expect(messages(o.report.errors)).toEqual([
      "protected: the engine refuses to delete clustermesh-ca-key-g1",
      "protected: the engine refuses to delete clustermesh-ca-g1",
    ]);
  });

  it("lowering caGeneration deletes the current pair without raising it: an error", async () => {
    const o = await diff(
      "infra",
      (c) => (c.cilium.clustermesh.caGeneration = 2),
      (c) => (c.cilium.clustermesh.caGeneration = 1),
      (b) => ({ ...b, resources: b.resources.map((r) => (r.name.endsWith("-g2") ? { ...r, protect: false } : r)) }),
    );
    expect(messages(o.report.errors)).toEqual([
      "the ClusterMesh CA clustermesh-ca-g2 would be deleted (no longer in the program) without raising cilium.clustermesh.caGeneration (generation 2 before, 1 now): every member's mesh would break",
      "the ClusterMesh CA clustermesh-ca-key-g2 would be deleted (no longer in the program) without raising cilium.clustermesh.caGeneration (generation 2 before, 1 now): every member's mesh would break",
    ]);
  });
});
