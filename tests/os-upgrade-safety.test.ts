import { createKubernetesClient, type KubernetesClient } from "../components/kubernetesApi";
import { upgradeNode, type OsUpgradeDeps, type OsUpgradeRequest } from "../components/talos/lifecycle/osUpgrade";
import { createMachineClient, type Clock, type ClientConfiguration, type MachineClient } from "../components/talos/machineApi";
import { FakeKubernetesApi } from "./fakes/kubernetesApi";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { controlPlaneState, FakeTalosApi, workerState, type FakeEtcdMember, type FakeNodeState } from "./fakes/talosApi";
import { virtualClock } from "./fakes/virtualClock";

const image = (version: string) => `factory.talos.dev/metal-installer/${"a".repeat(64)}:${version}`;
const ids: Record<string, string> = { cp1: "11806905567389581231", cp2: "4211352893648726347", cp3: "16141391453225318400" };

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

/** One node; control planes share `members`, as the members of one etcd cluster see the same list. */
async function node(
  name: string,
  version: string,
  members?: FakeEtcdMember[],
  options: { retryForMs?: number; fakeClock?: Clock; proxiedAs?: string } = {},
): Promise<MachineClient> {
  const state: FakeNodeState = members
    ? { ...controlPlaneState(version), hostname: name, etcd: { memberId: ids[name], errors: [], members } }
    : { ...workerState(version), hostname: name };
  const fake = await FakeTalosApi.start({ pki, state, clock: options.fakeClock ?? virtualClock() });
  fake.rebootScript = { answerOldBootMs: 100, downMs: 300 };
  fakes.set(name, fake);
  kube.addNode(name);
  const client = createMachineClient({
    endpoint: "127.0.0.1",
    port: fake.port,
    clientConfiguration,
    // The client's default deadline: what every call had before Upgrade got its own.
    callTimeoutMs: 10_000,
    retryForMs: options.retryForMs,
    // Through apid's one-to-one proxy (`node` metadata), as when the endpoint is another control plane.
    node: options.proxiedAs,
    reconnectBackoffMs: { initial: 50, max: 200 },
    backoff: { initialMs: 50, maxMs: 200, factor: 2 },
  });
  clients.push(client);
  return Object.assign(Object.create(client) as MachineClient, { node: name });
}

function threeMembers(): FakeEtcdMember[] {
  return Object.entries(ids).map(([hostname, id]) => ({ id, hostname }));
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

function deps(talos: MachineClient, extra: Partial<OsUpgradeDeps> = {}): OsUpgradeDeps {
  return { talos, kube: kubeClient(), ...extra };
}

const calls = (name: string, method: string) =>
  fakes
    .get(name)
    ?.methodsCalled()
    .filter((m) => m === method).length;

describe("Upgrade outlasts the image pull", () => {
  it("upgrades a Talos 1.12 node whose installer pull takes 30 s (Talos answers Upgrade only after the pull)", async () => {
    const talos = await node("w1", "v1.12.11");
    fakes.get("w1")!.imagePullMs = 30_000;

    const result = await upgradeNode(deps(talos), request("w1", "worker", "v1.13.0"));

    expect(result).toMatchObject({ upgraded: true, path: "machine", observedVersion: "v1.13.0" });
    expect(calls("w1", "Upgrade")).toBe(1);
    // The deadline the call carried outlasts the pull: the upgrade timeout, not the 10 s default.
    expect(fakes.get("w1")!.calls.find((c) => c.method === "Upgrade")?.deadlineMs).toBeGreaterThan(30_000);
  });

  it("a pull longer than the deadline cancels the upgrade (nothing runs), and it is not sent again", async () => {
    const talos = await node("w1", "v1.12.11");
    fakes.get("w1")!.imagePullMs = 120_000;

    await expect(upgradeNode(deps(talos, { clock: virtualClock() }), request("w1", "worker", "v1.13.0"))).rejects.toThrow(
      /^node \S+: Upgrade: outcome unknown \(DEADLINE_EXCEEDED .*\), and the node shows no sign it ran: node w1: reboot: no new boot after 20s/,
    );
    expect(calls("w1", "Upgrade")).toBe(1);
    expect(fakes.get("w1")!.state.version).toBe("v1.12.11");
  });

  it("ImageService/Pull on 1.13 carries the upgrade timeout too", async () => {
    const talos = await node("w1", "v1.13.0");
    fakes.get("w1")!.imagePullMs = 30_000;
    const result = await upgradeNode(deps(talos), request("w1", "worker", "v1.13.9"));
    expect(result).toMatchObject({ upgraded: true, path: "lifecycle" });
    expect(fakes.get("w1")!.calls.find((c) => c.method === "ImagePull")?.deadlineMs).toBeGreaterThan(30_000);
  });
});

describe("a call that may have arrived is never sent again", () => {
  it("the connection drops after the Reboot arrived (it did reboot): rebooted once, the upgrade goes on", async () => {
    const talos = await node("w1", "v1.13.0", undefined, { retryForMs: 30_000 });
    const fake = fakes.get("w1")!;
    fake.dropConnectionAfter.add("Reboot");
    const lines: string[] = [];

    const result = await upgradeNode(deps(talos, { log: (l) => lines.push(l) }), request("w1", "worker", "v1.13.9"));

    expect(result).toMatchObject({ upgraded: true, observedVersion: "v1.13.9" });
    expect(calls("w1", "Reboot")).toBe(1);
    expect(lines.some((l) => /^node \S+: Reboot: (UNAVAILABLE|CANCELLED) .*not sent again\); checking the node instead$/.test(l))).toBe(
      true,
    );
  });

  it("through apid's proxy, UNAVAILABLE after the Reboot arrived (the target rebooted): rebooted once, the upgrade goes on", async () => {
    const talos = await node("w1", "v1.13.0", undefined, { retryForMs: 30_000, proxiedAs: "10.25.11.21" });
    fakes.get("w1")!.dropConnectionAfter.add("Reboot");

    const result = await upgradeNode(deps(talos), request("w1", "worker", "v1.13.9"));

    expect(result).toMatchObject({ upgraded: true, observedVersion: "v1.13.9" });
    expect(calls("w1", "Reboot")).toBe(1);
  });

  it("the connection drops after MachineService/Upgrade arrived: upgraded once, the new boot confirms it", async () => {
    const talos = await node("w1", "v1.12.11", undefined, { retryForMs: 30_000 });
    fakes.get("w1")!.dropConnectionAfter.add("Upgrade");
    const result = await upgradeNode(deps(talos), request("w1", "worker", "v1.13.0"));
    expect(result).toMatchObject({ upgraded: true, observedVersion: "v1.13.0" });
    expect(calls("w1", "Upgrade")).toBe(1);
  });
});

