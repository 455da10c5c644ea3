import { BlockList, isIP } from 'node:net';

/**
 * Which proxies in front of the gateway may name the client address in `X-Forwarded-For`
 * (the `trustProxy` option), as Express's `trust proxy` setting:
 *
 * - `false`: never read the header; the client is the socket's peer.
 * - a list of addresses and CIDR ranges (IPv4 and IPv6), as an array or one comma-separated
 *   string, e.g. `['127.0.0.1/8', '10.0.0.0/8']`; the names `loopback` (127.0.0.0/8, ::1),
 *   `linklocal` (169.254.0.0/16, fe80::/10) and `uniquelocal` (10/8, 172.16/12, 192.168/16,
 *   fc00::/7) stand for their ranges.
 * - a number `n`: trust exactly `n` hops, the socket's peer being the first.
 * - `true`: deprecated alias of `'loopback'` (a proxy on the same host).
 */
export type TrustProxyOption = boolean | number | string | readonly string[];

/** The compiled `trustProxy` option. */
export interface TrustedProxies {
  /** The setting in words, for logs. */
  readonly description: string;
  /**
   * True when `address` (an IP address, IPv4-mapped IPv6 included) at `hop` (0 = the socket's
   * peer, 1 = the right-most `X-Forwarded-For` entry, …) is a proxy whose header is believed.
   */
  isTrusted(address: string, hop: number): boolean;
}

const PRESETS: Readonly<Record<string, readonly string[]>> = {
  loopback: ['127.0.0.0/8', '::1/128'],
  linklocal: ['169.254.0.0/16', 'fe80::/10'],
  uniquelocal: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', 'fc00::/7'],
};

/** Trusts nobody: the client address is the socket's peer. */
export const NO_TRUSTED_PROXIES: TrustedProxies = {
  description: 'none',
  isTrusted: () => false,
};

/** Most hops a numeric `trustProxy` may name. */
const MAX_HOPS = 100;

/**
 * Compiles a `trustProxy` option. Problems (an entry that is not an address, range or preset)
 * are pushed onto `problems`, worded as the other option checks.
 */
export function compileTrustProxy(value: unknown, problems: string[]): TrustedProxies {
  if (value === false) return NO_TRUSTED_PROXIES;
  if (value === true) return compileTrustProxy('loopback', problems);
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 0 || value > MAX_HOPS) {
      problems.push(`trustProxy is ${value} when a hop count must be an integer from 0 to ${MAX_HOPS}`);
      return NO_TRUSTED_PROXIES;
    }
    if (value === 0) return NO_TRUSTED_PROXIES;
    return { description: `${value} hop${value === 1 ? '' : 's'}`, isTrusted: (_a, hop) => hop < value };
  }
  const entries =
    typeof value === 'string'
      ? value.split(',')
      : Array.isArray(value) && value.every((v) => typeof v === 'string')
        ? (value as readonly string[])
        : null;
  if (entries === null) {
    problems.push(
      'trustProxy must be false, a hop count, or a list of proxy addresses and CIDR ranges such as "10.0.0.0/8"',
    );
    return NO_TRUSTED_PROXIES;
  }
  const list = new BlockList();
  const names: string[] = [];
  for (const raw of entries) {
    const entry = raw.trim();
    if (entry.length === 0) continue;
    const ranges = PRESETS[entry] ?? [entry];
    for (const range of ranges) {
      if (!addRange(list, range)) {
        problems.push(
          `trustProxy has '${entry}' when each entry must be an IP address, a CIDR range such as '10.0.0.0/8' or 'fd00::/8', or loopback, linklocal or uniquelocal`,
        );
        break;
      }
    }
    names.push(entry);
  }
  if (names.length === 0) return NO_TRUSTED_PROXIES;
  return {
    description: names.join(', '),
    isTrusted: (address) => {
      const family = isIP(address);
      return family !== 0 && list.check(address, family === 6 ? 'ipv6' : 'ipv4');
    },
  };
}

function addRange(list: BlockList, range: string): boolean {
  const slash = range.indexOf('/');
  const address = slash === -1 ? range : range.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return false;
  const max = family === 4 ? 32 : 128;
  const prefixText = slash === -1 ? String(max) : range.slice(slash + 1);
  if (!/^\d{1,3}$/.test(prefixText)) return false;
  const prefix = Number(prefixText);
  if (prefix > max) return false;
  list.addSubnet(address, prefix, family === 4 ? 'ipv4' : 'ipv6');
  return true;
}

/**
 * The client address of a request: the socket's peer, or, when that peer is a trusted proxy,
 * the right-most `X-Forwarded-For` entry that is not a trusted proxy (each proxy appends the
 * address it got the request from, so entries left of the first untrusted one are the
 * client's own words). When every entry is trusted, the left-most is the client. An entry that
 * is not an IP address ends the walk at the proxy that wrote it, so a client address is always
 * an IP address (or `unknown` when the socket has none).
 */
export function clientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | string[] | undefined,
  trust: TrustedProxies,
): string {
  let address = socketAddress ?? 'unknown';
  if (trust === NO_TRUSTED_PROXIES || forwardedFor === undefined || !trust.isTrusted(address, 0)) {
    return address;
  }
  const header = Array.isArray(forwardedFor) ? forwardedFor.join(',') : forwardedFor;
  let end = header.length;
  for (let hop = 1; end > 0; hop++) {
    const start = header.lastIndexOf(',', end - 1);
    const entry = header.slice(start + 1, end).trim();
    end = start;
    if (isIP(entry) === 0) return address;
    address = entry;
    if (!trust.isTrusted(address, hop)) return address;
  }
  return address;
}
