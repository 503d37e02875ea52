import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../stacks/load";
import { TalosCluster } from "./talos/talosCluster";

export interface ClusterArgs {
  readonly config: ClusterConfig;
}

/** One Kubernetes cluster: Talos → bootstrap → Flux → Cloudflare, each a child component. */
export class Cluster extends pulumi.ComponentResource {
  readonly clusterName: string;
  readonly talos: TalosCluster;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("talos-gitops:index:Cluster", name, {}, opts);
    const { config } = args;
    this.clusterName = config.name;
    this.talos = new TalosCluster(config.name, { config }, { parent: this });
    this.registerOutputs({});
  }

  /** What `pulumi stack output` shows; kubeconfig and talosconfig stay secrets. */
  stackOutputs(): Record<string, unknown> {
    return {
      cluster: this.clusterName,
      endpoint: this.talos.endpoint,
      nodes: this.talos.nodes,
      kubeconfig: this.talos.kubeconfig,
      talosconfig: this.talos.talosconfig,
    };
  }

}
