import type { KubernetesClient } from "../../components/kubernetesApi/client";
import type { KubeNode, KubePod } from "../../components/kubernetesApi/types";
import type { CallOptions, MachineClient } from "../../components/talos/machineApi/client";
import { outcomeUnknown, talosApiError } from "../../components/talos/machineApi/errors";
import { defaultServices, type NodeRole } from "../../components/talos/machineApi/readiness";
import type { EtcdMemberInfo } from "../../components/talos/machineApi/replies";

/**
 * One Talos node and its Kubernetes Node, in memory: what the day-2 flows decide from, without the
 * wire (the same flows against the fake apid and API server over gRPC/HTTP are in os-upgrade,
 * node-removal and their -safety/-etcd files). Every call is recorded in `calls`, with the options
 * that matter (retry window, call deadline); a reboot takes the node down for `downPolls` boot-id
 * reads, then it boots what was installed. Failures are scripted per call through `fail`.
 *
 * What it models, as the faithful fakes (talosApi.ts, kubernetesApi.ts) cite it upstream
 * (siderolabs/talos v1.13.9, kubernetes/kubernetes):
 * - every boot has a new kernel boot id, read through MachineService/Read of
 *   /proc/sys/kernel/random/boot_id (internal/app/machined/internal/server/v1alpha1/v1alpha1_server.go, Read);
 *   a node that is down refuses the connection (UNAVAILABLE);
 * - EtcdLeaveCluster removes the node's own member from the list every peer answers, and
 *   EtcdForfeitLeadership names the member that leads next (internal/pkg/etcd/etcd.go, LeaveCluster,
 *   ForfeitLeadership);
 * - after a reboot the Node reads Ready=False until the kubelet posts Ready again
 *   (pkg/kubelet/nodestatus/setters.go, ReadyCondition).
 */
export interface ScriptedNodeOptions {
  node?: string;
  nodeName?: string;
  role?: NodeRole;
  version: string;
  /** The API server URL (a control-plane removal claims it for the run: one per test). */
  server?: string;
  /** The etcd member list every control plane answers; shared, so a leave shows on the peers. */
  members?: EtcdMemberInfo[];
  /** This node's member id. */
  memberId?: string;
  /** Boot-id reads that find the node down after a reboot or reset. */
  downPolls?: number;
  /** What a reboot boots: the installed image's tag (default), or the version it ran. */
  boots?: "installed" | "same" | "never";
  /** The Node's kubelet version (default v1.35.0); given as `undefined`: no Node (not in Kubernetes). */
  kubelet?: string | undefined;
  /** A service that is not healthy once the node rebooted (it never gets ready on the new boot). */
  unhealthyAfterBoot?: string;
  /** Node reads that find it NotReady after a reboot (the kubelet registering again). */
  notReadyReads?: number;
  /** Answers to throw instead, per call name, in turn (`undefined` = answer normally). */
  fail?: Partial<Record<string, Array<Error | undefined>>>;
}

export const unavailable = (node: string, call: string) => talosApiError(node, call, "UNAVAILABLE: connection refused", 14);
export const unknownOutcome = (node: string, call: string) =>
  talosApiError(node, call, "CANCELLED: the connection dropped after the request was sent", 1, true);

