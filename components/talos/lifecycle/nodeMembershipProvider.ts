import type * as dynamic from "@pulumi/pulumi/dynamic";
import { createKubernetesClient } from "../../kubernetesApi/client";
import { createMachineClient, type MachineClient } from "../machineApi/client";
import type { ClientConfiguration } from "../machineApi/credentials";
import type { NodeRole } from "../machineApi/readiness";
import { removeNode, type RemovalResult } from "./nodeRemoval";
import { changedAmong } from "./canonical";

/**
 * The NodeMembership's provider: create and update only record the node; delete removes it from the
 * cluster (nodeRemoval.ts). Serialized like the NodeGate's (see nodeGateProvider.ts): our modules are
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
}

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
  async update(_id, _olds, news) {
    return { outs: outputsOf(news) };
  },
  async delete(_id, props) {
    await removeRecordedNode(props, (line) => console.log(line));
  },
};
