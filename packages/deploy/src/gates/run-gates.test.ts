// checkGates on a real service directory (its release registry, the previous
// environment's history, the approvals): one report, every gate in order,
// each saying why it passed, failed or did not apply. Nothing is started.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { recordApproval } from '../environments/approvals.js';
import { createHistory, type HistoryEntry } from '../environments/history.js';
import { checkGates, createReleaseRegistry, deployedReleases, formatGates, GATE_NAMES, resolveDeployConfig, statePaths, type GateResult, type ReleaseSpec, type ServiceState } from '../index.js';
import type { TrackedInstance } from '../service-state.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const T0 = Date.UTC(2026, 11, 7, 12, 0);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-gates-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const release = { version: 'v2', command: 'node', args: ['main.js'] };
const pinned: ReleaseSpec = { ...release, artifact: { kind: 'bundle', digest: DIGEST, source: '/srv/orders', location: '/srv/orders/.baton/orders/artifacts/a' } };

function config(extra: Record<string, unknown> = {}, environment?: string): ReturnType<typeof resolveDeployConfig> {
  return resolveDeployConfig({ service: 'orders', release, stateDir: 'state', ...extra }, { cwd: dir, ...(environment === undefined ? {} : { environment }) });
}

const pipeline = {
  environments: {
    staging: {},
    production: { gates: { soak: { durationMs: 30 * 60_000 }, approval: true } },
  },
};

const statuses = (results: GateResult[] | undefined): string[] => (results ?? []).map((result) => `${result.gate}: ${result.status}`);

describe('checkGates', () => {
  it('has nothing to report for a service without environments or gates', async () => {
    expect(await checkGates(config(), { release: pinned, state: undefined, via: 'deploy', env: {} })).toBeUndefined();
    // Gates all turned off are no gates.
    expect(await checkGates(config({ gates: { soak: false, approval: false, contracts: false, migrations: false } }), { release: pinned, state: undefined, via: 'deploy', env: {} })).toBeUndefined();
  });

  it('checks the gates of a service without environments, with no previous-environment gate', async () => {
    const results = await checkGates(config({ gates: { approval: true } }), { release: pinned, state: undefined, via: 'deploy', env: {} });
    expect(statuses(results)).toEqual(['contracts: skipped', 'migrations: skipped', 'soak: skipped', 'approval: fail']);
    expect(results?.[3]?.summary).toContain('nobody approved v2');
    // (What it tells the user to run is checked in the CLI's environments.test.ts: `--env orders` names no environment there.)
  });

  it('reports all five gates in order for an environment, unconfigured ones skipped as not configured for it', async () => {
    const results = await checkGates(config(pipeline, 'staging'), { release: pinned, state: undefined, via: 'deploy', env: {} });
    expect(results?.map((result) => result.gate)).toEqual([...GATE_NAMES]);
    expect(results?.map((result) => result.gate)).toEqual(['previous-environment', 'contracts', 'migrations', 'soak', 'approval']);
    expect(statuses(results)).toEqual(['previous-environment: skipped', 'contracts: skipped', 'migrations: skipped', 'soak: skipped', 'approval: skipped']);
    for (const result of (results ?? []).slice(1)) expect(result.summary).toBe('not configured for staging.');
  });

  it('runs a configured gate and reports all the others too, also after one fails', async () => {
    const results = await checkGates(config({ ...pipeline, gates: { contracts: true } }, 'staging'), { release: pinned, state: undefined, via: 'deploy', env: {} });
    expect(statuses(results)).toEqual(['previous-environment: skipped', 'contracts: fail', 'migrations: skipped', 'soak: skipped', 'approval: skipped']);
  });

  it('refuses a deploy straight into production, and does not tell the user production has nothing before it', async () => {
    const results = await checkGates(config(pipeline, 'production'), { release: pinned, state: undefined, via: 'deploy', env: {} });
    expect(statuses(results)).toEqual(['previous-environment: fail', 'contracts: skipped', 'migrations: skipped', expect.stringMatching(/^soak: /) as unknown as string, 'approval: fail']);
    expect(results?.[0]?.summary).toContain('baton promote v2 --to production');
    // The soak line must not contradict the first one: production does have staging before it.
    expect(results?.[3]?.summary).not.toContain('has no environment before it');
  });

  it('passes a promotion of the artifact that served long enough in staging and was approved', async () => {
    const production = config(pipeline, 'production');
    const staged: HistoryEntry = { id: 'orders-s1', environment: 'staging', release: 'v2', via: 'deploy', outcome: 'succeeded', startedAtMs: T0 - 60_000, endedAtMs: T0, by: { user: 'ann', host: 'ci' }, artifact: { kind: 'bundle', digest: DIGEST, source: '/srv/orders' } };
    await createHistory(join(production.serviceDir, 'env', 'staging')).append(staged);
    const early = await checkGates(production, { release: pinned, state: undefined, via: 'promote', env: {}, now: () => T0 + 10 * 60_000 });
    expect(statuses(early)).toEqual(['previous-environment: pass', 'contracts: skipped', 'migrations: skipped', 'soak: fail', 'approval: fail']);
    expect(early?.[3]?.summary).toBe('v2 has soaked in staging for 10 min of the 30 min asked; 20 min to go.');

    await recordApproval(production.serviceDir, { version: 'v2', environment: 'production', digest: DIGEST, by: { user: 'bob', host: 'laptop' }, atMs: T0 });
    const later = await checkGates(production, { release: pinned, state: undefined, via: 'promote', env: {}, now: () => T0 + 31 * 60_000 });
    expect(statuses(later)).toEqual(['previous-environment: pass', 'contracts: skipped', 'migrations: skipped', 'soak: pass', 'approval: pass']);
  });

  it('refuses a promotion of a release that never ran in staging, with the evidence of what did', async () => {
    const results = await checkGates(config(pipeline, 'production'), { release: pinned, state: undefined, via: 'promote', env: {}, now: () => T0 });
    expect(results?.[0]).toMatchObject({ status: 'fail', evidence: ['staging has run no release yet.'] });
    expect(results?.[3]?.summary).toBe('v2 never served in staging: it cannot have soaked there for 30 min.');
  });
});

