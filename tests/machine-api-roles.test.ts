import { status } from "@grpc/grpc-js";
import { clusterHealthProvider, type ClusterHealthInputs } from "../components/talos/lifecycle/clusterHealthProvider";
import { osUpgradeOutputs, readOsUpgrade } from "../components/talos/lifecycle/osUpgradeProvider";
import {
  createMachineClient,
  isTalosApiError,
  type Clock,
  type ClientConfiguration,
  type MachineClient,
  type MachineClientOptions,
  type TalosApiError,
} from "../components/talos/machineApi";
import { createCa, issueClient, issueServer } from "./fakes/pki";
import { controlPlaneState, FakeTalosApi, workerState, type FakeNodeState } from "./fakes/talosApi";
import { virtualClock } from "./fakes/virtualClock";

const b64 = (pem: string) => Buffer.from(pem).toString("base64");
const ca = createCa("talos");
const pki = {
  ca: ca.pem,
  server: issueServer(ca.signer, ["127.0.0.1"]),
  client: issueClient(ca.signer, "os:admin"),
  foreignClient: issueClient(createCa("other").signer),
  serverForOtherIp: issueServer(ca.signer, ["10.25.11.11"]),
};
const reader = issueClient(ca.signer, "os:reader");
const config = (cert: { cert: string; key: string }): ClientConfiguration => ({
  caCertificate: b64(pki.ca.cert),
  clientCertificate: b64(cert.cert),
  clientKey: b64(cert.key),
});
const admin = config(pki.client);
const readerOnly = config(reader);

const fakes: FakeTalosApi[] = [];
const clients: MachineClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
});

async function start(state: FakeNodeState, clock?: Clock): Promise<FakeTalosApi> {
  const fake = await FakeTalosApi.start({ pki, state, clock });
  fakes.push(fake);
  return fake;
}

