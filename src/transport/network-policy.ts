/**
 * Where outbound requests may go (SPEC §7). Only globally reachable unicast addresses are allowed
 * by default; loopback, link-local (cloud metadata), private, CGNAT, multicast, documentation and
 * every other special-use range are refused unless `CALLHOOK_ALLOW_NETWORKS` opens them.
 * Addresses that carry an IPv4 address (IPv4-mapped, NAT64, 6to4) go where that IPv4 address goes.
 *
 * Pure: the connectors of `safe-connect.ts` check the resolved address of every connection
 * they open against it. `docs/security.md` lists the ranges.
 */
import ipaddr from 'ipaddr.js';
import type { AllowedNetwork } from '../config.js';

export type PolicyDecision =
  | { allowed: true }
  | {
      allowed: false;
      /** Which refused range the address is in, e.g. `loopback`. */
      range: string;
      reason: string;
    };

type Address = ipaddr.IPv4 | ipaddr.IPv6;
type Range = { name: string; cidr: [Address, number] };

function ranges(table: Record<string, string[]>): Range[] {
  return Object.entries(table).flatMap(([name, cidrs]) =>
    cidrs.map((cidr) => ({ name, cidr: ipaddr.parseCIDR(cidr) })),
  );
}

/**
 * The IANA IPv4 special-purpose registry's ranges that are not globally reachable, plus
 * multicast, broadcast and one cloud platform endpoint that sits on a public address.
 */
export const REFUSED_IPV4: readonly Range[] = ranges({
  'this-network': ['0.0.0.0/8'],
  private: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'],
  'carrier-grade NAT': ['100.64.0.0/10'],
  loopback: ['127.0.0.0/8'],
  'link-local (cloud metadata)': ['169.254.0.0/16'],
  // Azure's WireServer answers VM agents on this public-looking address.
  'cloud platform endpoint': ['168.63.129.16/32'],
  'IETF protocol assignments': ['192.0.0.0/24'],
  documentation: ['192.0.2.0/24', '198.51.100.0/24', '203.0.113.0/24'],
  '6to4 relay anycast': ['192.88.99.0/24'],
  benchmarking: ['198.18.0.0/15'],
  multicast: ['224.0.0.0/4'],
  // Before `reserved`, which contains it: the more precise name wins.
  broadcast: ['255.255.255.255/32'],
  reserved: ['240.0.0.0/4'],
});

/**
 * IPv6 is allowed only inside global unicast (2000::/3), minus the special-use blocks there.
 * Everything outside 2000::/3 (loopback, unique-local, link-local, multicast, discard,
 * IPv4-compatible, …) is refused, except the forms that carry an IPv4 address, judged by it.
 */
const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3');
export const REFUSED_IPV6_IN_GLOBAL: readonly Range[] = ranges({
  'IETF protocol assignments (Teredo, benchmarking, ORCHID)': ['2001::/23'],
  documentation: ['2001:db8::/32', '3fff::/20'],
});
const NAMED_V6: readonly Range[] = ranges({
  unspecified: ['::/128'],
  loopback: ['::1/128'],
  'IPv4-compatible (deprecated)': ['::/96'],
  'local-use NAT64': ['64:ff9b:1::/48'],
  'discard-only': ['100::/64'],
  'unique-local (private)': ['fc00::/7'],
  'link-local': ['fe80::/10'],
  'site-local (deprecated)': ['fec0::/10'],
  multicast: ['ff00::/8'],
});

export class NetworkPolicy {
  /**
   * @param allow ranges opened on top of the default (`config.allowNetworks`).
   *
   * ### Examples
   * ```ts
   * const policy = new NetworkPolicy(config.allowNetworks);
   * policy.check('10.1.2.3'); // { allowed: false, range: 'private', reason: '…' }
   * ```
   */
  constructor(private readonly allow: readonly AllowedNetwork[] = []) {}

  /** The opened ranges, as written in CALLHOOK_ALLOW_NETWORKS. */
  get allowed(): readonly string[] {
    return this.allow.map((network) => network.cidr);
  }

  /**
   * Judges one IP address (v4, or v6 with or without brackets and zone, as a URL, a resolver or
   * a socket writes it). Anything that is not an IP address is refused.
   */
  check(address: string): PolicyDecision {
    let parsed: Address;
    try {
      parsed = ipaddr.parse(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
    } catch {
      return {
        allowed: false,
        range: 'not an IP address',
        reason: `"${address}" is not an IP address`,
      };
    }
    const embedded = embeddedIPv4(parsed);
    if (
      [parsed, ...(embedded === undefined ? [] : [embedded])].some((form) => this.isOpened(form))
    ) {
      return { allowed: true };
    }
    const range = refusedRange(embedded ?? parsed);
    if (range === undefined) return { allowed: true };
    const via =
      embedded === undefined ? '' : ` (it carries the IPv4 address ${embedded.toString()})`;
    return {
      allowed: false,
      range,
      reason:
        `address ${address}${via} is in the ${range} range, refused by the network policy ` +
        '(CALLHOOK_ALLOW_NETWORKS can open it)',
    };
  }

  private isOpened(address: Address): boolean {
    return this.allow.some(
      ({ range }) => address.kind() === range[0].kind() && address.match(range),
    );
  }
}

function refusedRange(address: Address): string | undefined {
  if (address.kind() === 'ipv4') {
    return REFUSED_IPV4.find(({ cidr }) => cidr[0].kind() === 'ipv4' && address.match(cidr))?.name;
  }
  if (address.match(GLOBAL_UNICAST_V6)) {
    return REFUSED_IPV6_IN_GLOBAL.find(({ cidr }) => address.match(cidr))?.name;
  }
  return NAMED_V6.find(({ cidr }) => address.match(cidr))?.name ?? 'non-global IPv6';
}

/** The IPv4 address inside IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses. */
function embeddedIPv4(address: Address): ipaddr.IPv4 | undefined {
  if (address.kind() !== 'ipv6') return undefined;
  const v6 = address as ipaddr.IPv6;
  if (v6.isIPv4MappedAddress()) return v6.toIPv4Address();
  const bytes = v6.toByteArray();
  if (v6.match(NAT64)) return new ipaddr.IPv4(bytes.slice(12, 16));
  if (v6.match(SIX_TO_FOUR)) return new ipaddr.IPv4(bytes.slice(2, 6));
  return undefined;
}

const NAT64 = ipaddr.parseCIDR('64:ff9b::/96');
const SIX_TO_FOUR = ipaddr.parseCIDR('2002::/16');
