import * as pulumi from "@pulumi/pulumi";
import { talosApiPort } from "../machineApi/client";
import type { ClientConfiguration } from "../machineApi/credentials";
import type { NodeRole } from "../machineApi/readiness";
import type { UnmanagedPods } from "./drain";
import type { ControlPlaneEndpoint } from "./nodeMembershipProvider";
import { thinEntry } from "../../dynamic/thinProvider";

// The provider is a thin entry that loads this module when the engine calls it (components/dynamic/thinProvider.ts).
const logic = thinEntry(require.resolve("./osUpgradeProvider"), "osUpgradeProvider");

export interface OsUpgradeArgs {
  /** The node's IP. */
  node: pulumi.Input<string>;
  endpoint?: pulumi.Input<string>;
  port?: pulumi.Input<number>;
  /** Kubernetes Node name (for the drain before a v1.13+ reboot). */
  nodeName: pulumi.Input<string>;
  role: pulumi.Input<NodeRole>;
  /** Secret in state, as an input and as an output (a refresh reads the node's version with it). */
  clientConfiguration: pulumi.Input<ClientConfiguration>;
  /** os:reader client configuration (osReaderCertificate.ts); secret in state likewise. */
  readerConfiguration?: pulumi.Input<ClientConfiguration>;
  /** Every control plane (this one included): the etcd pre-flight of a control-plane upgrade asks each. */
  controlPlanes?: pulumi.Input<pulumi.Input<ControlPlaneEndpoint>[]>;
  /** Secret in state as an input; never an output. */
  kubeconfig: pulumi.Input<string>;
  /** The Image Factory installer for the node's schematic and the target version (patches' installerImage, as in the machine config). */
  image: pulumi.Input<string>;
  targetVersion: pulumi.Input<string>;
  timeoutSeconds?: pulumi.Input<number>;
  drainTimeoutSeconds?: pulumi.Input<number>;
  /** Controller-less pods in the drain: evicted (talosctl's default) or refused. */
  unmanagedPods?: pulumi.Input<UnmanagedPods>;
}

/**
 * Brings one node to a Talos version: nothing when it runs it already, otherwise the upgrade (one
 * minor at a time) and a wait until it is back on the target version and healthy. Chain one per node
 * in the order of upgradePlan (dependsOn) so only one control plane is ever down.
 */
export class OsUpgrade extends pulumi.dynamic.Resource {
  declare readonly observedVersion: pulumi.Output<string>;
  declare readonly targetVersion: pulumi.Output<string>;

  constructor(name: string, args: OsUpgradeArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      logic.provider,
      name,
      {
        ...logic.inputs,
        node: args.node,
        endpoint: args.endpoint ?? args.node,
        port: args.port ?? talosApiPort,
        nodeName: args.nodeName,
        role: args.role,
        clientConfiguration: pulumi.secret(args.clientConfiguration),
        readerConfiguration: args.readerConfiguration && pulumi.secret(args.readerConfiguration),
        controlPlanes: args.controlPlanes,
        kubeconfig: pulumi.secret(args.kubeconfig),
        image: args.image,
        targetVersion: args.targetVersion,
        timeoutSeconds: args.timeoutSeconds ?? 1800,
        drainTimeoutSeconds: args.drainTimeoutSeconds ?? 600,
        unmanagedPods: args.unmanagedPods ?? "evict",
        observedVersion: undefined,
      },
      { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "clientConfiguration", "readerConfiguration"] },
      "talos",
      "OsUpgrade",
    );
  }
}
