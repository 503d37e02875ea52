import { createKubernetesClient, type KubernetesClient } from "../components/kubernetesApi";
import { decideForPod, drainNode } from "../components/talos/lifecycle/drain";
import { removeNode, type RemovalDeps, type RemovalRequest } from "../components/talos/lifecycle/nodeRemoval";
import { createMachineClient, type ClientConfiguration, type MachineClient } from "../components/talos/machineApi";
import { FakeKubernetesApi } from "./fakes/kubernetesApi";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { controlPlaneState, FakeTalosApi, workerState, type FakeNodeState } from "./fakes/talosApi";
import { virtualClock } from "./fakes/virtualClock";

const members = [
  { id: "11806905567389581231", hostname: "cp1" },
  { id: "4211352893648726347", hostname: "cp2" },
  { id: "16141391453225318400", hostname: "cp3" },
];

let pki: TestPki;
let clientConfiguration: ClientConfiguration;
let kube: FakeKubernetesApi;
const fakes: FakeTalosApi[] = [];
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
  await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
  await kube.stop();
});

async function talosNode(state: FakeNodeState): Promise<{ fake: FakeTalosApi; client: MachineClient }> {
  const fake = await FakeTalosApi.start({ pki, state });
  fake.rebootScript = { answerOldBootMs: 100, downMs: 300 };
  fakes.push(fake);
  const client = createMachineClient({
    endpoint: "127.0.0.1",
    port: fake.port,
    clientConfiguration,
    callTimeoutMs: 10_000,
    reconnectBackoffMs: { initial: 50, max: 200 },
    backoff: { initialMs: 50, maxMs: 200, factor: 2 },
  });
  // Errors and the etcd observation name the node by its address; give each fake its own.
  const named: MachineClient = Object.assign(Object.create(client) as MachineClient, { node: state.hostname });
  clients.push(client);
  return { fake, client: named };
}

function controlPlane(name: string, version = "v1.13.9", errors: string[] = []): FakeNodeState {
  const id = members.find((m) => m.hostname === name)?.id ?? "1";
  return { ...controlPlaneState(version), hostname: name, etcd: { memberId: id, errors, members: members.map((m) => ({ ...m })) } };
}

function kubeClient(): KubernetesClient {
  return createKubernetesClient({ kubeconfig: kube.kubeconfig(pki), retryForMs: 0, callTimeoutMs: 5000 });
}

/** Every Talos call the removal makes, interleaved with the Kubernetes requests, in the order they happened. */
function recordingTalos(client: MachineClient, timeline: string[]): MachineClient {
  const wrapped = Object.create(client) as MachineClient;
  for (const method of ["etcdLeaveCluster", "reset"] as const) {
    const original = client[method].bind(client) as (...args: unknown[]) => Promise<void>;
    Object.assign(wrapped, { [method]: (...args: unknown[]) => (timeline.push(`talos ${method}`), original(...args)) });
  }
  return wrapped;
}

function request(overrides: Partial<RemovalRequest> = {}): RemovalRequest {
  return {
    nodeName: "w1",
    node: "w1",
    role: "worker",
    drain: { timeoutMs: 10_000, retryMs: 10, maxRetryMs: 20, pollMs: 10 },
    resetTimeoutMs: 10_000,
    ...overrides,
  };
}

