// The previous-environment gate: a release enters the pipeline at its first
// environment and reaches a later one only by promotion, as the artifact that
// passed the environment before. Every verdict says what it rests on, so the
// person reading it knows what to do next.
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../environments/history.js';
import { checkPipeline, describeEntry, type PipelineQuestion } from './pipeline-gate.js';

const DIGEST = `sha256:${'a'.repeat(64)}`;
const OTHER = `sha256:${'b'.repeat(64)}`;
const T0 = Date.UTC(2026, 11, 7, 12, 0);
const t = (minutes: number): number => T0 + minutes * 60_000;

function entry(id: string, release: string, outcome: HistoryEntry['outcome'], endedAtMs: number, extra: Partial<HistoryEntry> = {}): HistoryEntry {
  return { id, environment: 'staging', release, via: 'deploy', outcome, startedAtMs: endedAtMs - 60_000, endedAtMs, by: { user: 'ann', host: 'ci-3' }, artifact: { kind: 'bundle', digest: DIGEST, source: '/srv/orders' }, ...extra };
}

function promote(previousHistory: HistoryEntry[], extra: Partial<PipelineQuestion> = {}): ReturnType<typeof checkPipeline> {
  return checkPipeline({ version: 'v2', digest: DIGEST, environment: 'production', previousEnvironment: 'staging', via: 'promote', previousHistory, ...extra });
}

