import { createHash } from "crypto";
import * as pulumi from "@pulumi/pulumi";
import type { ClusterConfig } from "../../stacks/load";
import type { ClusterNode } from "../../stacks/schema";
import { canonical } from "./lifecycle/canonical";
import { ClusterHealth } from "./lifecycle/clusterHealth";
import { ClusterReady } from "./lifecycle/clusterReady";
import { lifecycleKubeconfig } from "./lifecycle/adminKubeconfig";
import { drainPolicy } from "./lifecycle/drain";
import { NodeGate } from "./lifecycle/nodeGate";
import { NodeMembership } from "./lifecycle/nodeMembership";
import { OsUpgrade } from "./lifecycle/osUpgradeResource";
import { readerClientConfiguration } from "./osReaderCertificate";
import { upgradeDependencies, upgradePlan, type KubernetesRange } from "./lifecycle/upgradePlan";
import { VersionGuard } from "./lifecycle/versionGuard";
import { talosApiPort } from "./machineApi/client";
import { minorLine, talosKubernetes } from "../../stacks/versions";
import { configContract, installerImage, nodePatches, renderPatches, schematicYaml } from "./patches";
import { client, cluster as talosCluster, imageFactory, machine, type ClientConfiguration } from "./provider";

export interface TalosClusterArgs {
  readonly config: ClusterConfig;
}

/**
 * Timeouts. The Talos resources take them as their own `timeouts` input: the bridged (plugin
 * framework) resources ignore Pulumi's custom-timeouts resource option (pulumi-terraform-bridge issue 827), and
 * without the input the provider's default of 10 minutes applies (terraform-provider-talos v0.11.0,
 * `state.Timeouts.Create(ctx, 10*time.Minute)` in each Create). Keys per resource as the provider
 * schema allows them (tests/talos-contract.test.ts).
 */
export const talosTimeouts = {
  /** The apply is one ApplyConfiguration RPC, retried until the node answers (a machine still booting into maintenance mode). */
  apply: { create: "20m", update: "10m", delete: "10m" },
  /** Bootstrap retries until the first control plane has installed, rebooted and accepts it. */
  bootstrap: { create: "30m" },
  kubeconfig: { create: "15m", update: "15m" },
  /** A rolling gate: reboot (if any) and readiness of one node. */
  gateSeconds: 1200,
  /** How long a gate watches for a reboot it cannot be sure of (`auto` applies; no boot id from before). */
  rebootGraceSeconds: 180,
  /** Every node installed, rebooted and ready (first bring-up: install to disk and reboot, in parallel). */
  clusterReadySeconds: 1800,
  /** Talos' full health check after the CNI (its server-side wait). */
  clusterHealthSeconds: 1200,
  /** One node's OS upgrade: install, reboot, back on the new version and healthy. */
  osUpgradeSeconds: 1800,
  /** Evicting a node's pods (upgrade on Talos ≥ 1.13, removal), PodDisruptionBudgets honoured. */
  drainSeconds: 600,
  /** A removed node's reset through the Talos API, until it stops answering. */
  resetSeconds: 600,
} as const;

/** The CNI as the post-CNI health check sees it: a change of chart version or values makes it check again. */
export interface CniRelease {
  readonly release: pulumi.Resource;
  readonly chartVersion: pulumi.Input<string>;
  readonly values: pulumi.Input<Record<string, unknown>>;
}

/**
 * The Talos layer: machine secrets, one machine config per node, applied in a rolling chain (control
 * planes one at a time, workers by batches, each step behind the previous node's NodeGate), etcd
 * bootstrapped once on the first control plane, every node awaited (ClusterReady), kubeconfig and
 * talosconfig. On a first bring-up the gates only record, so the chain costs the applies' RPCs.
 */
