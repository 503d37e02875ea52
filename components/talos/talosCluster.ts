import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../stacks/load";
import type { ClusterNode } from "../../stacks/schema";
import { configContract, nodePatches, renderPatches, schematicYaml } from "./patches";
import { client, cluster as talosCluster, imageFactory, machine, type ClientConfiguration } from "./provider";

export interface TalosClusterArgs {
  readonly config: ClusterConfig;
}

/** Timeouts sized for a first boot: install to disk, reboot, pull images. */
export const talosTimeouts = {
  apply: { create: "20m", update: "20m", delete: "10m" },
  bootstrap: { create: "10m" },
  kubeconfig: { create: "15m", update: "15m" },
  /** Health waits: nodes up and etcd healthy (before the CNI), then Kubernetes ready (after Cilium). */
  healthRead: "20m",
} as const;

/**
 * The Talos layer: machine secrets, one machine config per node applied to every node in parallel,
 * etcd bootstrapped once on the first control plane, health awaited, kubeconfig and talosconfig.
 */
export class TalosCluster extends pulumi.ComponentResource {
  /** Admin kubeconfig; resolves only once the cluster answered the (pre-CNI) health check. Secret. */
  readonly kubeconfig: pulumi.Output<string>;
  readonly talosconfig: pulumi.Output<string>;
  readonly clientConfiguration: pulumi.Output<ClientConfiguration>;
  readonly endpoint: string;
  readonly nodes: ReadonlyArray<{ name: string; ip: string; role: string }>;
  /**
   * What to boot each machine with, per schematic: Image Factory ISO, PXE and disk image for the
   * stack's Talos version (the URLs are computed by the provider from the schematic id, no request).
   */
  readonly bootImages: pulumi.Output<Record<string, BootImages>>;
  /** One apply per node, by node name. */
  readonly applies: ReadonlyMap<string, pulumi.Resource>;
  readonly bootstrap: pulumi.Resource;

  private readonly controlPlaneIps: string[];
  private readonly workerIps: string[];

  constructor(name: string, args: TalosClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("talos-gitops:talos:TalosCluster", name, {}, opts);
    const { config } = args;
    const parent = { parent: this };
    this.endpoint = `https://${config.endpoint.host}:${config.endpoint.port}`;
    this.nodes = config.nodes.map((n) => ({ name: n.name, ip: n.ip, role: n.role }));
    this.controlPlaneIps = config.nodes.filter((n) => n.role === "controlplane").map((n) => n.ip);
    this.workerIps = config.nodes.filter((n) => n.role === "worker").map((n) => n.ip);

    // Losing this loses the cluster PKI: protected, and kept out of every plan as a secret.
    const secrets = new machine.Secrets("secrets", { talosVersion: config.talos.version }, { ...parent, protect: true });
    this.clientConfiguration = secrets.clientConfiguration;

    const schematicIds = this.schematics(config);
    this.bootImages = bootImageUrls(config, schematicIds, parent);
    // The patches speak the contract of the version the base config is generated for (talosVersion below).
    const contract = configContract(config.talos.version);
    const machineConfigs = new Map(
      (["controlplane", "worker"] as const)
        .filter((type) => config.nodes.some((n) => n.role === type))
        .map((type) => [
          type,
          machine.getConfigurationOutput(
            {
              clusterName: config.name,
              clusterEndpoint: this.endpoint,
              machineType: type,
              machineSecrets: secrets.machineSecrets,
              talosVersion: config.talos.version,
              kubernetesVersion: config.talos.kubernetesVersion,
              docs: false,
              examples: false,
            },
            parent,
          ).machineConfiguration,
        ]),
    );

    // Every node is applied independently: none waits for another.
    const applies = new Map<string, pulumi.Resource>();
    for (const node of config.nodes) {
      const schematicId = schematicIds.get(node.name);
      const machineConfiguration = machineConfigs.get(node.role);
      if (!schematicId || !machineConfiguration) throw new Error(`internal: no schematic or machine config for ${node.name}`);
      applies.set(
        node.name,
        new machine.ConfigurationApply(
          applyName(node),
          {
            node: node.ip,
            endpoint: node.ip,
            clientConfiguration: secrets.clientConfiguration,
            machineConfigurationInput: machineConfiguration,
            configPatches: schematicId.apply((id) => renderPatches(nodePatches(config, node, id, contract))),
            applyMode: "auto",
            // A node leaving the stack is wiped and leaves etcd cleanly.
            onDestroy: { reset: true, graceful: true, reboot: true },
          },
          {
            ...parent,
            customTimeouts: talosTimeouts.apply,
            protect: isProtected(config, node),
            // Applies were named by node before: the engine finds those in state under this alias.
            aliases: [{ name: `apply-${node.name}` }],
          },
        ),
      );
    }
    this.applies = applies;

    const first = config.nodes[0];
    const firstApply = first && applies.get(first.name);
    if (!first || !firstApply) throw new Error("internal: validation guarantees a first control plane");
    // etcd is bootstrapped exactly once, on the first control plane, as soon as that node is configured.
    this.bootstrap = new machine.Bootstrap(
      "bootstrap",
      { node: first.ip, endpoint: first.ip, clientConfiguration: secrets.clientConfiguration },
      { ...parent, dependsOn: [firstApply], customTimeouts: talosTimeouts.bootstrap },
    );

    const kubeconfig = new talosCluster.Kubeconfig(
      "kubeconfig",
      { node: first.ip, endpoint: first.ip, clientConfiguration: secrets.clientConfiguration },
      { ...parent, dependsOn: [this.bootstrap], customTimeouts: talosTimeouts.kubeconfig },
    );

    // Without a CNI the nodes stay NotReady, so the first wait skips the Kubernetes checks.
    const bootHealth = this.health(false, [this.bootstrap, ...applies.values()]);
    this.kubeconfig = pulumi.secret(pulumi.all([kubeconfig.kubeconfigRaw, bootHealth]).apply(([raw]) => raw));
    this.talosconfig = pulumi.secret(
      client.getConfigurationOutput(
        {
          clusterName: config.name,
          clientConfiguration: secrets.clientConfiguration,
          endpoints: this.controlPlaneIps,
          nodes: config.nodes.map((n) => n.ip),
        },
        parent,
      ).talosConfig,
    );
    this.registerOutputs({ endpoint: this.endpoint, kubeconfig: this.kubeconfig, talosconfig: this.talosconfig });
  }

