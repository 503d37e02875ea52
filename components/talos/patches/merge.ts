import { isTypedDoc, type ConfigDocument, type PatchDoc, type TypedDoc } from "./types";

type Doc = Record<string, unknown>;

/** Lists Talos merges by a key instead of appending (its strategic-merge rules). */
const mergeKeys: Record<string, string> = { interfaces: "interface", vlans: "vlanId" };
/** Lists Talos replaces outright. */
const replacedLists = new Set(["podSubnets", "serviceSubnets"]);

/** Merges v1alpha1 patches in order as Talos does (objects deep-merged, lists appended unless keyed or replaced). */
export function mergePatches(base: Doc, patches: readonly PatchDoc[]): Doc {
  return patches.reduce<Doc>((acc, patch) => mergeObject(acc, patch as Doc), base);
}

/**
 * Merges whole patch streams as Talos' strategic merge does (configpatcher/strategic.go at v1.12.11):
 * the v1alpha1 parts into the base's v1alpha1 document, a typed document into the base's document of
 * the same apiVersion, kind and name, and typed documents the base lacks appended in order.
 */
export function mergeDocuments(base: readonly ConfigDocument[], patches: readonly ConfigDocument[]): ConfigDocument[] {
  const out = [...base];
  for (const doc of patches) {
    const index = out.findIndex((d) => documentId(d) === documentId(doc));
    if (index < 0) out.push(doc);
    else out[index] = mergeObject(out[index] as Doc, doc as Doc) as ConfigDocument;
  }
  return out;
}

function documentId(doc: ConfigDocument): string {
  return isTypedDoc(doc) ? `${doc.apiVersion}/${doc.kind}/${nameOf(doc)}` : "v1alpha1";
}

function nameOf(doc: TypedDoc): string {
  return typeof doc.name === "string" ? doc.name : "";
}

function mergeObject(target: Doc, patch: Doc): Doc {
  const out: Doc = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    const existing = out[key];
    if (Array.isArray(value) && Array.isArray(existing)) {
      out[key] = replacedLists.has(key) ? value : mergeList(existing, value, mergeKeys[key]);
    } else if (isDoc(value) && isDoc(existing)) {
      out[key] = mergeObject(existing, value);
    } else {
      out[key] = value;
    }
  }
  return out;
}

function mergeList(existing: unknown[], added: unknown[], key: string | undefined): unknown[] {
  if (key === undefined) return [...existing, ...added];
  const out = [...existing];
  for (const item of added) {
    const index = isDoc(item) ? out.findIndex((e) => isDoc(e) && e[key] === item[key]) : -1;
    if (index < 0) out.push(item);
    else out[index] = mergeObject(out[index] as Doc, item as Doc);
  }
  return out;
}

function isDoc(value: unknown): value is Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
