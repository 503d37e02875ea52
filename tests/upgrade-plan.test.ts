import {
  checkKubernetesUpgrade,
  checkOsUpgradeStep,
  configContractAfter,
  upgradeDependencies,
  upgradePlan,
  type PlanNode,
} from "../components/talos/lifecycle/upgradePlan";

const nodes: PlanNode[] = [
  { name: "cp1", role: "controlplane" },
  { name: "w1", role: "worker" },
  { name: "cp2", role: "controlplane" },
  { name: "w2", role: "worker" },
  { name: "cp3", role: "controlplane" },
  { name: "w3", role: "worker" },
];

describe("upgradePlan", () => {
  it("takes control planes one at a time, in order, then workers in batches of maxUnavailableWorkers", () => {
    expect(upgradePlan(nodes, { maxUnavailableWorkers: 2 })).toEqual([
      { role: "controlplane", nodes: ["cp1"] },
      { role: "controlplane", nodes: ["cp2"] },
      { role: "controlplane", nodes: ["cp3"] },
      { role: "worker", nodes: ["w1", "w2"] },
      { role: "worker", nodes: ["w3"] },
    ]);
    expect(upgradePlan(nodes, { maxUnavailableWorkers: 5 }).slice(3)).toEqual([{ role: "worker", nodes: ["w1", "w2", "w3"] }]);
  });

  it("makes each node wait for the whole previous batch", () => {
    const waits = upgradeDependencies(upgradePlan(nodes, { maxUnavailableWorkers: 2 }));
    expect(Object.fromEntries(waits)).toEqual({ cp1: [], cp2: ["cp1"], cp3: ["cp2"], w1: ["cp3"], w2: ["cp3"], w3: ["w1", "w2"] });
  });

  it("refuses a batch size below one and duplicate names", () => {
    expect(() => upgradePlan(nodes, { maxUnavailableWorkers: 0 })).toThrow("maxUnavailableWorkers must be a positive integer, got 0");
    expect(() => upgradePlan([...nodes, { name: "w1", role: "worker" }], { maxUnavailableWorkers: 1 })).toThrow("node w1 appears twice");
  });
});

describe("Talos version steps", () => {
  it.each([
    ["v1.12.11", "v1.13.0", true],
    ["v1.12.3", "v1.12.11", true],
    ["v1.13.9", "v1.13.9", true],
    ["v1.11.6", "v1.13.0", false],
    ["v1.13.0", "v1.12.11", false],
    ["v1.13.2", "v1.13.1", false],
    ["v1.13.0", "v2.0.0", false],
  ])("%s → %s allowed: %s", (from, to, allowed) => {
    expect(checkOsUpgradeStep(from, to).allowed).toBe(allowed);
  });

  it("names the skipped minors", () => {
    expect(checkOsUpgradeStep("v1.10.0", "v1.13.0")).toEqual({
      allowed: false,
      reason: "v1.10.0 → v1.13.0 skips v1.11, v1.12: upgrade one minor at a time",
    });
  });
});

describe("configContractAfter", () => {
  it("stays on the lowest minor any node runs, and moves once every node runs the new one", () => {
    expect(configContractAfter(["v1.13.0", "v1.12.11", "v1.13.0"])).toBe("v1.12");
    expect(configContractAfter(["v1.13.0", "v1.13.2", "v1.13.0"])).toBe("v1.13");
    expect(() => configContractAfter([])).toThrow("no observed versions");
  });
});

describe("checkKubernetesUpgrade", () => {
  // Talos 1.13 supports Kubernetes 1.31 to 1.36 (siderolabs/talos pkg/machinery/compatibility/talos113).
  const talos113 = { min: "1.31", max: "1.36" };

  it.each([
    ["v1.34.1", "v1.35.0", true],
    ["v1.34.1", "v1.34.3", true],
    ["v1.34.1", "v1.36.0", false],
    ["v1.35.0", "v1.34.1", false],
    ["v1.36.2", "v1.37.0", false],
    ["v1.30.4", "v1.30.9", false],
  ])("%s → %s within 1.31–1.36 allowed: %s", (from, to, allowed) => {
    expect(checkKubernetesUpgrade(from, to, talos113).allowed).toBe(allowed);
  });

  it("says why", () => {
    expect(checkKubernetesUpgrade("v1.34.1", "v1.36.0", talos113)).toEqual({
      allowed: false,
      reason: "Kubernetes v1.34.1 → v1.36.0 skips a minor: upgrade one minor at a time",
    });
    expect(checkKubernetesUpgrade("v1.36.2", "v1.37.0", talos113)).toEqual({
      allowed: false,
      reason: "Kubernetes v1.37.0 is outside the range the target Talos supports (1.31 to 1.36)",
    });
  });
});
