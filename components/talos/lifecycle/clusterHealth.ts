import * as pulumi from "@pulumi/pulumi";
import { talosApiPort } from "../machineApi/client";
import type { ClientConfiguration } from "../machineApi/credentials";
import { thinEntry } from "../../dynamic/thinProvider";

// The provider is a thin entry that loads this module when the engine calls it (components/dynamic/thinProvider.ts).
const logic = thinEntry(require.resolve("./clusterHealthProvider"), "clusterHealthProvider");

export interface ClusterHealthArgs {
  controlPlaneNodes: string[];
  workerNodes: string[];
  /** Control planes to ask, in order (default: all of them). */
  endpoints?: string[];
  /** The machine secrets' client configuration; stored as a secret input, never returned as an output. */
  clientConfiguration: pulumi.Input<ClientConfiguration>;
  /** Changing it makes it check again: node set, versions, the CNI. */
  fingerprint: pulumi.Input<string>;
  timeoutSeconds?: pulumi.Input<number>;
  port?: number;
}

/**
 * Talos' full cluster health check (what `talosctl health` runs, Kubernetes checks included): run
 * after the CNI, on create and whenever the node set, the versions or the CNI change; a run that
 * changes none of them makes no call.
 */
export class ClusterHealth extends pulumi.dynamic.Resource {
  declare readonly fingerprint: pulumi.Output<string>;
  declare readonly lastMessage: pulumi.Output<string>;

  constructor(name: string, args: ClusterHealthArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      logic.provider,
      name,
      {
        ...logic.inputs,
        endpoints: args.endpoints ?? args.controlPlaneNodes,
        port: args.port ?? talosApiPort,
        controlPlaneNodes: args.controlPlaneNodes,
        workerNodes: args.workerNodes,
        clientConfiguration: pulumi.secret(args.clientConfiguration),
        fingerprint: args.fingerprint,
        timeoutSeconds: args.timeoutSeconds ?? 1200,
        lastMessage: undefined,
      },
      opts,
      "talos",
      "ClusterHealth",
    );
  }
}
