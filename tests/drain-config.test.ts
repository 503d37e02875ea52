import { StackConfigError } from "../stacks/errors";
import { ofType, recordWith } from "./support";

/** `talos.rollout.unmanagedPods`: a bad value names the stack file and the key, and registers nothing; the value reaches the drains. */
describe("talos.rollout.unmanagedPods", () => {
  it("refuses a value other than evict or refuse, naming file and key", async () => {
    const recording = await recordWith("infra", (c) => (c.talos.rollout = { unmanagedPods: "delete" }));
    expect(StackConfigError.isInstance(recording.error)).toBe(true);
    // The line is where the stack file has the key (or its nearest parent); this test edits the parsed config.
    expect(recording.error?.message).toMatch(
      /Pulumi\.infra\.yaml(:\d+)?: cluster\.talos\.rollout\.unmanagedPods: must be one of "evict", "refuse"/,
    );
    expect(recording.resources).toEqual([]);
  });

  it("reaches every OsUpgrade and NodeMembership: evict by default (talosctl's drain), refuse when the stack says so", async () => {
    const inputsOf = (recording: Awaited<ReturnType<typeof recordWith>>, type: string) =>
      ofType(recording, `pulumi-nodejs:dynamic/talos:${type}`).map((r) => r.inputs as Record<string, unknown>);
    const byDefault = await recordWith("infra", () => undefined);
    expect(inputsOf(byDefault, "OsUpgrade").length).toBeGreaterThan(0);
    expect(new Set(inputsOf(byDefault, "OsUpgrade").map((i) => i.unmanagedPods))).toEqual(new Set(["evict"]));
    expect(new Set(inputsOf(byDefault, "NodeMembership").map((i) => `${String(i.force)} ${String(i.deleteEmptyDirData)}`))).toEqual(
      new Set(["true true"]),
    );
    const refusing = await recordWith("infra", (c) => (c.talos.rollout = { unmanagedPods: "refuse" }));
    expect(new Set(inputsOf(refusing, "OsUpgrade").map((i) => i.unmanagedPods))).toEqual(new Set(["refuse"]));
    expect(new Set(inputsOf(refusing, "NodeMembership").map((i) => `${String(i.force)} ${String(i.deleteEmptyDirData)}`))).toEqual(
      new Set(["false true"]),
    );
  });
});
