import { createKubernetesClient, type KubernetesClient } from "../components/kubernetesApi";
import { upgradeNode, type OsUpgradeRequest } from "../components/talos/lifecycle/osUpgrade";
import { upgradePlan, type PlanNode } from "../components/talos/lifecycle/upgradePlan";
import { createMachineClient, type ClientConfiguration, type MachineClient } from "../components/talos/machineApi";
import { FakeKubernetesApi } from "./fakes/kubernetesApi";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { controlPlaneState, FakeTalosApi, workerState, type FakeNodeState } from "./fakes/talosApi";

const schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
const image = (version: string) => `factory.talos.dev/metal-installer/${schematic}:${version}`;
const memberIds: Record<string, string> = { cp1: "11806905567389581231", cp2: "4211352893648726347", cp3: "16141391453225318400" };

let pki: TestPki;
let clientConfiguration: ClientConfiguration;
let kube: FakeKubernetesApi;
const fakes = new Map<string, FakeTalosApi>();
const clients: MachineClient[] = [];

beforeAll(() => {
  pki = createTestPki();
  clientConfiguration = clientConfigurationOf(pki);
});

beforeEach(async () => {
  kube = await FakeKubernetesApi.start(pki);
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all([...fakes.values()].map((fake) => fake.stop()));
  fakes.clear();
  await kube.stop();
});

function stateFor(name: string, role: "controlplane" | "worker", version: string): FakeNodeState {
  if (role === "worker") return { ...workerState(version), hostname: name };
  const members = Object.entries(memberIds).map(([hostname, id]) => ({ id, hostname }));
  return { ...controlPlaneState(version), hostname: name, etcd: { memberId: memberIds[name], errors: [], members } };
}

async function node(name: string, role: "controlplane" | "worker", version: string): Promise<MachineClient> {
  const fake = await FakeTalosApi.start({ pki, state: stateFor(name, role, version) });
  fake.rebootScript = { answerOldBootMs: 100, downMs: 300 };
  fakes.set(name, fake);
  kube.addNode(name);
  const client = createMachineClient({
    endpoint: "127.0.0.1",
    port: fake.port,
    clientConfiguration,
    callTimeoutMs: 10_000,
    reconnectBackoffMs: { initial: 50, max: 200 },
    backoff: { initialMs: 50, maxMs: 200, factor: 2 },
  });
  clients.push(client);
  return Object.assign(Object.create(client) as MachineClient, { node: name });
}

function kubeClient(): KubernetesClient {
  return createKubernetesClient({ kubeconfig: kube.kubeconfig(pki), retryForMs: 0 });
}

function request(name: string, role: "controlplane" | "worker", target: string): OsUpgradeRequest {
  return {
    node: name,
    nodeName: name,
    role,
    image: image(target),
    targetVersion: target,
    timeoutMs: 20_000,
    drainTimeoutMs: 5_000,
    intervalMs: 50,
  };
}

