import { stateOfRecorded, type Baseline, type StateResource } from "../plan/model/baseline";
import { durationOf, isStep, simulateBringUp, waitsFor, withoutRollingChain } from "../plan/model/bringUp";
import type { RecordedResource, Recording } from "../plan/record/harness";
import type { Json } from "../plan/record/wire";
import { exposedCredentials } from "../plan/report/secrecy";
import { recordedResource, urnOf } from "./plan-fixtures";
import { isDynamic } from "../plan/record/dynamicProvider";
import { planSteps, stateAfter, type DynamicVerdict, type Step } from "../plan/model/steps";
import { combinedMinorWarnings, protectionChanges, removalProcedure, versionChanges } from "../plan/model/summary";

/**
 * The offline plan's models on small hand-built graphs, without running a program: the engine's step
 * generation, the bring-up simulation and the secrecy walk. Fast on purpose: the mutation area
 * `plan` runs these per mutant.
 */

const resource = recordedResource;

/** The state the engine would hold for a registration, with overrides. */
const stateOf = (r: RecordedResource, over: Partial<StateResource> = {}): StateResource => ({ ...stateOfRecorded(r), ...over });

const baseline = (resources: StateResource[]): Baseline => ({ label: "test", resources, invokes: [] });
const noVerdicts = new Map<string, DynamicVerdict>();

/** The fields a reader of the plan sees, per step. */
const brief = (s: Step) => ({
  name: s.name,
  op: s.op,
  reason: s.reason,
  changed: s.changed,
  wave: s.wave,
  deleteBeforeReplace: s.deleteBeforeReplace,
  ...(s.deleteWave === undefined ? {} : { deleteWave: s.deleteWave }),
});

