// The soak gate: how long a release served in the previous environment,
// counted from the previous environment's history, and whether its analysis
// passed there. A refusal says how long it served and how long is left.
import { describe, expect, it } from 'vitest';
import type { HistoryEntry } from '../environments/history.js';
import { checkSoak, formatDuration } from './soak-gate.js';

const T0 = Date.UTC(2026, 11, 7, 12, 0);
const t = (minutes: number): number => T0 + minutes * 60_000;
const HALF_HOUR = { durationMs: 30 * 60_000 };

function entry(id: string, release: string, outcome: HistoryEntry['outcome'], endedAtMs: number, extra: Partial<HistoryEntry> = {}): HistoryEntry {
  return { id, environment: 'staging', release, via: 'deploy', outcome, startedAtMs: endedAtMs - 60_000, endedAtMs, by: { user: 'ann', host: 'ci-3' }, ...extra };
}

function soak(previousHistory: HistoryEntry[], now: number, options: { settings?: { durationMs: number } | undefined; previousEnvironment?: string | undefined } = {}): ReturnType<typeof checkSoak> {
  const settings = 'settings' in options ? options.settings : HALF_HOUR;
  const previousEnvironment = 'previousEnvironment' in options ? options.previousEnvironment : 'staging';
  return checkSoak(settings, { version: 'v2', environment: 'production', previousEnvironment, previousHistory, now });
}

