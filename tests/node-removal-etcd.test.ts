import { status } from "@grpc/grpc-js";
import { createKubernetesClient } from "../components/kubernetesApi";
import { removeNode, type RemovalRequest } from "../components/talos/lifecycle/nodeRemoval";
import { createMachineClient, type ClientConfiguration, type MachineClient } from "../components/talos/machineApi";
import { FakeKubernetesApi } from "./fakes/kubernetesApi";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { controlPlaneState, FakeTalosApi, type FakeEtcdMember } from "./fakes/talosApi";

const ids: Record<string, string> = { cp1: "11806905567389581231", cp2: "4211352893648726347", cp3: "16141391453225318400" };

let pki: TestPki;
let clientConfiguration: ClientConfiguration;
let kube: FakeKubernetesApi;
const fakes = new Map<string, FakeTalosApi>();
const clients: MachineClient[] = [];
let members: FakeEtcdMember[];

beforeAll(() => {
  pki = createTestPki();
  clientConfiguration = clientConfigurationOf(pki);
});

beforeEach(async () => {
  kube = await FakeKubernetesApi.start(pki);
  // One etcd cluster: the three control planes share its member list; cp1 leads.
  members = Object.entries(ids).map(([hostname, id]) => ({ id, hostname, isLeader: hostname === "cp1" }));
  for (const name of Object.keys(ids)) {
    const fake = await FakeTalosApi.start({
      pki,
      state: { ...controlPlaneState("v1.13.9"), hostname: name, etcd: { memberId: ids[name], errors: [], members } },
    });
    fake.rebootScript = { answerOldBootMs: 100, downMs: 300 };
    fakes.set(name, fake);
    kube.addNode(name);
  }
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all([...fakes.values()].map((fake) => fake.stop()));
  fakes.clear();
  await kube.stop();
});

function client(name: string): MachineClient {
  const made = createMachineClient({
    endpoint: "127.0.0.1",
    port: fakes.get(name)!.port,
    clientConfiguration,
    callTimeoutMs: 10_000,
    // Retrying is allowed for reads; calls that change a node must never use it once sent.
    retryForMs: 30_000,
    reconnectBackoffMs: { initial: 50, max: 200 },
    backoff: { initialMs: 50, maxMs: 200, factor: 2 },
  });
  clients.push(made);
  return Object.assign(Object.create(made) as MachineClient, { node: name });
}

function removeCp1() {
  const controlPlanes = Object.keys(ids).map(client);
  const request: RemovalRequest = {
    nodeName: "cp1",
    node: "cp1",
    role: "controlplane",
    drain: { timeoutMs: 10_000, retryMs: 10, maxRetryMs: 20, pollMs: 10 },
    resetTimeoutMs: 10_000,
  };
  const kubeClient = createKubernetesClient({ kubeconfig: kube.kubeconfig(pki), retryForMs: 0, callTimeoutMs: 5000 });
  return removeNode({ kube: kubeClient, talos: controlPlanes[0], controlPlanes }, request);
}

const sent = (method: string) =>
  fakes
    .get("cp1")!
    .methodsCalled()
    .filter((m) => m === method).length;

describe("a control plane leaving etcd", () => {
  it("hands leadership off, then leaves with a deadline that outlasts Talos' 5-minute removal retries, then resets", async () => {
    const result = await removeCp1();

    expect(result.steps).toEqual(["drain", "etcd-leave", "reset", "delete-node"]);
    const order = fakes
      .get("cp1")!
      .methodsCalled()
      .filter((m) => ["EtcdForfeitLeadership", "EtcdLeaveCluster", "Reset"].includes(m));
    expect(order).toEqual(["EtcdForfeitLeadership", "EtcdLeaveCluster", "Reset"]);
    expect(members.map((m) => m.hostname)).toEqual(["cp2", "cp3"]);
    expect(members.find((m) => m.isLeader)?.hostname).toBe("cp2");
    expect(fakes.get("cp1")!.calls.find((c) => c.method === "EtcdLeaveCluster")?.deadlineMs).toBeGreaterThan(5 * 60_000);
  });

  it("the connection drops after the leave arrived: sent once, the peers' member list shows it left, the removal goes on", async () => {
    fakes.get("cp1")!.dropConnectionAfter.add("EtcdLeaveCluster");

    const result = await removeCp1();

    expect(result.steps).toEqual(["drain", "etcd-leave", "reset", "delete-node"]);
    expect(sent("EtcdLeaveCluster")).toBe(1);
    expect(members.map((m) => m.hostname)).toEqual(["cp2", "cp3"]);
    // Decided from a peer's member list.
    expect(fakes.get("cp2")!.methodsCalled()).toContain("EtcdMemberList");
  });

  it("a leave the node refuses stops the removal before the reset, the member kept", async () => {
    fakes.get("cp1")!.state.failures.EtcdLeaveCluster = {
      code: status.UNKNOWN,
      details: "failed to leave cluster: failed to remove member 11806905567389581231: etcdserver: unhealthy cluster",
    };

    await expect(removeCp1()).rejects.toThrow(
      "node 127.0.0.1: EtcdLeaveCluster: UNKNOWN failed to leave cluster: failed to remove member 11806905567389581231: etcdserver: unhealthy cluster",
    );
    expect(sent("EtcdLeaveCluster")).toBe(1);
    expect(sent("Reset")).toBe(0);
    expect(members.map((m) => m.hostname)).toEqual(["cp1", "cp2", "cp3"]);
  });

  it("the connection drops after the Reset arrived: reset once, the node leaving its boot confirms it", async () => {
    fakes.get("cp1")!.dropConnectionAfter.add("Reset");
    const result = await removeCp1();
    expect(result.steps).toEqual(["drain", "etcd-leave", "reset", "delete-node"]);
    expect(sent("Reset")).toBe(1);
  });

  it("refuses while a member is a learner", async () => {
    members[2].isLearner = true;
    await expect(removeCp1()).rejects.toThrow(
      "remove control plane cp1: refused: etcd is not ready: member cp3 (16141391453225318400) is a learner, not yet a voting member",
    );
    expect(sent("EtcdLeaveCluster")).toBe(0);
  });
});
