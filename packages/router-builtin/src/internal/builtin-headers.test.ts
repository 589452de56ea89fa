import type { IncomingMessage } from 'node:http';
import { describe, expect, it } from 'vitest';
import { forwardRequestHeaders, forwardResponseHeaders } from './builtin-headers.js';

function fakeRequest(rawHeaders: string[], remoteAddress = '::ffff:10.1.2.3'): IncomingMessage {
  return { rawHeaders, socket: { remoteAddress } } as unknown as IncomingMessage;
}

function asObject(flat: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (let i = 0; i < flat.length; i += 2) (out[(flat[i] as string).toLowerCase()] ??= []).push(flat[i + 1] as string);
  return out;
}

describe('forwarded request headers', () => {
  it('drops hop-by-hop headers and those named in Connection, keeps Host and end-to-end headers in order', () => {
    const headers = forwardRequestHeaders(
      fakeRequest([
        'Host', 'shop.example',
        'Connection', 'keep-alive, X-Hop',
        'X-Hop', 'secret',
        'Keep-Alive', 'timeout=5',
        'Proxy-Connection', 'keep-alive',
        'Proxy-Authorization', 'Basic eA==',
        'TE', 'trailers',
        'Transfer-Encoding', 'chunked',
        'Upgrade', 'h2c',
        'Expect', '100-continue',
        'Set-Me', 'a',
        'Set-Me', 'b',
        'Authorization', 'Bearer t',
      ]),
      { trustForwarded: false },
    );
    const object = asObject(headers);
    for (const name of ['connection', 'x-hop', 'keep-alive', 'proxy-connection', 'proxy-authorization', 'te', 'transfer-encoding', 'upgrade', 'expect']) {
      expect(object[name], name).toBeUndefined();
    }
    expect(object['host']).toEqual(['shop.example']);
    expect(object['set-me']).toEqual(['a', 'b']);
    expect(object['authorization']).toEqual(['Bearer t']);
  });

  it('appends the client to X-Forwarded-For and sets X-Forwarded-Proto/-Host; trusts incoming ones only when told', () => {
    const raw = ['Host', 'shop.example', 'X-Forwarded-For', '203.0.113.7', 'X-Forwarded-For', '198.51.100.1', 'X-Forwarded-Proto', 'https', 'X-Forwarded-Host', 'evil.example'];
    const untrusted = asObject(forwardRequestHeaders(fakeRequest(raw), { trustForwarded: false }));
    expect(untrusted['x-forwarded-for']).toEqual(['203.0.113.7, 198.51.100.1, 10.1.2.3']);
    expect(untrusted['x-forwarded-proto']).toEqual(['http']);
    expect(untrusted['x-forwarded-host']).toEqual(['shop.example']);
    const trusted = asObject(forwardRequestHeaders(fakeRequest(raw, '127.0.0.1'), { trustForwarded: true }));
    expect(trusted['x-forwarded-for']).toEqual(['203.0.113.7, 198.51.100.1, 127.0.0.1']);
    expect(trusted['x-forwarded-proto']).toEqual(['https']);
    expect(trusted['x-forwarded-host']).toEqual(['evil.example']);
  });
});

describe('Forwarded and other client claims', () => {
  const raw = [
    'Host', 'shop.example:8443',
    'Forwarded', 'for=203.0.113.7;proto=https;host=evil.example',
    'X-Real-IP', '203.0.113.7',
    'X-Forwarded-Port', '443',
    'X-Forwarded-Prefix', '/admin',
    'HTTP2-Settings', 'AAMAAABkAAQAAP__',
  ];

  it('untrusted: the client\'s Forwarded is replaced by the router\'s element, X-Real-IP and X-Forwarded-Port/-Prefix are dropped', () => {
    const object = asObject(forwardRequestHeaders(fakeRequest(raw), { trustForwarded: false }));
    expect(object['forwarded']).toEqual(['for=10.1.2.3;proto=http;host="shop.example:8443"']);
    for (const name of ['x-real-ip', 'x-forwarded-port', 'x-forwarded-prefix', 'http2-settings']) expect(object[name], name).toBeUndefined();
  });

  it('trusted: the client\'s Forwarded elements are kept and the router\'s is appended; an IPv6 client is bracketed and quoted', () => {
    const object = asObject(forwardRequestHeaders(fakeRequest(raw, '::1'), { trustForwarded: true }));
    expect(object['forwarded']).toEqual(['for=203.0.113.7;proto=https;host=evil.example, for="[::1]";proto=http;host="shop.example:8443"']);
    expect(object['x-real-ip']).toEqual(['203.0.113.7']);
    expect(object['x-forwarded-prefix']).toEqual(['/admin']);
    expect(object['http2-settings']).toBeUndefined();
  });
});

describe('forwarded response headers', () => {
  it('drops hop-by-hop headers and those named in Connection, keeps Content-Length and duplicates', () => {
    const raw = ['Content-Length', '2', 'Connection', 'close, X-Backend-Hop', 'X-Backend-Hop', '1', 'Keep-Alive', 'timeout=5', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2', 'Transfer-Encoding', 'chunked'].map((s) => Buffer.from(s));
    expect(forwardResponseHeaders(raw)).toEqual(['Content-Length', '2', 'Set-Cookie', 'a=1', 'Set-Cookie', 'b=2']);
  });
});
