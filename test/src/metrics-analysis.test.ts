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

/**
 * A release under test, and how long its handler took for each /work request
 * (ms, measured in the handler itself): what the server really spent, which
 * on a busy machine is well above the sleep asked for.
 */
interface Release {
  url: string;
  handlerMs: number[];
}

/** Records, into `into`, the time from now until `response` has been sent. */
function timeResponse(response: NodeJS.EventEmitter, into: number[]): void {
  const started = performance.now();
  response.once('finish', () => into.push(performance.now() - started));
}

/** `/work/:kind?ms=N` sleeps N ms, then answers 500 for kind `fail`, else 200. */
async function expressRelease(release: string): Promise<Release> {
  const app = express();
  const handlerMs: number[] = [];
  const b = baton(app, { lifecycle: { release, shutdown: { propagationDelayMs: 0 } }, metrics: createMetrics() });
  app.get('/work/:kind', (req, res) => {
    timeResponse(res, handlerMs);
    setTimeout(() => res.status(req.params.kind === 'fail' ? 500 : 200).json({ release }), Number(req.query.ms ?? 0));
  });
  const listening = await b.listen({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => listening.close());
  return { url: listening.url, handlerMs };
}

async function fastifyRelease(release: string): Promise<Release> {
  const app = Fastify();
  const handlerMs: number[] = [];
  await app.register(batonPlugin, { lifecycle: { release, shutdown: { propagationDelayMs: 0 } }, metrics: createMetrics() });
  app.get<{ Params: { kind: string }; Querystring: { ms?: string } }>('/work/:kind', async (request, reply) => {
    timeResponse(reply.raw, handlerMs);
    await new Promise((resolve) => setTimeout(resolve, Number(request.query.ms ?? 0)));
    return reply.code(request.params.kind === 'fail' ? 500 : 200).send({ release });
  });
  const served = await serveFastify(app, { port: 0, host: '127.0.0.1', signals: false, exit: false });
  await served.ready;
  cleanups.push(async () => {
    await served.shutdown('test');
    await served.stopped;
  });
  return { url: served.url, handlerMs };
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
    const stableRelease = await startRelease('v1');
    const canaryRelease = await startRelease('v2');
    const stable = stableRelease.url;
    const canary = canaryRelease.url;
    // Sleeps well inside three buckets (15 ms, 70 ms, 300 ms), and no quantile
    // on the edge between two groups, so server overhead cannot move it:
    // v1: p50 15 ms, p90 70 ms, p99 300 ms; v2 (slower): p50 70 ms, p90 and p99 300 ms.
    const v1: Mix = { requests: 100, failures: 2, sleepsMs: [15, 15, 15, 15, 15, 15, 15, 70, 15, 15, 15, 15, 15, 15, 15, 70, 15, 15, 70, 300] };
    const v2: Mix = { requests: 60, failures: 12, sleepsMs: [15, 70, 15, 70, 300, 15, 70, 15, 70, 300] };
    const scrapeBoth = (): Promise<Snapshot[]> => Promise.all([scrape(`${stable}/metrics`), scrape(`${canary}/metrics`)]);

    // Traffic before the window is not counted in it.
    await send(stable, { requests: 10, failures: 5, sleepsMs: [0] });
    const before = await scrapeBoth();
    stableRelease.handlerMs.length = 0;
    const [sentV1, sentV2] = await Promise.all([send(stable, v1), send(canary, v2)]);
    const after = await scrapeBoth();

    const windows = compareSnapshots(before, after);
    expect([...windows.keys()].sort()).toEqual(['v1', 'v2']);
    const w1 = windows.get('v1');
    const w2 = windows.get('v2');
    expect(w1).toMatchObject({ requests: 100, errors: 2, errorRate: 0.02, latencyObservations: 100 });
    expect(w2).toMatchObject({ requests: 60, errors: 12, errorRate: 0.2, latencyObservations: 60 });
    expect(w1?.requestRate).toBeGreaterThan(0);

    // Bounds from what was sent (the sleeps: a floor) and from what the
    // handlers measured (the server's real time, which a busy machine pushes
    // buckets above the sleeps): never from how fast the machine is.
    for (const [window, sent, handled] of [
      [w1, sentV1, stableRelease.handlerMs],
      [w2, sentV2, canaryRelease.handlerMs],
    ] as const) {
      expect(handled).toHaveLength(sent.length);
      for (const [key, q] of [
        ['p50', 0.5],
        ['p90', 0.9],
        ['p99', 0.99],
      ] as const) {
        const estimate = window?.latency[key];
        const [low] = bucketOf(sent, q, BOUNDS);
        expect(estimate, `${window?.group} ${key}`).toBeGreaterThanOrEqual(low);
        // The metrics time a little more than the handler does (from before
        // routing to after the last byte): at most one bucket above the handler's.
        const [, high] = bucketOf(handled, q, BOUNDS);
        const next = BOUNDS[BOUNDS.indexOf(high) + 1] ?? high;
        expect(estimate, `${window?.group} ${key} (handler measured ${JSON.stringify(bucketOf(handled, q, BOUNDS))})`).toBeLessThanOrEqual(next);
      }
      // The mean is the server's sum / count: at least the mean sleep sent, and about what the handlers measured.
      const meanSent = sent.reduce((a, b) => a + b, 0) / sent.length / 1000;
      const meanHandled = handled.reduce((a, b) => a + b, 0) / handled.length / 1000;
      expect(window?.meanLatency).toBeGreaterThanOrEqual(meanSent);
      expect(window?.meanLatency).toBeLessThan(meanHandled + 0.05);
    }
    // The canary is visibly slower than the stable release where their sleeps
    // differ most (p90: 70 ms against 300 ms; p50's 15 against 70 ms can blur on a busy machine).
    expect(w2?.latency.p90).toBeGreaterThan(w1?.latency.p90 ?? Infinity);
    expect(histogramQuantile(0.5, [{ le: 0.1, count: 0 }])).toBeUndefined();
  });
});
