import { decideForPod, drainNode, mirrorPodAnnotation, withNote } from "../components/talos/lifecycle/drain";
import { componentsBehind, imageTag, notReady, waitForKubernetesComponents } from "../components/talos/lifecycle/kubernetesComponents";
import type { KubernetesClient } from "../components/kubernetesApi/client";
import type { EvictionOutcome, KubeNode, KubePod } from "../components/kubernetesApi/types";
import { virtualClock } from "./fakes/virtualClock";

/**
 * The pure decisions under the drain and the Kubernetes-components wait, input by input: what kubectl
 * drain's filters decide per pod (kubernetes/kubectl v0.35.0 pkg/drain/filters.go), and what a Node
 * and the control-plane mirror pods must show. The flows around them run against the fake API in
 * kube-drain and kubernetes-components.
 */

const owned = (kind: string, controller = true) => [{ kind, name: "x", uid: "u", controller }];
const pod = (extra: { owners?: ReturnType<typeof owned>; phase?: string; emptyDir?: boolean; mirror?: boolean } = {}): KubePod => ({
  metadata: {
    name: "p",
    namespace: "ns",
    uid: "1",
    ...(extra.owners ? { ownerReferences: extra.owners } : {}),
    ...(extra.mirror ? { annotations: { [mirrorPodAnnotation]: "hash" } } : {}),
  } as KubePod["metadata"],
  spec: { volumes: extra.emptyDir ? [{ name: "cfg" }, { name: "scratch", emptyDir: {} }] : [{ name: "cfg" }] },
  ...(extra.phase ? { status: { phase: extra.phase } } : {}),
});
const strict = { deleteEmptyDirData: false, force: false };
const talosctl = { deleteEmptyDirData: true, force: true };

describe("decideForPod (kubectl drain's filters)", () => {
  it("skips running DaemonSet pods and mirror pods under any options", () => {
    for (const options of [strict, talosctl]) {
      expect(decideForPod(pod({ owners: owned("DaemonSet") }), options)).toEqual({ action: "skip", why: "daemonset" });
      expect(decideForPod(pod({ mirror: true }), options)).toEqual({ action: "skip", why: "mirror" });
    }
  });

  it("evicts finished pods (Succeeded, Failed) whatever they hold, a finished DaemonSet pod included", () => {
    for (const phase of ["Succeeded", "Failed"]) {
      expect(decideForPod(pod({ phase, emptyDir: true }), strict)).toEqual({ action: "evict" });
      expect(decideForPod(pod({ phase, owners: owned("DaemonSet") }), strict)).toEqual({ action: "evict" });
    }
    // Running and Pending are not finished.
    expect(decideForPod(pod({ phase: "Running" }), strict).action).toBe("refuse");
    expect(decideForPod(pod({ phase: "Pending" }), strict).action).toBe("refuse");
  });

  it("refuses emptyDir data without deleteEmptyDirData, and controller-less pods without force", () => {
    const rs = owned("ReplicaSet");
    expect(decideForPod(pod({ owners: rs }), strict)).toEqual({ action: "evict" });
    expect(decideForPod(pod({ owners: rs, emptyDir: true }), strict)).toEqual({
      action: "refuse",
      why: "uses emptyDir volumes (local data is lost; allow with deleteEmptyDirData)",
    });
    expect(decideForPod(pod({ owners: rs, emptyDir: true }), { ...strict, deleteEmptyDirData: true })).toEqual({ action: "evict" });
    expect(decideForPod(pod(), strict)).toEqual({ action: "refuse", why: "has no controller to recreate it (allow with force)" });
    expect(decideForPod(pod(), { ...strict, force: true })).toEqual({ action: "evict" });
    // An owner that is not the controller does not recreate the pod.
    expect(decideForPod(pod({ owners: owned("ReplicaSet", false) }), strict).action).toBe("refuse");
    expect(decideForPod(pod({ owners: owned("DaemonSet", false) }), strict).action).toBe("refuse");
    // A pod without spec or status is a controller-less pod like any other.
    expect(decideForPod({ metadata: { name: "bare", namespace: "ns", uid: "2" } } as KubePod, strict).action).toBe("refuse");
  });

  it("withNote keeps an Error (its fields classify it) and makes one of anything else", () => {
    const error = Object.assign(new Error("drain w1: timed out"), { code: 7 });
    expect(withNote(error, "w1 uncordoned again")).toBe(error);
    expect(error.message).toBe("drain w1: timed out; w1 uncordoned again");
    expect(withNote("plain", "note").message).toBe("plain; note");
  });
});

