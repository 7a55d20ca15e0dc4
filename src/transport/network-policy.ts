/**
 * Where outbound requests may go (SPEC §7). Only public unicast addresses are allowed by default;
 * loopback, link-local (cloud metadata), private, CGNAT, multicast and every other special-use
 * range are refused unless `CALLHOOK_ALLOW_NETWORKS` opens them. Addresses that embed an IPv4
 * address (IPv4-mapped, NAT64, 6to4) are judged by that IPv4 address too.
 *
 * Pure: callers check the resolved address of every connection they open (see http-client.ts).
 */
import ipaddr from 'ipaddr.js';
import type { AllowedNetwork } from '../config.js';

export type PolicyDecision = { allowed: true } | { allowed: false; reason: string };

type Address = ipaddr.IPv4 | ipaddr.IPv6;

export class NetworkPolicy {
  constructor(private readonly allow: readonly AllowedNetwork[] = []) {}

  /** Judges one IP address (v4 or v6 literal, as a resolver or socket reports it). */
  check(address: string): PolicyDecision {
    let parsed: Address;
    try {
      parsed = ipaddr.parse(address.replace(/^\[|\]$/g, '').replace(/%.*$/, ''));
    } catch {
      return { allowed: false, reason: `"${address}" is not an IP address` };
    }
    const embedded = embeddedIPv4(parsed);
    if ([parsed, ...embedded].some((form) => this.isOpened(form))) return { allowed: true };
    // An address that carries an IPv4 address goes where that IPv4 address goes.
    for (const form of embedded.length > 0 ? embedded : [parsed]) {
      const range = form.range();
      if (range !== 'unicast') {
        return {
          allowed: false,
          reason:
            `address ${address} is in the ${describe(range)} range, refused by the network policy ` +
            '(open it with CALLHOOK_ALLOW_NETWORKS)',
        };
      }
    }
    return { allowed: true };
  }

  private isOpened(address: Address): boolean {
    return this.allow.some(
      ({ range }) => address.kind() === range[0].kind() && address.match(range),
    );
  }
}

/** The IPv4 address inside IPv4-mapped, NAT64 (64:ff9b::/96) and 6to4 (2002::/16) addresses. */
function embeddedIPv4(address: Address): ipaddr.IPv4[] {
  if (address.kind() !== 'ipv6') return [];
  const v6 = address as ipaddr.IPv6;
  const range = v6.range();
  if (range === 'ipv4Mapped') return [v6.toIPv4Address()];
  const bytes = v6.toByteArray();
  if (range === 'rfc6052') return [new ipaddr.IPv4(bytes.slice(12, 16))];
  if (range === '6to4') return [new ipaddr.IPv4(bytes.slice(2, 6))];
  return [];
}

const NAMES: Record<string, string> = {
  loopback: 'loopback',
  private: 'private',
  linkLocal: 'link-local (cloud metadata)',
  uniqueLocal: 'unique-local (private)',
  carrierGradeNat: 'carrier-grade NAT',
  unspecified: 'unspecified',
  broadcast: 'broadcast',
  multicast: 'multicast',
  reserved: 'reserved special-use',
  ipv4Mapped: 'IPv4-mapped',
  rfc6052: 'NAT64',
  '6to4': '6to4',
  teredo: 'Teredo',
  discard: 'discard-only',
};

function describe(range: string): string {
  return NAMES[range] ?? `special-use (${range})`;
}
