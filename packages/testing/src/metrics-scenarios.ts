// Scenarios both adapters' metrics tests run, so Express and Fastify are held
// to the same behaviour. The app under test serves `GET /api/hang` (never
// answers) and `GET /api/slow` (answers 200 after ~400 ms), with
// `/metrics`, `/livez` and `/readyz` from Baton.
import { expect } from 'vitest';
import { fetchText, requestCounts, waitFor } from './index.js';

/** A Baton app listening on an ephemeral port. */
export interface RunningApp {
  url: string;
  /** Set when the metrics endpoint has a port of its own. */
  metricsPort?: number | undefined;
  /** A graceful shutdown (the whole budget), resolved once stopped. */
  close(reason: string): Promise<unknown>;
}

/** What the scenarios read of `@baton/metrics`' Metrics (kept structural: this package depends on none of Baton's). */
export interface RecordingMetrics {
  readonly inFlight: number;
  text(): Promise<string>;
}

/** A client that hangs up is recorded as 499, and counted in flight until then. */
export async function hangUpIsRecorded(app: RunningApp, metrics: RecordingMetrics): Promise<void> {
  const controller = new AbortController();
  const hung = fetch(`${app.url}/api/hang`, { signal: controller.signal }).catch(() => 'aborted');
  await waitFor(() => metrics.inFlight === 1);
  expect((await fetchText(`${app.url}/metrics`)).body).toContain('http_requests_in_flight 1');
  controller.abort();
  expect(await hung).toBe('aborted');
  await waitFor(() => metrics.inFlight === 0);
  expect(requestCounts(await metrics.text())).toEqual({ 'GET /api/hang 499': 1 });
}

/** With a propagation delay (≥ 300 ms), scrapes on the app port still answer, showing the drain. */
export async function scrapesDuringPropagation(app: RunningApp, metrics: RecordingMetrics): Promise<void> {
  const slow = fetchText(`${app.url}/api/slow`);
  await waitFor(() => metrics.inFlight === 1);
  const closed = app.close('test');
  await waitFor(async () => (await fetchText(`${app.url}/readyz`)).status === 503);
  const scraped = await fetchText(`${app.url}/metrics`);
  expect(scraped.status).toBe(200);
  expect(scraped.headers.connection).toBe('close');
  expect(scraped.body).toContain('baton_lifecycle_state{state="draining"} 1');
  expect(scraped.body).toContain('baton_shutdown_phase{phase="propagation"} 1');
  expect(scraped.body).toContain('http_requests_in_flight 1');
  expect((await slow).status).toBe(200);
  await closed;
  expect(requestCounts(await metrics.text())).toEqual({ 'GET /api/slow 200': 1 });
}

/**
 * With the endpoint on a port of its own behind `token` and no propagation
 * delay: the app port stops accepting at once, the metrics port answers
 * through the drain, and closes once stopped.
 */
export async function separatePortThroughDrain(app: RunningApp, metrics: RecordingMetrics, token: string): Promise<void> {
  expect(app.metricsPort).toBeGreaterThan(0);
  const metricsUrl = `http://127.0.0.1:${app.metricsPort}/metrics`;
  const auth = { headers: { authorization: `Bearer ${token}` } };
  expect((await fetchText(metricsUrl)).status).toBe(401);
  // Not on the app port.
  expect((await fetchText(`${app.url}/metrics`)).status).toBe(404);
  const slow = fetchText(`${app.url}/api/slow`);
  await waitFor(() => metrics.inFlight === 1);
  const closed = app.close('test');
  const refused = async (): Promise<boolean> =>
    fetchText(`${app.url}/livez`).then(
      () => false,
      (error: NodeJS.ErrnoException) => error.code === 'ECONNREFUSED',
    );
  await waitFor(refused);
  const during = await fetchText(metricsUrl, auth);
  expect(during.status).toBe(200);
  expect(during.body).toContain('baton_shutdown_phase{phase="drain"} 1');
  expect(during.body).toContain('http_requests_in_flight 1');
  expect((await slow).status).toBe(200);
  await closed;
  await expect(fetchText(metricsUrl, auth)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
}
