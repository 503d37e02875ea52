/** Small readers for the loosely typed props a policy sees. */
export type Props = Record<string, unknown>;

export function get(value: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((acc, key) => (acc !== null && typeof acc === "object" ? (acc as Props)[key] : undefined), value);
}

/** Every leaf (anything not an object or array) with its dotted key path, e.g. `spec.blocks[0].cidr`. */
export function leaves(value: unknown, path = ""): Array<[string, unknown]> {
  if (Array.isArray(value)) return value.flatMap((v, i) => leaves(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object") return Object.entries(value).flatMap(([k, v]) => leaves(v, path ? `${path}.${k}` : k));
  return [[path, value]];
}

/** Every string leaf with its dotted key path. */
export function stringLeaves(value: unknown): Array<[string, string]> {
  return leaves(value).filter((leaf): leaf is [string, string] => typeof leaf[1] === "string");
}