describe("etcd before a control plane goes down", () => {
  async function cluster(version: string, members = threeMembers()) {
    const talos = new Map<string, MachineClient>();
    for (const m of members) talos.set(m.hostname || "cp3", await node(m.hostname || "cp3", version, members));
    return { talos, controlPlanes: [...talos.values()], members };
  }

  it("refuses when a member on another control plane is unhealthy", async () => {
    const { talos, controlPlanes } = await cluster("v1.12.11");
    fakes.get("cp2")!.state.etcd!.errors = ["alarm: NOSPACE"];

    await expect(upgradeNode(deps(talos.get("cp1")!, { controlPlanes }), request("cp1", "controlplane", "v1.13.0"))).rejects.toThrow(
      "node cp1: upgrade: refused: etcd is unhealthy: member cp2 (4211352893648726347) reports errors: alarm: NOSPACE",
    );
    expect(
      fakes
        .get("cp1")!
        .methodsCalled()
        .filter((m) => ["Upgrade", "EtcdForfeitLeadership", "Reboot"].includes(m)),
    ).toEqual([]);
  });

  it("refuses when another control plane does not answer, on the 1.13 path too", async () => {
    const { talos, controlPlanes } = await cluster("v1.13.0");
    fakes.get("cp3")!.down();
    await expect(upgradeNode(deps(talos.get("cp1")!, { controlPlanes }), request("cp1", "controlplane", "v1.13.9"))).rejects.toThrow(
      /^node cp1: upgrade: refused: etcd is unhealthy: member cp3 \(16141391453225318400\) did not answer; cp3: UNAVAILABLE/,
    );
    expect(fakes.get("cp1")!.methodsCalled()).not.toContain("ImagePull");
    expect(kube.requests.filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("refuses 2 members: one down leaves no quorum", async () => {
    const two = threeMembers().slice(0, 2);
    const { talos, controlPlanes } = await cluster("v1.12.11", two);
    await expect(upgradeNode(deps(talos.get("cp1")!, { controlPlanes }), request("cp1", "controlplane", "v1.13.0"))).rejects.toThrow(
      "node cp1: upgrade: refused: etcd has 2 members: with one down the other is not a quorum (2 of 2 needed)",
    );
    expect(calls("cp1", "Upgrade")).toBe(0);
  });

  it("refuses while a member is a learner or not started", async () => {
    const members = threeMembers();
    members[1].isLearner = true;
    const { talos, controlPlanes } = await cluster("v1.12.11", members);
    await expect(upgradeNode(deps(talos.get("cp1")!, { controlPlanes }), request("cp1", "controlplane", "v1.13.0"))).rejects.toThrow(
      "node cp1: upgrade: refused: etcd is not ready: member cp2 (4211352893648726347) is a learner, not yet a voting member",
    );
    members[1].isLearner = false;
    members[2].hostname = "";
    await expect(upgradeNode(deps(talos.get("cp1")!, { controlPlanes }), request("cp1", "controlplane", "v1.13.0"))).rejects.toThrow(
      "node cp1: upgrade: refused: etcd is not ready: member 16141391453225318400 is not started",
    );
    expect(calls("cp1", "Upgrade")).toBe(0);
  });

  it("hands etcd leadership off before MachineService/Upgrade (Talos 1.12)", async () => {
    const { talos, controlPlanes, members } = await cluster("v1.12.11");
    members[0].isLeader = true;
    await upgradeNode(deps(talos.get("cp1")!, { controlPlanes }), request("cp1", "controlplane", "v1.13.0"));
    const order = fakes
      .get("cp1")!
      .methodsCalled()
      .filter((m) => m === "EtcdForfeitLeadership" || m === "Upgrade");
    expect(order).toEqual(["EtcdForfeitLeadership", "Upgrade"]);
    expect(members.find((m) => m.isLeader)?.hostname).toBe("cp2");
  });

  it("hands etcd leadership off before the reboot (Talos 1.13)", async () => {
    const { talos, controlPlanes, members } = await cluster("v1.13.0");
    members[0].isLeader = true;
    await upgradeNode(deps(talos.get("cp1")!, { controlPlanes }), request("cp1", "controlplane", "v1.13.9"));
    const order = fakes
      .get("cp1")!
      .methodsCalled()
      .filter((m) => ["LifecycleUpgrade", "EtcdForfeitLeadership", "Reboot"].includes(m));
    expect(order).toEqual(["LifecycleUpgrade", "EtcdForfeitLeadership", "Reboot"]);
    expect(members.find((m) => m.isLeader)?.hostname).toBe("cp2");
  });
});
