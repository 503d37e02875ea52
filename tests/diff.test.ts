import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { stateOfRecorded, type Baseline, type StateResource } from "../plan/model/baseline";
import { emptyBaseIssue } from "../plan/cli";
import { BaseNotFound, planAtRef } from "../plan/record/gitBase";
import { diffRun } from "../plan/model/diff";
import { consequences } from "../plan/model/effects";
import { digest } from "../plan/record/digest";
import type { RecordedResource, Recording } from "../plan/record/harness";
import { changedPaths } from "../plan/model/inputDiff";
import { planSteps, type DynamicVerdict } from "../plan/model/steps";
import type { Json } from "../plan/record/wire";
import { runPlan } from "./plan-cli";
import { recordedResource, urnOf } from "./plan-fixtures";
import { fixtureDir, repoRoot } from "./support";

/** The engine step model on hand-made states, and the `--diff` command line. */

const urn = urnOf;
const next = (name: string, inputs: Json, extra: Partial<RecordedResource> = {}): RecordedResource =>
  recordedResource(name, { inputs, ...extra });
const old = (name: string, inputs: Json, extra: Partial<StateResource> = {}): StateResource => ({
  ...stateOfRecorded(recordedResource(name, { inputs, ...(extra.type === undefined ? {} : { type: extra.type }) })),
  ...extra,
});

const base = (...resources: StateResource[]): Baseline => ({ label: "base", resources, invokes: [] });
const none = new Map<string, DynamicVerdict>();
const summary = (plan: ReturnType<typeof planSteps>) =>
  plan.steps.map(
    (s) => `${s.wave} ${s.op} ${s.name} [${s.changed.join(", ")}] (${s.reason})${s.deleteWave ? ` delete@${s.deleteWave}` : ""}`,
  );

describe("changed input paths", () => {
  const side = (inputs: Json, secrets: Record<string, Json> = {}) => ({
    inputs,
    secretPaths: Object.keys(secrets),
    secretDigests: Object.fromEntries(Object.entries(secrets).map(([p, v]) => [p, digest(v)])),
  });

  it("tells a changed secret by its digest, without its value", () => {
    expect(changedPaths(side({ token: "[secret]" }, { token: "a" }), side({ token: "[secret]" }, { token: "b" }))).toEqual(["token"]);
    expect(changedPaths(side({ token: "[secret]" }, { token: "a" }), side({ token: "[secret]" }, { token: "a" }))).toEqual([]);
  });

  it("ignores secretness alone, and secrets a document recorded without digests", () => {
    expect(changedPaths(side({ token: "a" }), side({ token: "[secret]" }, { token: "a" }))).toEqual([]);
    const undigested = { inputs: { token: "[secret]" }, secretPaths: ["token"], secretDigests: {} };
    expect(changedPaths(undigested, side({ token: "[secret]" }, { token: "b" }))).toEqual([]);
  });

  it("names paths as Pulumi property paths, skips ignoreChanges, treats a missing key as null", () => {
    const before = side({ data: { "net.core.rmem_max": "1", a: [1, 2] }, gone: null, kept: 1 });
    const after = side({ data: { "net.core.rmem_max": "2", a: [1] }, kept: 2 });
    expect(changedPaths(before, after)).toEqual(['data["net.core.rmem_max"]', "data.a[1]", "kept"]);
    expect(changedPaths(before, after, ["data"])).toEqual(["kept"]);
  });
});

