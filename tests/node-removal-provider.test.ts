import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { membershipChanges, nodeMembershipProvider, type MembershipInputs } from "../components/talos/lifecycle/nodeMembershipProvider";
import { FakeKubernetesApi } from "./fakes/kubernetesApi";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { FakeTalosApi, workerState } from "./fakes/talosApi";

const repoRoot = path.resolve(__dirname, "..");

const base: MembershipInputs = {
  nodeName: "w1",
  node: "10.25.11.21",
  endpoint: "10.25.11.21",
  port: 50000,
  role: "worker",
  controlPlanes: [{ node: "10.25.11.11", endpoint: "10.25.11.11", port: 50000 }],
  kubeconfig: "apiVersion: v1",
  clientConfiguration: { caCertificate: "ca", clientCertificate: "crt", clientKey: "key" },
  drainTimeoutSeconds: 600,
  deleteEmptyDirData: false,
  force: false,
  allowBelowMajority: false,
  resetTimeoutSeconds: 600,
};

describe("NodeMembership diff", () => {
  it("never replaces (a replacement would run the delete: wipe the node), and updates when credentials rotate", async () => {
    expect(await nodeMembershipProvider.diff!("membership-w1", { ...base }, { ...base })).toEqual({ changes: false, replaces: [] });
    const rotated = { ...base, clientConfiguration: { ...base.clientConfiguration, clientKey: "key2" } };
    expect(await nodeMembershipProvider.diff!("membership-w1", { ...base }, rotated)).toEqual({ changes: true, replaces: [] });
    expect(membershipChanges(base, { ...rotated, node: "10.25.11.22" })).toEqual(["node", "clientConfiguration"]);
  });
});

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  // Asynchronous: the fakes live in this process and must keep answering meanwhile.
  return new Promise((resolve, reject) =>
    execFile(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 90_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} failed: ${error.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

/**
 * The engine's side in a plain Node process, as cmd/dynamic-provider loads the provider
 * (`requireFromString(text).handler()`): create, diff against the outputs, then delete with the
 * OUTPUTS as props — what the engine hands a delete once the node is gone from the program.
 */
const engineSide = `
const fs = require("fs");
const requireFromString = require("require-from-string");
const { inputs } = JSON.parse(fs.readFileSync(process.env.REQUEST, "utf8"));
const provider = requireFromString(inputs.__provider).handler();
(async () => {
  try {
    const created = await provider.create(inputs);
    const same = await provider.diff(created.id, created.outs, inputs);
    await provider.delete(created.id, { ...created.outs, __provider: inputs.__provider });
    fs.writeFileSync(process.env.RESULT, JSON.stringify({ created, same }));
  } catch (error) {
    fs.writeFileSync(process.env.RESULT, JSON.stringify({ error: error.message }));
  }
})();
`;

describe("NodeMembership provider as the engine runs it", () => {
  let pki: TestPki;
  let talos: FakeTalosApi;
  let kube: FakeKubernetesApi;
  let dir: string;
  let registered: { inputs: Record<string, unknown>; additionalSecretOutputs: string[] };

  beforeAll(async () => {
    pki = createTestPki();
    talos = await FakeTalosApi.start({ pki, state: { ...workerState("v1.13.9"), hostname: "w1" } });
    talos.rebootScript = { answerOldBootMs: 100, downMs: 300 };
    kube = await FakeKubernetesApi.start(pki);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-membership-"));
    const args = {
      nodeName: "w1",
      node: "127.0.0.1",
      port: talos.port,
      role: "worker",
      controlPlanes: [],
      kubeconfig: kube.kubeconfig(pki),
      clientConfiguration: clientConfigurationOf(pki),
      drainTimeoutSeconds: 5,
      resetTimeoutSeconds: 10,
    };
    fs.writeFileSync(path.join(dir, "args.json"), JSON.stringify(args));
    await run(process.execPath, [
      "-r",
      "ts-node/register/transpile-only",
      "tests/fakes/serializeMembershipUpgrade.ts",
      "NodeMembership",
      path.join(dir, "args.json"),
      path.join(dir, "registered.json"),
    ]);
    registered = JSON.parse(fs.readFileSync(path.join(dir, "registered.json"), "utf8")) as typeof registered;
  }, 120_000);

  afterAll(async () => {
    await talos.stop();
    await kube.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("registers both credentials as secret inputs and asks the engine to keep them secret as outputs", () => {
    for (const key of ["kubeconfig", "clientConfiguration"]) {
      expect((registered.inputs[key] as Record<string, unknown>)[specialSigKey]).toBe(specialSecretSig);
    }
    // The os:reader credential too, when given (absent in this registration's args).
    expect(registered.additionalSecretOutputs).toEqual(["kubeconfig", "clientConfiguration", "readerConfiguration"]);
    const required = [...String(registered.inputs.__provider).matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    // A thin entry: the removal logic is loaded from the project when the engine calls it (tests/thin-provider.test.ts).
    expect(required).toEqual(["ts-node/register/transpile-only"]);
  });

  it("creates without touching the node, keeps the credentials in its outputs, and removes the node on delete from those outputs alone", async () => {
    kube.addNode("w1");
    kube.addPod({ namespace: "app", name: "web-1", nodeName: "w1", owner: "ReplicaSet" });
    kube.addPod({ namespace: "kube-system", name: "cilium-abcde", nodeName: "w1", owner: "DaemonSet" });
    const inputs: Record<string, unknown> = { ...registered.inputs };
    for (const key of ["kubeconfig", "clientConfiguration"]) inputs[key] = (inputs[key] as { value: unknown }).value;
    const request = path.join(dir, "request.json");
    fs.writeFileSync(request, JSON.stringify({ inputs }));

    // The provider logs its progress on stdout (the engine shows it); the result goes to a file.
    const resultFile = path.join(dir, "result.json");
    const stdout = await run(process.execPath, ["-e", engineSide], { REQUEST: request, RESULT: resultFile });
    const result = JSON.parse(fs.readFileSync(resultFile, "utf8")) as Record<string, unknown>;
    expect(stdout).toContain("remove worker w1: draining");

    expect(result.error).toBeUndefined();
    const created = result.created as { id: string; outs: Record<string, unknown> };
    expect(created.id).toBe("membership-w1");
    expect(created.outs.kubeconfig).toBe(inputs.kubeconfig);
    expect(created.outs.clientConfiguration).toEqual(inputs.clientConfiguration);
    expect(result.same).toEqual({ changes: false, replaces: [] });
    expect(kube.calls()).toEqual([
      "GET /api/v1/nodes/w1",
      "PATCH /api/v1/nodes/w1",
      "GET /api/v1/pods",
      "POST /api/v1/namespaces/app/pods/web-1/eviction",
      "GET /api/v1/namespaces/app/pods/web-1",
      "DELETE /api/v1/nodes/w1",
    ]);
    expect(talos.methodsCalled()).toContain("Reset");
    expect(kube.nodes.has("w1")).toBe(false);
  }, 120_000);
});
