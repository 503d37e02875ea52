import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import {
  clusterHealthChanges,
  clusterHealthProvider,
  type ClusterHealthInputs,
  type ClusterHealthOutputs,
} from "../components/talos/lifecycle/clusterHealthProvider";
import { clusterReadyChanges, type ClusterReadyInputs, type ClusterReadyOutputs } from "../components/talos/lifecycle/clusterReadyProvider";
import { engineInputs, engineRun, registeredInputs } from "./fakes/engineSide";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { controlPlaneState, FakeTalosApi, workerState } from "./fakes/talosApi";

const clientConfiguration = { caCertificate: "ca", clientCertificate: "crt", clientKey: "key" };

describe("ClusterReady diff", () => {
  const news: ClusterReadyInputs = {
    nodes: [{ node: "10.25.11.11", role: "controlplane", port: 50000 }],
    talosVersion: "v1.13.9",
    clientConfiguration,
    fingerprint: "sha256:aaaa",
    timeoutSeconds: 1800,
  };
  const olds: ClusterReadyOutputs = { ...news, observedVersions: { "10.25.11.11": "v1.13.9" } };

  it("no change on a converged run; a new node set, Talos version or fingerprint is an update", () => {
    expect(
      clusterReadyChanges(olds, { ...news, timeoutSeconds: 60, clientConfiguration: { ...clientConfiguration, clientKey: "k2" } }),
    ).toEqual([]);
    expect(clusterReadyChanges(olds, { ...news, nodes: [...news.nodes, { node: "10.25.11.21", role: "worker", port: 50000 }] })).toEqual([
      "nodes",
    ]);
    expect(clusterReadyChanges(olds, { ...news, talosVersion: "v1.14.0", fingerprint: "sha256:bbbb" })).toEqual([
      "talosVersion",
      "fingerprint",
    ]);
  });
});

describe("ClusterHealth diff", () => {
  const news: ClusterHealthInputs = {
    endpoints: ["10.25.11.11"],
    port: 50000,
    controlPlaneNodes: ["10.25.11.11"],
    workerNodes: [],
    clientConfiguration,
    fingerprint: "sha256:aaaa",
    timeoutSeconds: 1200,
  };
  const olds: ClusterHealthOutputs = { ...news, lastMessage: "ok" };

  it("no change on a converged run; nodes or fingerprint (versions, CNI) changed is an update", () => {
    expect(clusterHealthChanges(olds, { ...news, timeoutSeconds: 5, endpoints: ["10.25.11.12"] })).toEqual([]);
    expect(clusterHealthChanges(olds, { ...news, workerNodes: ["10.25.11.21"] })).toEqual(["workerNodes"]);
    expect(clusterHealthChanges(olds, { ...news, fingerprint: "sha256:cccc" })).toEqual(["fingerprint"]);
  });

  it("a node that only leaves is no reason to check (it is still a Kubernetes Node until its delete, which runs last)", () => {
    const three = { ...olds, workerNodes: ["10.25.11.21", "10.25.11.22"] };
    expect(clusterHealthChanges(three, { ...news, workerNodes: ["10.25.11.21"] })).toEqual([]);
    expect(clusterHealthChanges({ ...olds, controlPlaneNodes: ["10.25.11.11", "10.25.11.12"] }, news)).toEqual([]);
    // One leaves while another joins: the joiner must be checked.
    expect(clusterHealthChanges(three, { ...news, workerNodes: ["10.25.11.21", "10.25.11.23"] })).toEqual(["workerNodes"]);
    // A worker becoming a control plane joins that role.
    expect(
      clusterHealthChanges(three, { ...news, controlPlaneNodes: ["10.25.11.11", "10.25.11.22"], workerNodes: ["10.25.11.21"] }),
    ).toEqual(["controlPlaneNodes"]);
  });

  it("a node that only leaves still updates the stored node set, without a check, so that it is checked when it comes back", async () => {
    const three = { ...olds, workerNodes: ["10.25.11.21", "10.25.11.22"] };
    const left = { ...news, workerNodes: ["10.25.11.21"], endpoints: [] };
    expect(await clusterHealthProvider.diff!("cluster-health", three, left)).toEqual({ changes: true, replaces: [] });
    // No endpoint: a check would throw; recording the set contacts nothing and keeps the last message.
    const updated = await clusterHealthProvider.update!("cluster-health", three, left);
    expect(updated.outs).toMatchObject({ workerNodes: ["10.25.11.21"], lastMessage: "ok" });
    expect(
      await clusterHealthProvider.diff!("cluster-health", updated.outs!, { ...left, workerNodes: ["10.25.11.21", "10.25.11.22"] }),
    ).toEqual({
      changes: true,
      replaces: [],
    });
    expect(await clusterHealthProvider.diff!("cluster-health", olds, news)).toEqual({ changes: false, replaces: [] });
  });
});