const node = (conditions: Array<{ type: string; status: string; reason?: string; message?: string }>, kubeletVersion?: string): KubeNode =>
  ({ metadata: { name: "cp1" }, status: { conditions, ...(kubeletVersion ? { nodeInfo: { kubeletVersion } } : {}) } }) as KubeNode;
const ready = { type: "Ready", status: "True" };
const mirror = (component: string, image: string, isReady = true): KubePod =>
  ({
    metadata: { name: `${component}-cp1`, namespace: "kube-system", uid: component },
    spec: {
      containers: [
        { name: "sidecar", image: "other:v0" },
        { name: component, image },
      ],
    },
    status: {
      containerStatuses: [
        { name: "sidecar", ready: !isReady },
        { name: component, ready: isReady },
      ],
    },
  }) as KubePod;
const pods = (version: string) => ({
  "kube-apiserver": mirror("kube-apiserver", `registry.k8s.io/kube-apiserver:${version}@sha256:abc`),
  "kube-controller-manager": mirror("kube-controller-manager", `registry.k8s.io/kube-controller-manager:${version}`),
  "kube-scheduler": mirror("kube-scheduler", `registry.k8s.io/kube-scheduler:${version}`),
});

describe("the Kubernetes components a gate or an upgrade waits for", () => {
  it("imageTag reads the tag after the last path segment, ignoring a digest and a registry port", () => {
    expect(imageTag("registry.k8s.io/kube-apiserver:v1.35.0@sha256:abc")).toBe("v1.35.0");
    expect(imageTag("mirror.lan:5000/kube-apiserver")).toBeUndefined();
    expect(imageTag("mirror.lan:5000/kube-apiserver:v1.35.0")).toBe("v1.35.0");
    expect(imageTag("kube-apiserver:v1.35.0")).toBe("v1.35.0");
    expect(imageTag("")).toBeUndefined();
  });

  it("notReady names the Ready condition and every other condition that is True, or nothing when Ready", () => {
    expect(notReady("cp1", node([ready, { type: "MemoryPressure", status: "True" }]))).toBeUndefined();
    expect(
      notReady(
        "cp1",
        node([
          { type: "MemoryPressure", status: "True", reason: "KubeletHasInsufficientMemory" },
          { type: "DiskPressure", status: "False" },
          { type: "Ready", status: "False", reason: "KubeletNotReady", message: "CNI not ready" },
          { type: "PIDPressure", status: "Unknown" },
        ]),
      ),
    ).toBe("Node cp1 not Ready (Ready=False KubeletNotReady: CNI not ready; MemoryPressure=True KubeletHasInsufficientMemory)");
    expect(notReady("cp1", node([]))).toBe("Node cp1 not Ready (no Ready condition)");
    expect(notReady("cp1", { metadata: { name: "cp1" } } as KubeNode)).toBe("Node cp1 not Ready (no Ready condition)");
  });

  it("a control plane is behind until the kubelet and all three mirror pods run the version, ready", () => {
    expect(componentsBehind("controlplane", "cp1", "v1.35.0", { node: node([ready], "v1.35.0"), pods: pods("v1.35.0") })).toEqual([]);
    // Versions compare with or without the leading v.
    expect(componentsBehind("controlplane", "cp1", "1.35.0", { node: node([ready], "v1.35.0"), pods: pods("1.35.0") })).toEqual([]);
    expect(componentsBehind("controlplane", "cp1", "v1.35.0", { node: node([ready], "v1.34.1"), pods: pods("v1.34.1") })).toEqual([
      "kubelet runs v1.34.1",
      "kube-apiserver runs v1.34.1",
      "kube-controller-manager runs v1.34.1",
      "kube-scheduler runs v1.34.1",
    ]);
    const mixed = {
      "kube-apiserver": mirror("kube-apiserver", "registry.k8s.io/kube-apiserver:v1.35.0", false),
      "kube-scheduler": mirror("kube-scheduler", "registry.k8s.io/kube-scheduler"),
    };
    expect(componentsBehind("controlplane", "cp1", "v1.35.0", { node: node([ready]), pods: mixed })).toEqual([
      "kubelet runs an unknown version",
      "kube-apiserver not ready",
      "no kube-controller-manager pod",
      "kube-scheduler runs an untagged image",
    ]);
  });

  it("workers, nodeOnly and a wait without a version look at the Node only", () => {
    const none = { node: node([ready], "v1.35.0"), pods: {} };
    expect(componentsBehind("worker", "w1", "v1.35.0", none)).toEqual([]);
    expect(componentsBehind("controlplane", "cp1", "v1.35.0", none, true)).toEqual([]);
    expect(componentsBehind("controlplane", "cp1", undefined, { node: node([ready], "v1.34.1"), pods: {} })).toEqual([]);
    expect(componentsBehind("worker", "w1", "v1.35.0", { pods: {} })).toEqual(["no Node w1"]);
  });
});

