import { describe, expect, it } from 'vitest';
import { addressKey } from '../src/address-key';

describe('addressKey', () => {
  it('keys IPv6 addresses by their /64 by default', () => {
    expect(addressKey('2001:db8:1:2:aaaa::1', 64)).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:2:ffff:ffff:ffff:ffff', 64)).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:db8:1:3::1', 64)).toBe('2001:db8:1:3::/64');
    expect(addressKey('::1', 64)).toBe('::/64');
    expect(addressKey('fe80::1%eth0', 64)).toBe('fe80::/64');
  });

  it('takes any prefix length, 128 keeping the whole address', () => {
    expect(addressKey('2001:db8:abcd:12ff::1', 60)).toBe('2001:db8:abcd:12f0::/60');
    expect(addressKey('2001:db8:abcd:12ff::1', 48)).toBe('2001:db8:abcd::/48');
    expect(addressKey('2001:0db8:0000:0000:0000:0000:0000:0001', 128)).toBe('2001:db8::1');
    expect(addressKey('1:0:0:2:0:0:0:3', 128)).toBe('1:0:0:2::3');
  });

  it('keys IPv4-mapped IPv6 as the IPv4 address, and IPv4 as itself', () => {
    expect(addressKey('::ffff:192.0.2.1', 64)).toBe('192.0.2.1');
    expect(addressKey('::ffff:7f00:1', 64)).toBe('127.0.0.1');
    expect(addressKey('192.0.2.1', 64)).toBe('192.0.2.1');
    expect(addressKey('unknown', 64)).toBe('unknown');
  });
});