export function scriptedNode(options: ScriptedNodeOptions) {
  const node = options.node ?? "10.0.0.1";
  const nodeName = options.nodeName ?? "n1";
  const role = options.role ?? "worker";
  const calls: string[] = [];
  // Copied: nodes scripted from one list fail each in turn, not one of them once.
  const failures = Object.fromEntries(Object.entries(options.fail ?? {}).map(([call, answers]) => [call, [...(answers ?? [])]]));
  let tag = options.version;
  let installed: string | undefined;
  let boot = 1;
  let down = 0;
  let unschedulable = false;
  let notReady = 0;
  const hasNode = "kubelet" in options ? options.kubelet !== undefined : true;
  const kubelet = options.kubelet ?? "v1.35.0";

  const scripted = (call: string) => {
    const failure = failures[call]?.shift();
    if (failure) throw failure;
  };
  /** A change: refused before it runs, or (an unknown outcome) run and its reply lost. */
  const change = (call: string, o: CallOptions | undefined, effect: () => void) => {
    try {
      up(call, o);
    } catch (error) {
      if (!outcomeUnknown(error)) throw error;
      effect();
      throw error;
    }
    effect();
  };
  const up = (call: string, o?: CallOptions) => {
    calls.push(
      `${call}${o?.retryForMs !== undefined ? ` retry=${o.retryForMs}` : ""}${o?.callTimeoutMs !== undefined ? ` deadline=${o.callTimeoutMs}` : ""}`,
    );
    if (down > 0 && call === "Read") {
      down--;
      throw unavailable(node, call);
    }
    scripted(call);
  };
  const goDown = () => {
    if (options.boots === "never") return;
    down = options.downPolls ?? 1;
    boot++;
    notReady = options.notReadyReads ?? 0;
    if (options.boots !== "same" && installed) tag = installed;
  };

  const talos = {
    node,
    version: async (o?: CallOptions) => (up("Version", o), { hostname: nodeName, tag, sha: "", arch: "amd64", platform: "metal" }),
    bootId: async (o?: CallOptions) => (up("Read", o), `boot-${boot}`),
    services: async (o?: CallOptions) => (
      up("ServiceList", o),
      defaultServices(role).map((id) => {
        const healthy = !(boot > 1 && id === options.unhealthyAfterBoot);
        return { id, state: "Running", healthy, healthUnknown: false, lastHealthMessage: healthy ? "" : "probe failed" };
      })
    ),
    etcdStatus: async (o?: CallOptions) => (
      up("EtcdStatus", o),
      { memberId: options.memberId ?? "1", leader: "1", isLearner: false, errors: [] }
    ),
    etcdMembers: async (o?: CallOptions) => (up("EtcdMemberList", o), [...(options.members ?? [])]),
    etcdForfeitLeadership: async (o?: CallOptions) => (up("EtcdForfeitLeadership", o), "2"),
    lifecycleUpgrade: async (image: string, o?: CallOptions) =>
      change(`LifecycleService/Upgrade ${image}`, o, () => (installed = image.slice(image.lastIndexOf(":") + 1))),
    upgrade: async (request: { image: string }, o?: CallOptions) =>
      change(`MachineService/Upgrade ${request.image}`, o, () => {
        installed = request.image.slice(request.image.lastIndexOf(":") + 1);
        goDown();
      }),
    reboot: async (mode?: string, o?: CallOptions) => change(`Reboot ${mode}`, o, goDown),
    reset: async (request: object, o?: CallOptions) => change(`Reset ${JSON.stringify(request)}`, o, goDown),
    etcdLeaveCluster: async (o?: CallOptions) =>
      change("EtcdLeaveCluster", o, () => {
        const members = options.members ?? [];
        const index = members.findIndex((m) => m.id === (options.memberId ?? "1"));
        if (index >= 0) members.splice(index, 1);
      }),
  };

  const nodeObject = (): KubeNode => ({
    metadata: { name: nodeName },
    spec: { unschedulable },
    status: {
      conditions: [{ type: "Ready", status: notReady-- > 0 ? "False" : "True" }],
      nodeInfo: { kubeletVersion: kubelet },
    },
  });
  let nodeDeleted = !hasNode;
  const kube = {
    server: options.server ?? "https://127.0.0.1:6443",
    getNode: async (name: string) => (calls.push(`getNode ${name}`), scripted("getNode"), nodeDeleted ? undefined : nodeObject()),
    setUnschedulable: async (name: string, value: boolean) => {
      calls.push(`${value ? "cordon" : "uncordon"} ${name}`);
      scripted(value ? "cordon" : "uncordon");
      unschedulable = value;
    },
    listPodsOnNode: async (): Promise<KubePod[]> => [],
    evictPod: async () => ({ outcome: "evicted" as const }),
    getPod: async () => undefined,
    deleteNode: async (name: string) => {
      calls.push(`deleteNode ${name}`);
      scripted("deleteNode");
      nodeDeleted = true;
      return "deleted" as const;
    },
  };

  return {
    talos: talos as unknown as MachineClient,
    kube: kube as unknown as KubernetesClient,
    calls,
    /** The calls that change something (what the order of a flow is about). */
    changes: () => calls.filter((c) => !/^(Version|Read|ServiceList|EtcdStatus|EtcdMemberList|getNode)\b/.test(c)),
    state: () => ({ tag, boot, unschedulable, nodeDeleted }),
  };
}