export class TalosCluster extends pulumi.ComponentResource {
  /** Admin kubeconfig; resolves only once every node is ready (ClusterReady, the pre-CNI wait). Secret. */
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
  /** One rolling gate per node, by node name. */
  readonly gates: ReadonlyMap<string, pulumi.Resource>;
  /** One OS upgrade per node, by node name. */
  readonly upgrades: ReadonlyMap<string, pulumi.Resource>;
  /** One membership per node (its delete removes the node from the cluster), by node name. */
  readonly memberships: ReadonlyMap<string, pulumi.Resource>;
  readonly bootstrap: pulumi.Resource;
  /** Every node ready (pre-CNI); what the kubeconfig output waits for. */
  readonly clusterReady: ClusterReady;

  private readonly controlPlaneIps: string[];
  private readonly workerIps: string[];
  /** Node set and versions: a change makes the cluster-wide waits run again. */
  private readonly clusterShape: Record<string, unknown>;
  private readonly versions: { talos: string; kubernetes: string };

  constructor(name: string, args: TalosClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("talos-gitops:talos:TalosCluster", name, {}, opts);
    const { config } = args;
    const parent = { parent: this };
    this.endpoint = `https://${config.endpoint.host}:${config.endpoint.port}`;
    this.nodes = config.nodes.map((n) => ({ name: n.name, ip: n.ip, role: n.role }));
    this.controlPlaneIps = config.nodes.filter((n) => n.role === "controlplane").map((n) => n.ip);
    this.workerIps = config.nodes.filter((n) => n.role === "worker").map((n) => n.ip);

    // Versions the stack moves to that no rolling upgrade reaches fail the preview (its diff refuses).
    // Everything a version change touches waits for it: a dependency is registered only once the
    // guard's step is done (the SDK awaits its URN), so a refused change updates nothing before it.
    const guard = new VersionGuard(
      "versions",
      {
        file: `Pulumi.${pulumi.getStack()}.yaml`,
        talosVersion: config.talos.version,
        kubernetesVersion: config.talos.kubernetesVersion,
        kubernetesRange: kubernetesRangeOf(config.talos.version),
      },
      parent,
    );

    // Losing this loses the cluster PKI: protected, and kept out of every plan as a secret.
    const secrets = new machine.Secrets(
      "secrets",
      { talosVersion: config.talos.version },
      { ...parent, protect: true, dependsOn: [guard] },
    );
    this.clientConfiguration = secrets.clientConfiguration;

    const schematicIds = this.schematics(config, guard);
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

    const lifecycleKube = lifecycleKubeconfig(
      { cluster: config.name, server: this.endpoint, machineSecrets: secrets.machineSecrets },
      this,
    );
    // os:reader for every Talos call a reader may make; the admin certificate only where a call needs it.
    const readerConfiguration = readerClientConfiguration(secrets.machineSecrets, this);
    const upgrades = this.osUpgrades(config, schematicIds, {
      guard,
      kubeconfig: lifecycleKube,
      clientConfiguration: secrets.clientConfiguration,
      readerConfiguration,
    });

    // Rolling chain: each apply waits for the gates of the step before (control planes one by one,
    // then workers by batches of maxUnavailableWorkers). A gate's create only records, so a first
    // bring-up pays the applies' RPCs here; an update waits at every gate for that node to be back.
    // The chain starts after every OS upgrade: the machine configs speak the new version's contract
    // only once every node runs it (on a first bring-up the upgrades only record).
    const applies = new Map<string, pulumi.Resource>();
    const gates = new Map<string, pulumi.Resource>();
    const memberships = new Map<string, pulumi.Resource>();
    let previous: pulumi.Resource[] = [...upgrades.values()];
    let previousMembership: pulumi.Resource | undefined;
    for (const batch of rolloutSteps(config)) {
      const batchGates: pulumi.Resource[] = [];
      for (const node of batch) {
        const schematicId = schematicIds.get(node.name);
        const machineConfiguration = machineConfigs.get(node.role);
        if (!schematicId || !machineConfiguration) throw new Error(`internal: no schematic or machine config for ${node.name}`);
        const configPatches = schematicId.apply((id) => renderPatches(nodePatches(config, node, id, contract)));
        const apply = new machine.ConfigurationApply(
          applyName(node),
          {
            node: node.ip,
            endpoint: node.ip,
            clientConfiguration: secrets.clientConfiguration,
            machineConfigurationInput: machineConfiguration,
            configPatches,
            applyMode: "auto",
            // Leaving the stack is its NodeMembership's delete (drain, leave etcd, reset, Node object
            // gone), which the engine runs before this one: deleting the apply only forgets it.
            onDestroy: { reset: false, graceful: true, reboot: true },
            timeouts: talosTimeouts.apply,
          },
          {
            ...parent,
            dependsOn: previous,
            protect: isProtected(config, node),
            // Applies were named by node before: the engine finds those in state under this alias.
            aliases: [{ name: `apply-${node.name}` }],
          },
        );
        const gate = new NodeGate(
          gateName(node),
          {
            node: node.ip,
            clientConfiguration: secrets.clientConfiguration,
            readerConfiguration,
            expectations: { role: node.role, talosVersion: config.talos.version },
            // What the apply sends, so the gate waits exactly when the apply changed the node.
            fingerprint: configPatches.apply((patches) =>
              fingerprintOf({ patches, ...nodeShape(config, node), endpoint: this.endpoint, cluster: config.name }),
            ),
            waitOnCreate: false,
            applyMode: apply.resolvedApplyMode,
            rebootGraceSeconds: talosTimeouts.rebootGraceSeconds,
            timeoutSeconds: talosTimeouts.gateSeconds,
            // A Kubernetes version change rolls node by node only if each node is back on it first.
            kubernetes: { nodeName: node.name, version: config.talos.kubernetesVersion, kubeconfig: lifecycleKube },
          },
          { ...parent, dependsOn: [apply] },
        );
        // Memberships are chained in config order, so removals run one after the other (the engine
        // deletes in reverse dependency order): never two nodes drained at once, and a second
        // control plane in a run is refused by its own delete.
        const membership = new NodeMembership(
          membershipName(node),
          {
            nodeName: node.name,
            node: node.ip,
            role: node.role,
            controlPlanes: this.controlPlaneIps.map((ip) => ({ node: ip, endpoint: ip, port: talosApiPort })),
            kubeconfig: lifecycleKube,
            clientConfiguration: secrets.clientConfiguration,
            readerConfiguration,
            drainTimeoutSeconds: talosTimeouts.drainSeconds,
            ...drainPolicy(config.talos.rollout.unmanagedPods),
            resetTimeoutSeconds: talosTimeouts.resetSeconds,
            // A rename waits for the new Node as long as the node's gate does.
            renameTimeoutSeconds: talosTimeouts.gateSeconds,
          },
          {
            ...parent,
            dependsOn: [apply, ...(previousMembership ? [previousMembership] : [])],
            // Its delete is what resets the machine: protected like the apply.
            protect: isProtected(config, node),
          },
        );
        previousMembership = membership;
        applies.set(node.name, apply);
        gates.set(node.name, gate);
        memberships.set(node.name, membership);
        batchGates.push(gate);
      }
      previous = batchGates;
    }
    this.applies = applies;
    this.gates = gates;
    this.memberships = memberships;
    this.upgrades = upgrades;
    this.versions = { talos: config.talos.version, kubernetes: config.talos.kubernetesVersion };
    this.clusterShape = {
      nodes: config.nodes.map((n) => [n.name, n.ip, n.role]),
      talosVersion: config.talos.version,
      kubernetesVersion: config.talos.kubernetesVersion,
    };

    const first = config.nodes[0];
    const firstApply = first && applies.get(first.name);
    if (!first || !firstApply) throw new Error("internal: validation guarantees a first control plane");
    // etcd is bootstrapped exactly once, on the first control plane, as soon as that node is configured.
    this.bootstrap = new machine.Bootstrap(
      "bootstrap",
      { node: first.ip, endpoint: first.ip, clientConfiguration: secrets.clientConfiguration, timeouts: talosTimeouts.bootstrap },
      { ...parent, dependsOn: [firstApply] },
    );

    const kubeconfig = new talosCluster.Kubeconfig(
      "kubeconfig",
      { node: first.ip, endpoint: first.ip, clientConfiguration: secrets.clientConfiguration, timeouts: talosTimeouts.kubeconfig },
      { ...parent, dependsOn: [this.bootstrap] },
    );

    // Without a CNI the nodes stay NotReady and Talos' health check (always with Kubernetes checks)
    // cannot pass: before Cilium, every node ready by the gates' rules is the wait. After the bootstrap
    // and every gate, so it never expects a node removed this run or one not yet applied.
    this.clusterReady = new ClusterReady(
      "cluster-ready",
      {
        nodes: config.nodes.map((n) => ({ ip: n.ip, role: n.role })),
        talosVersion: config.talos.version,
        // Reads only: the os:reader certificate is all it gets.
        clientConfiguration: readerConfiguration,
        fingerprint: fingerprintOf(this.clusterShape),
        timeoutSeconds: talosTimeouts.clusterReadySeconds,
      },
      { ...parent, dependsOn: [this.bootstrap, ...gates.values()] },
    );
    this.kubeconfig = pulumi.secret(pulumi.all([kubeconfig.kubeconfigRaw, this.clusterReady.id]).apply(([raw]) => raw));
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
   * Talos' full health check (Kubernetes included) once the CNI runs: a resource that checks on
   * create and when a node joins, the versions or the CNI (chart version, values) change. Resources
   * that need a healthy cluster depend on it. The node lists are compared by the provider, not
   * fingerprinted: a run that only removes nodes must not check, because the removed node is
   * still a Kubernetes Node until its delete, which the engine runs last, and Talos' check would
   * count it as unexpected.
   */
  health(cni: CniRelease): ClusterHealth {
    return new ClusterHealth(
      "cluster-health",
      {
        controlPlaneNodes: this.controlPlaneIps,
        workerNodes: this.workerIps,
        clientConfiguration: this.clientConfiguration,
        fingerprint: pulumi
          .all([cni.chartVersion, cni.values])
          .apply(([chartVersion, values]) =>
            fingerprintOf({ versions: this.versions, cni: { chartVersion, values: fingerprintOf(values) } }),
          ),
        timeoutSeconds: talosTimeouts.clusterHealthSeconds,
      },
      { parent: this, dependsOn: [cni.release, this.clusterReady] },
    );
  }

  /**
   * One OsUpgrade per node, in the rolling order: control planes one at a time, then worker batches,
   * each waiting until every node of the batch before is back on the target version. A version or
   * schematic change upgrades each node through the Talos API; otherwise they change nothing.
   */
  private osUpgrades(
    config: ClusterConfig,
    schematicIds: ReadonlyMap<string, pulumi.Output<string>>,
    shared: {
      guard: pulumi.Resource;
      kubeconfig: pulumi.Output<string>;
      clientConfiguration: pulumi.Output<ClientConfiguration>;
      readerConfiguration: pulumi.Output<ClientConfiguration>;
    },
  ): Map<string, pulumi.Resource> {
    const plan = upgradePlan(
      config.nodes.map((n) => ({ name: n.name, role: n.role })),
      { maxUnavailableWorkers: config.talos.rollout.maxUnavailableWorkers },
    );
    const waits = upgradeDependencies(plan);
    const byName = new Map(config.nodes.map((n) => [n.name, n]));
    const upgrades = new Map<string, pulumi.Resource>();
    for (const name of plan.flatMap((batch) => batch.nodes)) {
      const node = byName.get(name);
      const schematicId = schematicIds.get(name);
      if (!node || !schematicId) throw new Error(`internal: no node or schematic for ${name}`);
      const before = (waits.get(name) ?? []).map((n) => upgrades.get(n)).filter((r): r is pulumi.Resource => r !== undefined);
      upgrades.set(
        name,
        new OsUpgrade(
          osUpgradeName(node),
          {
            node: node.ip,
            nodeName: node.name,
            role: node.role,
            clientConfiguration: shared.clientConfiguration,
            readerConfiguration: shared.readerConfiguration,
            controlPlanes: this.controlPlaneIps.map((ip) => ({ node: ip, endpoint: ip, port: talosApiPort })),
            kubeconfig: shared.kubeconfig,
            // The same reference the node's machine config installs from (patches: machine.install.image).
            image: schematicId.apply((id) => installerImage(id, config.talos.version)),
            targetVersion: config.talos.version,
            timeoutSeconds: talosTimeouts.osUpgradeSeconds,
            drainTimeoutSeconds: talosTimeouts.drainSeconds,
            unmanagedPods: config.talos.rollout.unmanagedPods,
          },
          { parent: this, dependsOn: [shared.guard, ...before] },
        ),
      );
    }
    return upgrades;
  }

  /** The stack's schematic as "schematic", a node's own one as "schematic-<node>"; ids by node name. */
  private schematics(config: ClusterConfig, guard: pulumi.Resource): Map<string, pulumi.Output<string>> {
    const ids = new Map<string, pulumi.Output<string>>();
    // The provider updates a changed schematic in place and gets a new id, but Pulumi keeps a
    // resource's id on update: only a replacement hands the new schematic id to the installer image.
    const schematicOptions = { parent: this, replaceOnChanges: ["schematic"], dependsOn: [guard] };
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

/** A node's gate, named by address like its apply. */
export function gateName(node: Pick<ClusterNode, "ip">): string {
  return `gate-${node.ip}`;
}

/** A node's membership, named by address: its delete resets the machine there. */
export function membershipName(node: Pick<ClusterNode, "ip">): string {
  return `membership-${node.ip}`;
}

/** A node's OS upgrade, named by address. */
export function osUpgradeName(node: Pick<ClusterNode, "ip">): string {
  return `osupgrade-${node.ip}`;
}

/**
 * The rolling order (upgradePlan's, which the OS upgrades follow too): each control plane alone, in
 * config order, then the workers in batches of `talos.rollout.maxUnavailableWorkers`, in config order.
 */
export function rolloutSteps(config: ClusterConfig): ClusterNode[][] {
  const byName = new Map(config.nodes.map((n) => [n.name, n]));
  return upgradePlan(config.nodes, { maxUnavailableWorkers: config.talos.rollout.maxUnavailableWorkers }).map((batch) =>
    batch.nodes.map((name) => {
      const node = byName.get(name);
      if (!node) throw new Error(`internal: no node ${name}`);
      return node;
    }),
  );
}

/** The Kubernetes minors the stack's Talos line supports (validation has refused any other line). */
function kubernetesRangeOf(talosVersion: string): KubernetesRange {
  const range = talosKubernetes[minorLine(talosVersion) ?? ""];
  if (!range) throw new Error(`internal: no Kubernetes range for Talos ${talosVersion}`);
  return { min: `1.${range.min}`, max: `1.${range.max}` };
}

/** What a node's wait depends on besides its patches. */
function nodeShape(config: ClusterConfig, node: ClusterNode): Record<string, unknown> {
  return {
    name: node.name,
    ip: node.ip,
    role: node.role,
    talosVersion: config.talos.version,
    kubernetesVersion: config.talos.kubernetesVersion,
  };
}

export function fingerprintOf(value: unknown): string {
  return `sha256:${createHash("sha256").update(canonical(value)).digest("hex")}`;
}

/** Removing a control plane costs etcd a member: refused (protected) unless the stack allows it. */
function isProtected(config: ClusterConfig, node: ClusterNode): boolean {
  return node.role === "controlplane" && !config.talos.allowControlPlaneRemoval;
}
