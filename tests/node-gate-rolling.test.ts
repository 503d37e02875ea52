import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { rebootExpectation } from "../components/talos/lifecycle/nodeGateProvider";
import { engineInputs, engineRun, registeredInputs } from "./fakes/engineSide";
import { FakeKubernetesApi } from "./fakes/kubernetesApi";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { FakeTalosApi, workerState } from "./fakes/talosApi";

describe("reboot expectation from the apply's resolved mode", () => {
  it("reboot is certain, auto only possible, the other modes and no mode expect none", () => {
    expect(rebootExpectation("reboot")).toBe("yes");
    expect(rebootExpectation("auto")).toBe("maybe");
    for (const mode of ["no_reboot", "staged", "try", undefined, ""]) expect(rebootExpectation(mode)).toBe("no");
  });
});

/**
 * A rolling gate (waitOnCreate false) driven as the engine drives it, in a separate process from the
 * serialized provider, against the fake apid; reboots are scripted on the fake while the gate runs.
 */
describe("rolling NodeGate as the engine runs it", () => {
  let pki: TestPki;
  let fake: FakeTalosApi;
  let dir: string;
  let provider: string;
  let base: Record<string, unknown>;

  beforeAll(async () => {
    pki = createTestPki();
    fake = await FakeTalosApi.start({ pki, state: workerState("v1.13.9") });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "gate-rolling-"));
    const registered = await registeredInputs(
      "NodeGate",
      {
        node: "127.0.0.1",
        port: fake.port,
        clientConfiguration: clientConfigurationOf(pki),
        expectations: { role: "worker", talosVersion: "v1.13.9" },
        fingerprint: "sha256:aaaa",
        waitOnCreate: false,
        applyMode: "auto",
        rebootGraceSeconds: 2,
        pollSeconds: 0.2,
        timeoutSeconds: 20,
      },
      dir,
    );
    provider = String(registered.__provider);
    base = engineInputs(registered);
  }, 120_000);

  afterAll(async () => {
    await fake.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => {
    fake.calls.length = 0;
  });

  it("create records and returns at once, without a single call (the node may still be a bare machine)", async () => {
    fake.down();
    try {
      const run = await engineRun(
        provider,
        [
          { op: "create", inputs: base },
          { op: "diff", inputs: base },
        ],
        dir,
      );
      expect(run.error).toBeUndefined();
      const [created, diff] = run.results;
      expect(created!.outs).toMatchObject({ fingerprint: "sha256:aaaa", lastWait: "recorded" });
      expect(created!.outs).not.toHaveProperty("bootId");
      expect(created!.outs).not.toHaveProperty("observedVersion");
      expect(diff!.result).toEqual({ changes: false, replaces: [] });
    } finally {
      await fake.up();
    }
    expect(fake.calls).toEqual([]);
  }, 120_000);

  it("an update after a rebooting apply waits for the new boot, then readiness, and records the new boot id", async () => {
    const oldBootId = fake.state.bootId;
    const olds = { ...base, bootId: oldBootId, observedVersion: "v1.13.9", lastWait: "ready" };
    delete (olds as Record<string, unknown>).clientConfiguration;
    // The node keeps answering on its old boot (healthy: readiness alone would pass) before it goes down.
    // Counted in calls, not from now: the engine-side process first loads the provider logic (a thin entry).
    fake.reboot({ answerOldBootCalls: 8, downMs: 1000 });

    const run = await engineRun(
      provider,
      [{ op: "update", olds, inputs: { ...base, fingerprint: "sha256:bbbb", applyMode: "reboot" } }],
      dir,
    );

    expect(run.error).toBeUndefined();
    const outs = run.results[0]!.outs!;
    expect(outs.bootId).not.toBe(oldBootId);
    expect(outs.bootId).toBe(fake.state.bootId);
    expect(outs).toMatchObject({ lastWait: "rebooted", observedVersion: "v1.13.9", fingerprint: "sha256:bbbb" });
    expect(run.results[0]!.ms).toBeGreaterThanOrEqual(1000);
    // Boot id reads while the old boot answered, then a readiness poll on the new boot.
    expect(fake.methodsCalled().slice(-3)).toEqual(["Version", "Read", "ServiceList"]);
    expect(fake.calls.filter((c) => c.method === "Read").length).toBeGreaterThan(2);
  }, 120_000);

  it("an auto apply that does not reboot costs the grace period, then readiness on the same boot", async () => {
    const bootId = fake.state.bootId;
    const olds = { ...base, bootId, lastWait: "ready" };
    delete (olds as Record<string, unknown>).clientConfiguration;
    const run = await engineRun(provider, [{ op: "update", olds, inputs: { ...base, fingerprint: "sha256:cccc" } }], dir);

    expect(run.error).toBeUndefined();
    expect(run.results[0]!.outs).toMatchObject({ lastWait: "no reboot seen", bootId });
    expect(run.results[0]!.ms).toBeGreaterThanOrEqual(2000);
  }, 120_000);

  it("the first update after a create that did not wait reads the boot id, and waits for a reboot it sees within the grace period", async () => {
    const created = { ...base, lastWait: "recorded" };
    delete (created as Record<string, unknown>).clientConfiguration;
    const before = fake.state.bootId;
    fake.reboot({ answerOldBootCalls: 2, downMs: 800 });
    const run = await engineRun(
      provider,
      [{ op: "update", olds: created, inputs: { ...base, fingerprint: "sha256:dddd", applyMode: "reboot", rebootGraceSeconds: 10 } }],
      dir,
    );

    expect(run.error).toBeUndefined();
    expect(run.results[0]!.outs!.bootId).not.toBe(before);
    expect(run.results[0]!.outs!.bootId).toBe(fake.state.bootId);
    expect(["went down", "rebooted"]).toContain(run.results[0]!.outs!.lastWait);
  }, 120_000);

  it("with a Kubernetes version to reach, it then waits until the node's kubelet reports it, over the Kubernetes API", async () => {
    const kube = await FakeKubernetesApi.start(pki);
    try {
      kube.addNode("w1", "v1.34.1");
      const olds = { ...base, bootId: fake.state.bootId, lastWait: "ready" };
      delete (olds as Record<string, unknown>).clientConfiguration;
      const kubernetes = { nodeName: "w1", version: "v1.35.0", kubeconfig: kube.kubeconfig(pki) };
      // Talos restarts the kubelet with the new image a little after the apply: here, a while after the
      // gate first asks (the engine-side process first loads the provider logic, a thin entry).
      let restarted: NodeJS.Timeout | undefined;
      const watch = setInterval(() => {
        if (restarted || !kube.calls().includes("GET /api/v1/nodes/w1")) return;
        restarted = setTimeout(() => kube.addNode("w1", "v1.35.0"), 1000);
        clearInterval(watch);
      }, 20);
      const run = await engineRun(
        provider,
        [{ op: "update", olds, inputs: { ...base, fingerprint: "sha256:ffff", applyMode: "no_reboot", kubernetes } }],
        dir,
      );
      clearInterval(watch);
      clearTimeout(restarted);
      expect(run.error).toBeUndefined();
      expect(kube.calls().filter((c) => c === "GET /api/v1/nodes/w1").length).toBeGreaterThan(1);
      // The kubeconfig is a credential: never an output.
      expect(JSON.stringify(run.results[0]!.outs)).not.toContain("kubeconfig");

      const stuck = await engineRun(
        provider,
        [
          {
            op: "update",
            olds,
            inputs: {
              ...base,
              fingerprint: "sha256:9999",
              applyMode: "no_reboot",
              timeoutSeconds: 2,
              kubernetes: { ...kubernetes, version: "v1.36.0" },
            },
          },
        ],
        dir,
      );
      expect(stuck.error).toMatch(/w1: Kubernetes not on v1\.36\.0 after \d+s: kubelet runs v1\.35\.0/);
    } finally {
      await kube.stop();
    }
  }, 120_000);

  it("a no_reboot apply waits for readiness only", async () => {
    const olds = { ...base, bootId: fake.state.bootId, lastWait: "ready" };
    delete (olds as Record<string, unknown>).clientConfiguration;
    const run = await engineRun(
      provider,
      [{ op: "update", olds, inputs: { ...base, fingerprint: "sha256:eeee", applyMode: "no_reboot" } }],
      dir,
    );
    expect(run.error).toBeUndefined();
    expect(run.results[0]!.outs).toMatchObject({ lastWait: "ready" });
    expect(fake.methodsCalled()).toEqual(["Version", "ServiceList", "Read"]);
  }, 120_000);
});
