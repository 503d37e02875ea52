import type { RecordedResource } from "../record/harness";

/**
 * Nominal durations (seconds) of each step of a first bring-up, by resource type. They are
 * estimates from bringing up bare-metal Talos nodes, good for comparing orderings, not promises.
 *
 * | step                                   | seconds | why                                              |
 * | -------------------------------------- | ------- | ------------------------------------------------ |
 * | Talos machine secrets                  |       1 | generated locally                                |
 * | Image Factory schematic                |       3 | one HTTPS call                                   |
 * | config apply                           |      10 | one ApplyConfiguration RPC, then it returns (1)  |
 * | node install + reboot (after an apply) |     300 | in the background; waited by bootstrap and ClusterReady (2) |
 * | node gate, create                      |       1 | records its fingerprint, waits for nothing       |
 * | OS upgrade, membership, versions, create |     1 | record only: no call to the machine              |
 * | lifecycle key, CSR, certificate (tls)  |       1 | computed locally by the tls provider             |
 * | etcd bootstrap                         |      60 | etcd forms, API server starts                    |
 * | kubeconfig                             |      10 | one RPC                                          |
 * | ClusterReady (pre-CNI, every node)     |     180 | etcd members join, static pods become healthy    |
 * | ClusterHealth (full, after Cilium)     |     180 | the old full health wait: nodes Ready            |
 * | Helm release (default)                 |     120 | image pulls, rollout                             |
 * | Cilium release                         |     180 | agent on every node, operator, CRDs registered   |
 * | CRD bundle / small Kubernetes object   |   20/5  | API calls only                                   |
 * | Cloudflare object                      |       5 | API call                                         |
 * | components, providers                  |       0 | logical only                                     |
 *
 * (1) terraform-provider-talos v0.11.0 (bridged by pulumi-talos 0.8.1), talos_machine_configuration_apply
 * Create/Update: ApplyConfiguration in a retry loop, then the state is set; nothing waits for the node.
 * (2) A resource that waits for nodes (`waitsForNodes`) starts no earlier than every upstream apply's
 * end plus the install time: the bootstrap retries until the first control plane is installed, and
 * ClusterReady polls every node.
 */
export const nominalSeconds: ReadonlyArray<readonly [match: (r: RecordedResource) => boolean, seconds: number]> = [
  [(r) => r.type.startsWith("kubernetes:yaml/v2:"), 20],
  [(r) => !isStep(r), 0],
  [(r) => r.type === "talos:imageFactory/schematic:Schematic", 3],
  [(r) => r.type === "talos:machine/configurationApply:ConfigurationApply", 10],
  [(r) => r.type === "talos:machine/bootstrap:Bootstrap", 60],
  [(r) => r.type === "talos:cluster/kubeconfig:Kubeconfig", 10],
  [(r) => r.type === clusterReadyType, 180],
  [(r) => r.type === clusterHealthType, 180],
  [(r) => r.type === "kubernetes:helm.sh/v3:Release" && /cilium/.test(r.name), 180],
  [(r) => r.type === "kubernetes:helm.sh/v3:Release", 120],
  [(r) => r.type.includes("CustomResourceDefinition"), 20],
  [(r) => r.type.startsWith("kubernetes:"), 5],
  [(r) => r.type.startsWith("cloudflare:"), 5],
  // Anything else (machine secrets, node gates, the lifecycle records, tls): 1 s, durationOf's default.
];

export const applyType = "talos:machine/configurationApply:ConfigurationApply";
export const nodeGateType = "pulumi-nodejs:dynamic/talos:NodeGate";
export const clusterReadyType = "pulumi-nodejs:dynamic/talos:ClusterReady";
export const clusterHealthType = "pulumi-nodejs:dynamic/talos:ClusterHealth";

/** A node installs and reboots this long after its (first) apply returned. */
export const installSeconds = 300;

/** Resources that wait for the nodes their upstream applies configured to be installed. */
export function waitsForNodes(r: RecordedResource): boolean {
  return r.type === "talos:machine/bootstrap:Bootstrap" || r.type === clusterReadyType;
}

