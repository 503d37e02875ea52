import type * as dynamic from "@pulumi/pulumi/dynamic";
import { systemClock, type Clock } from "../machineApi/clock";
import { createMachineClient, type MachineClient } from "../machineApi/client";
import type { ClientConfiguration } from "../machineApi/credentials";
import { defaultServices, type NodeRole } from "../machineApi/readiness";
import { isTransient } from "../machineApi/retry";
import { waitForReboot, waitUntilReady } from "../machineApi/wait";
import { createKubernetesClient } from "../../kubernetesApi/client";
import { changedAmong, definedOnly } from "./canonical";
import { waitForKubernetesComponents } from "./kubernetesComponents";

/**
 * The NodeGate's provider. The engine runs it in a separate process from text that
 * `pulumi.runtime.serializeFunction` produced: functions reached from here are copied by value (our
 * own modules), npm packages are re-required by name there (`@grpc/grpc-js`, `protobufjs`). So nothing
 * reachable from here may hold live objects (sockets, protobufjs roots) at serialization time, and
 * this module must not touch `@pulumi/pulumi` at run time. tests/node-gate.test.ts runs the serialized
 * text in a fresh Node process, as the engine would.
 */

export interface GateExpectations {
  role: NodeRole;
  /** Talos tag the node must run, e.g. `v1.13.9`. */
  talosVersion: string;
  /** Services that must be Running and healthy; defaults by role. */
  services?: string[];
}

/** Inputs as the provider receives them: resolved, and with secrets unwrapped (dynamic providers do not accept secrets). */
export interface GateInputs {
  node: string;
  endpoint: string;
  port: number;
  clientConfiguration: ClientConfiguration;
  /** os:reader certificate for the calls a reader may make (machineApi/roles.ts); secret input, never an output. */
  readerConfiguration?: ClientConfiguration;
  expectations: GateExpectations;
  /** Whatever should make the gate wait again: a hash of the node's config, the target version, ... */
  fingerprint: string;
  timeoutSeconds: number;
  /**
   * Whether create waits for the node (default true). A rolling gate passes false: on a bare machine
   * the first bring-up is waited for elsewhere (bootstrap, ClusterReady), so create only records.
   */
  waitOnCreate?: boolean;
  /** The resolved apply mode of the node's ConfigurationApply (`reboot`, `auto`, `no_reboot`, `staged`); see `rebootExpectation`. */
  applyMode?: string;
  /** How long an update watches for a reboot it cannot be sure of (see `watchForReboot`). */
  rebootGraceSeconds?: number;
  /** Pause between polls. */
  pollSeconds?: number;
  /**
   * Once the node is ready on Talos' side, also wait until its Kubernetes components run this
   * version (kubernetesComponents.ts). Not compared by `diff`: the version is in the fingerprint, and
   * the kubeconfig is a credential (secret input, never an output).
   */
  kubernetes?: { nodeName: string; version: string; kubeconfig: string };
}

/**
 * Outputs: every input `diff` compares (the engine hands `diff` and `update` the OLD OUTPUTS, not the
 * old inputs: pulumi sdk/go/common/resource/plugin/provider_plugin.go v3.248.0, Diff and Update marshal
 * `req.OldOutputs` as `olds`), and never the client configuration, so the key stays out of state outputs.
 */
export interface GateOutputs {
  node: string;
  endpoint: string;
  port: number;
  expectations: GateExpectations;
  fingerprint: string;
  timeoutSeconds: number;
  waitOnCreate?: boolean;
  applyMode?: string;
  rebootGraceSeconds?: number;
  pollSeconds?: number;
  /** The version the node answered with when it passed; absent when the gate did not wait. */
  observedVersion?: string;
  /** The node's kernel boot id when the gate last saw it ready: the next update's "before" for a reboot. */
  bootId?: string;
  /** What the last create/update did: `recorded` (no wait), `ready`, `rebooted`, `went down`, `no reboot seen`. */
  lastWait: string;
}

