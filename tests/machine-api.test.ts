import { status } from "@grpc/grpc-js";
import {
  createMachineClient,
  defaultServices,
  isTalosApiError,
  waitForReboot,
  waitUntilReady,
  type ClientConfiguration,
  type MachineClient,
  type MachineClientOptions,
  type NodeExpectations,
  type TalosApiError,
} from "../components/talos/machineApi";
import { controlPlaneState, FakeTalosApi, workerState, type FakeNodeState } from "./fakes/talosApi";
import { clientConfigurationOf, createTestPki, type Issued, type TestPki } from "./fakes/pki";
import { virtualClock } from "./fakes/virtualClock";

const b64 = (pem: string) => Buffer.from(pem).toString("base64");

let pki: TestPki;
let clientConfiguration: ClientConfiguration;
const fakes: FakeTalosApi[] = [];
const clients: MachineClient[] = [];

beforeAll(() => {
  pki = createTestPki();
  // As the Pulumiverse provider outputs it: base64-encoded PEM.
  clientConfiguration = clientConfigurationOf(pki);
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
});

async function startFake(state: FakeNodeState, serverCert?: Issued): Promise<FakeTalosApi> {
  const fake = await FakeTalosApi.start({ pki, state, serverCert });
  fakes.push(fake);
  return fake;
}

function clientFor(fake: FakeTalosApi, overrides: Partial<MachineClientOptions> = {}): MachineClient {
  const client = createMachineClient({
    endpoint: "127.0.0.1",
    port: fake.port,
    clientConfiguration,
    callTimeoutMs: 2000,
    reconnectBackoffMs: { initial: 50, max: 200 },
    backoff: { initialMs: 50, maxMs: 200, factor: 2 },
    ...overrides,
  });
  clients.push(client);
  return client;
}

async function until(condition: () => boolean, what: string): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > 10_000) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