describe("planSteps: what each resource does", () => {
  it("leaves an unchanged graph alone: every step the same, at wave 0", () => {
    const a = resource("a", { inputs: { x: 1 } });
    const b = resource("b", { inputs: { y: [1, 2] }, dependsOn: [a.urn] });
    const plan = planSteps(baseline([stateOf(a), stateOf(b)]), [a, b], noVerdicts);
    expect(plan.errors).toEqual([]);
    expect(plan.steps.map(brief)).toEqual([
      { name: "a", op: "same", reason: "", changed: [], wave: 0, deleteBeforeReplace: false },
      { name: "b", op: "same", reason: "", changed: [], wave: 0, deleteBeforeReplace: false },
    ]);
  });

  it("creates what the base lacks, one wave after what it waits for, passing through unchanged resources", () => {
    const a = resource("a");
    const b = resource("b", { dependsOn: [a.urn] });
    const c = resource("c");
    const d = resource("d", { dependsOn: [c.urn] });
    const cWaiting = { ...c, dependsOn: [a.urn] };
    const plan = planSteps(baseline([stateOf(cWaiting)]), [a, b, cWaiting, d], noVerdicts);
    expect(plan.steps.map(brief)).toEqual([
      { name: "c", op: "same", reason: "", changed: [], wave: 0, deleteBeforeReplace: false },
      { name: "a", op: "create", reason: "not in the base", changed: [], wave: 1, deleteBeforeReplace: false },
      { name: "b", op: "create", reason: "not in the base", changed: [], wave: 2, deleteBeforeReplace: false },
      // d waits for c, which is unchanged but waits for a: d goes after a.
      { name: "d", op: "create", reason: "not in the base", changed: [], wave: 2, deleteBeforeReplace: false },
    ]);
  });

  it("updates on changed inputs, except under ignoreChanges; a missing key and null are the same", () => {
    const a = resource("a", { inputs: { spec: { x: 1, y: 2 }, z: null } });
    const old = stateOf(a, { inputs: { spec: { x: 1, y: 3 } } });
    expect(planSteps(baseline([old]), [a], noVerdicts).steps.map(brief)).toEqual([
      { name: "a", op: "update", reason: "inputs changed", changed: ["spec.y"], wave: 1, deleteBeforeReplace: false },
    ]);
    const ignoring = { ...a, ignoreChanges: ["spec.y"] };
    expect(planSteps(baseline([old]), [ignoring], noVerdicts).steps.map((s) => [s.op, s.changed])).toEqual([["same", []]]);
  });

  it("replaces on a replaceOnChanges path, create-before-delete unless asked otherwise", () => {
    const a = resource("a", { inputs: { spec: { size: 2 }, label: "x" }, replaceOnChanges: ["spec"] });
    const old = stateOf(a, { inputs: { spec: { size: 1 }, label: "y" } });
    expect(planSteps(baseline([old]), [a], noVerdicts).steps.map(brief)).toEqual([
      {
        name: "a",
        op: "replace",
        reason: "replaceOnChanges: spec.size",
        changed: ["spec.size", "label"],
        wave: 1,
        deleteBeforeReplace: false,
        deleteWave: 2,
      },
    ]);
    const first = { ...a, deleteBeforeReplace: true };
    expect(planSteps(baseline([old]), [first], noVerdicts).steps.map(brief)).toEqual([
      {
        name: "a",
        op: "replace",
        reason: "replaceOnChanges: spec.size",
        changed: ["spec.size", "label"],
        wave: 1,
        deleteBeforeReplace: true,
      },
    ]);
    // A change elsewhere only updates.
    const labelOnly = stateOf(a, { inputs: { spec: { size: 2 }, label: "y" } });
    expect(planSteps(baseline([labelOnly]), [a], noVerdicts).steps.map((s) => [s.op, s.reason])).toEqual([["update", "inputs changed"]]);
  });

  it("replaces where the provider's schema forces it, and cascades a provider's replacement to its resources", () => {
    const record = resource("www", { type: "cloudflare:index/dnsRecord:DnsRecord", inputs: { type: "AAAA", content: "::2" } });
    const oldRecord = stateOf(record, { inputs: { type: "A", content: "1.1.1.1" } });
    const provider = resource("k8s", {
      type: "pulumi:providers:kubernetes",
      inputs: { kubeconfig: "new" },
      replaceOnChanges: ["kubeconfig"],
    });
    const child = resource("ns", { type: "kubernetes:core/v1:Namespace", provider: provider.urn, inputs: { metadata: { name: "x" } } });
    const plan = planSteps(
      baseline([oldRecord, stateOf(provider, { inputs: { kubeconfig: "old" } }), stateOf(child)]),
      [record, provider, child],
      noVerdicts,
    );
    expect(plan.steps.map(brief)).toEqual([
      {
        name: "www",
        op: "replace",
        reason: "cloudflare replaces on type",
        changed: ["type", "content"],
        wave: 1,
        deleteBeforeReplace: false,
        // After the resources of the replaced provider: deletes go one antichain at a time.
        deleteWave: 4,
      },
      {
        name: "k8s",
        op: "replace",
        reason: "replaceOnChanges: kubeconfig",
        changed: ["kubeconfig"],
        wave: 1,
        deleteBeforeReplace: false,
        deleteWave: 4,
      },
      { name: "ns", op: "replace", reason: "its provider is replaced", changed: [], wave: 2, deleteBeforeReplace: false, deleteWave: 3 },
    ]);
  });
  it("names every replace trigger, and replaces Talos machine secrets only when the version goes down", () => {
    const record = resource("www", { type: "cloudflare:index/dnsRecord:DnsRecord", inputs: { zoneId: "z2", type: "A" } });
    const both = planSteps(baseline([stateOf(record, { inputs: { zoneId: "z1", type: "AAAA" } })]), [record], noVerdicts);
    expect(both.steps.map((s) => s.reason)).toEqual(["cloudflare replaces on zoneId, type"]);
    const onChanges = resource("cm", { inputs: { a: 2, b: 2 }, replaceOnChanges: ["a", "b"] });
    const two = planSteps(baseline([stateOf(onChanges, { inputs: { a: 1, b: 1 } })]), [onChanges], noVerdicts);
    expect(two.steps.map((s) => s.reason)).toEqual(["replaceOnChanges: a, b"]);
    const secrets = resource("secrets", { type: "talos:machine/secrets:Secrets", inputs: { talosVersion: "v1.12.0" } });
    const stepOn = (from: string) =>
      planSteps(baseline([stateOf(secrets, { inputs: { talosVersion: from } })]), [secrets], noVerdicts).steps.map((s) => [s.op, s.reason]);
    expect(stepOn("v1.13.0")).toEqual([["replace", "talos replaces on talosVersion"]]);
    expect(stepOn("v1.11.0")).toEqual([["update", "inputs changed"]]);
  });

  it("replaces a Secret in place of itself (delete first) unless its provider makes Secrets mutable", () => {
    const secretOf = (provider?: string) =>
      resource("creds", {
        type: "kubernetes:core/v1:Secret",
        provider,
        inputs: { kind: "Secret", metadata: { name: "creds" }, data: { a: "2" } },
      });
    const oldInputs = { kind: "Secret", metadata: { name: "creds" }, data: { a: "1" } };
    const stepWith = (providerInputs: Json) => {
      const provider = resource("k8s", { type: "pulumi:providers:kubernetes", inputs: providerInputs });
      const secret = secretOf(provider.urn);
      return planSteps(baseline([stateOf(provider), stateOf(secret, { inputs: oldInputs })]), [provider, secret], noVerdicts).steps.map(
        brief,
      )[1];
    };
    expect(stepWith({})).toEqual({
      name: "creds",
      op: "replace",
      reason: "kubernetes replaces on data.a",
      changed: ["data.a"],
      wave: 1,
      deleteBeforeReplace: true,
    });
    expect(stepWith({ enableSecretMutable: true })).toMatchObject({ op: "update", reason: "inputs changed" });
  });

  it("a Kubernetes provider whose kubeconfig is unknown (a preview) is replaced unless its clusterIdentifier holds (provider.go DiffConfig)", () => {
    const unknown = "(known after apply)";
    const stepOf = (before: Json, after: Json) => {
      const provider = (inputs: Json) => resource("k8s", { type: "pulumi:providers:kubernetes", inputs });
      return brief(planSteps(baseline([stateOf(provider(before))]), [provider(after)], noVerdicts).steps[0]!);
    };
    expect(stepOf({ kubeconfig: "a", clusterIdentifier: "c" }, { kubeconfig: unknown, clusterIdentifier: "c" })).toMatchObject({
      op: "update",
    });
    expect(stepOf({ kubeconfig: "a" }, { kubeconfig: unknown })).toMatchObject({
      op: "replace",
      reason: "kubernetes replaces on kubeconfig",
    });
    // Adding the identifier in the same run does not hold the replacement back.
    expect(stepOf({ kubeconfig: "a" }, { kubeconfig: unknown, clusterIdentifier: "c" })).toMatchObject({ op: "replace" });
    expect(stepOf({ kubeconfig: "a", clusterIdentifier: "c" }, { kubeconfig: "a", clusterIdentifier: "d" })).toMatchObject({
      op: "replace",
      reason: "kubernetes replaces on clusterIdentifier",
    });
    expect(stepOf({ kubeconfig: "a" }, { kubeconfig: "b" })).toMatchObject({ op: "update" });
  });

  it("summarises versions moved (Talos, Kubernetes, charts) and protection changed, which a same step hides", () => {
    const guard = (talosVersion: string, kubernetesVersion: string) =>
      resource("versions", { type: "pulumi-nodejs:dynamic/talos:VersionGuard", inputs: { talosVersion, kubernetesVersion } });
    const chart = (version: string) => resource("cilium", { type: "kubernetes:helm.sh/v3:Release", inputs: { version } });
    const apply = (protect: boolean) => resource("apply-1", { protect });
    const base = baseline([stateOf(guard("v1.12.11", "v1.35.0")), stateOf(chart("1.19.0")), stateOf(apply(true))]);
    const verdicts = new Map<string, DynamicVerdict>([
      [guard("", "").urn, { known: true, changes: true, replaces: [], deleteBeforeReplace: false }],
    ]);
    const steps = planSteps(base, [guard("v1.13.9", "v1.36.3"), chart("1.20.0"), apply(false)], verdicts).steps;
    const versions = versionChanges(steps);
    expect(versions).toEqual([
      { what: "Talos", from: "v1.12.11", to: "v1.13.9" },
      { what: "Kubernetes", from: "v1.35.0", to: "v1.36.3" },
      { what: "chart cilium", from: "1.19.0", to: "1.20.0" },
    ]);
    expect(protectionChanges(steps)).toEqual([{ name: "apply-1", protect: false }]);
    expect(combinedMinorWarnings(versions)).toHaveLength(1);
    // A patch on one side is no combined minor move.
    expect(combinedMinorWarnings([versions[0]!, { what: "Kubernetes", from: "v1.35.0", to: "v1.35.4" }])).toEqual([]);
    // No refused delete: no procedure to explain.
    expect(removalProcedure(steps, [])).toEqual([]);
  });

  it("leaves the state the engine stores: a same keeps its old outputs with the new inputs, a change stores the new ones, a delete nothing", () => {
    const dynamicType = "pulumi-nodejs:dynamic/talos:ClusterHealth";
    const kept = resource("health", { type: dynamicType, inputs: { nodes: ["a"] }, outputs: { nodes: ["a"] } });
    const changed = resource("thing", { inputs: { v: 2 }, outputs: { v: 2 } });
    const gone = resource("gone");
    const base = baseline([
      stateOf(kept, { outputs: { nodes: ["a", "b"] } }),
      stateOf(changed, { inputs: { v: 1 }, outputs: { v: 1 } }),
      stateOf(gone),
    ]);
    const verdicts = new Map<string, DynamicVerdict>([
      [kept.urn, { known: true, changes: false, replaces: [], deleteBeforeReplace: false }],
    ]);
    const after = stateAfter(planSteps(base, [kept, changed], verdicts).steps, [], "after");
    expect(after.resources.map((r) => [r.name, r.inputs, r.outputs])).toEqual([
      ["health", { nodes: ["a"] }, { nodes: ["a", "b"] }],
      ["thing", { v: 2 }, { v: 2 }],
    ]);
  });

  it("replaces a Secret whose type changes even when Secrets are mutable (pulumi-kubernetes diff_test.go)", () => {
    const provider = resource("k8s", { type: "pulumi:providers:kubernetes", inputs: { enableSecretMutable: true } });
    const secretOf = (type: string) =>
      resource("creds", {
        type: "kubernetes:core/v1:Secret",
        provider: provider.urn,
        inputs: { kind: "Secret", type, metadata: { name: "creds" }, data: { a: "1" } },
      });
    const steps = planSteps(
      baseline([stateOf(provider), stateOf(secretOf("Opaque"))]),
      [provider, secretOf("kubernetes.io/tls")],
      noVerdicts,
    );
    expect(steps.steps.map(brief)[1]).toMatchObject({ op: "replace", reason: "kubernetes replaces on type", deleteBeforeReplace: true });
  });

  it("refuses a delete-first replacement of a retained object: its delete only forgets it, so the create would meet it", () => {
    const provider = resource("k8s", { type: "pulumi:providers:kubernetes", inputs: {} });
    const settings = (data: Json, retainOnDelete: boolean) =>
      resource("cluster-settings", {
        type: "kubernetes:core/v1:ConfigMap",
        provider: provider.urn,
        retainOnDelete,
        inputs: { kind: "ConfigMap", metadata: { name: "cluster-settings", namespace: "flux-system" }, data },
      });
    const run = (oldRetained: boolean, newRetained: boolean) =>
      planSteps(
        baseline([stateOf(provider), stateOf(settings({ a: "1" }, oldRetained))]),
        [provider, settings({ a: "2" }, newRetained)],
        noVerdicts,
      ).errors.map((e) => e.message);
    const error =
      "retained: cluster-settings would be replaced delete-first (kubernetes replaces on data.a), but its delete only forgets it, " +
      "so the create meets the object under the same name and fails; it stays pending on every later run. Change it in place or give it a new name";
    expect(run(true, true)).toEqual([error]);
    // The old state's flag is the one the delete step reads.
    expect(run(true, false)).toEqual([error]);
    expect(run(false, true)).toEqual([]);
  });

  it("keeps a resource whose provider stays, and a delete step carries only its reason", () => {
    const provider = resource("k8s", { type: "pulumi:providers:kubernetes", inputs: { kubeconfig: "same" } });
    const child = resource("ns", { type: "kubernetes:core/v1:Namespace", provider: provider.urn });
    const gone = resource("gone");
    const plan = planSteps(baseline([stateOf(provider), stateOf(child), stateOf(gone)]), [provider, child], noVerdicts);
    expect(plan.steps.map(brief)).toEqual([
      { name: "k8s", op: "same", reason: "", changed: [], wave: 0, deleteBeforeReplace: false },
      { name: "ns", op: "same", reason: "", changed: [], wave: 0, deleteBeforeReplace: false },
      { name: "gone", op: "delete", reason: "no longer in the program", changed: [], wave: 1, deleteBeforeReplace: false },
    ]);
  });
});

