import type { RecordedResource } from "./harness";

/**
 * Nominal durations (seconds) of each step of a first bring-up, by resource type. They are
 * estimates from bringing up bare-metal Talos nodes, good for comparing orderings, not promises.
 *
 * | step                                   | seconds | why                                              |
 * | -------------------------------------- | ------- | ------------------------------------------------ |
 * | Talos machine secrets                  |       1 | generated locally                                |
 * | Image Factory schematic                |       3 | one HTTPS call                                   |
 * | config apply (install + reboot)        |     300 | install to disk, reboot, services up             |
 * | etcd bootstrap                         |      60 | etcd forms, API server starts                    |
 * | kubeconfig + health wait (pre-CNI)     |     180 | control plane static pods become healthy         |
 * | Helm release (default)                 |     120 | image pulls, rollout                             |
 * | Cilium release                         |     180 | agent on every node, operator, CRDs registered   |
 * | CRD bundle / small Kubernetes object   |   20/5  | API calls only                                   |
 * | Cloudflare object                      |       5 | API call                                         |
 * | components, providers                  |       0 | logical only                                     |
 */
export const nominalSeconds: ReadonlyArray<readonly [match: (r: RecordedResource) => boolean, seconds: number]> = [
  [(r) => r.type.startsWith("kubernetes:yaml/v2:"), 20],
  [(r) => !isStep(r), 0],
  [(r) => r.type === "talos:machine/secrets:Secrets", 1],
  [(r) => r.type === "talos:imageFactory/schematic:Schematic", 3],
  [(r) => r.type === "talos:machine/configurationApply:ConfigurationApply", 300],
  [(r) => r.type === "talos:machine/bootstrap:Bootstrap", 60],
  [(r) => r.type === "talos:cluster/kubeconfig:Kubeconfig", 180],
  [(r) => r.type === "kubernetes:helm.sh/v3:Release" && /cilium/.test(r.name), 180],
  [(r) => r.type === "kubernetes:helm.sh/v3:Release", 120],
  [(r) => r.type.includes("CustomResourceDefinition"), 20],
  [(r) => r.type.startsWith("kubernetes:"), 5],
  [(r) => r.type.startsWith("cloudflare:"), 5],
];

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

/** Longest path through the recorded dependency graph, weighted by nominal durations. */
export function simulateBringUp(resources: readonly RecordedResource[]): BringUp {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const finish = new Map<string, { at: number; via?: string }>();
  const visit = (urn: string, stack: Set<string>): number => {
    const done = finish.get(urn);
    if (done) return done.at;
    const resource = byUrn.get(urn);
    if (!resource || stack.has(urn)) return 0;
    stack.add(urn);
    let start = 0;
    let via: string | undefined;
    for (const dep of waitsFor(resource)) {
      const at = visit(dep, stack);
      if (via === undefined || at > start) {
        start = at;
        via = dep;
      }
    }
    stack.delete(urn);
    const at = start + durationOf(resource);
    finish.set(urn, { at, via });
    return at;
  };
  for (const r of resources) visit(r.urn, new Set());

  let last: string | undefined;
  for (const [urn, f] of finish) if (last === undefined || f.at > (finish.get(last)?.at ?? 0)) last = urn;
  const path: string[] = [];
  for (let urn = last; urn !== undefined; urn = finish.get(urn)?.via) {
    const r = byUrn.get(urn);
    if (r && durationOf(r) > 0) path.unshift(r.name);
  }
  return {
    criticalPathSeconds: last ? (finish.get(last)?.at ?? 0) : 0,
    sequentialSeconds: resources.reduce((sum, r) => sum + durationOf(r), 0),
    path,
  };
}
