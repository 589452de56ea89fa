// The soak gate's live part: while the release still serves in the previous
// environment, its instances' /metrics are read at the promotion and its error
// rate over everything they served is judged. Real instances: node:http
// servers recording real requests into Baton's metrics (prom-client) and
// serving them on /metrics; a real service directory with staging's journal
// and history; checkGates as `baton promote v2 --to production` runs it.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createMetrics, createMetricsHandler, observeResponse } from '@baton/metrics';
import { closeServers, fetchText } from '@baton/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHistory, type HistoryEntry } from '../environments/history.js';
import { createFileJournal } from '../journal/file-journal.js';
import { resolveDeployConfig, type ResolvedDeployConfig } from '../deploy-config.js';
import type { ReleaseSpec } from '../model.js';
import type { ServiceState, TrackedInstance } from '../service-state.js';
import type { GateResult } from './gate.js';
import { checkGates } from './run-gates.js';

const MINUTE = 60_000;
const DIGEST = `sha256:${'b'.repeat(64)}`;
const TOKEN = 'soak-s3cret-7f2a';
const release = { version: 'v2', command: 'node', args: ['main.js'] };
const pinned: ReleaseSpec = { ...release, artifact: { kind: 'bundle', digest: DIGEST, source: '/srv/orders', location: '/srv/orders/.baton/orders/artifacts/b' } };

let dir: string;
const servers: Server[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-soak-live-'));
});
afterEach(async () => {
  await closeServers(servers);
  await rm(dir, { recursive: true, force: true });
});

interface Instance {
  record: TrackedInstance;
  server: Server;
  /** The Authorization header of every scrape it got. */
  scrapes: (string | undefined)[];
}

/** A Baton instance of `release` on a port of its own; `/work` answers 500 every `errorEvery`-th time, `/readyz` always 503 (and is recorded). */
async function instance(id: string, release: string, options: { errorEvery?: number; token?: string } = {}): Promise<Instance> {
  const metrics = createMetrics({ service: 'orders', release, instance: id });
  const answerMetrics = createMetricsHandler(metrics, options.token === undefined ? {} : { token: options.token });
  const scrapes: (string | undefined)[] = [];
  let count = 0;
  const server = createServer((request, response) => {
    if (request.url === '/metrics') scrapes.push(request.headers.authorization);
    if (answerMetrics(request, response)) return;
    if (request.url === '/readyz') {
      // A draining instance's probe answers, recorded as a service that counts its probes would: never the release's errors.
      observeResponse(metrics, request, response, '/readyz');
      response.statusCode = 503;
      response.end();
      return;
    }
    observeResponse(metrics, request, response, '/work');
    count += 1;
    response.statusCode = options.errorEvery !== undefined && count % options.errorEvery === 0 ? 500 : 200;
    response.end();
  });
  servers.push(server);
  const startedAtMs = Date.now();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { record: { id, release, host: '127.0.0.1', port, url: `http://127.0.0.1:${port}`, startedAtMs, status: 'ready' }, server, scrapes };
}

/** `count` requests to `path`, one after the other (few: loopback, bounded). */
async function drive(target: Instance, count: number, path = '/work'): Promise<void> {
  for (let i = 0; i < count; i += 1) await fetchText(`${target.record.url}${path}`);
}

function production(options: { soak?: Record<string, unknown>; metricsToken?: string } = {}): ResolvedDeployConfig {
  return resolveDeployConfig(
    {
      service: 'orders',
      release,
      stateDir: 'state',
      ...(options.metricsToken === undefined ? {} : { metricsToken: options.metricsToken }),
      environments: { staging: {}, production: { gates: { soak: { durationMs: 30 * MINUTE, ...options.soak } } } },
    },
    { cwd: dir, environment: 'production' },
  );
}

function served(id: string, version: string, endedAtMs: number): HistoryEntry {
  return { id, environment: 'staging', release: version, via: 'deploy', outcome: 'succeeded', startedAtMs: endedAtMs - MINUTE, endedAtMs, by: { user: 'ann', host: 'ci' }, artifact: { kind: 'bundle', digest: DIGEST, source: '/srv/orders' } };
}

/** Staging as its orchestrator left it: its history and its journaled state. */
async function staging(config: ResolvedDeployConfig, history: HistoryEntry[], state: ServiceState): Promise<void> {
  const stagingDir = join(config.serviceDir, 'env', 'staging');
  for (const entry of history) await createHistory(stagingDir).append(entry);
  await createFileJournal<ServiceState>({ dir: join(stagingDir, 'journal') }).write(state);
}

function serving(version: string, instances: TrackedInstance[]): ServiceState {
  return { service: 'orders', stable: { version, command: 'node' }, instances, nextInstance: instances.length + 1 };
}

