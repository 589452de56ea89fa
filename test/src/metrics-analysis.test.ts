import express from 'express';
import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { baton } from '@baton/express';
import { batonPlugin, serveFastify } from '@baton/fastify';
import { compareSnapshots, createMetrics, histogramQuantile, scrape, type Snapshot } from '@baton/metrics';

// Two releases of one service, each a real HTTP server with @baton/metrics,
// are sent a known mix of fast, slow and failing requests; the scraper reads
// both /metrics endpoints before and after, and the analysis must give back
// the request counts and error rates that were sent, and latency quantiles in
// the bucket where the sent latencies put them.

/** What one release is sent: how many requests, how many fail, and how long each takes. */
interface Mix {
  requests: number;
  failures: number;
  /** Server-side sleep of each request, in ms (cycled). */
  sleepsMs: readonly number[];
}

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

/** `/work/:kind?ms=N` sleeps N ms, then answers 500 for kind `fail`, else 200. */
async function expressRelease(release: string): Promise<string> {
  const app = express();
  const b = baton(app, { lifecycle: { release, shutdown: { propagationDelayMs: 0 } }, metrics: createMetrics() });
  app.get('/work/:kind', (req, res) => {
    setTimeout(() => res.status(req.params.kind === 'fail' ? 500 : 200).json({ release }), Number(req.query.ms ?? 0));
  });
  const listening = await b.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => listening.close());
  return listening.url;
}

async function fastifyRelease(release: string): Promise<string> {
  const app = Fastify();
  await app.register(batonPlugin, { lifecycle: { release, shutdown: { propagationDelayMs: 0 } }, metrics: createMetrics() });
  app.get<{ Params: { kind: string }; Querystring: { ms?: string } }>('/work/:kind', async (request, reply) => {
    await new Promise((resolve) => setTimeout(resolve, Number(request.query.ms ?? 0)));
    return reply.code(request.params.kind === 'fail' ? 500 : 200).send({ release });
  });
  const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit: false });
  await served.ready;
  cleanups.push(async () => {
    await served.shutdown('test');
    await served.stopped;
  });
  return served.url;
}

/** Sends the mix, 20 at a time; returns the sleeps actually sent. */
async function send(url: string, mix: Mix): Promise<number[]> {
  const sent: number[] = [];
  const jobs = Array.from({ length: mix.requests }, (_, index) => {
    const ms = mix.sleepsMs[index % mix.sleepsMs.length] as number;
    sent.push(ms);
    // Spread the failures through the run rather than bunching them.
    const fail = index % Math.round(mix.requests / mix.failures) === 0 && index / Math.round(mix.requests / mix.failures) < mix.failures;
    return `${url}/work/${fail ? 'fail' : 'ok'}?ms=${ms}`;
  });
  for (let start = 0; start < jobs.length; start += 20) {
    await Promise.all(jobs.slice(start, start + 20).map((job) => fetch(job).then((response) => response.arrayBuffer())));
  }
  return sent;
}

/** The bucket bounds around the sent latencies' q-quantile (the nearest-rank one), in seconds. */
function bucketOf(sentMs: readonly number[], q: number, bounds: readonly number[]): [number, number] {
  const sorted = [...sentMs].sort((a, b) => a - b);
  const value = (sorted[Math.ceil(q * sorted.length) - 1] as number) / 1000;
  const upper = bounds.findIndex((bound) => value <= bound);
  return [upper <= 0 ? 0 : (bounds[upper - 1] as number), bounds[upper] as number];
}

const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

describe.each([
  ['Express', expressRelease],
  ['Fastify', fastifyRelease],
])('canary numbers from real %s servers', (_name, startRelease) => {
  it('gives back the requests, error rates and latency quantiles that were sent, per release', async () => {
    const stable = await startRelease('v1');
    const canary = await startRelease('v2');
    // Sleeps well inside three buckets (15 ms, 70 ms, 300 ms), and no quantile
    // on the edge between two groups, so server overhead cannot move it:
    // v1: p50 15 ms, p90 70 ms, p99 300 ms; v2 (slower): p50 70 ms, p90 and p99 300 ms.
    const v1: Mix = { requests: 100, failures: 2, sleepsMs: [15, 15, 15, 15, 15, 15, 15, 70, 15, 15, 15, 15, 15, 15, 15, 70, 15, 15, 70, 300] };
    const v2: Mix = { requests: 60, failures: 12, sleepsMs: [15, 70, 15, 70, 300, 15, 70, 15, 70, 300] };
    const scrapeBoth = (): Promise<Snapshot[]> => Promise.all([scrape(`${stable}/metrics`), scrape(`${canary}/metrics`)]);

    // Traffic before the window is not counted in it.
    await send(stable, { requests: 10, failures: 5, sleepsMs: [0] });
    const before = await scrapeBoth();
    const [sentV1, sentV2] = await Promise.all([send(stable, v1), send(canary, v2)]);
    const after = await scrapeBoth();

    const windows = compareSnapshots(before, after);
    expect([...windows.keys()].sort()).toEqual(['v1', 'v2']);
    const w1 = windows.get('v1');
    const w2 = windows.get('v2');
    expect(w1).toMatchObject({ requests: 100, errors: 2, errorRate: 0.02, latencyObservations: 100 });
    expect(w2).toMatchObject({ requests: 60, errors: 12, errorRate: 0.2, latencyObservations: 60 });
    expect(w1?.requestRate).toBeGreaterThan(0);

    for (const [window, sent] of [
      [w1, sentV1],
      [w2, sentV2],
    ] as const) {
      for (const [key, q] of [
        ['p50', 0.5],
        ['p90', 0.9],
        ['p99', 0.99],
      ] as const) {
        const estimate = window?.latency[key];
        const [low, high] = bucketOf(sent, q, BOUNDS);
        expect(estimate, `${window?.group} ${key}`).toBeGreaterThanOrEqual(low);
        // Server time is a little above the sleep; the estimate may sit at most one bucket up.
        const next = BOUNDS[BOUNDS.indexOf(high) + 1] ?? high;
        expect(estimate, `${window?.group} ${key}`).toBeLessThanOrEqual(next);
      }
      // The mean is the server's sum / count: at least the mean sleep sent.
      const meanSent = sent.reduce((a, b) => a + b, 0) / sent.length / 1000;
      expect(window?.meanLatency).toBeGreaterThanOrEqual(meanSent);
      expect(window?.meanLatency).toBeLessThan(meanSent + 0.05);
    }
    // The canary is visibly slower than the stable release.
    expect(w2?.latency.p50).toBeGreaterThan(w1?.latency.p50 ?? Infinity);
    expect(w2?.latency.p90).toBeGreaterThan(w1?.latency.p90 ?? Infinity);
    expect(histogramQuantile(0.5, [{ le: 0.1, count: 0 }])).toBeUndefined();
  });
});