  /**
   * Waits until Talos reports the cluster healthy. Before a CNI runs, call with
   * `kubernetesChecks: false`; after Cilium is up, with `true` and Cilium in `dependsOn`.
   */
  health(kubernetesChecks: boolean, dependsOn: pulumi.Input<pulumi.Resource>[]): pulumi.Output<string> {
    return talosCluster.getHealthOutput(
      {
        clientConfiguration: this.clientConfiguration,
        controlPlaneNodes: this.controlPlaneIps,
        workerNodes: this.workerIps,
        endpoints: this.controlPlaneIps,
        skipKubernetesChecks: !kubernetesChecks,
        timeouts: { read: talosTimeouts.healthRead },
      },
      { parent: this, dependsOn },
    ).id;
  }

  /** The stack's schematic as "schematic", a node's own one as "schematic-<node>"; ids by node name. */
  private schematics(config: ClusterConfig): Map<string, pulumi.Output<string>> {
    const ids = new Map<string, pulumi.Output<string>>();
    // The provider updates a changed schematic in place and gets a new id, but Pulumi keeps a
    // resource's id on update: only a replacement hands the new schematic id to the installer image.
    const schematicOptions = { parent: this, replaceOnChanges: ["schematic"] };
    let shared: pulumi.Output<string> | undefined;
    for (const node of config.nodes) {
      if (node.schematic) {
        ids.set(
          node.name,
          new imageFactory.Schematic(`schematic-${node.name}`, { schematic: schematicYaml(node.schematic) }, schematicOptions).id,
        );
      } else {
        shared ??= new imageFactory.Schematic("schematic", { schematic: schematicYaml(config.talos.schematic) }, schematicOptions).id;
        ids.set(node.name, shared);
      }
    }
    return ids;
  }
}

export interface BootImages {
  readonly nodes: string[];
  readonly schematicId: string;
  readonly iso: string;
  readonly pxe: string;
  readonly diskImage: string;
  readonly installer: string;
}

/** Boot media per schematic ("schematic" for the stack's, "schematic-<node>" for a node's own), with the nodes that use it. */
function bootImageUrls(
  config: ClusterConfig,
  schematicIds: ReadonlyMap<string, pulumi.Output<string>>,
  opts: pulumi.InvokeOutputOptions,
): pulumi.Output<Record<string, BootImages>> {
  const groups = new Map<string, { id: pulumi.Output<string>; nodes: string[] }>();
  for (const node of config.nodes) {
    const key = node.schematic ? `schematic-${node.name}` : "schematic";
    const id = schematicIds.get(node.name);
    if (!id) throw new Error(`internal: no schematic for ${node.name}`);
    const group = groups.get(key) ?? { id, nodes: [] };
    group.nodes.push(node.name);
    groups.set(key, group);
  }
  const entries = [...groups].map(([key, { id, nodes }]) =>
    imageFactory
      .getUrlsOutput({ schematicId: id, talosVersion: config.talos.version, platform: "metal", architecture: "amd64" }, opts)
      .apply(
        ({ urls }) =>
          [key, { nodes, schematicId: "", iso: urls.iso, pxe: urls.pxe, diskImage: urls.diskImage, installer: urls.installer }] as const,
      ),
  );
  return pulumi
    .all([pulumi.all(entries), pulumi.all([...groups.values()].map((g) => g.id))])
    .apply(([resolved, ids]) => Object.fromEntries(resolved.map(([key, images], i) => [key, { ...images, schematicId: ids[i] ?? "" }])));
}

/**
 * An apply is named by the address it configures, which is what its delete resets: renaming a node
 * (same IP) updates its hostname in place; a new IP is another machine to this program (the new
 * address is configured, then the old apply is deleted last and resets the machine at the old one).
 */
export function applyName(node: Pick<ClusterNode, "ip">): string {
  return `apply-${node.ip}`;
}

/** Removing a control plane costs etcd a member: refused (protected) unless the stack allows it. */
function isProtected(config: ClusterConfig, node: ClusterNode): boolean {
  return node.role === "controlplane" && !config.talos.allowControlPlaneRemoval;
}
