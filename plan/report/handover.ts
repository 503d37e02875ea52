import { handoverCriteria } from "../../components/flux/handoverCriteria";
import type { Recording } from "../record/harness";
import type { Json } from "../record/wire";

/**
 * The plan's hand-over section: the criteria `pulumi up` awaits (with the annotations the recorded
 * resources really carry), and what is kept on delete.
 */
export function handoverSection(recording: Recording): string[] {
  const lines: string[] = [];
  const byName = new Map(recording.resources.filter((r) => r.custom).map((r) => [r.name, r]));
  if (handoverCriteria.some((c) => byName.has(c.awaitedBy))) {
    lines.push("", "== Hand-over to Flux: pulumi up completes only when");
    for (const c of handoverCriteria) {
      const r = byName.get(c.awaitedBy);
      const annotations = ((r?.inputs as Record<string, Json> | undefined)?.metadata as Record<string, Json> | undefined)?.annotations;
      const waits = Object.entries((annotations as Record<string, Json> | undefined) ?? {})
        .filter(([k]) => k.startsWith("pulumi.com/"))
        .map(([k, v]) => `${k}: ${String(v)}`);
      lines.push(
        `  - ${c.criterion}`,
        `    awaited by ${r ? c.awaitedBy : `${c.awaitedBy} (not in this plan)`}${waits.length > 0 ? ` (${waits.join(", ")})` : ""}: ${c.how}`,
        `    if not: ${c.inspect.join(" ; ")}`,
      );
    }
  }
  const kept = recording.resources.filter((r) => r.retainOnDelete);
  if (kept.length > 0) {
    lines.push(
      "",
      "== Kept on delete (retainOnDelete): removing one from the program, disabling its component or pulumi destroy leaves it, its CRDs and custom resources in the cluster",
      `    ${kept.map((r) => `${r.name} [${r.type.split(":").pop() ?? r.type}]`).join(", ")}`,
    );
  }
  return lines;
}
