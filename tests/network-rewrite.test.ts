import * as path from "path";
import { baselineOfRecording } from "../plan/model/baseline";
import { diffRun, type DiffOutcome } from "../plan/model/diff";
import { networkKinds } from "../plan/model/networkRewrite";
import { diffText } from "../plan/report/diffRender";
import { record } from "../plan/record/harness";
import { clone, fixtureDir, liveStacks, readContract, repoRoot, type RawCluster } from "./support";
import { clusterFromStackFile, readStackFile } from "../stacks/stackFile";

/**
 * `plan --diff` warns when a Talos minor change rewrites each node's network config (issue #26):
 * 1.11 spells it under `.machine.network`, 1.12+ as typed documents, one LinkAliasConfig per bond
 * member name (sixteen for a MAC wildcard under 1.12, one pattern alias under 1.13:
 * components/talos/patches/bondMembers.ts). On the fixture stacks, the home-lab fixture and the
 * live stack files.
 */
jest.setTimeout(180_000);

const homelabDir = path.join(__dirname, "fixtures", "homelab");

async function diffIn(
  projectDir: string,
  stack: string,
  base: (c: RawCluster) => void,
  next: (c: RawCluster) => void,
): Promise<DiffOutcome> {
  const run =
    (mutate: (c: RawCluster) => void) =>
    (opts: object = {}) =>
      record({
        projectDir,
        stack,
        ...opts,
        cluster: (raw) => {
          const c = clone(raw) as RawCluster;
          mutate(c);
          return c;
        },
      });
  const recorded = await run(base)();
  if (recorded.error) throw new Error(`the base run failed: ${recorded.error.message}`);
  return diffRun(stack, baselineOfRecording(recorded, "base"), run(next));
}

/** Talos `version` with a Kubernetes every one of these Talos minors supports. */
const on =
  (version: string, also: (c: RawCluster) => void = () => undefined) =>
  (c: RawCluster) => {
    c.talos.version = version;
    c.talos.kubernetesVersion = "v1.34.1";
    also(c);
  };
const messages = (o: DiffOutcome) => o.report.warnings.map((w) => w.message);
const rewrite = (o: DiffOutcome) => messages(o).filter((m) => m.includes("rewrites each node's network config"));

const wildcard1_12 =
  "22 (BondConfig 1, HostnameConfig 1, Layer2VIPConfig 1, LinkAliasConfig 16, ResolverConfig 1, TimeSyncConfig 1, VLANConfig 1)";

describe("network kinds", () => {
  it("are the kinds of every network.* definition in the vendored 1.12 and 1.13 config schemas", () => {
    const kinds = new Set<string>();
    for (const minor of ["12", "13"]) {
      const schema = readContract<{ $defs: Record<string, { properties?: { kind?: { enum?: string[] } } }> }>(
        `talos/config.schema.v1.${minor}.json`,
      );
      for (const [name, def] of Object.entries(schema.$defs))
        if (name.startsWith("network.")) for (const kind of def.properties?.kind?.enum ?? []) kinds.add(kind);
    }
    expect([...networkKinds].sort()).toEqual([...kinds].sort());
  });
});

