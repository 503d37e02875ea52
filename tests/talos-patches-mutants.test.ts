import {
  effectiveSettings,
  mergePatches,
  schematicYaml,
  type ConfigDocument,
  type Nic,
  type PatchDoc,
  type TalosContract,
  type TypedDoc,
} from "../components/talos/patches";
import { bondMembers } from "../components/talos/patches/bondMembers";
import { networkDocuments } from "../components/talos/patches/documents";
import { legacyNetworkPatch } from "../components/talos/patches/legacy";
import { nodeNetwork, type NodeNetwork } from "../components/talos/patches/network";
import { installPatch, labelsPatch, sysctlsPatch } from "../components/talos/patches/v1alpha1";
import { firstControlPlane, load } from "./talos-patches-helpers";

/**
 * effectiveSettings read case by case: exact settings for every field either spelling can carry, and
 * the exact refusal for each malformed or unread form, so a reading that silently changes fails here.
 */

const nics: Nic[] = [
  // Listed out of MAC order: members come back sorted whatever order the machine lists its NICs in.
  { name: "enp1s0f1", mac: "aa:00:00:00:00:02", driver: "i40e" },
  { name: "enp1s0f0", mac: "aa:00:00:00:00:01", driver: "i40e" },
  { name: "eno1", mac: "bb:00:00:00:00:01", driver: "igb" },
];

/** Documents whose fields are deliberately outside their declared types. */
const docs = (...values: unknown[]): ConfigDocument[] => values as ConfigDocument[];
const typed = (kind: string, fields: Record<string, unknown> = {}): TypedDoc => ({ apiVersion: "v1alpha1", kind, ...fields });

const nothingSet = {
  hostname: undefined,
  bond: undefined,
  vlans: [],
  vip: undefined,
  nameservers: [],
  searchDomainDisabled: false,
  time: { enabled: true, servers: [] },
};

describe("effectiveSettings without any network setting", () => {
  it.each(["v1.11", "v1.12", "v1.13"] as const)("%s: no hostname, bond, VLAN or VIP, and time synced against the default", (contract) => {
    expect(effectiveSettings([], contract, nics)).toEqual(nothingSet);
  });

  it("v1.11: a network section with only a hostname has no interface and no nameserver", () => {
    expect(effectiveSettings(docs({ machine: { network: { hostname: "n1" }, time: { disabled: false } } }), "v1.11", nics)).toEqual({
      ...nothingSet,
      hostname: "n1",
    });
  });

  it("v1.11: typed documents are not part of the 1.11 spelling and are ignored", () => {
    const stray = typed("HostnameConfig", { machine: { network: { hostname: "from-typed" } } });
    expect(effectiveSettings([stray], "v1.11", nics)).toEqual(nothingSet);
  });

  it.each(["v1.12", "v1.13"] as const)("%s: a HostnameConfig without a name, a bare resolver and time sync without servers", (contract) => {
    const settings = effectiveSettings(
      [typed("HostnameConfig", { auto: "off" }), typed("ResolverConfig"), typed("TimeSyncConfig", { enabled: true })],
      contract,
      nics,
    );
    expect(settings).toEqual(nothingSet);
  });
});

/** A 1.11 bond interface carrying every field the reader knows. */
function legacyDevice(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    interface: "bond0",
    bond: legacyBond(),
    dhcp: true,
    mtu: 9000,
    addresses: ["10.0.0.2/24"],
    routes: [{ network: "10.1.0.0/16", gateway: "10.0.0.1" }],
    vip: { ip: "10.0.0.10" },
    vlans: [{ vlanId: 7, mtu: 1500, dhcp: true, addresses: ["10.7.0.2/24"], routes: [{ network: "0.0.0.0/0", gateway: "10.7.0.1" }] }],
    ...overrides,
  };
}

function legacyBond(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    deviceSelectors: [{ hardwareAddr: "aa:*", driver: "i40e" }],
    mode: "802.3ad",
    xmitHashPolicy: "layer3+4",
    lacpRate: "fast",
    miimon: 100,
    ...overrides,
  };
}

