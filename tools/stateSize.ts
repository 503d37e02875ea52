import { offlineOutputs, providerKey } from "../plan/record/dynamicProvider";
import type { Recording } from "../plan/record/harness";
import type { Json } from "../plan/record/wire";

/**
 * State bytes of a recorded stack, as the engine would store them: every resource's inputs and
 * outputs (pulumi/pulumi v3.248.0 sdk/go/common/apitype/core.go `ResourceV3`: `inputs`, `outputs`),
 * JSON-encoded. A dynamic resource's outputs are its provider's outs plus `__provider`
 * (sdk/nodejs/cmd/dynamic-provider/index.ts `resultIncludingProvider`), so its serialized provider is
 * stored twice. Secret values are counted as their plain JSON (the engine stores ciphertext, somewhat
 * larger). Outputs of other resources are not known offline: their inputs stand in for them.
 */
export interface StateSize {
  readonly nodes: number;
  readonly resources: number;
  /** Inputs + outputs of the dynamic resources (`pulumi-nodejs:dynamic…`), `__provider` included. */
  readonly dynamicBytes: number;
  /** Of which the `__provider` texts (inputs and outputs). */
  readonly providerBytes: number;
  /** Every resource: inputs + outputs (dynamic), inputs twice (the others). */
  readonly totalBytes: number;
  /** Per dynamic type: bytes and count. */
  readonly byType: Readonly<Record<string, { bytes: number; count: number }>>;
}

const isDynamicType = (type: string) => type.startsWith("pulumi-nodejs:dynamic");
const bytes = (value: unknown) => Buffer.byteLength(JSON.stringify(value ?? null));

/** Sizes of `recording` (a non-preview `record()` of a stack with `nodes` nodes). */
export function stateSize(recording: Recording, nodes: number): StateSize {
  let dynamicBytes = 0;
  let providerBytes = 0;
  let totalBytes = 0;
  const byType: Record<string, { bytes: number; count: number }> = {};
  for (const r of recording.resources) {
    const inputs = recording.plainInputs(r.urn) as Record<string, Json>;
    if (!isDynamicType(r.type)) {
      totalBytes += 2 * bytes(inputs);
      continue;
    }
    const outputs = { ...(offlineOutputs(inputs) ?? inputs), [providerKey]: inputs[providerKey] ?? null };
    const size = bytes(inputs) + bytes(outputs);
    dynamicBytes += size;
    totalBytes += size;
    providerBytes += 2 * Buffer.byteLength(String(inputs[providerKey] ?? ""));
    const entry = (byType[r.type] ??= { bytes: 0, count: 0 });
    entry.bytes += size;
    entry.count += 1;
  }
  return { nodes, resources: recording.resources.length, dynamicBytes, providerBytes, totalBytes, byType };
}

/**
 * What each added node costs in state, between two sizes of the same stack: the per-node figure of
 * a small stack also carries the cluster-wide resources (charts, Flux, VersionGuard, ClusterHealth)
 * divided by its few nodes. Offline, credentials and the rendered machine configuration are
 * placeholders of a few dozen bytes: a real state holds PEM certificates (about 1.3 KB per Talos client
 * configuration, 1.8 KB per kubeconfig) and, in the bridged ConfigurationApply, the machine
 * configuration itself, input and output (pulumiverse/pulumi-talos v0.8.1 schema: both secret).
 */
export function perAddedNode(small: StateSize, large: StateSize): { dynamicBytes: number; totalBytes: number; fixedBytes: number } {
  const nodes = large.nodes - small.nodes;
  const dynamicBytes = (large.dynamicBytes - small.dynamicBytes) / nodes;
  const totalBytes = (large.totalBytes - small.totalBytes) / nodes;
  return { dynamicBytes, totalBytes, fixedBytes: small.totalBytes - totalBytes * small.nodes };
}

/** One line for `npm run bench`. */
export function formatStateSize(size: StateSize): string {
  const kb = (n: number) => `${(n / 1024).toFixed(1)} KB`;
  return (
    `${String(size.nodes).padStart(3)} nodes: state ${kb(size.totalBytes / size.nodes)}/node ` +
    `(dynamic resources ${kb(size.dynamicBytes / size.nodes)}/node, of which serialized providers ${kb(size.providerBytes / size.nodes)}/node; ` +
    `total ${kb(size.totalBytes)}, ${size.resources} resources)`
  );
}
