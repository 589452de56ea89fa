// What promote, rollback --to and approve refuse before anything starts: each
// refusal names what is wrong and the command that does what the user meant.
// The happy paths run real instances in test/src/deploy/pipeline.test.ts.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { approveRelease, createHistory, createReleaseRegistry, promoteRelease, readApproval, resolveDeployConfig, statePaths, type HistoryEntry, type ResolvedDeployConfig, type ServiceState } from '../index.js';
import { rollbackTarget } from './rollback-target.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const T0 = Date.UTC(2026, 11, 7, 12, 0);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-promote-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const service = { service: 'orders', release: { version: 'v1', command: 'node', args: ['main.js'] }, stateDir: 'state' };
const environments = { staging: {}, production: { gates: { approval: true } }, preview: {} };

function config(environment?: string, extra: Record<string, unknown> = { environments, pipeline: ['staging', 'production'] }): ResolvedDeployConfig {
  return resolveDeployConfig({ ...service, ...extra }, { cwd: dir, ...(environment === undefined ? {} : { environment }) });
}

async function recordRelease(version: string, options: { unpinned?: boolean } = {}): Promise<void> {
  const digest = options.unpinned === true ? undefined : DIGEST;
  const registry = createReleaseRegistry(statePaths(join(dir, 'state')).releases);
  await registry.create({
    version,
    ...(digest === undefined ? {} : { artifact: { kind: 'bundle', digest, source: dir, location: join(dir, 'state', 'artifacts', version) } }),
    configDigest: DIGEST,
    configFingerprints: {},
    createdAtMs: T0,
    createdBy: { user: 'ann', host: 'ci' },
  });
}

function entry(id: string, release: string, outcome: HistoryEntry['outcome'], endedAtMs: number, extra: Partial<HistoryEntry> = {}): HistoryEntry {
  return { id, release, via: 'deploy', outcome, startedAtMs: endedAtMs - 60_000, endedAtMs, by: { user: 'ann', host: 'ci' }, spec: { version: release, command: 'node', args: ['main.js'] }, ...extra };
}

describe('promoteRelease refuses', () => {
  it('a config without environments, saying to declare them', async () => {
    await expect(promoteRelease(config(undefined, {}), 'v1')).rejects.toMatchObject({
      code: 'BATON_ERR_DEPLOY_CONFIG',
      message: 'baton promote v1 --to <environment> takes a release through a pipeline: declare environments (and a pipeline) in the config.',
    });
  });

  it('a promotion to the pipeline’s first environment, saying to deploy there instead', async () => {
    await recordRelease('v1');
    await expect(promoteRelease(config('staging'), 'v1')).rejects.toMatchObject({
      code: 'BATON_ERR_PIPELINE',
      message: 'staging is the first environment of the pipeline (staging → production): there is nothing to promote from. Deploy to it with baton deploy --env staging.',
    });
  });

  it('a promotion to an environment outside the pipeline, saying so', async () => {
    await expect(promoteRelease(config('preview'), 'v1')).rejects.toMatchObject({
      code: 'BATON_ERR_PIPELINE',
      message: 'preview is not in the pipeline (staging → production): there is nothing to promote from. Deploy to it with baton deploy --env preview.',
    });
  });

  it('a version never released, naming the deploy that brings a release into the pipeline', async () => {
    await recordRelease('v1');
    await expect(promoteRelease(config('production'), 'v9')).rejects.toMatchObject({
      code: 'BATON_ERR_PIPELINE',
      message: 'v9 was never released: a release enters the pipeline with baton deploy --env staging (see baton releases).',
    });
  });

  it('a version that cannot be a release’s name', async () => {
    await expect(promoteRelease(config('production'), '../v1')).rejects.toMatchObject({ code: 'BATON_ERR_RELEASE', message: expect.stringContaining('A release version is a label of letters, digits') });
  });
});