describe("cluster waits as the engine runs them, against fake apids", () => {
  let pki: TestPki;
  let dir: string;
  const fakes: FakeTalosApi[] = [];
  let credentials: { caCertificate: string; clientCertificate: string; clientKey: string };

  beforeAll(() => {
    pki = createTestPki();
    credentials = clientConfigurationOf(pki);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "cluster-health-"));
  });

  afterAll(async () => {
    await Promise.all(fakes.map((f) => f.stop()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function start(state: Parameters<typeof FakeTalosApi.start>[0]["state"]): Promise<FakeTalosApi> {
    const fake = await FakeTalosApi.start({ pki, state });
    fakes.push(fake);
    return fake;
  }

  function expectSecretInput(registered: Record<string, unknown>): void {
    const secret = registered.clientConfiguration as Record<string, unknown>;
    expect(secret[specialSigKey]).toBe(specialSecretSig);
  }

  it("ClusterReady waits for every node in parallel on create, makes no call on a no-op, and waits again when the node set changes", async () => {
    const cp = await start(controlPlaneState("v1.13.9"));
    const worker = await start(workerState("v1.13.9"));
    const added = await start(workerState("v1.13.9"));
    const registered = await registeredInputs(
      "ClusterReady",
      {
        nodes: [{ ip: "127.0.0.1", role: "controlplane" }],
        talosVersion: "v1.13.9",
        clientConfiguration: credentials,
        fingerprint: "sha256:aaaa",
      },
      dir,
    );
    expectSecretInput(registered);
    const nodes = [
      { node: "127.0.0.1", role: "controlplane", port: cp.port },
      { node: "127.0.0.1", role: "worker", port: worker.port },
    ];
    const inputs = engineInputs(registered, { nodes, pollSeconds: 0.2, timeoutSeconds: 20 });
    const grown = { ...inputs, nodes: [...nodes, { node: "127.0.0.1", role: "worker", port: added.port }] };
    // The worker is still rebooting into its installed system when the wait starts.
    // It comes up only after three refused polls, however slowly the engine-side process starts.
    worker.state.unavailable = true;
    const recovery = setInterval(() => {
      if (worker.calls.length >= 3) worker.state.unavailable = false;
    }, 20);

    const run = await engineRun(
      String(registered.__provider),
      [
        { op: "create", inputs },
        { op: "diff", inputs },
        { op: "diff", inputs: grown },
        { op: "update", inputs: grown },
      ],
      dir,
    );
    clearInterval(recovery);

    expect(run.error).toBeUndefined();
    const [created, same, moved, updated] = run.results;
    expect(created!.outs).toMatchObject({ fingerprint: "sha256:aaaa", observedVersions: { "127.0.0.1": "v1.13.9" } });
    expect(JSON.stringify(created!.outs)).not.toContain(credentials.clientKey);
    expect(same!.result).toEqual({ changes: false, replaces: [] });
    expect(moved!.result).toEqual({ changes: true, replaces: [] });
    expect(updated!.outs!.nodes).toEqual(grown.nodes);
    // The control plane was judged with etcd, the worker without; the added node only on the update.
    expect(cp.methodsCalled()).toEqual(expect.arrayContaining(["EtcdStatus", "EtcdMemberList"]));
    expect(worker.methodsCalled()).not.toContain("EtcdStatus");
    // Refused polls first, then a full readiness poll: create waited for the worker.
    expect(worker.methodsCalled().slice(0, 4)).toEqual(["Version", "Version", "Version", "Version"]);
    expect(worker.methodsCalled()).toContain("ServiceList");
    expect(added.methodsCalled()).toEqual(["Version", "ServiceList"]);
  }, 120_000);

  it("ClusterReady names every node that is not ready", async () => {
    const cp = await start(controlPlaneState("v1.12.11"));
    const worker = await start(workerState("v1.12.11"));
    const registered = await registeredInputs(
      "ClusterReady",
      {
        nodes: [{ ip: "127.0.0.1", role: "controlplane" }],
        talosVersion: "v1.13.9",
        clientConfiguration: credentials,
        fingerprint: "sha256:aaaa",
      },
      dir,
    );
    const inputs = engineInputs(registered, {
      nodes: [
        { node: "127.0.0.1", role: "controlplane", port: cp.port },
        { node: "127.0.0.1", role: "worker", port: worker.port },
      ],
      pollSeconds: 0.2,
      timeoutSeconds: 1,
    });
    const run = await engineRun(String(registered.__provider), [{ op: "create", inputs }], dir);
    expect(run.error).toBe(
      "2 of 2 nodes not ready:\n" +
        "node 127.0.0.1: readiness: not ready after 1s: expected v1.13.9, runs v1.12.11\n" +
        "node 127.0.0.1: readiness: not ready after 1s: expected v1.13.9, runs v1.12.11",
    );
  }, 120_000);

  it("ClusterHealth runs Talos' health check with the stack's nodes on create and on a CNI change, never on a no-op", async () => {
    const cp = await start(controlPlaneState("v1.13.9"));
    const registered = await registeredInputs(
      "ClusterHealth",
      {
        controlPlaneNodes: ["10.25.11.11", "10.25.11.12"],
        workerNodes: ["10.25.11.21"],
        clientConfiguration: credentials,
        fingerprint: "sha256:aaaa",
        timeoutSeconds: 300,
      },
      dir,
    );
    expectSecretInput(registered);
    expect(registered.endpoints).toEqual(["10.25.11.11", "10.25.11.12"]);
    // Offline both endpoints are 127.0.0.1 on the fake's port; the first one refuses (a control plane rebooting).
    const inputs = engineInputs(registered, { endpoints: ["127.0.0.2", "127.0.0.1"], port: cp.port, endpointRetrySeconds: 0.5 });
    const cniChanged = { ...inputs, fingerprint: "sha256:bbbb" };

    const run = await engineRun(
      String(registered.__provider),
      [
        { op: "create", inputs },
        { op: "diff", inputs },
        { op: "diff", inputs: cniChanged },
        { op: "update", inputs: cniChanged },
      ],
      dir,
    );

    expect(run.error).toBeUndefined();
    const [created, same, moved, updated] = run.results;
    expect(created!.outs).toMatchObject({ lastMessage: "waiting for all k8s nodes to report ready: OK", fingerprint: "sha256:aaaa" });
    expect(JSON.stringify(created!.outs)).not.toContain(credentials.clientKey);
    expect(same!.result).toEqual({ changes: false, replaces: [] });
    expect(moved!.result).toEqual({ changes: true, replaces: [] });
    expect(updated!.outs).toMatchObject({ fingerprint: "sha256:bbbb" });
    expect(cp.methodsCalled()).toEqual(["HealthCheck", "HealthCheck"]);
    expect(cp.calls[0]!.request).toEqual({
      waitTimeout: { seconds: "300", nanos: 0 },
      clusterInfo: { controlPlaneNodes: ["10.25.11.11", "10.25.11.12"], workerNodes: ["10.25.11.21"], forceEndpoint: "" },
    });
  }, 120_000);

  it("ClusterHealth fails once its timeout passes with the cluster still unhealthy, naming the check it waited on", async () => {
    const cp = await start(controlPlaneState("v1.13.9"));
    // Every stream ends at its wait timeout (real time here: the provider runs in another process).
    cp.health = { unhealthyStreams: 10, waitingOn: "all k8s nodes to report ready: 1 node not ready" };
    const registered = await registeredInputs(
      "ClusterHealth",
      {
        controlPlaneNodes: ["127.0.0.1"],
        workerNodes: [],
        clientConfiguration: credentials,
        fingerprint: "sha256:aaaa",
        port: cp.port,
        timeoutSeconds: 1,
      },
      dir,
    );
    const run = await engineRun(String(registered.__provider), [{ op: "create", inputs: engineInputs(registered) }], dir);
    expect(run.error).toBe(
      "node 127.0.0.1: HealthCheck: cluster not healthy after 1s (last: waiting for all k8s nodes to report ready: 1 node not ready)",
    );
    expect(cp.methodsCalled()).toEqual(["HealthCheck"]);
  }, 120_000);
});