const legacy = (network: Record<string, unknown>, time?: unknown): ConfigDocument[] =>
  docs({ machine: { network, ...(time === undefined ? {} : { time }) } });

describe("effectiveSettings reads the 1.11 spelling", () => {
  it("reads every field of a bond, its VLAN, the VIP, the resolver and time", () => {
    const network = { hostname: "n1", interfaces: [legacyDevice()], nameservers: ["10.0.0.53"], disableSearchDomain: true };
    expect(effectiveSettings(legacy(network, { disabled: true, servers: ["ntp.example"] }), "v1.11", nics)).toEqual({
      hostname: "n1",
      bond: {
        name: "bond0",
        mtu: 9000,
        addresses: ["10.0.0.2/24"],
        routes: [{ destination: "10.1.0.0/16", gateway: "10.0.0.1" }],
        dhcp: true,
        members: ["aa:00:00:00:00:01", "aa:00:00:00:00:02"],
        mode: "802.3ad",
        xmitHashPolicy: "layer3+4",
        lacpRate: "fast",
        miimon: 100,
      },
      vlans: [
        {
          name: "bond0.7",
          mtu: 1500,
          addresses: ["10.7.0.2/24"],
          routes: [{ destination: "0.0.0.0/0", gateway: "10.7.0.1" }],
          dhcp: true,
          parent: "bond0",
          id: 7,
        },
      ],
      vip: { ip: "10.0.0.10", link: "bond0" },
      nameservers: ["10.0.0.53"],
      searchDomainDisabled: true,
      time: { enabled: false, servers: ["ntp.example"] },
    });
  });

  it("reads a bare bond: no MTU, no addresses, routes, VLANs or VIP, DHCP off", () => {
    const device = { interface: "bond0", bond: legacyBond() };
    expect(effectiveSettings(legacy({ interfaces: [device] }), "v1.11", nics).bond).toEqual({
      name: "bond0",
      mtu: undefined,
      addresses: [],
      routes: [],
      dhcp: false,
      members: ["aa:00:00:00:00:01", "aa:00:00:00:00:02"],
      mode: "802.3ad",
      xmitHashPolicy: "layer3+4",
      lacpRate: "fast",
      miimon: 100,
    });
  });

  it("takes a NIC that any one of the device selectors matches", () => {
    const bond = legacyBond({ deviceSelectors: [{ hardwareAddr: "aa:*" }, { driver: "igb" }] });
    const settings = effectiveSettings(legacy({ interfaces: [legacyDevice({ bond })] }), "v1.11", nics);
    expect(settings.bond?.members).toEqual(["aa:00:00:00:00:01", "aa:00:00:00:00:02", "bb:00:00:00:00:01"]);
  });

  it("requires every qualifier of one selector to match", () => {
    const bond = legacyBond({ deviceSelectors: [{ hardwareAddr: "aa:*", driver: "igb" }] });
    expect(effectiveSettings(legacy({ interfaces: [legacyDevice({ bond })] }), "v1.11", nics).bond?.members).toEqual([]);
  });

  it("globs only on `*`: other pattern characters, such as a dot, match themselves", () => {
    const machine: Nic[] = [
      { name: "a", mac: "aa.bb:01", driver: "x" },
      { name: "b", mac: "aaxbb:02", driver: "x" },
    ];
    const bond = legacyBond({ deviceSelectors: [{ hardwareAddr: "aa.bb*" }] });
    expect(effectiveSettings(legacy({ interfaces: [legacyDevice({ bond })] }), "v1.11", machine).bond?.members).toEqual(["aa.bb:01"]);
  });
});

