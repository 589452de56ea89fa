import { afterEach, describe, expect, it } from 'vitest';
import type { InstanceRecord, RouteVerdict, Verdict } from '../model.js';
import { createMetricsAnalysis } from './metrics-analysis.js';
import { closeInstances, drive, instance } from './metrics-instances.test.fixtures.js';

// The statistical judge (createMetricsAnalysis' default) on real instances:
// node:http servers recording real requests into Baton's metrics, scraped
// over HTTP. Each case is one a canary meets in production; where the
// threshold analysis gets it wrong, the same window is judged by both.

afterEach(closeInstances);

/** Both judges over one window: the same requests, scraped at the same moments. */
async function judgeBoth(instances: readonly InstanceRecord[], send: () => Promise<void>, thresholds = {}): Promise<{ statistics: Verdict; thresholds: Verdict }> {
  const statistics = createMetricsAnalysis({ thresholds });
  const threshold = createMetricsAnalysis({ method: 'thresholds', thresholds });
  const windows = [await statistics.begin(instances), await threshold.begin(instances)] as const;
  await send();
  const releases = { baseline: 'v1', candidate: 'v2' };
  return { statistics: await statistics.judge(windows[0], instances, releases), thresholds: await threshold.judge(windows[1], instances, releases) };
}

function route(verdict: Verdict, name: string): RouteVerdict {
  const found = verdict.routes?.find((candidate) => candidate.route === name);
  if (found === undefined) throw new Error(`no route ${name} in ${JSON.stringify(verdict.routes?.map((r) => r.route))}\n${verdict.reasons.join('\n')}`);
  return found;
}

const explain = (verdict: Verdict): string => verdict.reasons.join('\n');

