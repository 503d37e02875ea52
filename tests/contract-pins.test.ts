import * as fs from "fs";
import * as path from "path";
import { versions } from "../stacks/versions";
import { contractFiles, exceptions, pinProblems, type PinSet } from "./contract-pins";

/**
 * Every pin of stacks/versions.ts that has a vendored contract has it at exactly that version
 * (tests/contract-pins.ts holds the mapping), every file under contracts/ is claimed by a pin, a
 * supported Talos line or the version-independent list, and contracts/README.md gives every
 * contract's source, version and licence.
 */
const root = path.join(__dirname, "..", "contracts");
const files = contractFiles(root);

type Writable = { talos: string; talosProvider: string; charts: Record<keyof PinSet["charts"], string> };
/** versions.ts with some pins replaced, as a bump would leave it. */
function bumped(change: (pins: Writable) => void): PinSet {
  const copy = JSON.parse(JSON.stringify(versions)) as Writable;
  change(copy);
  return copy;
}

describe("pins and their contracts", () => {
  it("every pinned contract is at its pin, and every contract is claimed", () => {
    expect(pinProblems(versions, files)).toEqual([]);
  });

  it("names the pin and the contract version when a pin moves without its contract", () => {
    expect(
      pinProblems(
        bumped((p) => (p.charts.cilium = "1.20.1")),
        files,
      ),
    ).toEqual([
      "charts.cilium pins 1.20.1 but contracts/charts/cilium.values.schema is at v1.20.0",
      "contracts/charts/cilium.values.schema.v1.20.0.json is claimed by no pin, no supported line and no version-independent entry",
    ]);
    expect(
      pinProblems(
        bumped((p) => (p.charts.externalSecrets = "2.10.0")),
        files,
      ),
    ).toEqual([
      "charts.externalSecrets pins 2.10.0 but contracts/charts/external-secrets.values.schema is at v2.9.0",
      "charts.externalSecrets pins 2.10.0 but contracts/crds/clustersecretstore is at v2.9.0",
      "contracts/charts/external-secrets.values.schema.v2.9.0.json is claimed by no pin, no supported line and no version-independent entry",
      "contracts/crds/clustersecretstore.v2.9.0.json is claimed by no pin, no supported line and no version-independent entry",
    ]);
    expect(
      pinProblems(
        bumped((p) => (p.talosProvider = "0.9.0")),
        files,
      ),
    ).toEqual([
      "talosProvider pins 0.9.0 but contracts/pulumi-talos/schema is at v0.8.1",
      "contracts/pulumi-talos/schema.v0.8.1.json is claimed by no pin, no supported line and no version-independent entry",
    ]);
  });

  it("follows the Talos config schema by minor: a patch bump keeps it, a minor bump needs the new one", () => {
    // The API descriptors follow the exact pin (below); here only the config schema's rule is looked at.
    const withoutApi = files.filter((f) => !f.startsWith("talos-api/"));
    const apiRows = (tags: string) => [
      `talos pins v1.13.10 but contracts/talos-api/talos-api is at ${tags}`,
      "contracts/talos-api/talos-api.v1.13.9.json is claimed by no pin, no supported line and no version-independent entry",
    ];
    expect(
      pinProblems(
        bumped((p) => (p.talos = "v1.13.10")),
        files,
      ),
    ).toEqual(apiRows("v1.11.6, v1.12.11, v1.13.9"));
    expect(
      pinProblems(
        bumped((p) => (p.talos = "v1.13.10")),
        withoutApi,
      ).filter((line) => !line.includes("talos-api")),
    ).toEqual([]);
    expect(
      pinProblems(
        bumped((p) => (p.talos = "v1.14.0")),
        files,
      ),
    ).toEqual([
      "talos pins v1.14.0 but contracts/talos/config.schema is at v1.11, v1.12, v1.13",
      "talos pins v1.14.0 but contracts/talos-api/talos-api is at v1.11.6, v1.12.11, v1.13.9",
    ]);
  });

  it("checks the Talos API descriptors: the pinned line at the pin, one per other supported line", () => {
    const withApi = (...tags: string[]) => [
      ...files.filter((f) => !f.startsWith("talos-api/")),
      ...tags.map((t) => `talos-api/talos-api.${t}.json`),
    ];
    expect(pinProblems(versions, withApi("v1.11.6", "v1.12.11", "v1.13.9"))).toEqual([]);
    expect(pinProblems(versions, withApi("v1.11.6", "v1.12.11", "v1.13.8"))).toEqual([
      "talos pins v1.13.9 but contracts/talos-api/talos-api is at v1.11.6, v1.12.11, v1.13.8",
      "contracts/talos-api/talos-api.v1.13.8.json is claimed by no pin, no supported line and no version-independent entry",
    ]);
    expect(pinProblems(versions, withApi("v1.12.11", "v1.13.9"))).toEqual([
      "supported Talos line v1.11 needs one contracts/talos-api/talos-api file, found none",
    ]);
  });

  it("holds the flux-operator exception only while pin and contract are exactly the recorded ones", () => {
    expect(exceptions.map((e) => [e.pin, e.pinned, e.contract])).toEqual([["charts.fluxOperator", "0.58.1", "v0.49.0"]]);
    expect(
      pinProblems(
        bumped((p) => (p.charts.fluxOperator = "0.59.0")),
        files,
      ),
    ).toEqual([
      "exception for charts.fluxOperator (charts/flux-operator.values.schema) no longer holds: it covers pin 0.58.1 with contract v0.49.0, but the pin is 0.59.0 and the contract v0.49.0",
      "charts.fluxOperator pins 0.59.0 but contracts/crds/fluxinstance is at v0.58.1",
      "contracts/charts/flux-operator.values.schema.v0.49.0.json is claimed by no pin, no supported line and no version-independent entry",
      "contracts/crds/fluxinstance.v0.58.1.json is claimed by no pin, no supported line and no version-independent entry",
    ]);
    // The contract refreshed to the pin: the exception is stale and must go.
    const refreshed = files.map((f) => f.replace("flux-operator.values.schema.v0.49.0", "flux-operator.values.schema.v0.58.1"));
    expect(pinProblems(versions, refreshed)).toEqual([
      "exception for charts.fluxOperator (charts/flux-operator.values.schema) no longer holds: it covers pin 0.58.1 with contract v0.49.0, but the pin is 0.58.1 and the contract v0.58.1",
    ]);
    // Without the exception the gap is reported like any other.
    expect(pinProblems(versions, files, [])).toEqual([
      "charts.fluxOperator pins 0.58.1 but contracts/charts/flux-operator.values.schema is at v0.49.0",
      "contracts/charts/flux-operator.values.schema.v0.49.0.json is claimed by no pin, no supported line and no version-independent entry",
    ]);
  });

  it("refuses a contract no pin claims: a new file, a second version, a file without a version", () => {
    expect(
      pinProblems(versions, [...files, "crds/gateway.v1.6.1.json", "charts/cilium.values.schema.v1.19.0.json", "crds/notes.yaml"]),
    ).toEqual([
      "contracts/charts/cilium.values.schema.v1.19.0.json is claimed by no pin, no supported line and no version-independent entry",
      "contracts/crds/gateway.v1.6.1.json is claimed by no pin, no supported line and no version-independent entry",
      "contracts/crds/notes.yaml is claimed by no pin, no supported line and no version-independent entry",
    ]);
  });

  it("reports a pinned contract that is missing", () => {
    expect(
      pinProblems(
        versions,
        files.filter((f) => !f.startsWith("crds/fluxinstance")),
      ),
    ).toEqual(["charts.fluxOperator pins 0.58.1 but contracts/crds/fluxinstance is at no version (missing)"]);
  });
});

describe("contracts/README.md", () => {
  const readme = fs.readFileSync(path.join(root, "README.md"), "utf8");
  /** The table rows: file → its cells. */
  const rows = new Map(
    readme
      .split("\n")
      .filter((line) => line.startsWith("| `"))
      .map((line) => {
        const cells = line
          .split("|")
          .slice(1, -1)
          .map((c) => c.trim());
        return [(cells[0] ?? "").replace(/`/g, ""), cells] as const;
      }),
  );

  it("has a row for every contract, with source, upstream path, version and licence", () => {
    for (const file of files.filter((f) => f.endsWith(".json"))) {
      const cells = rows.get(file);
      expect({ file, row: cells !== undefined }).toEqual({ file, row: true });
      const [, source, upstreamPath, version, licence] = cells ?? [];
      expect({ file, source: !!source, upstreamPath: !!upstreamPath, version: !!version, licence: !!licence }).toEqual({
        file,
        source: true,
        upstreamPath: true,
        version: true,
        licence: true,
      });
    }
  });

  it("lists no file that is not there", () => {
    for (const file of rows.keys()) expect({ file, exists: files.includes(file) }).toEqual({ file, exists: true });
  });
});
