import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../stacks/load";
import type { MeshView } from "../stacks/mesh";
import { ClusterBootstrap } from "./bootstrap/clusterBootstrap";
import { CloudflareEdge } from "./cloudflare/cloudflareEdge";
import { ClusterMesh } from "./clustermesh/clusterMesh";
import { FluxHandover } from "./flux/fluxHandover";
import type { Credentials } from "./secrets/resolver";
import { OnePasswordWriteBack } from "./secrets/writeBack";
import { TalosCluster } from "./talos/talosCluster";

export interface ClusterArgs {
  readonly config: ClusterConfig;
  readonly credentials: Credentials;
  /** The stack's ClusterMesh (stacks/mesh.ts loadMesh), when it is a member of one. */
  readonly mesh?: MeshView;
}

/** One Kubernetes cluster: Talos → bootstrap → Flux → Cloudflare, each a child component. */
export class Cluster extends pulumi.ComponentResource {
  readonly clusterName: string;
  readonly talos: TalosCluster;
  readonly mesh?: ClusterMesh;

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("talos-gitops:index:Cluster", name, {}, opts);
    const { config, credentials } = args;
    this.clusterName = config.name;
    this.talos = new TalosCluster(config.name, { config }, { parent: this });

    // Built from the kubeconfig, which resolves only after the Talos health wait.
    // Secrets and ConfigMaps change in place: without the two flags the provider replaces them on any data
    // change (pulumi/pulumi-kubernetes provider/pkg/provider/diff.go forceNewProperties), delete-first as
    // they keep their names, and the retained ones (cluster-settings, the bootstrap credentials) would never
    // come back: the engine skips a retained delete (pulumi/pulumi pkg/resource/deploy/step.go
    // DeleteStep.Apply) and the create then fails with AlreadyExists (provider/pkg/await/await.go Creation).
    // Turning them on for a running stack is a provider update, not a replace (provider.go DiffConfig
    // replaces only when the cluster changes). Flux, cert-manager and external-secrets read their Secret on
    // each reconcile; a pod that takes one as environment (cloudflared, external-dns) needs a restart.
    const provider = new k8s.Provider(
      config.name,
      {
        kubeconfig: this.talos.kubeconfig,
        clusterIdentifier: config.name,
        enableServerSideApply: true,
        enableSecretMutable: true,
        enableConfigMapMutable: true,
      },
      { parent: this },
    );
    const edge =
      config.cloudflare &&
      new CloudflareEdge(config.name, { config, settings: config.cloudflare, credentials, kubernetes: provider }, { parent: this });
    this.mesh = args.mesh && new ClusterMesh(config.name, { mesh: args.mesh, provider }, { parent: this });
    const bootstrap = new ClusterBootstrap(
      config.name,
      {
        config,
        credentials,
        talos: this.talos,
        provider,
        dnsChallengeToken: edge?.dnsChallengeToken,
        mesh: args.mesh && this.mesh && { view: args.mesh, caSecret: this.mesh.caSecret },
      },
      { parent: this },
    );
    const fluxNamespace = bootstrap.namespaces.get("flux-system");
    if (!fluxNamespace) throw new Error("internal: flux-system namespace missing");
    new FluxHandover(
      config.name,
      { config, credentials, provider, namespace: fluxNamespace, after: bootstrap.platformReady },
      { parent: this },
    );

    const writeBack = config.onePassword?.writeBack;
    if (writeBack?.enabled && credentials.onePasswordToken) {
      new OnePasswordWriteBack(
        `${config.name}-credentials`,
        {
          token: credentials.onePasswordToken,
          vault: writeBack.vault,
          title: writeBack.item,
          fields: { talosconfig: this.talos.talosconfig, kubeconfig: this.talos.kubeconfig },
        },
        { parent: this },
      );
    }
    this.registerOutputs({});
  }

  /** What `pulumi stack output` shows; kubeconfig and talosconfig stay secrets. */
  stackOutputs(): Record<string, unknown> {
    return {
      cluster: this.clusterName,
      endpoint: this.talos.endpoint,
      nodes: this.talos.nodes,
      bootImages: this.talos.bootImages,
      kubeconfig: this.talos.kubeconfig,
      talosconfig: this.talos.talosconfig,
      // The CA owner's certificate and (secret) key, for the other members' StackReference.
      ...(this.mesh?.outputs ?? {}),
    };
  }
}