describe("drain rules (kubectl drain's filters)", () => {
  const pod = (extra: Record<string, unknown> = {}) => ({
    metadata: { name: "p", namespace: "ns", ...extra },
    spec: {},
    status: { phase: "Running" },
  });

  it("skips DaemonSet pods and mirror pods, refuses emptyDir and bare pods without consent", () => {
    const owned = (kind: string) => ({ ownerReferences: [{ kind, name: "x", controller: true }] });
    expect(decideForPod(pod(owned("DaemonSet")), {})).toEqual({ action: "skip", why: "daemonset" });
    expect(decideForPod(pod({ annotations: { "kubernetes.io/config.mirror": "x" } }), {})).toEqual({ action: "skip", why: "mirror" });
    expect(decideForPod(pod(owned("ReplicaSet")), {})).toEqual({ action: "evict" });
    const withEmptyDir = { ...pod(owned("ReplicaSet")), spec: { volumes: [{ name: "tmp", emptyDir: {} }] } };
    expect(decideForPod(withEmptyDir, {}).action).toBe("refuse");
    expect(decideForPod(withEmptyDir, { deleteEmptyDirData: true })).toEqual({ action: "evict" });
    expect(decideForPod(pod(), {}).action).toBe("refuse");
    expect(decideForPod(pod(), { force: true })).toEqual({ action: "evict" });
    // A finished DaemonSet pod is evicted like any finished pod.
    expect(decideForPod({ ...pod(owned("DaemonSet")), status: { phase: "Succeeded" } }, {})).toEqual({ action: "evict" });
  });

  it("refuses a node with emptyDir pods before evicting anything, and uncordons it again", async () => {
    kube.addNode("w1");
    kube.addPod({ namespace: "app", name: "cache-0", nodeName: "w1", owner: "StatefulSet", emptyDir: true });
    kube.addPod({ namespace: "app", name: "web-1", nodeName: "w1", owner: "ReplicaSet" });
    await expect(drainNode(kubeClient(), "w1", { timeoutMs: 1000 })).rejects.toThrow(
      "drain w1: refusing to evict: app/cache-0 uses emptyDir volumes (local data is lost; allow with deleteEmptyDirData)",
    );
    expect(kube.calls().filter((c) => c.endsWith("/eviction"))).toEqual([]);
    expect(kube.nodes.get("w1")?.unschedulable).toBe(false);
  });

  it("retries an eviction a PodDisruptionBudget refuses (429) until it passes, then waits for the pod to be gone", async () => {
    kube.addNode("w1");
    kube.addPod({
      namespace: "db",
      name: "pg-0",
      nodeName: "w1",
      owner: "StatefulSet",
      budget: { name: "pg", blocks: 3 },
      terminatingPolls: 2,
    });
    const result = await drainNode(kubeClient(), "w1", { timeoutMs: 60_000, retryMs: 5, maxRetryMs: 10, pollMs: 5 });
    expect(result.evicted).toEqual(["db/pg-0"]);
    const evictions = kube.requests.filter((r) => r.path === "/api/v1/namespaces/db/pods/pg-0/eviction");
    expect(evictions).toHaveLength(4);
    expect(evictions[0].body).toEqual({ apiVersion: "policy/v1", kind: "Eviction", metadata: { name: "pg-0", namespace: "db" } });
    // Still listed (terminating) twice, then 404.
    expect(kube.calls().filter((c) => c === "GET /api/v1/namespaces/db/pods/pg-0")).toHaveLength(3);
    expect(kube.hasPod("db", "pg-0")).toBe(false);
  });
});

