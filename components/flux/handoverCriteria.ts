/**
 * When `pulumi up` may hand the cluster to Flux, as code. Each criterion names the Pulumi resource
 * whose await proves it, so a failed `pulumi up` names the criterion (the engine reports the
 * resource that timed out), and says how to look at it.
 *
 * The awaits are pulumi-kubernetes' own (provider/pkg/metadata/overrides.go `ReadyCondition`):
 * `pulumi.com/waitFor: condition=Ready` waits, like `kubectl wait --for=condition=Ready`, for a
 * `Ready=True` condition whose observedGeneration is the object's current generation
 * (provider/pkg/await/condition/kubectl.go `checkCondition`), on create and on every update;
 * `pulumi.com/timeoutSeconds` bounds it (metadata.TimeoutDuration; the default is 10 minutes).
 * On timeout the provider fails the resource with "timed out waiting for the condition"; the
 * next `pulumi up` awaits it again.
 *
 * The GitRepository and Kustomization `flux-system` are created by flux-operator from the
 * FluxInstance's `spec.sync`, so Pulumi does not own them and cannot annotate them. Their
 * readiness is reached through the FluxInstance: with `spec.wait: true` flux-operator marks the
 * instance Ready only after its kstatus health check passed for every object it applied, the two
 * sync objects included (flux-operator v0.58.1 `fluxinstance_controller.go` `apply`, docs/api/v1
 * fluxinstance.md "Ready FluxInstance": "all health checks are observed to be passing"). A
 * GitRepository is Ready once an artifact was fetched (the source is connected); a Kustomization
 * once it applied a revision.
 */
export interface HandoverCriterion {
  readonly id: string;
  readonly criterion: string;
  /** The Pulumi resource whose await proves it (logical name). */
  readonly awaitedBy: string;
  readonly how: string;
  readonly inspect: readonly string[];
}

/** Seconds `pulumi up` waits for the FluxInstance: three of flux-operator's 5-minute health-check rounds. */
export const fluxInstanceTimeoutSeconds = 900;

export const handoverCriteria: readonly HandoverCriterion[] = [
  {
    id: "operator-ready",
    criterion: "flux-operator is installed and its Deployment is available",
    awaitedBy: "flux-operator",
    how: "Helm's wait on the release (atomic, 600 s): a failed install rolls back",
    inspect: [
      "kubectl -n flux-system get deploy,pods -l app.kubernetes.io/name=flux-operator",
      "kubectl -n flux-system logs deploy/flux-operator",
    ],
  },
  {
    id: "instance-ready",
    criterion: "the FluxInstance reports Ready: Flux's controllers are installed and healthy",
    awaitedBy: "flux",
    how: `pulumi-kubernetes awaits Ready=True at the current generation (pulumi.com/waitFor: condition=Ready, ${fluxInstanceTimeoutSeconds} s)`,
    inspect: [
      "kubectl -n flux-system get fluxinstance flux -o yaml",
      "kubectl -n flux-system get events --field-selector involvedObject.name=flux",
    ],
  },
  {
    id: "source-connected",
    criterion: "the sync source (GitRepository flux-system) fetched an artifact from the repository",
    awaitedBy: "flux",
    how: "implied by the FluxInstance's Ready (spec.wait: true health-checks the sync GitRepository)",
    inspect: ["flux get sources git -n flux-system", "kubectl -n flux-system describe gitrepository flux-system"],
  },
  {
    id: "root-reconciled",
    criterion: "the root Kustomization (flux-system) applied a revision once",
    awaitedBy: "flux",
    how: "implied by the FluxInstance's Ready (spec.wait: true health-checks the sync Kustomization)",
    inspect: ["flux get kustomizations -n flux-system", "flux logs --kind=Kustomization --name=flux-system -n flux-system"],
  },
];

/** The annotations that make pulumi-kubernetes await the FluxInstance. */
export function fluxInstanceAwait(): Record<string, string> {
  return { "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": String(fluxInstanceTimeoutSeconds) };
}

/** What `pulumi up` prints for the hand-over: the criteria, and where to look when one fails. */
export function handoverMessage(): string {
  return [
    "hand-over to Flux: pulumi up completes only when",
    ...handoverCriteria.map((c) => `  - ${c.criterion} [awaited by ${c.awaitedBy}: ${c.how}]; if not: ${c.inspect.join(" ; ")}`),
  ].join("\n");
}