describe("waitForKubernetesComponents", () => {
  /** A client that records what it is asked; the Node turns Ready after `readyAfter` reads. */
  function scriptedKube(readyAfter: number, version = "v1.35.0") {
    const calls: string[] = [];
    let reads = 0;
    const kube = {
      getNode: async (name: string) => {
        calls.push(`node ${name}`);
        return node([reads++ >= readyAfter ? ready : { type: "Ready", status: "False" }], version);
      },
      getPod: async (namespace: string, name: string) => {
        calls.push(`pod ${namespace}/${name}`);
        return pods(version)[name.replace(/-cp1$/, "") as keyof ReturnType<typeof pods>];
      },
    };
    return { kube: kube as unknown as KubernetesClient, calls };
  }

  it("reads the mirror pods only for a control plane waited to a version, polling every 5 s by default", async () => {
    const clock = virtualClock(1_000_000);
    const cp = scriptedKube(2);
    await waitForKubernetesComponents(cp.kube, { nodeName: "cp1", role: "controlplane", version: "v1.35.0", timeoutMs: 60_000 }, clock);
    expect(cp.calls.filter((c) => c.startsWith("pod"))).toHaveLength(9);
    expect(clock.slept).toEqual([5000, 5000]);
    for (const request of [
      { role: "worker" as const, version: "v1.35.0" },
      { role: "controlplane" as const, version: "v1.35.0", nodeOnly: true },
      { role: "controlplane" as const },
    ]) {
      const other = scriptedKube(0);
      await waitForKubernetesComponents(other.kube, { nodeName: "cp1", timeoutMs: 1000, ...request }, virtualClock());
      expect(other.calls).toEqual(["node cp1"]);
    }
  });

  it("fails at the deadline naming what is behind, the last pause trimmed to it", async () => {
    const clock = virtualClock(1_000_000);
    const stuck = scriptedKube(99);
    await expect(
      waitForKubernetesComponents(stuck.kube, { nodeName: "cp1", role: "worker", timeoutMs: 7000, intervalMs: 3000 }, clock),
    ).rejects.toThrow("cp1: Kubernetes not ready after 7s: Node cp1 not Ready (Ready=False)");
    expect(clock.slept).toEqual([3000, 3000, 1000]);
  });
});

