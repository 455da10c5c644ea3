import { isIPv4, isIPv6 } from 'node:net';

/**
 * The key a client address is limited by. An IPv4 address is its own key, an IPv4-mapped IPv6
 * address (`::ffff:192.0.2.1`) is keyed as the IPv4 address, and an IPv6 address by its
 * network prefix of `ipv6PrefixLength` bits (`2001:db8:1:2::/64` by default): one subscriber
 * usually holds a whole /64, so keying single IPv6 addresses would let a client pick a fresh
 * address per connection. Anything else (e.g. `unknown`) is its own key.
 *
 * @example
 * addressKey('2001:db8:1:2:aaaa::1', 64) // '2001:db8:1:2::/64'
 * addressKey('::ffff:192.0.2.1', 64) // '192.0.2.1'
 */
export function addressKey(address: string, ipv6PrefixLength: number): string {
  if (!isIPv6(address)) return address;
  const groups = ipv6Groups(address);
  if (groups === null) return address;
  if (groups[0] === 0 && groups[1] === 0 && groups[2] === 0 && groups[3] === 0 && groups[4] === 0) {
    if (groups[5] === 0xffff) {
      const g6 = groups[6]!;
      const g7 = groups[7]!;
      return `${g6 >> 8}.${g6 & 0xff}.${g7 >> 8}.${g7 & 0xff}`;
    }
  }
  if (ipv6PrefixLength >= 128) return formatGroups(groups);
  const masked = groups.map((g, i) => {
    const bits = Math.min(16, Math.max(0, ipv6PrefixLength - i * 16));
    return bits === 0 ? 0 : g & ((0xffff << (16 - bits)) & 0xffff);
  });
  return `${formatGroups(masked)}/${ipv6PrefixLength}`;
}

/** The eight 16-bit groups of an IPv6 address (zone id dropped), or null. */
function ipv6Groups(address: string): number[] | null {
  const zone = address.indexOf('%');
  let text = zone === -1 ? address : address.slice(0, zone);
  const tail: number[] = [];
  const lastColon = text.lastIndexOf(':');
  const dotted = text.slice(lastColon + 1);
  if (isIPv4(dotted)) {
    const [a, b, c, d] = dotted.split('.').map(Number) as [number, number, number, number];
    tail.push((a << 8) | b, (c << 8) | d);
    text = `${text.slice(0, lastColon + 1)}0:0`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((h) => Number.parseInt(h, 16)));
  const head = parse(halves[0]!);
  const rest = halves.length === 2 ? parse(halves[1]!) : [];
  const fill = 8 - head.length - rest.length;
  if (fill < 0 || (halves.length === 1 && fill !== 0)) return null;
  const groups = [...head, ...new Array<number>(halves.length === 2 ? fill : 0).fill(0), ...rest];
  if (tail.length > 0) groups.splice(6, 2, ...tail);
  return groups.length === 8 && groups.every((g) => Number.isInteger(g) && g >= 0 && g <= 0xffff)
    ? groups
    : null;
}

/** Eight groups in the short form: hex without leading zeros, the longest run of zeros as `::`. */
function formatGroups(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLength) {
      bestStart = i;
      bestLength = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart === -1) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}
