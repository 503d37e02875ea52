import { parseAllDocuments } from "yaml";
import type { Json } from "../record/wire";
import { valueAt } from "./inputDiff";
import type { Issue, Step } from "./steps";
import type { VersionChange } from "./summary";

/**
 * A Talos minor change moves the machine-config contract (components/talos/patches/contract.ts), and
 * with it how each node's network is spelled: 1.11 under `.machine.network` of the machine document,
 * 1.12+ as typed documents, with one LinkAliasConfig per bond member name (sixteen for a MAC wildcard
 * under 1.12, one pattern alias under 1.13: patches/bondMembers.ts). The operator sees that
 * rewrite as a warning with the documents each node's patches hold before and after, counted by
 * kind in the apply's `configPatches` (the YAML streams the provider sends, patches/render.ts).
 */

/**
 * The kinds of Talos' network config package: every `network.*` definition with a `kind` in
 * contracts/talos/config.schema.v1.{12,13}.json (tests/network-rewrite.test.ts holds the list to them).
 */
export const networkKinds = [
  "BlackholeRouteConfig",
  "BondConfig",
  "BridgeConfig",
  "DHCPv4Config",
  "DHCPv6Config",
  "DummyLinkConfig",
  "EthernetConfig",
  "HCloudVIPConfig",
  "HostnameConfig",
  "KubeSpanConfig",
  "KubeSpanEndpoints",
  "Layer2VIPConfig",
  "LinkAliasConfig",
  "LinkConfig",
  "NetworkDefaultActionConfig",
  "NetworkRuleConfig",
  "ResolverConfig",
  "RoutingRuleConfig",
  "StaticHostConfig",
  "TCPProbeConfig",
  "TimeSyncConfig",
  "VLANConfig",
  "VRFConfig",
  "WireguardConfig",
] as const;

const networkKindSet: ReadonlySet<string> = new Set(networkKinds);
const APPLY = "talos:machine/configurationApply:ConfigurationApply";

export interface NetworkDocuments {
  /** Node name (the hostname the patches set), or the apply's address when they set none. */
  readonly node: string;
  /** Network documents by kind, before and after. */
  readonly before: Readonly<Record<string, number>>;
  readonly after: Readonly<Record<string, number>>;
  /** Whether the patches before (after) set `.machine.network` of the machine document: 1.11's spelling. */
  readonly legacyBefore: boolean;
  readonly legacyAfter: boolean;
  /** The apply's wave. */
  readonly wave: number;
}

/** The documents of an apply's `configPatches` (each a YAML stream); anything unreadable counts as none. */
function documentsOf(inputs: Json): Json[] {
  const patches = valueAt(inputs, "configPatches");
  if (!Array.isArray(patches)) return [];
  return patches.flatMap((patch) => (typeof patch === "string" ? parseAllDocuments(patch).flatMap(toJson) : []));
}

function toJson(doc: { toJS(): unknown; errors: readonly unknown[] }): Json[] {
  return doc.errors.length === 0 ? [doc.toJS() as Json] : [];
}

function kindCounts(docs: readonly Json[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const doc of docs) {
    const kind = valueAt(doc, "kind");
    if (typeof kind === "string" && networkKindSet.has(kind)) counts[kind] = (counts[kind] ?? 0) + 1;
  }
  return counts;
}

/** The hostname a patch sets: HostnameConfig (1.12+) or `.machine.network.hostname` (1.11). */
function hostnameIn(docs: readonly Json[]): string | undefined {
  for (const doc of docs) {
    const name = valueAt(doc, "kind") === "HostnameConfig" ? valueAt(doc, "hostname") : valueAt(doc, "machine.network.hostname");
    if (typeof name === "string") return name;
  }
  return undefined;
}

const setsMachineNetwork = (doc: Json) => {
  const network = valueAt(doc, "machine.network");
  return network !== undefined && network !== null;
};
const total = (counts: Readonly<Record<string, number>>) => Object.values(counts).reduce((a, b) => a + b, 0);
const sameCounts = (a: Readonly<Record<string, number>>, b: Readonly<Record<string, number>>) =>
  JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());

/** Each updated apply whose network documents change, in step order. */
export function networkDocumentChanges(steps: readonly Step[]): NetworkDocuments[] {
  const out: NetworkDocuments[] = [];
  for (const s of steps) {
    if (s.type !== APPLY || s.op !== "update" || !s.old || !s.next) continue;
    const oldDocs = documentsOf(s.old.inputs);
    const newDocs = documentsOf(s.next.inputs);
    const before = kindCounts(oldDocs);
    const after = kindCounts(newDocs);
    if (sameCounts(before, after)) continue;
    const address = valueAt(s.next.inputs, "node");
    out.push({
      node: hostnameIn(newDocs) ?? hostnameIn(oldDocs) ?? String(address ?? s.name),
      before,
      after,
      legacyBefore: oldDocs.some(setsMachineNetwork),
      legacyAfter: newDocs.some(setsMachineNetwork),
      wave: s.wave,
    });
  }
  return out;
}

/** `0 (under machine.network)` or `21 (BondConfig 1, LinkAliasConfig 16, ...)`, kinds in alphabetical order. */
function describe(counts: Readonly<Record<string, number>>, legacy: boolean): string {
  const kinds = Object.entries(counts)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([kind, n]) => `${kind} ${n}`);
  if (legacy) kinds.push(kinds.length === 0 ? "under machine.network" : "plus machine.network");
  return `${total(counts)}${kinds.length === 0 ? "" : ` (${kinds.join(", ")})`}`;
}

const minorOf = (version: string) => /^v?(\d+)\.(\d+)/.exec(version)?.slice(1, 3).join(".");

/**
 * One warning when a Talos minor change rewrites the nodes' network documents: from → to contract,
 * then per node (nodes with equal counts grouped) the network documents before → after, and what it
 * means for the operator. None for a patch bump, or a minor change that leaves them as they are.
 */
export function networkRewriteWarnings(versions: readonly VersionChange[], steps: readonly Step[]): Issue[] {
  const talos = versions.find((c) => c.what === "Talos" && minorOf(c.from) !== minorOf(c.to));
  if (!talos) return [];
  const changes = networkDocumentChanges(steps);
  if (changes.length === 0) return [];
  const groups = new Map<string, string[]>();
  for (const c of changes) {
    const key = `${describe(c.before, c.legacyBefore)} → ${describe(c.after, c.legacyAfter)}`;
    groups.set(key, [...(groups.get(key) ?? []), c.node]);
  }
  const perNode = [...groups].map(([counts, nodes]) => `${nodes.join(", ")}: ${counts}`).join("; ");
  const from = `v${minorOf(talos.from) ?? "?"}`;
  const to = `v${minorOf(talos.to) ?? "?"}`;
  const waves = changes.map((c) => c.wave);
  const [first, last] = [Math.min(...waves), Math.max(...waves)];
  return [
    {
      urn: "",
      message:
        `Talos ${talos.from} → ${talos.to} moves the machine-config contract ${from} → ${to} and rewrites each node's network config; ` +
        `network documents per node: ${perNode}. ` +
        `They reach each node with its apply (wave${first === last ? ` ${first}` : `s ${first}–${last}`}), after every node runs ${to} (the OS upgrades come first); ` +
        `the bond keeps its member NICs and addresses`,
    },
  ];
}
