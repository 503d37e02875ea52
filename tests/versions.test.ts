import * as fs from "fs";
import * as path from "path";
import { knownReleases, unknownReleaseMessage } from "../stacks/releases";
import { versionRules } from "../stacks/rules";
import {
  ciliumMatrix,
  kubernetesInRange,
  minorLine,
  pinIssues,
  talosKubernetes,
  versionParts,
  versions,
  type Pins,
} from "../stacks/versions";
import { fixture, repoRoot } from "./support";

describe("pinned versions", () => {
  it("are the releases confirmed upstream (each line's comment in stacks/versions.ts names the tag)", () => {
    expect({ talos: versions.talos, kubernetes: versions.kubernetes, gatewayApi: versions.gatewayApi, flux: versions.flux }).toEqual({
      talos: "v1.13.9",
      kubernetes: "v1.36.3",
      gatewayApi: "v1.6.1",
      flux: "2.9.4",
    });
    expect(versions.charts).toEqual({
      cilium: "1.20.0",
      coredns: "1.46.2",
      spegel: "0.7.4",
      certManager: "v1.21.1",
      externalSecrets: "2.9.0",
      fluxOperator: "0.58.1",
      prometheusOperatorCrds: "31.0.1",
    });
    // The provider plugin the binding in components/talos is checked against stays where it is.
    expect(versions.talosProvider).toBe("0.8.1");
  });

  it("agree with each other: Talos line known, Kubernetes inside Talos' and Cilium's ranges, Gateway API of Cilium's line", () => {
    expect(pinIssues()).toEqual([]);
    const talos = talosKubernetes[minorLine(versions.talos) ?? ""];
    const cilium = ciliumMatrix[minorLine(versions.charts.cilium) ?? ""];
    expect(talos && kubernetesInRange(versions.kubernetes, talos)).toBe(true);
    expect(cilium && kubernetesInRange(versions.kubernetes, cilium.kubernetes)).toBe(true);
    expect(minorLine(versions.gatewayApi)).toBe(cilium?.gatewayApi);
  });

  it("are listed in the Versions section of docs/configuration.md", () => {
    const readme = fs.readFileSync(path.join(repoRoot, "docs", "configuration.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Versions"), readme.indexOf("\n## ", readme.indexOf("## Versions") + 1));
    const pins = [versions.talos, versions.kubernetes, versions.gatewayApi, versions.flux, ...Object.values(versions.charts)];
    expect(pins.filter((p) => !section.includes(`\`${p}\``))).toEqual([]);
  });
});

