import type { KubernetesClient } from "../../kubernetesApi/client";
import { systemClock, type Clock } from "../machineApi/clock";
import type { MachineClient } from "../machineApi/client";
import { talosApiError, type TalosApiError } from "../machineApi/errors";
import { assessReadiness, defaultServices, type NodeRole } from "../machineApi/readiness";
import { observeNode, waitForReboot, waitUntilReady } from "../machineApi/wait";
import { drainNode, drainPolicy, leftCordoned, uncordonAfterFailure, type UnmanagedPods } from "./drain";
import { etcdUpgradeVerdict, forfeitLeadership } from "./etcdPreflight";
import { waitForKubernetesComponents } from "./kubernetesComponents";
import { afterUnknown, sentOnce } from "./sentOnce";
import { checkOsUpgradeStep, parseVersion } from "./upgradePlan";

/**
 * One node's Talos OS upgrade, as `talosctl upgrade` does it (cmd/talosctl/cmd/talos/upgrade.go):
 * - node on v1.13+: ImageService/Pull + LifecycleService/Upgrade install the new version, then a
 *   reboot boots it. The Reboot sequence does not drain (v1alpha1_sequencer.go: only Upgrade, Reset
 *   and Shutdown cordon and drain), so this drains first, as talosctl does with --drain, and
 *   uncordons once the node is back;
 * - node before v1.13: MachineService/Upgrade, which cordons, drains, installs and reboots itself.
 * Then: a new boot id, the target version, services healthy (and, on control planes, its etcd
 * member healthy). A node that comes back on the version it ran fails at once, naming it.
 * A control plane goes down only when etcd can lose it (etcdPreflight.ts: every member started,
 * healthy, voting, and more than 2 of them), and hands over etcd leadership first.
 */

export interface OsUpgradeRequest {
  /** The Talos address (what errors name). */
  node: string;
  /** Kubernetes Node name, for the drain on the v1.13+ path. */
  nodeName: string;
  role: NodeRole;
  image: string;
  targetVersion: string;
  timeoutMs: number;
  drainTimeoutMs: number;
  /** The stack file's `talos.rollout.unmanagedPods` (default: evict them, as talosctl does). */
  unmanagedPods?: UnmanagedPods;
  /** Pause between readiness polls. */
  intervalMs?: number;
  /**
   * Install even when the node runs the target already: its installer changed (a new schematic,
   * same version). The version cannot tell the new boot from the old one then; the new boot id does.
   */
  reinstall?: boolean;
}

export interface OsUpgradeDeps {
  talos: MachineClient;
  kube: KubernetesClient;
  /** Control planes only: every control plane's machine API (this node's included); the etcd pre-flight asks each. */
  controlPlanes?: readonly MachineClient[];
  clock?: Clock;
  log?: (line: string) => void;
  /** Test hook: called when the node is about to go down and when it is back (ready on the target). */
  onEvent?: (event: "going-down" | "ready", node: string) => void;
}

export interface OsUpgradeResult {
  /** The version the node ran before; equal to `observedVersion` when nothing was done. */
  previousVersion: string;
  observedVersion: string;
  upgraded: boolean;
  path?: "lifecycle" | "machine";
}