describe("planSteps: dynamic resources follow their provider's diff", () => {
  const gateType = "pulumi-nodejs:dynamic/talos:NodeGate";
  const gate = resource("gate", { type: gateType, inputs: { fingerprint: "b", __provider: "new code" } });
  const old = stateOf(gate, { inputs: { fingerprint: "a", __provider: "old code" } });
  const stepFor = (verdict?: DynamicVerdict) =>
    planSteps(baseline([old]), [gate], verdict ? new Map([[gate.urn, verdict]]) : noVerdicts).steps.map(brief)[0];

  it("is the same when the diff reports no change, whatever the inputs", () => {
    expect(stepFor({ known: true, changes: false, replaces: [], deleteBeforeReplace: false })).toEqual({
      name: "gate",
      op: "same",
      reason: "",
      changed: [],
      wave: 0,
      deleteBeforeReplace: false,
    });
  });

  it("updates or replaces as the diff says; the serialized provider is never a changed input", () => {
    expect(stepFor({ known: true, changes: true, replaces: [], deleteBeforeReplace: true })).toEqual({
      name: "gate",
      op: "update",
      reason: "its provider's diff reports a change",
      changed: ["fingerprint"],
      wave: 1,
      deleteBeforeReplace: true,
    });
    expect(stepFor({ known: true, changes: true, replaces: ["fingerprint"], deleteBeforeReplace: false })).toMatchObject({
      op: "replace",
      deleteBeforeReplace: false,
      deleteWave: 2,
    });
    expect(stepFor({ known: true, changes: true, replaces: ["fingerprint", "node"], deleteBeforeReplace: true })).toEqual({
      name: "gate",
      op: "replace",
      reason: "its provider's diff replaces on fingerprint, node",
      changed: ["fingerprint"],
      wave: 1,
      deleteBeforeReplace: true,
    });
  });

  it("counts as an update, saying why, when offline cannot ask the diff", () => {
    expect(stepFor({ known: false, why: "needs the node" })).toMatchObject({
      op: "update",
      reason: "needs the node",
      deleteBeforeReplace: false,
    });
    expect(stepFor()).toMatchObject({ op: "update", reason: "no diff", changed: ["fingerprint"] });
  });

  it("recognises dynamic resource types, with or without module and type", () => {
    expect(
      [
        "pulumi-nodejs:dynamic:Resource",
        "pulumi-nodejs:dynamic/talos:NodeGate",
        "pulumi-nodejs:dynamicx",
        "x:pulumi-nodejs:dynamic:Resource",
      ].map(isDynamic),
    ).toEqual([true, true, false, false]);
  });
});