/** The inputs whose change means "wait for this node again". Timeouts, apply mode and credentials are not among them. */
const gatedKeys = ["node", "endpoint", "port", "expectations", "fingerprint"] as const;

export function changedKeys(olds: Partial<GateOutputs>, news: GateInputs): string[] {
  return changedAmong(gatedKeys, olds, news);
}

export type RebootExpectation = "yes" | "maybe" | "no";

/**
 * What the node's apply says about a reboot. pulumi-talos 0.8.1 bridges terraform-provider-talos
 * v0.11.0 (pulumi-talos provider/go.mod); there `resolved_apply_mode` equals `apply_mode` unless that is
 * `staged_if_needing_reboot` (pkg/talos/talos_machine_configuration_apply_resource.go,
 * handleRebootPrevention), and Create/Update send ApplyConfiguration and drop its reply, whose mode
 * says whether AUTO rebooted. So `reboot` means a reboot follows, `auto` only that one may (Talos
 * decides per change), `no_reboot`/`staged`/`try` that none does. Without a mode (a gate not fed by an
 * apply) no reboot is expected.
 */
export function rebootExpectation(applyMode: string | undefined): RebootExpectation {
  if (applyMode === undefined || applyMode === "") return "no";
  if (applyMode === "reboot") return "yes";
  if (applyMode === "no_reboot" || applyMode === "staged" || applyMode === "try") return "no";
  return "maybe";
}

export interface RebootWatch {
  /** The boot the node must have left before it counts as ready; absent when no reboot was seen or none could be told apart. */
  previousBootId?: string;
  outcome: "rebooted" | "went down" | "no reboot seen";
}

interface WatchOptions {
  graceMs: number;
  timeoutMs: number;
  intervalMs: number;
  clock: Clock;
}

/**
 * Waits for the reboot an apply set off, or for a grace period to pass without one.
 *
 * - A certain reboot with the boot id from before (the gate's last output): waits for a new boot id
 *   (`waitForReboot`, the full timeout).
 * - Otherwise (an `auto` apply, or the first update after a create that did not wait, so no boot id
 *   from before): reads the boot id now, then watches up to the grace period for the node to go down or
 *   its boot id to change. Limitation: a reboot that starts after the grace period (a long drain) goes
 *   unseen, and the node is judged on its old boot; one that already finished before the first read is
 *   taken for "no reboot" (harmless: the node is up on its new boot).
 */
export async function watchForReboot(
  client: MachineClient,
  oldBootId: string | undefined,
  expectation: Exclude<RebootExpectation, "no">,
  options: WatchOptions,
): Promise<RebootWatch> {
  const { clock } = options;
  if (expectation === "yes" && oldBootId !== undefined) {
    await waitForReboot(client, oldBootId, { timeoutMs: options.timeoutMs, intervalMs: options.intervalMs, clock });
    return { previousBootId: oldBootId, outcome: "rebooted" };
  }
  let baseline = oldBootId;
  const start = clock.now();
  for (;;) {
    try {
      const bootId = await client.bootId({ retryForMs: 0 });
      if (baseline === undefined) baseline = bootId;
      else if (bootId !== baseline) return { previousBootId: baseline, outcome: "rebooted" };
    } catch (error) {
      if (!isTransient(error)) throw error;
      // Down: readiness then requires a new boot (or, with no boot id known, just that it answers again).
      return { previousBootId: baseline, outcome: "went down" };
    }
    const elapsed = clock.now() - start;
    if (elapsed >= options.graceMs) return { outcome: "no reboot seen" };
    await clock.sleep(Math.min(options.intervalMs, options.graceMs - elapsed));
  }
}

function clientFor(inputs: GateInputs): MachineClient {
  return createMachineClient({
    endpoint: inputs.endpoint,
    node: inputs.node,
    port: inputs.port,
    clientConfiguration: inputs.clientConfiguration,
    readerConfiguration: inputs.readerConfiguration,
  });
}

