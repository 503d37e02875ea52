import { type RecordedResource, type Recording } from "../plan/harness";
import { recordFixture, recordWith, stacks } from "./support";

const byType = (r: Recording, suffix: string) => r.resources.filter((x) => x.type.endsWith(suffix));
const one = (r: Recording, suffix: string): RecordedResource => {
  const found = byType(r, suffix);
  expect(found).toHaveLength(1);
  return found[0]!;
};

describe.each(stacks)("TalosCluster, stack %s", (stack) => {
  let r: Recording;
  beforeAll(async () => {
    r = await recordFixture({ stack });
    if (r.error) throw r.error;
  });

  it("keeps one protected machine Secrets, its outputs secret", () => {
    const secrets = one(r, ":Secrets");
    expect(secrets.protect).toBe(true);
    expect(secrets.additionalSecretOutputs).toEqual(expect.arrayContaining(["machineSecrets", "clientConfiguration"]));
  });

  it("applies all three nodes in parallel: no apply waits for another", () => {
    const applies = byType(r, ":ConfigurationApply");
    expect(applies.map((a) => a.inputs && (a.inputs as Record<string, unknown>).node)).toEqual([
      `10.25.11.${stack === "infra" ? 11 : 14}`,
      `10.25.11.${stack === "infra" ? 12 : 15}`,
      `10.25.11.${stack === "infra" ? 13 : 16}`,
    ]);
    const applyUrns = new Set(applies.map((a) => a.urn));
    for (const apply of applies) expect(apply.dependsOn.filter((d) => applyUrns.has(d))).toEqual([]);
    for (const apply of applies) expect(apply.customTimeouts).toEqual({ create: "20m", update: "20m", delete: "10m" });
  });

  it("keeps the patches readable: configPatches are not secret, the machine config is", () => {
    for (const apply of byType(r, ":ConfigurationApply")) {
      expect(apply.secretPaths).not.toContain("configPatches");
      expect(apply.secretPaths.some((p) => p.startsWith("configPatches"))).toBe(false);
      expect(apply.secretPaths).toEqual(expect.arrayContaining(["machineConfigurationInput", "clientConfiguration"]));
    }
  });

  it("bootstraps etcd exactly once, on the first control plane, after that node's apply only", () => {
    const bootstrap = one(r, ":Bootstrap");
    const [first, ...rest] = byType(r, ":ConfigurationApply");
    expect((bootstrap.inputs as Record<string, unknown>).node).toBe((first!.inputs as Record<string, unknown>).node);
    expect(bootstrap.dependsOn).toContain(first!.urn);
    for (const other of rest) expect(bootstrap.dependsOn).not.toContain(other.urn);
  });

  it("fetches the kubeconfig after bootstrap and waits for health (Kubernetes checks skipped before the CNI)", () => {
    expect(one(r, ":Kubeconfig").dependsOn).toContain(one(r, ":Bootstrap").urn);
    const health = r.invokes.filter((i) => i.token === "talos:cluster/getHealth:getHealth");
    const beforeCni = health.filter((h) => (h.args as Record<string, unknown>).skipKubernetesChecks === true);
    expect(beforeCni).toHaveLength(1);
    expect(beforeCni[0]!.args).toMatchObject({ controlPlaneNodes: expect.any(Array), endpoints: expect.any(Array) });
  });

  it("exports kubeconfig and talosconfig as secrets, nodes and endpoint in the clear", () => {
    // infra owns the ClusterMesh CA and exports its key as a secret too (components/clustermesh).
    expect([...r.outputSecretPaths].sort()).toEqual([...(stack === "infra" ? ["clustermeshCaKey"] : []), "kubeconfig", "talosconfig"]);
    expect(r.outputs).toMatchObject({
      endpoint: `https://${stack}-k8s.monosense.io:6443`,
      kubeconfig: "[secret]",
      talosconfig: "[secret]",
    });
  });

  it("parents every Talos resource to the TalosCluster component", () => {
    const component = one(r, "talos:TalosCluster");
    for (const res of r.resources.filter((x) => x.type.startsWith("talos:"))) expect(res.parent).toBe(component.urn);
  });
});

describe("node lifecycle", () => {
  // A free address: 10.25.11.14 is apps-01's, which the mesh's cross-stack check (run by every member) refuses.
  const worker = { name: "infra-04", ip: "10.25.11.21", role: "worker", nics: { hardwareAddr: "aa:bb:cc:dd:ee:*" } };

  it("adding a worker adds one apply and changes nothing else", async () => {
    const before = await recordFixture({ stack: "infra" });
    const after = await recordWith("infra", (c) => c.nodes.push(worker));
    const added = after.resources.filter((x) => !before.resources.some((b) => b.urn === x.urn));
    expect(added.map((x) => x.name)).toEqual(["apply-infra-04"]);
    for (const res of before.resources) {
      const same = after.resources.find((x) => x.urn === res.urn)!;
      expect({ urn: res.urn, inputs: same.inputs }).toEqual({ urn: res.urn, inputs: res.inputs });
    }
  });

  it("resets a removed worker on destroy; control planes are protected unless removal is allowed", async () => {
    const r = await recordWith("infra", (c) => c.nodes.push(worker));
    const apply = (name: string) => r.resources.find((x) => x.name === `apply-${name}`)!;
    expect(apply("infra-04")).toMatchObject({
      protect: false,
      inputs: expect.objectContaining({ onDestroy: { reset: true, graceful: true, reboot: true } }),
    });
    expect(apply("infra-01").protect).toBe(true);
    const allowed = await recordWith("infra", (c) => (c.talos.allowControlPlaneRemoval = true));
    expect(allowed.resources.find((x) => x.name === "apply-infra-01")!.protect).toBe(false);
  });

  it("a Talos or Kubernetes version change is an in-place input change of the same resources", async () => {
    const before = await recordFixture({ stack: "infra" });
    const after = await recordWith("infra", (c) => (c.talos.kubernetesVersion = "v1.34.2"));
    expect(after.resources.map((x) => x.urn)).toEqual(before.resources.map((x) => x.urn));
    const invoke = after.invokes.find((i) => i.token === "talos:machine/getConfiguration:getConfiguration")!;
    expect(invoke.args).toMatchObject({ kubernetesVersion: "v1.34.2" });
  });
});
