import * as fs from "fs";
import * as path from "path";
import { minorLine, talosKubernetes, versions } from "../stacks/versions";

/**
 * Which vendored contract belongs to which pin of stacks/versions.ts, as data, and the check that
 * every contract sits at its pin's version. A contract's version is the one its file name carries
 * (`<stem>.<version>.json`, e.g. `charts/cilium.values.schema.v1.20.0.json`).
 */

/** The pins a contract follows: versions.ts's shape, any version strings (a bump in a test). */
export interface PinSet {
  readonly talos: string;
  readonly talosProvider: string;
  readonly charts: { readonly [K in keyof typeof versions.charts]: string };
}

export interface PinnedContract {
  /** The versions.ts key, as a reader finds it: `charts.cilium`. */
  readonly pin: string;
  /** The contract's path under contracts/ without its version: `charts/cilium.values.schema`. */
  readonly stem: string;
  /**
   * exact: the contract's version is the pin (a leading v aside). minor: the contract covers a
   * whole minor line (the Talos config schema per minor), so its version is the pin's minor.
   */
  readonly match: "exact" | "minor";
}

/** Every pin with a vendored contract, and the contract files of each. */
export function pinnedContracts(pins: PinSet): Array<PinnedContract & { readonly version: string }> {
  const c = pins.charts;
  return [
    { pin: "charts.cilium", version: c.cilium, stem: "charts/cilium.values.schema", match: "exact" },
    { pin: "charts.certManager", version: c.certManager, stem: "charts/cert-manager.values.schema", match: "exact" },
    { pin: "charts.certManager", version: c.certManager, stem: "crds/clusterissuer", match: "exact" },
    { pin: "charts.externalSecrets", version: c.externalSecrets, stem: "charts/external-secrets.values.schema", match: "exact" },
    { pin: "charts.externalSecrets", version: c.externalSecrets, stem: "crds/clustersecretstore", match: "exact" },
    { pin: "charts.fluxOperator", version: c.fluxOperator, stem: "charts/flux-operator.values.schema", match: "exact" },
    { pin: "charts.fluxOperator", version: c.fluxOperator, stem: "crds/fluxinstance", match: "exact" },
    { pin: "charts.coredns", version: c.coredns, stem: "charts/coredns.values-keys", match: "exact" },
    { pin: "charts.spegel", version: c.spegel, stem: "charts/spegel.values-keys", match: "exact" },
    { pin: "talosProvider", version: pins.talosProvider, stem: "pulumi-talos/schema", match: "exact" },
    { pin: "talos", version: pins.talos, stem: "talos/config.schema", match: "minor" },
    { pin: "talos", version: pins.talos, stem: "talos-api/talos-api", match: "exact" },
  ];
}

/**
 * Contracts of the other Talos lines the program supports (versions.ts `talosKubernetes`): no pin
 * names their patch, so each is checked to be of a supported line, one file per line.
 */
export const supportedLineStems: ReadonlyArray<{ readonly stem: string }> = [
  { stem: "talos/config.schema" },
  { stem: "talos-api/talos-api" },
];

/** Files under contracts/ that are no upstream contract, so have no version: our docs and our own code. */
export const versionIndependent: readonly string[] = ["README.md", "check.ts", "extract.ts"];
/** Our own TypeScript (extraction and check scripts; contracts/ holds no upstream code): never a contract. */
export const ownCode = /\.ts$/;

/**
 * A contract whose version differs from its pin on purpose, with the reason. It holds only while
 * both versions are exactly these: a bumped pin or a refreshed contract makes it fail again.
 */
export interface PinException {
  readonly pin: string;
  readonly stem: string;
  readonly pinned: string;
  readonly contract: string;
  readonly why: string;
}

export const exceptions: readonly PinException[] = [
  {
    pin: "charts.fluxOperator",
    stem: "charts/flux-operator.values.schema",
    pinned: "0.58.1",
    contract: "v0.49.0",
    why:
      "the chart source of flux-operator 0.58.1 is in no readable snapshot: controlplaneio-fluxcd/charts ends at 0.49.0 " +
      "and controlplaneio-fluxcd/flux-operator v0.58.1 has no charts/ folder; the chart is published only to " +
      "oci://ghcr.io/controlplaneio-fluxcd/charts, out of reach here",
  },
];

/** `charts/cilium.values.schema.v1.20.0.json` → stem and version; undefined for a name without a version. */
export function splitVersion(file: string): { stem: string; version: string } | undefined {
  const m = /^(.*?)\.(v?\d+\.\d+(?:\.\d+)?)\.json$/.exec(file);
  return m ? { stem: m[1] ?? "", version: m[2] ?? "" } : undefined;
}

const bare = (version: string) => version.replace(/^v/, "");

/** Every file under a contracts folder, as a path relative to it with / separators. */
export function contractFiles(root: string): string[] {
  return fs
    .readdirSync(root, { recursive: true, encoding: "utf8" })
    .filter((f) => fs.statSync(path.join(root, f)).isFile())
    .map((f) => f.split(path.sep).join("/"))
    .sort();
}

/**
 * What is wrong between the pins and the contract files: a pinned contract missing or at another
 * version (naming both), a file no pin or supported line claims, a stale exception.
 */
export function pinProblems(pins: PinSet, files: readonly string[], known: readonly PinException[] = exceptions): string[] {
  const problems: string[] = [];
  const claimed = new Set<string>(files.filter((f) => versionIndependent.includes(f) || ownCode.test(f)));
  const byStem = (stem: string) =>
    files.flatMap((f) => {
      const split = splitVersion(f);
      return split?.stem === stem ? [{ file: f, version: split.version }] : [];
    });
  const pinnedLine = minorLine(pins.talos);

  for (const entry of pinnedContracts(pins)) {
    const all = byStem(entry.stem);
    const wanted = entry.match === "minor" ? `v${minorLine(entry.version) ?? entry.version}` : entry.version;
    const at = all.filter((f) => bare(f.version) === bare(wanted));
    at.forEach((f) => claimed.add(f.file));
    const exception = known.find((e) => e.pin === entry.pin && e.stem === entry.stem);
    if (exception) {
      const held = exception.pinned === entry.version && all.some((f) => f.version === exception.contract);
      if (held && at.length === 0) {
        all.filter((f) => f.version === exception.contract).forEach((f) => claimed.add(f.file));
        continue;
      }
      problems.push(
        `exception for ${entry.pin} (${entry.stem}) no longer holds: it covers pin ${exception.pinned} with contract ${exception.contract}, ` +
          `but the pin is ${entry.version} and the contract ${all.map((f) => f.version).join(", ") || "is missing"}`,
      );
      continue;
    }
    if (at.length > 0) continue;
    problems.push(
      `${entry.pin} pins ${entry.version} but contracts/${entry.stem} is at ${all.map((f) => f.version).join(", ") || "no version (missing)"}`,
    );
  }

  const lines = Object.keys(talosKubernetes).filter((line) => line !== pinnedLine);
  for (const { stem } of supportedLineStems) {
    const all = byStem(stem);
    for (const line of lines) {
      const of = all.filter((f) => minorLine(f.version) === line || bare(f.version) === line);
      of.forEach((f) => claimed.add(f.file));
      if (of.length !== 1)
        problems.push(
          `supported Talos line v${line} needs one contracts/${stem} file, found ${of.map((f) => f.version).join(", ") || "none"}`,
        );
    }
  }

  for (const file of [...files].sort())
    if (!claimed.has(file)) problems.push(`contracts/${file} is claimed by no pin, no supported line and no version-independent entry`);
  return problems;
}