describe("engine steps", () => {
  it("waits pass through unchanged resources: a changed resource behind an unchanged one runs a wave later", () => {
    const a = next("a", { v: 2 });
    const b = next("b", { v: 1 }, { dependsOn: [a.urn] });
    const c = next("c", { v: 2 }, { dependsOn: [b.urn] });
    const d = next("d", { v: 2 });
    const plan = planSteps(base(old("a", { v: 1 }), old("b", { v: 1 }), old("c", { v: 1 }), old("d", { v: 1 })), [a, b, c, d], none);
    expect(summary(plan)).toEqual([
      "0 same b [] ()",
      "1 update a [v] (inputs changed)",
      "1 update d [v] (inputs changed)",
      "2 update c [v] (inputs changed)",
    ]);
  });

  it("deletes after every other step, dependents first, and create-before-delete halves with them (ScheduleDeletes' antichains)", () => {
    const dns = "cloudflare:index/dnsRecord:DnsRecord";
    const record = next("record", { zoneId: "z2" }, { type: dns, urn: urn("record", dns) });
    const ns = old("ns", {});
    const app = old("app", {}, { dependsOn: [ns.urn] });
    const plan = planSteps(base(old("record", { zoneId: "z1" }, { type: dns }), ns, app), [record], none);
    expect(summary(plan)).toEqual([
      // Peeled from the roots then reversed, as the engine does: the old record goes with ns, after app.
      "1 replace record [zoneId] (cloudflare replaces on zoneId) delete@3",
      "2 delete app [] (no longer in the program)",
      "3 delete ns [] (no longer in the program)",
    ]);
  });

  it("finds a resource under its alias; two registrations claiming one old resource is an error", () => {
    const renamed = next("new", { v: 1 }, { aliases: [urn("old")] });
    expect(summary(planSteps(base(old("old", { v: 1 })), [renamed], none))).toEqual(["0 same new [] (was old (alias))"]);
    const twin = next("twin", { v: 1 }, { aliases: [urn("old")] });
    expect(planSteps(base(old("old", { v: 1 })), [renamed, twin], none).errors).toEqual([
      { urn: twin.urn, message: `${urn("old")} is claimed by ${renamed.urn} as well (duplicate alias)` },
    ]);
  });

  it("replaces on replaceOnChanges; refuses to replace what is protected in state and program, not what is unprotected in the program", () => {
    const was = old("x", { content: "a" }, { protect: true });
    const roc = { replaceOnChanges: ["content"] };
    const protectedPlan = planSteps(base(was), [next("x", { content: "b" }, { ...roc, protect: true })], none);
    expect(summary(protectedPlan)).toEqual(["1 replace x [content] (replaceOnChanges: content) delete@2"]);
    expect(protectedPlan.errors).toEqual([
      { urn: urn("x"), message: "protected: the engine refuses to replace x (replaceOnChanges: content)" },
    ]);
    expect(planSteps(base(was), [next("x", { content: "b" }, roc)], none).errors).toEqual([]);
  });

  it("refuses to delete what the state protects; retainOnDelete only forgets", () => {
    const plan = planSteps(base(old("p", {}, { protect: true }), old("r", {}, { retainOnDelete: true })), [], none);
    expect(summary(plan)).toEqual(["1 delete p [] (no longer in the program)", "1 delete r [] (no longer in the program)"]);
    expect(plan.errors).toEqual([{ urn: urn("p"), message: "protected: the engine refuses to delete p" }]);
  });

  it("Kubernetes: a Secret's data replaces it in place (delete first) unless the provider makes Secrets mutable", () => {
    const type = "kubernetes:core/v1:Secret";
    const provider = next(
      "k8s",
      { clusterIdentifier: "c" },
      { type: "pulumi:providers:kubernetes", urn: urn("k8s", "pulumi:providers:kubernetes") },
    );
    const secret = (v: string) => ({ kind: "Secret", metadata: { name: "s", namespace: "n" }, stringData: { v } });
    const states = base(
      old("s", secret("a"), { type, provider: provider.urn }),
      old("k8s", { clusterIdentifier: "c" }, { type: "pulumi:providers:kubernetes" }),
    );
    const run = (providerInputs: Json) =>
      planSteps(
        states,
        [{ ...provider, inputs: providerInputs }, next("s", secret("b"), { type, urn: urn("s", type), provider: provider.urn })],
        none,
      );
    const immutable = run({ clusterIdentifier: "c" }).steps.find((s) => s.name === "s");
    expect(immutable).toMatchObject({ op: "replace", reason: "kubernetes replaces on stringData.v", deleteBeforeReplace: true });
    expect(immutable?.deleteWave).toBeUndefined();
    expect(run({ clusterIdentifier: "c", enableSecretMutable: true }).steps.find((s) => s.name === "s")?.op).toBe("update");
  });

  it("a replaced provider replaces its resources", () => {
    const p = "pulumi:providers:kubernetes";
    const provider = next("k8s", { clusterIdentifier: "b" }, { type: p, urn: urn("k8s", p) });
    const ns = next("ns", { metadata: { name: "x" } }, { provider: provider.urn });
    const plan = planSteps(
      base(old("k8s", { clusterIdentifier: "a" }, { type: p }), old("ns", { metadata: { name: "x" } })),
      [provider, ns],
      none,
    );
    expect(summary(plan)).toEqual([
      "1 replace k8s [clusterIdentifier] (kubernetes replaces on clusterIdentifier) delete@3",
      "2 replace ns [] (its provider is replaced) delete@3",
    ]);
  });

  it("a dynamic resource follows its provider's diff, or updates when offline cannot ask it", () => {
    const type = "pulumi-nodejs:dynamic:Resource";
    const states = base(old("d", { v: 1, __provider: "old code" }, { type }));
    const r = next("d", { v: 1, __provider: "new code" }, { type, urn: urn("d", type) });
    const verdict = (v: DynamicVerdict) => summary(planSteps(states, [r], new Map([[r.urn, v]])));
    expect(verdict({ known: true, changes: false, replaces: [], deleteBeforeReplace: false })).toEqual(["0 same d [] ()"]);
    expect(verdict({ known: false, why: "outputs unknown" })).toEqual(["1 update d [] (outputs unknown)"]);
  });
});

