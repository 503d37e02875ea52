import { versionParts } from "./versions";

/**
 * The upstream releases a stack may name, per supported minor, as data: a version that is not here
 * does not exist upstream (a typo such as v1.13.99), so no Image Factory installer or Kubernetes
 * image carries it and the first upgrade wave would fail on a node. Patch releases of both projects
 * are numbered without gaps from .0, so each line is its highest known patch.
 *
 * Talos: the tags of siderolabs/talos (git tag, mirror of 2026-12-05, newest commit 2026-08-21 on
 * main): v1.11.0–v1.11.6, v1.12.0–v1.12.11, v1.13.0–v1.13.9 (pre-releases left out).
 *
 * Kubernetes: the kubernetes/kubernetes repository was too large to copy here, so each line's highest
 * patch is the highest release siderolabs/talos itself names (same mirror): 1.33.7 and 1.34.3 in
 * main's .github/workflows/ci.yaml (`kubernetesVersion`, the upgrade tests), 1.35.4 and 1.36.3 as
 * `constants.DefaultKubernetesVersion` of release-1.12 and release-1.13 (pkg/machinery/constants).
 * Newer patches exist upstream; add them here when a stack needs one (the refusal says so).
 */
export const knownReleases: {
  readonly talos: Readonly<Record<string, number>>;
  readonly kubernetes: Readonly<Record<string, number>>;
  readonly checked: string;
} = {
  talos: { "1.11": 6, "1.12": 11, "1.13": 9 },
  kubernetes: { "1.33": 7, "1.34": 3, "1.35": 4, "1.36": 3 },
  checked: "2026-12-05",
};

/**
 * Why `version` is not a known release of `project`, or undefined when it is one or when its minor
 * has no line here (the compatibility rules refuse an unsupported minor with a better message).
 */
export function unknownReleaseMessage(project: "talos" | "kubernetes", version: string): string | undefined {
  const parts = versionParts(version);
  if (!parts) return undefined;
  const line = `${parts[0]}.${parts[1]}`;
  const highest = knownReleases[project][line];
  if (highest === undefined || parts[2] <= highest) return undefined;
  const name = project === "talos" ? "Talos" : "Kubernetes";
  return (
    `${version} is not a known ${name} release (v${line}.0 to v${line}.${highest} as of ${knownReleases.checked}); ` +
    `if it was released since, add it to stacks/releases.ts`
  );
}