describe("planSteps: aliases, protection and deletes", () => {
  it("finds a renamed resource by its alias, and refuses two resources claiming one old resource", () => {
    const old = resource("old-name", { inputs: { x: 1 } });
    const renamed = resource("new-name", { inputs: { x: 1 }, aliases: [old.urn] });
    expect(planSteps(baseline([stateOf(old)]), [renamed], noVerdicts).steps.map(brief)).toEqual([
      { name: "new-name", op: "same", reason: "was old-name (alias)", changed: [], wave: 0, deleteBeforeReplace: false },
    ]);
    const changed = { ...renamed, inputs: { x: 2 } };
    expect(planSteps(baseline([stateOf(old)]), [changed], noVerdicts).steps.map((s) => s.reason)).toEqual([
      "inputs changed; was old-name (alias)",
    ]);
    const twin = resource("twin", { inputs: { x: 1 }, aliases: ["urn:pulumi:s::p::test:index:Thing::elsewhere", old.urn] });
    expect(planSteps(baseline([stateOf(old)]), [renamed, twin], noVerdicts).errors).toEqual([
      { urn: twin.urn, message: `${old.urn} is claimed by ${renamed.urn} as well (duplicate alias)` },
    ]);
    // The resource's own URN wins over its aliases.
    const both = resource("both", { inputs: { x: 1 }, aliases: [old.urn] });
    expect(planSteps(baseline([stateOf(both), stateOf(old)]), [both], noVerdicts).steps.map((s) => [s.name, s.op, s.reason])).toEqual([
      ["both", "same", ""],
      ["old-name", "delete", "no longer in the program"],
    ]);
  });

  it("refuses to replace a resource protected in both runs, and to delete one protected in the state", () => {
    const a = resource("a", { inputs: { spec: 2 }, replaceOnChanges: ["spec"], protect: true });
    const old = stateOf(a, { inputs: { spec: 1 } });
    expect(planSteps(baseline([old]), [a], noVerdicts).errors).toEqual([
      { urn: a.urn, message: "protected: the engine refuses to replace a (replaceOnChanges: spec)" },
    ]);
    expect(planSteps(baseline([{ ...old, protect: false }]), [a], noVerdicts).errors).toEqual([]);
    expect(planSteps(baseline([old]), [{ ...a, protect: false }], noVerdicts).errors).toEqual([]);
    // Updating a protected resource is fine.
    expect(planSteps(baseline([old]), [{ ...a, replaceOnChanges: [] }], noVerdicts).errors).toEqual([]);
    // Unprotecting and removing in one run still fails: the state's flag counts.
    expect(planSteps(baseline([old]), [], noVerdicts).errors).toEqual([
      { urn: a.urn, message: "protected: the engine refuses to delete a" },
    ]);
    expect(planSteps(baseline([{ ...old, protect: false }]), [], noVerdicts).errors).toEqual([]);
  });

  it("deletes the unregistered after every other step, dependents first, one antichain per wave", () => {
    const keep = resource("keep", { inputs: { v: 2 } });
    const db = resource("db");
    const app = resource("app", { dependsOn: [db.urn] });
    const sidecar = resource("sidecar", { parent: app.urn });
    const cfg = resource("cfg", { provider: db.urn });
    const plan = planSteps(
      baseline([stateOf(db), stateOf(app), stateOf(cfg), stateOf(sidecar), stateOf(keep, { inputs: { v: 1 } })]),
      [keep],
      noVerdicts,
    );
    expect(plan.steps.map((s) => [s.name, s.op, s.wave])).toEqual([
      ["keep", "update", 1],
      ["sidecar", "delete", 2],
      ["app", "delete", 3],
      ["cfg", "delete", 3],
      ["db", "delete", 4],
    ]);
  });

  it("orders deletes of equal wave as the state lists them, and still ends on a cycle", () => {
    const x = resource("x");
    const y = resource("y", { dependsOn: [x.urn] });
    const z = resource("z");
    const plan = planSteps(baseline([stateOf(z), stateOf(y), stateOf(x, { dependsOn: [y.urn] })]), [], noVerdicts);
    // x and y wait for each other (a state the engine never writes): both go at once, before z.
    expect(plan.steps.map((s) => [s.name, s.op, s.wave])).toEqual([
      ["y", "delete", 1],
      ["x", "delete", 1],
      ["z", "delete", 2],
    ]);
  });

  it("gives changed resources in a dependency cycle finite waves", () => {
    const a = resource("a", { inputs: { v: 2 } });
    const b = resource("b", { inputs: { v: 2 }, dependsOn: [a.urn] });
    const cyclic = { ...a, dependsOn: [b.urn] };
    const plan = planSteps(baseline([stateOf(cyclic, { inputs: { v: 1 } }), stateOf(b, { inputs: { v: 1 } })]), [cyclic, b], noVerdicts);
    expect(plan.steps.map((s) => [s.name, s.wave])).toEqual([
      ["b", 1],
      ["a", 2],
    ]);
  });
});

