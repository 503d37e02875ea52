import type * as dynamic from "@pulumi/pulumi/dynamic";
import { createKubernetesClient } from "../../kubernetesApi/client";
import { createMachineClient } from "../machineApi/client";
import { isTransient } from "../machineApi/retry";
import type { ClientConfiguration } from "../machineApi/credentials";
import type { NodeRole } from "../machineApi/readiness";
import type { UnmanagedPods } from "./drain";
import type { ControlPlaneEndpoint } from "./nodeMembershipProvider";
import { definedOnly } from "./canonical";
import { upgradeNode } from "./osUpgrade";

/**
 * The OsUpgrade's provider (serialized like the NodeGate's, see nodeGateProvider.ts). Create only
 * records: a node joins by its apply, which installs the installer image of its machine config (the
 * target version), and on a first bring-up the OsUpgrades run before the applies, while the machines
 * are still in maintenance mode and do not accept the cluster's client certificate. Update (target
 * version or installer changed) upgrades the node, or does nothing when it runs the target already
 * (a half-done run resumed, or someone ran talosctl). Delete does nothing: a node is never
 * downgraded by removing this resource.
 *
 * Drift (someone ran talosctl): `read` — what `pulumi refresh`, `pulumi up --refresh` and `pulumi
 * preview --refresh` call, with the state's outputs (sdk/nodejs/cmd/dynamic-provider/index.ts, read)
 * — asks the node which version it runs; `diff` reports a change when that is not the target, and
 * the update converges it (an older node is upgraded, a newer one is refused by name). So `read`'s
 * credential is an output too, kept secret in state (OsUpgrade's additionalSecretOutputs): the
 * os:reader configuration (Version is a reader call, machineApi/roles.ts), the admin one only for a
 * stack without a reader certificate. Update takes its credentials and the kubeconfig from the new
 * inputs, so they are not kept as outputs (fewer copies of credentials in state, issue #24).
 */

export interface OsUpgradeInputs {
  node: string;
  endpoint: string;
  port: number;
  nodeName: string;
  role: NodeRole;
  clientConfiguration: ClientConfiguration;
  /** os:reader certificate for the calls a reader may make (machineApi/roles.ts). */
  readerConfiguration?: ClientConfiguration;
  /** Every control plane (this one included): the etcd pre-flight of a control plane asks each. */
  controlPlanes?: ControlPlaneEndpoint[];
  kubeconfig: string;
  /** `factory.talos.dev/metal-installer/<schematic>:<version>` */
  image: string;
  targetVersion: string;
  timeoutSeconds: number;
  drainTimeoutSeconds: number;
  /** The stack file's `talos.rollout.unmanagedPods`; absent in state written before it existed (evict). */
  unmanagedPods?: UnmanagedPods;
}

export interface OsUpgradeOutputs {
  node: string;
  endpoint: string;
  port: number;
  nodeName: string;
  role: NodeRole;
  image: string;
  targetVersion: string;
  timeoutSeconds: number;
  drainTimeoutSeconds: number;
  unmanagedPods?: UnmanagedPods;
  /** For `read`: secret in state. The os:reader configuration, or (no reader given) the admin one. */
  readerConfiguration?: ClientConfiguration;
  clientConfiguration?: ClientConfiguration;
  /** The version the node answered with once the resource was done, or at the last refresh. */
  observedVersion: string;
}

/**
 * The inputs whose change means "upgrade again": the image carries the schematic as well as the
 * version. A renamed node or another endpoint is not a reason to call the node; `update` reads
 * them from the new inputs whenever it does run.
 */
const upgradeKeys = ["node", "image", "targetVersion"] as const;

export function osUpgradeChanges(olds: Partial<OsUpgradeOutputs>, news: OsUpgradeInputs): string[] {
  const changed: string[] = upgradeKeys.filter((key) => olds[key] !== news[key]);
  // A refresh found the node on another version than the one it was brought to.
  if (olds.observedVersion !== undefined && olds.observedVersion !== news.targetVersion) changed.push("observedVersion");
  return changed;
}