describe('the statistical judge', () => {
  it('passes a healthy canary that got a different mix of routes, which the threshold analysis fails', async () => {
    // Same code on both sides: /fast answers at once, /slow takes ~150 ms, /flaky fails one request in ten.
    const routes = { '/fast': { delaysMs: [0, 1, 2] }, '/slow': { delaysMs: [140, 150, 160] }, '/flaky': { errorEvery: 10 } };
    const v1 = await instance('v1-1', 'v1', { routes });
    const v2 = await instance('v2-2', 'v2', { routes });
    const { statistics, thresholds } = await judgeBoth([v1, v2], () =>
      drive(
        [
          // The stable release got almost only fast requests; the canary many slow and flaky ones.
          { instance: v1, count: 400, path: '/fast' },
          { instance: v1, count: 2, path: '/slow' },
          { instance: v1, count: 60, path: '/flaky' },
          { instance: v2, count: 300, path: '/fast' },
          { instance: v2, count: 60, path: '/slow' },
          { instance: v2, count: 200, path: '/flaky' },
        ],
        40,
      ),
    );
    expect(thresholds.outcome, explain(thresholds)).toBe('fail');
    expect(statistics.outcome, explain(statistics)).toBe('pass');
    expect(statistics.method).toBe('statistics');
    expect(route(statistics, 'GET /fast')).toMatchObject({ outcome: 'pass', candidate: { requests: 300 }, baseline: { requests: 400 } });
    // 20 of 200 against 6 of 60: the same 10%.
    expect(route(statistics, 'GET /flaky')).toMatchObject({ outcome: 'pass', candidate: { errors: 20, requests: 200 }, baseline: { errors: 6, requests: 60 } });
    expect(route(statistics, 'GET /flaky').errors?.pValue).toBeGreaterThan(0.3);
    // Two requests of v1 to /slow: too few to judge, and said so.
    expect(route(statistics, 'GET /slow')).toMatchObject({ outcome: 'not-judged' });
    expect(route(statistics, 'GET /slow').summary).toMatch(/not judged, too few requests \(60 to v2, 2 to v1; 50 each are needed\)/);
    // The whole-release figures stay, and say why they mislead.
    expect(statistics.releases.v2).toMatchObject({ requests: 560, errors: 20 });
    expect(statistics.reasons.some((reason) => reason.startsWith('Whole release (every route together, so a different mix of routes moves these)'))).toBe(true);
  });

  it('fails a canary slower on one route only, and names it', async () => {
    const fast = { '/fast': { delaysMs: [0, 1, 2, 3] } };
    const v1 = await instance('v1-1', 'v1', { routes: { ...fast, '/items': { delaysMs: [10, 20, 30, 40] } } });
    const v2 = await instance('v2-2', 'v2', { routes: { ...fast, '/items': { delaysMs: [150, 200, 250, 300] } } });
    const { statistics } = await judgeBoth([v1, v2], () =>
      drive(
        [
          { instance: v1, count: 300, path: '/fast' },
          { instance: v2, count: 300, path: '/fast' },
          { instance: v1, count: 120, path: '/items' },
          { instance: v2, count: 120, path: '/items' },
        ],
        40,
      ),
    );
    expect(statistics.outcome, explain(statistics)).toBe('fail');
    const items = route(statistics, 'GET /items');
    expect(items.outcome).toBe('fail');
    expect(items.latency).toMatchObject({ method: 'mann-whitney u', failed: true, margin: 1.5 });
    expect(items.latency?.adjustedPValue).toBeLessThan(0.05);
    expect(statistics.reasons[0]).toBe(items.summary);
    expect(items.summary).toMatch(/^v2 fails GET \/items: no errors \(120 requests to v2, 120 to v1\); slower: p(50|90|99) \d+ ms against v1's \d+ ms \([\d.]+×, up to [\d.]+×; the margin is 1\.5× and \+50 ms\), beyond chance \(mann-whitney u p [<=] [\d.]+, p [<=] [\d.]+ after correcting for 2 tests\)\.$/);
    expect(route(statistics, 'GET /fast').outcome).toBe('pass');
  });

  it('fails a canary with one point more errors over 1,000 requests', async () => {
    const v1 = await instance('v1-1', 'v1', { routes: { '/fast': {} } });
    const v2 = await instance('v2-2', 'v2', { errorEvery: 100, routes: { '/fast': {} } });
    const { statistics, thresholds } = await judgeBoth([v1, v2], () =>
      drive(
        [
          { instance: v1, count: 1000 },
          { instance: v2, count: 1000 },
          { instance: v1, count: 300, path: '/fast' },
          { instance: v2, count: 300, path: '/fast' },
        ],
        40,
      ),
    );
    expect(statistics.outcome, explain(statistics)).toBe('fail');
    const work = route(statistics, 'GET /work');
    expect(work.errors).toMatchObject({ failed: true, margin: 0.01 });
    expect(work.errors?.effect).toBeCloseTo(0.01, 6);
    expect(work.errors?.adjustedPValue).toBeLessThan(0.01);
    expect(work.summary).toMatch(/more errors: 1\.0% \(10 of 1000\) against v1's 0\.0% \(0 of 1000\), \+1\.0 points \(up to \+[\d.]+ at 95% confidence; the margin is \+1\.0\), beyond chance \((fisher exact|two-proportion z) p = 0\.00\d+, p = 0\.0\d+ after correcting for 4 tests\)/);
    // Exactly one point more is within the threshold analysis' limit: it passes what the statistics catch.
    expect(thresholds.outcome, explain(thresholds)).toBe('pass');
  });

  it('passes a canary with a cold start when judged against a fresh baseline, not against warm instances', async () => {
    const cold = { requests: 60, extraMs: 150 };
    const warm = await instance('v1-1', 'v1', { coldStart: cold, delaysMs: [5, 10, 15] });
    // The warm instance has served for long: its cold start is behind it.
    await drive([{ instance: warm, count: 60 }], 20);
    const fresh = await instance('v1-b2', 'v1', { coldStart: cold, delaysMs: [5, 10, 15], role: 'baseline' });
    const v2 = await instance('v2-3', 'v2', { coldStart: cold, delaysMs: [5, 10, 15] });
    const send = (): Promise<void> =>
      drive(
        [
          { instance: warm, count: 200 },
          { instance: fresh, count: 200 },
          { instance: v2, count: 200 },
        ],
        40,
      );
    const { statistics: againstFresh } = await judgeBoth([warm, fresh, v2], send);
    expect(againstFresh.outcome, explain(againstFresh)).toBe('pass');
    expect(againstFresh.comparedWith).toEqual({ kind: 'fresh', release: 'v1', instances: ['v1-b2'] });
    expect(againstFresh.reasons.join(' ')).toContain('v2 was compared with a fresh baseline of v1 (v1-b2), started beside it, route by route');

    // The same cold start against the warm instance alone fails, and the verdict says what it compared with.
    const coldAgain = await instance('v2-4', 'v2', { coldStart: cold, delaysMs: [5, 10, 15] });
    const { statistics: againstWarm } = await judgeBoth([warm, coldAgain], () =>
      drive(
        [
          { instance: warm, count: 200 },
          { instance: coldAgain, count: 200 },
        ],
        40,
      ),
    );
    expect(againstWarm.comparedWith).toEqual({ kind: 'warm', release: 'v1', instances: ['v1-1'] });
    expect(againstWarm.reasons.join(' ')).toContain('the warm instances of v1 (v1-1), which have served for longer');
    expect(againstWarm.outcome, explain(againstWarm)).toBe('fail');
  });

  it('pools routes with few requests, and leaves a route only the canary serves out of the comparison', async () => {
    const routes = { '/a': {}, '/b': {}, '/c': {}, '/new': { errorEvery: 2 } };
    const v1 = await instance('v1-1', 'v1', { routes });
    const v2 = await instance('v2-2', 'v2', { routes });
    const { statistics } = await judgeBoth([v1, v2], () =>
      drive(
        ['/a', '/b', '/c'].flatMap((path) => [
          { instance: v1, count: 20, path },
          { instance: v2, count: 20, path },
        ]).concat([
          { instance: v1, count: 100, path: '/work' },
          { instance: v2, count: 100, path: '/work' },
          { instance: v2, count: 10, path: '/new' },
        ]),
        20,
      ),
    );
    expect(statistics.outcome, explain(statistics)).toBe('pass');
    expect(route(statistics, '(other routes)')).toMatchObject({ outcome: 'pass', pooled: ['GET /a', 'GET /b', 'GET /c'], candidate: { requests: 60 }, baseline: { requests: 60 } });
    expect(route(statistics, 'GET /new')).toMatchObject({ outcome: 'not-judged', candidate: { requests: 10, errors: 5 } });
    expect(route(statistics, 'GET /new').summary).toBe('GET /new: not compared, only v2 served it (5 errors in 10 requests).');
  });

  it("judges blue/green's green against what blue served before the switch", async () => {
    const routes = { '/items': { delaysMs: [10, 20, 30, 40] } };
    const blue = await instance('v1-1', 'v1', { routes });
    const green = await instance('v2-2', 'v2', { routes: { '/items': { delaysMs: [60, 80, 100, 120] } } });
    const analysis = createMetricsAnalysis();
    // Blue serves everything while green starts; at the switch its window closes.
    const before = await analysis.begin([blue]);
    await drive([{ instance: blue, count: 150, path: '/items' }], 20);
    await expect(analysis.judge(await analysis.begin([blue, green]), [blue, green], { baseline: 'v1', candidate: 'v2', baselineWindow: before })).rejects.toMatchObject({
      code: 'BATON_ERR_INVALID_OPTION',
      message: expect.stringContaining('`baselineWindow` must be a window closed by end() first'),
    });
    await analysis.end?.(before);
    // After the switch blue gets nothing; green everything.
    const after = await analysis.begin([blue, green]);
    await drive([{ instance: green, count: 150, path: '/items' }], 20);
    const verdict = await analysis.judge(after, [blue, green], { baseline: 'v1', candidate: 'v2', baselineWindow: before });
    expect(verdict.comparedWith).toEqual({ kind: 'before', release: 'v1', instances: ['v1-1'] });
    expect(verdict.outcome, explain(verdict)).toBe('fail');
    expect(route(verdict, 'GET /items')).toMatchObject({ outcome: 'fail', candidate: { requests: 150 }, baseline: { requests: 150 } });
    expect(verdict.reasons.join(' ')).toContain('v2 was compared with what v1 (v1-1) served before the switch, while v2 started');
  });

  it('holds the first deploy to the absolute limit, with its figures', async () => {
    const v1 = await instance('v1-1', 'v1', { errorEvery: 10 });
    const analysis = createMetricsAnalysis();
    const window = await analysis.begin([v1]);
    await drive([{ instance: v1, count: 100 }]);
    const verdict = await analysis.judge(window, [v1], { baseline: 'v1', candidate: 'v1' });
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons[0]).toBe('v1: 10.0% errors (10 of 100) over the whole release; the limit is 5.0%.');
    expect(verdict.comparedWith?.kind).toBe('none');
    expect(verdict.routes).toEqual([]);
  });

  it('rejects a bad method, confidence or route minimum, naming each', () => {
    let message = '';
    try {
      createMetricsAnalysis({ method: 'magic' as never, thresholds: { confidence: 1.2, minRouteRequests: 0 } });
    } catch (error) {
      message = (error as Error).message;
      expect(error).toMatchObject({ code: 'BATON_ERR_INVALID_OPTION' });
    }
    expect(message).toContain('`method` must be "statistics" or "thresholds"; got "magic"');
    expect(message).toContain('thresholds.confidence must be a probability from 0.5 to below 1 (0.95 = 95%); got 1.2');
    expect(message).toContain('thresholds.minRouteRequests must be a whole number of requests ≥ 1; got 0');
  });
});