function instance(id: string, status: TrackedInstance['status']): TrackedInstance {
  const release = id.split('-')[0] as string;
  return { id, release, host: '127.0.0.1', port: 40_000, url: 'http://127.0.0.1:40000', startedAtMs: T0, status };
}

describe('deployedReleases', () => {
  it('lists nothing for an environment with no state', () => {
    expect(deployedReleases(undefined, ['v1', 'v2'])).toEqual([]);
  });

  it('lists the stable release and every release with a starting, ready or draining instance, oldest first by the registry’s order', () => {
    const state: ServiceState = {
      service: 'orders',
      stable: { version: 'v2', command: 'node' },
      instances: [instance('v3-7', 'starting'), instance('v2-5', 'ready'), instance('v1-2', 'draining'), instance('v4-8', 'stopped'), instance('v5-9', 'failed'), instance('v2-6', 'ready')],
      nextInstance: 10,
    };
    // The registry's order, not the names': v10 was recorded before v3.
    expect(deployedReleases(state, ['v1', 'v2', 'v10', 'v3', 'v4', 'v5'])).toEqual(['v1', 'v2', 'v3']);
    expect(deployedReleases(state, ['v3', 'v2', 'v1'])).toEqual(['v3', 'v2', 'v1']);
  });

  it('puts releases the registry does not know last, by name', () => {
    const state: ServiceState = { service: 'orders', stable: { version: 'beta', command: 'node' }, instances: [instance('alpha-1', 'ready'), instance('v1-1', 'draining')], nextInstance: 2 };
    expect(deployedReleases(state, ['v1'])).toEqual(['v1', 'alpha', 'beta']);
  });

  it('follows the order the registry lists releases in: when they were recorded', async () => {
    const registry = createReleaseRegistry(statePaths(dir).releases);
    const record = (version: string, createdAtMs: number) => ({ version, configDigest: DIGEST, configFingerprints: {}, createdAtMs, createdBy: { user: 'ann', host: 'ci' } });
    await registry.create(record('v10', T0 + 2));
    await registry.create(record('v9', T0 + 1));
    await registry.create(record('v11', T0 + 3));
    const order = (await registry.list()).releases.map((one) => one.version);
    expect(order).toEqual(['v9', 'v10', 'v11']);
    const state: ServiceState = { service: 'orders', stable: { version: 'v11', command: 'node' }, instances: [instance('v9-1', 'draining'), instance('v10-2', 'ready')], nextInstance: 3 };
    expect(deployedReleases(state, order)).toEqual(['v9', 'v10', 'v11']);
  });
});

describe('formatGates', () => {
  it('lines up status, gate and summary, with the evidence indented under the summary', () => {
    const text = formatGates([
      { gate: 'previous-environment', status: 'pass', summary: 'v2 passed staging.', evidence: ['staging: deploy s1 of v2: succeeded.'] },
      { gate: 'soak', status: 'fail', summary: 'v2 has soaked for 10 min of the 30 min asked.', evidence: ['served since 12:00.', 'no analysis.'] },
      { gate: 'approval', status: 'skipped', summary: 'not configured for production.', evidence: [] },
    ]);
    expect(text.split('\n')).toEqual([
      '  pass     previous-environment  v2 passed staging.',
      '                                 staging: deploy s1 of v2: succeeded.',
      '  fail     soak                  v2 has soaked for 10 min of the 30 min asked.',
      '                                 served since 12:00.',
      '                                 no analysis.',
      '  skipped  approval              not configured for production.',
    ]);
    expect(text.endsWith('\n')).toBe(false);
  });

  it('formats no gates as nothing', () => {
    expect(formatGates([])).toBe('');
  });
});
