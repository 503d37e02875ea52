import { createKubernetesClient } from "../components/kubernetesApi";
import { componentsBehind, imageTag, waitForKubernetesComponents } from "../components/talos/lifecycle/kubernetesComponents";
import type { Clock } from "../components/talos/machineApi";
import { FakeKubernetesApi } from "./fakes/kubernetesApi";
import { createTestPki, type TestPki } from "./fakes/pki";

/** A gate's Kubernetes check after a version change: kubelet and control-plane static pods, over HTTPS. */

function virtualClock(onSleep: (now: number) => void = () => undefined): Clock {
  let now = 0;
  return {
    now: () => now,
    sleep: async (ms) => {
      now += ms;
      onSleep(now);
      await new Promise((resolve) => setImmediate(resolve));
    },
  };
}

const image = (component: string, tag: string) => `registry.k8s.io/${component}:${tag}`;
const components = ["kube-apiserver", "kube-controller-manager", "kube-scheduler"];

describe("imageTag", () => {
  it("reads the tag, ignoring a digest and a registry port", () => {
    expect(imageTag("registry.k8s.io/kube-apiserver:v1.35.0")).toBe("v1.35.0");
    expect(imageTag("registry.k8s.io/kube-apiserver:v1.35.0@sha256:abc")).toBe("v1.35.0");
    expect(imageTag("localhost:5000/kube-apiserver")).toBeUndefined();
    expect(imageTag("localhost:5000/kube-apiserver:v1.35.1")).toBe("v1.35.1");
  });
});

describe("componentsBehind", () => {
  const ready = [{ type: "Ready", status: "True", reason: "KubeletReady", message: "kubelet is posting ready status" }];
  const node = (kubeletVersion?: string) => ({
    metadata: { name: "cp1" },
    status: { conditions: ready, ...(kubeletVersion ? { nodeInfo: { kubeletVersion } } : {}) },
  });
  const pod = (component: string, tag: string, ready = true) => ({
    metadata: { name: `${component}-cp1`, namespace: "kube-system" },
    spec: { containers: [{ name: component, image: image(component, tag) }] },
    status: { containerStatuses: [{ name: component, ready }] },
  });
  const allPods = (tag: string) => Object.fromEntries(components.map((c) => [c, pod(c, tag)]));

  it("a worker is judged by its kubelet only (with or without the v)", () => {
    expect(componentsBehind("worker", "w1", "v1.35.0", { node: node("v1.35.0"), pods: {} })).toEqual([]);
    expect(componentsBehind("worker", "w1", "1.35.0", { node: node("v1.35.0"), pods: {} })).toEqual([]);
    expect(componentsBehind("worker", "w1", "v1.35.0", { node: node("v1.34.1"), pods: {} })).toEqual(["kubelet runs v1.34.1"]);
    expect(componentsBehind("worker", "w1", "v1.35.0", { node: node(), pods: {} })).toEqual(["kubelet runs an unknown version"]);
    expect(componentsBehind("worker", "w1", "v1.35.0", { pods: {} })).toEqual(["no Node w1"]);
  });

  it("a control plane also needs its three static pods on the version and ready", () => {
    expect(componentsBehind("controlplane", "cp1", "v1.35.0", { node: node("v1.35.0"), pods: allPods("v1.35.0") })).toEqual([]);
    expect(
      componentsBehind("controlplane", "cp1", "v1.35.0", {
        node: node("v1.35.0"),
        pods: {
          ...allPods("v1.35.0"),
          "kube-scheduler": pod("kube-scheduler", "v1.34.1"),
          "kube-apiserver": pod("kube-apiserver", "v1.35.0", false),
        },
      }),
    ).toEqual(["kube-apiserver not ready", "kube-scheduler runs v1.34.1"]);
    const rest = allPods("v1.35.0");
    delete rest["kube-controller-manager"];
    expect(componentsBehind("controlplane", "cp1", "v1.35.0", { node: node("v1.35.0"), pods: rest })).toEqual([
      "no kube-controller-manager pod",
    ]);
  });
});

describe("waitForKubernetesComponents against an HTTPS API server", () => {
  let pki: TestPki;
  let kube: FakeKubernetesApi;

  beforeAll(async () => {
    pki = createTestPki();
    kube = await FakeKubernetesApi.start(pki);
  });
  afterAll(() => kube.stop());

  beforeEach(() => {
    kube.nodes.clear();
    kube.addNode("cp1", "v1.34.1");
    for (const c of components)
      kube.addPod({
        namespace: "kube-system",
        name: `${c}-cp1`,
        nodeName: "cp1",
        mirror: true,
        container: { name: c, image: image(c, "v1.34.1"), ready: true },
      });
  });

  const client = () => createKubernetesClient({ kubeconfig: kube.kubeconfig(pki), retryForMs: 0, callTimeoutMs: 5000 });

  it("returns once the kubelet and every component run the new version, reading the mirror pods by name", async () => {
    // Talos restarts the components one by one after the apply; the kubelet reports last.
    const steps = [
      () =>
        kube.setContainer("kube-system", "kube-apiserver-cp1", {
          name: "kube-apiserver",
          image: image("kube-apiserver", "v1.35.0"),
          ready: false,
        }),
      () =>
        kube.setContainer("kube-system", "kube-apiserver-cp1", {
          name: "kube-apiserver",
          image: image("kube-apiserver", "v1.35.0"),
          ready: true,
        }),
      () => {
        for (const c of ["kube-controller-manager", "kube-scheduler"])
          kube.setContainer("kube-system", `${c}-cp1`, { name: c, image: image(c, "v1.35.0"), ready: true });
      },
      () => kube.addNode("cp1", "v1.35.0"),
    ];
    let polls = 0;
    await waitForKubernetesComponents(
      client(),
      { nodeName: "cp1", role: "controlplane", version: "v1.35.0", timeoutMs: 60_000, intervalMs: 1000 },
      virtualClock(() => steps[polls++]?.()),
    );
    expect(polls).toBe(4);
    expect(kube.calls().slice(0, 4)).toEqual([
      "GET /api/v1/nodes/cp1",
      "GET /api/v1/namespaces/kube-system/pods/kube-apiserver-cp1",
      "GET /api/v1/namespaces/kube-system/pods/kube-controller-manager-cp1",
      "GET /api/v1/namespaces/kube-system/pods/kube-scheduler-cp1",
    ]);
  });

  it("fails after its timeout naming what is still behind", async () => {
    await expect(
      waitForKubernetesComponents(
        client(),
        { nodeName: "cp1", role: "controlplane", version: "v1.35.0", timeoutMs: 10_000, intervalMs: 2000 },
        virtualClock(),
      ),
    ).rejects.toThrow(
      "cp1: Kubernetes not on v1.35.0 after 10s: kubelet runs v1.34.1; kube-apiserver runs v1.34.1; kube-controller-manager runs v1.34.1; kube-scheduler runs v1.34.1",
    );
  });
});