describe("worker removal", () => {
  it("drains (DaemonSet and mirror pods left), resets through the Talos API, then deletes the Node, in that order", async () => {
    const { fake, client } = await talosNode({ ...workerState("v1.13.9"), hostname: "w1" });
    kube.addNode("w1");
    kube.addNode("w2");
    kube.addPod({ namespace: "app", name: "web-1", nodeName: "w1", owner: "ReplicaSet" });
    kube.addPod({
      namespace: "db",
      name: "pg-0",
      nodeName: "w1",
      owner: "StatefulSet",
      budget: { name: "pg", blocks: 1 },
      terminatingPolls: 1,
    });
    kube.addPod({ namespace: "kube-system", name: "cilium-abcde", nodeName: "w1", owner: "DaemonSet" });
    kube.addPod({ namespace: "kube-system", name: "static-w1", nodeName: "w1", mirror: true });
    kube.addPod({ namespace: "app", name: "web-2", nodeName: "w2", owner: "ReplicaSet" });
    const timeline: string[] = [];
    kube.onRequest = (r) => timeline.push(`kube ${r.method} ${r.path}`);

    const result = await removeNode({ kube: kubeClient(), talos: recordingTalos(client, timeline), controlPlanes: [] }, request());

    expect(result.steps).toEqual(["drain", "reset", "delete-node"]);
    expect(timeline).toEqual([
      "kube GET /api/v1/nodes/w1",
      "kube PATCH /api/v1/nodes/w1",
      "kube GET /api/v1/pods",
      "kube POST /api/v1/namespaces/app/pods/web-1/eviction",
      "kube POST /api/v1/namespaces/db/pods/pg-0/eviction",
      "kube POST /api/v1/namespaces/db/pods/pg-0/eviction",
      "kube GET /api/v1/namespaces/app/pods/web-1",
      "kube GET /api/v1/namespaces/db/pods/pg-0",
      "kube GET /api/v1/namespaces/db/pods/pg-0",
      "talos reset",
      "kube DELETE /api/v1/nodes/w1",
    ]);
    expect(kube.requests[1]).toMatchObject({ contentType: "application/merge-patch+json", body: { spec: { unschedulable: true } } });
    expect(kube.requests[2].query).toEqual({ fieldSelector: "spec.nodeName=w1" });
    expect(kube.hasPod("kube-system", "cilium-abcde")).toBe(true);
    expect(kube.hasPod("kube-system", "static-w1")).toBe(true);
    expect(kube.hasPod("app", "web-2")).toBe(true);
    expect(fake.calls.find((c) => c.method === "Reset")?.request).toMatchObject({ graceful: true, reboot: true, mode: "ALL" });
    expect([...kube.nodes.keys()]).toEqual(["w2"]);
  });

  it("stops on a drain a PodDisruptionBudget blocks for good: a clear error after the timeout, no reset, the Node kept", async () => {
    const { fake, client } = await talosNode({ ...workerState("v1.13.9"), hostname: "infra-w1" });
    kube.addNode("infra-w1");
    kube.addPod({ namespace: "db", name: "pg-0", nodeName: "infra-w1", owner: "StatefulSet", budget: { name: "pg", blocks: "forever" } });
    const deps: RemovalDeps = { kube: kubeClient(), talos: client, controlPlanes: [], clock: virtualClock() };
    await expect(removeNode(deps, request({ nodeName: "infra-w1", node: "infra-w1", drain: { timeoutMs: 300_000 } }))).rejects.toThrow(
      new Error(
        "drain infra-w1: 1 pod(s) still blocked by their disruption budgets after 300s: db/pg-0 (PodDisruptionBudget db/pg: needs 1 healthy pods and has 1 currently); infra-w1 uncordoned again (nothing was taken down)",
      ),
    );
    expect(fake.methodsCalled()).not.toContain("Reset");
    expect(kube.calls()).not.toContain("DELETE /api/v1/nodes/infra-w1");
    expect(kube.nodes.get("infra-w1")?.unschedulable).toBe(false);
    // Retried with backoff across the 300 s, not hammered, not given up early.
    const attempts = kube.calls().filter((c) => c.endsWith("/eviction")).length;
    expect(attempts).toBeGreaterThan(20);
    expect(attempts).toBeLessThan(60);
  });
});

