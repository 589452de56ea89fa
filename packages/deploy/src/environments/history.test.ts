// An environment's history on a real directory: what `baton history`, the
// pipeline gate, the soak gate and `rollback --to` read. A deploy's end is
// recorded once, survives a line cut short by a crash, and stays private.
import { appendFileSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeployRecord } from '../service-state.js';
import { createHistory, historyEntryOf, servedSpan, type HistoryEntry } from './history.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'baton-history-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const DIGEST = `sha256:${'a'.repeat(64)}`;
const T0 = Date.UTC(2026, 11, 7, 12, 0);

function entry(id: string, release: string, outcome: HistoryEntry['outcome'], endedAtMs: number, extra: Partial<HistoryEntry> = {}): HistoryEntry {
  return { id, release, via: 'deploy', outcome, startedAtMs: endedAtMs - 60_000, endedAtMs, by: { user: 'ann', host: 'ci-3' }, ...extra };
}

describe('createHistory', () => {
  it('reads an environment without history as empty', async () => {
    expect(await createHistory(join(dir, 'env', 'staging')).read()).toEqual({ entries: [], unreadable: [] });
  });

  it('has the line on disk once append resolves, in <stateDir>/history.jsonl, creating the directory', async () => {
    const stateDir = join(dir, 'env', 'staging');
    const history = createHistory(stateDir);
    expect(history.file).toBe(join(stateDir, 'history.jsonl'));
    const first = entry('orders-1', 'v1', 'succeeded', T0);
    expect(await history.append(first)).toBe(true);
    // Read back by another reader, with nothing of the writer's in between.
    expect(readFileSync(join(stateDir, 'history.jsonl'), 'utf8')).toBe(`${JSON.stringify(first)}\n`);
  });

  it('ignores a second append of the same deploy: recording the end of a deploy twice is harmless', async () => {
    const history = createHistory(dir);
    const first = entry('orders-1', 'v1', 'succeeded', T0);
    expect(await history.append(first)).toBe(true);
    expect(await history.append({ ...first, outcome: 'failed', reason: 'a second writer' })).toBe(false);
    expect((await history.read()).entries).toEqual([first]);
    expect(readFileSync(history.file, 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('reads every entry oldest first', async () => {
    const history = createHistory(dir);
    const entries = [entry('orders-1', 'v1', 'succeeded', T0), entry('orders-2', 'v2', 'rolled-back', T0 + 1, { reason: 'error rate 12%' }), entry('orders-3', 'v2', 'refused', T0 + 2)];
    for (const one of entries) await history.append(one);
    expect((await history.read()).entries.map((one) => one.id)).toEqual(['orders-1', 'orders-2', 'orders-3']);
    expect((await history.read()).entries).toEqual(entries);
  });

  it('reports a line cut short by a crash in unreadable (file:line), and it hides nothing else', async () => {
    const history = createHistory(dir);
    await history.append(entry('orders-1', 'v1', 'succeeded', T0));
    appendFileSync(history.file, '{"id":"orders-2","release":"v2","outc');
    appendFileSync(history.file, `\n${JSON.stringify(entry('orders-3', 'v3', 'succeeded', T0 + 2))}\n`);
    appendFileSync(history.file, `${JSON.stringify({ hello: 'world' })}\n`);
    const { entries, unreadable } = await history.read();
    expect(entries.map((one) => one.id)).toEqual(['orders-1', 'orders-3']);
    expect(unreadable).toEqual([`${history.file}:2: not valid JSON (cut short?)`, `${history.file}:4: not a history entry`]);
  });

  it('keeps the next deploy readable after a crash cut the last line short', async () => {
    // What a crash mid-append leaves: a partial line with no newline. The next deploy's end must not be glued to it and lost.
    const history = createHistory(dir);
    await history.append(entry('orders-1', 'v1', 'succeeded', T0));
    appendFileSync(history.file, '{"id":"orders-2","release":"v2","outc');
    expect(await history.append(entry('orders-3', 'v3', 'succeeded', T0 + 2))).toBe(true);
    const { entries, unreadable } = await history.read();
    expect(entries.map((one) => one.id)).toEqual(['orders-1', 'orders-3']);
    expect(unreadable).toHaveLength(1);
  });

  it('writes the file 0600: it names who deployed what, and the release’s variables', async () => {
    const history = createHistory(join(dir, 'env', 'production'));
    await history.append(entry('orders-1', 'v1', 'succeeded', T0));
    expect(statSync(history.file).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'env', 'production')).mode & 0o777).toBe(0o700);
  });

  it('says which file it cannot read, other than a missing one', async () => {
    const stateDir = join(dir, 'env', 'staging');
    mkdirSync(join(stateDir, 'history.jsonl'), { recursive: true });
    await expect(createHistory(stateDir).read()).rejects.toMatchObject({ code: 'BATON_ERR_JOURNAL', message: expect.stringContaining(`The history ${join(stateDir, 'history.jsonl')} cannot be read`) });
  });

  it('skips blank lines without reporting them', async () => {
    const history = createHistory(dir);
    writeFileSync(history.file, `\n${JSON.stringify(entry('orders-1', 'v1', 'succeeded', T0))}\n\n  \n`);
    expect(await history.read()).toEqual({ entries: [entry('orders-1', 'v1', 'succeeded', T0)], unreadable: [] });
  });
});

function record(phase: DeployRecord['phase'], extra: Partial<DeployRecord> = {}): DeployRecord {
  return {
    id: 'orders-20261207-1',
    from: 'v1',
    to: 'v2',
    candidate: { version: 'v2', command: 'node', args: ['main.js'], artifact: { kind: 'bundle', digest: DIGEST, source: '/srv/orders', location: '/srv/orders/.baton/orders/artifacts/x', sizeBytes: 1234 } },
    strategy: { type: 'rolling', maxSurge: 1, maxUnavailable: 0 },
    steps: [],
    stepIndex: 0,
    traffic: 'even',
    phase,
    startedAtMs: T0,
    ...extra,
  };
}

describe('historyEntryOf', () => {
  it('records a succeeded deploy: release, from, artifact (kind, digest, source), who, when, the spec as journaled — and no reason', () => {
    const deploy = record('succeeded', { endedAtMs: T0 + 90_000, by: { user: 'ann', host: 'ci-3' }, via: 'promote', promotedFrom: 'staging', reason: 'stale pause reason', analyses: { pass: 3, fail: 0, inconclusive: 1 }, gates: [{ gate: 'approval', status: 'pass', summary: 'ok', evidence: [] }] });
    expect(historyEntryOf(deploy, 'production')).toEqual({
      id: 'orders-20261207-1',
      environment: 'production',
      release: 'v2',
      from: 'v1',
      artifact: { kind: 'bundle', digest: DIGEST, source: '/srv/orders' },
      via: 'promote',
      promotedFrom: 'staging',
      outcome: 'succeeded',
      startedAtMs: T0,
      endedAtMs: T0 + 90_000,
      by: { user: 'ann', host: 'ci-3' },
      gates: [{ gate: 'approval', status: 'pass', summary: 'ok', evidence: [] }],
      analyses: { pass: 3, fail: 0, inconclusive: 1 },
      spec: deploy.candidate,
    });
  });

  it('records a rolled-back deploy with its reason', () => {
    const entry = historyEntryOf(record('rolled-back', { reason: 'error rate 12% > 5%', endedAtMs: T0 + 5_000 }), 'staging');
    expect(entry).toMatchObject({ outcome: 'rolled-back', reason: 'error rate 12% > 5%', environment: 'staging', via: 'deploy' });
  });

  it('records a failed deploy with its reason; who ran it unknown and its end its start when the journal did not say', () => {
    const entry = historyEntryOf(record('failed', { reason: 'v2-1 never became ready' }), undefined);
    expect(entry).toMatchObject({ outcome: 'failed', reason: 'v2-1 never became ready', endedAtMs: T0, by: { user: 'unknown', host: 'unknown' }, via: 'deploy' });
    expect(entry).not.toHaveProperty('environment');
  });

  it('records nothing of an open deploy', () => {
    for (const phase of ['running', 'paused', 'rolling-back'] as const) expect(historyEntryOf(record(phase), 'staging')).toBeUndefined();
  });

  it('records a first deploy (nothing before it) and an unpinned release without from or artifact', () => {
    const { from: _from, ...first } = record('succeeded');
    const entry = historyEntryOf({ ...first, candidate: { version: 'v2', command: 'node' } }, 'staging');
    expect(entry).not.toHaveProperty('from');
    expect(entry).not.toHaveProperty('artifact');
  });
});

describe('servedSpan', () => {
  const t = (minutes: number): number => T0 + minutes * 60_000;

  it('counts from the end of the last successful deploy while the release still serves', () => {
    const entries = [entry('d1', 'v1', 'succeeded', t(0)), entry('d2', 'v2', 'succeeded', t(10)), entry('d3', 'v3', 'failed', t(20)), entry('d4', 'v3', 'refused', t(30))];
    const span = servedSpan(entries, 'v2');
    expect(span).toEqual({ entry: entries[1], sinceMs: t(10) });
  });

  it('ends when a later release succeeded there', () => {
    const entries = [entry('d1', 'v1', 'succeeded', t(0)), entry('d2', 'v2', 'rolled-back', t(5)), entry('d3', 'v3', 'succeeded', t(30))];
    expect(servedSpan(entries, 'v1')).toEqual({ entry: entries[0], sinceMs: t(0), untilMs: t(30), endedBy: entries[2] });
  });

  it('ends when a rollback took the environment away from it', () => {
    const entries = [entry('d1', 'v1', 'succeeded', t(0)), entry('d2', 'v2', 'succeeded', t(10)), entry('d3', 'v1', 'succeeded', t(25), { via: 'rollback', from: 'v2' })];
    expect(servedSpan(entries, 'v2')).toEqual({ entry: entries[1], sinceMs: t(10), untilMs: t(25), endedBy: entries[2] });
    // And the release rolled back to serves again from then.
    expect(servedSpan(entries, 'v1')).toEqual({ entry: entries[2], sinceMs: t(25) });
  });

  it('takes the last time it was deployed, when it was deployed twice', () => {
    const entries = [entry('d1', 'v2', 'succeeded', t(0)), entry('d2', 'v3', 'succeeded', t(10)), entry('d3', 'v2', 'succeeded', t(20))];
    expect(servedSpan(entries, 'v2')).toEqual({ entry: entries[2], sinceMs: t(20) });
  });

  it('is undefined for a release that never succeeded there', () => {
    const entries = [entry('d1', 'v1', 'succeeded', t(0)), entry('d2', 'v2', 'rolled-back', t(5)), entry('d3', 'v2', 'failed', t(6)), entry('d4', 'v2', 'refused', t(7))];
    expect(servedSpan(entries, 'v2')).toBeUndefined();
    expect(servedSpan([], 'v2')).toBeUndefined();
  });
});
