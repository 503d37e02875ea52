import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { logicKey } from "../components/dynamic/thinRuntime";
import { baselineOfRecording } from "../plan/model/baseline";
import { diffRun } from "../plan/model/diff";
import { record } from "../plan/record/harness";
import { engineInputs, engineRun, registeredAll, repoRoot } from "./fakes/engineSide";

/**
 * The seven dynamic providers as the engine stores and runs them: serialized by the SDK under ts-node
 * (tests/fakes/serializeLifecycle.ts), then loaded from that text in a plain Node process the way
 * @pulumi/pulumi's cmd/dynamic-provider does (tests/fakes/engineSide.ts). Nothing here contacts a
 * node: the steps are those that must not (a no-op diff, a logic-version-only update), against
 * addresses that refuse connections.
 */
const credentials = { caCertificate: "Y2E=", clientCertificate: "Y3J0", clientKey: "a2V5" };
const unreachable = { node: "127.0.0.1", port: 1 };

const argsByKind: Record<string, object> = {
  NodeGate: {
    ...unreachable,
    clientConfiguration: credentials,
    expectations: { role: "worker", talosVersion: "v1.13.0" },
    fingerprint: "sha256:aaaa",
    timeoutSeconds: 1,
  },
  ClusterReady: {
    nodes: [{ ip: "127.0.0.1", role: "worker" }],
    port: 1,
    talosVersion: "v1.13.0",
    clientConfiguration: credentials,
    fingerprint: "f",
    timeoutSeconds: 1,
  },
  ClusterHealth: {
    controlPlaneNodes: ["127.0.0.1"],
    workerNodes: [],
    port: 1,
    clientConfiguration: credentials,
    fingerprint: "f",
    timeoutSeconds: 1,
  },
  NodeMembership: {
    ...unreachable,
    nodeName: "w1",
    role: "worker",
    controlPlanes: [],
    kubeconfig: "not a kubeconfig",
    clientConfiguration: credentials,
    drainTimeoutSeconds: 1,
    resetTimeoutSeconds: 1,
  },
  OsUpgrade: {
    ...unreachable,
    nodeName: "w1",
    role: "worker",
    clientConfiguration: credentials,
    kubeconfig: "not a kubeconfig",
    image: "factory.talos.dev/installer/abc:v1.13.0",
    targetVersion: "v1.13.0",
    timeoutSeconds: 1,
    drainTimeoutSeconds: 1,
  },
  VersionGuard: {
    file: "Pulumi.infra.yaml",
    talosVersion: "v1.13.0",
    kubernetesVersion: "1.34.1",
    kubernetesRange: { min: "1.29", max: "1.34" },
  },
  OnePasswordWriteBack: { token: "ops_token", vault: "Prod", title: "infra-talos", fields: { talosconfig: "t1" } },
};
const kinds = Object.keys(argsByKind);

let dir: string;
let registered: Record<string, Record<string, unknown>>;

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "thin-provider-"));
  registered = await registeredAll(argsByKind, dir);
}, 120_000);

afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe("every dynamic provider, serialized as the engine stores it", () => {
  it.each(kinds)("%s: a thin entry of at most 2 KB that carries no logic and names its module relative to the project", (kind) => {
    const text = String(registered[kind]?.__provider);
    expect(Buffer.byteLength(text)).toBeLessThanOrEqual(2048);
    const required = [...text.matchAll(/"(\.\/[^"]+)"/g)].map((m) => m[1]);
    expect(required).toContain("./components/dynamic/thinRuntime");
    expect(text).not.toContain(repoRoot);
    expect(registered[kind]?.[logicKey]).toMatch(/^sha256:[0-9a-f]{16}$/);
  });

  it("shares one logic version per provider module, and differs between modules", () => {
    const versions = new Set(kinds.map((kind) => registered[kind]?.[logicKey]));
    expect(versions.size).toBe(kinds.length);
  });

  it.each(kinds)(
    "%s loads in a fresh process; a new logic version alone is an update that stores it and does nothing else",
    async (kind) => {
      const inputs = engineInputs(registered[kind] ?? {});
      const moved = { ...inputs, [logicKey]: "sha256:0000000000000000" };
      const provider = String(inputs.__provider);
      // The write-back's real update would call 1Password: only the diffs run for it here.
      const update =
        kind === "OnePasswordWriteBack"
          ? []
          : [
              { op: "update" as const, inputs: moved },
              { op: "diff" as const, inputs: moved },
            ];
      const run = await engineRun(
        provider,
        [{ op: "outputsOf", id: `${kind}-id`, inputs }, { op: "diff", inputs }, { op: "diff", inputs: moved }, ...update],
        dir,
      );
      expect(run.error).toBeUndefined();
      const [stored, same, changed, updated, converged] = run.results;
      expect(stored?.outs?.[logicKey]).toBe(inputs[logicKey]);
      expect(same?.result).toMatchObject({ changes: false });
      expect(changed?.result).toMatchObject({ changes: true });
      expect((changed?.result as { replaces?: string[] }).replaces ?? []).toEqual([]);
      if (kind === "OnePasswordWriteBack") return;
      // No node was contacted (they refuse connections: a real wait or upgrade would have failed).
      expect(updated?.outs).toEqual({ ...stored?.outs, [logicKey]: moved[logicKey] });
      expect(converged?.result).toMatchObject({ changes: false });
    },
    60_000,
  );
});

