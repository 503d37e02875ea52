import { clusterHealthProvider, type ClusterHealthInputs } from "../components/talos/lifecycle/clusterHealthProvider";
import { clusterReadyProvider, type ClusterReadyInputs } from "../components/talos/lifecycle/clusterReadyProvider";
import { nodeGateProvider, type GateInputs } from "../components/talos/lifecycle/nodeGateProvider";
import { membershipChanges, nodeMembershipProvider, type MembershipInputs } from "../components/talos/lifecycle/nodeMembershipProvider";
import {
  osUpgradeChanges,
  osUpgradeOutputs,
  osUpgradeProvider,
  type OsUpgradeInputs,
} from "../components/talos/lifecycle/osUpgradeProvider";
import { FakeKubernetesApi } from "./fakes/kubernetesApi";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { controlPlaneState, FakeTalosApi, workerState } from "./fakes/talosApi";

/**
 * The dynamic providers' create/update/delete called in this process, as the engine's host calls
 * them, against the fake apid and API server: how each maps its inputs onto the flows (timeouts in
 * seconds, credentials, which calls a no-op makes). The same providers serialized and run in another
 * process are node-gate(-rolling), os-upgrade-provider, node-removal-provider and cluster-health's;
 * those cannot see a mutant, so `npm run mutate -- providers` measures against these.
 */

let pki: TestPki;
const fakes: Array<{ stop(): Promise<void> }> = [];
/** What the providers print: the engine shows a provider's stdout and stderr as the resource's progress. */
let printed: { log: string[]; error: string[] };
beforeAll(() => {
  pki = createTestPki();
});
beforeEach(() => {
  printed = { log: [], error: [] };
  jest.spyOn(console, "log").mockImplementation((line: string) => void printed.log.push(line));
  jest.spyOn(console, "error").mockImplementation((line: string) => void printed.error.push(line));
});
afterEach(() => jest.restoreAllMocks());
afterAll(async () => {
  await Promise.all(fakes.map((f) => f.stop()));
});

async function talosFake(state: Parameters<typeof FakeTalosApi.start>[0]["state"]): Promise<FakeTalosApi> {
  const fake = await FakeTalosApi.start({ pki, state });
  fake.rebootScript = { answerOldBootMs: 50, downMs: 150 };
  fakes.push(fake);
  return fake;
}

async function kubeFake(): Promise<FakeKubernetesApi> {
  const fake = await FakeKubernetesApi.start(pki);
  fakes.push(fake);
  return fake;
}

const image = (version: string) => `factory.talos.dev/metal-installer/${"a".repeat(64)}:${version}`;
/** A port nothing listens on, on loopback: connection refused at once. */
const closedPort = 1;

