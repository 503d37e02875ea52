/** Small readers for the loosely typed props a policy sees. */
export type Props = Record<string, unknown>;

export function get(value: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>((acc, key) => (acc !== null && typeof acc === "object" ? (acc as Props)[key] : undefined), value);
}

/** Every string leaf with its dotted key path. */
export function stringLeaves(value: unknown, path = ""): Array<[string, string]> {
  if (typeof value === "string") return [[path, value]];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringLeaves(v, `${path}[${i}]`));
  if (value !== null && typeof value === "object")
    return Object.entries(value).flatMap(([k, v]) => stringLeaves(v, path ? `${path}.${k}` : k));
  return [];
}

/** Talos config patches are YAML strings; the rules look for settings by their rendered lines. */
export function patchesOf(props: Props): string {
  const patches = props.configPatches;
  return Array.isArray(patches) ? patches.filter((p): p is string => typeof p === "string").join("\n---\n") : "";
}
