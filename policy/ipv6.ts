import { isIPv6 } from "net";
import { ipToNumber, numberToIp, privateKind } from "./ipv4";

/**
 * The eight 16-bit groups of an IPv6 address in any RFC 4291 §2.2 text form ("::" compression, a
 * dotted IPv4 tail), or undefined when the text is no IPv6 address. A zone index (`%eth0`, RFC 4007
 * §11) names an interface, not part of the address, so it is dropped.
 */
export function ipv6Groups(text: string): number[] | undefined {
  if (!isIPv6(text)) return undefined;
  let [address] = text.split("%") as [string];
  // RFC 4291 allows the dotted IPv4 form only as the last 32 bits.
  const tail = /\d+\.\d+\.\d+\.\d+/.exec(address)?.[0];
  if (tail !== undefined) {
    const n = ipToNumber(tail);
    address = `${address.slice(0, -tail.length)}${Math.floor(n / 0x10000).toString(16)}:${(n % 0x10000).toString(16)}`;
  }
  const groups = (part: string | undefined) => (part ? part.split(":").map((h) => parseInt(h, 16)) : []);
  const [head, rest] = address.split("::");
  const before = groups(head);
  const after = groups(rest);
  return [...before, ...Array<number>(8 - before.length - after.length).fill(0), ...after];
}

/**
 * Why an IPv6 address must never be published in public DNS, or undefined when it may be: unique
 * local fc00::/7 (RFC 4193), link-local fe80::/10 and the retired site-local fec0::/10 (RFC 4291
 * §2.5.6-7), loopback, unspecified, and an IPv4-mapped ::ffff:0:0/96 address (RFC 4291 §2.5.5.2)
 * whose IPv4 address is itself not public.
 */
export function privateKind6(ip: string): string | undefined {
  const g = ipv6Groups(ip);
  if (g === undefined) return undefined;
  const [first = 0] = g;
  if ((first & 0xfe00) === 0xfc00) return "unique local (ULA, RFC 4193)";
  if ((first & 0xffc0) === 0xfe80) return "link-local";
  if ((first & 0xffc0) === 0xfec0) return "site-local (deprecated, RFC 3879)";
  const leadingZeros = g.findIndex((x) => x !== 0);
  if (leadingZeros === -1) return "unspecified";
  if (leadingZeros === 7 && g[7] === 1) return "loopback";
  if (leadingZeros === 5 && g[5] === 0xffff) {
    const kind = privateKind(numberToIp(g.slice(6).reduce((acc, x) => acc * 0x10000 + x, 0)));
    return kind === undefined ? undefined : `IPv4-mapped ${kind}`;
  }
  return undefined;
}