describe("bring-up simulation", () => {
  const apply = "talos:machine/configurationApply:ConfigurationApply";
  const gateType = "pulumi-nodejs:dynamic/talos:NodeGate";

  it("weights each step by its type", () => {
    const cases: Array<[Partial<RecordedResource>, number]> = [
      [{ type: "kubernetes:yaml/v2:ConfigGroup", custom: false }, 20],
      [{ type: "talos:index:Cluster", custom: false }, 0],
      [{ type: "pulumi:providers:kubernetes" }, 0],
      [{ type: "talos:machine/secrets:Secrets" }, 1],
      [{ type: "talos:imageFactory/schematic:Schematic" }, 3],
      [{ type: apply }, 10],
      [{ type: gateType }, 1],
      [{ type: "pulumi-nodejs:dynamic/talos:OsUpgrade" }, 1],
      [{ type: "pulumi-nodejs:dynamic/talos:NodeMembership" }, 1],
      [{ type: "pulumi-nodejs:dynamic/talos:VersionGuard" }, 1],
      [{ type: "tls:index/privateKey:PrivateKey" }, 1],
      [{ type: "talos:machine/bootstrap:Bootstrap" }, 60],
      [{ type: "talos:cluster/kubeconfig:Kubeconfig" }, 10],
      [{ type: "pulumi-nodejs:dynamic/talos:ClusterReady" }, 180],
      [{ type: "pulumi-nodejs:dynamic/talos:ClusterHealth" }, 180],
      [{ type: "kubernetes:helm.sh/v3:Release", name: "cilium" }, 180],
      [{ type: "kubernetes:helm.sh/v3:Release", name: "coredns" }, 120],
      [{ type: "kubernetes:apiextensions.k8s.io/v1:CustomResourceDefinition" }, 20],
      [{ type: "kubernetes:core/v1:ConfigMap" }, 5],
      [{ type: "kubernetes:core/v1:ConfigMap", name: "cilium-config" }, 5],
      [{ type: "cloudflare:index/dnsRecord:DnsRecord" }, 5],
      [{ type: "random:index/randomBytes:RandomBytes" }, 1],
    ];
    expect(cases.map(([over]) => durationOf(resource(over.name ?? "r", over)))).toEqual(cases.map(([, seconds]) => seconds));
  });

  it("waits for dependencies and the explicit provider", () => {
    expect(waitsFor(resource("r", { dependsOn: ["a", "b"], provider: "p" }))).toEqual(["a", "b", "p"]);
    expect(waitsFor(resource("r", { dependsOn: ["a"] }))).toEqual(["a"]);
  });

  // secrets → apply-1 → gate-1 → apply-2 (the rolling chain); bootstrap waits for both nodes installed.
  const secrets = resource("secrets", { type: "talos:machine/secrets:Secrets" });
  const apply1 = resource("apply-1", { type: apply, dependsOn: [secrets.urn] });
  const gate1 = resource("gate-1", { type: gateType, dependsOn: [apply1.urn] });
  const apply2 = resource("apply-2", { type: apply, dependsOn: [secrets.urn, gate1.urn] });
  const bootstrap = resource("bootstrap", { type: "talos:machine/bootstrap:Bootstrap", dependsOn: [apply1.urn, apply2.urn] });
  const kubeconfig = resource("kubeconfig", { type: "talos:cluster/kubeconfig:Kubeconfig", dependsOn: [bootstrap.urn] });
  const graph = [secrets, apply1, gate1, apply2, bootstrap, kubeconfig];

  it("starts a node-waiting step once the last node installed, along the rolling chain", () => {
    // secrets 0–1, apply-1 1–11 (installed 311), gate-1 11–12, apply-2 12–22 (installed 322),
    // bootstrap 322–382, kubeconfig 382–392.
    expect(simulateBringUp(graph)).toEqual({
      criticalPathSeconds: 392,
      sequentialSeconds: 1 + 10 + 1 + 10 + 60 + 10 + 2 * 300,
      path: ["secrets", "apply-1", "gate-1", "apply-2", "bootstrap", "kubeconfig"],
    });
  });

  it("without installs, follows the longest chain of steps alone", () => {
    expect(simulateBringUp(graph, durationOf, 0)).toEqual({
      criticalPathSeconds: 92,
      sequentialSeconds: 92,
      path: ["secrets", "apply-1", "gate-1", "apply-2", "bootstrap", "kubeconfig"],
    });
  });

  it("without the rolling chain, applies run at once and the first of equal branches is the path", () => {
    expect(simulateBringUp(withoutRollingChain(graph))).toEqual({
      criticalPathSeconds: 381,
      sequentialSeconds: 692,
      path: ["secrets", "apply-1", "bootstrap", "kubeconfig"],
    });
    // Only applies lose their gate dependencies.
    expect(withoutRollingChain(graph).map((r) => r.dependsOn)).toEqual([
      [],
      [secrets.urn],
      [apply1.urn],
      [secrets.urn],
      [apply1.urn, apply2.urn],
      [bootstrap.urn],
    ]);
  });

  it("takes the longer of two branches whichever comes first, and leaves zero-length steps out of the path", () => {
    const seconds: Record<string, number> = { short: 5, long: 7, join: 1, group: 0 };
    const duration = (r: RecordedResource) => seconds[r.name] ?? 0;
    const short = resource("short");
    const long = resource("long");
    const group = resource("group", { dependsOn: [long.urn] });
    for (const order of [
      [short.urn, group.urn],
      [group.urn, short.urn],
    ]) {
      const join = resource("join", { dependsOn: order });
      expect(simulateBringUp([short, long, group, join], duration)).toEqual({
        criticalPathSeconds: 8,
        sequentialSeconds: 13,
        path: ["long", "join"],
      });
    }
  });

  it("counts custom resources and remote YAML as steps, not providers or components", () => {
    expect(
      [
        resource("cr"),
        resource("yaml", { type: "kubernetes:yaml/v2:ConfigGroup", custom: false }),
        resource("provider", { type: "pulumi:providers:kubernetes" }),
        resource("component", { type: "talos:index:Cluster", custom: false }),
        resource("yaml-like", { type: "x:kubernetes:yaml/v2:", custom: false }),
      ].map(isStep),
    ).toEqual([true, true, false, false, false]);
  });

  it("makes ClusterReady wait for the installs, and a step after a gate inherit them without adding its own", () => {
    const a = resource("a", { type: apply });
    const gate = resource("gate", { type: gateType, dependsOn: [a.urn] });
    const ready = resource("ready", { type: "pulumi-nodejs:dynamic/talos:ClusterReady", dependsOn: [gate.urn] });
    // a 0–10 (installed 310), gate 10–11, ready 310–490; a later independent root does not end the path.
    const late = resource("late");
    expect(simulateBringUp([a, gate, ready, late])).toEqual({
      criticalPathSeconds: 490,
      sequentialSeconds: 10 + 1 + 180 + 1 + 300,
      path: ["a", "ready"],
    });
    expect(withoutRollingChain([a, gate, ready]).map((r) => r.dependsOn)).toEqual([[], [a.urn], [gate.urn]]);
  });

  it("breaks ties by the first dependency and the first resource", () => {
    const duration = () => 5;
    const a = resource("a");
    const b = resource("b");
    expect(simulateBringUp([a, b, resource("c", { dependsOn: [a.urn, b.urn] })], duration).path).toEqual(["a", "c"]);
    expect(simulateBringUp([a, b, resource("c", { dependsOn: [b.urn, a.urn] })], duration).path).toEqual(["b", "c"]);
    expect(simulateBringUp([b, a], duration)).toEqual({ criticalPathSeconds: 5, sequentialSeconds: 10, path: ["b"] });
  });

  it("ends on a dependency cycle or a dependency outside the graph, and an empty graph takes no time", () => {
    const a = resource("a", { dependsOn: [urnOf("b"), urnOf("missing")] });
    const b = resource("b", { dependsOn: [a.urn] });
    expect(simulateBringUp([a, b], () => 2)).toEqual({ criticalPathSeconds: 4, sequentialSeconds: 4, path: ["b", "a"] });
    expect(simulateBringUp([])).toEqual({ criticalPathSeconds: 0, sequentialSeconds: 0, path: [] });
  });
});