describe('checkPipeline', () => {
  it('skips a deploy into the pipeline’s first environment: releases enter there', () => {
    const result = checkPipeline({ version: 'v2', digest: DIGEST, environment: 'staging', previousEnvironment: undefined, via: 'deploy', previousHistory: [] });
    expect(result).toEqual({ gate: 'previous-environment', status: 'skipped', summary: 'staging takes releases straight from a deploy: it is where they enter the pipeline.', evidence: [] });
  });

  it('refuses a deploy straight into a later environment, naming baton promote', () => {
    const result = checkPipeline({ version: 'v2', digest: DIGEST, environment: 'production', previousEnvironment: 'staging', via: 'deploy', previousHistory: [entry('s1', 'v2', 'succeeded', t(0))] });
    expect(result.status).toBe('fail');
    expect(result.summary).toBe('production takes releases from staging only: run baton promote v2 --to production once it passed there.');
  });

  it('refuses a promotion into an environment with none before it, naming baton deploy', () => {
    const result = promote([], { environment: 'staging', previousEnvironment: undefined });
    expect(result.status).toBe('fail');
    expect(result.summary).toBe('staging has no environment before it in the pipeline to promote from: deploy to it with baton deploy --env staging.');
  });

  it('refuses a release that never ran in the previous environment, listing what did', () => {
    const history = [entry('s1', 'v1', 'succeeded', t(0)), entry('s2', 'v3', 'rolled-back', t(5)), entry('s3', 'v1', 'succeeded', t(10)), entry('s4', 'v2', 'refused', t(15), { reason: 'contracts failed' })];
    const result = promote(history);
    expect(result.status).toBe('fail');
    expect(result.summary).toBe('v2 never ran in staging; only a release that passed staging is promoted to production.');
    // A refusal is not a run; only releases that succeeded are listed, each once.
    expect(result.evidence).toEqual(['Releases that ran in staging: v1.']);
    expect(promote([]).evidence).toEqual(['staging has run no release yet.']);
  });

  it('refuses a release rolled back in the previous environment, quoting why', () => {
    const history = [entry('s1', 'v1', 'succeeded', t(0)), entry('s2', 'v2', 'rolled-back', t(5), { from: 'v1', reason: 'error rate 12% above 5%', analyses: { pass: 1, fail: 1, inconclusive: 0 } })];
    const result = promote(history);
    expect(result.status).toBe('fail');
    expect(result.summary).toBe('v2 did not pass staging: its deploy there was rolled back (error rate 12% above 5%).');
    expect(result.evidence).toEqual(['staging: deploy s2 of v2 (from v1): rolled-back on 2026-12-07 12:05 UTC by ann@ci-3, analysis 1 passed / 1 failed / 0 inconclusive — error rate 12% above 5%.']);
    expect(result.data).toEqual({ deployId: 's2' });
  });

  it('refuses a release whose deploy failed in the previous environment, quoting why', () => {
    const result = promote([entry('s1', 'v2', 'failed', t(5), { reason: 'v2-1 never became ready' })]);
    expect(result.status).toBe('fail');
    expect(result.summary).toBe('v2 did not pass staging: its deploy there failed (v2-1 never became ready).');
  });

  it('judges by the release’s last deploy there: a success after a rollback passes, a failure after a success does not', () => {
    expect(promote([entry('s1', 'v2', 'rolled-back', t(0), { reason: 'flaky' }), entry('s2', 'v2', 'succeeded', t(10))]).status).toBe('pass');
    expect(promote([entry('s1', 'v2', 'succeeded', t(0)), entry('s2', 'v2', 'failed', t(10), { reason: 'disk full' })]).summary).toBe('v2 did not pass staging: its deploy there failed (disk full).');
  });

  it('refuses a release that succeeded and was rolled back by hand afterwards, saying when, by whom and to what', () => {
    const history = [
      entry('s1', 'v1', 'succeeded', t(0)),
      entry('s2', 'v2', 'succeeded', t(10), { from: 'v1' }),
      entry('s3', 'v1', 'succeeded', t(40), { from: 'v2', via: 'rollback', startedAtMs: t(39), by: { user: 'bob', host: 'laptop' } }),
    ];
    const result = promote(history);
    expect(result.status).toBe('fail');
    expect(result.summary).toBe('v2 was rolled back in staging on 2026-12-07 12:39 UTC by bob@laptop (back to v1) after it was deployed there.');
    expect(result.evidence).toHaveLength(2);
    expect(result.evidence[1]).toBe('staging: rollback s3 of v1 (from v2): succeeded on 2026-12-07 12:40 UTC by bob@laptop.');
    expect(result.data).toEqual({ deployId: 's2', rolledBackBy: 's3' });
  });

  it('passes a release replaced in the normal way afterwards (a later deploy is not a verdict on it)', () => {
    const history = [entry('s1', 'v2', 'succeeded', t(0)), entry('s2', 'v3', 'succeeded', t(10), { from: 'v2' })];
    expect(promote(history).status).toBe('pass');
  });

  it('refuses another artifact under the same version', () => {
    const result = promote([entry('s1', 'v2', 'succeeded', t(0), { artifact: { kind: 'bundle', digest: OTHER, source: '/srv/orders' } })]);
    expect(result.status).toBe('fail');
    expect(result.summary).toBe('v2 ran in staging as sha256:bbbbbbbbbbbb, but its recorded artifact is sha256:aaaaaaaaaaaa: not the same artifact.');
    const { artifact: _artifact, ...unpinned } = entry('s1', 'v2', 'succeeded', t(0));
    expect(promote([unpinned]).summary).toBe('v2 ran in staging as an unpinned release, but its recorded artifact is sha256:aaaaaaaaaaaa: not the same artifact.');
    expect(promote([entry('s1', 'v2', 'succeeded', t(0))], { digest: undefined }).summary).toBe('v2 ran in staging as sha256:aaaaaaaaaaaa, but its recorded artifact is unpinned: not the same artifact.');
  });

  it('passes the very artifact that succeeded in the previous environment, with the deploy as evidence', () => {
    const history = [entry('s1', 'v1', 'succeeded', t(0)), entry('s2', 'v2', 'succeeded', t(10), { from: 'v1', via: 'promote', promotedFrom: 'dev', analyses: { pass: 3, fail: 0, inconclusive: 0 } }), entry('s3', 'v2', 'refused', t(20))];
    const result = promote(history);
    expect(result).toEqual({
      gate: 'previous-environment',
      status: 'pass',
      summary: 'v2 passed staging: the same artifact (sha256:aaaaaaaaaaaa) was deployed there and not rolled back.',
      evidence: ['staging: promotion from dev s2 of v2 (from v1): succeeded on 2026-12-07 12:10 UTC by ann@ci-3, analysis 3 passed / 0 failed / 0 inconclusive.'],
      data: { deployId: 's2' },
    });
  });
});

describe('describeEntry', () => {
  it('says how, what, from what, the outcome, when and by whom', () => {
    expect(describeEntry(entry('s1', 'v1', 'succeeded', t(0)), 'staging')).toBe('staging: deploy s1 of v1: succeeded on 2026-12-07 12:00 UTC by ann@ci-3.');
  });
});