describe("effects", () => {
  const APPLY = "talos:machine/configurationApply:ConfigurationApply";
  const READY = "pulumi-nodejs:dynamic/talos:ClusterReady";
  const apply = (ip: string, patch: string, dependsOn: string[] = []) =>
    next(
      `apply-${ip}`,
      { node: ip, applyMode: "auto", configPatches: [patch] },
      { type: APPLY, urn: urn(`apply-${ip}`, APPLY), dependsOn },
    );
  const ready = {
    nodes: [
      { node: "10.0.0.1", role: "controlplane" },
      { node: "10.0.0.2", role: "controlplane" },
      { node: "10.0.0.3", role: "worker" },
    ],
  };
  const states = base(
    old("apply-10.0.0.1", { node: "10.0.0.1", applyMode: "auto", configPatches: ["a"] }, { type: APPLY }),
    old("apply-10.0.0.2", { node: "10.0.0.2", applyMode: "auto", configPatches: ["a"] }, { type: APPLY }),
    old("apply-10.0.0.3", { node: "10.0.0.3", applyMode: "auto", configPatches: ["a"] }, { type: APPLY }),
    old("cluster-ready", ready, { type: READY }),
  );
  const warnings = (resources: RecordedResource[]) => {
    const steps = planSteps(states, resources, none).steps;
    const recording = { resources, invokes: [] } as unknown as Recording;
    return consequences(steps, states, recording, []).warnings.map((w) => w.message);
  };
  const readyNow = next("cluster-ready", ready, { type: READY, urn: urn("cluster-ready", READY) });

  it("warns when control planes (known from ClusterReady's nodes) re-apply in the same wave, not workers, not successive waves", () => {
    expect(warnings([apply("10.0.0.1", "b"), apply("10.0.0.2", "b"), apply("10.0.0.3", "b"), readyNow])).toEqual([
      "2 control planes re-apply at the same time (wave 1): apply-10.0.0.1, apply-10.0.0.2",
    ]);
    const chained = [apply("10.0.0.1", "b"), apply("10.0.0.2", "b", [urn("apply-10.0.0.1", APPLY)]), apply("10.0.0.3", "b"), readyNow];
    expect(warnings(chained)).toEqual([]);
  });
});

/** A run that registered only `r`, its inputs plain (no secrets). */
const recordingOf = (r: RecordedResource): Recording => ({
  stack: "s",
  project: "p",
  resources: [r],
  invokes: [],
  outputs: {},
  outputSecretPaths: [],
  logs: [],
  plainInputs: () => r.inputs,
  plainOutputs: () => ({}),
});

describe("convergence", () => {
  const type = "pulumi-nodejs:dynamic:Resource";
  // A provider whose create returns nothing diff can use: every run differs from its outputs.
  const forgetful = "exports.handler = () => ({ diff: async (id, olds, news) => ({ changes: olds.v !== news.v }) });";
  const careful = `${forgetful.slice(0, -4)}, outputsOf: (inputs) => ({ v: inputs.v }) });`;
  const recording = (provider: string): Recording => {
    const r = next(
      "d",
      { v: 1, __provider: provider },
      { type, urn: urn("d", type), outputs: provider === careful ? { v: 1 } : undefined },
    );
    return recordingOf(r);
  };

  it("warns when a re-run with the same inputs would change a resource again", async () => {
    const run = (provider: string) => diffRun("s", base(), async () => recording(provider));
    expect((await run(forgetful)).report.warnings).toEqual([
      {
        urn: urn("d", type),
        message:
          "does not converge: a re-run with the same inputs would update d again (its old outputs are unknown offline (the provider has no outputsOf): its diff may report a change)",
      },
    ]);
    expect((await run(careful)).report.warnings).toEqual([]);
  });
});