describe("effectiveSettings refuses malformed or unread 1.11 input, naming where", () => {
  const device = (overrides: Record<string, unknown>) => legacy({ interfaces: [legacyDevice(overrides)] });
  const bond = (overrides: Record<string, unknown>) => device({ bond: legacyBond(overrides) });
  const vlan = (overrides: Record<string, unknown>) => device({ vlans: [{ vlanId: 7, ...overrides }] });
  const cases: Array<[string, ConfigDocument[], string]> = [
    ["machine as a string", docs({ machine: "x" }), "machine is not an object"],
    ["machine as a list", docs({ machine: [] }), "machine is not an object"],
    ["network as a number", docs({ machine: { network: 5 } }), "machine.network is not an object"],
    ["two unread network fields", legacy({ a: 1, b: 2 }), "unread field(s) a, b in machine.network"],
    ["interfaces as a number", legacy({ interfaces: 5 }), "interfaces is not a list"],
    ["an interface that is null", legacy({ interfaces: [null] }), "interface is not an object"],
    ["an interface without a bond", legacy({ interfaces: [{ interface: "eth0" }] }), "only one bond and no other interface are read"],
    [
      "a bond beside a plain interface",
      legacy({ interfaces: [legacyDevice(), { interface: "eth0" }] }),
      "only one bond and no other interface are read",
    ],
    [
      "two bonds",
      legacy({ interfaces: [legacyDevice(), legacyDevice({ interface: "bond1" })] }),
      "only one bond and no other interface are read",
    ],
    ["an unread interface field", device({ bridge: {} }), "unread field(s) bridge in interface"],
    ["an interface name that is no string", device({ interface: 5 }), "interface is not a string"],
    ["a bond that is no object", device({ bond: 5 }), "bond is not an object"],
    ["an unread bond field", bond({ primary: "eth0" }), "unread field(s) primary in bond"],
    ["device selectors that are no list", bond({ deviceSelectors: 5 }), "deviceSelectors is not a list"],
    ["a device selector that is no object", bond({ deviceSelectors: [5] }), "deviceSelector is not an object"],
    [
      "an unread selector qualifier",
      bond({ deviceSelectors: [{ hardwareAddr: "aa:*", pci: "x" }] }),
      "unread field(s) pci in deviceSelector",
    ],
    ["a selector pattern that is no string", bond({ deviceSelectors: [{ hardwareAddr: 5 }] }), "selector is not a string"],
    ["a bond mode that is no string", bond({ mode: 4 }), "bond.mode is not a string"],
    ["a hash policy that is no string", bond({ xmitHashPolicy: 1 }), "bond.xmitHashPolicy is not a string"],
    ["a LACP rate that is no string", bond({ lacpRate: 1 }), "bond.lacpRate is not a string"],
    ["a miimon that is no number", bond({ miimon: "100" }), "bond.miimon is not a number"],
    ["VLANs that are no list", device({ vlans: 5 }), "vlans is not a list"],
    ["a VLAN that is no object", device({ vlans: [5] }), "vlan is not an object"],
    ["an unread VLAN field", vlan({ vlanMTU: 1 }), "unread field(s) vlanMTU in vlan"],
    ["a VLAN id that is no number", vlan({ vlanId: "7" }), "vlanId is not a number"],
    ["a VIP that is no object", device({ vip: 5 }), "vip is not an object"],
    ["a VIP address that is no string", device({ vip: { ip: 5 } }), "vip.ip is not a string"],
    ["an MTU that is no number", device({ mtu: "9000" }), "mtu is not a number"],
    ["an address that is no string", device({ addresses: [5] }), "addresses is not a string"],
    ["routes that are no list", device({ routes: 5 }), "routes is not a list"],
    ["a route that is no object", device({ routes: [5] }), "route is not an object"],
    ["an unread route field", device({ routes: [{ network: "0.0.0.0/0", gateway: "g", metric: 1 }] }), "unread field(s) metric in route"],
    ["a route network that is no string", device({ routes: [{ network: 5, gateway: "g" }] }), "route.network is not a string"],
    ["a route gateway that is no string", device({ routes: [{ network: "0.0.0.0/0", gateway: 5 }] }), "route.gateway is not a string"],
    ["a hostname that is no string", legacy({ hostname: 5 }), "hostname is not a string"],
    ["a nameserver that is no string", legacy({ nameservers: [5] }), "nameservers is not a string"],
    ["a time section that is no object", legacy({}, 5), "machine.time is not an object"],
    ["time servers that are no list", legacy({}, { servers: 5 }), "time.servers is not a list"],
  ];

  it.each(cases)("%s", (_label, input, message) => {
    expect(() => effectiveSettings(input, "v1.11", nics)).toThrow(new Error(`effectiveSettings: ${message}`));
  });
});

