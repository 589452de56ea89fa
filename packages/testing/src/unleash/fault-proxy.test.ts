import { createServer, type Server } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { waitFor } from '@baton/testing';
import { startFaultProxy, type FaultProxy } from '@baton/testing/fault-proxy';

// The proxy @baton/toggles' fault tests stand on, in front of a plain local server.
describe('startFaultProxy', () => {
  let upstream: Server | undefined;
  let proxy: FaultProxy | undefined;

  afterEach(async () => {
    await proxy?.close();
    await new Promise((resolve) => (upstream ? upstream.close(resolve) : resolve(undefined)));
    proxy = undefined;
    upstream = undefined;
  });

  async function start(): Promise<FaultProxy> {
    const body = JSON.stringify({ version: 2, features: [{ name: 'a', enabled: true, strategies: [] }] });
    upstream = createServer((req, res) => {
      if (req.headers['if-none-match'] === '"v1"') return void res.writeHead(304).end();
      // Compressed when asked, as Unleash does: the proxy must ask for plain text to alter an answer.
      if (/gzip/.test(req.headers['accept-encoding'] ?? '')) return void res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': 'gzip', etag: '"v1"' }).end(gzipSync(body));
      res.writeHead(200, { 'content-type': 'application/json', etag: '"v1"' }).end(body);
    });
    await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', resolve));
    const { port } = upstream.address() as { port: number };
    proxy = await startFaultProxy(`http://127.0.0.1:${port}`);
    return proxy;
  }

  it('passes through, then answers each fault, and counts what it received', async () => {
    const p = await start();
    const url = `${p.url}/api/client/features`;
    const pass = await fetch(url);
    expect(pass.status).toBe(200);
    expect(pass.headers.get('etag')).toBe('"v1"');
    expect(((await pass.json()) as { features: unknown[] }).features).toHaveLength(1);
    expect((await fetch(url, { headers: { 'if-none-match': '"v1"' } })).status).toBe(304);

    p.mode = 'html';
    expect(await (await fetch(url)).text()).toContain('<html>');
    p.mode = 'empty-object';
    expect(await (await fetch(url)).text()).toBe('{}');
    p.mode = 'features-not-array';
    expect(await (await fetch(url)).text()).toBe('{"features":"x"}');
    p.mode = 'invalid-feature';
    // Asked without the ETag upstream: a whole answer, with one bad entry added.
    const invalid = (await (await fetch(url, { headers: { 'if-none-match': '"v1"' } })).json()) as { features: { name: string }[] };
    expect(invalid.features.map((f) => f.name)).toEqual(['a', 'baton.fault-proxy.not-a-feature']);
    p.mode = 'status-503';
    expect((await fetch(url)).status).toBe(503);
    p.mode = 'truncated';
    const truncated = await fetch(url);
    expect(truncated.status).toBe(200);
    await expect(truncated.text()).rejects.toThrow();
    p.mode = 'hang';
    await expect(fetch(url, { signal: AbortSignal.timeout(200) })).rejects.toThrow();

    expect(p.count()).toBe(9);
    expect(p.requests.map((r) => r.mode)).toEqual(['pass', 'pass', 'html', 'empty-object', 'features-not-array', 'invalid-feature', 'status-503', 'truncated', 'hang']);
  });

  it('answers 502 when the target is down, and closes with a request still hanging', async () => {
    const p = await start();
    p.mode = 'hang';
    const hanging = fetch(`${p.url}/x`).catch((error: unknown) => error);
    // The proxy holds it (a busy machine can take longer than any fixed pause to get it there).
    await waitFor(() => p.count() === 1, 10_000, 'the proxy to receive the hanging request');
    await new Promise((resolve) => upstream!.close(resolve));
    upstream = undefined;
    p.mode = 'pass';
    expect((await fetch(`${p.url}/x`)).status).toBe(502);
    await p.close();
    proxy = undefined;
    expect(await hanging).toBeInstanceOf(Error);
  });
});