describe("dynamic diffs as the engine calls them", () => {
  const type = "pulumi-nodejs:dynamic:Resource";
  const runOf = async (oldInputs: Json, inputs: Json, extra: Partial<RecordedResource> = {}) => {
    const r = next("d", inputs, { type, urn: urn("d", type), ...extra });
    const recording = recordingOf(r);
    const states = base(old("d", oldInputs, { type, urn: urn("d", type), outputs: { v: 1 } }));
    return (await diffRun("s", states, async () => recording)).report.steps.map((s) => `${s.op} ${s.reason}`);
  };
  const withDiff = (body: string) => `exports.handler = () => ({ diff: async (id, olds, news) => (${body}) });`;

  it("without a diff of its own, or with changes left unset, the engine compares inputs, the serialized provider included", async () => {
    expect(await runOf({ v: 1, __provider: "x" }, { v: 1, __provider: "exports.handler = () => ({});" })).toEqual([
      "update its provider's diff reports a change",
    ]);
    const unset = withDiff("{}");
    expect(await runOf({ v: 1, __provider: "older code" }, { v: 1, __provider: unset })).toEqual([
      "update its provider's diff reports a change",
    ]);
    expect(await runOf({ v: 1, __provider: unset }, { v: 1, __provider: unset })).toEqual(["same "]);
  });

  it("hands the provider's diff the new inputs with ignoreChanges paths set back to their old values", async () => {
    const compares = withDiff("{ changes: olds.v !== news.v }");
    expect(await runOf({ v: 1, __provider: compares }, { v: 2, __provider: compares }, { ignoreChanges: ["v"] })).toEqual(["same "]);
    expect(await runOf({ v: 1, __provider: compares }, { v: 2, __provider: compares })).toEqual([
      "update its provider's diff reports a change",
    ]);
  });
});

const plan = runPlan;

describe("npm run plan -- <stack> --diff", () => {
  jest.setTimeout(120_000);
  let dir: string;
  let baseFile: string;
  const where = () => ({ projectDir: dir, entry: path.join(repoRoot, "index") });
  const edit = (from: string, to: string) => {
    const file = path.join(dir, "Pulumi.infra.yaml");
    fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(from, to));
  };

  beforeEach(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "plan-diff-"));
    // Both stack files: ClusterMesh peers read each other's at run time.
    for (const f of ["Pulumi.yaml", "Pulumi.infra.yaml", "Pulumi.apps.yaml"]) fs.copyFileSync(path.join(fixtureDir, f), path.join(dir, f));
    baseFile = path.join(dir, "base.json");
    const { code, out } = await plan(["infra", "--json"], where());
    expect(code).toBe(0);
    fs.writeFileSync(baseFile, out);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("--json follows the contract exactly; a no-op exits 0", async () => {
    const { code, out } = await plan(["infra", "--diff", baseFile, "--json"], where());
    expect(code).toBe(0);
    const doc = JSON.parse(out);
    expect(Object.keys(doc).sort()).toEqual([
      "base",
      "errors",
      "previewCalls",
      "protection",
      "rollout",
      "stack",
      "steps",
      "versions",
      "warnings",
    ]);
    expect(doc).toMatchObject({ stack: "infra", base: "base.json", warnings: [], errors: [] });
    for (const s of doc.steps) expect(Object.keys(s).sort()).toEqual(["changed", "effects", "name", "op", "reason", "type", "urn", "wave"]);
    for (const c of doc.previewCalls) expect(Object.keys(c).sort()).toEqual(["timeout", "token"]);
    expect(doc.steps.every((s: { op: string }) => s.op === "same")).toBe(true);
  });

  it("prints the steps and patch lines: control planes roll one wave after another, so nothing warns", async () => {
    edit('net.core.rmem_max: "67108864"', 'net.core.rmem_max: "134217728"');
    const text = await plan(["infra", "--diff", baseFile], where());
    expect(text.code).toBe(0);
    expect(text.out).toContain("  wave 1  update  apply-10.25.11.11 [ConfigurationApply]  configPatches[6]  (inputs changed)\n");
    expect(text.out).toContain("  wave 3  update  apply-10.25.11.12 [ConfigurationApply]  configPatches[6]  (inputs changed)\n");
    expect(text.out).toContain('  +     net.core.rmem_max: "134217728"\n');
    expect(text.out).toContain("== Warnings\n    none\n");
    expect((await plan(["infra", "--diff", baseFile, "--fail-on-warning"], where())).code).toBe(0);
  });

  it("exits 1 on a warning only with --fail-on-warning", async () => {
    // A state written before CRD carriers were retained (the engine reads retainOnDelete from state):
    // disabling external-secrets there uninstalls its CRDs.
    const before = JSON.parse(fs.readFileSync(baseFile, "utf8")) as { resources: Array<{ type: string; retainOnDelete: boolean }> };
    for (const r of before.resources) if (r.type === "kubernetes:helm.sh/v3:Release") r.retainOnDelete = false;
    const oldBase = path.join(dir, "base-unretained.json");
    fs.writeFileSync(oldBase, JSON.stringify(before));
    edit("    externalSecrets:\n", "    externalSecrets:\n      enabled: false\n");
    expect((await plan(["infra", "--diff", baseFile], where())).out).toContain("== Warnings\n    none\n");
    const text = await plan(["infra", "--diff", oldBase], where());
    expect(text.code).toBe(0);
    expect(text.out).toContain(
      "== Warnings\n    external-secrets is deleted: deletes CRDs: every ExternalSecret, ClusterSecretStore in the cluster goes",
    );
    expect((await plan(["infra", "--diff", oldBase, "--fail-on-warning"], where())).code).toBe(1);
    expect((await plan(["infra", "--diff", baseFile, "--fail-on-warning"], where())).code).toBe(0);
  });

  it("exits 1 when the engine would refuse (a protected control plane removed), naming it", async () => {
    const file = path.join(dir, "Pulumi.infra.yaml");
    const text = fs.readFileSync(file, "utf8");
    const from = text.indexOf("      - name: infra-02");
    fs.writeFileSync(file, text.slice(0, from) + text.slice(text.indexOf("    cilium:")));
    const { code, out } = await plan(["infra", "--diff", baseFile], where());
    expect(code).toBe(1);
    expect(out).toContain("== Errors: `pulumi up` would fail\n    protected: the engine refuses to delete apply-10.25.11.12\n");
  });

  it("reports invalid config of the new run as the plan does", async () => {
    edit("ip: 10.25.11.13", "ip: 10.25.12.13");
    const { code, err } = await plan(["infra", "--diff", baseFile], where());
    expect(code).toBe(1);
    expect(err).toContain("Pulumi.infra.yaml: cluster.nodes[2].ip: 10.25.12.13 is outside the node subnet 10.25.11.0/24");
  });

  it("refuses --diff without a base", async () => {
    expect((await plan(["infra", "--diff"], where())).code).toBe(2);
    expect((await plan(["infra", "--diff", "--json"], where())).code).toBe(2);
  });
});

