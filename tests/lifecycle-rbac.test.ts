import { createKubernetesClient, lifecycleRules, lifecycleUser, type KubernetesClient } from "../components/kubernetesApi";
import { drainNode } from "../components/talos/lifecycle/drain";
import { waitForKubernetesComponents } from "../components/talos/lifecycle/kubernetesComponents";
import { removeNode } from "../components/talos/lifecycle/nodeRemoval";
import { upgradeNode } from "../components/talos/lifecycle/osUpgrade";
import { createMachineClient, type ClientConfiguration, type MachineClient } from "../components/talos/machineApi";
import type { Recording } from "../plan/record/harness";
import { FakeKubernetesApi } from "./fakes/kubernetesApi";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { FakeTalosApi, workerState } from "./fakes/talosApi";
import { recordFixture } from "./support";

/**
 * The lifecycle credential's ClusterRole grants exactly what the client calls: every flow that uses
 * it (OS upgrade with its drain, node removal, the components wait) runs against an API server that
 * authorizes by those rules, none is refused, and every rule is used. And the program binds that role
 * to the certificate's user, which is not system:masters, without the lifecycle resources waiting for it.
 */

const granted = new Set(
  lifecycleRules.flatMap((rule) => rule.resources.flatMap((resource) => rule.verbs.map((verb) => `${verb} ${resource}`))),
);

let pki: TestPki;
let clientConfiguration: ClientConfiguration;
const fakes: FakeTalosApi[] = [];
const clients: MachineClient[] = [];

beforeAll(() => {
  pki = createTestPki();
  clientConfiguration = clientConfigurationOf(pki);
});

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await Promise.all(fakes.splice(0).map((fake) => fake.stop()));
});

async function worker(name: string, version: string): Promise<MachineClient> {
  const fake = await FakeTalosApi.start({ pki, state: { ...workerState(version), hostname: name } });
  fake.rebootScript = { answerOldBootMs: 100, downMs: 300 };
  fakes.push(fake);
  const client = createMachineClient({
    endpoint: "127.0.0.1",
    port: fake.port,
    clientConfiguration,
    callTimeoutMs: 10_000,
    reconnectBackoffMs: { initial: 50, max: 200 },
    backoff: { initialMs: 50, maxMs: 200, factor: 2 },
  });
  clients.push(client);
  return Object.assign(Object.create(client) as MachineClient, { node: name });
}

describe("the lifecycle ClusterRole against what the client calls", () => {
  it("upgrade, removal and the components wait need every granted verb and nothing else", async () => {
    const kube = await FakeKubernetesApi.start(pki, { rules: [...lifecycleRules] });
    try {
      const api: KubernetesClient = createKubernetesClient({ kubeconfig: kube.kubeconfig(pki), retryForMs: 0, callTimeoutMs: 5000 });
      const w1 = await worker("w1", "v1.13.0");
      kube.addNode("w1", "v1.35.0");
      kube.addPod({ namespace: "db", name: "pg-0", nodeName: "w1", owner: "StatefulSet", budget: { name: "pg", blocks: 1 } });
      await upgradeNode(
        { talos: w1, kube: api },
        {
          node: "w1",
          nodeName: "w1",
          role: "worker",
          image: `factory.talos.dev/metal-installer/${"a".repeat(64)}:v1.13.9`,
          targetVersion: "v1.13.9",
          timeoutMs: 10_000,
          drainTimeoutMs: 5_000,
          intervalMs: 50,
        },
      );

      const w2 = await worker("w2", "v1.13.9");
      kube.addNode("w2", "v1.35.0");
      kube.addPod({ namespace: "app", name: "web-1", nodeName: "w2", owner: "ReplicaSet" });
      await removeNode(
        { kube: api, talos: w2, controlPlanes: [] },
        { nodeName: "w2", node: "w2", role: "worker", drain: { timeoutMs: 5_000 }, resetTimeoutMs: 5_000 },
      );

      kube.addNode("cp1", "v1.35.0", { role: "controlplane" });
      for (const c of ["kube-apiserver", "kube-controller-manager", "kube-scheduler"])
        kube.setContainer("kube-system", `${c}-cp1`, { name: c, image: `registry.k8s.io/${c}:v1.35.0`, ready: true });
      await waitForKubernetesComponents(api, { nodeName: "cp1", role: "controlplane", version: "v1.35.0", timeoutMs: 5000 });

      expect(kube.requests.filter((r) => r.user === undefined)).toEqual([]);
      expect([...kube.authorized].sort()).toEqual([...granted].sort());
    } finally {
      await kube.stop();
    }
  }, 60_000);

  it("the fake refuses what the role does not grant, with RBAC's 403 naming the user", async () => {
    const withoutEviction = lifecycleRules.filter((rule) => !rule.resources.includes("pods/eviction"));
    const kube = await FakeKubernetesApi.start(pki, { rules: withoutEviction });
    try {
      kube.addNode("w1");
      kube.addPod({ namespace: "app", name: "web-1", nodeName: "w1", owner: "ReplicaSet" });
      const api = createKubernetesClient({ kubeconfig: kube.kubeconfig(pki), retryForMs: 0, callTimeoutMs: 5000 });
      await expect(drainNode(api, "w1", { timeoutMs: 5000 })).rejects.toThrow(
        "evict pod app/web-1 (https://127.0.0.1:" +
          `${kube.port}): 403 Forbidden: pods "web-1" is forbidden: User "admin" cannot create resource "pods" subresource "eviction" in API group "" in the namespace "app"; w1 uncordoned again (nothing was taken down)`,
      );
    } finally {
      await kube.stop();
    }
  });
});

