import * as pulumi from "@pulumi/pulumi";
import { talosApiPort } from "../machineApi/client";
import type { ClientConfiguration } from "../machineApi/credentials";
import type { NodeRole } from "../machineApi/readiness";
import { talosctlDrain } from "./drain";
import { membershipSecretOutputs, renameTimeoutDefault, type ControlPlaneEndpoint } from "./nodeMembershipProvider";
import { thinEntry } from "../../dynamic/thinProvider";

// The provider is a thin entry that loads this module when the engine calls it (components/dynamic/thinProvider.ts).
const logic = thinEntry(require.resolve("./nodeMembershipProvider"), "nodeMembershipProvider");

export interface NodeMembershipArgs {
  /** Kubernetes Node name (the Talos hostname). */
  nodeName: pulumi.Input<string>;
  /** The node's IP. */
  node: pulumi.Input<string>;
  endpoint?: pulumi.Input<string>;
  port?: pulumi.Input<number>;
  role: pulumi.Input<NodeRole>;
  /** Every control plane of the cluster, this one included (for the etcd health check of a control-plane removal). */
  controlPlanes: pulumi.Input<pulumi.Input<ControlPlaneEndpoint>[]>;
  /** The admin kubeconfig: secret in state, as an input and as an output (the delete reads it from there). */
  kubeconfig: pulumi.Input<string>;
  /** The machine secrets' client configuration: secret in state likewise. */
  clientConfiguration: pulumi.Input<ClientConfiguration>;
  /** os:reader client configuration (osReaderCertificate.ts): secret in state likewise. */
  readerConfiguration?: pulumi.Input<ClientConfiguration>;
  drainTimeoutSeconds?: pulumi.Input<number>;
  /** Evict pods with emptyDir volumes (their data is lost with the reset anyway). Default true, as talosctl drains (drain.ts talosctlDrain). */
  deleteEmptyDirData?: pulumi.Input<boolean>;
  /** Evict pods without a controller (the stack file's `talos.rollout.unmanagedPods: evict`). Default true, as talosctl. */
  force?: pulumi.Input<boolean>;
  /** Let a control plane leave a 2-member etcd (leaving 1). Default false; 1→0 is always refused. */
  allowBelowMajority?: pulumi.Input<boolean>;
  resetTimeoutSeconds?: pulumi.Input<number>;
  /** After a rename (same IP), how long the update waits for the new Node to be Ready before deleting the old one. */
  renameTimeoutSeconds?: pulumi.Input<number>;
}

/**
 * A node's membership of the cluster. Creating it changes nothing; an update after a rename (same IP)
 * deletes the Node object of the old name once the new one is Ready; deleting it — when the node
 * leaves the stack, after the engine's creates and updates, in reverse dependency order — drains the
 * node, takes a control plane out of etcd (refusing on unhealthy etcd, lost quorum or a second
 * control plane in the same run), resets it through the Talos API and deletes its Node object.
 */
export class NodeMembership extends pulumi.dynamic.Resource {
  declare readonly nodeName: pulumi.Output<string>;
  declare readonly role: pulumi.Output<NodeRole>;

  constructor(name: string, args: NodeMembershipArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      logic.provider,
      name,
      {
        ...logic.inputs,
        nodeName: args.nodeName,
        node: args.node,
        endpoint: args.endpoint ?? args.node,
        port: args.port ?? talosApiPort,
        role: args.role,
        controlPlanes: args.controlPlanes,
        kubeconfig: pulumi.secret(args.kubeconfig),
        clientConfiguration: pulumi.secret(args.clientConfiguration),
        readerConfiguration: args.readerConfiguration && pulumi.secret(args.readerConfiguration),
        drainTimeoutSeconds: args.drainTimeoutSeconds ?? 600,
        deleteEmptyDirData: args.deleteEmptyDirData ?? talosctlDrain.deleteEmptyDirData,
        force: args.force ?? talosctlDrain.force,
        allowBelowMajority: args.allowBelowMajority ?? false,
        resetTimeoutSeconds: args.resetTimeoutSeconds ?? 600,
        renameTimeoutSeconds: args.renameTimeoutSeconds ?? renameTimeoutDefault,
      },
      // The outputs carry the credentials (delete gets only the old outputs): secret in state.
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...membershipSecretOutputs] },
      "talos",
      "NodeMembership",
    );
  }
}