describe("compatibility matrix", () => {
  it("holds Talos' own Kubernetes ranges (talos v1.13.9 pkg/machinery/compatibility) and Cilium's tested range", () => {
    expect(talosKubernetes).toEqual({
      "1.11": { min: 29, max: 34 },
      "1.12": { min: 30, max: 35 },
      "1.13": { min: 31, max: 36 },
    });
    expect(ciliumMatrix).toEqual({ "1.20": { kubernetes: { min: 33, max: 36 }, gatewayApi: "1.6" } });
  });

  it("parses versions with or without v and refuses anything else", () => {
    expect([versionParts("v1.36.3"), versionParts("1.20.0"), versionParts("v1.36"), versionParts("v1.36.3-rc.1")]).toEqual([
      [1, 36, 3],
      [1, 20, 0],
      undefined,
      undefined,
    ]);
    expect([kubernetesInRange("v1.33.0", { min: 33, max: 36 }), kubernetesInRange("v1.32.99", { min: 33, max: 36 })]).toEqual([
      true,
      false,
    ]);
    expect(kubernetesInRange("v2.34.0", { min: 29, max: 34 })).toBe(false);
  });

  const pins = (patch: Partial<Pins> & { cilium?: string }): Pins => ({
    talos: patch.talos ?? versions.talos,
    kubernetes: patch.kubernetes ?? versions.kubernetes,
    charts: { cilium: patch.cilium ?? versions.charts.cilium },
    gatewayApi: patch.gatewayApi ?? versions.gatewayApi,
  });

  it("refuses pins that disagree, naming the versions.ts key, before any resource (every stack reports it)", () => {
    expect(pinIssues(pins({ gatewayApi: "v1.5.1" }))).toEqual([
      { key: "gatewayApi", message: "v1.5.1 is not the Gateway API line Cilium 1.20 implements (v1.6.x)" },
    ]);
    expect(pinIssues(pins({ cilium: "1.21.0" }))).toEqual([
      { key: "charts.cilium", message: "1.21.0 has no entry in the compatibility matrix (known: 1.20)" },
    ]);
    expect(pinIssues(pins({ talos: "v1.14.0" }))).toEqual([
      { key: "talos", message: "v1.14.0 is not a supported Talos line (v1.11, v1.12, v1.13)" },
    ]);
    const seed = fixture("infra");
    expect(versionRules(seed, pins({ gatewayApi: "v1.5.1" }))).toEqual([
      { path: [], message: "stacks/versions.ts: gatewayApi: v1.5.1 is not the Gateway API line Cilium 1.20 implements (v1.6.x)" },
    ]);
  });

  it("checks the stack's Kubernetes against the pinned Cilium as well as its Talos line", () => {
    const seed = fixture("infra");
    const at = (talos: string, kubernetes: string) => ({
      ...seed,
      talos: { ...seed.talos, version: talos, kubernetesVersion: kubernetes },
    });
    expect(versionRules(at("v1.12.11", "v1.32.0"))).toEqual([
      {
        path: ["talos", "kubernetesVersion"],
        message: "v1.32.0 is outside the Kubernetes range Cilium 1.20 is tested with (v1.33 to v1.36)",
      },
    ]);
    expect(versionRules(at("v1.12.11", "v1.36.0")).map((i) => i.message)).toEqual([
      "v1.36.0 is outside what Talos v1.12 supports (v1.30 to v1.35)",
    ]);
    expect(versionRules(at("v1.13.9", "v1.36.3"))).toEqual([]);
    expect(versionRules(at("v1.11.6", "v1.34.1"))).toEqual([]);
  });
});

describe("known upstream releases (stacks/releases.ts)", () => {
  it("hold the pins and every line of the compatibility matrix, Talos and Kubernetes alike", () => {
    expect(unknownReleaseMessage("talos", versions.talos)).toBeUndefined();
    expect(unknownReleaseMessage("kubernetes", versions.kubernetes)).toBeUndefined();
    // Every Talos line this program has patches for, and every Kubernetes minor Cilium's range and a Talos line share.
    expect(Object.keys(knownReleases.talos).sort()).toEqual(Object.keys(talosKubernetes).sort());
    const cilium = ciliumMatrix[minorLine(versions.charts.cilium) ?? ""]!.kubernetes;
    for (let minor = cilium.min; minor <= cilium.max; minor++) expect(knownReleases.kubernetes).toHaveProperty([`1.${minor}`]);
  });

  it("refuse a patch above the line's highest known release and accept the highest, each naming the list", () => {
    expect(unknownReleaseMessage("talos", "v1.13.9")).toBeUndefined();
    expect(unknownReleaseMessage("talos", "v1.13.0")).toBeUndefined();
    expect(unknownReleaseMessage("talos", "v1.13.99")).toBe(
      "v1.13.99 is not a known Talos release (v1.13.0 to v1.13.9 as of 2026-12-05); if it was released since, add it to stacks/releases.ts",
    );
    expect(unknownReleaseMessage("talos", "v1.11.7")).toContain("v1.11.0 to v1.11.6");
    expect(unknownReleaseMessage("kubernetes", "v1.36.3")).toBeUndefined();
    expect(unknownReleaseMessage("kubernetes", "v1.36.4")).toBe(
      "v1.36.4 is not a known Kubernetes release (v1.36.0 to v1.36.3 as of 2026-12-05); if it was released since, add it to stacks/releases.ts",
    );
    // A minor without a line is the compatibility rules' to refuse, with the supported lines.
    expect(unknownReleaseMessage("talos", "v1.10.7")).toBeUndefined();
  });
});
