import type { TalosContract } from "./contract";
import type { TypedDoc } from "./types";

/**
 * How a 1.12+ bond names its member NICs. `BondConfig.links` takes link names (or aliases), not the
 * device selectors of 1.11, so the members are named by `LinkAliasConfig` documents whose CEL
 * selector picks a NIC (pkg/machinery/config/types/network/{bond,link_alias}.go, siderolabs/talos
 * v1.12.11 and v1.13.9). An exact MAC needs one alias under both contracts.
 *
 * A wildcard MAC (`f8:f2:1e:20:57:*`) may match several NICs, and the fewest documents each
 * contract allows differ (controllers/network/link_alias_config.go at v1.12.11 and v1.13.9):
 *
 * - 1.12: an alias whose selector matches several links is skipped with a warning. The wildcard is
 *   split by the last hex digit of the NIC's MAC: sixteen aliases, each matching at most the one
 *   member whose address ends in that digit (the ports of one card have consecutive addresses).
 * - 1.13: an alias name with a `%d` verb (link_alias.go `IsPatternAlias`; Validate wants a non-empty
 *   prefix and the `%d` suffix) may match several links, which get `<prefix>0`, `<prefix>1`, ... in
 *   the order of their permanent MAC ("sort the links by MAC address" in the controller). One
 *   document names every member; the bond lists the sixteen names it can produce, as many as 1.12's
 *   split can tell apart.
 *
 * Members the machine lacks leave their name unassigned, and a bond link that names no existing
 * interface is left alone ("physical interface doesn't exist yet, nothing to be done",
 * controllers/network/link_spec.go at v1.12.11 and v1.13.9), so the bond gets exactly the NICs the
 * wildcard matches, as in 1.11. Selectors read the permanent address: a bond rewrites its members'
 * current MAC to its own.
 */
export interface BondMembers {
  readonly aliases: readonly TypedDoc[];
  /** `BondConfig.links`, in order: the bond takes its MAC from the first member present. */
  readonly links: readonly string[];
}

const hexDigits = "0123456789abcdef".split("");
const permanentMac = "mac(link.permanent_addr)";

export function bondMembers(
  bond: string,
  nics: { readonly hardwareAddr: string; readonly driver?: string },
  contract: Exclude<TalosContract, "v1.11">,
): BondMembers {
  const driver = nics.driver === undefined ? [] : [`link.driver == ${celString(nics.driver)}`];
  const wildcard = `glob(${celString(nics.hardwareAddr)}, ${permanentMac})`;
  const alias = (name: string, terms: readonly string[]): TypedDoc => ({
    apiVersion: "v1alpha1",
    kind: "LinkAliasConfig",
    name,
    selector: { match: terms.join(" && ") },
  });
  if (!nics.hardwareAddr.includes("*")) {
    const name = `${bond}-port0`;
    return { aliases: [alias(name, [`${permanentMac} == ${celString(nics.hardwareAddr)}`, ...driver])], links: [name] };
  }
  if (contract === "v1.12") {
    const names = hexDigits.map((digit) => `${bond}-port${digit}`);
    return {
      aliases: hexDigits.map((digit, i) => alias(names[i]!, [wildcard, `glob(${celString(`*${digit}`)}, ${permanentMac})`, ...driver])),
      links: names,
    };
  }
  return {
    aliases: [alias(`${bond}-port%d`, [wildcard, ...driver])],
    links: hexDigits.map((_, i) => `${bond}-port${i}`),
  };
}

/** A CEL string literal; the stack's MAC patterns and driver names hold no quote or backslash. */
function celString(value: string): string {
  if (/["\\]/.test(value)) throw new Error(`internal: ${value} cannot go into a CEL string literal`);
  return `"${value}"`;
}
