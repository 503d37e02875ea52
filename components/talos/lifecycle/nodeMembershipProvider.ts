import type * as dynamic from "@pulumi/pulumi/dynamic";
import { createKubernetesClient } from "../../kubernetesApi/client";
import { createMachineClient, type MachineClient } from "../machineApi/client";
import type { Clock } from "../machineApi/clock";
import type { ClientConfiguration } from "../machineApi/credentials";
import type { NodeRole } from "../machineApi/readiness";
import { removeNode, type RemovalResult } from "./nodeRemoval";
import { retireRenamedNode, type RenameOutcome } from "./nodeRename";
import { changedAmong } from "./canonical";

/**
 * The NodeMembership's provider: create only records the node; update records, and after a rename
 * deletes the old Node object (nodeRename.ts); delete removes the node from the cluster (nodeRemoval.ts). Serialized like the NodeGate's (see nodeGateProvider.ts): our modules are
 * copied by value, npm packages (`@grpc/grpc-js`, `protobufjs`, `yaml`) and Node built-ins (`https`)
 * are re-required by name; nothing here touches `@pulumi/pulumi` at run time.
 *
 * Credentials on delete: the engine calls `delete(id, props)` with props = the resource's OLD OUTPUTS
 * from state (cmd/dynamic-provider/index.js: `provider.delete(req.getId(), req.getProperties())`),
 * never the program's inputs — the resource is gone from the program. So the kubeconfig and the Talos
 * client configuration must be outputs; NodeMembership asks the engine to keep them secret in state
 * (`additionalSecretOutputs`), and `diff` reports a credential change so that an update refreshes them
 * (a rotated certificate must not leave a stale one for the delete).
 */

export interface ControlPlaneEndpoint {
  node: string;
  endpoint: string;
  port: number;
}

export interface MembershipInputs {
  /** Kubernetes Node name (the Talos hostname). */
  nodeName: string;
  /** The node's Talos address: what errors name. */
  node: string;
  endpoint: string;
  port: number;
  role: NodeRole;
  /** Every control plane of the cluster (this one included): the etcd health check asks each. */
  controlPlanes: ControlPlaneEndpoint[];
  kubeconfig: string;
  clientConfiguration: ClientConfiguration;
  /** os:reader certificate for the calls a reader may make (machineApi/roles.ts); absent in state written before it. */
  readerConfiguration?: ClientConfiguration;
  drainTimeoutSeconds: number;
  deleteEmptyDirData: boolean;
  force: boolean;
  /** Allow a control-plane removal that takes etcd from 2 members to 1. */
  allowBelowMajority: boolean;
  resetTimeoutSeconds: number;
  /**
   * After a rename, how long the update waits for the Node of the new name to be Ready before it
   * deletes the old one. Not compared by `diff` (a timeout is no reason to update); absent in state
   * written before it, so the update falls back to `renameTimeoutDefault`.
   */
  renameTimeoutSeconds?: number;
}

/** The rolling gate's own wait for the same node (talosCluster.ts talosTimeouts.gateSeconds). */
export const renameTimeoutDefault = 1200;

/** Outputs are the inputs: delete has nothing else to go on. */
export type MembershipOutputs = MembershipInputs;

export const membershipKeys = [
  "nodeName",
  "node",
  "endpoint",
  "port",
  "role",
  "controlPlanes",
  "kubeconfig",
  "clientConfiguration",
  "drainTimeoutSeconds",
  "deleteEmptyDirData",
  "force",
  "allowBelowMajority",
  "resetTimeoutSeconds",
] as const;

/** The keys that must stay secret in state. */
export const membershipSecretOutputs = ["kubeconfig", "clientConfiguration", "readerConfiguration"];

export function membershipChanges(olds: Partial<MembershipOutputs>, news: MembershipInputs): string[] {
  // The reader credential is optional (state written before it existed has none); a new one is recorded like any credential.
  const reader = JSON.stringify(olds.readerConfiguration ?? null) !== JSON.stringify(news.readerConfiguration ?? null);
  return [...changedAmong(membershipKeys, olds, news), ...(reader ? ["readerConfiguration"] : [])];
}