describe("secrecy walk", () => {
  /** The parts of a Recording the walk reads. */
  function recording(
    resources: Array<{ r: RecordedResource; plain: Json }>,
    outputs: { plain: Json; secretPaths: string[] } = { plain: {}, secretPaths: [] },
  ): Recording {
    const plain = new Map(resources.map(({ r, plain: p }) => [r.urn, p]));
    return {
      stack: "s",
      project: "p",
      resources: resources.map(({ r }) => r),
      invokes: [],
      outputs: {},
      outputSecretPaths: outputs.secretPaths,
      logs: [],
      plainInputs: (urn) => plain.get(urn) ?? null,
      plainOutputs: () => outputs.plain,
    };
  }

  it("names each credential input that is not under a secret path, at any depth, in objects and arrays", () => {
    const r = resource("app", { secretPaths: ["nested.list", "pass"] });
    const inputs: Json = {
      password: "p",
      nested: { apiKey: "k", list: [{ token: "t" }, { name: "n" }], clientKey: "c" },
      values: [{ auth: { privateKey: "k" } }],
      // References to Secrets, not credentials.
      passwordSecretRef: { name: "s", key: "password2Ref" },
      secretName: "n",
      spec: { tokenSecret: "t", pullSecret: "p", secretsNamespace: "ns" },
      tokenCount: 3,
    };
    expect(exposedCredentials(recording([{ r, plain: inputs }]))).toEqual([
      `${r.urn}: password`,
      `${r.urn}: nested.apiKey`,
      `${r.urn}: nested.clientKey`,
      `${r.urn}: values[0].auth.privateKey`,
    ]);
  });

  it("takes a secret parent path as covering its children, and the root path as covering everything", () => {
    const r = resource("app", { secretPaths: ["auth"] });
    const inputs: Json = { auth: { token: "t", nested: [{ password: "p" }] }, authToken: "x", authz: { token: "y" } };
    expect(exposedCredentials(recording([{ r, plain: inputs }]))).toEqual([`${r.urn}: authToken`, `${r.urn}: authz.token`]);
    const all = resource("all", { secretPaths: [""] });
    expect(exposedCredentials(recording([{ r: all, plain: { password: "p", token: "t" } }]))).toEqual([]);
    const list = resource("list", { secretPaths: ["items"] });
    expect(exposedCredentials(recording([{ r: list, plain: { items: [{ token: "t" }] } }]))).toEqual([]);
  });

  it("treats a Kubernetes Secret's data and stringData as credentials, whatever their keys", () => {
    const secret = resource("creds", { type: "kubernetes:core/v1:Secret" });
    const inputs: Json = { metadata: { name: "creds" }, data: { a: "x" }, stringData: { b: "y" }, database: { host: "h" } };
    expect(exposedCredentials(recording([{ r: secret, plain: inputs }]))).toEqual([`${secret.urn}: data.a`, `${secret.urn}: stringData.b`]);
    const other = resource("cm", { type: "kubernetes:core/v1:ConfigMap" });
    expect(exposedCredentials(recording([{ r: other, plain: { data: { a: "x" } } }]))).toEqual([]);
  });

  it("checks stack outputs against their secret paths", () => {
    const outputs = { plain: { kubeconfig: "k", talos: { clientConfiguration: { ca: "c" } }, endpoint: "e" }, secretPaths: ["talos"] };
    expect(exposedCredentials(recording([], outputs))).toEqual(["outputs: kubeconfig"]);
    expect(exposedCredentials(recording([], { ...outputs, secretPaths: ["talos", "kubeconfig"] }))).toEqual([]);
  });
});
