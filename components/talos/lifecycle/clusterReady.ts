import * as pulumi from "@pulumi/pulumi";
import { talosApiPort } from "../machineApi/client";
import type { ClientConfiguration } from "../machineApi/credentials";
import type { NodeRole } from "../machineApi/readiness";
import { thinEntry } from "../../dynamic/thinProvider";

// The provider is a thin entry that loads this module when the engine calls it (components/dynamic/thinProvider.ts).
const logic = thinEntry(require.resolve("./clusterReadyProvider"), "clusterReadyProvider");

export interface ClusterReadyArgs {
  nodes: ReadonlyArray<{ ip: string; role: NodeRole }>;
  talosVersion: pulumi.Input<string>;
  /** An os:reader client configuration (all it needs); stored as a secret input, never returned as an output. */
  clientConfiguration: pulumi.Input<ClientConfiguration>;
  /** Changing it makes it wait again; unchanged (with the same nodes and version) it is a no-op. */
  fingerprint: pulumi.Input<string>;
  timeoutSeconds?: pulumi.Input<number>;
  port?: number;
}

/**
 * Every node of the stack ready (the NodeGate's checks, all nodes in parallel): the pre-CNI wait.
 * It waits on create and when the node set, the Talos version or the fingerprint change; a run
 * that changes none of them makes no call.
 */
export class ClusterReady extends pulumi.dynamic.Resource {
  declare readonly fingerprint: pulumi.Output<string>;
  declare readonly observedVersions: pulumi.Output<Record<string, string>>;

  constructor(name: string, args: ClusterReadyArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      logic.provider,
      name,
      {
        ...logic.inputs,
        nodes: args.nodes.map((n) => ({ node: n.ip, role: n.role, port: args.port ?? talosApiPort })),
        talosVersion: args.talosVersion,
        // Secret in state as an input; the provider receives it unwrapped and does not return it.
        clientConfiguration: pulumi.secret(args.clientConfiguration),
        fingerprint: args.fingerprint,
        timeoutSeconds: args.timeoutSeconds ?? 1800,
        observedVersions: undefined,
      },
      opts,
      "talos",
      "ClusterReady",
    );
  }
}
