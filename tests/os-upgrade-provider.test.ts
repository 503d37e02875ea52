import { execFile } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import {
  osUpgradeChanges,
  osUpgradeOutputs,
  osUpgradeProvider,
  readOsUpgrade,
  type OsUpgradeInputs,
} from "../components/talos/lifecycle/osUpgradeProvider";
import { FakeKubernetesApi } from "./fakes/kubernetesApi";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { FakeTalosApi, workerState } from "./fakes/talosApi";

const repoRoot = path.resolve(__dirname, "..");
const schematic = "376567988ad370138ad8b2698212367b8edcb69b5fd68c80be1f2ec7d603b4ba";
const image = (version: string) => `factory.talos.dev/metal-installer/${schematic}:${version}`;

describe("OsUpgrade diff", () => {
  const base: OsUpgradeInputs = {
    node: "10.25.11.21",
    endpoint: "10.25.11.21",
    port: 50000,
    nodeName: "w1",
    role: "worker",
    clientConfiguration: { caCertificate: "ca", clientCertificate: "crt", clientKey: "key" },
    kubeconfig: "apiVersion: v1",
    image: image("v1.13.0"),
    targetVersion: "v1.13.0",
    timeoutSeconds: 1800,
    drainTimeoutSeconds: 600,
  };

  it("upgrades again when the installer image or target changes; credentials and timeouts alone change nothing", () => {
    const outs = { ...base, observedVersion: "v1.13.0" };
    expect(osUpgradeChanges(outs, { ...base, kubeconfig: "other", timeoutSeconds: 60 })).toEqual([]);
    expect(osUpgradeChanges(outs, { ...base, image: image("v1.13.9"), targetVersion: "v1.13.9" })).toEqual([
      "image",
      "targetVersion",
      "observedVersion",
    ]);
    // A rename is not a reason to call the node.
    expect(osUpgradeChanges(outs, { ...base, nodeName: "w9", role: "worker", endpoint: "10.25.11.99", port: 50001 })).toEqual([]);
  });

  it("converges drift: a refresh that found the node on another version makes the same target a change", () => {
    expect(osUpgradeChanges({ ...base, observedVersion: "v1.12.5" }, base)).toEqual(["observedVersion"]);
    expect(osUpgradeChanges({ ...base, observedVersion: "v1.13.0" }, base)).toEqual([]);
  });
});

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(command, args, { cwd: repoRoot, env: { ...process.env, ...env }, timeout: 90_000 }, (error, stdout, stderr) =>
      error ? reject(new Error(`${command} failed: ${error.message}\n${stderr}`)) : resolve(stdout),
    ),
  );
}

/**
 * The engine's side, one provider process per step as in two runs: STEP=create, then STEP=update
 * with a new target, diffed against the create's outputs (what the engine keeps in state).
 */
const engineSide = `
const fs = require("fs");
const requireFromString = require("require-from-string");
const { inputs, changed, created } = JSON.parse(fs.readFileSync(process.env.REQUEST, "utf8"));
const provider = requireFromString(inputs.__provider).handler();
(async () => {
  try {
    if (process.env.STEP === "create") {
      fs.writeFileSync(process.env.RESULT, JSON.stringify({ created: await provider.create(inputs) }));
      return;
    }
    const news = { ...inputs, ...changed };
    const diff = await provider.diff(created.id, created.outs, news);
    const updated = await provider.update(created.id, created.outs, news);
    fs.writeFileSync(process.env.RESULT, JSON.stringify({ diff, updated }));
  } catch (error) {
    fs.writeFileSync(process.env.RESULT, JSON.stringify({ error: error.message }));
  }
})();
`;

