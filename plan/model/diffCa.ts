import { caResourcePrefix } from "../../components/clustermesh/clusterMesh";
import type { Baseline } from "./baseline";
import type { RecordedResource } from "../record/harness";
import type { Issue, Step } from "./steps";

/**
 * The ClusterMesh CA goes only on purpose (issue #16): a replace or delete of the shared CA's key or
 * certificate (`tls` PrivateKey / SelfSignedCert named `clustermesh-ca*`) is an error unless this run
 * raised `cilium.clustermesh.caGeneration`, which the resources' names carry (`…-g<n>`). Protection
 * makes the engine refuse as well, but state can be unprotected by hand; this rule holds regardless.
 */
export const caTypes: readonly string[] = ["tls:index/privateKey:PrivateKey", "tls:index/selfSignedCert:SelfSignedCert"];

export const isMeshCa = (r: { type: string; name: string }) => caTypes.includes(r.type) && r.name.startsWith(caResourcePrefix);

/** The highest CA generation among these resources' names, or 0 without any. */
function generation(resources: ReadonlyArray<{ type: string; name: string }>): number {
  return Math.max(0, ...resources.filter(isMeshCa).map((r) => Number(/-g(\d+)$/.exec(r.name)?.[1] ?? 0)));
}

export function caErrors(steps: readonly Step[], base: Baseline, next: readonly RecordedResource[]): Issue[] {
  const before = generation(base.resources);
  const after = generation(next);
  if (after > before) return [];
  return steps
    .filter((s) => (s.op === "replace" || s.op === "delete") && isMeshCa(s))
    .map((s) => ({
      urn: s.urn,
      message:
        `the ClusterMesh CA ${s.name} would be ${s.op === "delete" ? "deleted" : "replaced"} (${s.reason}) ` +
        `without raising cilium.clustermesh.caGeneration (generation ${before} before, ${after} now): every member's mesh would break`,
    }));
}