const alias = (name: unknown, match: unknown): TypedDoc => typed("LinkAliasConfig", { name, selector: { match } });
const macIs = (mac: string) => `mac(link.permanent_addr) == "${mac}"`;

function bondConfig(overrides: Record<string, unknown> = {}): TypedDoc {
  return typed("BondConfig", {
    name: "bond0",
    links: ["p0"],
    bondMode: "802.3ad",
    xmitHashPolicy: "layer3+4",
    lacpRate: "fast",
    miimon: 100,
    ...overrides,
  });
}

describe("effectiveSettings reads the typed documents of 1.12 and later", () => {
  it.each(["v1.12", "v1.13"] as const)("%s: reads every field of every read kind", (contract) => {
    const settings = effectiveSettings(
      [
        typed("HostnameConfig", { auto: "off", hostname: "n1" }),
        alias("p0", macIs("aa:00:00:00:00:01")),
        bondConfig({
          // A NIC named directly, an alias, and a link the machine lacks (left alone).
          links: ["eno1", "p0", "enp9s0"],
          mtu: 9000,
          addresses: [{ address: "10.0.0.2/24" }],
          routes: [{ gateway: "10.0.0.1" }, { destination: "10.1.0.0/16", gateway: "10.0.0.254" }],
        }),
        typed("VLANConfig", {
          name: "bond0.7",
          vlanID: 7,
          parent: "bond0",
          mtu: 1500,
          addresses: [{ address: "10.7.0.2/24" }],
          routes: [{ destination: "10.70.0.0/16", gateway: "10.7.0.1" }],
        }),
        typed("Layer2VIPConfig", { name: "10.0.0.10", link: "bond0" }),
        typed("ResolverConfig", { nameservers: [{ address: "10.0.0.53" }], searchDomains: { disableDefault: true } }),
        typed("TimeSyncConfig", { enabled: false, ntp: { servers: ["ntp.example"] } }),
      ],
      contract,
      nics,
    );
    expect(settings).toEqual({
      hostname: "n1",
      bond: {
        name: "bond0",
        mtu: 9000,
        addresses: ["10.0.0.2/24"],
        routes: [
          { destination: "0.0.0.0/0", gateway: "10.0.0.1" },
          { destination: "10.1.0.0/16", gateway: "10.0.0.254" },
        ],
        dhcp: false,
        members: ["aa:00:00:00:00:01", "bb:00:00:00:00:01"],
        mode: "802.3ad",
        xmitHashPolicy: "layer3+4",
        lacpRate: "fast",
        miimon: 100,
      },
      vlans: [
        {
          name: "bond0.7",
          mtu: 1500,
          addresses: ["10.7.0.2/24"],
          routes: [{ destination: "10.70.0.0/16", gateway: "10.7.0.1" }],
          dhcp: false,
          parent: "bond0",
          id: 7,
        },
      ],
      vip: { ip: "10.0.0.10", link: "bond0" },
      nameservers: ["10.0.0.53"],
      searchDomainDisabled: true,
      time: { enabled: false, servers: ["ntp.example"] },
    });
  });

  // Two aliases select the same NIC; the bond lists the one that sorts first.
  const contested = [
    alias("zeta", macIs("aa:00:00:00:00:01")),
    alias("alpha", macIs("aa:00:00:00:00:01")),
    bondConfig({ links: ["alpha"] }),
  ];

  it("v1.12 assigns aliases in document order: the NIC keeps the first alias, the later one names nothing", () => {
    expect(effectiveSettings(contested, "v1.12", nics).bond?.members).toEqual([]);
  });

  it("v1.13 assigns aliases sorted by name: the NIC takes the alias that sorts first", () => {
    expect(effectiveSettings(contested, "v1.13", nics).bond?.members).toEqual(["aa:00:00:00:00:01"]);
  });

  it("an alias whose selector matches several NICs names none of them", () => {
    const wide = [alias("p0", 'glob("aa:*", mac(link.permanent_addr))'), bondConfig()];
    expect(effectiveSettings(wide, "v1.12", nics).bond?.members).toEqual([]);
  });
});