function clientFor(fake: FakeTalosApi, overrides: Partial<MachineClientOptions>): MachineClient {
  const client = createMachineClient({
    endpoint: "127.0.0.1",
    port: fake.port,
    callTimeoutMs: 5000,
    reconnectBackoffMs: { initial: 50, max: 200 },
    backoff: { initialMs: 50, maxMs: 200, factor: 2 },
    ...overrides,
  });
  clients.push(client);
  return client;
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

describe("least privilege: os:reader for reads, os:admin only where a call needs it", () => {
  it("reads go with the reader certificate, calls that change the node with the admin one", async () => {
    const fake = await start(controlPlaneState("v1.13.9"));
    fake.rebootScript = { answerOldBootMs: 60_000, downMs: 0 };
    const client = clientFor(fake, { clientConfiguration: admin, readerConfiguration: readerOnly });

    await client.version();
    await client.services();
    await client.etcdStatus();
    await client.etcdMembers();
    await client.bootId();
    await client.etcdForfeitLeadership();
    await client.reboot();

    expect(fake.calls.map((c) => [c.method, c.roles])).toEqual([
      ["Version", ["os:reader"]],
      ["ServiceList", ["os:reader"]],
      ["EtcdStatus", ["os:reader"]],
      ["EtcdMemberList", ["os:reader"]],
      // MachineService/Read is admin-only upstream (machined.go rules).
      ["Read", ["os:admin"]],
      ["EtcdForfeitLeadership", ["os:admin"]],
      ["Reboot", ["os:admin"]],
    ]);
  });

  it("the node refuses a reader certificate on a call that changes it (PERMISSION_DENIED, as apid's authorizer answers)", async () => {
    const fake = await start(controlPlaneState("v1.12.11"));
    // A client holding only the reader certificate as its admin one: what a misconfigured caller would send.
    const misused = clientFor(fake, { clientConfiguration: readerOnly });

    for (const attempt of [
      () => misused.reboot(),
      () => misused.reset({ graceful: true, reboot: true }),
      () => misused.upgrade({ image: "ghcr.io/siderolabs/installer:v1.13.9" }),
      () => misused.etcdLeaveCluster(),
      () => misused.etcdForfeitLeadership(),
    ]) {
      const error = await failureOf(attempt());
      expect(error.code).toBe(status.PERMISSION_DENIED);
      expect(error.detail).toBe("PERMISSION_DENIED not authorized");
      // A refusal is a definite "did not run", not an unknown outcome.
      expect(error.outcomeUnknown).toBeUndefined();
    }
    expect(fake.state.version).toBe("v1.12.11");
    expect(fake.state.etcd?.members).toHaveLength(3);
    // The same certificate reads.
    expect((await misused.version()).tag).toBe("v1.12.11");
  });

  it("a client without the admin certificate cannot change a node: it says so and sends nothing", async () => {
    const fake = await start(workerState("v1.13.9"));
    const client = clientFor(fake, { readerConfiguration: readerOnly });
    expect((await client.version()).tag).toBe("v1.13.9");
    const error = await failureOf(client.reboot());
    expect(error.message).toBe("node 127.0.0.1: Reboot: needs the os:admin client certificate, and this client holds none");
    expect(fake.methodsCalled()).toEqual(["Version"]);
  });
});

describe("OsUpgrade state", () => {
  it("keeps only the os:reader credential for a refresh (no admin certificate, no kubeconfig), and the refresh reads with it", async () => {
    const fake = await start(workerState("v1.13.9"));
    const inputs = {
      ...{ node: "127.0.0.1", endpoint: "127.0.0.1", port: fake.port, nodeName: "w1", role: "worker" as const },
      ...{ clientConfiguration: admin, readerConfiguration: readerOnly, kubeconfig: "apiVersion: v1", image: "installer:v1.13.9" },
      ...{ controlPlanes: [{ node: "10.25.11.11", endpoint: "10.25.11.11", port: 50000 }], targetVersion: "v1.13.8" },
      ...{ timeoutSeconds: 60, drainTimeoutSeconds: 5 },
    };
    const stored = osUpgradeOutputs(inputs);
    expect(Object.keys(stored).filter((key) => /[Cc]onfiguration|kubeconfig|controlPlanes/.test(key))).toEqual(["readerConfiguration"]);
    expect(await readOsUpgrade(stored)).toEqual({ ...stored, observedVersion: "v1.13.9" });
    // Without a reader certificate (a stack from before it), the admin one is what a refresh has.
    expect(osUpgradeOutputs({ ...inputs, readerConfiguration: undefined }).clientConfiguration).toEqual(admin);
  });
});

describe("error shapes apid sends", () => {
  it("answered one-to-one (`node` metadata), the proxied node's failure comes back as a gRPC status", async () => {
    const fake = await start(controlPlaneState("v1.13.9"));
    fake.state.failures.EtcdStatus = { code: status.UNKNOWN, details: "failed to query etcd status: context deadline exceeded" };
    const client = clientFor(fake, { clientConfiguration: admin, node: "10.25.11.12" });
    const error = await failureOf(client.etcdStatus());
    expect(error.code).toBe(status.UNKNOWN);
    expect(error.message).toBe("node 10.25.11.12: EtcdStatus: UNKNOWN failed to query etcd status: context deadline exceeded");
  });
});

describe("health check streams", () => {
  const inputs = (port: number, timeoutSeconds: number): ClusterHealthInputs => ({
    endpoints: ["127.0.0.1", "127.0.0.2"],
    port,
    controlPlaneNodes: ["10.25.11.11"],
    workerNodes: ["10.25.11.21"],
    clientConfiguration: admin,
    fingerprint: "sha256:aaaa",
    timeoutSeconds,
  });

  it("a stream that ends DEADLINE_EXCEEDED at its wait means 'not healthy yet': asked again on the same endpoint, progress logged", async () => {
    const clock = virtualClock();
    const fake = await start(controlPlaneState("v1.13.9"), clock);
    fake.health = { unhealthyStreams: 2, waitingOn: "all k8s nodes to report ready: node w1 is not ready" };
    const client = clientFor(fake, { clientConfiguration: admin, clock });
    const lines: string[] = [];

    const messages = await client.healthCheck({
      waitTimeoutSeconds: 300,
      untilMs: 1_200_000,
      controlPlaneNodes: ["10.25.11.11"],
      workerNodes: ["10.25.11.21"],
      onProgress: (line) => lines.push(line),
    });

    expect(messages[messages.length - 1]).toBe("waiting for all k8s nodes to report ready: OK");
    expect(fake.methodsCalled()).toEqual(["HealthCheck", "HealthCheck", "HealthCheck"]);
    expect(lines.filter((l) => l === "waiting for all k8s nodes to report ready: node w1 is not ready")).toHaveLength(2);
    expect(lines).toContain('discovered nodes: ["10.25.11.11" "10.25.11.21"]');
    // Each stream's wait is capped by what is left of the overall timeout.
    expect(fake.calls.map((c) => (c.request.waitTimeout as { seconds: string }).seconds)).toEqual(["300", "300", "300"]);
  });

  it("still unhealthy at the overall timeout: fails naming the check, without failing over to another endpoint", async () => {
    const fake = await start(controlPlaneState("v1.13.9"));
    fake.health = { unhealthyStreams: 100, waitingOn: "etcd members to be consistent across nodes: ..." };
    const lines: string[] = [];
    const log = jest.spyOn(console, "error").mockImplementation((line: string) => void lines.push(line));
    try {
      // 1 s of real server-side wait: the provider runs on the system clock.
      await expect(clusterHealthProvider.create(inputs(fake.port, 1))).rejects.toThrow(
        "node 127.0.0.1: HealthCheck: cluster not healthy after 1s (last: waiting for etcd members to be consistent across nodes: ...)",
      );
    } finally {
      log.mockRestore();
    }
    // Only the first endpoint was asked (127.0.0.2 would refuse: a fail-over shows as an UNAVAILABLE error instead).
    expect(fake.methodsCalled()).toEqual(["HealthCheck"]);
    expect(lines).toContain("cluster health (127.0.0.1): waiting for etcd members to be consistent across nodes: ...");
  });
});
