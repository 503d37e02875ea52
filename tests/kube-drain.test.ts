import { createKubernetesClient, type KubernetesClient } from "../components/kubernetesApi";
import { drainNode, drainPolicy } from "../components/talos/lifecycle/drain";
import { upgradeNode, type OsUpgradeRequest } from "../components/talos/lifecycle/osUpgrade";
import { removeNode, type RemovalRequest } from "../components/talos/lifecycle/nodeRemoval";
import { upgradePlan } from "../components/talos/lifecycle/upgradePlan";
import { createMachineClient, type ClientConfiguration, type MachineClient } from "../components/talos/machineApi";
import { FakeKubernetesApi } from "./fakes/kubernetesApi";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { FakeTalosApi, workerState } from "./fakes/talosApi";
import { virtualClock } from "./fakes/virtualClock";

/**
 * Drains and node returns against the faithful Kubernetes fake: the drain talosctl runs (emptyDir data
 * deleted, controller-less pods evicted by default), a cordon never left behind silently, a node back
 * from its upgrade Ready and on the cluster's kubelet version before it is uncordoned and the roll moves on.
 */

const image = (version: string) => `factory.talos.dev/metal-installer/${"a".repeat(64)}:${version}`;

let pki: TestPki;
let clientConfiguration: ClientConfiguration;
let kube: FakeKubernetesApi;
const fakes = new Map<string, FakeTalosApi>();
const clients: MachineClient[] = [];

beforeAll(() => {
  pki = createTestPki();
  clientConfiguration = clientConfigurationOf(pki);
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all([...fakes.values()].map((fake) => fake.stop()));
  fakes.clear();
  await kube.stop();
});