function outputsFor(inputs: GateInputs, seen: { observedVersion?: string; bootId?: string; lastWait: string }): GateOutputs {
  const { node, endpoint, port, expectations, fingerprint, timeoutSeconds, waitOnCreate, applyMode, rebootGraceSeconds, pollSeconds } =
    inputs;
  return definedOnly({
    node,
    endpoint,
    port,
    expectations,
    fingerprint,
    timeoutSeconds,
    waitOnCreate,
    applyMode,
    rebootGraceSeconds,
    pollSeconds,
    ...seen,
  });
}

async function readBootId(client: MachineClient): Promise<string | undefined> {
  try {
    return await client.bootId({ retryForMs: 0 });
  } catch {
    return undefined;
  }
}

/** Waits as the inputs say; `oldBootId` is the node's boot before this change, when a previous run saw it. */
async function runGate(
  inputs: GateInputs,
  oldBootId: string | undefined,
  watchReboot: boolean,
  clock: Clock = systemClock,
): Promise<GateOutputs> {
  const client = clientFor(inputs);
  try {
    const start = clock.now();
    const timeoutMs = inputs.timeoutSeconds * 1000;
    const intervalMs = (inputs.pollSeconds ?? 5) * 1000;
    const expectation = watchReboot ? rebootExpectation(inputs.applyMode) : "no";
    const watch: RebootWatch =
      expectation === "no"
        ? { outcome: "no reboot seen" }
        : await watchForReboot(client, oldBootId, expectation, {
            graceMs: (inputs.rebootGraceSeconds ?? 180) * 1000,
            timeoutMs,
            intervalMs: Math.min(intervalMs, 2000),
            clock,
          });
    const { role, talosVersion } = inputs.expectations;
    const services = inputs.expectations.services ?? defaultServices(role);
    const ready = await waitUntilReady(
      client,
      { node: inputs.node, role, talosVersion, services, previousBootId: watch.previousBootId },
      { timeoutMs: Math.max(0, timeoutMs - (clock.now() - start)), intervalMs, clock },
    );
    const bootId = ready.bootId ?? (await readBootId(client));
    if (inputs.kubernetes) {
      const { nodeName, version, kubeconfig } = inputs.kubernetes;
      await waitForKubernetesComponents(
        createKubernetesClient({ kubeconfig, retryForMs: 30_000 }),
        { nodeName, role, version, timeoutMs: Math.max(1000, timeoutMs - (clock.now() - start)), intervalMs },
        clock,
      );
    }
    return outputsFor(inputs, {
      observedVersion: ready.version.tag,
      bootId,
      lastWait: expectation === "no" ? "ready" : watch.outcome,
    });
  } finally {
    client.close();
  }
}

export const nodeGateProvider: dynamic.ResourceProvider<GateInputs, GateOutputs> & { outputsOf(inputs: GateInputs): GateOutputs } = {
  async diff(_id, olds, news) {
    const changed = changedKeys(olds, news);
    // Never a replacement: a gate has nothing to delete, waiting again is the whole update.
    return { changes: changed.length > 0, replaces: [] };
  },
  /**
   * What state holds after a create or update, as far as it is known without the node (the offline
   * plan's convention, plan/record/dynamicProvider.ts): the step model calls `diff` with it, as the engine does.
   */
  outputsOf: (inputs: GateInputs) => outputsFor(inputs, { lastWait: "recorded" }),
  async create(inputs) {
    const id = `nodegate-${inputs.node}`;
    // Bring-up (bare machine, or a node new to the stack): nothing to wait for here; record only.
    if (inputs.waitOnCreate === false) return { id, outs: outputsFor(inputs, { lastWait: "recorded" }) };
    return { id, outs: await runGate(inputs, undefined, false) };
  },
  async update(_id, olds, news) {
    return { outs: await runGate(news, olds.bootId, true) };
  },
  async delete() {
    // Nothing on the node belongs to the gate.
  },
};