describe("drainNode on a scripted API", () => {
  const rsPod = (name: string, uid = name): KubePod => {
    const base = pod({ owners: owned("ReplicaSet") });
    return { ...base, metadata: { ...base.metadata, name, uid } };
  };

  /** Evictions answered from `evictions` (per pod, in turn; the last repeats); getPod from `present`. */
  function scriptedApi(
    pods: KubePod[],
    evictions: Record<string, EvictionOutcome[]>,
    present: (name: string, read: number) => KubePod | undefined,
  ) {
    const calls: string[] = [];
    const reads: Record<string, number> = {};
    const asked: Record<string, number> = {};
    const api = {
      setUnschedulable: async (node: string, value: boolean) => void calls.push(`${value ? "cordon" : "uncordon"} ${node}`),
      listPodsOnNode: async () => pods,
      evictPod: async (_ns: string, name: string) => {
        calls.push(`evict ${name}`);
        const list = evictions[name] ?? [{ outcome: "evicted" }];
        return list[Math.min((asked[name] = (asked[name] ?? -1) + 1), list.length - 1)]!;
      },
      getPod: async (_ns: string, name: string) => present(name, (reads[name] = (reads[name] ?? -1) + 1)),
    };
    return { api: api as unknown as KubernetesClient, calls };
  }

  it("evicts, logs progress, backs off on a refused eviction and waits until each evicted pod is gone or replaced", async () => {
    const lines: string[] = [];
    const clock = virtualClock(5_000_000);
    const { api, calls } = scriptedApi(
      [rsPod("a"), rsPod("b"), rsPod("c")],
      {
        b: [{ outcome: "blocked", message: "Cannot evict pod as it would violate the pod's disruption budget." }, { outcome: "evicted" }],
        c: [{ outcome: "gone" }],
      },
      // a is replaced by a new pod (another uid) on the second read; b is gone at once.
      (name, read) => (name === "a" ? rsPod("a", read === 0 ? "a" : "a2") : undefined),
    );
    const result = await drainNode(api, "w1", { timeoutMs: 60_000, retryMs: 100, pollMs: 700, clock, log: (l) => lines.push(l) });
    expect(result).toEqual({ evicted: ["ns/a", "ns/b"], skipped: [] });
    expect(calls).toEqual(["cordon w1", "evict a", "evict b", "evict c", "evict b"]);
    expect(lines).toEqual(["evicting ns/a", "evicting ns/b", "ns/b blocked", "evicting ns/c", "evicting ns/b"]);
    expect(clock.slept).toEqual([100, 700]);
  });

  it("names every refused pod, and evicted pods still terminating at the deadline, uncordoning the node", async () => {
    const refusing = scriptedApi([pod(), { ...pod(), metadata: { ...pod().metadata, name: "q" } }], {}, () => undefined);
    await expect(drainNode(refusing.api, "w1", { timeoutMs: 1000, clock: virtualClock() })).rejects.toThrow(
      "drain w1: refusing to evict: ns/p has no controller to recreate it (allow with force); ns/q has no controller to recreate it (allow with force); w1 uncordoned again (nothing was taken down)",
    );
    expect(refusing.calls).toEqual(["cordon w1", "uncordon w1"]);

    const clock = virtualClock(5_000_000);
    const slow = scriptedApi([rsPod("a")], {}, () => rsPod("a"));
    await expect(drainNode(slow.api, "w1", { timeoutMs: 5000, pollMs: 2000, clock })).rejects.toThrow(
      "drain w1: 1 evicted pod(s) still terminating after 5s: ns/a; w1 uncordoned again (nothing was taken down)",
    );
    expect(clock.slept).toEqual([2000, 2000, 1000]);
  });

  it("a pod blocked without a budget is named with the API's message at the deadline", async () => {
    const blocked = scriptedApi([rsPod("a")], { a: [{ outcome: "blocked", message: "Too many requests" }] }, () => undefined);
    await expect(drainNode(blocked.api, "w1", { timeoutMs: 1000, retryMs: 400, clock: virtualClock(5_000_000) })).rejects.toThrow(
      "drain w1: 1 pod(s) still blocked by their disruption budgets after 1s: ns/a (Too many requests); w1 uncordoned again (nothing was taken down)",
    );
  });
});
