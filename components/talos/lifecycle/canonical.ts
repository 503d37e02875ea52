/**
 * Helpers shared by the lifecycle providers. Plain functions only: the providers are serialized with
 * `pulumi.runtime.serializeFunction`, which copies what they reach by value into the engine's process.
 */

/** A stable text of a JSON-like value: object keys sorted, undefined members dropped. */
export function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined);
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/** The keys among `keys` whose values differ between the old outputs and the new inputs. */
export function changedAmong<K extends string>(keys: readonly K[], olds: Partial<Record<K, unknown>>, news: Record<K, unknown>): K[] {
  return keys.filter((key) => canonical(olds[key]) !== canonical(news[key]));
}

/** Outputs without undefined members: the engine's protobuf Struct has no `undefined`. */
export function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
