/** IPv4 arithmetic for the validation rules and the policy pack: addresses as unsigned 32-bit numbers, ranges inclusive. */

export interface Ipv4Range {
  readonly first: number;
  readonly last: number;
}

const octet = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
export const ipv4Pattern = new RegExp(`^${octet}\\.${octet}\\.${octet}\\.${octet}$`);

export function isIpv4(value: string): boolean {
  return ipv4Pattern.test(value);
}

export function isIpv4Cidr(value: string): boolean {
  const [ip, bits, ...rest] = value.split("/");
  if (rest.length > 0 || ip === undefined || bits === undefined || !isIpv4(ip) || !/^\d{1,2}$/.test(bits)) {
    return false;
  }
  const prefix = Number(bits);
  return prefix <= 32 && (ipToNumber(ip) & ~maskOf(prefix)) >>> 0 === 0;
}

export function ipToNumber(ip: string): number {
  return ip.split(".").reduce((acc, part) => acc * 256 + Number(part), 0);
}

export function numberToIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => Math.floor(value / 2 ** shift) % 256).join(".");
}

function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/** The CIDR as an inclusive range (network and broadcast address included). */
export function cidrRange(cidr: string): Ipv4Range {
  const [ip, bits] = cidr.split("/") as [string, string];
  const first = ipToNumber(ip);
  return { first, last: first + 2 ** (32 - Number(bits)) - 1 };
}

export function ipRange(start: string, end: string): Ipv4Range {
  return { first: ipToNumber(start), last: ipToNumber(end) };
}

export function single(ip: string): Ipv4Range {
  const n = ipToNumber(ip);
  return { first: n, last: n };
}

export function contains(outer: Ipv4Range, inner: Ipv4Range): boolean {
  return inner.first >= outer.first && inner.last <= outer.last;
}

export function overlaps(a: Ipv4Range, b: Ipv4Range): boolean {
  return a.first <= b.last && b.first <= a.last;
}

/** Usable host addresses of a subnet: without network and broadcast address (for prefixes up to /30). */
export function hostRange(cidr: string): Ipv4Range {
  const range = cidrRange(cidr);
  return range.last - range.first < 3 ? range : { first: range.first + 1, last: range.last - 1 };
}

export function prefixLength(cidr: string): number {
  return Number(cidr.split("/")[1]);
}

const privateRanges: ReadonlyArray<readonly [string, string]> = [
  ["10.0.0.0/8", "private (RFC 1918)"],
  ["172.16.0.0/12", "private (RFC 1918)"],
  ["192.168.0.0/16", "private (RFC 1918)"],
  ["127.0.0.0/8", "loopback"],
  ["169.254.0.0/16", "link-local"],
  ["100.64.0.0/10", "CGNAT (RFC 6598)"],
  ["0.0.0.0/8", "unspecified"],
];

/** Why an address must never be published in public DNS, or undefined when it may be. */
export function privateKind(ip: string): string | undefined {
  const address = single(ip);
  return privateRanges.find(([cidr]) => contains(cidrRange(cidr), address))?.[1];
}