describe("effectiveSettings refuses malformed or unread typed documents, naming where", () => {
  const withBond = (overrides: Record<string, unknown>) => [bondConfig(overrides)];
  const vlan = (overrides: Record<string, unknown>) => [typed("VLANConfig", { name: "bond0.7", vlanID: 7, parent: "bond0", ...overrides })];
  const cases: Array<[string, TalosContract, ConfigDocument[], string]> = [
    [
      "two HostnameConfigs",
      "v1.12",
      [typed("HostnameConfig", { auto: "off" }), typed("HostnameConfig", { auto: "off" })],
      "several HostnameConfig documents",
    ],
    ["two ResolverConfigs", "v1.12", [typed("ResolverConfig"), typed("ResolverConfig")], "several ResolverConfig documents"],
    ["two TimeSyncConfigs", "v1.13", [typed("TimeSyncConfig"), typed("TimeSyncConfig")], "several TimeSyncConfig documents"],
    ["two bonds", "v1.12", [bondConfig(), bondConfig({ name: "bond1" })], "only one bond is read"],
    [
      "two VIPs",
      "v1.12",
      [typed("Layer2VIPConfig", { name: "10.0.0.10", link: "bond0" }), typed("Layer2VIPConfig", { name: "10.0.0.11", link: "bond0" })],
      "only one VIP is read",
    ],
    [
      "a static hostname with automatic names on",
      "v1.12",
      [typed("HostnameConfig", { auto: "stable", hostname: "n1" })],
      "HostnameConfig with a static name must have auto: off",
    ],
    [
      "a static hostname without auto",
      "v1.13",
      [typed("HostnameConfig", { hostname: "n1" })],
      "HostnameConfig with a static name must have auto: off",
    ],
    ["a hostname that is no string", "v1.12", [typed("HostnameConfig", { auto: "off", hostname: 5 })], "hostname is not a string"],
    ["an unread BondConfig field", "v1.12", withBond({ deviceSelectors: [] }), "unread field(s) deviceSelectors in BondConfig"],
    ["a link name that is no string", "v1.12", withBond({ name: 5 }), "name is not a string"],
    ["an MTU that is no number", "v1.12", withBond({ mtu: "9000" }), "mtu is not a number"],
    ["addresses that are no list", "v1.12", withBond({ addresses: 5 }), "addresses is not a list"],
    ["an address that is no object", "v1.12", withBond({ addresses: ["10.0.0.2/24"] }), "address is not an object"],
    [
      "an unread address field",
      "v1.12",
      withBond({ addresses: [{ address: "10.0.0.2/24", label: "x" }] }),
      "unread field(s) label in address",
    ],
    ["an address that is no string", "v1.12", withBond({ addresses: [{ address: 5 }] }), "address is not a string"],
    ["routes that are no list", "v1.12", withBond({ routes: 5 }), "routes is not a list"],
    ["a route that is no object", "v1.12", withBond({ routes: [5] }), "route is not an object"],
    ["an unread route field", "v1.12", withBond({ routes: [{ gateway: "g", metric: 1 }] }), "unread field(s) metric in route"],
    [
      "a route destination that is no string",
      "v1.12",
      withBond({ routes: [{ destination: 5, gateway: "g" }] }),
      "destination is not a string",
    ],
    ["a route gateway that is no string", "v1.12", withBond({ routes: [{ gateway: 5 }] }), "gateway is not a string"],
    ["bond links that are no list", "v1.12", withBond({ links: 5 }), "links is not a list"],
    ["a bond mode that is no string", "v1.12", withBond({ bondMode: 4 }), "bondMode is not a string"],
    ["a hash policy that is no string", "v1.12", withBond({ xmitHashPolicy: 1 }), "xmitHashPolicy is not a string"],
    ["a LACP rate that is no string", "v1.12", withBond({ lacpRate: 1 }), "lacpRate is not a string"],
    ["a miimon that is no number", "v1.12", withBond({ miimon: "100" }), "miimon is not a number"],
    ["an unread VLANConfig field", "v1.13", vlan({ up: false, down: true }), "unread field(s) up, down in VLANConfig"],
    ["a VLAN parent that is no string", "v1.12", vlan({ parent: 5 }), "parent is not a string"],
    ["a VLAN id that is no number", "v1.12", vlan({ vlanID: "7" }), "vlanID is not a number"],
    [
      "a VIP address that is no string",
      "v1.12",
      [typed("Layer2VIPConfig", { name: 5, link: "bond0" })],
      "Layer2VIPConfig.name is not a string",
    ],
    [
      "a VIP link that is no string",
      "v1.12",
      [typed("Layer2VIPConfig", { name: "10.0.0.10", link: 5 })],
      "Layer2VIPConfig.link is not a string",
    ],
    ["search domains that are no object", "v1.12", [typed("ResolverConfig", { searchDomains: 5 })], "searchDomains is not an object"],
    ["nameservers that are no list", "v1.12", [typed("ResolverConfig", { nameservers: 5 })], "nameservers is not a list"],
    ["a nameserver that is no object", "v1.12", [typed("ResolverConfig", { nameservers: ["10.0.0.53"] })], "nameserver is not an object"],
    [
      "a nameserver address that is no string",
      "v1.12",
      [typed("ResolverConfig", { nameservers: [{ address: 5 }] })],
      "nameserver.address is not a string",
    ],
    ["NTP settings that are no object", "v1.12", [typed("TimeSyncConfig", { ntp: 5 })], "ntp is not an object"],
    ["NTP servers that are no list", "v1.12", [typed("TimeSyncConfig", { ntp: { servers: 5 } })], "ntp.servers is not a list"],
    ["an alias name that is no string", "v1.12", [alias(5, macIs("aa"))], "LinkAliasConfig.name is not a string"],
    ["a nameless alias sorted after a named one", "v1.13", [alias("a", macIs("aa")), alias(5, macIs("aa"))], "name is not a string"],
    ["a nameless alias sorted before a named one", "v1.13", [alias(5, macIs("aa")), alias("a", macIs("aa"))], "name is not a string"],
    ["a pattern alias", "v1.12", [alias("port%d", macIs("aa"))], "port%d is not a pattern alias Talos v1.12 accepts"],
    ["a pattern alias with another verb", "v1.13", [alias("port%s", macIs("aa"))], "port%s is not a pattern alias Talos v1.13 accepts"],
    ["a pattern alias without a prefix", "v1.13", [alias("%d", macIs("aa"))], "%d is not a pattern alias Talos v1.13 accepts"],
    ["an alias selector that is null", "v1.12", [typed("LinkAliasConfig", { name: "p0", selector: null })], "selector is not an object"],
    [
      "an alias selector without a match",
      "v1.12",
      [typed("LinkAliasConfig", { name: "p0", selector: { match: 5 } })],
      "selector.match is not a string",
    ],
  ];

  it.each(cases)("%s (%s)", (_label, contract, input, message) => {
    expect(() => effectiveSettings(input, contract, nics)).toThrow(new Error(`effectiveSettings: ${message}`));
  });

  it.each([
    '!mac(link.permanent_addr) == "aa:00:00:00:00:01"',
    'mac(link.permanent_addr) == "aa:00:00:00:00:01" || true',
    '!glob("aa:*", mac(link.permanent_addr))',
    'glob("aa:*", mac(link.permanent_addr)) || true',
    '!link.driver == "i40e"',
    'link.driver == "i40e" || true',
  ])("a selector term that only contains a read form: %s", (term) => {
    expect(() => effectiveSettings([alias("p0", term)], "v1.12", nics)).toThrow(
      new Error(`effectiveSettings: unread selector term ${term}`),
    );
  });
});

