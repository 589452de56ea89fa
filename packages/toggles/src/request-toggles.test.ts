import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BatonError } from '@baton/lifecycle';
import { fetchText } from '@baton/testing';
import { defineToggles } from './registry.js';
import { requestScopeFactory, type RequestContextOptions } from './request-toggles.js';
import { createToggles, type Toggles } from './toggles.js';

const registry = defineToggles({
  newCheckout: { kind: 'release', default: false, description: 'The one-page checkout' },
  checkoutColour: { kind: 'experiment', default: false, description: 'Button colour test', payload: 'json' },
  payments: { kind: 'kill-switch', default: true, description: 'Card payments' },
});
type Definitions = typeof registry.definitions;

let dir: string;
let toggles: Toggles<Definitions>;
const errors: BatonError[] = [];

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'baton-request-toggles-'));
  const path = join(dir, 'toggles.json');
  const variants = [{ name: 'teal', weight: 1000, stickiness: 'default', payload: { type: 'json', value: '{"hex":"#008080"}' } }];
  writeFileSync(
    path,
    JSON.stringify({
      version: 2,
      features: [
        { name: 'newCheckout', enabled: true, strategies: [{ name: 'userWithId', parameters: { userIds: 'ada' }, constraints: [] }] },
        { name: 'checkoutColour', enabled: false, strategies: [{ name: 'default', parameters: {}, constraints: [] }], variants },
        { name: 'payments', enabled: true, strategies: [{ name: 'remoteAddress', parameters: { IPs: '127.0.0.1' }, constraints: [] }] },
      ],
    }),
  );
  toggles = createToggles(registry, { source: { type: 'file', path, watch: false }, release: 'v2' });
  toggles.on('error', (error) => errors.push(error));
});

afterAll(async () => {
  await toggles.close();
  rmSync(dir, { recursive: true, force: true });
});

/** A real server whose handler answers what the request's toggle scope says. */
async function serve(options: RequestContextOptions<IncomingMessage, keyof Definitions & string>): Promise<{ url: string; server: Server; built: () => number }> {
  let built = 0;
  const scopeOf = requestScopeFactory(toggles, options);
  const server = createServer((request, response) => {
    if (request.url === '/untouched') return response.end('no toggles');
    built += 1;
    const scope = scopeOf(request, request);
    const colour = scope.getVariant('checkoutColour');
    response.setHeader('content-type', 'application/json');
    response.end(JSON.stringify({ newCheckout: scope.isEnabled('newCheckout'), payments: scope.isEnabled('payments'), colour: colour.name, hex: (colour.payload as { hex?: string } | undefined)?.hex ?? null, context: scope.context }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, built: () => built };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<Record<string, unknown>> {
  const response = await fetchText(url, { headers });
  expect(response.status).toBe(200);
  return JSON.parse(response.body) as Record<string, unknown>;
}

describe('request scopes on a real server', () => {
  it('build the context from the extractors, the socket’s address and the release', async () => {
    const { url, server } = await serve({ userId: (request) => request.headers['x-user'] as string | undefined, properties: () => ({ tenant: 'acme' }) });
    try {
      expect(await get(`${url}/`, { 'x-user': 'ada' })).toMatchObject({
        newCheckout: true,
        payments: true,
        context: { userId: 'ada', remoteAddress: '127.0.0.1', properties: { release: 'v2', tenant: 'acme' } },
      });
      expect(await get(`${url}/`, { 'x-user': 'bob' })).toMatchObject({ newCheckout: false });
    } finally {
      server.close();
    }
  });

  it('never read the override header when overrides are off', async () => {
    const { url, server } = await serve({});
    try {
      expect(await get(`${url}/`, { 'x-baton-toggles': 'newCheckout=on,checkoutColour=teal' })).toMatchObject({ newCheckout: false, colour: 'disabled' });
    } finally {
      server.close();
    }
  });

  it('apply allow-listed overrides, variants with their payload, and skip the rest with an error event', async () => {
    const { url, server } = await serve({ overrides: { allow: ['newCheckout', 'checkoutColour'] } });
    try {
      const before = errors.length;
      expect(await get(`${url}/`, { 'x-baton-toggles': 'newCheckout=on, checkoutColour=teal, payments=off' })).toMatchObject({ newCheckout: true, payments: true, colour: 'teal', hex: '#008080' });
      expect(errors.slice(before).map((error) => error.message)).toEqual([expect.stringMatching(/x-baton-toggles entries ignored: payments: not allowed/)]);
      expect(await get(`${url}/`, { 'x-baton-toggles': 'newCheckout=off' })).toMatchObject({ newCheckout: false });
    } finally {
      server.close();
    }
  });

  it('answer with an empty field when an extractor throws, reported once', async () => {
    const { url, server } = await serve({
      userId: () => {
        throw new Error('no session store');
      },
    });
    try {
      const before = errors.length;
      expect(await get(`${url}/`)).toMatchObject({ newCheckout: false, context: { remoteAddress: '127.0.0.1' } });
      await get(`${url}/`);
      expect(errors.slice(before).map((error) => error.message)).toEqual([expect.stringMatching(/`userId` extractor threw \(no session store\)/)]);
    } finally {
      server.close();
    }
  });

  it('refuses extractors that are not functions, at construction', () => {
    expect(() => requestScopeFactory(toggles, { userId: 'ada' as never })).toThrow(/context `userId` must be a function of the request/);
    expect(() => requestScopeFactory(toggles, { overrides: { allow: ['nope' as 'newCheckout'] } })).toThrow(/not in the registry: nope/);
  });
});
