import type * as dynamic from "@pulumi/pulumi/dynamic";
import { checkKubernetesUpgrade, checkOsUpgradeStep, type KubernetesRange } from "./upgradePlan";

/**
 * The VersionGuard's provider. It records the versions a stack was last brought to; its `diff` —
 * which the engine calls with the recorded outputs on every preview and up — refuses a version
 * change no rolling upgrade can carry out (a skipped minor, a downgrade, Kubernetes outside the
 * target Talos' range) before any resource changes. Serialized like the NodeGate's provider: plain
 * functions only (see nodeGateProvider.ts).
 */
export interface VersionGuardInputs {
  /** The stack file, for messages: `Pulumi.<stack>.yaml`. */
  file: string;
  talosVersion: string;
  kubernetesVersion: string;
  /** The Kubernetes minors the target Talos supports. */
  kubernetesRange: KubernetesRange;
}

export type VersionGuardOutputs = VersionGuardInputs;

const guarded = ["talosVersion", "kubernetesVersion"] as const;

/**
 * Why the change from the recorded versions to the new ones cannot be rolled out, one line per
 * version key (`<file> talos.version: ...`); empty when it can. An unchanged version passes the
 * step checks, so only a first record (nothing before) skips them.
 */
export function versionRefusals(olds: Partial<VersionGuardOutputs>, news: VersionGuardInputs): string[] {
  const refusals: string[] = [];
  if (olds.talosVersion !== undefined) {
    const step = checkOsUpgradeStep(olds.talosVersion, news.talosVersion);
    if (!step.allowed) refusals.push(`${news.file} talos.version: ${step.reason}`);
  }
  if (olds.kubernetesVersion !== undefined) {
    const step = checkKubernetesUpgrade(olds.kubernetesVersion, news.kubernetesVersion, news.kubernetesRange);
    if (!step.allowed) refusals.push(`${news.file} talos.kubernetesVersion: ${step.reason}`);
  }
  return refusals;
}

function outputsOf(inputs: VersionGuardInputs): VersionGuardOutputs {
  const { file, talosVersion, kubernetesVersion, kubernetesRange } = inputs;
  return { file, talosVersion, kubernetesVersion, kubernetesRange };
}

export const versionGuardProvider: dynamic.ResourceProvider<VersionGuardInputs, VersionGuardOutputs> & {
  outputsOf(inputs: VersionGuardInputs): VersionGuardOutputs;
} = {
  async diff(_id, olds, news) {
    const refusals = versionRefusals(olds, news);
    // A diff that throws fails the preview and the update before any step runs: the SDK's provider
    // host returns the exception as the Diff RPC's error (sdk/nodejs/cmd/dynamic-provider/index.ts, diff).
    if (refusals.length > 0) throw new Error(`refused version change: ${refusals.join("; ")}`);
    return { changes: guarded.some((key) => olds[key] !== news[key]), replaces: [] };
  },
  outputsOf,
  async create(inputs) {
    return { id: "versions", outs: outputsOf(inputs) };
  },
  async update(_id, _olds, news) {
    return { outs: outputsOf(news) };
  },
  async delete() {
    // Only a record.
  },
};
