import { UNKNOWN, type Json } from "./wire";

/**
 * What a run changes upstream of a resource's inputs, for the offline harness to show downstream.
 *
 * Offline, ids read `(<name> id)` and provider-computed values `(known after apply)` in every run,
 * so a value that really changes (the id of a replaced resource, a token re-issued, the result of
 * an invoke called with new arguments) would look the same as before. A renewal re-runs the program
 * with those values marked new: the program carries them wherever it really uses them, and the
 * diff then sees exactly the inputs that change.
 */
export interface Renewal {
  /** URNs of resources this run creates or replaces: new id, new computed outputs. */
  readonly resources: ReadonlySet<string>;
  /** Whether an invoke with these (masked) arguments and secret digests ran in the base run. */
  readonly invokeSeen: (token: string, args: Json, secretDigests: Readonly<Record<string, string>>) => boolean;
}

/** A provider-computed value that this run changes. */
export const RENEWED = "(known after apply: new value)";

/** The id a created or replaced resource gets (known only after apply; it differs from the old one). */
export function renewedId(name: string): string {
  return `(new ${name} id)`;
}

/** Marks every computed placeholder inside a value as renewed. */
export function renew(value: Json): Json {
  if (value === UNKNOWN) return RENEWED;
  if (Array.isArray(value)) return value.map(renew);
  if (value !== null && typeof value === "object") return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, renew(v)]));
  return value;
}