async function failureOf(promise: Promise<unknown>): Promise<TalosApiError> {
  try {
    await promise;
  } catch (error) {
    if (isTalosApiError(error)) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

const cp = (version: string, extra: Partial<NodeExpectations> = {}): NodeExpectations => ({
  node: "127.0.0.1",
  role: "controlplane",
  talosVersion: version,
  services: defaultServices("controlplane"),
  ...extra,
});

describe("machine API calls against the fake apid", () => {
  it("decodes Version, ServiceList, EtcdStatus and EtcdMemberList, 64-bit member ids intact", async () => {
    const fake = await startFake(controlPlaneState("v1.13.9"));
    const client = clientFor(fake);

    expect(await client.version()).toEqual({ hostname: "cp1", tag: "v1.13.9", sha: "abcdef0", arch: "amd64", platform: "metal" });
    const services = await client.services();
    expect(services.map((s) => s.id)).toEqual(["apid", "containerd", "cri", "etcd", "kubelet", "machined", "trustd"]);
    expect(services[0]).toEqual({ id: "apid", state: "Running", healthy: true, healthUnknown: false, lastHealthMessage: "" });
    // Above 2^53: a number would have lost the last digits.
    expect(await client.etcdStatus()).toEqual({
      memberId: "11806905567389581231",
      leader: "11806905567389581231",
      isLearner: false,
      errors: [],
    });
    expect((await client.etcdMembers()).map((m) => [m.hostname, m.id])).toEqual([
      ["cp1", "11806905567389581231"],
      ["cp2", "4211352893648726347"],
      ["cp3", "16141391453225318400"],
    ]);

    expect(fake.methodsCalled()).toEqual(["Version", "ServiceList", "EtcdStatus", "EtcdMemberList"]);
    expect(fake.calls[3].request).toEqual({ queryLocal: false });
    // Endpoint and node are the same: no apid proxying asked for.
    expect(fake.calls.every((c) => c.node === undefined)).toBe(true);
  });

  it("asks apid to proxy with `node` metadata when the node is not the endpoint, and names that node", async () => {
    const fake = await startFake(workerState("v1.12.11"));
    // One-to-one proxying passes the target's status through (grpc-proxy v0.5.1 proxy/handler_one2one.go).
    fake.state.failures.Version = { code: status.UNAVAILABLE, details: "connection error: desc = connection refused" };
    const client = clientFor(fake, { node: "10.25.11.21" });

    const error = await failureOf(client.version());

    expect(fake.calls.map(({ method, request, node }) => ({ method, request, node }))).toEqual([
      { method: "Version", request: {}, node: "10.25.11.21" },
    ]);
    expect(error.message).toBe("node 10.25.11.21: Version: UNAVAILABLE connection error: desc = connection refused");
  });

  it("accepts raw PEM as well as base64-encoded PEM", async () => {
    const fake = await startFake(workerState("v1.13.9"));
    const client = clientFor(fake, {
      clientConfiguration: { caCertificate: pki.ca.cert, clientCertificate: pki.client.cert, clientKey: pki.client.key },
    });
    expect((await client.version()).tag).toBe("v1.13.9");
  });

  it("mutual TLS: a client certificate from another CA is refused before any call reaches the server", async () => {
    const fake = await startFake(workerState("v1.13.9"));
    const foreign = clientFor(fake, {
      clientConfiguration: {
        caCertificate: b64(pki.ca.cert),
        clientCertificate: b64(pki.foreignClient.cert),
        clientKey: b64(pki.foreignClient.key),
      },
    });

    const error = await failureOf(foreign.version({ retryForMs: 0 }));

    expect(error.code).toBe(status.UNAVAILABLE);
    expect(error.message).toMatch(/^node 127\.0\.0\.1: Version: UNAVAILABLE /);
    expect(fake.calls).toEqual([]);
    // Control: the cluster's own client certificate gets through the same server.
    expect((await clientFor(fake).version()).tag).toBe("v1.13.9");
  });

  it("verifies the server certificate against the IP SANs of the target address", async () => {
    const fake = await startFake(workerState("v1.13.9"), pki.serverForOtherIp);
    const error = await failureOf(clientFor(fake).version({ retryForMs: 0 }));
    expect(error.code).toBe(status.UNAVAILABLE);
    expect(error.message).toMatch(/IP: 127\.0\.0\.1 is not in the cert's list/);
    expect(fake.calls).toEqual([]);
  });

  it("turns a node's error status into a thrown error naming node and call", async () => {
    const fake = await startFake(controlPlaneState("v1.13.9"));
    fake.state.failures.EtcdStatus = { code: status.UNKNOWN, details: "failed to query etcd status: context deadline exceeded" };
    const error = await failureOf(clientFor(fake).etcdStatus());
    expect(error.message).toBe("node 127.0.0.1: EtcdStatus: UNKNOWN failed to query etcd status: context deadline exceeded");
  });

  it("gives up an attempt at its deadline (DEADLINE_EXCEEDED) and retries it", async () => {
    const fake = await startFake(workerState("v1.13.9"));
    fake.state.stallMs = 1500;
    const client = clientFor(fake, { callTimeoutMs: 300 });

    const started = Date.now();
    const error = await failureOf(client.version({ retryForMs: 0 }));
    expect(error.code).toBe(status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(1400);

    setTimeout(() => (fake.state.stallMs = 0), 700);
    expect((await client.version({ retryForMs: 5000 })).tag).toBe("v1.13.9");
    expect(fake.methodsCalled().length).toBeGreaterThanOrEqual(3);
  });

  it("retries while the node reboots (connections refused), then succeeds", async () => {
    const fake = await startFake(workerState("v1.13.9"));
    const client = clientFor(fake);
    const bootBefore = await client.bootId();
    fake.reboot({ answerOldBootMs: 0, downMs: 4000 });
    await until(() => !fake.isUp, "the fake to go down");

    // One attempt alone fails: it is the retrying that carries the call over the reboot.
    // (UNAVAILABLE once refused; CANCELLED when the connection it still held is torn down under it.)
    expect([status.UNAVAILABLE, status.CANCELLED]).toContain((await failureOf(client.version({ retryForMs: 0 }))).code);
    const started = Date.now();
    expect((await client.version({ retryForMs: 20_000 })).tag).toBe("v1.13.9");
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    expect(await client.bootId()).not.toBe(bootBefore);
    // Refused attempts never reach the server: it saw the boot-id read, then the successful Version, then the second read.
    expect(fake.methodsCalled()).toEqual(["Read", "Version", "Read"]);
  });

  it("fails a call that stays unreachable with the node, the call and the last state", async () => {
    const fake = await startFake(workerState("v1.13.9"));
    fake.reboot({ answerOldBootMs: 0, downMs: 0, never: true });
    await until(() => !fake.isUp, "the fake to go down");
    const clock = virtualClock();

    const error = await failureOf(clientFor(fake, { clock }).version({ retryForMs: 600_000 }));

    expect(error.message).toMatch(/^node 127\.0\.0\.1: Version: still unreachable after 600s \(last: UNAVAILABLE .*ECONNREFUSED/);
    // Exponential backoff, capped, and the last sleep trimmed to the deadline.
    expect(clock.slept.slice(0, 4)).toEqual([50, 100, 200, 200]);
    expect(clock.slept.reduce((a, b) => a + b, 0)).toBe(600_000);
  });

  it("encodes the requests of the calls that change a node", async () => {
    const fake = await startFake(controlPlaneState("v1.12.11"));
    fake.rebootScript = { answerOldBootMs: 60_000, downMs: 0 };
    const client = clientFor(fake);

    await client.reboot();
    await client.reset({ graceful: true, reboot: true });
    await client.upgrade({ image: "factory.talos.dev/installer/abc:v1.13.9" });
    await client.etcdRemoveMemberById("16141391453225318400");
    await client.etcdLeaveCluster();
    const missing = await failureOf(client.etcdRemoveMemberById("16141391453225318400"));

    expect(fake.calls.map((c) => [c.method, c.request])).toEqual([
      ["Reboot", { mode: "DEFAULT" }],
      ["Reset", { graceful: true, reboot: true, mode: "ALL", systemPartitionsToWipe: [], userDisksToWipe: [] }],
      ["Upgrade", { image: "factory.talos.dev/installer/abc:v1.13.9", preserve: false, stage: false, force: false, rebootMode: "DEFAULT" }],
      ["EtcdRemoveMemberByID", { memberId: "16141391453225318400" }],
      ["EtcdLeaveCluster", {}],
      ["EtcdRemoveMemberByID", { memberId: "16141391453225318400" }],
    ]);
    expect(fake.state.etcd?.members.map((m) => m.hostname)).toEqual(["cp2"]);
    expect(missing.message).toBe(
      "node 127.0.0.1: EtcdRemoveMemberByID: NOT_FOUND failed to remove member 16141391453225318400: etcdserver: member not found",
    );
  });

  it("streams the cluster health check, and fails on the node's error status", async () => {
    const fake = await startFake(controlPlaneState("v1.13.9"));
    const client = clientFor(fake);
    const request = { waitTimeoutSeconds: 300, controlPlaneNodes: ["10.25.11.11"], workerNodes: ["10.25.11.21"] };

    expect(await client.healthCheck(request)).toEqual([
      'discovered nodes: ["10.25.11.11" "10.25.11.21"]',
      "waiting for etcd to be healthy: OK",
      "waiting for all k8s nodes to report ready: OK",
    ]);
    expect(fake.calls[0].request).toEqual({
      waitTimeout: { seconds: "300", nanos: 0 },
      clusterInfo: { controlPlaneNodes: ["10.25.11.11"], workerNodes: ["10.25.11.21"], forceEndpoint: "" },
    });

    fake.state.failures.HealthCheck = { code: status.UNKNOWN, details: "failed to get OS root secrets: resource not found" };
    expect((await failureOf(client.healthCheck(request))).message).toBe(
      "node 127.0.0.1: HealthCheck: UNKNOWN failed to get OS root secrets: resource not found",
    );
  });

  it("upgrades v1.13 nodes through ImageService/Pull and LifecycleService/Upgrade; older nodes answer UNIMPLEMENTED", async () => {
    const image = "ghcr.io/siderolabs/installer:v1.13.9";
    const current = await startFake(controlPlaneState("v1.13.8"));
    await clientFor(current).lifecycleUpgrade(image);
    expect(current.calls.map((c) => [c.method, c.request])).toEqual([
      ["ImagePull", { containerd: { driver: "CRI", namespace: "NS_SYSTEM" }, imageRef: image }],
      ["LifecycleUpgrade", { containerd: { driver: "CRI", namespace: "NS_SYSTEM" }, source: { imageName: image } }],
    ]);

    const older = await startFake(controlPlaneState("v1.12.11"));
    const error = await failureOf(clientFor(older).lifecycleUpgrade(image));
    expect(error.code).toBe(status.UNIMPLEMENTED);
    expect(error.message).toMatch(/^node 127\.0\.0\.1: ImagePull: UNIMPLEMENTED/);
  });
});

describe("readiness wait", () => {
  it("waits out a legacy upgrade: old boot, down, then the new version with services and etcd healthy", async () => {
    const fake = await startFake(controlPlaneState("v1.12.11"));
    fake.rebootScript = { answerOldBootCalls: 12, downMs: 800 };
    const client = clientFor(fake);
    const previousBootId = await client.bootId();

    await client.upgrade({ image: "ghcr.io/siderolabs/installer:v1.13.9" });
    const ready = await waitUntilReady(client, cp("v1.13.9", { previousBootId }), { timeoutMs: 20_000, intervalMs: 100 });

    expect(ready.version.tag).toBe("v1.13.9");
    expect(ready.bootId).not.toBe(previousBootId);
    const called = fake.methodsCalled();
    expect(called.slice(0, 2)).toEqual(["Read", "Upgrade"]);
    // While the old boot still answered, polls stopped at the version check.
    expect(called[2]).toBe("Version");
    expect(called.slice(-5)).toEqual(["Version", "Read", "ServiceList", "EtcdStatus", "EtcdMemberList"]);
    expect(fake.calls.filter((c) => c.method === "Version").length).toBeGreaterThan(2);
  });

  it("does not take the old boot for the new one after a plain reboot (same version)", async () => {
    const fake = await startFake(workerState("v1.13.9"));
    fake.rebootScript = { answerOldBootCalls: 3, downMs: 1000 };
    const client = clientFor(fake);
    const previousBootId = await client.bootId();
    await client.reboot();

    const expected: NodeExpectations = {
      node: "127.0.0.1",
      role: "worker",
      talosVersion: "v1.13.9",
      services: defaultServices("worker"),
      previousBootId,
    };
    const started = Date.now();
    const ready = await waitUntilReady(client, expected, { timeoutMs: 20_000, intervalMs: 100 });

    expect(ready.bootId).not.toBe(previousBootId);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1000);
    // Boot id reads answered by the old boot came first and were not taken as ready.
    expect(fake.calls.filter((c) => c.method === "Read").length).toBeGreaterThan(2);
  });

  it("waitForReboot returns the new boot id once the node went down and came back", async () => {
    const fake = await startFake(workerState("v1.13.9"));
    fake.rebootScript = { answerOldBootCalls: 2, downMs: 600 };
    const client = clientFor(fake);
    const previousBootId = await client.bootId();
    await client.reboot();

    const seen = await waitForReboot(client, previousBootId, { timeoutMs: 20_000, intervalMs: 100 });

    expect(seen.bootId).toBe(fake.state.bootId);
    expect(seen.bootId).not.toBe(previousBootId);
    expect(seen.sawDown).toBe(true);
    expect(fake.methodsCalled().slice(0, 3)).toEqual(["Read", "Reboot", "Read"]);
  });

  it("fails a node on the wrong version after the deadline, naming node and condition", async () => {
    const fake = await startFake(controlPlaneState("v1.12.11"));
    const clock = virtualClock();

    const error = await failureOf(waitUntilReady(clientFor(fake), cp("v1.13.9"), { timeoutMs: 600_000, intervalMs: 30_000, clock }));

    expect(error.message).toBe("node 127.0.0.1: readiness: not ready after 600s: expected v1.13.9, runs v1.12.11");
    // It kept polling until the deadline: one full poll at 0 s and every 30 s up to 600 s.
    expect(fake.methodsCalled()).toEqual(Array(21).fill(["Version", "ServiceList", "EtcdStatus", "EtcdMemberList"]).flat());
  });

  it("fails on an etcd member that reports errors, naming it", async () => {
    const state = controlPlaneState("v1.13.9");
    state.etcd = { ...state.etcd!, errors: ["etcdserver: no leader"] };
    const fake = await startFake(state);

    const error = await failureOf(
      waitUntilReady(clientFor(fake), cp("v1.13.9"), { timeoutMs: 60_000, intervalMs: 30_000, clock: virtualClock() }),
    );

    expect(error.message).toBe(
      "node 127.0.0.1: readiness: not ready after 60s: etcd member 11806905567389581231 reports errors: etcdserver: no leader",
    );
    expect(fake.methodsCalled().slice(0, 4)).toEqual(["Version", "ServiceList", "EtcdStatus", "EtcdMemberList"]);
  });

  it("fails on an etcd member missing from the member list", async () => {
    const state = controlPlaneState("v1.13.9");
    state.etcd = { ...state.etcd!, members: state.etcd!.members.filter((m) => m.hostname !== "cp1") };
    const fake = await startFake(state);

    const error = await failureOf(
      waitUntilReady(clientFor(fake), cp("v1.13.9"), { timeoutMs: 60_000, intervalMs: 30_000, clock: virtualClock() }),
    );

    expect(error.message).toBe(
      "node 127.0.0.1: readiness: not ready after 60s: etcd member 11806905567389581231 is missing from the member list (cp2=4211352893648726347, cp3=16141391453225318400)",
    );
  });

  it("waits for an unhealthy service to become healthy, and names it while it is not", async () => {
    const state = workerState("v1.13.9");
    const kubelet = state.services.find((s) => s.id === "kubelet")!;
    kubelet.healthy = false;
    kubelet.message = "Get http://127.0.0.1:10248/healthz: connection refused";
    const fake = await startFake(state);
    const client = clientFor(fake);
    const expected: NodeExpectations = { node: "127.0.0.1", role: "worker", talosVersion: "v1.13.9", services: defaultServices("worker") };
    const unmet: string[] = [];

    const ready = await waitUntilReady(client, expected, {
      timeoutMs: 600_000,
      intervalMs: 5000,
      clock: virtualClock(),
      onPoll: (why) => {
        unmet.push(why);
        if (unmet.length === 3) kubelet.healthy = true;
      },
    });

    expect(ready.polls).toBe(4);
    expect(unmet[0]).toBe("service kubelet is Running but not healthy (Get http://127.0.0.1:10248/healthz: connection refused)");

    kubelet.healthy = false;
    const error = await failureOf(waitUntilReady(client, expected, { timeoutMs: 10_000, intervalMs: 5000, clock: virtualClock() }));
    expect(error.message).toMatch(/not ready after 10s: service kubelet is Running but not healthy/);
  });

  it("times out on a node that never comes back, naming node and last state", async () => {
    const fake = await startFake(controlPlaneState("v1.13.9"));
    fake.rebootScript = { answerOldBootMs: 0, downMs: 0, never: true };
    const client = clientFor(fake);
    const previousBootId = await client.bootId();
    await client.reboot();
    await until(() => !fake.isUp, "the fake to go down");

    const error = await failureOf(
      waitUntilReady(client, cp("v1.13.9", { previousBootId }), { timeoutMs: 600_000, intervalMs: 60_000, clock: virtualClock() }),
    );

    expect(error.message).toMatch(/^node 127\.0\.0\.1: Version: still unreachable after 600s \(last: UNAVAILABLE .*ECONNREFUSED/);
    expect(fake.methodsCalled()).toEqual(["Read", "Reboot"]);
  });
});