async function soakOf(config: ResolvedDeployConfig): Promise<GateResult> {
  const results = await checkGates(config, { release: pinned, state: undefined, via: 'promote', env: {} });
  const soak = results?.find((result) => result.gate === 'soak');
  if (soak === undefined) throw new Error('no soak result');
  return soak;
}

describe('the soak gate on the release’s live numbers', () => {
  it('passes a release with 2% errors over its two instances, its figures in the evidence, probes left out', async () => {
    const a = await instance('v2-1', 'v2', { errorEvery: 50 });
    const b = await instance('v2-2', 'v2', { errorEvery: 50 });
    await drive(a, 50);
    await drive(b, 50);
    // Five 503 probes would make 7 errors in 105 requests (6.7%, above the 5% allowed) if they counted.
    await drive(a, 5, '/readyz');
    const config = production();
    await staging(config, [served('s1', 'v2', Date.now() - 60 * MINUTE)], serving('v2', [a.record, b.record]));

    const soak = await soakOf(config);
    expect(soak.status).toBe('pass');
    expect(soak.summary).toBe('v2 soaked in staging for 60 min (30 min asked).');
    expect(soak.evidence).toHaveLength(3);
    expect(soak.evidence[1]).toBe("No analysis window ran in its deploy there (a first deploy has no release to compare with; staging's strategy may have no analysis step).");
    expect(soak.evidence[2]).toMatch(/^v2's live numbers in staging, from its 2 ready instances since they started: 100 requests, 2 errors \(2%\), p99 [\d.]+ ms\.$/);
    expect(soak.data).toMatchObject({ live: { serving: true, instances: 2, requests: 100, errors: 2, errorRate: 0.02 } });
  });

  it('refuses a release with 10% errors there', async () => {
    const a = await instance('v2-1', 'v2', { errorEvery: 10 });
    await drive(a, 100);
    const config = production();
    await staging(config, [served('s1', 'v2', Date.now() - 60 * MINUTE)], serving('v2', [a.record]));

    const soak = await soakOf(config);
    expect(soak.status).toBe('fail');
    expect(soak.summary).toBe("v2's error rate in staging over its soak is 10% of 100 requests, above the 5% allowed.");
    expect(soak.evidence.at(-1)).toMatch(/^v2's live numbers in staging, from its 1 ready instance since they started: 100 requests, 10 errors \(10%\)/);
  });

  it('refuses a release that served fewer requests there than soak.minRequests: too little traffic to judge', async () => {
    const a = await instance('v2-1', 'v2');
    await drive(a, 20);
    const config = production({ soak: { minRequests: 500 } });
    expect(config.gates.soak).toEqual({ durationMs: 30 * MINUTE, minRequests: 500 });
    await staging(config, [served('s1', 'v2', Date.now() - 60 * MINUTE)], serving('v2', [a.record]));

    const soak = await soakOf(config);
    expect(soak.status).toBe('fail');
    expect(soak.summary).toBe('v2 served 20 requests in staging over its soak: too little traffic to judge, 500 are asked (soak.minRequests).');
  });

  it('holds a quiet release’s errors against the requests analysis needs: a handful fails, one does not', async () => {
    // 20 requests, under analysis.minRequests (50): 4 errors are 8% of 50, 1 error 2% of 50.
    const noisy = await instance('v2-1', 'v2', { errorEvery: 5 });
    await drive(noisy, 20);
    const config = production();
    await staging(config, [served('s1', 'v2', Date.now() - 60 * MINUTE)], serving('v2', [noisy.record]));
    const refused = await soakOf(config);
    expect(refused.status).toBe('fail');
    expect(refused.summary).toBe("v2's error rate in staging over its soak is 20% of 20 requests, above the 5% allowed, and above it even counted against the 50 requests analysis needs (analysis.minRequests).");

    const quiet = await instance('v2-2', 'v2', { errorEvery: 20 });
    await drive(quiet, 20);
    await createFileJournal<ServiceState>({ dir: join(config.serviceDir, 'env', 'staging', 'journal') }).write(serving('v2', [quiet.record]));
    const passed = await soakOf(config);
    expect(passed.status).toBe('pass');
    expect(passed.evidence.at(-1)).toBe('20 requests are fewer than the 50 analysis needs (analysis.minRequests): its errors counted against 50 are 2%, within the 5% allowed.');
  });

  it('refuses when an instance cannot be scraped, naming it: an unchecked release does not pass', async () => {
    const a = await instance('v2-1', 'v2');
    const b = await instance('v2-2', 'v2');
    await drive(a, 60);
    await new Promise<void>((resolve) => b.server.close(() => resolve()));
    const config = production();
    await staging(config, [served('s1', 'v2', Date.now() - 60 * MINUTE)], serving('v2', [a.record, b.record]));

    const soak = await soakOf(config);
    expect(soak.status).toBe('fail');
    expect(soak.summary).toBe('v2 could not be checked in staging: v2-2 could not be scraped.');
    expect(soak.evidence.find((line) => line.startsWith("v2's live"))).toMatch(/^v2's live numbers in staging, from the 1 of its 2 ready instances that could be scraped, since they started: 60 requests, 0 errors \(0%\)/);
    expect(soak.evidence.find((line) => line.startsWith('v2-2 could not be scraped: '))).toContain(`${b.record.url}/metrics`);
  });

  it('sends the metrics token the instances ask for, and never says it', async () => {
    const a = await instance('v2-1', 'v2', { token: TOKEN });
    await drive(a, 60);
    const config = production({ metricsToken: TOKEN });
    await staging(config, [served('s1', 'v2', Date.now() - 60 * MINUTE)], serving('v2', [a.record]));
    const soak = await soakOf(config);
    expect(soak.status).toBe('pass');
    expect(a.scrapes).toEqual([`Bearer ${TOKEN}`]);
    expect(JSON.stringify(soak)).not.toContain(TOKEN);

    // An instance that wants another token refuses the scrape: the gate fails, still without saying the token.
    const other = await instance('v2-2', 'v2', { token: 'another-token-9' });
    await drive(other, 60);
    await createFileJournal<ServiceState>({ dir: join(config.serviceDir, 'env', 'staging', 'journal') }).write(serving('v2', [other.record]));
    const refused = await soakOf(config);
    expect(refused.status).toBe('fail');
    expect(refused.evidence.find((line) => line.startsWith('v2-2 could not be scraped: '))).toContain('the token was refused');
    expect(JSON.stringify(refused)).not.toContain(TOKEN);
  });

  it('judges a release replaced in staging before the promotion by its history alone, saying so', async () => {
    const v3 = await instance('v3-2', 'v3', { errorEvery: 2 });
    const v2: TrackedInstance = { id: 'v2-1', release: 'v2', host: '127.0.0.1', port: 1, url: 'http://127.0.0.1:1', startedAtMs: Date.now() - 120 * MINUTE, status: 'stopped' };
    const config = production();
    await staging(config, [served('s1', 'v2', Date.now() - 120 * MINUTE), served('s2', 'v3', Date.now() - 60 * MINUTE)], serving('v3', [v2, v3.record]));

    const soak = await soakOf(config);
    expect(soak.status).toBe('pass');
    expect(soak.summary).toBe('v2 soaked in staging for 60 min (30 min asked).');
    expect(soak.evidence.at(-1)).toBe('v2 no longer serves in staging (v3 replaced it): its live numbers cannot be read, so its soak there is judged by its history alone.');
    // Another release's instances say nothing about v2: they are not scraped.
    expect(v3.scrapes).toEqual([]);
  });

  it('refuses a release its history says serves in staging while none of its instances is ready there', async () => {
    const gone: TrackedInstance = { id: 'v2-1', release: 'v2', host: '127.0.0.1', port: 1, url: 'http://127.0.0.1:1', startedAtMs: Date.now() - 70 * MINUTE, status: 'failed' };
    const config = production();
    await staging(config, [served('s1', 'v2', Date.now() - 60 * MINUTE)], serving('v2', [gone]));
    const soak = await soakOf(config);
    expect(soak.status).toBe('fail');
    expect(soak.summary).toBe('v2 should serve in staging, but none of its instances is ready there: its live numbers cannot be read.');
    expect(soak.evidence.at(-1)).toBe("staging's journal lists no ready instance of v2 (v2-1 failed).");
  });

  it('refuses when staging’s journal cannot be read, saying which file', async () => {
    const config = production();
    const journalDir = join(config.serviceDir, 'env', 'staging', 'journal');
    await staging(config, [served('s1', 'v2', Date.now() - 60 * MINUTE)], serving('v2', []));
    await writeFile(join(journalDir, 'state.json'), '{"service": "orders", "inst');
    const soak = await soakOf(config);
    expect(soak.status).toBe('fail');
    expect(soak.summary).toContain("v2's live numbers in staging could not be read: ");
    expect(soak.summary).toContain(join(journalDir, 'state.json'));
  });
});

describe('soak.minRequests', () => {
  it('is a whole number of requests; anything else is a config problem naming the field', () => {
    const problem = (minRequests: unknown): string => {
      try {
        production({ soak: { minRequests } });
        return '';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(problem(-1)).toContain('environments.production: gates.soak.minRequests: how many requests the release must have served in the previous environment');
    expect(problem(2.5)).toContain('gates.soak.minRequests:');
    expect(problem('100')).toContain('got "100"');
    expect(problem(0)).toBe('');
    expect(production().gates.soak).toEqual({ durationMs: 30 * MINUTE });
  });
});