/** The same graph with the rolling chain cut: no apply waits for a gate (every node applied at once). */
export function withoutRollingChain(resources: readonly RecordedResource[]): RecordedResource[] {
  const gates = new Set(resources.filter((r) => r.type === nodeGateType).map((r) => r.urn));
  return resources.map((r) => (r.type === applyType ? { ...r, dependsOn: r.dependsOn.filter((d) => !gates.has(d)) } : r));
}

/**
 * What a resource waits for under the engine: its dependencies and its explicit provider (a
 * provider is ready only once its own inputs, such as a kubeconfig, are).
 */
export function waitsFor(resource: RecordedResource): string[] {
  return resource.provider ? [...resource.dependsOn, resource.provider] : [...resource.dependsOn];
}

/**
 * Whether a resource is a step of the bring-up: custom resources, and the Kubernetes provider's
 * remote YAML components (the provider applies their objects); not providers or our components.
 */
export function isStep(r: RecordedResource): boolean {
  return (r.custom && !r.type.startsWith("pulumi:providers:")) || r.type.startsWith("kubernetes:yaml/v2:");
}

export function durationOf(resource: RecordedResource): number {
  return nominalSeconds.find(([match]) => match(resource))?.[1] ?? 1;
}

export interface BringUp {
  /** Wall time when every step starts as soon as what it depends on is done. */
  readonly criticalPathSeconds: number;
  /** Wall time when every step runs one after another (the Taskfile/helmfile flow). */
  readonly sequentialSeconds: number;
  /** The longest chain, as resource names. */
  readonly path: string[];
}

/**
 * Longest path through the recorded dependency graph, weighted by nominal durations (or `duration`,
 * e.g. to model a rolling update), node installs included (see `waitsForNodes`).
 */
export function simulateBringUp(
  resources: readonly RecordedResource[],
  duration: (r: RecordedResource) => number = durationOf,
  install: number = installSeconds,
): BringUp {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  /** at: when it is done; installed: when every node its upstream applies configured is installed. */
  const finish = new Map<string, { at: number; installed: number; via?: string; installedVia?: string }>();
  const visit = (urn: string, stack: Set<string>): { at: number; installed: number } => {
    const done = finish.get(urn);
    if (done) return done;
    const resource = byUrn.get(urn);
    if (!resource || stack.has(urn)) return { at: 0, installed: 0 };
    stack.add(urn);
    let start = 0;
    let via: string | undefined;
    let installed = 0;
    let installedVia: string | undefined;
    for (const dep of waitsFor(resource)) {
      const f = visit(dep, stack);
      if (via === undefined || f.at > start) {
        start = f.at;
        via = dep;
      }
      if (f.installed > installed) {
        installed = f.installed;
        installedVia = finish.get(dep)?.installedVia;
      }
    }
    stack.delete(urn);
    if (waitsForNodes(resource) && installed > start) {
      start = installed;
      via = installedVia;
    }
    const at = start + duration(resource);
    const entry = { at, installed, installedVia, via };
    // An apply sets its node installing in the background: done `install` seconds after the RPC (at
    // or after every install upstream of it, which started earlier).
    if (resource.type === applyType) Object.assign(entry, { installed: at + install, installedVia: urn });
    finish.set(urn, entry);
    return entry;
  };
  for (const r of resources) visit(r.urn, new Set());

  let last: string | undefined;
  for (const [urn, f] of finish) if (last === undefined || f.at > (finish.get(last)?.at ?? 0)) last = urn;
  const path: string[] = [];
  // Each step once: a cycle (which the engine would refuse anyway) must not walk forever.
  const walked = new Set<string>();
  for (let urn = last; urn !== undefined && !walked.has(urn); urn = finish.get(urn)?.via) {
    walked.add(urn);
    const r = byUrn.get(urn);
    if (r && duration(r) > 0) path.unshift(r.name);
  }
  return {
    criticalPathSeconds: last ? (finish.get(last)?.at ?? 0) : 0,
    sequentialSeconds: resources.reduce((sum, r) => sum + duration(r), 0) + resources.filter((r) => r.type === applyType).length * install,
    path,
  };
}