export async function upgradeNode(deps: OsUpgradeDeps, request: OsUpgradeRequest): Promise<OsUpgradeResult> {
  const { talos, kube } = deps;
  const clock = deps.clock ?? systemClock;
  const log = deps.log ?? (() => undefined);
  const fail = (detail: string) => talosApiError(request.node, "upgrade", detail);
  const current = (await talos.version()).tag;
  if (current === request.targetVersion && !request.reinstall)
    return { previousVersion: current, observedVersion: current, upgraded: false };

  const step = checkOsUpgradeStep(current, request.targetVersion);
  if (!step.allowed) throw fail(`refused: ${step.reason}`);
  const tagOfImage = request.image.slice(request.image.lastIndexOf(":") + 1);
  if (tagOfImage !== request.targetVersion) throw fail(`refused: installer ${request.image} is not tagged ${request.targetVersion}`);

  // Only a healthy node goes down: the previous node of the rolling order must be back already.
  const services = defaultServices(request.role);
  const before = assessReadiness(
    { node: request.node, role: request.role, talosVersion: current, services },
    await observeNode(talos, { node: request.node, role: request.role, talosVersion: current, services }),
  );
  if (!before.ready) throw fail(`refused: the node is not healthy on ${current} before the upgrade: ${before.unmet}`);
  if (request.role === "controlplane") {
    const etcd = await etcdUpgradeVerdict(deps.controlPlanes ?? [talos], request.node);
    if (!etcd.allowed) throw fail(`refused: ${etcd.reason}`);
  }

  const previousBootId = await talos.bootId();
  // The kubelet version it must come back on: an OS upgrade does not move Kubernetes (the applies after
  // it do, and the NodeGate waits for that), so the one it runs now. No Node: not in Kubernetes, no wait.
  const nodeBefore = await kube.getNode(request.nodeName);
  const lifecycle = parseVersion(current).minor >= 13 || parseVersion(current).major > 1;
  let unknown: TalosApiError | undefined;
  if (lifecycle) {
    log(`${request.node}: draining ${request.nodeName}`);
    // A failed drain uncordons the node itself (drain.ts).
    await drainNode(kube, request.nodeName, { timeoutMs: request.drainTimeoutMs, ...drainPolicy(request.unmanagedPods), clock, log });
    try {
      log(`${request.node}: installing ${request.image}`);
      await talos.lifecycleUpgrade(request.image, { callTimeoutMs: Math.max(request.timeoutMs, 60_000) });
      if (request.role === "controlplane") await forfeitLeadership(talos, log);
    } catch (error) {
      // Nothing was rebooted: give the node back to the scheduler before failing.
      await uncordonAfterFailure(kube, request.nodeName, error);
    }
    deps.onEvent?.("going-down", request.node);
    try {
      unknown = await sentOnce(() => talos.reboot("DEFAULT"), log);
    } catch (error) {
      // Refused outright: nothing went down.
      await uncordonAfterFailure(kube, request.nodeName, error);
    }
  } else {
    if (request.role === "controlplane") await forfeitLeadership(talos, log);
    deps.onEvent?.("going-down", request.node);
    log(`${request.node}: upgrading to ${request.image} (MachineService/Upgrade: Talos drains and reboots)`);
    // Talos pulls and validates the installer under the call's context before it answers
    // (siderolabs/talos v1.12.11 and v1.13.9 v1alpha1_server.go, Upgrade): the deadline must outlast the pull.
    unknown = await sentOnce(() => talos.upgrade({ image: request.image }, { callTimeoutMs: Math.max(request.timeoutMs, 60_000) }), log);
  }

  const start = clock.now();
  const remaining = () => Math.max(1000, request.timeoutMs - (clock.now() - start));
  const intervalMs = request.intervalMs;
  try {
    await waitForReboot(talos, previousBootId, { timeoutMs: remaining(), clock, intervalMs }).catch((error: unknown) => {
      throw afterUnknown(unknown, error);
    });
    const booted = (await talos.version({ retryForMs: remaining() })).tag;
    if (booted === current && !request.reinstall)
      throw fail(`the node came back on ${current} after the reboot, not ${request.targetVersion}: the new version did not boot`);
    await waitUntilReady(
      talos,
      { node: request.node, role: request.role, talosVersion: request.targetVersion, services, previousBootId },
      { timeoutMs: remaining(), clock, intervalMs },
    );
    // Back in Kubernetes before it takes pods again and before the next node goes down: Node Ready,
    // kubelet on the cluster's version (as talosctl waits for Ready before it uncordons: nodedrain.go WaitForNodeReady).
    if (nodeBefore) {
      const version = nodeBefore.status?.nodeInfo?.kubeletVersion;
      await waitForKubernetesComponents(
        kube,
        { nodeName: request.nodeName, role: request.role, version, timeoutMs: remaining(), intervalMs, nodeOnly: true },
        clock,
      );
    }
  } catch (error) {
    throw leftCordoned(request.nodeName, error, "it went down for the upgrade and did not come back healthy");
  }
  // Talos' own boot uncordons what its upgrade cordoned; after our drain this is ours to undo (idempotent either way).
  await kube.setUnschedulable(request.nodeName, false);
  deps.onEvent?.("ready", request.node);
  return { previousVersion: current, observedVersion: request.targetVersion, upgraded: true, path: lifecycle ? "lifecycle" : "machine" };
}
