import { digest } from "../record/digest";
import type { Json } from "../record/wire";

/**
 * Which inputs changed between two runs, as Pulumi property paths (`values.spegel.enabled`,
 * `configPatches[3]`, `data["net.core.rmem_max"]`). Like the engine's legacy diff, secretness
 * alone is no change: a secret compares by the digest of its value (plan/record/digest.ts), a plain value
 * by its own digest, so a value turning secret is not a change but a rotated reference is. When a
 * side has no digest (a document from before digests), the secret compares as unchanged.
 */
export interface InputSide {
  readonly inputs: Json;
  readonly secretPaths: readonly string[];
  readonly secretDigests: Readonly<Record<string, string>>;
}

const plainKey = /^[A-Za-z_$][\w$-]*$/;

/** The path of a key below a parent, in property-path form; `raw` is the form `decode` uses for secretPaths. */
function child(parent: { raw: string; shown: string }, key: string | number) {
  if (typeof key === "number") return { raw: `${parent.raw}[${key}]`, shown: `${parent.shown}[${key}]` };
  const raw = parent.raw === "" ? key : `${parent.raw}.${key}`;
  const shown = plainKey.test(key) ? (parent.shown === "" ? key : `${parent.shown}.${key}`) : `${parent.shown}[${JSON.stringify(key)}]`;
  return { raw, shown };
}

/** Whether `path` is `prefix` or lies below it (property-path form). */
export function within(prefix: string, path: string): boolean {
  return path === prefix || path.startsWith(`${prefix}.`) || path.startsWith(`${prefix}[`);
}

/** Whether two paths overlap: one lies within the other. */
export function overlaps(a: string, b: string): boolean {
  return within(a, b) || within(b, a);
}

export function changedPaths(old: InputSide, next: InputSide, ignore: readonly string[] = []): string[] {
  const out: string[] = [];
  const fingerprint = (side: InputSide, raw: string, value: Json | undefined): string | undefined =>
    side.secretPaths.includes(raw) ? side.secretDigests[raw] : value === undefined ? "(absent)" : digest(value);
  const walk = (o: Json | undefined, n: Json | undefined, at: { raw: string; shown: string }): void => {
    if (at.shown !== "" && ignore.some((p) => within(p, at.shown))) return;
    if (old.secretPaths.includes(at.raw) || next.secretPaths.includes(at.raw)) {
      const before = fingerprint(old, at.raw, o);
      const after = fingerprint(next, at.raw, n);
      if (before !== undefined && after !== undefined && before !== after) out.push(at.shown);
      return;
    }
    if (Array.isArray(o) && Array.isArray(n)) {
      for (let i = 0; i < Math.max(o.length, n.length); i++) walk(o[i], n[i], child(at, i));
      return;
    }
    if (isObject(o) && isObject(n)) {
      for (const key of [...new Set([...Object.keys(o), ...Object.keys(n)])]) walk(o[key], n[key], child(at, key));
      return;
    }
    // A missing key and null are the same to the engine (it drops nulls from inputs).
    if (digest(o ?? null) !== digest(n ?? null)) out.push(at.shown);
  };
  walk(old.inputs, next.inputs, { raw: "", shown: "" });
  return out;
}

function isObject(v: Json | undefined): v is { [key: string]: Json } {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** The value at a simple dotted path (`metadata.name`), or undefined. */
export function valueAt(value: Json, path: string): Json | undefined {
  let at: Json | undefined = value;
  for (const key of path.split(".")) at = isObject(at) ? at[key] : undefined;
  return at;
}
