import { applyType, clusterHealthType, clusterReadyType, nodeGateType, simulateBringUp, withoutRollingChain } from "../plan/model/bringUp";
import type { RecordedResource, Recording } from "../plan/record/harness";
import { talosTimeouts } from "../components/talos/talosCluster";
import { contract } from "../components/talos/provider";
import { readContract, recordFixture, recordWith, type RawCluster } from "./support";

/**
 * Applies and gates are named by address (`apply-<ip>`); these tests read better by node name, so a
 * resource is labelled `apply-<node>` / `gate-<node>` through the stack's `nodes` output.
 */
const label = (r: Recording, x: RecordedResource): string => {
  if (x.type !== applyType && x.type !== nodeGateType) return x.name;
  const nodes = (r.plainOutputs() as { nodes: Array<{ name: string; ip: string }> }).nodes;
  const ip = String((r.plainInputs(x.urn) as { node: string }).node);
  return `${x.type === applyType ? "apply" : "gate"}-${nodes.find((n) => n.ip === ip)?.name ?? ip}`;
};
const named = (r: Recording, name: string): RecordedResource => {
  const found = r.resources.find((x) => label(r, x) === name);
  if (!found) throw new Error(`no resource ${name}`);
  return found;
};
const ofType = (r: Recording, type: string) => r.resources.filter((x) => x.type === type);
const names = (r: Recording, urns: readonly string[]) =>
  urns.map((u) => {
    const x = r.resources.find((y) => y.urn === u);
    return x ? label(r, x) : u;
  });

/** `count` workers appended to a fixture, on free addresses of its node network. */
function withWorkers(count: number, maxUnavailableWorkers?: number) {
  return (c: RawCluster) => {
    const template = c.nodes[0];
    for (let i = 1; i <= count; i++)
      c.nodes.push({
        ...template,
        name: `infra-w${i}`,
        ip: `10.25.11.${30 + i}`,
        role: "worker",
        nics: { hardwareAddr: `aa:bb:cc:dd:0${i}:*` },
      });
    if (maxUnavailableWorkers !== undefined) c.talos.rollout = { maxUnavailableWorkers };
  };
}

/** Which gates each apply waits for, by apply name → gate names. */
function gateEdges(r: Recording): Record<string, string[]> {
  const gates = new Set(ofType(r, nodeGateType).map((g) => g.urn));
  return Object.fromEntries(
    ofType(r, applyType).map((a) => [
      label(r, a),
      names(
        r,
        a.dependsOn.filter((d) => gates.has(d)),
      ).sort(),
    ]),
  );
}

