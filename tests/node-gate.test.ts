import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { changedKeys, nodeGateProvider, type GateInputs, type GateOutputs } from "../components/talos/lifecycle/nodeGateProvider";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { FakeTalosApi, workerState } from "./fakes/talosApi";

const repoRoot = path.resolve(__dirname, "..");

const baseInputs: GateInputs = {
  node: "10.25.11.21",
  endpoint: "10.25.11.21",
  port: 50000,
  clientConfiguration: { caCertificate: "ca", clientCertificate: "crt", clientKey: "key" },
  expectations: { role: "worker", talosVersion: "v1.13.9" },
  fingerprint: "sha256:aaaa",
  timeoutSeconds: 1200,
};

/** Outputs as a previous create left them in state: what `diff` receives as olds. */
function outputsOf(inputs: GateInputs): GateOutputs {
  const { node, endpoint, port, expectations, fingerprint, timeoutSeconds } = inputs;
  return { node, endpoint, port, expectations, fingerprint, timeoutSeconds, observedVersion: expectations.talosVersion, lastWait: "ready" };
}

describe("NodeGate diff", () => {
  const diff = (olds: GateOutputs, news: GateInputs) => nodeGateProvider.diff!("nodegate-10.25.11.21", olds, news);

  it("reports no change for a converged run, so no wait happens", async () => {
    expect(await diff(outputsOf(baseInputs), { ...baseInputs })).toEqual({ changes: false, replaces: [] });
  });

  it("ignores key order in expectations, the timeout and rotated credentials", async () => {
    const news: GateInputs = {
      ...baseInputs,
      expectations: { talosVersion: "v1.13.9", role: "worker" },
      timeoutSeconds: 60,
      clientConfiguration: { caCertificate: "ca2", clientCertificate: "crt2", clientKey: "key2" },
    };
    expect(await diff(outputsOf(baseInputs), news)).toEqual({ changes: false, replaces: [] });
  });

  it("updates in place (never replaces) when the fingerprint or the expectations change", async () => {
    expect(await diff(outputsOf(baseInputs), { ...baseInputs, fingerprint: "sha256:bbbb" })).toEqual({ changes: true, replaces: [] });
    const upgraded = { ...baseInputs, expectations: { role: "worker" as const, talosVersion: "v1.14.0" } };
    expect(await diff(outputsOf(baseInputs), upgraded)).toEqual({ changes: true, replaces: [] });
    expect(changedKeys(outputsOf(baseInputs), { ...upgraded, fingerprint: "sha256:bbbb" })).toEqual(["expectations", "fingerprint"]);
  });
});

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  // Asynchronous on purpose: the fake apid lives in this process and must keep answering meanwhile.
  return new Promise((resolve, reject) =>
    execFile(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 90_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} failed: ${error.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

/**
 * The engine's side, in a plain Node process (no ts-node, no jest): it loads the provider text the way
 * @pulumi/pulumi's cmd/dynamic-provider does (`requireFromString(text).handler()`, module paths from
 * the working directory) and drives it like the engine: create, then diff against the outputs.
 */
const engineSide = `
const fs = require("fs");
const requireFromString = require("require-from-string");
const { inputs, changed } = JSON.parse(fs.readFileSync(process.env.GATE_REQUEST, "utf8"));
const provider = requireFromString(inputs.__provider).handler();
(async () => {
  try {
    const created = await provider.create(inputs);
    const same = await provider.diff(created.id, created.outs, inputs);
    const moved = await provider.diff(created.id, created.outs, { ...inputs, ...changed });
    process.stdout.write(JSON.stringify({ created, same, moved }));
  } catch (error) {
    process.stdout.write(JSON.stringify({ error: error.message }));
  }
})();
`;

describe("NodeGate provider as the engine runs it", () => {
  let pki: TestPki;
  let fake: FakeTalosApi;
  let dir: string;
  let registered: Record<string, unknown>;
  const b64 = (pem: string) => Buffer.from(pem).toString("base64");

  beforeAll(async () => {
    pki = createTestPki();
    fake = await FakeTalosApi.start({ pki, state: workerState("v1.13.9") });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "node-gate-"));
    const args = {
      node: "127.0.0.1",
      port: fake.port,
      clientConfiguration: clientConfigurationOf(pki),
      expectations: { role: "worker", talosVersion: "v1.13.9" },
      fingerprint: "sha256:aaaa",
      timeoutSeconds: 2,
    };
    fs.writeFileSync(path.join(dir, "args.json"), JSON.stringify(args));
    // Serialized by @pulumi/pulumi's dynamic.Resource in a ts-node process, as `pulumi up` runs this program.
    await run(process.execPath, [
      "-r",
      "ts-node/register/transpile-only",
      "tests/fakes/serializeNodeGate.ts",
      path.join(dir, "args.json"),
      path.join(dir, "inputs.json"),
    ]);
    registered = JSON.parse(fs.readFileSync(path.join(dir, "inputs.json"), "utf8")) as Record<string, unknown>;
  }, 120_000);

  afterAll(async () => {
    await fake.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** What the engine hands a provider that does not accept secrets: the secret's plain value. */
  function engineInputs(overrides: Record<string, unknown> = {}): Record<string, unknown> {
    const secret = registered.clientConfiguration as Record<string, unknown>;
    return { ...registered, clientConfiguration: secret.value, ...overrides };
  }

  async function engineRun(inputs: Record<string, unknown>, changed: Record<string, unknown>): Promise<Record<string, unknown>> {
    const request = path.join(dir, `request-${Date.now()}.json`);
    fs.writeFileSync(request, JSON.stringify({ inputs, changed }));
    return JSON.parse(await run(process.execPath, ["-e", engineSide], { GATE_REQUEST: request })) as Record<string, unknown>;
  }

  it("registers the client configuration as a secret input and a provider that requires only packages", () => {
    const secret = registered.clientConfiguration as Record<string, unknown>;
    expect(secret[specialSigKey]).toBe(specialSecretSig);
    const text = String(registered.__provider);
    const required = [...text.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(required.length).toBeGreaterThan(0);
    // No literal path: the thin entry loads our sources by a path relative to the project root (tests/thin-provider.test.ts).
    expect(required.filter((name) => name.startsWith(".") || path.isAbsolute(name))).toEqual([]);
  });

  it("waits for the node on create against the fake apid, returns what diff compares and no key material", async () => {
    fake.calls.length = 0;
    const result = await engineRun(engineInputs(), { fingerprint: "sha256:bbbb" });

    expect(result.error).toBeUndefined();
    const created = result.created as { id: string; outs: Record<string, unknown> };
    expect(created.id).toBe("nodegate-127.0.0.1");
    expect(created.outs).toEqual({
      node: "127.0.0.1",
      endpoint: "127.0.0.1",
      port: fake.port,
      expectations: { role: "worker", talosVersion: "v1.13.9" },
      fingerprint: "sha256:aaaa",
      timeoutSeconds: 2,
      waitOnCreate: true,
      rebootGraceSeconds: 180,
      pollSeconds: 5,
      observedVersion: "v1.13.9",
      // Recorded so the next update can tell a reboot from the boot it saw.
      bootId: fake.state.bootId,
      lastWait: "ready",
      providerLogic: registered.providerLogic,
    });
    expect(JSON.stringify(created.outs)).not.toContain(b64(pki.client.key));
    expect(fake.methodsCalled()).toEqual(["Version", "ServiceList", "Read"]);
    // Diffing the outputs it returned: unchanged inputs are a no-op, a new fingerprint an in-place update.
    expect(result.same).toEqual({ changes: false, replaces: [] });
    expect(result.moved).toEqual({ changes: true, replaces: [] });
  }, 120_000);

  it("fails create naming the node and the unmet condition when the node runs another version", async () => {
    const result = await engineRun(engineInputs({ expectations: { role: "worker", talosVersion: "v1.14.0" }, timeoutSeconds: 1 }), {});
    expect(result.error).toBe("node 127.0.0.1: readiness: not ready after 1s: expected v1.14.0, runs v1.13.9");
  }, 120_000);
});