describe("OsUpgrade provider as the engine runs it", () => {
  let pki: TestPki;
  let talos: FakeTalosApi;
  let kube: FakeKubernetesApi;
  let dir: string;
  let registered: { inputs: Record<string, unknown>; additionalSecretOutputs: string[] };
  const b64 = (pem: string) => Buffer.from(pem).toString("base64");

  beforeAll(async () => {
    pki = createTestPki();
    talos = await FakeTalosApi.start({ pki, state: { ...workerState("v1.13.0"), hostname: "w1" } });
    talos.rebootScript = { answerOldBootMs: 100, downMs: 300 };
    kube = await FakeKubernetesApi.start(pki);
    kube.addNode("w1");
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "os-upgrade-"));
    const args = {
      node: "127.0.0.1",
      port: talos.port,
      nodeName: "w1",
      role: "worker",
      clientConfiguration: clientConfigurationOf(pki),
      kubeconfig: kube.kubeconfig(pki),
      image: image("v1.13.0"),
      targetVersion: "v1.13.0",
      timeoutSeconds: 60,
      drainTimeoutSeconds: 5,
    };
    fs.writeFileSync(path.join(dir, "args.json"), JSON.stringify(args));
    await run(process.execPath, [
      "-r",
      "ts-node/register/transpile-only",
      "tests/fakes/serializeMembershipUpgrade.ts",
      "OsUpgrade",
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

  it("a refresh reads the version the node runs now (drift), and keeps the recorded one when the node does not answer", async () => {
    const clientConfiguration = {
      caCertificate: b64(pki.ca.cert),
      clientCertificate: b64(pki.client.cert),
      clientKey: b64(pki.client.key),
    };
    const recorded = osUpgradeOutputs(
      {
        node: "127.0.0.1",
        endpoint: "127.0.0.1",
        port: talos.port,
        nodeName: "w1",
        role: "worker",
        clientConfiguration,
        kubeconfig: "",
        image: image("v1.12.9"),
        targetVersion: "v1.12.9",
        timeoutSeconds: 60,
        drainTimeoutSeconds: 5,
      },
      "v1.12.9",
    );
    const before = talos.state.version;
    expect(await readOsUpgrade(recorded)).toEqual({ ...recorded, observedVersion: before });
    // Through the provider's read, as the engine calls it: the line goes to the engine's output.
    const lines: string[] = [];
    jest.spyOn(console, "log").mockImplementation((line: string) => void lines.push(line));
    const down = { ...recorded, port: 1 };
    expect(await osUpgradeProvider.read!("osupgrade-127.0.0.1", down)).toEqual({ id: "osupgrade-127.0.0.1", props: down });
    jest.restoreAllMocks();
    expect(lines).toEqual([
      expect.stringMatching(/^127\.0\.0\.1: version not read \(node 127\.0\.0\.1: Version: .*UNAVAILABLE.*\); keeping v1\.12\.9$/),
    ]);
    // A damaged stored certificate is this read's failure, named, not a node that is down.
    const damaged = { ...recorded, readerConfiguration: { caCertificate: "x", clientCertificate: "x", clientKey: "x" } };
    await expect(readOsUpgrade(damaged)).rejects.toThrow(/^read osupgrade 127\.0\.0\.1: .*neither PEM nor base64-encoded PEM/);
  }, 60_000);

  it("registers the credentials as secret inputs and a provider that requires only packages", () => {
    for (const key of ["kubeconfig", "clientConfiguration"]) {
      expect((registered.inputs[key] as Record<string, unknown>)[specialSigKey]).toBe(specialSecretSig);
    }
    const required = [...String(registered.inputs.__provider).matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1]);
    expect(required.filter((name) => name.startsWith(".") || path.isAbsolute(name))).toEqual([]);
  });

  it("creates as a record without calling the node, then upgrades on a new target; only the Talos client configuration is in the outputs (secret in state)", async () => {
    const inputs: Record<string, unknown> = { ...registered.inputs };
    for (const key of ["kubeconfig", "clientConfiguration"]) inputs[key] = (inputs[key] as { value: unknown }).value;
    const request = path.join(dir, "request.json");
    const resultFile = path.join(dir, "result.json");
    const step = async (name: string, body: Record<string, unknown>) => {
      fs.writeFileSync(request, JSON.stringify({ inputs, ...body }));
      await run(process.execPath, ["-e", engineSide], { REQUEST: request, RESULT: resultFile, STEP: name });
      const result = JSON.parse(fs.readFileSync(resultFile, "utf8")) as Record<string, { outs?: Record<string, unknown> } | string>;
      expect(result.error).toBeUndefined();
      return result;
    };

    // On a first bring-up the machine is still in maintenance mode: create must not call it.
    const callsBefore = talos.methodsCalled().length;
    const created = (await step("create", {})).created as { id: string; outs: Record<string, unknown> };
    expect(talos.methodsCalled().slice(callsBefore)).toEqual([]);
    expect(created.id).toBe("osupgrade-127.0.0.1");
    expect(created.outs.observedVersion).toBe("v1.13.0");

    const result = await step("update", { created, changed: { image: image("v1.13.9"), targetVersion: "v1.13.9" } });
    expect(result.diff).toEqual({ changes: true, replaces: [] });
    const updated = result.updated as { outs: Record<string, unknown> };
    expect(updated.outs).toMatchObject({ observedVersion: "v1.13.9", targetVersion: "v1.13.9", image: image("v1.13.9") });
    for (const outs of [created.outs, updated.outs]) {
      expect(Object.keys(outs)).not.toContain("kubeconfig");
      expect(outs.clientConfiguration).toEqual(inputs.clientConfiguration);
    }
    expect(registered.additionalSecretOutputs).toContain("clientConfiguration");
    expect(talos.methodsCalled().filter((m) => ["ImagePull", "LifecycleUpgrade", "Reboot", "Upgrade"].includes(m))).toEqual([
      "ImagePull",
      "LifecycleUpgrade",
      "Reboot",
    ]);
    expect(talos.state.version).toBe("v1.13.9");
    expect(kube.nodes.get("w1")?.unschedulable).toBe(false);

    // A new schematic for the same version: the update installs it again (state held the old installer).
    const otherSchematic = `factory.talos.dev/metal-installer/${"c".repeat(64)}:v1.13.9`;
    const upgradedState = { id: created.id, outs: updated.outs };
    const calls = talos.methodsCalled().length;
    const reinstalled = await step("update", {
      created: upgradedState,
      changed: { image: otherSchematic, targetVersion: "v1.13.9" },
    });
    expect(reinstalled.diff).toEqual({ changes: true, replaces: [] });
    expect(
      talos
        .methodsCalled()
        .slice(calls)
        .filter((m) => ["ImagePull", "LifecycleUpgrade", "Reboot"].includes(m)),
    ).toEqual(["ImagePull", "LifecycleUpgrade", "Reboot"]);
  }, 120_000);
});