describe("NodeGate", () => {
  const gate = (fake: FakeTalosApi, overrides: Partial<GateInputs> = {}): GateInputs => ({
    node: "127.0.0.1",
    endpoint: "127.0.0.1",
    port: fake.port,
    clientConfiguration: clientConfigurationOf(pki),
    expectations: { role: "worker", talosVersion: "v1.13.9" },
    fingerprint: "sha256:aaaa",
    timeoutSeconds: 5,
    pollSeconds: 0.05,
    ...overrides,
  });

  it("create waits for the node and records its version and boot; a rolling gate's create only records", async () => {
    const fake = await talosFake(workerState("v1.13.9"));
    const created = await nodeGateProvider.create(gate(fake));
    expect(created).toEqual({
      id: "nodegate-127.0.0.1",
      outs: { ...gate(fake), clientConfiguration: undefined, observedVersion: "v1.13.9", bootId: fake.state.bootId, lastWait: "ready" },
    });
    expect(Object.keys(created.outs ?? {})).not.toContain("clientConfiguration");
    const calls = fake.methodsCalled().length;
    const recorded = await nodeGateProvider.create(gate(fake, { waitOnCreate: false }));
    expect(recorded.outs).toMatchObject({ lastWait: "recorded" });
    expect(recorded.outs?.observedVersion).toBeUndefined();
    expect(fake.methodsCalled().length).toBe(calls);
  });

  it("update after a rebooting apply waits for the new boot (from the boot recorded before), then readiness", async () => {
    const fake = await talosFake(workerState("v1.13.9"));
    const before = fake.state.bootId;
    fake.reboot();
    const updated = await nodeGateProvider.update!("nodegate-127.0.0.1", { bootId: before } as never, gate(fake, { applyMode: "reboot" }));
    expect(updated.outs).toMatchObject({ lastWait: "rebooted", observedVersion: "v1.13.9", applyMode: "reboot" });
    expect(updated.outs?.bootId).not.toBe(before);
    expect(updated.outs?.bootId).toBe(fake.state.bootId);
  });

  it("a no_reboot apply waits for readiness only; a timeout in seconds fails naming the node", async () => {
    const fake = await talosFake(workerState("v1.13.9"));
    const updated = await nodeGateProvider.update!("g", {} as never, gate(fake, { applyMode: "no_reboot" }));
    expect(updated.outs).toMatchObject({ lastWait: "ready" });
    const old = await talosFake(workerState("v1.13.8"));
    const started = Date.now();
    await expect(nodeGateProvider.create(gate(old, { timeoutSeconds: 0.3 }))).rejects.toThrow(
      /^node 127\.0\.0\.1: readiness: not ready after 0s: .*v1\.13\.9.*v1\.13\.8/,
    );
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it("create never watches for a reboot, whatever the apply mode; offline outputs say 'recorded'", async () => {
    const fake = await talosFake(workerState("v1.13.9"));
    const created = await nodeGateProvider.create(gate(fake, { applyMode: "reboot", rebootGraceSeconds: 0.3 }));
    expect(created.outs).toMatchObject({ lastWait: "ready" });
    expect(nodeGateProvider.outputsOf(gate(fake))).toEqual({ ...gate(fake), clientConfiguration: undefined, lastWait: "recorded" });
  });

  it("an auto apply watches its grace period (seconds) at the poll interval, capped at 2 s, then judges the node as it is", async () => {
    const fake = await talosFake(workerState("v1.13.9"));
    const started = Date.now();
    const updated = await nodeGateProvider.update!("g", {} as never, gate(fake, { applyMode: "auto", rebootGraceSeconds: 0.4 }));
    expect(updated.outs).toMatchObject({ lastWait: "no reboot seen" });
    const reads = fake.methodsCalled().filter((m) => m === "Read").length;
    // 400 ms at 50 ms: several reads (not one at a 2 s pause, not hundreds at microseconds), then the ready poll's.
    expect(reads).toBeGreaterThanOrEqual(4);
    expect(reads).toBeLessThan(20);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400);
  });

  it("the timeout covers the reboot watch and the readiness wait together, in seconds", async () => {
    const old = await talosFake(workerState("v1.13.8"));
    const update = nodeGateProvider.update!(
      "g",
      {} as never,
      gate(old, { applyMode: "auto", rebootGraceSeconds: 1, timeoutSeconds: 2, pollSeconds: 0.3 }),
    );
    // 1 s watched, the other second waiting for readiness at 0.3 s polls.
    await expect(update).rejects.toThrow(/^node 127\.0\.0\.1: readiness: not ready after 1s: /);
    const polls = old.methodsCalled().filter((m) => m === "Version").length;
    expect(polls).toBeGreaterThanOrEqual(3);
    expect(polls).toBeLessThanOrEqual(6);
  });

  it("a node that gets ready within the timeout passes, however long the wait before it", async () => {
    const fake = await talosFake({
      ...workerState("v1.13.9"),
      services: workerState("v1.13.9").services.map((svc) => ({ ...svc, healthy: svc.id !== "kubelet" })),
    });
    setTimeout(() => (fake.state.services = workerState("v1.13.9").services), 400);
    await expect(nodeGateProvider.create(gate(fake))).resolves.toMatchObject({ outs: { lastWait: "ready" } });
  });

  it("the Kubernetes wait has what is left of the timeout after Talos got ready", async () => {
    const fake = await talosFake({
      ...workerState("v1.13.9"),
      services: workerState("v1.13.9").services.map((svc) => ({ ...svc, healthy: svc.id !== "kubelet" })),
    });
    setTimeout(() => (fake.state.services = workerState("v1.13.9").services), 1500);
    const kube = await kubeFake();
    kube.addNode("w1", "v1.35.0");
    const behind = gate(fake, {
      timeoutSeconds: 3,
      pollSeconds: 0.1,
      kubernetes: { nodeName: "w1", version: "v1.36.0", kubeconfig: kube.kubeconfig(pki) },
    });
    // About 1.5 s of Talos, then the other 1.5 s for the kubelet (not 3 s more).
    await expect(nodeGateProvider.create(behind)).rejects.toThrow(/^w1: Kubernetes not on v1\.36\.0 after [12]s: kubelet runs v1\.35\.0$/);
  });

  it("with a Kubernetes version to reach, waits for the Node's kubelet after Talos is ready", async () => {
    const fake = await talosFake(workerState("v1.13.9"));
    const kube = await kubeFake();
    kube.addNode("w1", "v1.35.0");
    const inputs = gate(fake, { kubernetes: { nodeName: "w1", version: "v1.35.0", kubeconfig: kube.kubeconfig(pki) } });
    await expect(nodeGateProvider.create(inputs)).resolves.toMatchObject({ outs: { lastWait: "ready" } });
    expect(kube.calls()).toContain("GET /api/v1/nodes/w1");
    const behind = gate(fake, { timeoutSeconds: 1, kubernetes: { nodeName: "w1", version: "v1.36.0", kubeconfig: kube.kubeconfig(pki) } });
    await expect(nodeGateProvider.create(behind)).rejects.toThrow("w1: Kubernetes not on v1.36.0 after 1s: kubelet runs v1.35.0");
    // A kubelet that moves after a second and a half is waited for (the wait has what is left of 5 s).
    kube.addNode("w2", "v1.35.0");
    setTimeout(() => kube.addNode("w2", "v1.36.0"), 1500);
    const later = gate(fake, { pollSeconds: 0.2, kubernetes: { nodeName: "w2", version: "v1.36.0", kubeconfig: kube.kubeconfig(pki) } });
    await expect(nodeGateProvider.create(later)).resolves.toMatchObject({ outs: { lastWait: "ready" } });
  });
});

describe("ClusterReady", () => {
  const ready = (fakesOf: FakeTalosApi[], overrides: Partial<ClusterReadyInputs> = {}): ClusterReadyInputs => ({
    nodes: fakesOf.map((f, i) => ({ node: "127.0.0.1", role: i === 0 ? "controlplane" : "worker", port: f.port })),
    talosVersion: "v1.13.9",
    clientConfiguration: clientConfigurationOf(pki),
    fingerprint: "sha256:aaaa",
    timeoutSeconds: 5,
    pollSeconds: 0.05,
    ...overrides,
  });

  it("create and update wait for every node and record the versions; outputs keep no credential", async () => {
    const cp = await talosFake(controlPlaneState("v1.13.9"));
    const worker = await talosFake(workerState("v1.13.9"));
    const inputs = ready([cp, worker]);
    const created = await clusterReadyProvider.create(inputs);
    expect(created).toEqual({
      id: "cluster-ready",
      outs: {
        nodes: inputs.nodes,
        talosVersion: "v1.13.9",
        fingerprint: "sha256:aaaa",
        timeoutSeconds: 5,
        pollSeconds: 0.05,
        observedVersions: { "127.0.0.1": "v1.13.9" },
      },
    });
    await expect(clusterReadyProvider.update!("cluster-ready", created.outs as never, inputs)).resolves.toEqual({ outs: created.outs });
  });

  it("diff compares nodes, version and fingerprint; offline outputs have no versions yet", async () => {
    const cp = await talosFake(controlPlaneState("v1.13.9"));
    const outs = clusterReadyProvider.outputsOf(ready([cp]));
    expect(outs).toEqual({
      nodes: ready([cp]).nodes,
      talosVersion: "v1.13.9",
      fingerprint: "sha256:aaaa",
      timeoutSeconds: 5,
      pollSeconds: 0.05,
      observedVersions: {},
    });
    await expect(clusterReadyProvider.diff!("cluster-ready", outs, ready([cp], { timeoutSeconds: 9 }))).resolves.toEqual({
      changes: false,
      replaces: [],
    });
    await expect(clusterReadyProvider.diff!("cluster-ready", outs, ready([cp], { talosVersion: "v1.13.10" }))).resolves.toEqual({
      changes: true,
      replaces: [],
    });
  });

  it("polls at its interval in seconds until the timeout in seconds", async () => {
    const old = await talosFake(workerState("v1.13.8"));
    await expect(
      clusterReadyProvider.create(
        ready([old], { nodes: [{ node: "127.0.0.1", role: "worker", port: old.port }], timeoutSeconds: 1, pollSeconds: 0.3 }),
      ),
    ).rejects.toThrow(/^1 of 1 nodes not ready:\nnode 127\.0\.0\.1: readiness: not ready after 1s: /);
    const polls = old.methodsCalled().filter((m) => m === "Version").length;
    expect(polls).toBeGreaterThanOrEqual(3);
    expect(polls).toBeLessThanOrEqual(6);
  });

  it("names every node that is not ready, within the timeout in seconds", async () => {
    const a = await talosFake(workerState("v1.13.8"));
    const b = await talosFake(controlPlaneState("v1.13.9"));
    const c = await talosFake(workerState("v1.13.7"));
    const error = await clusterReadyProvider.create(ready([b, a, c], { timeoutSeconds: 0.2 })).catch((e: Error) => e);
    expect(String((error as Error).message)).toMatch(
      /^2 of 3 nodes not ready:\nnode 127\.0\.0\.1: readiness: .*v1\.13\.8\nnode 127\.0\.0\.1: readiness: .*v1\.13\.7$/,
    );
  });
});

describe("ClusterHealth", () => {
  const health = (port: number, overrides: Partial<ClusterHealthInputs> = {}): ClusterHealthInputs => ({
    endpoints: ["127.0.0.1"],
    port,
    controlPlaneNodes: ["10.0.0.1"],
    workerNodes: ["10.0.0.4"],
    clientConfiguration: clientConfigurationOf(pki),
    fingerprint: "sha256:aaaa",
    timeoutSeconds: 10,
    endpointRetrySeconds: 0,
    ...overrides,
  });

  it("create runs Talos' health check with the stack's nodes and records its last message", async () => {
    const fake = await talosFake(controlPlaneState("v1.13.9"));
    const created = await clusterHealthProvider.create(health(fake.port));
    expect(created.id).toBe("cluster-health");
    expect(created.outs).toMatchObject({ controlPlaneNodes: ["10.0.0.1"], workerNodes: ["10.0.0.4"], endpointRetrySeconds: 0 });
    expect(created.outs?.lastMessage).toBe("waiting for all k8s nodes to report ready: OK");
    expect(printed.error).toEqual([
      'cluster health (127.0.0.1): discovered nodes: ["10.0.0.1" "10.0.0.4"]',
      "cluster health (127.0.0.1): waiting for etcd to be healthy: OK",
      "cluster health (127.0.0.1): waiting for all k8s nodes to report ready: OK",
    ]);
    expect(Object.keys(created.outs ?? {})).not.toContain("clientConfiguration");
    const request = fake.calls.find((c) => c.method === "HealthCheck")!.request;
    expect(request).toMatchObject({
      waitTimeout: { seconds: "10" },
      clusterInfo: { controlPlaneNodes: ["10.0.0.1"], workerNodes: ["10.0.0.4"] },
    });
  });

  it("asks Talos to wait at most 300 s per stream, and keeps asking until the timeout; offline outputs have no message", async () => {
    const fake = await talosFake(controlPlaneState("v1.13.9"));
    await clusterHealthProvider.create(health(fake.port, { timeoutSeconds: 900 }));
    expect(fake.calls.find((c) => c.method === "HealthCheck")!.request).toMatchObject({ waitTimeout: { seconds: "300" } });
    expect(clusterHealthProvider.outputsOf(health(fake.port))).toMatchObject({ lastMessage: "" });
  });

  it("retries an unreachable endpoint for its seconds before giving up", async () => {
    const started = Date.now();
    await expect(clusterHealthProvider.create(health(closedPort, { endpointRetrySeconds: 1 }))).rejects.toThrow(/UNAVAILABLE/);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(Date.now() - started).toBeLessThan(10_000);
  });

  it("an update where nodes only left records the new set and checks nothing; a joined node is checked", async () => {
    const fake = await talosFake(controlPlaneState("v1.13.9"));
    const olds = { ...clusterHealthProvider.outputsOf(health(fake.port, { workerNodes: ["10.0.0.4", "10.0.0.5"] })), lastMessage: "ok" };
    const left = await clusterHealthProvider.update!("cluster-health", olds, health(fake.port));
    expect(left.outs).toEqual({ ...clusterHealthProvider.outputsOf(health(fake.port)), lastMessage: "ok" });
    expect(fake.methodsCalled()).toEqual([]);
    const unchecked: Partial<typeof olds> = { ...olds };
    delete unchecked.lastMessage;
    await expect(clusterHealthProvider.update!("cluster-health", unchecked as never, health(fake.port))).resolves.toMatchObject({
      outs: { lastMessage: "" },
    });
    await clusterHealthProvider.update!("cluster-health", olds, health(fake.port, { workerNodes: ["10.0.0.6"] }));
    expect(fake.methodsCalled()).toEqual(["HealthCheck"]);
    expect(printed.error[0]).toBe('cluster health (127.0.0.1): discovered nodes: ["10.0.0.1" "10.0.0.6"]');
  });

  it("fails over from an endpoint that does not answer to the next; with none, or only unreachable ones, it fails", async () => {
    const fake = await talosFake(controlPlaneState("v1.13.9"));
    // 127.0.0.2 is loopback with nothing listening: refused.
    await expect(clusterHealthProvider.create(health(fake.port, { endpoints: ["127.0.0.2", "127.0.0.1"] }))).resolves.toBeDefined();
    await expect(clusterHealthProvider.create(health(fake.port, { endpoints: [] }))).rejects.toThrow("cluster health: no endpoint to ask");
    await expect(clusterHealthProvider.create(health(closedPort))).rejects.toThrow(/UNAVAILABLE/);
  });
});

describe("OsUpgrade", () => {
  const upgrade = (
    talos: FakeTalosApi,
    kube: FakeKubernetesApi,
    version: string,
    overrides: Partial<OsUpgradeInputs> = {},
  ): OsUpgradeInputs => ({
    node: "127.0.0.1",
    endpoint: "127.0.0.1",
    port: talos.port,
    nodeName: "w1",
    role: "worker",
    clientConfiguration: clientConfigurationOf(pki),
    kubeconfig: kube.kubeconfig(pki),
    image: image(version),
    targetVersion: version,
    timeoutSeconds: 30,
    drainTimeoutSeconds: 5,
    ...overrides,
  });

  it("create records without a call; update upgrades the node (seconds into the flow's milliseconds) and records the new version", async () => {
    const talos = await talosFake({ ...workerState("v1.13.0"), hostname: "w1" });
    const kube = await kubeFake();
    kube.addNode("w1");
    const created = await osUpgradeProvider.create(upgrade(talos, kube, "v1.13.0"));
    expect(created).toEqual({ id: "osupgrade-127.0.0.1", outs: osUpgradeOutputs(upgrade(talos, kube, "v1.13.0")) });
    expect(talos.methodsCalled()).toEqual([]);
    const updated = await osUpgradeProvider.update!(created.id, created.outs!, upgrade(talos, kube, "v1.13.9"));
    expect(updated.outs).toEqual(osUpgradeOutputs(upgrade(talos, kube, "v1.13.9")));
    expect(talos.state.version).toBe("v1.13.9");
    expect(printed.log).toEqual(["127.0.0.1: draining w1", `127.0.0.1: installing ${image("v1.13.9")}`]);
    const install = talos.calls.find((c) => c.method === "LifecycleUpgrade")!;
    // The call's deadline is the upgrade timeout (30 s) raised to a minute.
    expect(install.deadlineMs).toBeGreaterThan(50_000);
    expect(kube.nodes.get("w1")?.unschedulable).toBe(false);
  }, 30_000);

  it("a new installer for the version the node runs installs again; the same installer does nothing", async () => {
    const talos = await talosFake({ ...workerState("v1.13.9"), hostname: "w1" });
    const kube = await kubeFake();
    kube.addNode("w1");
    const recorded = osUpgradeOutputs(upgrade(talos, kube, "v1.13.9"));
    await osUpgradeProvider.update!("u", recorded, upgrade(talos, kube, "v1.13.9"));
    expect(talos.methodsCalled()).toEqual(["Version"]);
    const other = `factory.talos.dev/metal-installer/${"c".repeat(64)}:v1.13.9`;
    await osUpgradeProvider.update!("u", recorded, upgrade(talos, kube, "v1.13.9", { image: other }));
    expect(talos.methodsCalled().filter((m) => ["ImagePull", "LifecycleUpgrade", "Reboot"].includes(m))).toEqual([
      "ImagePull",
      "LifecycleUpgrade",
      "Reboot",
    ]);
  }, 30_000);

  it("diff: a new installer or target upgrades again, a refresh that found another version too; the offline outputs keep the rollout policy", async () => {
    const talos = await talosFake(workerState("v1.13.9"));
    const kube = await kubeFake();
    const recorded = osUpgradeOutputs(upgrade(talos, kube, "v1.13.9", { unmanagedPods: "refuse" }));
    expect(recorded.unmanagedPods).toBe("refuse");
    await expect(osUpgradeProvider.diff!("u", recorded, upgrade(talos, kube, "v1.13.9", { timeoutSeconds: 5 }))).resolves.toEqual({
      changes: false,
      replaces: [],
    });
    await expect(osUpgradeProvider.diff!("u", recorded, upgrade(talos, kube, "v1.13.10"))).resolves.toEqual({
      changes: true,
      replaces: [],
    });
    const unread: Partial<typeof recorded> = { ...recorded };
    delete unread.observedVersion;
    expect(osUpgradeChanges(unread, upgrade(talos, kube, "v1.13.9"))).toEqual([]);
    expect(osUpgradeChanges({ ...recorded, observedVersion: "v1.13.4" }, upgrade(talos, kube, "v1.13.9"))).toEqual(["observedVersion"]);
  });

  it("an upgrade whose node boots the old version again fails, even when only its installer changed with it", async () => {
    const talos = await talosFake({ ...workerState("v1.13.0"), hostname: "w1" });
    talos.rebootScript = { answerOldBootMs: 50, downMs: 150, comeBackAs: { version: "v1.13.0" } };
    const kube = await kubeFake();
    kube.addNode("w1");
    const recorded = osUpgradeOutputs(upgrade(talos, kube, "v1.13.0"));
    const other = `factory.talos.dev/metal-installer/${"c".repeat(64)}:v1.13.9`;
    await expect(osUpgradeProvider.update!("u", recorded, upgrade(talos, kube, "v1.13.9", { image: other }))).rejects.toThrow(
      "the node came back on v1.13.0 after the reboot, not v1.13.9",
    );
  }, 30_000);

  it("the timeouts are seconds: a reboot of over a second is waited for, a blocked drain named after its seconds", async () => {
    const talos = await talosFake({ ...workerState("v1.13.0"), hostname: "w1" });
    talos.rebootScript = { answerOldBootMs: 50, downMs: 2500 };
    const kube = await kubeFake();
    kube.addNode("w1");
    const recorded = osUpgradeOutputs(upgrade(talos, kube, "v1.13.0"));
    await expect(osUpgradeProvider.update!("u", recorded, upgrade(talos, kube, "v1.13.9"))).resolves.toMatchObject({
      outs: { observedVersion: "v1.13.9" },
    });
    kube.addPod({ namespace: "db", name: "pg-0", nodeName: "w1", owner: "StatefulSet", budget: { name: "pg", blocks: "forever" } });
    await expect(osUpgradeProvider.update!("u", recorded, upgrade(talos, kube, "v1.13.10", { drainTimeoutSeconds: 1 }))).rejects.toThrow(
      /^drain w1: 1 pod\(s\) still blocked by their disruption budgets after 1s: db\/pg-0/,
    );
  }, 30_000);

  it("read reports the version the node runs, with the reader credential kept in state", async () => {
    const talos = await talosFake(workerState("v1.13.4"));
    const kube = await kubeFake();
    const recorded = osUpgradeOutputs(upgrade(talos, kube, "v1.13.9"));
    await expect(osUpgradeProvider.read!("u", recorded)).resolves.toEqual({ id: "u", props: { ...recorded, observedVersion: "v1.13.4" } });
  });
});

describe("NodeMembership", () => {
  const membership = (talos: FakeTalosApi, kube: FakeKubernetesApi, overrides: Partial<MembershipInputs> = {}): MembershipInputs => ({
    nodeName: "w1",
    node: "127.0.0.1",
    endpoint: "127.0.0.1",
    port: talos.port,
    role: "worker",
    controlPlanes: [],
    kubeconfig: kube.kubeconfig(pki),
    clientConfiguration: clientConfigurationOf(pki),
    drainTimeoutSeconds: 5,
    deleteEmptyDirData: true,
    force: false,
    allowBelowMajority: false,
    resetTimeoutSeconds: 10,
    ...overrides,
  });

  it("create and an update that renames nothing only record; delete removes the node from its stored outputs", async () => {
    const talos = await talosFake({ ...workerState("v1.13.9"), hostname: "w1" });
    const kube = await kubeFake();
    kube.addNode("w1");
    kube.addPod({ namespace: "app", name: "web-1", nodeName: "w1", owner: "ReplicaSet" });
    const inputs = membership(talos, kube);
    const created = await nodeMembershipProvider.create(inputs);
    expect(created).toEqual({ id: "membership-w1", outs: inputs });
    await expect(nodeMembershipProvider.update!(created.id, created.outs!, { ...inputs, drainTimeoutSeconds: 9 })).resolves.toEqual({
      outs: { ...inputs, drainTimeoutSeconds: 9 },
    });
    expect(talos.methodsCalled()).toEqual([]);
    expect(kube.calls()).toEqual([]);
    await nodeMembershipProvider.delete!(created.id, created.outs!);
    expect(kube.calls()).toEqual([
      "GET /api/v1/nodes/w1",
      "PATCH /api/v1/nodes/w1",
      "GET /api/v1/pods",
      "POST /api/v1/namespaces/app/pods/web-1/eviction",
      "GET /api/v1/namespaces/app/pods/web-1",
      "DELETE /api/v1/nodes/w1",
    ]);
    expect(printed.log).toEqual(["remove worker w1: draining", "evicting app/web-1", "remove worker w1: resetting"]);
    const reset = talos.calls.find((c) => c.method === "Reset")!;
    expect(reset.request).toMatchObject({ graceful: true, reboot: true });
    expect(kube.nodes.has("w1")).toBe(false);
  }, 30_000);

  it("records the os:reader credential when given, and a new one is a change; an update without a recorded name renames nothing", async () => {
    const talos = await talosFake(workerState("v1.13.9"));
    const kube = await kubeFake();
    const reader = clientConfigurationOf(pki, pki.client);
    const plain = membership(talos, kube);
    expect(Object.keys((await nodeMembershipProvider.create(plain)).outs ?? {})).not.toContain("readerConfiguration");
    const withReader = { ...plain, readerConfiguration: reader };
    expect((await nodeMembershipProvider.create(withReader)).outs).toEqual(withReader);
    await expect(nodeMembershipProvider.diff!("m", plain, withReader)).resolves.toEqual({ changes: true, replaces: [] });
    expect(membershipChanges(plain, withReader)).toEqual(["readerConfiguration"]);
    await expect(nodeMembershipProvider.diff!("m", withReader, withReader)).resolves.toEqual({ changes: false, replaces: [] });
    const unnamed: Partial<typeof plain> = { ...plain };
    delete unnamed.nodeName;
    await nodeMembershipProvider.update!("m", unnamed as never, { ...plain, nodeName: "w9" });
    expect(kube.calls()).toEqual([]);
  });

  it("a rename's update retires the old Node, saying so on the engine's output", async () => {
    const talos = await talosFake(workerState("v1.13.9"));
    const kube = await kubeFake();
    kube.addNode("w1", "v1.35.0");
    kube.stopPosting("w1");
    kube.addNode("w1-new", "v1.35.0");
    const olds = membership(talos, kube);
    await nodeMembershipProvider.update!("m", olds, { ...olds, nodeName: "w1-new" });
    expect(kube.nodes.has("w1")).toBe(false);
    expect(printed.log).toEqual(["rename w1 → w1-new (127.0.0.1): Node w1-new is Ready; Node w1 deleted"]);
  });

  it("a drain blocked past its seconds stops the removal, named", async () => {
    const talos = await talosFake({ ...workerState("v1.13.9"), hostname: "w1" });
    const kube = await kubeFake();
    kube.addNode("w1");
    kube.addPod({ namespace: "db", name: "pg-0", nodeName: "w1", owner: "StatefulSet", budget: { name: "pg", blocks: "forever" } });
    await expect(nodeMembershipProvider.delete!("m", membership(talos, kube, { drainTimeoutSeconds: 1 }))).rejects.toThrow(
      /^drain w1: 1 pod\(s\) still blocked by their disruption budgets after 1s: db\/pg-0/,
    );
    expect(talos.methodsCalled()).not.toContain("Reset");
  });

  it("a drain that cannot finish in its seconds stops the removal before the reset, the node uncordoned", async () => {
    const talos = await talosFake({ ...workerState("v1.13.9"), hostname: "w1" });
    const kube = await kubeFake();
    kube.addNode("w1");
    kube.addPod({ namespace: "app", name: "solo", nodeName: "w1" });
    const inputs = membership(talos, kube, { drainTimeoutSeconds: 1 });
    await expect(nodeMembershipProvider.delete!("m", inputs)).rejects.toThrow(/^drain w1: refusing to evict: app\/solo has no controller/);
    expect(talos.methodsCalled()).not.toContain("Reset");
    expect(kube.nodes.get("w1")?.unschedulable).toBe(false);
    // force (the stack's unmanagedPods: evict) takes it.
    await nodeMembershipProvider.delete!("m", { ...inputs, force: true });
    expect(talos.methodsCalled()).toContain("Reset");
  }, 30_000);
});

describe("control planes: the etcd steps reach every peer through its own endpoint", () => {
  /** Three control planes on their own ports, one etcd member list between them. */
  async function controlPlanes(version: string) {
    const base = controlPlaneState(version);
    const members = base.etcd!.members;
    const fakesOf = await Promise.all(
      members.map((m) => talosFake({ ...base, hostname: m.hostname, etcd: { memberId: m.id, errors: [], members } })),
    );
    const endpoints = fakesOf.map((f, i) => ({ node: `cp${i + 1}`, endpoint: "127.0.0.1", port: f.port }));
    return { fakesOf, endpoints, members };
  }

  it("NodeMembership removes a control plane: every peer asked, the member gone, the Node deleted", async () => {
    const { fakesOf, endpoints, members } = await controlPlanes("v1.13.9");
    const kube = await kubeFake();
    kube.addNode("cp1", "v1.35.0", { role: "controlplane" });
    const props: MembershipInputs = {
      nodeName: "cp1",
      ...endpoints[0]!,
      role: "controlplane",
      controlPlanes: endpoints,
      kubeconfig: kube.kubeconfig(pki),
      clientConfiguration: clientConfigurationOf(pki),
      drainTimeoutSeconds: 5,
      deleteEmptyDirData: true,
      force: true,
      allowBelowMajority: false,
      resetTimeoutSeconds: 10,
    };
    await nodeMembershipProvider.delete!("membership-cp1", props);
    for (const fake of fakesOf) expect(fake.methodsCalled()).toContain("EtcdStatus");
    expect(fakesOf[0]!.methodsCalled()).toEqual(expect.arrayContaining(["EtcdForfeitLeadership", "EtcdLeaveCluster", "Reset"]));
    expect(members.map((m) => m.hostname)).toEqual(["cp2", "cp3"]);
    expect(kube.nodes.has("cp1")).toBe(false);
  }, 30_000);

  it("OsUpgrade of a control plane checks etcd on every peer before it goes down", async () => {
    const { fakesOf, endpoints } = await controlPlanes("v1.13.0");
    const kube = await kubeFake();
    kube.addNode("cp1", "v1.35.0", { role: "controlplane" });
    const inputs: OsUpgradeInputs = {
      ...endpoints[0]!,
      nodeName: "cp1",
      role: "controlplane",
      controlPlanes: endpoints,
      clientConfiguration: clientConfigurationOf(pki),
      kubeconfig: kube.kubeconfig(pki),
      image: image("v1.13.9"),
      targetVersion: "v1.13.9",
      timeoutSeconds: 30,
      drainTimeoutSeconds: 5,
    };
    await expect(
      osUpgradeProvider.update!("u", osUpgradeOutputs({ ...inputs, image: image("v1.13.0"), targetVersion: "v1.13.0" }), inputs),
    ).resolves.toMatchObject({
      outs: { observedVersion: "v1.13.9" },
    });
    for (const fake of fakesOf.slice(1)) expect(fake.methodsCalled()).toContain("EtcdStatus");
    expect(fakesOf[0]!.methodsCalled()).toEqual(expect.arrayContaining(["EtcdForfeitLeadership", "LifecycleUpgrade", "Reboot"]));
    expect(fakesOf[0]!.state.version).toBe("v1.13.9");
  }, 30_000);
});
