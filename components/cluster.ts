import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../stacks/load";

export interface ClusterArgs {
  readonly config: ClusterConfig;
}

/** One Kubernetes cluster: Talos → bootstrap → Flux → Cloudflare, each a child component. */
export class Cluster extends pulumi.ComponentResource {
  readonly name: string;
  readonly endpoint: string;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("talos-gitops:index:Cluster", name, {}, opts);
    const { config } = args;
    this.name = config.name;
    this.endpoint = `https://${config.endpoint.host}:${config.endpoint.port}`;
    this.registerOutputs({ endpoint: this.endpoint });
  }

  /** What `pulumi stack output` shows. */
  stackOutputs(): Record<string, unknown> {
    return { cluster: this.name, endpoint: this.endpoint };
  }
}