describe("control-plane removal", () => {
  async function cluster(states: FakeNodeState[]) {
    // One etcd cluster: every control plane sees the same member list (leave changes it for all).
    const shared = states[0]?.etcd?.members ?? [];
    for (const state of states) if (state.etcd) state.etcd.members = shared;
    const nodes = [];
    for (const state of states) nodes.push(await talosNode(state));
    for (const state of states) kube.addNode(state.hostname);
    return nodes;
  }

  const cpRequest = (name: string, extra: Partial<RemovalRequest> = {}) =>
    request({ nodeName: name, node: name, role: "controlplane", ...extra });

  it("refuses when a member reports errors: no drain, no etcd leave, no reset", async () => {
    const nodes = await cluster([controlPlane("cp1"), controlPlane("cp2", "v1.13.9", ["alarm: NOSPACE"]), controlPlane("cp3")]);
    const deps = { kube: kubeClient(), talos: nodes[0].client, controlPlanes: nodes.map((n) => n.client) };
    await expect(removeNode(deps, cpRequest("cp1"))).rejects.toThrow(
      "remove control plane cp1: refused: etcd is unhealthy: member cp2 (4211352893648726347) reports errors: alarm: NOSPACE",
    );
    for (const { fake } of nodes) expect(fake.methodsCalled().filter((m) => m === "Reset" || m === "EtcdLeaveCluster")).toEqual([]);
    expect(kube.requests).toEqual([]);
  });

  it("refuses when a member does not answer", async () => {
    const nodes = await cluster([controlPlane("cp1"), controlPlane("cp2"), controlPlane("cp3")]);
    nodes[2].fake.down();
    const deps = { kube: kubeClient(), talos: nodes[0].client, controlPlanes: nodes.map((n) => n.client) };
    await expect(removeNode(deps, cpRequest("cp1"))).rejects.toThrow(
      /refused: etcd is unhealthy: member cp3 \(16141391453225318400\) did not answer; cp3: UNAVAILABLE/,
    );
    expect(nodes[0].fake.methodsCalled()).not.toContain("Reset");
  });

  it("drains, leaves etcd, resets and deletes the Node when 3 members stay healthy and 2 keep quorum", async () => {
    const nodes = await cluster([controlPlane("cp1"), controlPlane("cp2"), controlPlane("cp3")]);
    const timeline: string[] = [];
    kube.onRequest = (r) => timeline.push(`kube ${r.method} ${r.path}`);
    const deps = { kube: kubeClient(), talos: recordingTalos(nodes[0].client, timeline), controlPlanes: nodes.map((n) => n.client) };
    const result = await removeNode(deps, cpRequest("cp1"));
    expect(result.steps).toEqual(["drain", "etcd-leave", "reset", "delete-node"]);
    expect(timeline.filter((t) => !t.startsWith("kube GET"))).toEqual([
      "kube PATCH /api/v1/nodes/cp1",
      "talos etcdLeaveCluster",
      "talos reset",
      "kube DELETE /api/v1/nodes/cp1",
    ]);
    expect(nodes[0].fake.state.etcd?.members.map((m) => m.hostname)).toEqual(["cp2", "cp3"]);
  });

  it("refuses 2 → 1 members unless explicitly allowed, and 1 → 0 always", async () => {
    const two = members.slice(0, 2);
    const nodes = await cluster([
      { ...controlPlane("cp1"), etcd: { memberId: two[0].id, errors: [], members: two } },
      { ...controlPlane("cp2"), etcd: { memberId: two[1].id, errors: [], members: two } },
    ]);
    const deps = () => ({ kube: kubeClient(), talos: nodes[0].client, controlPlanes: nodes.map((n) => n.client) });
    await expect(removeNode(deps(), cpRequest("cp1"))).rejects.toThrow(
      "remove control plane cp1: refused: etcd would go from 2 to 1 member(s), below a majority (2) of 2",
    );
    expect(nodes[0].fake.methodsCalled()).not.toContain("EtcdLeaveCluster");
    // The refusal released the run's claim: the same node may go once allowed.
    const result = await removeNode(deps(), cpRequest("cp1", { allowBelowMajority: true }));
    expect(result.steps).toEqual(["drain", "etcd-leave", "reset", "delete-node"]);
  });

  it("refuses a second control plane leaving in the same run, even concurrently", async () => {
    const nodes = await cluster([controlPlane("cp1"), controlPlane("cp2"), controlPlane("cp3")]);
    const kubeApi = kubeClient();
    const deps = (i: number) => ({ kube: kubeApi, talos: nodes[i].client, controlPlanes: nodes.map((n) => n.client) });
    const [first, second] = await Promise.allSettled([removeNode(deps(0), cpRequest("cp1")), removeNode(deps(1), cpRequest("cp2"))]);
    expect(first.status).toBe("fulfilled");
    expect(second.status === "rejected" && String(second.reason)).toBe(
      "Error: remove control plane cp2: refused: control plane cp1 already leaves etcd in this run; " +
        "only one control plane may leave per run (run pulumi up again once cp1 is gone)",
    );
    expect(nodes[1].fake.methodsCalled().filter((m) => m === "Reset" || m === "EtcdLeaveCluster")).toEqual([]);
    // Later in the same run, too.
    await expect(removeNode(deps(2), cpRequest("cp3"))).rejects.toThrow("control plane cp1 already leaves etcd in this run");
  });
});
