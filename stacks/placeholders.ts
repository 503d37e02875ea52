import type { PathSegment } from "./errors";

/** A value `npm run new-stack` leaves for the user: `<what to put here>`. */
const placeholder = /^<[^<>]+>$/;

/**
 * Template placeholders still in a stack's cluster value, with their key paths. Checked before the
 * schema, so a fresh template reports "replace this" per key instead of a wall of type errors.
 */
export function placeholderIssues(raw: unknown, path: PathSegment[] = []): Array<{ path: PathSegment[]; message: string }> {
  if (typeof raw === "string" && placeholder.test(raw))
    return [{ path, message: `is still the template placeholder ${raw}: replace it with this cluster's value` }];
  if (Array.isArray(raw)) return raw.flatMap((item, i) => placeholderIssues(item, [...path, i]));
  if (typeof raw === "object" && raw !== null) return Object.entries(raw).flatMap(([k, v]) => placeholderIssues(v, [...path, k]));
  return [];
}
