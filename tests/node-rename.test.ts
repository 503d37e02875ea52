import { lifecycleRules } from "../components/kubernetesApi";
import { nodeMembershipProvider, renameUpdate, type MembershipInputs } from "../components/talos/lifecycle/nodeMembershipProvider";
import { FakeKubernetesApi } from "./fakes/kubernetesApi";
import { clientConfigurationOf, createTestPki, type TestPki } from "./fakes/pki";
import { virtualClock } from "./fakes/virtualClock";

/**
 * A node renamed at the same address (issue #26): the membership's update deletes the Node object of
 * the old name once the new one is Ready, against the Kubernetes API fake with the lifecycle identity's
 * RBAC rules, the waits on a virtual clock.
 */

let pki: TestPki;
let kube: FakeKubernetesApi;

beforeAll(() => {
  pki = createTestPki();
});

beforeEach(async () => {
  kube = await FakeKubernetesApi.start(pki, { rules: [...lifecycleRules] });
});

afterEach(async () => {
  await kube.stop();
});

/** The membership of 10.25.11.13 as it was recorded under `oldName` (old outputs) and is registered under `newName`. */
function membership(oldName: string, newName: string): { olds: MembershipInputs; news: MembershipInputs } {
  const news: MembershipInputs = {
    nodeName: newName,
    node: "10.25.11.13",
    endpoint: "10.25.11.13",
    port: 50000,
    role: "controlplane",
    controlPlanes: [{ node: "10.25.11.13", endpoint: "10.25.11.13", port: 50000 }],
    kubeconfig: kube.kubeconfig(pki),
    clientConfiguration: clientConfigurationOf(pki),
    drainTimeoutSeconds: 600,
    deleteEmptyDirData: true,
    force: true,
    allowBelowMajority: false,
    resetTimeoutSeconds: 600,
    renameTimeoutSeconds: 1200,
  };
  return { olds: nodeMembershipProvider.outputsOf({ ...news, nodeName: oldName }), news };
}

/** A shorter wait than the stack's 1200 s: the failures poll the fake every 5 s of virtual time until it passes. */
const short = (news: MembershipInputs): MembershipInputs => ({ ...news, renameTimeoutSeconds: 60 });
const newNode = "GET /api/v1/nodes/infra-09";
const oldNode = "GET /api/v1/nodes/infra-03";

