import * as pulumi from "@pulumi/pulumi";
import { talosApiPort } from "../machineApi/client";
import type { ClientConfiguration } from "../machineApi/credentials";
import type { NodeRole } from "../machineApi/readiness";
import { membershipSecretOutputs, nodeMembershipProvider, type ControlPlaneEndpoint } from "./nodeMembershipProvider";

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
  /** Evict pods with emptyDir volumes (their data is lost). Default false: such pods stop the drain. */
  deleteEmptyDirData?: pulumi.Input<boolean>;
  /** Evict pods without a controller. Default false. */
  force?: pulumi.Input<boolean>;
  /** Let a control plane leave a 2-member etcd (leaving 1). Default false; 1→0 is always refused. */
  allowBelowMajority?: pulumi.Input<boolean>;
  resetTimeoutSeconds?: pulumi.Input<number>;
}

/**
 * A node's membership of the cluster. Creating it changes nothing; deleting it — when the node
 * leaves the stack, after the engine's creates and updates, in reverse dependency order — drains the
 * node, takes a control plane out of etcd (refusing on unhealthy etcd, lost quorum or a second
 * control plane in the same run), resets it through the Talos API and deletes its Node object.
 */
export class NodeMembership extends pulumi.dynamic.Resource {
  declare readonly nodeName: pulumi.Output<string>;
  declare readonly role: pulumi.Output<NodeRole>;

  constructor(name: string, args: NodeMembershipArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      nodeMembershipProvider,
      name,
      {
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
        deleteEmptyDirData: args.deleteEmptyDirData ?? false,
        force: args.force ?? false,
        allowBelowMajority: args.allowBelowMajority ?? false,
        resetTimeoutSeconds: args.resetTimeoutSeconds ?? 600,
      },
      // The outputs carry the credentials (delete gets only the old outputs): secret in state.
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), ...membershipSecretOutputs] },
      "talos",
      "NodeMembership",
    );
  }
}