describe("bond members of the 1.12+ spelling", () => {
  it("names an exact MAC with a single alias on the permanent address", () => {
    expect(bondMembers("bond0", { hardwareAddr: "f8:f2:1e:20:57:a0" }, "v1.13")).toEqual(
      bondMembers("bond0", { hardwareAddr: "f8:f2:1e:20:57:a0" }, "v1.12"),
    );
    expect(bondMembers("bond0", { hardwareAddr: "f8:f2:1e:20:57:a0" }, "v1.12")).toEqual({
      aliases: [
        {
          apiVersion: "v1alpha1",
          kind: "LinkAliasConfig",
          name: "bond0-port0",
          selector: { match: 'mac(link.permanent_addr) == "f8:f2:1e:20:57:a0"' },
        },
      ],
      links: ["bond0-port0"],
    });
  });

  it("1.13: a wildcard is one pattern alias (bond0-port%d) and the bond lists the sixteen names it can produce", () => {
    expect(bondMembers("bond0", { hardwareAddr: "f8:f2:1e:20:57:*", driver: "i40e" }, "v1.13")).toEqual({
      aliases: [
        {
          apiVersion: "v1alpha1",
          kind: "LinkAliasConfig",
          name: "bond0-port%d",
          selector: { match: 'glob("f8:f2:1e:20:57:*", mac(link.permanent_addr)) && link.driver == "i40e"' },
        },
      ],
      links: Array.from({ length: 16 }, (_, i) => `bond0-port${i}`),
    });
  });

  it("1.12: a wildcard is split by the MAC's last hex digit, the driver in every alias's selector", () => {
    const members = bondMembers("bond0", { hardwareAddr: "f8:f2:1e:20:57:*", driver: "i40e" }, "v1.12");
    expect(members.links).toEqual("0123456789abcdef".split("").map((d) => `bond0-port${d}`));
    expect(members.aliases[10]).toEqual({
      apiVersion: "v1alpha1",
      kind: "LinkAliasConfig",
      name: "bond0-porta",
      selector: {
        match: 'glob("f8:f2:1e:20:57:*", mac(link.permanent_addr)) && glob("*a", mac(link.permanent_addr)) && link.driver == "i40e"',
      },
    });
  });

  it.each(['f8:f2:1e:20:57:"', "f8:f2:1e:20:57:\\"])("refuses a value that cannot be a CEL string literal: %s", (hardwareAddr) => {
    expect(() => bondMembers("bond0", { hardwareAddr }, "v1.13")).toThrow(
      new Error(`internal: ${hardwareAddr} cannot go into a CEL string literal`),
    );
  });
});

