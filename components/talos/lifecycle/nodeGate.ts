import * as pulumi from "@pulumi/pulumi";
import { talosApiPort } from "../machineApi/client";
import type { ClientConfiguration } from "../machineApi/credentials";
import type { GateExpectations } from "./nodeGateProvider";
import { thinEntry } from "../../dynamic/thinProvider";

// The provider is a thin entry that loads this module when the engine calls it (components/dynamic/thinProvider.ts).
const logic = thinEntry(require.resolve("./nodeGateProvider"), "nodeGateProvider");

export interface NodeGateArgs {
  /** The node's IP: what the readiness is checked for and what errors name. */
  node: pulumi.Input<string>;
  /** The apid to dial; defaults to the node itself (otherwise apid there proxies to `node`). */
  endpoint?: pulumi.Input<string>;
  port?: pulumi.Input<number>;
  /** The machine secrets' client configuration; stored as a secret input, never returned as an output. */
  clientConfiguration: pulumi.Input<ClientConfiguration>;
  /** os:reader client configuration (osReaderCertificate.ts): used for every call a reader may make. */
  readerConfiguration?: pulumi.Input<ClientConfiguration>;
  expectations: pulumi.Input<GateExpectations>;
  /** Changing it makes the gate wait again; an unchanged fingerprint is a no-op (no API calls). */
  fingerprint: pulumi.Input<string>;
  timeoutSeconds?: pulumi.Input<number>;
  /**
   * Whether create waits for the node (default true). Rolling gates pass false: on create (a bare
   * machine, a first bring-up, a node new to the stack) they record and return at once; an update (the
   * fingerprint changed) always waits.
   */
  waitOnCreate?: pulumi.Input<boolean>;
  /** The resolved apply mode of the node's ConfigurationApply: on update, whether to wait for a reboot first. */
  applyMode?: pulumi.Input<string>;
  /** How long an update watches for a reboot it cannot be sure of (`auto`, or no boot id from before); default 180. */
  rebootGraceSeconds?: pulumi.Input<number>;
  pollSeconds?: pulumi.Input<number>;
  /** Also wait until the node's Kubernetes components run `version` (kubelet; API server, controller manager, scheduler on control planes). */
  kubernetes?: { nodeName: pulumi.Input<string>; version: pulumi.Input<string>; kubeconfig: pulumi.Input<string> };
}

/**
 * Holds the graph until one Talos node answers on the expected version with its services healthy
 * (and, on control planes, its etcd member healthy in the member list): resources that depend on
 * it wait for the node. It waits on create (unless `waitOnCreate: false`), and on update when the
 * fingerprint or expectations change; an update after a rebooting apply first waits for the reboot
 * (a new kernel boot id).
 */
export class NodeGate extends pulumi.dynamic.Resource {
  /** Absent until the gate has waited once. */
  declare readonly observedVersion: pulumi.Output<string | undefined>;
  declare readonly fingerprint: pulumi.Output<string>;
  declare readonly bootId: pulumi.Output<string | undefined>;
  declare readonly lastWait: pulumi.Output<string>;

  constructor(name: string, args: NodeGateArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      logic.provider,
      name,
      {
        ...logic.inputs,
        node: args.node,
        endpoint: args.endpoint ?? args.node,
        port: args.port ?? talosApiPort,
        // Secret in state as an input; the provider receives it unwrapped and does not return it.
        clientConfiguration: pulumi.secret(args.clientConfiguration),
        readerConfiguration: args.readerConfiguration && pulumi.secret(args.readerConfiguration),
        expectations: args.expectations,
        fingerprint: args.fingerprint,
        timeoutSeconds: args.timeoutSeconds ?? 1200,
        waitOnCreate: args.waitOnCreate ?? true,
        applyMode: args.applyMode,
        rebootGraceSeconds: args.rebootGraceSeconds ?? 180,
        pollSeconds: args.pollSeconds ?? 5,
        // The kubeconfig is a credential: secret in state, never returned as an output.
        kubernetes: args.kubernetes && { ...args.kubernetes, kubeconfig: pulumi.secret(args.kubernetes.kubeconfig) },
        observedVersion: undefined,
        bootId: undefined,
        lastWait: undefined,
      },
      opts,
      "talos",
      "NodeGate",
    );
  }
}
