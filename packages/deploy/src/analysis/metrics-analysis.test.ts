import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { waitFor } from '@baton/testing';
import { afterEach, describe, expect, it } from 'vitest';
import type { InstanceRecord, Verdict } from '../model.js';
import { createMetricsAnalysis } from './metrics-analysis.js';
import { closeInstances, drive, instance, killLastInstance, trackServer } from './metrics-instances.test.fixtures.js';

// Today's threshold analysis (method: 'thresholds') on real instances; the
// statistical judge has its own tests (statistical-verdict.test.ts).

afterEach(closeInstances);

describe('createMetricsAnalysis', () => {
  it('passes a candidate that serves like the baseline, and leaves probe requests out', async () => {
    const v1a = await instance('v1-1', 'v1', { token: 's3cret' });
    const v1b = await instance('v1-2', 'v1', { token: 's3cret' });
    const v2 = await instance('v2-3', 'v2', { token: 's3cret', failingProbe: true });
    const all = [v1a, v1b, v2];
    const analysis = createMetricsAnalysis({ method: 'thresholds', token: 's3cret' });
    // Traffic before the window does not count.
    await drive([{ instance: v2, count: 20 }]);
    const window = await analysis.begin(all);
    await drive([
      { instance: v1a, count: 200 },
      { instance: v1b, count: 200 },
      { instance: v2, count: 400 },
      // A draining instance answering its readiness probes with 503: no user saw those.
      { instance: v2, count: 50, path: '/readyz' },
    ]);
    const verdict = await analysis.judge(window, all, { baseline: 'v1', candidate: 'v2' });
    expect(verdict.outcome, verdict.reasons.join('\n')).toBe('pass');
    expect(verdict.releases.v2).toMatchObject({ requests: 400, errors: 0, errorRate: 0 });
    expect(verdict.releases.v1).toMatchObject({ requests: 400, errors: 0 });
    expect(verdict.releases.v2?.requestRate).toBeGreaterThan(0);
    expect(verdict.releases.v2?.latency).toBeGreaterThan(0);
    expect(verdict.reasons.join(' ')).toContain("v2: 0.0% errors (0 of 400) against v1's 0.0% (0 of 400); the limit is +1.0 points");
    expect(verdict.atMs).toBeGreaterThanOrEqual(window.startedAtMs);
  });

  it('fails a candidate whose error rate is over the limit, with the figures', async () => {
    const v1 = await instance('v1-1', 'v1');
    const v2 = await instance('v2-2', 'v2', { errorEvery: 5 });
    const analysis = createMetricsAnalysis({ method: 'thresholds' });
    const window = await analysis.begin([v1, v2]);
    await drive([
      { instance: v1, count: 300 },
      { instance: v2, count: 400 },
    ]);
    const verdict = await analysis.judge(window, [v1, v2], { baseline: 'v1', candidate: 'v2' });
    expect(verdict.outcome).toBe('fail');
    expect(verdict.releases.v2).toMatchObject({ requests: 400, errors: 80, errorRate: 0.2 });
    expect(verdict.reasons[0]).toBe('v2: 20.0% errors (80 of 400); the limit is 5.0%.');
    expect(verdict.reasons).toContain("v2: 20.0% errors (80 of 400) against v1's 0.0% (0 of 300); the limit is +1.0 points.");
  });

  it('fails a candidate whose errors rose more than allowed over the baseline, though under the absolute limit', async () => {
    const v1 = await instance('v1-1', 'v1');
    const v2 = await instance('v2-2', 'v2', { errorEvery: 25 });
    const analysis = createMetricsAnalysis({ method: 'thresholds' });
    const window = await analysis.begin([v1, v2]);
    await drive([
      { instance: v1, count: 200 },
      { instance: v2, count: 200 },
    ]);
    const verdict = await analysis.judge(window, [v1, v2], { baseline: 'v1', candidate: 'v2' });
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons).toEqual(["v2: 4.0% errors (8 of 200) against v1's 0.0% (0 of 200); the limit is +1.0 points."].concat(verdict.reasons.slice(1)));
  });

  it('fails a candidate slower than the latency ratio allows', async () => {
    const v1 = await instance('v1-1', 'v1');
    const v2 = await instance('v2-2', 'v2', { delayMs: 300 });
    const analysis = createMetricsAnalysis({ method: 'thresholds' });
    const window = await analysis.begin([v1, v2]);
    await drive(
      [
        { instance: v1, count: 100 },
        { instance: v2, count: 100 },
      ],
      25,
    );
    const verdict = await analysis.judge(window, [v1, v2], { baseline: 'v1', candidate: 'v2' });
    expect(verdict.outcome, verdict.reasons.join('\n')).toBe('fail');
    expect(verdict.releases.v2?.latency).toBeGreaterThan(0.25);
    expect(verdict.reasons[0]).toMatch(/^v2: p99 latency \d+ ms against v1's [\d.]+ ms; the limit is 1\.5× and \+50 ms \([\d.]+ ms(, v1's latency counted as the 10 ms floor)?\)\.$/);
    expect(verdict.releases.v2?.errors).toBe(0);
  });

  it('is inconclusive when the candidate got no traffic, too little, or has no instance', async () => {
    const v1 = await instance('v1-1', 'v1');
    const v2 = await instance('v2-2', 'v2');
    const analysis = createMetricsAnalysis({ method: 'thresholds' });

    let window = await analysis.begin([v1, v2]);
    await drive([{ instance: v1, count: 100 }]);
    let verdict = await analysis.judge(window, [v1, v2], { baseline: 'v1', candidate: 'v2' });
    expect(verdict.outcome).toBe('inconclusive');
    expect(verdict.reasons[0]).toMatch(/^v2 got no requests in the [\d.]+ s window; 50 are needed \(minRequests\)\.$/);

    window = await analysis.begin([v1, v2]);
    await drive([
      { instance: v1, count: 100 },
      { instance: v2, count: 12 },
    ]);
    verdict = await analysis.judge(window, [v1, v2], { baseline: 'v1', candidate: 'v2' });
    expect(verdict.outcome).toBe('inconclusive');
    expect(verdict.reasons[0]).toMatch(/^v2 got 12 requests in the [\d.]+ s window, fewer than the 50 needed \(minRequests\)\.$/);
    expect(verdict.releases.v2).toMatchObject({ requests: 12 });

    window = await analysis.begin([v1]);
    verdict = await analysis.judge(window, [v1], { baseline: 'v1', candidate: 'v2' });
    expect(verdict.outcome).toBe('inconclusive');
    expect(verdict.reasons[0]).toBe('v2 has no ready instance to judge.');
  });

  it('says when the candidate counts requests under another release label', async () => {
    const v1 = await instance('v1-1', 'v1');
    const v2 = await instance('v2-2', 'v2', { label: '' });
    const analysis = createMetricsAnalysis({ method: 'thresholds' });
    const window = await analysis.begin([v1, v2]);
    await drive([
      { instance: v1, count: 60 },
      { instance: v2, count: 60 },
    ]);
    const verdict = await analysis.judge(window, [v1, v2], { baseline: 'v1', candidate: 'v2' });
    expect(verdict.outcome).toBe('inconclusive');
    expect(verdict.reasons[0]).toContain('the metrics of v2-2 count requests but none labelled release="v2"');
  });

  it('reports an instance whose scrape fails, by name, without throwing', async () => {
    const v1 = await instance('v1-1', 'v1');
    const v2a = await instance('v2-2', 'v2');
    const v2b = await instance('v2-3', 'v2');
    const analysis = createMetricsAnalysis({ method: 'thresholds', scrapeTimeoutMs: 2000 });
    const window = await analysis.begin([v1, v2a, v2b]);
    await drive([
      { instance: v1, count: 100 },
      { instance: v2a, count: 100 },
      { instance: v2b, count: 100 },
    ]);
    // v2-3 dies before the end of the window.
    await killLastInstance();
    const verdict = await analysis.judge(window, [v1, v2a, v2b], { baseline: 'v1', candidate: 'v2' });
    expect(verdict.outcome).toBe('inconclusive');
    expect(verdict.reasons[0]).toBe('1 of 2 instances of v2 could not be counted, so its figures are incomplete.');
    expect(verdict.reasons.find((reason) => reason.startsWith('v2-3 (v2) could not be scraped at the end of the window:'))).toContain(`${v2b.url}/metrics`);
    expect(verdict.releases.v2).toMatchObject({ requests: 100 });
  });

  it('says once, for every instance, that a service serves no metrics (404), and what analysis needs', async () => {
    // Services not served through Baton: an app that answers 404 for what it does not know.
    const plain = async (id: string, release: string): Promise<InstanceRecord> => {
      const server = createServer((request, response) => {
        response.statusCode = request.url === '/metrics' ? 404 : 200;
        response.end(request.url === '/metrics' ? '<!DOCTYPE html><pre>Cannot GET /metrics</pre>' : 'ok');
      });
      trackServer(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const { port } = server.address() as AddressInfo;
      return { id, release, host: '127.0.0.1', port, url: `http://127.0.0.1:${port}`, startedAtMs: Date.now() };
    };
    const instances = [await plain('v1-1', 'v1'), await plain('v1-2', 'v1'), await plain('v2-3', 'v2')];
    const analysis = createMetricsAnalysis({ method: 'thresholds' });
    const window = await analysis.begin(instances);
    const verdict = await analysis.judge(window, instances, { baseline: 'v1', candidate: 'v2' });
    expect(verdict.outcome).toBe('inconclusive');
    const scrapes = verdict.reasons.filter((reason) => reason.includes('could not be scraped'));
    expect(scrapes).toHaveLength(1);
    expect(scrapes[0]).toMatch(/^v1-1 \(v1\), v1-2 \(v1\) and v2-3 \(v2\) could not be scraped at the end of the window: scraping <instance>\/metrics failed: HTTP 404/);
    expect(verdict.reasons).toContain(
      '/metrics answered 404: analysis judges releases by the RED metrics a Baton service serves there (@baton/express or @baton/fastify with @baton/metrics; paths.metrics for another path). A service without them cannot be analysed: deploy it without analysis steps (and without strategy.analysisMs).',
    );
    // Not counted is not "no requests".
    expect(verdict.reasons.some((reason) => reason.includes('got no requests'))).toBe(false);
  });

  it('judges against the absolute limits alone when there is no baseline', async () => {
    const v1 = await instance('v1-1', 'v1');
    const analysis = createMetricsAnalysis({ method: 'thresholds' });
    const window = await analysis.begin([v1]);
    await drive([{ instance: v1, count: 60 }]);
    const verdict = await analysis.judge(window, [v1], { baseline: 'v1', candidate: 'v1' });
    expect(verdict.outcome).toBe('pass');
    expect(verdict.reasons).toEqual(['There is no baseline to compare v1 with: only the absolute limits apply.', 'v1: 0.0% errors (0 of 60), within the limit of 5.0%.']);
  });

  it('counts an instance that started during the window from zero', async () => {
    const v1 = await instance('v1-1', 'v1');
    const analysis = createMetricsAnalysis({ method: 'thresholds' });
    const window = await analysis.begin([v1]);
    const v2 = await instance('v2-2', 'v2');
    await drive([
      { instance: v1, count: 60 },
      { instance: v2, count: 60 },
    ]);
    // The server counts a request when its response has finished, which the client may see first:
    // judged again until the count is in (a wrong count never converges, and the wait fails).
    let verdict: Verdict | undefined;
    await waitFor(
      async () => {
        verdict = await analysis.judge(window, [v1, v2], { baseline: 'v1', candidate: 'v2' });
        return verdict.releases.v2?.requests === 60;
      },
      10_000,
      'v2 counted from zero: 60 requests',
    );
    expect(verdict?.releases.v2).toMatchObject({ requests: 60 });
  });

  it('rejects bad thresholds and options with every problem named, and a window it did not open', async () => {
    const bad = () =>
      createMetricsAnalysis({ thresholds: { maxErrorRate: 5, minRequests: 0, latencyQuantile: -1, maxLatencyRatio: Number.NaN }, metricsPath: 'metrics', scrapeTimeoutMs: 0 });
    expect(bad).toThrow(expect.objectContaining({ code: 'BATON_ERR_INVALID_OPTION' }));
    const message = (() => {
      try {
        bad();
      } catch (error) {
        return (error as Error).message;
      }
      return '';
    })();
    for (const name of ['thresholds.maxErrorRate', 'thresholds.minRequests', 'thresholds.latencyQuantile', 'thresholds.maxLatencyRatio', 'metricsPath', 'scrapeTimeoutMs']) {
      expect(message).toContain(name);
    }
    expect(() => createMetricsAnalysis({ filter: 'no' as never })).toThrow(expect.objectContaining({ message: expect.stringContaining('filter') }));
    const analysis = createMetricsAnalysis({ method: 'thresholds' });
    await expect(analysis.judge({ startedAtMs: 0 }, [], { baseline: 'v1', candidate: 'v2' })).rejects.toMatchObject({
      code: 'BATON_ERR_INVALID_OPTION',
      message: expect.stringContaining('begin()'),
    });
    const window = await analysis.begin([]);
    await expect(analysis.judge(window, [], { baseline: '', candidate: 'v2' })).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION' });
    await expect(analysis.begin([{ id: 'x' } as never])).rejects.toMatchObject({ code: 'BATON_ERR_INVALID_OPTION' });
  });
});
