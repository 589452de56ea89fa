import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchText, waitFor } from '@baton/testing';
import { importSeparateCopy, type SeparateCopy } from '@baton/testing/separate-copy';

// npm installs two copies of @baton/lifecycle when an app and an adapter ask
// for different versions. Copy B is this package's build; copy A a physically
// separate copy of it (another path, another module instance, other classes).
type LifecycleModule = typeof import('./index.js');

const built = fileURLToPath(new URL('..', import.meta.url));
let copy: SeparateCopy<LifecycleModule>;
let a: LifecycleModule;
let b: LifecycleModule;

beforeAll(async () => {
  copy = await importSeparateCopy<LifecycleModule>(built);
  a = copy.module;
  b = (await import(pathToFileURL(join(built, 'dist', 'index.js')).href)) as LifecycleModule;
});
afterAll(() => copy.dispose());

describe('two copies of @baton/lifecycle in one process', () => {
  it('are separate classes', () => {
    expect(a.Lifecycle).not.toBe(b.Lifecycle);
    expect(a.BatonError).not.toBe(b.BatonError);
  });

  it("serve() of one copy runs the other copy's lifecycle: its checks answer the probes and its drain waits for the request in flight", async () => {
    const lifecycle = a.createLifecycle({ logger: a.silentLogger, release: 'v1', shutdown: { propagationDelayMs: 0 } });
    let healthy = true;
    lifecycle.checks.add({ name: 'db', probes: ['readiness'], check: () => healthy });
    const served = await b.serve({
      handler: (_request, response) => setTimeout(() => response.end('slow done'), 300),
      lifecycle,
      port: 0,
      host: '127.0.0.1',
      signals: false,
      exit: false,
    });
    expect(served.lifecycle).toBe(lifecycle);
    expect(b.isLifecycle(lifecycle)).toBe(true);
    expect(lifecycle instanceof b.Lifecycle).toBe(true);
    await served.ready;
    expect((await fetchText(`${served.url}/readyz`)).status).toBe(200);
    healthy = false;
    expect((await fetchText(`${served.url}/readyz`)).status).toBe(503);

    // A request in flight when the shutdown starts is counted by copy A's tracker and finishes.
    const answer = new Promise<string>((resolve, reject) => {
      request(`${served.url}/slow`, (response) => {
        let body = '';
        response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk)).on('end', () => resolve(body));
      }).on('error', reject).end();
    });
    await waitFor(() => lifecycle.counts().inFlight === 1, 10_000, 'the request in flight');
    const report = await served.shutdown('test');
    expect(await answer).toBe('slow done');
    expect(report.forced).toBe(false);
    expect((await served.stopped).code).toBe(0);
  });

  it("isBatonError and instanceof BatonError of one copy recognise the other copy's errors, code included", () => {
    const thrown = (() => {
      try {
        b.createLifecycle({ startupTimeoutMs: -1 });
      } catch (error) {
        return error;
      }
      return undefined;
    })();
    expect(thrown).toBeInstanceOf(b.BatonError);
    expect(a.isBatonError(thrown)).toBe(true);
    expect(a.isBatonError(thrown, 'BATON_ERR_INVALID_OPTION')).toBe(true);
    expect(a.isBatonError(thrown, 'BATON_ERR_LISTEN_FAILED')).toBe(false);
    expect(thrown instanceof a.BatonError).toBe(true);
    expect(new a.BatonError('BATON_ERR_BROKER', 'x') instanceof b.BatonError).toBe(true);
    // Only Baton's errors: a plain error, or one that merely has a code, is not one.
    expect(a.isBatonError(Object.assign(new Error('x'), { code: 'BATON_ERR_BROKER' }))).toBe(false);
    expect(new Error('x') instanceof a.BatonError).toBe(false);
  });

  it('a subclass keeps its own instanceof: a plain BatonError is not a RouterCommandError', () => {
    class RouterCommandError extends b.BatonError {}
    const plain = new a.BatonError('BATON_ERR_ROUTER', 'x');
    const sub = new RouterCommandError('BATON_ERR_ROUTER', 'x');
    expect(plain instanceof RouterCommandError).toBe(false);
    expect(sub instanceof RouterCommandError).toBe(true);
    expect(sub instanceof a.BatonError).toBe(true);
    expect(a.isBatonError(sub, 'BATON_ERR_ROUTER')).toBe(true);
  });

  it('the brand is not an enumerable field: it never shows in JSON or logs', () => {
    const error = new a.BatonError('BATON_ERR_BROKER', 'x');
    expect(Object.getOwnPropertySymbols(error)).toEqual([]);
    expect(Object.keys(Object.getPrototypeOf(error) as object)).toEqual([]);
  });
});
