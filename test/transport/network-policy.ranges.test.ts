import { describe, expect, it } from 'vitest';
import { NetworkPolicy } from '../../src/transport/network-policy.js';
import { policyOpening } from './servers.js';

const closed = new NetworkPolicy();

describe('network policy: refused by default', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.1.2', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['169.254.169.254', 'link-local (cloud metadata)'],
    ['::ffff:169.254.169.254', 'link-local (cloud metadata)'],
    ['168.63.129.16', 'cloud platform endpoint'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.1', 'private'],
    ['192.168.1.10', 'private'],
    ['100.64.0.1', 'carrier-grade NAT'],
    ['100.127.255.254', 'carrier-grade NAT'],
    ['0.0.0.0', 'this-network'],
    ['0.1.2.3', 'this-network'],
    ['192.0.0.192', 'IETF protocol assignments'],
    ['192.0.2.5', 'documentation'],
    ['198.51.100.7', 'documentation'],
    ['203.0.113.9', 'documentation'],
    ['198.18.0.1', 'benchmarking'],
    ['192.88.99.1', '6to4 relay anycast'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'broadcast'],
    ['::', 'unspecified'],
    ['::7f00:1', 'IPv4-compatible (deprecated)'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['fc00::1', 'unique-local (private)'],
    ['fd00:ec2::254', 'unique-local (private)'],
    ['fec0::1', 'site-local (deprecated)'],
    ['ff02::1', 'multicast'],
    ['100::1', 'discard-only'],
    ['64:ff9b:1::1', 'local-use NAT64'],
    ['64:ff9b::7f00:1', 'loopback'],
    ['64:ff9b::a00:1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['2002:a9fe:a9fe::1', 'link-local (cloud metadata)'],
    ['2001::1', 'IETF protocol assignments (Teredo, benchmarking, ORCHID)'],
    ['2001:db8::1', 'documentation'],
    ['3fff::1', 'documentation'],
    ['5f00::1', 'non-global IPv6'],
  ])('%s is refused as %s', (address, range) => {
    const decision = closed.check(address);
    expect(decision).toMatchObject({ allowed: false, range });
    if (!decision.allowed) {
      expect(decision.reason).toContain(address);
      expect(decision.reason).toContain('CALLHOOK_ALLOW_NETWORKS');
    }
  });

  it.each([
    '8.8.8.8',
    '1.1.1.1',
    '93.184.216.34',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700::1111',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
  ])('%s (public) is allowed', (address) => {
    expect(closed.check(address)).toEqual({ allowed: true });
  });

  it('refuses what is not an IP address, saying so', () => {
    expect(closed.check('example.com')).toMatchObject({
      allowed: false,
      reason: '"example.com" is not an IP address',
    });
  });

  it('says which IPv4 address a mapped address carries', () => {
    const decision = closed.check('::ffff:10.1.2.3');
    expect(decision.allowed).toBe(false);
    if (!decision.allowed) expect(decision.reason).toContain('carries the IPv4 address 10.1.2.3');
  });
});

describe('network policy: CALLHOOK_ALLOW_NETWORKS opens ranges', () => {
  it('opens exactly the listed IPv4 range, for mapped and NAT64 forms too', () => {
    const policy = policyOpening('10.20.0.0/16');
    expect(policy.check('10.20.3.4')).toEqual({ allowed: true });
    expect(policy.check('::ffff:10.20.3.4')).toEqual({ allowed: true });
    expect(policy.check('64:ff9b::a14:304')).toEqual({ allowed: true });
    expect(policy.check('10.21.0.1')).toMatchObject({ allowed: false, range: 'private' });
    expect(policy.check('127.0.0.1')).toMatchObject({ allowed: false, range: 'loopback' });
  });

  it('opens IPv6 ranges, and the metadata address only when it is listed itself', () => {
    const policy = policyOpening('::1/128', 'fd00:1::/64', '169.254.169.254/32');
    expect(policy.check('::1')).toEqual({ allowed: true });
    expect(policy.check('fd00:1::5')).toEqual({ allowed: true });
    expect(policy.check('fd00:2::5')).toMatchObject({ allowed: false });
    expect(policy.check('169.254.169.254')).toEqual({ allowed: true });
    expect(policy.check('169.254.169.253')).toMatchObject({ allowed: false });
    expect(policy.allowed).toEqual(['::1/128', 'fd00:1::/64', '169.254.169.254/32']);
  });

  it('does not let an IPv4 range open IPv6 addresses that are not its mapped forms', () => {
    const policy = policyOpening('0.0.0.0/0');
    expect(policy.check('127.0.0.1')).toEqual({ allowed: true });
    expect(policy.check('::1')).toMatchObject({ allowed: false, range: 'loopback' });
  });
});
