import { describe, expect, it } from 'vitest';
import { canonicalHost, procAddress } from './worker-connections.js';

describe("/proc/net/tcp addresses", () => {
  it('reads IPv4 and IPv6 remote addresses as host:port in the form backends use', () => {
    expect(procAddress('0100007F:1F90')).toBe('127.0.0.1:8080');
    expect(procAddress('00000000000000000000000001000000:0050')).toBe('[::1]:80');
    expect(procAddress('0000000000000000FFFF00000100007F:0050')).toBe('[::ffff:7f00:1]:80');
    expect(canonicalHost('0:0:0:0:0:0:0:1')).toBe('[::1]');
    expect(canonicalHost('::1')).toBe('[::1]');
    expect(canonicalHost('127.0.0.1')).toBe('127.0.0.1');
    expect(procAddress('garbage')).toBeUndefined();
  });
});