describe("NodeMembership update after a rename (same IP)", () => {
  it("deletes the old Node only once the new one is Ready and no kubelet posts the old one", async () => {
    kube.addNode("infra-03", "v1.35.0", { role: "controlplane" });
    // The kubelet restarts under the new hostname: its Node appears NotReady, then turns Ready; the
    // old Node reads Ready (its last post) until the node lifecycle controller marks it Unknown.
    let polls = 0;
    kube.onRequest = (r) => {
      if (r.method !== "GET" || r.path !== "/api/v1/nodes/infra-09") return;
      polls++;
      if (polls === 2) kube.addNode("infra-09", "v1.35.0", { role: "controlplane", ready: false });
      if (polls === 3) kube.setNodeReady("infra-09", true);
      if (polls === 5) kube.stopPosting("infra-03");
    };
    const clock = virtualClock();
    const { olds, news } = membership("infra-03", "infra-09");
    const lines: string[] = [];

    await expect(renameUpdate(olds, news, { clock, log: (line) => lines.push(line) })).resolves.toBe("deleted");
    // No Node, NotReady, then Ready with the old one still posted twice; the delete only after it reads Unknown.
    expect(kube.calls()).toEqual([...Array.from({ length: 5 }, () => [newNode, oldNode]).flat(), "DELETE /api/v1/nodes/infra-03"]);
    expect(clock.slept).toEqual([5000, 5000, 5000, 5000]);
    expect(kube.nodes.has("infra-03")).toBe(false);
    expect(kube.nodes.get("infra-09")?.ready).toBe(true);
    expect(lines).toEqual(["rename infra-03 → infra-09 (10.25.11.13): Node infra-09 is Ready; Node infra-03 deleted"]);
  });

  it("fails naming both names when the new Node never gets Ready, and keeps the old one", async () => {
    kube.addNode("infra-03", "v1.35.0", { role: "controlplane" });
    kube.stopPosting("infra-03");
    kube.addNode("infra-09", "v1.35.0", { role: "controlplane", bare: true });
    kube.setNodeReady("infra-09", false, "container runtime network not ready: NetworkReady=false");
    const clock = virtualClock();
    const { olds, news } = membership("infra-03", "infra-09");

    await expect(renameUpdate(olds, short(news), { clock })).rejects.toThrow(
      "rename infra-03 → infra-09 (10.25.11.13): Node infra-09 not Ready (Ready=False KubeletNotReady: container runtime network not ready: NetworkReady=false) after 60s; " +
        "Node infra-03 is kept (once infra-09 is Ready and infra-03 Unknown, run pulumi up again or kubectl delete node infra-03)",
    );
    expect(kube.nodes.has("infra-03")).toBe(true);
    expect(kube.calls().filter((c) => c.startsWith("DELETE"))).toEqual([]);
    expect(clock.now()).toBe(60_000);
  });

  it("fails the same way when no Node of the new name ever appears", async () => {
    kube.addNode("infra-03", "v1.35.0", { role: "controlplane" });
    const { olds, news } = membership("infra-03", "infra-09");
    await expect(renameUpdate(olds, short(news), { clock: virtualClock() })).rejects.toThrow(
      "rename infra-03 → infra-09 (10.25.11.13): no Node infra-09; Node infra-03 is still posted by a kubelet (Ready=True KubeletReady) after 60s; Node infra-03 is kept",
    );
    expect(kube.nodes.has("infra-03")).toBe(true);
  });

  it("never deletes the old Node while a kubelet still posts it, even with the new one Ready", async () => {
    kube.addNode("infra-03", "v1.35.0", { role: "controlplane" });
    kube.setNodeReady("infra-03", false, "PLEG is not healthy");
    kube.addNode("infra-09", "v1.35.0", { role: "controlplane" });
    const { olds, news } = membership("infra-03", "infra-09");
    await expect(renameUpdate(olds, short(news), { clock: virtualClock() })).rejects.toThrow(
      "rename infra-03 → infra-09 (10.25.11.13): Node infra-03 is still posted by a kubelet (Ready=False KubeletNotReady) after 60s; Node infra-03 is kept",
    );
    expect(kube.calls().filter((c) => c.startsWith("DELETE"))).toEqual([]);
  });

  it("succeeds when the old Node is already gone (404)", async () => {
    kube.addNode("infra-09", "v1.35.0", { role: "controlplane" });
    const { olds, news } = membership("infra-03", "infra-09");
    await expect(renameUpdate(olds, news, { clock: virtualClock() })).resolves.toBe("already gone");
    expect(kube.calls()).toEqual([newNode, oldNode]);
  });

  it("succeeds when the old Node goes between the read and the delete (the delete's 404)", async () => {
    kube.addNode("infra-03", "v1.35.0", { role: "controlplane" });
    kube.stopPosting("infra-03");
    kube.addNode("infra-09", "v1.35.0", { role: "controlplane" });
    // Someone runs kubectl delete node infra-03 just before the program does.
    kube.onRequest = (r) => r.method === "DELETE" && kube.nodes.delete("infra-03");
    const { olds, news } = membership("infra-03", "infra-09");
    await expect(renameUpdate(olds, news, { clock: virtualClock() })).resolves.toBe("already gone");
    expect(kube.calls()).toEqual([newNode, oldNode, "DELETE /api/v1/nodes/infra-03"]);
  });

  it("calls nothing when the name did not change (any other update only records)", async () => {
    kube.addNode("infra-03", "v1.35.0", { role: "controlplane" });
    const { olds, news } = membership("infra-03", "infra-03");
    await expect(renameUpdate(olds, { ...news, drainTimeoutSeconds: 300 }, { clock: virtualClock() })).resolves.toBeUndefined();
    await nodeMembershipProvider.update!("membership-10.25.11.13", olds, { ...news, drainTimeoutSeconds: 300 });
    expect(kube.requests).toEqual([]);
  });

  it("is what the provider's update runs, with the old outputs the engine hands it", async () => {
    kube.addNode("infra-03", "v1.35.0", { role: "controlplane" });
    kube.stopPosting("infra-03");
    kube.addNode("infra-09", "v1.35.0", { role: "controlplane" });
    const { olds, news } = membership("infra-03", "infra-09");
    const log = jest.spyOn(console, "log").mockImplementation(() => undefined);
    try {
      const result = await nodeMembershipProvider.update!("membership-10.25.11.13", olds, news);
      expect(result.outs).toMatchObject({ nodeName: "infra-09" });
    } finally {
      log.mockRestore();
    }
    expect(kube.nodes.has("infra-03")).toBe(false);
    expect(kube.calls()).toEqual([newNode, oldNode, "DELETE /api/v1/nodes/infra-03"]);
    // The diff reports the rename as an update, never a replacement (that would drain and reset the node).
    await expect(nodeMembershipProvider.diff!("membership-10.25.11.13", olds, news)).resolves.toEqual({ changes: true, replaces: [] });
  });
});
