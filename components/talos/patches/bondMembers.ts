import type { TypedDoc } from "./types";

/**
 * How a 1.12+ bond names its member NICs. `BondConfig.links` takes link names (or aliases), not the
 * device selectors of 1.11, so the members are named by `LinkAliasConfig` documents whose CEL
 * selector picks a NIC (pkg/machinery/config/types/network/{bond,link_alias}.go, siderolabs/talos
 * v1.12.11 and v1.13.9).
 *
 * A fixed alias must match exactly one link: in 1.12 an alias whose selector matches several links is
 * skipped with a warning, and 1.13 only lifts that for `%d` pattern aliases, which a bond still
 * cannot list without knowing how many there are (controllers/network/link_alias_config.go at
 * v1.12.11 and v1.13.9). The stack names the members with one wildcard MAC (`f8:f2:1e:20:57:*`), so
 * a wildcard is split by the last hex digit of the NIC's MAC: sixteen aliases, each matching at most
 * the one member whose address ends in that digit. The ports of one card have consecutive addresses,
 * so they differ there. Members the machine lacks leave their alias unmatched, and a bond link that
 * names no existing interface is left alone ("physical interface doesn't exist yet, nothing to be
 * done", controllers/network/link_spec.go at v1.12.11 and v1.13.9), so the bond gets exactly the
 * NICs the wildcard matches, as in 1.11. An exact MAC needs one alias.
 *
 * Selectors read the permanent address: a bond rewrites its members' current MAC to its own.
 */
export interface BondMembers {
  readonly aliases: readonly TypedDoc[];
  /** `BondConfig.links`, in order: the bond takes its MAC from the first member present. */
  readonly links: readonly string[];
}

const hexDigits = "0123456789abcdef".split("");
const permanentMac = "mac(link.permanent_addr)";

export function bondMembers(bond: string, nics: { readonly hardwareAddr: string; readonly driver?: string }): BondMembers {
  const driver = nics.driver === undefined ? [] : [`link.driver == ${celString(nics.driver)}`];
  const members = nics.hardwareAddr.includes("*")
    ? hexDigits.map((digit) => ({
        alias: `${bond}-port${digit}`,
        terms: [`glob(${celString(nics.hardwareAddr)}, ${permanentMac})`, `glob(${celString(`*${digit}`)}, ${permanentMac})`, ...driver],
      }))
    : [{ alias: `${bond}-port0`, terms: [`${permanentMac} == ${celString(nics.hardwareAddr)}`, ...driver] }];
  return {
    aliases: members.map((m) => ({
      apiVersion: "v1alpha1",
      kind: "LinkAliasConfig",
      name: m.alias,
      selector: { match: m.terms.join(" && ") },
    })),
    links: members.map((m) => m.alias),
  };
}

/** A CEL string literal; the stack's MAC patterns and driver names hold no quote or backslash. */
function celString(value: string): string {
  if (/["\\]/.test(value)) throw new Error(`internal: ${value} cannot go into a CEL string literal`);
  return `"${value}"`;
}
