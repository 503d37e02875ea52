import { type RecordedResource, type Recording } from "../plan/record/harness";
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

  it("registers the machine secrets and every schematic only after the versions record (a refused version change updates neither)", () => {
    const guard = one(r, ":VersionGuard");
    const waiting = [one(r, ":Secrets"), ...byType(r, ":Schematic")];
    expect(waiting.length).toBeGreaterThan(1);
    for (const resource of waiting)
      expect({ name: resource.name, dependsOn: resource.dependsOn }).toEqual({ name: resource.name, dependsOn: [guard.urn] });
  });

  it("applies the three control planes one after another through their gates, never apply on apply", () => {
    const applies = byType(r, ":ConfigurationApply");
    expect(applies.map((a) => a.inputs && (a.inputs as Record<string, unknown>).node)).toEqual([
      `10.25.11.${stack === "infra" ? 11 : 14}`,
      `10.25.11.${stack === "infra" ? 12 : 15}`,
      `10.25.11.${stack === "infra" ? 13 : 16}`,
    ]);
    const applyUrns = new Set(applies.map((a) => a.urn));
    for (const apply of applies) expect(apply.dependsOn.filter((d) => applyUrns.has(d))).toEqual([]);
    const gates = byType(r, ":NodeGate");
    expect(gates.map((g) => g.name)).toEqual(applies.map((a) => a.name.replace(/^apply-/, "gate-")));
    expect(applies[1]!.dependsOn).toContain(gates[0]!.urn);
    expect(applies[2]!.dependsOn).toContain(gates[1]!.urn);
    for (const apply of applies) {
      expect(apply.customTimeouts).toBeUndefined();
      expect((apply.inputs as Record<string, unknown>).timeouts).toEqual({ create: "20m", update: "10m", delete: "10m" });
    }
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

  it("fetches the kubeconfig after bootstrap and waits for every node with ClusterReady, no health invoke", () => {
    expect(one(r, ":Kubeconfig").dependsOn).toContain(one(r, ":Bootstrap").urn);
    const ready = one(r, ":ClusterReady");
    expect(ready.dependsOn).toContain(one(r, ":Bootstrap").urn);
    expect((ready.inputs as { nodes: Array<{ node: string }> }).nodes.map((n) => n.node)).toEqual(
      byType(r, ":ConfigurationApply").map((a) => (a.inputs as Record<string, unknown>).node),
    );
    expect(r.invokes.filter((i) => i.token === "talos:cluster/getHealth:getHealth")).toEqual([]);
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

  it("parents every Talos resource and lifecycle resource to the TalosCluster component", () => {
    const component = one(r, "talos:TalosCluster");
    for (const res of r.resources.filter((x) => x.type.startsWith("talos:") || x.type.startsWith("pulumi-nodejs:dynamic/talos:")))
      expect(res.parent).toBe(component.urn);
  });
});

describe("node lifecycle", () => {
  // A free address: 10.25.11.14 is apps-01's, which the mesh's cross-stack check (run by every member) refuses.
  const worker = { name: "infra-04", ip: "10.25.11.21", role: "worker", nics: { hardwareAddr: "aa:bb:cc:dd:ee:*" } };

  it("adding a worker adds its OS upgrade record, apply, gate and membership; only the cluster-wide waits change (they wait for the new node)", async () => {
    const before = await recordFixture({ stack: "infra" });
    const after = await recordWith("infra", (c) => c.nodes.push(worker));
    const added = after.resources.filter((x) => !before.resources.some((b) => b.urn === x.urn));
    expect(added.map((x) => x.name).sort()).toEqual([
      "apply-10.25.11.21",
      "gate-10.25.11.21",
      "membership-10.25.11.21",
      "osupgrade-10.25.11.21",
    ]);
    const addedNamed = (name: string) => added.find((x) => x.name === name)!;
    const changed: string[] = [];
    for (const res of before.resources) {
      const same = after.resources.find((x) => x.urn === res.urn)!;
      if (JSON.stringify(same.inputs) !== JSON.stringify(res.inputs)) changed.push(res.name);
    }
    expect(changed.sort()).toEqual(["cluster-health", "cluster-ready"]);
    // The new apply waits behind the last control plane's gate; the new gate records on create.
    expect(addedNamed("apply-10.25.11.21").dependsOn).toContain(before.resources.find((x) => x.name === "gate-10.25.11.13")!.urn);
    expect(addedNamed("gate-10.25.11.21").inputs).toMatchObject({ waitOnCreate: false });
    // Its upgrade goes after the last control plane's (the batch before).
    expect(addedNamed("osupgrade-10.25.11.21").dependsOn).toContain(before.resources.find((x) => x.name === "osupgrade-10.25.11.13")!.urn);
  });

  it("removes a node through its membership (the apply only forgets); control planes' applies and memberships are protected unless removal is allowed", async () => {
    const r = await recordWith("infra", (c) => c.nodes.push(worker));
    const named = (rec: Recording, name: string) => rec.resources.find((x) => x.name === name)!;
    expect(named(r, "apply-10.25.11.21")).toMatchObject({
      protect: false,
      inputs: expect.objectContaining({ onDestroy: { reset: false, graceful: true, reboot: true } }),
    });
    expect(named(r, "membership-10.25.11.21")).toMatchObject({
      protect: false,
      inputs: expect.objectContaining({ role: "worker", nodeName: "infra-04" }),
    });
    // Deleted before its apply (reverse dependency order), so the machine is still configured when it drains.
    expect(named(r, "membership-10.25.11.21").dependsOn).toContain(named(r, "apply-10.25.11.21").urn);
    for (const name of ["apply-10.25.11.11", "membership-10.25.11.11"]) expect(named(r, name).protect).toBe(true);
    const allowed = await recordWith("infra", (c) => (c.talos.allowControlPlaneRemoval = true));
    for (const name of ["apply-10.25.11.11", "membership-10.25.11.11"]) expect(named(allowed, name).protect).toBe(false);
  });

  it("chains every membership in config order, so two removals never run at once (workers behind the control planes)", async () => {
    const r = await recordWith("infra", (c) =>
      c.nodes.push(worker, { ...worker, name: "infra-05", ip: "10.25.11.22", nics: { hardwareAddr: "aa:bb:cc:dd:ef:*" } }),
    );
    const urnOf = (name: string) => r.resources.find((x) => x.name === name)!.urn;
    const membership = (ip: string) => r.resources.find((x) => x.name === `membership-${ip}`)!;
    expect(membership("10.25.11.12").dependsOn).toContain(urnOf("membership-10.25.11.11"));
    expect(membership("10.25.11.13").dependsOn).toContain(urnOf("membership-10.25.11.12"));
    expect(membership("10.25.11.21").dependsOn).toContain(urnOf("membership-10.25.11.13"));
    expect(membership("10.25.11.22").dependsOn).toContain(urnOf("membership-10.25.11.21"));
    expect(membership("10.25.11.13").inputs).toMatchObject({
      controlPlanes: ["10.25.11.11", "10.25.11.12", "10.25.11.13"].map((ip) => ({ node: ip, endpoint: ip, port: 50000 })),
    });
    expect(membership("10.25.11.13").secretPaths).toEqual(expect.arrayContaining(["kubeconfig", "clientConfiguration"]));
    expect(membership("10.25.11.13").additionalSecretOutputs).toEqual(expect.arrayContaining(["kubeconfig", "clientConfiguration"]));
  });

  it("runs every OS upgrade before the first apply, control planes one after another, all behind the versions record", async () => {
    const r = await recordFixture({ stack: "infra" });
    const named = (name: string) => r.resources.find((x) => x.name === name)!;
    const upgrades = r.resources.filter((x) => x.name.startsWith("osupgrade-"));
    expect(upgrades.map((u) => u.name)).toEqual(["osupgrade-10.25.11.11", "osupgrade-10.25.11.12", "osupgrade-10.25.11.13"]);
    for (const u of upgrades) expect(u.dependsOn).toContain(named("versions").urn);
    expect(named("osupgrade-10.25.11.12").dependsOn).toContain(named("osupgrade-10.25.11.11").urn);
    expect(named("osupgrade-10.25.11.13").dependsOn).toContain(named("osupgrade-10.25.11.12").urn);
    expect(named("osupgrade-10.25.11.11").dependsOn).not.toContain(named("osupgrade-10.25.11.12").urn);
    expect(named("apply-10.25.11.11").dependsOn).toEqual(expect.arrayContaining(upgrades.map((u) => u.urn)));
    expect(named("osupgrade-10.25.11.12").inputs).toMatchObject({
      targetVersion: "v1.11.6",
      image: "factory.talos.dev/metal-installer/(schematic id):v1.11.6",
      nodeName: "infra-02",
      role: "controlplane",
    });
    expect(named("osupgrade-10.25.11.12").secretPaths).toEqual(expect.arrayContaining(["kubeconfig", "clientConfiguration"]));
    // The gates check Kubernetes too, with the same credential, kept secret.
    expect(named("gate-10.25.11.12").inputs).toMatchObject({ kubernetes: { nodeName: "infra-02", version: "v1.34.1" } });
    expect(named("gate-10.25.11.12").secretPaths).toContain("kubernetes.kubeconfig");
    expect(named("versions").inputs).toMatchObject({
      file: "Pulumi.infra.yaml",
      talosVersion: "v1.11.6",
      kubernetesVersion: "v1.34.1",
      kubernetesRange: { min: "1.29", max: "1.34" },
    });
  });

  it("signs the lifecycle credential with the cluster's Kubernetes CA, for its own narrowly bound user", async () => {
    const r = await recordFixture({ stack: "infra" });
    const named = (name: string) => r.resources.find((x) => x.name === name)!;
    expect(named("lifecycle-csr").inputs).toMatchObject({
      subject: { commonName: "talos-gitops:lifecycle", organization: "talos-gitops:lifecycle" },
    });
    expect(named("lifecycle-cert").inputs).toMatchObject({
      validityPeriodHours: 2160,
      earlyRenewalHours: 1440,
      allowedUses: ["client_auth", "digital_signature", "key_encipherment"],
    });
    expect(named("lifecycle-cert").secretPaths).toContain("caPrivateKeyPem");
  });

  it("a Talos or Kubernetes version change is an in-place input change of the same resources, and every wait runs again", async () => {
    const before = await recordFixture({ stack: "infra" });
    const after = await recordWith("infra", (c) => (c.talos.kubernetesVersion = "v1.34.2"));
    expect(after.resources.map((x) => x.urn)).toEqual(before.resources.map((x) => x.urn));
    const fingerprint = (rec: Recording, name: string) =>
      (rec.resources.find((x) => x.name === name)!.inputs as Record<string, unknown>).fingerprint;
    for (const name of ["gate-10.25.11.11", "gate-10.25.11.12", "gate-10.25.11.13", "cluster-ready", "cluster-health"])
      expect({ name, same: fingerprint(after, name) === fingerprint(before, name) }).toEqual({ name, same: false });
    const invoke = after.invokes.find((i) => i.token === "talos:machine/getConfiguration:getConfiguration")!;
    expect(invoke.args).toMatchObject({ kubernetesVersion: "v1.34.2" });
  });
});
