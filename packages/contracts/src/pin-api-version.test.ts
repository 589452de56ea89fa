// The consumer side of versioned contracts, with Pact's real mock server: a
// pinned interaction is written into the pact with its version header, and a
// client that sends another version (or none) fails its own consumer test.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PactV4 } from '@pact-foundation/pact';
import { isBatonError } from '@baton/lifecycle';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pinApiVersion } from './index.js';

process.env.PACT_DO_NOT_TRACK ??= 'true';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-pin-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function pactFor(consumer: string): PactV4 {
  return new PactV4({ consumer, provider: 'orders-api', dir, logLevel: 'error' });
}

async function getOrder(baseUrl: string, headers: Record<string, string>): Promise<{ status: number; apiVersion: string | null; body: unknown }> {
  const response = await fetch(`${baseUrl}/orders/ord_1`, { headers });
  return { status: response.status, apiVersion: response.headers.get('api-version'), body: await response.json() };
}

describe('pinApiVersion', () => {
  it('records the pinned version in every interaction of the pact, requests and echoed responses', async () => {
    const pinned = pinApiVersion('2025-01-15');
    const pact = pactFor('pinned-app');
    await pact
      .addInteraction()
      .uponReceiving('an order read by a client pinned to 2025-01-15')
      .withRequest('GET', '/orders/ord_1', pinned.request((request) => request.headers({ accept: 'application/json' })))
      .willRespondWith(200, pinned.response((response) => response.jsonBody({ id: 'ord_1', customer: 'ada' })))
      .executeTest(async (server) => {
        const answer = await getOrder(server.url, { 'api-version': '2025-01-15', accept: 'application/json' });
        expect(answer).toEqual({ status: 200, apiVersion: '2025-01-15', body: { id: 'ord_1', customer: 'ada' } });
      });

    const written = JSON.parse(await readFile(join(dir, 'pinned-app-orders-api.json'), 'utf8')) as {
      interactions: { request: { headers: Record<string, string[]> }; response: { headers: Record<string, string[]> } }[];
    };
    const [interaction] = written.interactions;
    expect(interaction?.request.headers).toMatchObject({ 'Api-Version': ['2025-01-15'], accept: ['application/json'] });
    expect(interaction?.response.headers).toMatchObject({ 'Api-Version': ['2025-01-15'] });
  });

  it('fails the consumer test of a client that sends a different version than it pinned', async () => {
    const pinned = pinApiVersion('2025-01-15');
    const run = pactFor('drifting-app')
      .addInteraction()
      .uponReceiving('an order read by a client that drifted to another version')
      .withRequest('GET', '/orders/ord_1', pinned.request())
      .willRespondWith(200, (response) => response.jsonBody({ id: 'ord_1' }))
      .executeTest(async (server) => {
        await getOrder(server.url, { 'api-version': '2026-11-16' });
      });
    await expect(run).rejects.toThrow("Mismatch with header 'Api-Version': Expected '2026-11-16' to be equal to '2025-01-15'");
  });

  it('fails the consumer test of a client that forgets to send its version', async () => {
    const pinned = pinApiVersion('2025-01-15', { header: 'X-Api-Version' });
    const run = pactFor('forgetful-app')
      .addInteraction()
      .uponReceiving('an order read by a client that sends no version')
      .withRequest('GET', '/orders/ord_1', pinned.request())
      .willRespondWith(200, (response) => response.jsonBody({ id: 'ord_1' }))
      .executeTest(async (server) => {
        await getOrder(server.url, {});
      });
    await expect(run).rejects.toThrow("Expected a header 'X-Api-Version' but was missing");
  });

  it('refuses a version or header that cannot be sent, saying what is accepted', () => {
    for (const bad of ['', ' 2025-01-15', '2025\n01']) {
      let error: unknown;
      try {
        pinApiVersion(bad);
      } catch (caught) {
        error = caught;
      }
      expect(isBatonError(error, 'BATON_ERR_INVALID_OPTION')).toBe(true);
      expect((error as Error).message).toContain('non-empty string');
    }
    expect(() => pinApiVersion('2025-01-15', { header: 'Api Version' })).toThrow(/HTTP header name/);
  });
});
