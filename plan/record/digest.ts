import { createHash } from "crypto";
import { decode, sig, type Json } from "./wire";

/**
 * Fingerprints of values, so two runs can be compared without either printing a secret. Offline a
 * secret's value is a placeholder naming where it comes from (an `op://` reference, a `secure:`
 * ciphertext, a provider output), never a resolved credential: a digest tells that the source
 * changed, which is what the engine would see as a changed value.
 */

/** JSON with object keys sorted, so equal values always serialise alike. */
export function canonical(value: Json): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(value[k] as Json)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value);
}

/** First 16 hex digits of the SHA-256 of the canonical JSON: enough to tell values apart, too short to matter. */
export function digest(value: Json): string {
  return createHash("sha256").update(canonical(value)).digest("hex").slice(0, 16);
}

/**
 * Digest of every secret in a wire value, by the dotted path `decode` gives it (the same walk, so
 * the paths match `secretPaths`).
 */
export function secretDigests(wire: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (v: unknown, path: string): void => {
    if (v === null || typeof v !== "object") return;
    const record = v as Record<string, unknown>;
    if (record[sig.key] === sig.secret) {
      out[path] = digest(decode(record.value).plain);
      return;
    }
    if (record[sig.key] !== undefined) return;
    if (Array.isArray(v)) v.forEach((item, i) => walk(item, `${path}[${i}]`));
    else for (const [k, item] of Object.entries(record)) walk(item, path === "" ? k : `${path}.${k}`);
  };
  walk(wire, "");
  return out;
}