function outputsOf(inputs: MembershipInputs): MembershipOutputs {
  const outputs = Object.fromEntries(membershipKeys.map((key) => [key, inputs[key]])) as unknown as MembershipOutputs;
  return inputs.readerConfiguration === undefined ? outputs : { ...outputs, readerConfiguration: inputs.readerConfiguration };
}

/**
 * The update's one call to the cluster: a node renamed at the same address (memberships are named by
 * address, talosCluster.ts membershipName) leaves a Node object under its old name, deleted here once
 * the new one is Ready (nodeRename.ts). `olds` are the OLD OUTPUTS (pulumi/pulumi v3.248.0
 * sdk/nodejs/cmd/dynamic-provider/index.ts line 319, `provider.update(req.getId(), olds, news)` with
 * `olds = req.getOlds()`, which the engine fills from `req.OldOutputs`: sdk/go/common/resource/plugin/
 * provider_plugin.go line 1733), so the old name is the one recorded by the last create or update.
 * Any other change calls nothing.
 */
export async function renameUpdate(
  olds: Partial<MembershipOutputs>,
  news: MembershipInputs,
  deps: { clock?: Clock; log?: (line: string) => void } = {},
): Promise<RenameOutcome | undefined> {
  if (olds.nodeName === undefined || olds.nodeName === news.nodeName) return undefined;
  return retireRenamedNode(
    createKubernetesClient({ kubeconfig: news.kubeconfig, clock: deps.clock }),
    {
      oldName: olds.nodeName,
      newName: news.nodeName,
      node: news.node,
      timeoutMs: (news.renameTimeoutSeconds ?? renameTimeoutDefault) * 1000,
    },
    deps.clock,
    deps.log,
  );
}

/** The removal as the delete runs it, with real clients from the recorded outputs. */
export async function removeRecordedNode(props: MembershipOutputs, log?: (line: string) => void): Promise<RemovalResult> {
  const clients: MachineClient[] = [];
  const talos = (target: { node: string; endpoint: string; port: number }) => {
    const client = createMachineClient({
      endpoint: target.endpoint,
      node: target.node,
      port: target.port,
      clientConfiguration: props.clientConfiguration,
      readerConfiguration: props.readerConfiguration,
      retryForMs: 30_000,
    });
    clients.push(client);
    return client;
  };
  try {
    const self = talos(props);
    return await removeNode(
      {
        kube: createKubernetesClient({ kubeconfig: props.kubeconfig }),
        talos: self,
        controlPlanes: props.role === "controlplane" ? props.controlPlanes.map((cp) => (cp.node === props.node ? self : talos(cp))) : [],
        log,
      },
      {
        nodeName: props.nodeName,
        node: props.node,
        role: props.role,
        drain: { timeoutMs: props.drainTimeoutSeconds * 1000, deleteEmptyDirData: props.deleteEmptyDirData, force: props.force },
        allowBelowMajority: props.allowBelowMajority,
        resetTimeoutMs: props.resetTimeoutSeconds * 1000,
      },
    );
  } finally {
    for (const client of clients) client.close();
  }
}

export const nodeMembershipProvider: dynamic.ResourceProvider<MembershipInputs, MembershipOutputs> & {
  outputsOf(inputs: MembershipInputs): MembershipOutputs;
} = {
  async diff(_id, olds, news) {
    // Never a replacement: replacing would run the delete, i.e. wipe the node.
    return { changes: membershipChanges(olds, news).length > 0, replaces: [] };
  },
  outputsOf,
  async create(inputs) {
    // Bring-up is the ConfigurationApply's job; this only records what a later delete needs.
    return { id: `membership-${inputs.nodeName}`, outs: outputsOf(inputs) };
  },
  async update(_id, olds, news) {
    await renameUpdate(olds, news, { log: (line) => console.log(line) });
    return { outs: outputsOf(news) };
  },
  async delete(_id, props) {
    await removeRecordedNode(props, (line) => console.log(line));
  },
};