describe("OS upgrade, one node", () => {
  it("does nothing on a node that already runs the target (first bring-up installed it)", async () => {
    const talos = await node("w1", "worker", "v1.13.0");
    const result = await upgradeNode({ talos, kube: kubeClient() }, request("w1", "worker", "v1.13.0"));
    expect(result).toEqual({ previousVersion: "v1.13.0", observedVersion: "v1.13.0", upgraded: false });
    expect(fakes.get("w1")?.methodsCalled()).toEqual(["Version"]);
    expect(kube.requests).toEqual([]);
  });

  it("refuses a target that skips a minor, or goes back, before touching the node", async () => {
    const talos = await node("w1", "worker", "v1.11.6");
    await expect(upgradeNode({ talos, kube: kubeClient() }, request("w1", "worker", "v1.13.0"))).rejects.toThrow(
      "node w1: upgrade: refused: v1.11.6 → v1.13.0 skips v1.12: upgrade one minor at a time",
    );
    await expect(upgradeNode({ talos, kube: kubeClient() }, request("w1", "worker", "v1.10.9"))).rejects.toThrow(
      "node w1: upgrade: refused: v1.11.6 → v1.10.9 is a downgrade",
    );
    expect(fakes.get("w1")?.methodsCalled()).toEqual(["Version", "Version"]);
  });

  it("on v1.13+: drains, pulls and installs through LifecycleService, reboots, waits for the target, uncordons", async () => {
    const talos = await node("w1", "worker", "v1.13.0");
    kube.addPod({ namespace: "app", name: "web-1", nodeName: "w1", owner: "ReplicaSet" });
    const timeline: string[] = [];
    kube.onRequest = (r) => r.method !== "GET" && timeline.push(`kube ${r.method} ${r.path} ${JSON.stringify(r.body)}`);
    const wrapped = Object.create(talos) as MachineClient;
    Object.assign(wrapped, {
      lifecycleUpgrade: (img: string, o: unknown) => (timeline.push(`talos install ${img}`), talos.lifecycleUpgrade(img, o as undefined)),
      reboot: (mode: "DEFAULT", o: unknown) => (timeline.push("talos reboot"), talos.reboot(mode, o as undefined)),
    });

    const result = await upgradeNode({ talos: wrapped, kube: kubeClient() }, request("w1", "worker", "v1.13.9"));

    expect(result).toEqual({ previousVersion: "v1.13.0", observedVersion: "v1.13.9", upgraded: true, path: "lifecycle" });
    expect(timeline).toEqual([
      'kube PATCH /api/v1/nodes/w1 {"spec":{"unschedulable":true}}',
      'kube POST /api/v1/namespaces/app/pods/web-1/eviction {"apiVersion":"policy/v1","kind":"Eviction","metadata":{"name":"web-1","namespace":"app"}}',
      `talos install ${image("v1.13.9")}`,
      "talos reboot",
      'kube PATCH /api/v1/nodes/w1 {"spec":{"unschedulable":false}}',
    ]);
    const methods = fakes.get("w1")?.methodsCalled() ?? [];
    expect(methods).not.toContain("Upgrade");
    expect(methods.indexOf("ImagePull")).toBeLessThan(methods.indexOf("LifecycleUpgrade"));
    expect(methods.indexOf("LifecycleUpgrade")).toBeLessThan(methods.indexOf("Reboot"));
    expect(fakes.get("w1")?.state.version).toBe("v1.13.9");
  });

  it("reinstalls a node already on the target when its installer changed (new schematic), and waits for the new boot", async () => {
    const talos = await node("w1", "worker", "v1.13.9");
    const bootBefore = fakes.get("w1")!.state.bootId;
    const newInstaller = `factory.talos.dev/metal-installer/${"b".repeat(64)}:v1.13.9`;
    const result = await upgradeNode(
      { talos, kube: kubeClient() },
      { ...request("w1", "worker", "v1.13.9"), image: newInstaller, reinstall: true },
    );
    expect(result).toEqual({ previousVersion: "v1.13.9", observedVersion: "v1.13.9", upgraded: true, path: "lifecycle" });
    const methods = fakes.get("w1")?.methodsCalled() ?? [];
    expect(methods.filter((m) => ["ImagePull", "LifecycleUpgrade", "Reboot"].includes(m))).toEqual([
      "ImagePull",
      "LifecycleUpgrade",
      "Reboot",
    ]);
    expect(fakes.get("w1")!.state.bootId).not.toBe(bootBefore);
    // Without the flag the same request is a no-op: the version alone cannot tell a new installer.
    const again = await upgradeNode({ talos, kube: kubeClient() }, { ...request("w1", "worker", "v1.13.9"), image: newInstaller });
    expect(again.upgraded).toBe(false);
  });

  it("fails naming the node when it comes back on the old version", async () => {
    const talos = await node("w1", "worker", "v1.12.11");
    const fake = fakes.get("w1");
    if (fake) fake.rebootScript = { answerOldBootMs: 100, downMs: 300, comeBackAs: { version: "v1.12.11" } };
    await expect(upgradeNode({ talos, kube: kubeClient() }, request("w1", "worker", "v1.13.0"))).rejects.toThrow(
      "node w1: upgrade: the node came back on v1.12.11 after the reboot, not v1.13.0: the new version did not boot",
    );
  });

  it("refuses to take down a node that is not healthy (the previous node of the order must be back first)", async () => {
    const talos = await node("cp1", "controlplane", "v1.12.11");
    const fake = fakes.get("cp1");
    if (fake?.state.etcd) fake.state.etcd.errors = ["etcdserver: no leader"];
    await expect(upgradeNode({ talos, kube: kubeClient() }, request("cp1", "controlplane", "v1.13.0"))).rejects.toThrow(
      "node cp1: upgrade: refused: the node is not healthy on v1.12.11 before the upgrade: etcd member 11806905567389581231 reports errors: etcdserver: no leader",
    );
    expect(fake?.methodsCalled()).not.toContain("Upgrade");
  });
});

describe("rolling OS upgrade through the plan", () => {
  it("upgrades 3 control planes then 2 workers from v1.12 to v1.13, one node down at a time, each back on v1.13 before the next", async () => {
    const nodes: PlanNode[] = [
      { name: "cp1", role: "controlplane" },
      { name: "w1", role: "worker" },
      { name: "cp2", role: "controlplane" },
      { name: "cp3", role: "controlplane" },
      { name: "w2", role: "worker" },
    ];
    const talos = new Map<string, MachineClient>();
    for (const n of nodes) talos.set(n.name, await node(n.name, n.role, "v1.12.11"));
    const kubeApi = kubeClient();
    const order: string[] = [];
    const violations: string[] = [];
    const onEvent = (event: "going-down" | "ready", name: string) => {
      order.push(`${event} ${name}`);
      if (event !== "going-down") return;
      // Checked on the fakes themselves: every other node answers, and those already done run v1.13.0.
      for (const [other, fake] of fakes) {
        if (other === name) continue;
        if (!fake.isUp) violations.push(`${name} went down while ${other} was down`);
        if (order.includes(`ready ${other}`) && fake.state.version !== "v1.13.0") violations.push(`${other} not on v1.13.0`);
      }
    };

    for (const batch of upgradePlan(nodes, { maxUnavailableWorkers: 1 })) {
      await Promise.all(
        batch.nodes.map((name) => {
          const client = talos.get(name);
          if (!client) throw new Error(name);
          // The etcd pre-flight asks every control plane.
          const controlPlanes = nodes.filter((n) => n.role === "controlplane").map((n) => talos.get(n.name)!);
          return upgradeNode({ talos: client, kube: kubeApi, onEvent, controlPlanes }, request(name, batch.role, "v1.13.0"));
        }),
      );
    }

    expect(violations).toEqual([]);
    expect(order).toEqual(["cp1", "cp2", "cp3", "w1", "w2"].flatMap((n) => [`going-down ${n}`, `ready ${n}`]));
    for (const [name, fake] of fakes) {
      expect([name, fake.state.version]).toEqual([name, "v1.13.0"]);
      // Nodes on v1.12 take MachineService/Upgrade (the lifecycle API answers UNIMPLEMENTED there).
      expect(fake.calls.filter((c) => c.method === "Upgrade").map((c) => c.request.image)).toEqual([image("v1.13.0")]);
      expect(fake.methodsCalled()).not.toContain("LifecycleUpgrade");
    }
  }, 120_000);
});