describe('rollbackTarget', () => {
  const state = (stable: string, previous?: string): ServiceState => ({
    service: 'orders',
    stable: { version: stable, command: 'node' },
    ...(previous === undefined ? {} : { previous: { version: previous, command: 'node', args: ['old.js'] } }),
    instances: [],
    nextInstance: 1,
  });

  it('refuses the stable release: there is nothing to roll back', async () => {
    await expect(rollbackTarget(config('production'), state('v2', 'v1'), 'v2')).rejects.toMatchObject({
      code: 'BATON_ERR_PIPELINE',
      message: 'v2 is already the stable release of production: there is nothing to roll back.',
    });
  });

  it('refuses a release that never served here, listing the releases that did (the stable one aside) and how to run it here', async () => {
    const production = config('production');
    const history = createHistory(production.stateDir);
    await history.append(entry('p1', 'v1', 'succeeded', T0));
    await history.append(entry('p2', 'v3', 'rolled-back', T0 + 1, { reason: 'error rate' }));
    await history.append(entry('p3', 'v2', 'succeeded', T0 + 2));
    await history.append(entry('p4', 'v4', 'refused', T0 + 3));
    await expect(rollbackTarget(production, state('v2'), 'v3')).rejects.toMatchObject({
      code: 'BATON_ERR_PIPELINE',
      message: 'v3 never served production, so there is nothing of it to go back to; releases that did: v1. To run it here, deploy it (baton promote v3 --to production).',
    });
    // In the first environment a release is deployed, not promoted.
    await expect(rollbackTarget(config('staging'), state('v2'), 'v3')).rejects.toMatchObject({ message: 'v3 never served staging, so there is nothing of it to go back to. To run it here, deploy it.' });
  });

  it('runs a release as it last served here, from the history', async () => {
    const production = config('production');
    const history = createHistory(production.stateDir);
    await history.append(entry('p1', 'v1', 'succeeded', T0, { spec: { version: 'v1', command: 'node', args: ['first.js'] } }));
    await history.append(entry('p2', 'v1', 'succeeded', T0 + 1, { spec: { version: 'v1', command: 'node', args: ['second.js'], sealedEnv: { DB_PASSWORD: 'hmac-sha256:00' } } }));
    await history.append(entry('p3', 'v2', 'succeeded', T0 + 2));
    expect(await rollbackTarget(production, state('v2', 'v1'), 'v1')).toEqual({ version: 'v1', command: 'node', args: ['second.js'], sealedEnv: { DB_PASSWORD: 'hmac-sha256:00' } });
  });

  it('falls back to the journal’s previous release when the history does not have it', async () => {
    expect(await rollbackTarget(config('production'), state('v2', 'v1'), 'v1')).toEqual({ version: 'v1', command: 'node', args: ['old.js'] });
    // A service without environments: the same, its name in messages.
    const plain = config(undefined, {});
    expect(await rollbackTarget(plain, state('v2', 'v1'), 'v1')).toEqual({ version: 'v1', command: 'node', args: ['old.js'] });
    await expect(rollbackTarget(plain, state('v2', 'v1'), 'v0')).rejects.toMatchObject({ message: 'v0 never served orders, so there is nothing of it to go back to. To run it here, deploy it.' });
  });
});

describe('approveRelease', () => {
  it('refuses a version never released', async () => {
    await expect(approveRelease(config('production'), 'v9')).rejects.toMatchObject({ code: 'BATON_ERR_PIPELINE', message: 'v9 was never released, so there is nothing to approve (see baton releases).' });
    expect(await readApproval(join(dir, 'state'), 'production', 'v9')).toBeUndefined();
  });

  it('refuses a config with environments when none is named; a service without environments is approved under its own name', async () => {
    await recordRelease('v1');
    await expect(approveRelease(config(), 'v1')).rejects.toMatchObject({ code: 'BATON_ERR_DEPLOY_CONFIG', message: expect.stringContaining('say which with --env (staging, production, preview)') });
    const plain = await approveRelease(config(undefined, {}), 'v1');
    expect(plain).toMatchObject({ created: true, approval: { version: 'v1', environment: 'orders', digest: DIGEST } });
  });

  it('records the release’s artifact for the environment, and says whether its gate waits for it', async () => {
    await recordRelease('v2');
    const approved = await approveRelease(config('production'), 'v2', { now: () => T0 + 5 });
    expect(approved).toMatchObject({ created: true, gateOn: true, approval: { version: 'v2', environment: 'production', digest: DIGEST, atMs: T0 + 5 } });
    expect(await readApproval(join(dir, 'state'), 'production', 'v2')).toEqual(approved.approval);
    expect((await approveRelease(config('staging'), 'v2')).gateOn).toBe(false);
    // An unpinned release is approved as such.
    await recordRelease('v3', { unpinned: true });
    expect((await approveRelease(config('production'), 'v3')).approval).not.toHaveProperty('digest');
  });

  it('keeps the first approval when a release is approved twice', async () => {
    await recordRelease('v2');
    const first = await approveRelease(config('production'), 'v2', { now: () => T0 });
    const second = await approveRelease(config('production'), 'v2', { now: () => T0 + 60_000 });
    expect(second.created).toBe(false);
    expect(second.approval).toEqual(first.approval);
    expect(second.approval.atMs).toBe(T0);
  });
});