async function worker(name: string, version: string, kubeletVersion = "v1.35.0"): Promise<MachineClient> {
  const fake = await FakeTalosApi.start({ pki, state: { ...workerState(version), hostname: name } });
  fake.rebootScript = { answerOldBootMs: 100, downMs: 300 };
  fakes.set(name, fake);
  kube.addNode(name, kubeletVersion);
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

const kubeClient = (): KubernetesClient => createKubernetesClient({ kubeconfig: kube.kubeconfig(pki), retryForMs: 0, callTimeoutMs: 5000 });

function upgrade(name: string, target: string, extra: Partial<OsUpgradeRequest> = {}): OsUpgradeRequest {
  return {
    node: name,
    nodeName: name,
    role: "worker",
    image: image(target),
    targetVersion: target,
    timeoutMs: 4_000,
    drainTimeoutMs: 2_000,
    intervalMs: 50,
    ...extra,
  };
}

describe("the drain talosctl runs (v1.13 upgrade path)", () => {
  beforeEach(async () => {
    kube = await FakeKubernetesApi.start(pki);
  });

  it("upgrades a node running an emptyDir pod and a bare pod: both evicted, DaemonSet pod left, node back and uncordoned", async () => {
    const talos = await worker("w1", "v1.13.0");
    kube.addPod({ namespace: "app", name: "cache-0", nodeName: "w1", owner: "StatefulSet", emptyDir: true });
    kube.addPod({ namespace: "app", name: "debug", nodeName: "w1" });

    const result = await upgradeNode({ talos, kube: kubeClient() }, upgrade("w1", "v1.13.9"));

    expect(result).toMatchObject({ upgraded: true, path: "lifecycle", observedVersion: "v1.13.9" });
    expect(kube.calls().filter((c) => c.endsWith("/eviction"))).toEqual([
      "POST /api/v1/namespaces/app/pods/cache-0/eviction",
      "POST /api/v1/namespaces/app/pods/debug/eviction",
    ]);
    expect(kube.hasPod("kube-system", "cilium-w1")).toBe(true);
    expect(kube.nodes.get("w1")?.unschedulable).toBe(false);
  }, 30_000);

  it("refuses controller-less pods when the stack file says refuse, and evicts nothing", async () => {
    kube.addNode("w1");
    kube.addPod({ namespace: "app", name: "debug", nodeName: "w1" });
    kube.addPod({ namespace: "app", name: "web-1", nodeName: "w1", owner: "ReplicaSet" });
    await expect(drainNode(kubeClient(), "w1", { timeoutMs: 1000, ...drainPolicy("refuse") })).rejects.toThrow(
      "drain w1: refusing to evict: app/debug has no controller to recreate it (allow with force)",
    );
    expect(kube.calls().filter((c) => c.endsWith("/eviction"))).toEqual([]);
    expect(drainPolicy()).toEqual({ deleteEmptyDirData: true, force: true });
  });
});

describe("no node left cordoned silently", () => {
  beforeEach(async () => {
    kube = await FakeKubernetesApi.start(pki);
  });

  it("a drain that times out on a budget uncordons the node and names every blocking pod and its budget", async () => {
    kube.addNode("w1");
    kube.addPod({ namespace: "db", name: "pg-0", nodeName: "w1", owner: "StatefulSet", budget: { name: "pg", blocks: "forever" } });
    kube.addPod({
      namespace: "mq",
      name: "rabbit-1",
      nodeName: "w1",
      owner: "StatefulSet",
      budget: { name: "rabbit", blocks: "forever", desiredHealthy: 3, currentHealthy: 2 },
    });
    await expect(drainNode(kubeClient(), "w1", { timeoutMs: 120_000, clock: virtualClock() })).rejects.toThrow(
      "drain w1: 2 pod(s) still blocked by their disruption budgets after 120s: db/pg-0 (PodDisruptionBudget db/pg: needs 1 healthy pods and has 1 currently); mq/rabbit-1 (PodDisruptionBudget mq/rabbit: needs 3 healthy pods and has 2 currently); w1 uncordoned again (nothing was taken down)",
    );
    expect(kube.nodes.get("w1")?.unschedulable).toBe(false);
  });

  it("an upgrade whose drain times out leaves the node schedulable, and the Talos node untouched", async () => {
    const talos = await worker("w1", "v1.13.0");
    kube.addPod({ namespace: "db", name: "pg-0", nodeName: "w1", owner: "StatefulSet", budget: { name: "pg", blocks: "forever" } });
    await expect(upgradeNode({ talos, kube: kubeClient(), clock: virtualClock() }, upgrade("w1", "v1.13.9"))).rejects.toThrow(
      /^drain w1: 1 pod\(s\) still blocked .*; w1 uncordoned again \(nothing was taken down\)$/,
    );
    expect(kube.nodes.get("w1")?.unschedulable).toBe(false);
    expect(fakes.get("w1")?.methodsCalled()).not.toContain("LifecycleUpgrade");
  }, 30_000);

  it("a removal whose drain times out leaves the node schedulable and not reset", async () => {
    const talos = await worker("w1", "v1.13.9");
    kube.addPod({ namespace: "db", name: "pg-0", nodeName: "w1", owner: "StatefulSet", budget: { name: "pg", blocks: "forever" } });
    const request: RemovalRequest = { nodeName: "w1", node: "w1", role: "worker", drain: { timeoutMs: 60_000 }, resetTimeoutMs: 5000 };
    await expect(removeNode({ kube: kubeClient(), talos, controlPlanes: [], clock: virtualClock() }, request)).rejects.toThrow(
      "w1 uncordoned again",
    );
    expect(kube.nodes.get("w1")?.unschedulable).toBe(false);
    expect(fakes.get("w1")?.methodsCalled()).not.toContain("Reset");
  }, 30_000);

  it("when the uncordon fails too, the error says the node is left cordoned and why", async () => {
    const talos = await worker("w1", "v1.13.0");
    const failing = Object.create(talos) as MachineClient;
    Object.assign(failing, { lifecycleUpgrade: () => Promise.reject(new Error("node w1: LifecycleService/Upgrade: image not found")) });
    const api = kubeClient();
    const kubeApi: KubernetesClient = {
      ...api,
      setUnschedulable: (name, value) => (value ? api.setUnschedulable(name, value) : Promise.reject(new Error("uncordon node w1: 503"))),
    };
    await expect(upgradeNode({ talos: failing, kube: kubeApi }, upgrade("w1", "v1.13.9"))).rejects.toThrow(
      "node w1: LifecycleService/Upgrade: image not found; w1 is left cordoned: uncordon failed (uncordon node w1: 503)",
    );
    expect(kube.nodes.get("w1")?.unschedulable).toBe(true);
  }, 30_000);
});

describe("a node back from its upgrade", () => {
  beforeEach(async () => {
    kube = await FakeKubernetesApi.start(pki);
  });

  it("stays cordoned and stops the roll when it comes back NotReady: the error names the node and its conditions", async () => {
    const talos = new Map([
      ["w1", await worker("w1", "v1.13.0")],
      ["w2", await worker("w2", "v1.13.0")],
    ]);
    const onEvent = (event: "going-down" | "ready", name: string) => {
      if (event === "going-down" && name === "w1")
        kube.setNodeReady("w1", false, "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady");
    };
    const roll = async () => {
      for (const batch of upgradePlan(
        [
          { name: "w1", role: "worker" },
          { name: "w2", role: "worker" },
        ],
        { maxUnavailableWorkers: 1 },
      ))
        for (const name of batch.nodes)
          await upgradeNode({ talos: talos.get(name)!, kube: kubeClient(), onEvent }, upgrade(name, "v1.13.9"));
    };
    await expect(roll()).rejects.toThrow(
      /^w1: Kubernetes not on v1\.35\.0 after \d+s: Node w1 not Ready \(Ready=False KubeletNotReady: container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady\); w1 is left cordoned: it went down for the upgrade and did not come back healthy/,
    );
    expect(kube.nodes.get("w1")?.unschedulable).toBe(true);
    expect(fakes.get("w2")?.methodsCalled()).not.toContain("LifecycleUpgrade");
    expect(kube.calls()).not.toContain("PATCH /api/v1/nodes/w2");
  }, 30_000);

  it("waits for the Node to be Ready again on its kubelet version before uncordoning (machine path, Talos 1.12)", async () => {
    const talos = await worker("w1", "v1.12.11", "v1.35.0");
    const order: string[] = [];
    kube.onRequest = (r) => r.method === "PATCH" && order.push(`uncordon with Ready=${String(kube.nodes.get("w1")?.ready)}`);
    const onEvent = (event: "going-down" | "ready") => {
      if (event !== "going-down") return;
      // The kubelet stops posting while the node reboots, and is Ready a while after Talos reports the node healthy.
      kube.setNodeReady("w1", false, "Kubelet stopped posting node status.");
      setTimeout(() => kube.setNodeReady("w1", true), 2000);
    };
    await upgradeNode({ talos, kube: kubeClient(), onEvent }, upgrade("w1", "v1.13.0"));
    expect(order).toEqual(["uncordon with Ready=true"]);
  }, 30_000);
});

describe("the fake API server answers as kube-apiserver does", () => {
  let clock: ReturnType<typeof virtualClock>;
  beforeEach(async () => {
    clock = virtualClock();
    kube = await FakeKubernetesApi.start(pki, { clock });
  });

  it("refuses an eviction a budget blocks with 429 and the DisruptionBudget cause, which the client reads", async () => {
    kube.addNode("w1");
    kube.addPod({ namespace: "db", name: "pg-0", nodeName: "w1", owner: "StatefulSet", budget: { name: "pg", blocks: 1 } });
    const client = kubeClient();
    const blocked = await client.evictPod("db", "pg-0");
    expect(blocked).toEqual({
      outcome: "blocked",
      budget: "pg",
      budgetDetail: "needs 1 healthy pods and has 1 currently",
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
    });
    expect(await client.evictPod("db", "pg-0")).toEqual({ outcome: "evicted" });
    expect(await client.evictPod("db", "pg-0")).toEqual({ outcome: "gone" });
  });

  it("keeps an evicted pod terminating for its grace period on the injected clock, and the drain waits for it", async () => {
    kube.addNode("w1", undefined, { role: "controlplane" });
    kube.addPod({ namespace: "app", name: "web-1", nodeName: "w1", owner: "ReplicaSet", graceSeconds: 30 });
    const result = await drainNode(kubeClient(), "w1", { timeoutMs: 60_000, pollMs: 5000, clock });
    expect(result.evicted).toEqual(["app/web-1"]);
    // Mirror and DaemonSet pods of a control plane are there by default, and left.
    expect(result.skipped.sort()).toEqual([
      "kube-system/cilium-w1",
      "kube-system/kube-apiserver-w1",
      "kube-system/kube-controller-manager-w1",
      "kube-system/kube-scheduler-w1",
    ]);
    expect(clock.now()).toBe(30_000);
    expect(kube.calls().filter((c) => c === "GET /api/v1/namespaces/app/pods/web-1")).toHaveLength(7);
  });

  it("answers a pod selected by two budgets with the 500 Status the eviction subresource sends, and the drain stops on it", async () => {
    kube.addNode("w1");
    kube.addPod({ namespace: "app", name: "web-1", nodeName: "w1", owner: "ReplicaSet", overlappingBudgets: true });
    await expect(drainNode(kubeClient(), "w1", { timeoutMs: 60_000, clock })).rejects.toThrow(
      /^evict pod app\/web-1 \(https:\/\/127\.0\.0\.1:\d+\): 500: This pod has more than one PodDisruptionBudget, which the eviction subresource does not support\.; w1 uncordoned again/,
    );
  });
});
