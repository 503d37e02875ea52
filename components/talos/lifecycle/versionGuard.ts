import * as pulumi from "@pulumi/pulumi";
import type { KubernetesRange } from "./upgradePlan";
import { thinEntry } from "../../dynamic/thinProvider";

// The provider is a thin entry that loads this module when the engine calls it (components/dynamic/thinProvider.ts).
const logic = thinEntry(require.resolve("./versionGuardProvider"), "versionGuardProvider");

export interface VersionGuardArgs {
  file: string;
  talosVersion: string;
  kubernetesVersion: string;
  kubernetesRange: KubernetesRange;
}

/**
 * The Talos and Kubernetes versions the stack was last brought to. Changing them to versions no
 * rolling upgrade reaches (a skipped minor, a downgrade) fails the preview: its provider's diff
 * refuses, before any step runs. Everything that changes a node depends on it.
 */
export class VersionGuard extends pulumi.dynamic.Resource {
  declare readonly talosVersion: pulumi.Output<string>;
  declare readonly kubernetesVersion: pulumi.Output<string>;

  constructor(name: string, args: VersionGuardArgs, opts?: pulumi.CustomResourceOptions) {
    super(logic.provider, name, { ...logic.inputs, ...args }, opts, "talos", "VersionGuard");
  }
}
