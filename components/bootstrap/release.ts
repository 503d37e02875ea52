import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { versions } from "../../stacks/versions";

type ChartKey = keyof typeof versions.charts & keyof typeof versions.chartSources;

/** Seconds a release may take on a first boot (image pulls on fresh nodes). */
export const releaseTimeoutSeconds = 600;

export interface ChartReleaseArgs {
  readonly chart: ChartKey;
  readonly namespace: string;
  readonly values: pulumi.Input<Record<string, unknown>>;
  /**
   * Helm's own wait (on by default, with `atomic` rollback). Off only where the release cannot
   * become ready by itself yet, and readiness is awaited another way.
   */
  readonly wait?: boolean;
  readonly waitForJobs?: boolean;
}

/** A pinned Helm release with the settings every bootstrap chart shares. */
export function chartRelease(name: string, args: ChartReleaseArgs, opts: pulumi.CustomResourceOptions): k8s.helm.v3.Release {
  const source = versions.chartSources[args.chart];
  const wait = args.wait ?? true;
  return new k8s.helm.v3.Release(
    name,
    {
      name,
      chart: source.chart,
      version: versions.charts[args.chart],
      ...("repo" in source ? { repositoryOpts: { repo: source.repo } } : {}),
      namespace: args.namespace,
      createNamespace: false,
      values: args.values,
      // Roll back a failed install or upgrade instead of leaving it half-applied (needs the wait).
      atomic: wait,
      cleanupOnFail: true,
      skipAwait: !wait,
      waitForJobs: wait && (args.waitForJobs ?? false),
      timeout: releaseTimeoutSeconds,
      maxHistory: 5,
    },
    opts,
  );
}