describe("rolling chain, fixture infra (3 control planes)", () => {
  let r: Recording;
  beforeAll(async () => {
    r = await recordFixture({ stack: "infra" });
    if (r.error) throw r.error;
  });

  it("chains the control-plane applies through the gates, in config order, never apply on apply", () => {
    expect(gateEdges(r)).toEqual({ "apply-infra-01": [], "apply-infra-02": ["gate-infra-01"], "apply-infra-03": ["gate-infra-02"] });
    const applies = new Set(ofType(r, applyType).map((a) => a.urn));
    for (const apply of ofType(r, applyType)) expect(apply.dependsOn.filter((d) => applies.has(d))).toEqual([]);
  });

  it("gives every node one rolling gate behind its apply, fed the apply's resolved mode, not waiting on create", () => {
    for (const gate of ofType(r, nodeGateType)) {
      const node = label(r, gate).replace(/^gate-/, "");
      const apply = named(r, `apply-${node}`);
      expect(gate.dependsOn).toContain(apply.urn);
      expect(gate.propertyDependencies.applyMode).toEqual([apply.urn]);
      expect(gate.inputs).toMatchObject({
        node: (apply.inputs as Record<string, unknown>).node,
        waitOnCreate: false,
        // The offline model resolves `auto` as the provider does.
        applyMode: "auto",
        fingerprint: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
        timeoutSeconds: talosTimeouts.gateSeconds,
      });
      // The os:reader certificate for reads, the admin one for the boot-id read (admin-only upstream).
      expect(gate.secretPaths).toEqual(["clientConfiguration", "kubernetes.kubeconfig", "readerConfiguration"]);
    }
  });

  it("waits for every node (ClusterReady) after the bootstrap and every gate, and the kubeconfig waits for it", () => {
    const ready = ofType(r, clusterReadyType);
    expect(ready).toHaveLength(1);
    // Its only credential is the os:reader certificate (it only reads), signed from the machine secrets.
    expect(names(r, ready[0]!.dependsOn).sort()).toEqual([
      "bootstrap",
      "gate-infra-01",
      "gate-infra-02",
      "gate-infra-03",
      "secrets",
      "talos-reader-cert",
      "talos-reader-key",
    ]);
    expect(ready[0]!.secretPaths).toEqual(["clientConfiguration"]);
    const provider = r.resources.find((x) => x.type === "pulumi:providers:kubernetes")!;
    expect(provider.dependsOn).toContain(ready[0]!.urn);
  });

  it("runs the full health check as a resource after Cilium and ClusterReady; CoreDNS and Spegel depend on it", () => {
    const health = ofType(r, clusterHealthType);
    expect(health).toHaveLength(1);
    expect(names(r, health[0]!.dependsOn).sort()).toEqual(["cilium", "cluster-ready", "secrets"]);
    expect(health[0]!.inputs).toMatchObject({ controlPlaneNodes: ["10.25.11.11", "10.25.11.12", "10.25.11.13"], workerNodes: [] });
    expect(health[0]!.secretPaths).toEqual(["clientConfiguration"]);
    for (const release of ["coredns", "spegel"]) {
      const found = r.resources.find((x) => x.type === "kubernetes:helm.sh/v3:Release" && x.name === release)!;
      expect(found.dependsOn).toContain(health[0]!.urn);
    }
  });

  it("records no getHealth invoke: a no-op run has no invoke that waits", () => {
    expect(r.invokes.map((i) => i.token).filter((t) => /health/i.test(t))).toEqual([]);
    expect([...new Set(r.invokes.map((i) => i.token).filter((t) => t.startsWith("talos:")))].sort()).toEqual([
      "talos:client/getConfiguration:getConfiguration",
      "talos:imageFactory/getUrls:getUrls",
      "talos:machine/getConfiguration:getConfiguration",
    ]);
  });

  it("passes each Talos resource its own timeouts (keys the schema allows), and no customTimeouts", () => {
    const schema = readContract<{
      resources: Record<string, { inputProperties: Record<string, { $ref?: string }> }>;
      types: Record<string, { properties: Record<string, unknown> }>;
    }>("pulumi-talos/schema.v0.8.1.json");
    const expected: Record<string, object> = {
      "talos:machine/configurationApply:ConfigurationApply": talosTimeouts.apply,
      "talos:machine/bootstrap:Bootstrap": talosTimeouts.bootstrap,
      "talos:cluster/kubeconfig:Kubeconfig": talosTimeouts.kubeconfig,
    };
    for (const res of r.resources.filter((x) => x.type.startsWith("talos:"))) {
      expect({ name: res.name, customTimeouts: res.customTimeouts }).toEqual({ name: res.name, customTimeouts: undefined });
      const timeouts = (res.inputs as Record<string, unknown>).timeouts;
      expect({ name: res.name, timeouts }).toEqual({ name: res.name, timeouts: expected[res.type] });
      if (!timeouts) continue;
      const ref = schema.resources[res.type]!.inputProperties.timeouts!.$ref!.replace(/^#\/types\//, "");
      const allowed = Object.keys(schema.types[ref]!.properties);
      const bound = contract.resources.find((c) => c.token === res.type)!.timeouts!;
      expect(Object.keys(timeouts).filter((k) => !bound.includes(k) || !allowed.includes(k))).toEqual([]);
    }
  });
});

describe("worker batches", () => {
  it.each([
    [1, [["infra-w1"], ["infra-w2"], ["infra-w3"], ["infra-w4"], ["infra-w5"], ["infra-w6"]]],
    [
      3,
      [
        ["infra-w1", "infra-w2", "infra-w3"],
        ["infra-w4", "infra-w5", "infra-w6"],
      ],
    ],
  ])(
    "maxUnavailableWorkers %i: each batch waits for every gate of the batch before, batch 0 for the last control plane",
    async (max, batches) => {
      const r = await recordWith("infra", withWorkers(6, max));
      if (r.error) throw r.error;
      const edges = gateEdges(r);
      let previous = ["gate-infra-03"];
      for (const batch of batches) {
        for (const node of batch) expect({ node, waits: edges[`apply-${node}`] }).toEqual({ node, waits: previous.slice().sort() });
        previous = batch.map((n) => `gate-${n}`);
      }
      const health = ofType(r, clusterHealthType)[0]!;
      expect((health.inputs as Record<string, unknown>).workerNodes).toEqual(batches.flat().map((_, i) => `10.25.11.${31 + i}`));
    },
  );

  it("defaults to one worker at a time", async () => {
    const r = await recordWith("infra", withWorkers(2));
    expect(gateEdges(r)["apply-infra-w2"]).toEqual(["gate-infra-w1"]);
  });

  it("rejects maxUnavailableWorkers below 1", async () => {
    const r = await recordWith("infra", withWorkers(2, 0));
    expect(r.error?.message).toMatch(/maxUnavailableWorkers/);
  });
});

describe("bring-up cost of the chain", () => {
  it.each([3, 9])("%i control planes: the critical path with gates is within 5%% of the same graph without the chain", async (count) => {
    const r = await recordWith("infra", (c) => {
      const template = c.nodes[0];
      c.nodes = Array.from({ length: count }, (_, i) => ({
        ...template,
        name: `infra-${String(i + 1).padStart(2, "0")}`,
        // .11–.13, then .41+ (.14–.16 are the apps cluster's nodes, which ClusterMesh's check refuses).
        ip: `10.25.11.${i < 3 ? 11 + i : 38 + i}`,
        role: "controlplane",
        nics: { hardwareAddr: `aa:bb:cc:dd:ee:${String(i).padStart(2, "0")}` },
      }));
    });
    if (r.error) throw r.error;
    const chained = simulateBringUp(r.resources);
    const parallel = simulateBringUp(withoutRollingChain(r.resources));
    // The cut graph really is parallel: no apply waits for a gate.
    expect(Object.values(gateEdges({ ...r, resources: withoutRollingChain(r.resources) })).flat()).toEqual([]);
    expect(chained.criticalPathSeconds).toBeGreaterThanOrEqual(parallel.criticalPathSeconds);
    expect(chained.criticalPathSeconds / parallel.criticalPathSeconds).toBeLessThanOrEqual(1.05);
    expect(chained.path).toEqual(expect.arrayContaining(["cluster-ready", "cluster-health"]));
  });
});
