import { baselineOfRecording, type Baseline } from "../plan/baseline";
import { diffRun, type DiffOutcome } from "../plan/diff";
import { diffText } from "../plan/diffRender";
import { fixture, recordWith, stacks, type RawCluster } from "./support";

/**
 * Day-2 changes to the fixture stacks, as the engine would run them after the base run: the
 * exact steps (wave, op, name, changed paths, reason), effects, warnings and errors of each.
 */
jest.setTimeout(180_000);

const worker = { name: "infra-04", ip: "10.25.11.14", role: "worker", nics: { hardwareAddr: "aa:bb:cc:dd:ee:*" } };
const keep = () => undefined;

async function diff(
  stack: string,
  base: (c: RawCluster) => void,
  next: (c: RawCluster) => void,
  tweak = (b: Baseline) => b,
): Promise<DiffOutcome> {
  const baseline = tweak(baselineOfRecording(await recordWith(stack, base), "base"));
  return diffRun(stack, baseline, (o) => recordWith(stack, next, o));
}

/** Every step that does something, one line each: `wave op name [changed] (reason)`. */
function changes(o: DiffOutcome): string[] {
  return o.report.steps.filter((s) => s.op !== "same").map((s) => `${s.wave} ${s.op} ${s.name} [${s.changed.join(", ")}] (${s.reason})`);
}

function effectsOf(o: DiffOutcome, name: string): string[] {
  return o.report.steps.find((s) => s.name === name && s.op !== "same")?.effects ?? [];
}

const messages = (issues: ReadonlyArray<{ message: string }>) => issues.map((i) => i.message);
const threeControlPlanes = (wave: number) =>
  `3 control planes re-apply at the same time (wave ${wave}): apply-10.25.11.11, apply-10.25.11.12, apply-10.25.11.13`;

describe.each(stacks)("no-op re-run of %s", (stack) => {
  it("is every step same, with no warning or error; the health waits still run in preview", async () => {
    const o = await diff(stack, keep, keep);
    expect(o.report.steps.every((s) => s.op === "same" && s.wave === 0 && s.changed.length === 0)).toBe(true);
    expect(o.report.steps.length).toBeGreaterThan(40);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
    expect(o.report.previewCalls.filter((c) => c.token === "talos:cluster/getHealth:getHealth")).toEqual([
      { token: "talos:cluster/getHealth:getHealth", timeout: "20m" },
      { token: "talos:cluster/getHealth:getHealth", timeout: "20m" },
    ]);
  });
});

