/**
 * The shapes of what the patch functions emit. A Talos machine configuration is a stream of
 * documents: the legacy `v1alpha1` document (`version: v1alpha1`, `machine`, `cluster`) plus, from
 * Talos 1.5 on, typed documents that carry `apiVersion` and `kind` (and `name` when several of one
 * kind may exist). A patch is a partial stream, strategic-merged into the generated configuration.
 */

/** A partial legacy v1alpha1 document. */
export type PatchDoc = { machine?: Record<string, unknown>; cluster?: Record<string, unknown> };

/** A typed config document such as `HostnameConfig` or `BondConfig`. */
export type TypedDoc = { readonly apiVersion: "v1alpha1"; readonly kind: string } & Record<string, unknown>;

/** One document of a patch: the legacy v1alpha1 part or a typed document. */
export type ConfigDocument = PatchDoc | TypedDoc;

export interface NamedPatch {
  /** What the patch is about, for the plan's output. */
  readonly name: string;
  /** Rendered as one patch string; several documents are `---`-separated (see render.ts). */
  readonly documents: readonly ConfigDocument[];
}

export function isTypedDoc(doc: ConfigDocument): doc is TypedDoc {
  return "kind" in doc;
}
