import type { TalosContract } from "./contract";
import { mergePatches } from "./merge";
import { isTypedDoc, type ConfigDocument, type PatchDoc, type TypedDoc } from "./types";

/**
 * What a node's patches make Talos do, read back from either spelling (1.11's `.machine.network`
 * or 1.12+'s typed documents), so the two can be compared setting by setting. Bond members are
 * resolved against a given NIC inventory the way Talos resolves them (device selectors in 1.11,
 * link aliases in 1.12+), because the two contracts select NICs by different means.
 *
 * It reads only the forms these patches emit and throws on anything else, so a new field or
 * selector form cannot silently drop out of the comparison.
 */
export interface Nic {
  readonly name: string;
  /** Permanent MAC address, lower case. */
  readonly mac: string;
  readonly driver: string;
}

export interface Route {
  readonly destination: string;
  readonly gateway: string;
}

export interface LinkSettings {
  readonly name: string;
  readonly mtu: number | undefined;
  readonly addresses: string[];
  readonly routes: Route[];
  readonly dhcp: boolean;
}

export interface EffectiveSettings {
  readonly hostname: string | undefined;
  readonly bond:
    (LinkSettings & { readonly members: string[]; mode: string; xmitHashPolicy: string; lacpRate: string; miimon: number }) | undefined;
  readonly vlans: Array<LinkSettings & { readonly parent: string; readonly id: number }>;
  readonly vip: { readonly ip: string; readonly link: string } | undefined;
  readonly nameservers: string[];
  readonly searchDomainDisabled: boolean;
  readonly time: { readonly enabled: boolean; readonly servers: string[] };
}

export function effectiveSettings(docs: readonly ConfigDocument[], contract: TalosContract, nics: readonly Nic[]): EffectiveSettings {
  return contract === "v1.11" ? fromLegacy(docs, nics) : fromDocuments(docs, contract, nics);
}

type Obj = Record<string, unknown>;

function fromLegacy(docs: readonly ConfigDocument[], nics: readonly Nic[]): EffectiveSettings {
  const merged = mergePatches(
    {},
    docs.filter((d): d is PatchDoc => !isTypedDoc(d)),
  );
  const machine = obj(merged.machine ?? {}, "machine");
  const network = obj(machine.network ?? {}, "machine.network");
  known(network, ["hostname", "interfaces", "nameservers", "disableSearchDomain"], "machine.network");
  const devices = arr(network.interfaces ?? [], "interfaces").map((d) => obj(d, "interface"));
  const bonds = devices.filter((d) => d.bond !== undefined);
  if (bonds.length > 1 || devices.length > bonds.length)
    throw new Error("effectiveSettings: only one bond and no other interface are read");
  const device = bonds[0];
  let bond: EffectiveSettings["bond"];
  let vlans: EffectiveSettings["vlans"] = [];
  let vip: EffectiveSettings["vip"];
  if (device) {
    known(device, ["interface", "bond", "dhcp", "mtu", "addresses", "routes", "vip", "vlans"], "interface");
    const name = str(device.interface, "interface");
    const b = obj(device.bond, "bond");
    known(b, ["deviceSelectors", "mode", "xmitHashPolicy", "lacpRate", "miimon"], "bond");
    const selectors = arr(b.deviceSelectors, "deviceSelectors").map((s) => obj(s, "deviceSelector"));
    bond = {
      ...legacyLink(name, device),
      members: nics
        .filter((nic) => selectors.some((s) => legacySelectorMatches(s, nic)))
        .map((n) => n.mac)
        .sort(),
      mode: str(b.mode, "bond.mode"),
      xmitHashPolicy: str(b.xmitHashPolicy, "bond.xmitHashPolicy"),
      lacpRate: str(b.lacpRate, "bond.lacpRate"),
      miimon: num(b.miimon, "bond.miimon"),
    };
    vlans = arr(device.vlans ?? [], "vlans").map((v) => {
      const vlan = obj(v, "vlan");
      known(vlan, ["vlanId", "mtu", "dhcp", "addresses", "routes"], "vlan");
      const id = num(vlan.vlanId, "vlanId");
      return { ...legacyLink(`${name}.${id}`, vlan), parent: name, id };
    });
    if (device.vip !== undefined) vip = { ip: str(obj(device.vip, "vip").ip, "vip.ip"), link: name };
  }
  // Without a time section Talos syncs time against its default server.
  const time = obj(machine.time ?? {}, "machine.time");
  return {
    hostname: optionalStr(network.hostname, "hostname"),
    bond,
    vlans,
    vip,
    nameservers: strs(network.nameservers ?? [], "nameservers"),
    searchDomainDisabled: network.disableSearchDomain === true,
    time: { enabled: time.disabled !== true, servers: strs(time.servers ?? [], "time.servers") },
  };
}

