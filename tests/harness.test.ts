import { spawnSync } from "child_process";
import * as path from "path";
import type { Recording } from "../plan/record/harness";
import { SECRET_MASK } from "../plan/record/wire";
import { recordFixture, stacks } from "./support";

describe("recording harness", () => {
  let r: Recording;
  beforeAll(async () => {
    r = await recordFixture({ stack: "infra", entry: path.join(__dirname, "fixtures", "harness-program") });
    if (r.error) throw r.error;
  });
  const byName = (name: string) => {
    const found = r.resources.find((res) => res.name === name);
    if (!found) throw new Error(`no resource ${name}`);
    return found;
  };

  it("records type, engine-style URN and parent", () => {
    const first = byName("first");
    expect(first.type).toBe("fixture:index:Thing");
    expect(first.urn).toBe("urn:pulumi:infra::talos-gitops::fixture:index:Group$fixture:index:Thing::first");
    expect(first.parent).toBe(byName("group").urn);
    expect(byName("group").parent).toBeUndefined();
  });

  it("gives a child the aliases it inherits from its parent's, renaming its name's parent prefix (the engine's inheritedChildAlias)", () => {
    const stackPart = "urn:pulumi:infra::talos-gitops::";
    expect(byName("renamed").aliases).toEqual([`${stackPart}fixture:index:Group::old-group`]);
    expect(byName("renamed-part").aliases).toEqual([`${stackPart}fixture:index:Group$fixture:index:Thing::old-group-part`]);
    expect(byName("first").aliases).toEqual([]);
  });

  it("tells an explicit deleteBeforeReplace: false from none (the engine lets it override the provider)", () => {
    expect(byName("renamed-part")).toMatchObject({ deleteBeforeReplace: false, deleteBeforeReplaceDefined: true });
    expect(byName("second")).toMatchObject({ deleteBeforeReplace: true, deleteBeforeReplaceDefined: true });
    expect(byName("first").deleteBeforeReplaceDefined).toBeUndefined();
  });

  it("masks secret inputs, lists their paths and keeps the plain value apart", () => {
    const first = byName("first");
    expect([...first.secretPaths].sort()).toEqual(["nested.list[1]", "token"]);
    expect(first.inputs).toMatchObject({ token: SECRET_MASK, nested: { list: [1, SECRET_MASK] } });
    expect(r.plainInputs(first.urn)).toMatchObject({ token: "s3cr3t-token", nested: { list: [1, "deep"] } });
    expect(JSON.stringify(r.resources)).not.toContain("s3cr3t-token");
  });

  it("records options", () => {
    const first = byName("first");
    expect(first).toMatchObject({
      protect: true,
      ignoreChanges: ["nested"],
      customTimeouts: { create: "10m", delete: "1m" },
      additionalSecretOutputs: ["password"],
    });
    expect(byName("second")).toMatchObject({ retainOnDelete: true, deleteBeforeReplace: true, protect: false });
  });

  it("records property dependencies and explicit dependsOn", () => {
    const second = byName("second");
    expect(second.propertyDependencies.fromFirst).toEqual([byName("first").urn]);
    expect(second.dependsOn).toContain(byName("first").urn);
    expect(byName("third").dependsOn).toEqual(expect.arrayContaining([byName("second").urn, byName("first").urn]));
  });

  it("resolves provider references to the provider resource", () => {
    expect(byName("second").provider).toBe(byName("explicit").urn);
    expect(byName("explicit").type).toBe("pulumi:providers:fixture");
  });

  it("returns additionalSecretOutputs as secrets, so secrecy flows downstream as under pulumi up", () => {
    expect(byName("third").secretPaths).toEqual(["fromPassword"]);
    expect(r.outputSecretPaths).toContain("firstPassword");
    expect(r.outputs).toMatchObject({ firstPassword: SECRET_MASK, plain: "visible" });
    expect(r.plainOutputs()).toMatchObject({ firstPassword: "hunter2-plain" });
  });

  it("records invokes with credential-named arguments masked, and logs", () => {
    expect(r.invokes).toContainEqual(
      expect.objectContaining({ token: "fixture:index:lookup", args: { key: "value", apiToken: SECRET_MASK }, secretPaths: ["apiToken"] }),
    );
    expect(r.logs.join("\n")).toContain("fixture ran");
  });
});

describe("failures", () => {
  it("reports a failure raised inside an apply, as pulumi up would", () => {
    const out = spawnSync(
      process.execPath,
      [
        "-r",
        "ts-node/register/transpile-only",
        path.join(__dirname, "fixtures", "record-and-report.ts"),
        path.join(__dirname, "fixtures", "failing-apply-program"),
      ],
      {
        encoding: "utf8",
        timeout: 60000,
      },
    );
    expect(out.stdout).toContain("error: broken inside apply");
  });
});

describe.each(stacks)("the real program, stack %s", (stack) => {
  it("records a graph with stack outputs", async () => {
    const recording = await recordFixture({ stack });
    expect(recording.error).toBeUndefined();
    expect(recording.resources.length).toBeGreaterThan(0);
    expect(recording.resources[0]?.type).toBe("talos-gitops:index:Cluster");
    expect(recording.outputs).toMatchObject({ cluster: stack, endpoint: `https://${stack}-k8s.monosense.io:6443` });
  });
});

describe("preview mode", () => {
  it.each(stacks)("runs %s as pulumi preview would: ids and computed outputs unknown, nothing fails", async (stack) => {
    const r = await recordFixture({ stack, preview: true });
    expect(r.error).toBeUndefined();
    const apply = r.resources.find((x) => x.type === "talos:machine/configurationApply:ConfigurationApply")!;
    expect(JSON.stringify(apply.inputs)).toContain("(known after apply)");
    // The health waits depend on resources not yet created, so a first preview cannot run them.
    expect(r.invokes.filter((i) => i.token === "talos:cluster/getHealth:getHealth")).toEqual([]);
  });
});