describe("--diff against a git ref", () => {
  const someStack = () =>
    fs
      .readdirSync(repoRoot)
      .find((f) => /^Pulumi\..+\.yaml$/.test(f))!
      .slice("Pulumi.".length, -".yaml".length);

  it("a base that is neither a file nor a ref exits 2 naming it, before anything runs", async () => {
    const { code, out, err } = await plan([someStack(), "--diff", "mian"], { projectDir: repoRoot });
    expect({ code, out }).toEqual({ code: 2, out: "" });
    expect(err).toBe(`plan: --diff mian: no such file, and no such git ref (commit, branch or tag) in ${fs.realpathSync(repoRoot)}\n`);
    await expect(planAtRef(repoRoot, "no/such/ref", someStack())).rejects.toBeInstanceOf(BaseNotFound);
  });

  it("a stack absent at the ref is an empty base only with --base-empty", async () => {
    expect(await planAtRef(repoRoot, "HEAD", "no-such-stack")).toBeUndefined();
    expect(emptyBaseIssue("main", "lab", undefined, false)).toBe(
      "Pulumi.lab.yaml does not exist at main: pass --base-empty to plan it as a new stack (every resource a create)",
    );
    expect(emptyBaseIssue("main", "lab", undefined, true)).toBeUndefined();
    expect(emptyBaseIssue("main", "lab", { resources: [] }, false)).toBeUndefined();
  });

  it("plans the base in a temporary worktree and removes it", async () => {
    const before = fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("plan-base-"));
    const stack = fs
      .readdirSync(repoRoot)
      .find((f) => /^Pulumi\..+\.yaml$/.test(f))!
      .slice("Pulumi.".length, -".yaml".length);
    const { code, out } = await plan([stack, "--diff", "HEAD", "--json"], { projectDir: repoRoot });
    expect(code).toBe(0);
    expect(JSON.parse(out)).toMatchObject({ stack, base: "HEAD" });
    expect(fs.readdirSync(os.tmpdir()).filter((f) => f.startsWith("plan-base-"))).toEqual(before);
  }, 180_000);
});