function legacyLink(name: string, device: Obj): LinkSettings {
  return {
    name,
    mtu: device.mtu === undefined ? undefined : num(device.mtu, "mtu"),
    addresses: strs(device.addresses ?? [], "addresses"),
    routes: arr(device.routes ?? [], "routes").map((r) => {
      const route = obj(r, "route");
      known(route, ["network", "gateway"], "route");
      return { destination: str(route.network, "route.network"), gateway: str(route.gateway, "route.gateway") };
    }),
    dhcp: device.dhcp === true,
  };
}

/** 1.11 device selectors: every qualifier set must glob-match (device_config.go at v1.11.6). */
function legacySelectorMatches(selector: Obj, nic: Nic): boolean {
  known(selector, ["hardwareAddr", "driver"], "deviceSelector");
  const pairs: Array<[unknown, string]> = [
    [selector.hardwareAddr, nic.mac],
    [selector.driver, nic.driver],
  ];
  return pairs.every(([pattern, value]) => pattern === undefined || glob(str(pattern, "selector"), value));
}

const documentKinds = [
  "HostnameConfig",
  "LinkAliasConfig",
  "BondConfig",
  "VLANConfig",
  "Layer2VIPConfig",
  "ResolverConfig",
  "TimeSyncConfig",
];

function fromDocuments(docs: readonly ConfigDocument[], contract: TalosContract, nics: readonly Nic[]): EffectiveSettings {
  const typed = docs.filter(isTypedDoc);
  for (const doc of typed) {
    if (!documentKinds.includes(doc.kind)) throw new Error(`effectiveSettings: unread document kind ${doc.kind}`);
  }
  const ofKind = (kind: string) => typed.filter((d) => d.kind === kind);
  const single = (kind: string): TypedDoc | undefined => {
    const found = ofKind(kind);
    if (found.length > 1) throw new Error(`effectiveSettings: several ${kind} documents`);
    return found[0];
  };
  const aliases = resolveAliases(ofKind("LinkAliasConfig"), contract, nics);
  const link = (doc: TypedDoc): LinkSettings => ({
    name: str(doc.name, "name"),
    mtu: doc.mtu === undefined ? undefined : num(doc.mtu, "mtu"),
    addresses: arr(doc.addresses ?? [], "addresses").map((a) => {
      const address = obj(a, "address");
      known(address, ["address"], "address");
      return str(address.address, "address");
    }),
    routes: arr(doc.routes ?? [], "routes").map((r) => {
      const route = obj(r, "route");
      known(route, ["destination", "gateway"], "route");
      // No destination means the default route of the gateway's family (RouteConfig, link.go).
      return {
        destination: route.destination === undefined ? "0.0.0.0/0" : str(route.destination, "destination"),
        gateway: str(route.gateway, "gateway"),
      };
    }),
    // DHCP would take a DHCPv4Config/DHCPv6Config document, an unread kind (refused above).
    dhcp: false,
  });

  const bonds = ofKind("BondConfig");
  if (bonds.length > 1) throw new Error("effectiveSettings: only one bond is read");
  const bondDoc = bonds[0];
  let bond: EffectiveSettings["bond"];
  if (bondDoc) {
    known(
      bondDoc,
      ["apiVersion", "kind", "name", "links", "bondMode", "xmitHashPolicy", "lacpRate", "miimon", "mtu", "addresses", "routes"],
      "BondConfig",
    );
    const byAlias = new Map(aliases.map(([alias, nic]) => [alias, nic]));
    bond = {
      ...link(bondDoc),
      // A listed link that resolves to no interface is left alone by Talos (link_spec.go).
      members: strs(bondDoc.links, "links").flatMap((l) => {
        const nic = byAlias.get(l) ?? nics.find((n) => n.name === l);
        return nic ? [nic.mac] : [];
      }),
      mode: str(bondDoc.bondMode, "bondMode"),
      xmitHashPolicy: str(bondDoc.xmitHashPolicy, "xmitHashPolicy"),
      lacpRate: str(bondDoc.lacpRate, "lacpRate"),
      miimon: num(bondDoc.miimon, "miimon"),
    };
  }
  const vlans = ofKind("VLANConfig").map((doc) => {
    known(doc, ["apiVersion", "kind", "name", "vlanID", "parent", "mtu", "addresses", "routes"], "VLANConfig");
    return { ...link(doc), parent: str(doc.parent, "parent"), id: num(doc.vlanID, "vlanID") };
  });
  const vips = ofKind("Layer2VIPConfig");
  if (vips.length > 1) throw new Error("effectiveSettings: only one VIP is read");
  const vipDoc = vips[0];
  const hostname = single("HostnameConfig");
  if (hostname && hostname.auto !== "off") throw new Error("effectiveSettings: HostnameConfig with a static name must have auto: off");
  const resolver = single("ResolverConfig");
  const searchDomains = obj(resolver?.searchDomains ?? {}, "searchDomains");
  const time = single("TimeSyncConfig");
  return {
    hostname: optionalStr(hostname?.hostname, "hostname"),
    bond: bond && { ...bond, members: [...bond.members].sort() },
    vlans,
    vip: vipDoc && { ip: str(vipDoc.name, "Layer2VIPConfig.name"), link: str(vipDoc.link, "Layer2VIPConfig.link") },
    nameservers: arr(resolver?.nameservers ?? [], "nameservers").map((n) => str(obj(n, "nameserver").address, "nameserver.address")),
    searchDomainDisabled: searchDomains.disableDefault === true,
    time: {
      // Without a TimeSyncConfig Talos syncs time against its default server.
      enabled: time?.enabled !== false,
      servers: strs(obj(time?.ntp ?? {}, "ntp").servers ?? [], "ntp.servers"),
    },
  };
}