/** A node's networking as both spellings read it, with one VLAN that has no MTU. */
const net: NodeNetwork = {
  hostname: "n1",
  bond: {
    name: "bond0",
    nics: { hardwareAddr: "f8:f2:1e:20:57:a0" },
    mode: "active-backup",
    xmitHashPolicy: "layer2",
    lacpRate: "slow",
    miimon: 200,
    mtu: 1500,
    addresses: ["10.0.0.2/24"],
    gateways: ["10.0.0.1"],
  },
  vlans: [{ id: 30 }],
  nameservers: ["10.0.0.53"],
  timeServers: ["ntp.example"],
};

describe("a VLAN without an MTU carries no mtu key in either spelling", () => {
  it("1.11: the VLAN entry has only its id and DHCP off, and no VIP", () => {
    expect(legacyNetworkPatch(net)).toStrictEqual({
      machine: {
        network: {
          hostname: "n1",
          interfaces: [
            {
              interface: "bond0",
              bond: {
                deviceSelectors: [{ hardwareAddr: "f8:f2:1e:20:57:a0" }],
                mode: "active-backup",
                xmitHashPolicy: "layer2",
                lacpRate: "slow",
                miimon: 200,
              },
              dhcp: false,
              mtu: 1500,
              addresses: ["10.0.0.2/24"],
              routes: [{ network: "0.0.0.0/0", gateway: "10.0.0.1" }],
              vlans: [{ vlanId: 30, dhcp: false }],
            },
          ],
          nameservers: ["10.0.0.53"],
          disableSearchDomain: true,
        },
      },
    });
  });

  it("1.11: without VLANs the interface has no vlans list", () => {
    const device = (legacyNetworkPatch({ ...net, vlans: [] }).machine?.network as { interfaces: object[] }).interfaces[0];
    expect(Object.keys(device ?? {})).toEqual(["interface", "bond", "dhcp", "mtu", "addresses", "routes"]);
  });

  it("1.12+: the VLANConfig has name, id and parent only", () => {
    expect(networkDocuments(net, "v1.13").filter((d) => d.kind === "VLANConfig")).toStrictEqual([
      { apiVersion: "v1alpha1", kind: "VLANConfig", name: "bond0.30", vlanID: 30, parent: "bond0" },
    ]);
  });
});