describe("the program's lifecycle identity", () => {
  let recording: Recording;
  beforeAll(async () => {
    recording = await recordFixture({ stack: "infra" });
    if (recording.error) throw recording.error;
  });
  const named = (type: string) => recording.resources.filter((r) => r.type === type);

  it("binds the ClusterRole with exactly those rules to the certificate's user, which is not system:masters", () => {
    const [role] = named("kubernetes:rbac.authorization.k8s.io/v1:ClusterRole").filter((r) => r.name === "lifecycle");
    const [binding] = named("kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding").filter((r) => r.name === "lifecycle");
    expect(recording.plainInputs(role.urn)).toMatchObject({ metadata: { name: lifecycleUser }, rules: lifecycleRules });
    expect(recording.plainInputs(binding.urn)).toMatchObject({
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: lifecycleUser },
      subjects: [{ apiGroup: "rbac.authorization.k8s.io", kind: "User", name: lifecycleUser }],
    });
    const csr = recording.resources.find((r) => r.name === "lifecycle-csr")!;
    expect(csr.inputs).toMatchObject({ subject: { commonName: lifecycleUser, organization: lifecycleUser } });
    expect(JSON.stringify(csr.inputs)).not.toContain("system:masters");
    expect(recording.resources.find((r) => r.name === "lifecycle-cert")!.inputs).toMatchObject({
      validityPeriodHours: 24 * 90,
      earlyRenewalHours: 24 * 60,
    });
  });

  it("no lifecycle resource waits for the RBAC objects (they need the cluster; the lifecycle runs before the applies)", () => {
    const rbac = new Set(
      recording.resources
        .filter((r) => r.type.startsWith("kubernetes:rbac.authorization.k8s.io/v1:") && r.name === "lifecycle")
        .map((r) => r.urn),
    );
    expect(rbac.size).toBe(2);
    const byUrn = new Map(recording.resources.map((r) => [r.urn, r]));
    const lifecycle = recording.resources.filter((r) => /^pulumi-nodejs:dynamic\/talos:(OsUpgrade|NodeGate|NodeMembership)$/.test(r.type));
    expect(lifecycle.length).toBeGreaterThan(0);
    const reached = new Set<string>();
    const visit = (urn: string) => {
      if (reached.has(urn)) return;
      reached.add(urn);
      const r = byUrn.get(urn);
      for (const next of r?.dependsOn ?? []) visit(next);
      // Waiting for a component is waiting for its children.
      if (r && !r.custom) for (const child of recording.resources.filter((c) => c.parent === urn)) visit(child.urn);
    };
    for (const r of lifecycle) visit(r.urn);
    expect([...reached].filter((urn) => rbac.has(urn))).toEqual([]);
  });
});