/**
 * Link aliases as Talos assigns them (controllers/network/link_alias_config.go at v1.12.11 and
 * v1.13.9): links are taken in the order of their permanent MAC; a fixed alias whose selector matches
 * several links is skipped; a link keeps the first alias it got; a 1.13 pattern alias (`name%d`)
 * names every matched link not yet aliased, counting from 0 (1.13 processes the documents sorted by
 * name, 1.12 in order, and has no pattern aliases: its Validate takes `%` as part of a fixed name).
 */
function resolveAliases(docs: readonly TypedDoc[], contract: TalosContract, nics: readonly Nic[]): Array<[string, Nic]> {
  const ordered = contract === "v1.12" ? [...docs] : [...docs].sort((a, b) => str(a.name, "name").localeCompare(str(b.name, "name")));
  // Same-length lower-case hex MACs compare as their bytes do (the controller's bytes.Compare).
  const byMac = [...nics].sort((a, b) => a.mac.localeCompare(b.mac));
  const assigned = new Map<Nic, string>();
  for (const doc of ordered) {
    const name = str(doc.name, "LinkAliasConfig.name");
    const pattern = name.includes("%");
    if (pattern && (contract === "v1.12" || !/^[^%]+%d$/.test(name)))
      throw new Error(`effectiveSettings: ${name} is not a pattern alias Talos ${contract} accepts`);
    const terms = selectorTerms(str(obj(doc.selector, "selector").match, "selector.match"));
    const matched = byMac.filter((nic) => terms.every((term) => term(nic)));
    if (matched.length > 1 && !pattern) continue;
    matched
      .filter((nic) => !assigned.has(nic))
      .forEach((nic, counter) => assigned.set(nic, pattern ? name.replace("%d", String(counter)) : name));
  }
  return [...assigned].map(([nic, alias]) => [alias, nic]);
}

/** The CEL forms bondMembers.ts emits, joined by `&&`; anything else is refused. */
function selectorTerms(expression: string): Array<(nic: Nic) => boolean> {
  return expression.split(" && ").map((term) => {
    const equal = /^mac\(link\.permanent_addr\) == "([^"]*)"$/.exec(term);
    if (equal) return (nic: Nic) => nic.mac === equal[1];
    const globbed = /^glob\("([^"]*)", mac\(link\.permanent_addr\)\)$/.exec(term);
    if (globbed) return (nic: Nic) => glob(globbed[1] as string, nic.mac);
    const driver = /^link\.driver == "([^"]*)"$/.exec(term);
    if (driver) return (nic: Nic) => nic.driver === driver[1];
    throw new Error(`effectiveSettings: unread selector term ${term}`);
  });
}

/** `*` matches any run of characters, everything else itself (github.com/ryanuber/go-glob, used by Talos). */
function glob(pattern: string, value: string): boolean {
  const source = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${source}$`).test(value);
}

function known(value: Obj, keys: readonly string[], where: string): void {
  const unread = Object.keys(value).filter((k) => !keys.includes(k));
  if (unread.length > 0) throw new Error(`effectiveSettings: unread field(s) ${unread.join(", ")} in ${where}`);
}

function obj(value: unknown, where: string): Obj {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`effectiveSettings: ${where} is not an object`);
  return value as Obj;
}

function arr(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value)) throw new Error(`effectiveSettings: ${where} is not a list`);
  return value;
}

function str(value: unknown, where: string): string {
  if (typeof value !== "string") throw new Error(`effectiveSettings: ${where} is not a string`);
  return value;
}

function optionalStr(value: unknown, where: string): string | undefined {
  return value === undefined ? undefined : str(value, where);
}

function strs(value: unknown, where: string): string[] {
  return arr(value, where).map((v) => str(v, where));
}

function num(value: unknown, where: string): number {
  if (typeof value !== "number") throw new Error(`effectiveSettings: ${where} is not a number`);
  return value;
}