describe("nodeNetwork", () => {
  const cluster = load("infra");
  const cp = firstControlPlane(cluster);

  it("carries no driver key for a node that names none", () => {
    const node = { ...cp, nics: { hardwareAddr: "f8:f2:1e:20:57:a0", driver: undefined } };
    expect(nodeNetwork(cluster, node).bond.nics).toStrictEqual({ hardwareAddr: "f8:f2:1e:20:57:a0" });
  });

  it("keeps the node's driver beside its MAC pattern", () => {
    expect(nodeNetwork(cluster, cp).bond.nics).toStrictEqual({ hardwareAddr: "f8:f2:1e:20:57:*", driver: "i40e" });
  });

  it("gives a VLAN without an MTU no mtu key", () => {
    const c = { ...cluster, network: { ...cluster.network, vlans: [{ id: 30 }, { id: 2512, mtu: 1500, routeMetric: 4096 }] } };
    expect(nodeNetwork(c, cp).vlans).toStrictEqual([{ id: 30 }, { id: 2512, mtu: 1500 }]);
  });
});

describe("v1alpha1 patches", () => {
  const cluster = load("infra");
  const cp = firstControlPlane(cluster);

  it("installs to a node's own disk by path", () => {
    expect(installPatch(cluster, { ...cp, installDisk: { disk: "/dev/nvme0n1" } }, "abc123")).toEqual({
      machine: { install: { disk: "/dev/nvme0n1", image: "factory.talos.dev/metal-installer/abc123:v1.11.6", wipe: false } },
    });
  });

  it("writes a taint without a value as its bare effect", () => {
    const node = { ...cp, taints: [{ key: "dedicated", effect: "NoExecute" as const }] };
    expect(labelsPatch(cluster, node).machine?.nodeTaints).toEqual({ dedicated: "NoExecute" });
  });

  it("sets no sysctls patch when the stack sets none, and the stack's when it does", () => {
    expect(sysctlsPatch({ ...cluster, talos: { ...cluster.talos, sysctls: {} } })).toBeUndefined();
    expect(sysctlsPatch({ ...cluster, talos: { ...cluster.talos, sysctls: { "vm.swappiness": "1" } } })).toEqual({
      machine: { sysctls: { "vm.swappiness": "1" } },
    });
  });
});

describe("schematicYaml", () => {
  it("renders the Image Factory customization, long kernel arguments unfolded", () => {
    const longArg = `console=${"ttyS0,115200n8 ".repeat(8).trim()}`;
    expect(schematicYaml({ extraKernelArgs: ["-init_on_alloc", longArg], officialExtensions: ["siderolabs/i915"] })).toBe(
      "customization:\n" +
        "  extraKernelArgs:\n" +
        "    - -init_on_alloc\n" +
        `    - ${longArg}\n` +
        "  systemExtensions:\n" +
        "    officialExtensions:\n" +
        "      - siderolabs/i915\n",
    );
  });
});

describe("mergePatches on keyed lists", () => {
  it("merges items by their key, appends new keys, and appends what is not an object", () => {
    const base = { machine: { network: { interfaces: [{ interface: "bond0", mtu: 1500 }, { interface: "eth9" }] } } };
    const patch: PatchDoc = { machine: { network: { interfaces: [{ interface: "bond0", mtu: 9000 }, "stray", { interface: "eth1" }] } } };
    expect(mergePatches(base, [patch])).toEqual({
      machine: { network: { interfaces: [{ interface: "bond0", mtu: 9000 }, { interface: "eth9" }, "stray", { interface: "eth1" }] } },
    });
  });
});