describe("a Talos minor change that rewrites the network config", () => {
  it("1.11 → 1.12 with a wildcard-MAC bond: one warning, the documents per node before and after, first in the warnings and in the text", async () => {
    const o = await diffIn(fixtureDir, "infra", on("v1.11.6"), on("v1.12.11"));
    expect(messages(o)).toEqual([
      "Talos v1.11.6 → v1.12.11 moves the machine-config contract v1.11 → v1.12 and rewrites each node's network config; " +
        `network documents per node: infra-01, infra-02, infra-03: 0 (under machine.network) → ${wildcard1_12}. ` +
        "They reach each node with its apply (waves 6–10), after every node runs v1.12 (the OS upgrades come first); " +
        "the bond keeps its member NICs and addresses",
    ]);
    expect(o.report.errors).toEqual([]);
    expect(diffText(o)).toContain(`== Warnings\n    Talos v1.11.6 → v1.12.11 moves the machine-config contract`);
  });

  it("1.12 → 1.13: the sixteen split aliases become one pattern alias", async () => {
    const o = await diffIn(fixtureDir, "infra", on("v1.12.11"), on("v1.13.9"));
    expect(rewrite(o)).toEqual([
      "Talos v1.12.11 → v1.13.9 moves the machine-config contract v1.12 → v1.13 and rewrites each node's network config; " +
        `network documents per node: infra-01, infra-02, infra-03: ${wildcard1_12} → ` +
        "7 (BondConfig 1, HostnameConfig 1, Layer2VIPConfig 1, LinkAliasConfig 1, ResolverConfig 1, TimeSyncConfig 1, VLANConfig 1). " +
        "They reach each node with its apply (waves 6–10), after every node runs v1.13 (the OS upgrades come first); " +
        "the bond keeps its member NICs and addresses",
    ]);
  });

  it("the home lab: nodes with equal counts are grouped, a wildcard-MAC node on its own", async () => {
    const wildcardFirst = (c: RawCluster) => (c.nodes[0].nics = { hardwareAddr: "aa:bb:cc:00:00:*" });
    const o = await diffIn(homelabDir, "homelab", on("v1.11.6", wildcardFirst), on("v1.12.11", wildcardFirst));
    expect(rewrite(o)).toEqual([
      "Talos v1.11.6 → v1.12.11 moves the machine-config contract v1.11 → v1.12 and rewrites each node's network config; " +
        "network documents per node: homelab-01: 0 (under machine.network) → " +
        "21 (BondConfig 1, HostnameConfig 1, Layer2VIPConfig 1, LinkAliasConfig 16, ResolverConfig 1, TimeSyncConfig 1); " +
        "homelab-02, homelab-03: 0 (under machine.network) → " +
        "6 (BondConfig 1, HostnameConfig 1, Layer2VIPConfig 1, LinkAliasConfig 1, ResolverConfig 1, TimeSyncConfig 1). " +
        "They reach each node with its apply (waves 6–10), after every node runs v1.12 (the OS upgrades come first); " +
        "the bond keeps its member NICs and addresses",
    ]);
  });

  it.each(liveStacks)(
    "the live Pulumi.%s.yaml, 1.11 → 1.12: every node named, sixteen aliases per wildcard-MAC bond, one per exact MAC",
    async (stack) => {
      const o = await diffIn(repoRoot, stack, on("v1.11.6"), on("v1.12.11"));
      const [warning, ...more] = rewrite(o);
      expect(more).toEqual([]);
      const nodes = clusterFromStackFile(readStackFile(repoRoot, stack)).nodes;
      for (const node of nodes) {
        const aliases = node.nics.hardwareAddr.includes("*") ? 16 : 1;
        // The node's group: its name, then (after any other names of the group) its counts.
        expect(warning).toMatch(
          new RegExp(`${node.name}(, [a-z0-9-]+)*: 0 \\(under machine\\.network\\) → \\d+ \\([^)]*LinkAliasConfig ${aliases},`),
        );
      }
    },
  );
});

describe("no rewrite warning", () => {
  it("for a Talos patch bump (the contract stays)", async () => {
    const o = await diffIn(fixtureDir, "infra", on("v1.12.10"), on("v1.12.11"));
    expect(o.report.steps.filter((s) => s.name.startsWith("apply-") && s.op === "update")).toHaveLength(3);
    expect(messages(o)).toEqual([]);
  });

  it("for a network change within one minor (not a contract move)", async () => {
    const o = await diffIn(
      fixtureDir,
      "infra",
      on("v1.12.11"),
      on("v1.12.11", (c) => (c.nodes[0].nics = { hardwareAddr: "f8:f2:1e:20:57:01" })),
    );
    expect(messages(o)).toEqual([]);
  });
});