/** What a run leaves in state: the inputs without what only an update needs, the node on the target version. */
export function osUpgradeOutputs(inputs: OsUpgradeInputs, observedVersion = inputs.targetVersion): OsUpgradeOutputs {
  const { node, endpoint, port, nodeName, role, image, targetVersion, timeoutSeconds, drainTimeoutSeconds } = inputs;
  const readCredential =
    inputs.readerConfiguration !== undefined
      ? { readerConfiguration: inputs.readerConfiguration }
      : { clientConfiguration: inputs.clientConfiguration };
  return {
    ...definedOnly({ unmanagedPods: inputs.unmanagedPods }),
    ...readCredential,
    node,
    endpoint,
    port,
    nodeName,
    role,
    image,
    targetVersion,
    timeoutSeconds,
    drainTimeoutSeconds,
    observedVersion,
  };
}

/** The state after a refresh: the version the node runs now, or the recorded one when it does not answer. */
export async function readOsUpgrade(props: OsUpgradeOutputs, log: (line: string) => void = () => undefined): Promise<OsUpgradeOutputs> {
  // State written by an older version of this module holds both; a stack without a reader certificate, the admin one.
  const talos = createMachineClient({
    endpoint: props.endpoint,
    node: props.node,
    port: props.port,
    clientConfiguration: props.clientConfiguration,
    readerConfiguration: props.readerConfiguration,
    retryForMs: 10_000,
  });
  try {
    return { ...props, observedVersion: (await talos.version()).tag };
  } catch (error) {
    const message = (error as { message?: string }).message ?? String(error);
    // Anything but an unreachable node (a damaged stored certificate, a refusal) is this read's failure.
    if (!isTransient(error)) throw new Error(`read osupgrade ${props.node}: ${message}`);
    // A node that is down must not fail every refresh: keep what is known, say so.
    log(`${props.node}: version not read (${message}); keeping ${props.observedVersion}`);
    return props;
  } finally {
    talos.close();
  }
}

/**
 * Runs the upgrade. `previous` is what state holds: a new installer for the same version (a schematic
 * change) installs it again even though the node runs that version.
 */
export async function runOsUpgrade(inputs: OsUpgradeInputs, previous?: Partial<OsUpgradeOutputs>): Promise<OsUpgradeOutputs> {
  const clientFor = (target: { node: string; endpoint: string; port: number }) =>
    createMachineClient({
      endpoint: target.endpoint,
      node: target.node,
      port: target.port,
      clientConfiguration: inputs.clientConfiguration,
      readerConfiguration: inputs.readerConfiguration,
      retryForMs: 30_000,
    });
  const talos = clientFor(inputs);
  const peers = (inputs.controlPlanes ?? []).filter((cp) => cp.node !== inputs.node).map(clientFor);
  try {
    const result = await upgradeNode(
      {
        talos,
        kube: createKubernetesClient({ kubeconfig: inputs.kubeconfig }),
        controlPlanes: inputs.role === "controlplane" ? [talos, ...peers] : undefined,
        log: (line) => console.log(line),
      },
      {
        node: inputs.node,
        nodeName: inputs.nodeName,
        role: inputs.role,
        image: inputs.image,
        targetVersion: inputs.targetVersion,
        timeoutMs: inputs.timeoutSeconds * 1000,
        drainTimeoutMs: inputs.drainTimeoutSeconds * 1000,
        unmanagedPods: inputs.unmanagedPods,
        reinstall: previous !== undefined && previous.image !== inputs.image && previous.targetVersion === inputs.targetVersion,
      },
    );
    return osUpgradeOutputs(inputs, result.observedVersion);
  } finally {
    talos.close();
    for (const peer of peers) peer.close();
  }
}

export const osUpgradeProvider: dynamic.ResourceProvider<OsUpgradeInputs, OsUpgradeOutputs> & {
  outputsOf(inputs: OsUpgradeInputs): OsUpgradeOutputs;
} = {
  async diff(_id, olds, news) {
    // Never a replacement: the upgrade is an in-place change of the same machine.
    return { changes: osUpgradeChanges(olds, news).length > 0, replaces: [] };
  },
  /** State after a successful create or update (plan/record/dynamicProvider.ts): the node runs the target. */
  outputsOf: (inputs: OsUpgradeInputs) => osUpgradeOutputs(inputs),
  async create(inputs) {
    return { id: `osupgrade-${inputs.node}`, outs: osUpgradeOutputs(inputs) };
  },
  async update(_id, olds, news) {
    return { outs: await runOsUpgrade(news, olds) };
  },
  async read(id, props) {
    return { id, props: props && (await readOsUpgrade(props, (line) => console.log(line))) };
  },
  async delete() {
    // Nothing to undo: removing the resource never downgrades the node.
  },
};