describe("nodes", () => {
  it("adding a worker creates its apply, then rewrites the talosconfig in 1Password; preview waits on the new node (warned)", async () => {
    const o = await diff("infra", keep, (c) => c.nodes.push(worker));
    expect(changes(o)).toEqual([
      "1 create apply-10.25.11.14 [] (not in the base)",
      "2 update infra-credentials [fields] (its provider's diff reports a change)",
    ]);
    expect(o.report.errors).toEqual([]);
    // The boot-time check waits on the new apply (unknown in preview) and is skipped; the later one
    // only waits on Cilium, so the preview runs it, naming a node that is not configured yet.
    expect(o.report.previewCalls.filter((c) => c.token === "talos:cluster/getHealth:getHealth")).toEqual([
      { token: "talos:cluster/getHealth:getHealth", timeout: "20m" },
    ]);
    expect(messages(o.report.warnings)).toEqual([
      "preview runs talos:cluster/getHealth:getHealth naming 10.25.11.14, which only this run configures: it may wait up to 20m and fail",
    ]);
  });

  it("removing a worker deletes its apply in the last wave, which resets the machine", async () => {
    const o = await diff("infra", (c) => c.nodes.push(worker), keep);
    expect(changes(o)).toEqual([
      "1 update infra-credentials [fields] (its provider's diff reports a change)",
      "2 delete apply-10.25.11.14 [] (no longer in the program)",
    ]);
    expect(effectsOf(o, "apply-10.25.11.14")).toEqual([
      "resets machine 10.25.11.14 (wipes its STATE and EPHEMERAL partitions, leaving etcd first)",
    ]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
  });

  it("removing control planes is refused: their applies are protected", async () => {
    const o = await diff("infra", keep, (c) => c.nodes.splice(1, 2));
    expect(changes(o)).toEqual([
      "1 update infra-credentials [fields] (its provider's diff reports a change)",
      "1 update cilium [values.operator.replicas] (inputs changed)",
      "2 delete apply-10.25.11.12 [] (no longer in the program)",
      "2 delete apply-10.25.11.13 [] (no longer in the program)",
    ]);
    expect(messages(o.report.errors)).toEqual([
      "protected: the engine refuses to delete apply-10.25.11.12",
      "protected: the engine refuses to delete apply-10.25.11.13",
    ]);
    expect(effectsOf(o, "apply-10.25.11.12")[0]).toBe("protected: the engine will refuse");
  });

  it("allowing removal and removing in the same run is still refused: the engine checks the flag in state", async () => {
    const o = await diff("infra", keep, (c) => {
      c.talos.allowControlPlaneRemoval = true;
      c.nodes.splice(1, 2);
    });
    expect(messages(o.report.errors)).toEqual([
      "protected: the engine refuses to delete apply-10.25.11.12",
      "protected: the engine refuses to delete apply-10.25.11.13",
    ]);
  });

  it("with talos.allowControlPlaneRemoval applied first, removing control planes resets them, with a warning", async () => {
    const allow = (c: RawCluster) => (c.talos.allowControlPlaneRemoval = true);
    const o = await diff("infra", allow, (c) => {
      allow(c);
      c.nodes.splice(1, 2);
    });
    expect(changes(o)).toEqual([
      "1 update infra-credentials [fields] (its provider's diff reports a change)",
      "1 update cilium [values.operator.replicas] (inputs changed)",
      "2 delete apply-10.25.11.12 [] (no longer in the program)",
      "2 delete apply-10.25.11.13 [] (no longer in the program)",
    ]);
    expect(o.report.errors).toEqual([]);
    expect(messages(o.report.warnings)).toEqual([
      "control plane infra-02 leaves: etcd loses a member",
      "control plane infra-03 leaves: etcd loses a member",
    ]);
  });

  it("renaming a node (same IP) updates its hostname in place: nothing is deleted or reset", async () => {
    const o = await diff("infra", keep, (c) => (c.nodes[2].name = "infra-09"));
    expect(changes(o)).toEqual(["1 update apply-10.25.11.13 [configPatches[1]] (inputs changed)"]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
    expect(diffText(o)).toContain("  -     hostname: infra-03\n  +     hostname: infra-09\n");
  });

  it("changing a node's IP is another machine: a new apply, and the old one deleted last (refused for a control plane)", async () => {
    const o = await diff("infra", keep, (c) => (c.nodes[2].ip = "10.25.11.23"));
    expect(changes(o)).toEqual([
      "1 create apply-10.25.11.23 [] (not in the base)",
      "2 update infra-credentials [fields] (its provider's diff reports a change)",
      "3 delete apply-10.25.11.13 [] (no longer in the program)",
    ]);
    expect(messages(o.report.warnings)).toEqual([
      "node infra-03 stays in the stack but its apply is deleted: machine 10.25.11.13 is wiped",
      "preview runs talos:cluster/getHealth:getHealth naming 10.25.11.23, which only this run configures: it may wait up to 20m and fail",
    ]);
    expect(messages(o.report.errors)).toEqual(["protected: the engine refuses to delete apply-10.25.11.13"]);
  });

  describe("a stack deployed when applies were named by node", () => {
    // Its state as the engine holds it: the same resources under `apply-<node name>`.
    const nameKeyed = (b: Baseline): Baseline => {
      let text = JSON.stringify(b);
      for (const n of fixture("infra").nodes) text = text.split(`apply-${n.ip}"`).join(`apply-${n.name}"`);
      return JSON.parse(text) as Baseline;
    };

    it("keeps its applies: the alias finds them, every step is same", async () => {
      const o = await diff("infra", keep, keep, nameKeyed);
      expect(changes(o)).toEqual([]);
      expect(o.report).toMatchObject({ warnings: [], errors: [] });
    });

    it("must not rename in that same run: the old apply would be deleted and its machine reset (refused for a control plane)", async () => {
      const o = await diff("infra", keep, (c) => (c.nodes[2].name = "infra-09"), nameKeyed);
      expect(changes(o)).toEqual([
        "1 create apply-10.25.11.13 [] (not in the base)",
        "2 delete apply-infra-03 [] (no longer in the program)",
      ]);
      expect(messages(o.report.warnings)).toEqual([
        "node infra-03 stays in the stack but its apply is deleted: machine 10.25.11.13 is wiped",
        // Conservative: under the old name the engine sees a new apply for a machine that is in fact configured.
        "preview runs talos:cluster/getHealth:getHealth naming 10.25.11.13, which only this run configures: it may wait up to 20m and fail",
      ]);
      expect(messages(o.report.errors)).toEqual(["protected: the engine refuses to delete apply-infra-03"]);
    });
  });
});

describe("machine config", () => {
  it("a sysctl change re-applies the three control planes in the same wave (warned)", async () => {
    const o = await diff("infra", keep, (c) => (c.talos.sysctls["net.core.rmem_max"] = "134217728"));
    expect(changes(o)).toEqual([
      "1 update apply-10.25.11.11 [configPatches[6]] (inputs changed)",
      "1 update apply-10.25.11.12 [configPatches[6]] (inputs changed)",
      "1 update apply-10.25.11.13 [configPatches[6]] (inputs changed)",
    ]);
    expect(messages(o.report.warnings)).toEqual([threeControlPlanes(1)]);
    expect(diffText(o)).toContain(
      [
        "--- apply-10.25.11.11, apply-10.25.11.12, apply-10.25.11.13",
        "  @@ patch 6 @@",
        "        net.core.default_qdisc: fq",
        '  -     net.core.rmem_max: "67108864"',
        '  +     net.core.rmem_max: "134217728"',
        '        net.core.wmem_max: "67108864"',
      ].join("\n"),
    );
  });

  it("a new schematic replaces it, so the installer image gets the new id on every node", async () => {
    const o = await diff("infra", keep, (c) => c.talos.schematic.officialExtensions.push("siderolabs/gvisor"));
    expect(changes(o)).toEqual([
      "1 replace schematic [schematic] (replaceOnChanges: schematic)",
      "2 update apply-10.25.11.11 [configPatches[0]] (inputs changed)",
      "2 update apply-10.25.11.12 [configPatches[0]] (inputs changed)",
      "2 update apply-10.25.11.13 [configPatches[0]] (inputs changed)",
    ]);
    expect(effectsOf(o, "schematic")).toEqual(["created anew first; the old one is deleted in wave 3"]);
    expect(messages(o.report.warnings)).toEqual([threeControlPlanes(2)]);
    expect(diffText(o)).toContain("+     image: factory.talos.dev/metal-installer/(new schematic id):v1.11.6");
  });

  it("a Talos version bump updates the machine secrets in place, then every apply", async () => {
    const o = await diff("infra", keep, (c) => (c.talos.version = "v1.11.7"));
    expect(changes(o)).toEqual([
      "1 update secrets [talosVersion] (inputs changed)",
      "2 update apply-10.25.11.11 [configPatches[0], machineConfigurationInput] (inputs changed)",
      "2 update apply-10.25.11.12 [configPatches[0], machineConfigurationInput] (inputs changed)",
      "2 update apply-10.25.11.13 [configPatches[0], machineConfigurationInput] (inputs changed)",
    ]);
    expect(messages(o.report.warnings)).toEqual([threeControlPlanes(2)]);
    expect(o.report.errors).toEqual([]);
  });

  it("a Talos version downgrade would replace the protected machine secrets: refused", async () => {
    const o = await diff("infra", keep, (c) => (c.talos.version = "v1.11.5"));
    expect(changes(o)[0]).toBe("1 replace secrets [talosVersion] (talos replaces on talosVersion)");
    expect(messages(o.report.errors)).toEqual(["protected: the engine refuses to replace secrets (talos replaces on talosVersion)"]);
  });

  it("a Kubernetes version bump changes every node's generated machine config", async () => {
    const o = await diff("infra", keep, (c) => (c.talos.kubernetesVersion = "v1.34.2"));
    expect(changes(o)).toEqual([
      "1 update apply-10.25.11.11 [machineConfigurationInput] (inputs changed)",
      "1 update apply-10.25.11.12 [machineConfigurationInput] (inputs changed)",
      "1 update apply-10.25.11.13 [machineConfigurationInput] (inputs changed)",
    ]);
    expect(messages(o.report.warnings)).toEqual([threeControlPlanes(1)]);
  });
});

describe("platform components", () => {
  it("disabling Spegel drops its containerd patch on every node, then deletes the release and its namespace", async () => {
    const o = await diff("infra", keep, (c) => (c.spegel.enabled = false));
    expect(changes(o)).toEqual([
      "1 update apply-10.25.11.11 [configPatches[7]] (inputs changed)",
      "1 update apply-10.25.11.12 [configPatches[7]] (inputs changed)",
      "1 update apply-10.25.11.13 [configPatches[7]] (inputs changed)",
      "2 delete spegel [] (no longer in the program)",
      "3 delete spegel [] (no longer in the program)",
    ]);
    expect(o.report.steps.filter((s) => s.op === "delete").map((s) => s.type)).toEqual([
      "kubernetes:helm.sh/v3:Release",
      "kubernetes:core/v1:Namespace",
    ]);
    expect(messages(o.report.warnings)).toEqual([threeControlPlanes(1)]);
  });

  it("disabling external-secrets deletes its CRDs with the release (warned), dependents first", async () => {
    const o = await diff("infra", keep, (c) => (c.externalSecrets.enabled = false));
    expect(changes(o)).toEqual([
      "1 delete onepassword-store [] (no longer in the program)",
      "2 delete onepassword-service-account [] (no longer in the program)",
      "2 delete external-secrets [] (no longer in the program)",
      "3 delete external-secrets [] (no longer in the program)",
    ]);
    const crds = "deletes CRDs: every ExternalSecret, ClusterSecretStore in the cluster goes";
    expect(o.report.steps.find((s) => s.op === "delete" && s.type === "kubernetes:helm.sh/v3:Release")?.effects).toEqual([crds]);
    expect(messages(o.report.warnings)).toEqual([`external-secrets is deleted: ${crds}`]);
  });

  it("a rotated credential reference changes only the Secret it feeds, which Kubernetes replaces (data is immutable to the provider)", async () => {
    const o = await diff("infra", keep, (c) => (c.externalSecrets.serviceAccountToken = "op://Prod/infra-external-secrets/rotated"));
    expect(changes(o)).toEqual(["1 replace onepassword-service-account [stringData] (kubernetes replaces on stringData)"]);
    expect(effectsOf(o, "onepassword-service-account")).toEqual(["deleted before its replacement is created: absent in between"]);
    expect(o.report).toMatchObject({ warnings: [], errors: [] });
    expect(JSON.stringify(o.report)).not.toContain("op://Prod/infra-external-secrets");
  });
});