describe('checkSoak', () => {
  it('is skipped when the environment asks for no soak', () => {
    expect(soak([entry('s1', 'v2', 'succeeded', t(0))], t(60), { settings: undefined })).toEqual({ gate: 'soak', status: 'skipped', summary: 'not configured for production.', evidence: [] });
  });

  it('is skipped without an environment before this one (a deploy into the first environment)', () => {
    expect(soak([], t(60), { previousEnvironment: undefined })).toEqual({ gate: 'soak', status: 'skipped', summary: 'production has no environment before it to soak in.', evidence: [] });
  });

  it('refuses a release that never served in the previous environment', () => {
    const result = soak([entry('s1', 'v1', 'succeeded', t(0)), entry('s2', 'v2', 'rolled-back', t(5)), entry('s3', 'v2', 'refused', t(6))], t(60));
    expect(result).toEqual({ gate: 'soak', status: 'fail', summary: 'v2 never served in staging: it cannot have soaked there for 30 min.', evidence: [] });
  });

  it('refuses a release still serving there for less than asked, saying how long to go', () => {
    const result = soak([entry('s1', 'v2', 'succeeded', t(0), { analyses: { pass: 2, fail: 0, inconclusive: 1 } })], t(12));
    expect(result.status).toBe('fail');
    expect(result.summary).toBe('v2 has soaked in staging for 12 min of the 30 min asked; 18 min to go.');
    expect(result.evidence).toEqual(['v2 has served in staging since 2026-12-07 12:00 UTC: 12 min.', 'Its deploy there: 2 analysis windows passed, 0 failed, 1 inconclusive.']);
    expect(result.data).toEqual({ servedMs: 12 * 60_000, durationMs: 30 * 60_000, since: t(0), analyses: { pass: 2, fail: 0, inconclusive: 1 } });
  });

  it('never says "0 s to go" while it still refuses', () => {
    // Half a second short of 30 minutes: the time left rounds up, or the user is told there is nothing to wait for and still refused.
    const result = soak([entry('s1', 'v2', 'succeeded', t(0))], t(30) - 500);
    expect(result.status).toBe('fail');
    expect(result.summary).not.toContain('0 s to go');
    expect(result.summary).toMatch(/; 1 s to go\.$/);
  });

  it('refuses a release replaced there before its soak ended, naming what replaced it (no time to go: it no longer serves)', () => {
    const history = [entry('s1', 'v2', 'succeeded', t(0)), entry('s2', 'v3', 'failed', t(5)), entry('s3', 'v3', 'succeeded', t(20))];
    const result = soak(history, t(600));
    expect(result.status).toBe('fail');
    expect(result.summary).toBe('v2 has soaked in staging for 20 min of the 30 min asked.');
    expect(result.evidence[0]).toBe('v2 served in staging from 2026-12-07 12:00 UTC until v3 replaced it on 2026-12-07 12:20 UTC: 20 min.');
    expect(result.evidence[1]).toBe("No analysis window ran in its deploy there (a first deploy has no release to compare with; staging's strategy may have no analysis step).");
    expect(result.data).toMatchObject({ servedMs: 20 * 60_000, since: t(0), until: t(20) });
  });

  it('counts a rollback away from the release as the end of its soak', () => {
    const history = [entry('s1', 'v1', 'succeeded', t(-60)), entry('s2', 'v2', 'succeeded', t(0), { from: 'v1' }), entry('s3', 'v1', 'succeeded', t(10), { via: 'rollback', from: 'v2' })];
    const result = soak(history, t(600));
    expect(result.status).toBe('fail');
    expect(result.evidence[0]).toBe('v2 served in staging from 2026-12-07 12:00 UTC until v1 replaced it on 2026-12-07 12:10 UTC: 10 min.');
  });

  it('refuses a release whose analysis failed there, however long it served', () => {
    const result = soak([entry('s1', 'v2', 'succeeded', t(0), { analyses: { pass: 1, fail: 1, inconclusive: 0 } })], t(600));
    expect(result.status).toBe('fail');
    expect(result.summary).toBe("v2's analysis failed in staging.");
    expect(result.evidence).toEqual(['v2 has served in staging since 2026-12-07 12:00 UTC: 10 h 0 min.', 'Its deploy there: 1 analysis window passed, 1 failed, 0 inconclusive.']);
  });

  it('passes a release that served long enough with no failed analysis window', () => {
    const result = soak([entry('s1', 'v1', 'succeeded', t(-60)), entry('s2', 'v2', 'succeeded', t(0), { analyses: { pass: 3, fail: 0, inconclusive: 0 } })], t(47));
    expect(result.status).toBe('pass');
    expect(result.summary).toBe('v2 soaked in staging for 47 min (30 min asked).');
    // Replaced after its soak ended: it soaked all the same.
    const replaced = soak([entry('s1', 'v2', 'succeeded', t(0)), entry('s2', 'v3', 'succeeded', t(45))], t(600));
    expect(replaced.status).toBe('pass');
    expect(replaced.summary).toBe('v2 soaked in staging for 45 min (30 min asked).');
    // A soak of 0: having served at all is enough.
    expect(soak([entry('s1', 'v2', 'succeeded', t(0))], t(0), { settings: { durationMs: 0 } }).status).toBe('pass');
  });

  it('counts from the release’s last successful deploy there', () => {
    const history = [entry('s1', 'v2', 'succeeded', t(0)), entry('s2', 'v3', 'succeeded', t(60)), entry('s3', 'v2', 'succeeded', t(100))];
    const result = soak(history, t(110));
    expect(result.status).toBe('fail');
    expect(result.summary).toBe('v2 has soaked in staging for 10 min of the 30 min asked; 20 min to go.');
  });
});

describe('formatDuration', () => {
  it('says seconds under 2 minutes, minutes under 2 hours, then hours and minutes', () => {
    expect(formatDuration(0)).toBe('0 s');
    expect(formatDuration(12_000)).toBe('12 s');
    expect(formatDuration(119_999)).toBe('119 s');
    expect(formatDuration(120_000)).toBe('2 min');
    expect(formatDuration(47 * 60_000)).toBe('47 min');
    expect(formatDuration(119 * 60_000 + 59_999)).toBe('119 min');
    expect(formatDuration(125 * 60_000)).toBe('2 h 5 min');
    expect(formatDuration(30 * 86_400_000)).toBe('720 h 0 min');
  });

  it('says 0 s for a negative duration (a clock set back)', () => {
    expect(formatDuration(-5_000)).toBe('0 s');
  });
});