describe("deleting a node created by an older program version", () => {
  let clone: string;
  beforeAll(() => {
    // Another clone of the project, at another path, whose removal logic has changed since the node
    // was created: state written by the original, `pulumi up` run from the clone.
    clone = path.join(dir, "clone");
    const files = execFileSync("git", ["ls-files", "components", "stacks", "contracts", "Pulumi.yaml", "package.json", "tsconfig.json"], {
      cwd: repoRoot,
      encoding: "utf8",
    })
      .split("\n")
      .filter(Boolean);
    for (const file of files) {
      fs.mkdirSync(path.dirname(path.join(clone, file)), { recursive: true });
      fs.copyFileSync(path.join(repoRoot, file), path.join(clone, file));
    }
    // This branch's new modules, whether committed yet or not.
    for (const file of ["thinProvider.ts", "thinRuntime.ts", "logicVersion.ts"]) {
      fs.mkdirSync(path.join(clone, "components", "dynamic"), { recursive: true });
      fs.copyFileSync(path.join(repoRoot, "components", "dynamic", file), path.join(clone, "components", "dynamic", file));
    }
    fs.symlinkSync(path.join(repoRoot, "node_modules"), path.join(clone, "node_modules"), "dir");
    fs.appendFileSync(
      path.join(clone, "components/talos/lifecycle/nodeMembershipProvider.ts"),
      `
// Today's removal logic (changed after the node was created): it records the node it removes.
nodeMembershipProvider.delete = async (_id, props) => {
  require("fs").writeFileSync(process.env.REMOVED_BY_TODAYS_LOGIC as string, JSON.stringify(props.nodeName));
};
`,
    );
  });

  it("runs today's removal logic, from the clone the engine runs in, not the logic stored in state", async () => {
    const inputs = engineInputs(registered.NodeMembership ?? {});
    const provider = String(inputs.__provider);
    const created = await engineRun(provider, [{ op: "create", inputs }], dir);
    expect(created.error).toBeUndefined();
    const state = { ...created.results[0]?.outs, __provider: provider };
    const record = path.join(dir, "removed.json");
    const removal = await engineRun(provider, [{ op: "delete", id: created.results[0]?.id, olds: state }], dir, clone, {
      REMOVED_BY_TODAYS_LOGIC: record,
    });
    expect(removal.error).toBeUndefined();
    expect(JSON.parse(fs.readFileSync(record, "utf8"))).toBe("w1");
  }, 120_000);
});

describe("plan --diff when a provider's logic changed", () => {
  it("shows an in-place update of exactly the resources of that provider, with the logic version as the changed input", async () => {
    const recording = await record({ stack: "infra" });
    expect(recording.error).toBeUndefined();
    const gateType = "pulumi-nodejs:dynamic/talos:NodeGate";
    // State written by an older program: the gates' logic version (in inputs and outputs) differs.
    const older = (value: unknown) => ({ ...(value as object), [logicKey]: "sha256:0000000000000000" });
    const current = baselineOfRecording(recording, "base");
    const base = {
      ...current,
      resources: current.resources.map((r) => (r.type === gateType ? { ...r, inputs: older(r.inputs), outputs: older(r.outputs) } : r)),
    };
    const { steps } = await diffRun("infra", base, (o) => record({ stack: "infra", ...o }));
    const changing = steps.filter((step) => step.op !== "same");
    const gates = recording.resources.filter((r) => r.type === gateType).map((r) => r.urn);
    expect(gates.length).toBeGreaterThan(0);
    expect(changing.map((step) => [step.urn, step.op, step.changed])).toEqual(gates.map((urn) => [urn, "update", [logicKey]]));
  }, 180_000);
});
