import { afterEach, describe, expect, it } from 'vitest';
import { fetchText, waitFor } from '../index.js';
import type { KeepAliveLoadReport } from './keep-alive-load.js';
import { OneConnectionClient, type NumberedAnswer } from './one-connection-client.js';
import { addBackend, routerFromProvider, RouterFixture, spread, statusOf, untilBackends, type MakeRouter } from './router-fixture.js';
import type { ConformanceBackendStatus, ConformanceRouterProvider, ConformanceRouterSettings } from './shapes.js';

/** Options of {@link routerConformance}. */
export interface RouterConformanceOptions {
  /** The code a refused call (remove while in flight, set of an unknown id) rejects with. Default `BATON_ERR_ROUTER`. */
  errorCode?: string;
  /** Settings a provider's router is started with, over the deploy config's defaults. */
  settings?: Partial<Omit<ConformanceRouterSettings, 'dir'>>;
  /** Bound on a dead backend being reported `down`, and on in-flight counts being reported. Default 20 000 ms. */
  reportTimeoutMs?: number;
  /**
   * Whether the router has `setKeepAlive` (default true: checked to work). A
   * router declared without it is checked to have none, so the declaration
   * stays true: Baton refuses a DNS switch over such a router.
   */
  keepAlive?: boolean;
}

/** Bound on a case with load in it: the load itself is bounded well below. */
const LOAD_CASE_MS = 180_000;
const CASE_MS = 60_000;
/** Another loopback address (Linux routes all of 127.0.0.0/8 to the loopback). */
const OTHER_HOST = '127.0.0.2';
/** Eight keep-alive connections; two carry slow requests (80 and 400 ms), so a drain finds requests in flight and remove must wait for them. */
const LOAD_MIXES = [['/'], ['/'], ['/'], ['/slow?ms=80'], ['/'], ['/'], ['/'], ['/slow?ms=400']];

/**
 * The behaviour every Baton router must show, as a vitest suite: call it at
 * the top level of a test file in the router's package. Each case starts the
 * router in a fresh directory, real node:http backends on 127.0.0.1 (port 0)
 * in the test process, and counts every request a client sent: one that did
 * not get a complete 2xx answer is a failure.
 *
 * `subject` is the package's `routerProvider` (started with the deploy
 * config's defaults, reconnected with `connect(dir)`, stopped with
 * `stop(dir)`; skipped in one printed line when `unavailable()` says why),
 * or a function that starts the router in a given directory.
 *
 * Backends answer their id on any path, `/slow?ms=N` after N ms, `/hold`
 * when the case lets it go, `/readyz` for health checks and `/metrics` with
 * `http_requests_in_flight` for routers that learn in-flight counts from the
 * instances.
 *
 * The cases: a backend added is in `maint` and gets no traffic; weights
 * split traffic within a stated tolerance; `set` of an unknown id rejects;
 * `drain` stops new requests while one in flight finishes with 200; `remove`
 * refuses a ready backend or one with a request in flight, and succeeds
 * after; a backend whose process died is reported `health: 'down'` while
 * the others answer every request; a second connection sees the same
 * backends, states and weights and moves traffic; a router started on
 * another loopback address (`host: '127.0.0.2'`, provider subjects only)
 * answers there and keeps its URL through a restart; keep-alive switched
 * off and on again (routers declared without `setKeepAlive` are checked to have none):
 * answers say `Connection: close` and a keep-alive client reconnects for
 * each request, none failing, and the setting outlives a restart; and 0
 * failed requests under keep-alive load through three rounds of a rolling
 * replacement and through a canary weight ramp.
 *
 * @example
 * // packages/router-nginx/src/conformance.test.ts
 * import { routerConformance } from '@baton/testing/conformance';
 * import { routerProvider } from './router-provider.js';
 *
 * routerConformance('nginx', routerProvider);
 *
 * @example
 * // A router with settings of its own: a function that starts it in the given directory.
 * routerConformance('nginx, 4 workers', async (dir) => {
 *   const router = await startNginxRouter({ stateDir: dir, workers: 4 });
 *   return { router, connectAgain: () => connectNginxRouter({ stateDir: dir }), stop: () => stopNginxRouter({ stateDir: dir }) };
 * });
 */
export function routerConformance(name: string, subject: ConformanceRouterProvider | MakeRouter, options: RouterConformanceOptions = {}): void {
  const errorCode = options.errorCode ?? 'BATON_ERR_ROUTER';
  const reportTimeoutMs = options.reportTimeoutMs ?? 20_000;
  const unavailable = typeof subject === 'function' ? undefined : subject.unavailable?.();
  if (unavailable !== undefined) console.log(`router conformance: skipping ${name}: ${unavailable}`);
  const makeRouter = typeof subject === 'function' ? subject : routerFromProvider(subject, options.settings);

  describe.skipIf(unavailable !== undefined)(`router conformance: ${name}`, () => {
    let fixture = new RouterFixture(makeRouter);
    // Its own bound: a router's stop may take its whole grace period, longer than a package's default hook timeout.
    afterEach(async () => {
      await fixture.cleanUp();
      fixture = new RouterFixture(makeRouter);
    }, CASE_MS);

    it('a backend added is in maint and gets no traffic (and adding it again changes nothing)', async () => {
      const router = await fixture.start();
      const [a, b] = [await fixture.backend('a'), await fixture.backend('b')];
      await addBackend(router, a);
      await router.set([{ id: 'a', state: 'ready', weight: 1 }]);
      await addBackend(router, b);
      await addBackend(router, b);
      const listed = await router.backends();
      expect(listed.filter((backend) => backend.id === 'b')).toHaveLength(1);
      expect(await statusOf(router, 'b')).toMatchObject({ id: 'b', release: 'v1', host: '127.0.0.1', port: b.port, state: 'maint' });
      expect(await statusOf(router, 'a')).toMatchObject({ state: 'ready', weight: 1 });

      const report = await spread(router.url, 200);
      expectNoFailures(report);
      expect(report.bodies).toEqual({ a: 200 });
      expect(b.hits()).toBe(0);
    }, CASE_MS);

    it('weights 1:3 split traffic 25% / 75%, within 5 points, over 1200 keep-alive requests', async () => {
      const router = await fixture.start();
      const [a, b] = [await fixture.backend('a'), await fixture.backend('b')];
      await addBackend(router, a);
      await addBackend(router, b);
      await router.set([
        { id: 'a', state: 'ready', weight: 1 },
        { id: 'b', state: 'ready', weight: 3 },
      ]);
      expect(await statusOf(router, 'a')).toMatchObject({ state: 'ready', weight: 1 });
      expect(await statusOf(router, 'b')).toMatchObject({ state: 'ready', weight: 3 });

      const report = await spread(router.url, 1200, 8);
      expectNoFailures(report);
      const share = (report.bodies.b ?? 0) / report.ok;
      expect(report.ok).toBe(1200);
      expect(share, `b's share of ${JSON.stringify(report.bodies)}`).toBeGreaterThanOrEqual(0.7);
      expect(share, `b's share of ${JSON.stringify(report.bodies)}`).toBeLessThanOrEqual(0.8);
    }, CASE_MS);

    it('set rejects an unknown backend id; remove of an unknown id is a no-op', async () => {
      const router = await fixture.start();
      await expect(router.set([{ id: 'nobody', state: 'ready', weight: 1 }])).rejects.toMatchObject({ code: errorCode });
      await router.remove('nobody');
      expect(await router.backends()).toEqual([]);
    }, CASE_MS);

    it('drain stops new requests to a backend while a slow request already on it finishes with 200', async () => {
      const router = await fixture.start();
      const [a, b] = [await fixture.backend('a'), await fixture.backend('b')];
      await addBackend(router, a);
      await addBackend(router, b);
      await router.set([{ id: 'b', state: 'ready', weight: 1 }]);
      const slow = fetchText(`${router.url}/hold`);
      // Awaited below; should the case fail first, its error at clean-up is no unhandled rejection.
      slow.catch(() => {});
      await waitFor(() => b.inFlight() === 1, 10_000, 'the slow request to reach b');

      await router.set([
        { id: 'a', state: 'ready', weight: 1 },
        { id: 'b', state: 'drain' },
      ]);
      await untilBackends(router, (all) => all.b?.state === 'drain' && all.b.inFlight === 1, reportTimeoutMs, 'b in drain with 1 request in flight');
      const hitsAtDrain = b.hits();
      const report = await spread(router.url, 100);
      expectNoFailures(report);
      expect(report.bodies).toEqual({ a: 100 });
      expect(b.hits()).toBe(hitsAtDrain);

      b.releaseHeld();
      expect(await slow).toMatchObject({ status: 200, body: 'b' });
      await untilBackends(router, (all) => all.b?.inFlight === 0, reportTimeoutMs, 'b with nothing in flight');
    }, CASE_MS);

    it('remove refuses a ready backend and one with a request in flight, and succeeds once it finished', async () => {
      const router = await fixture.start();
      const [a, b] = [await fixture.backend('a'), await fixture.backend('b')];
      await addBackend(router, a);
      await addBackend(router, b);
      await router.set([{ id: 'b', state: 'ready', weight: 1 }]);
      await expect(router.remove('b'), 'remove of a ready backend').rejects.toMatchObject({ code: errorCode });

      const slow = fetchText(`${router.url}/hold`);
      // Awaited below; should the case fail first, its error at clean-up is no unhandled rejection.
      slow.catch(() => {});
      await waitFor(() => b.inFlight() === 1, 10_000, 'the slow request to reach b');
      await router.set([
        { id: 'a', state: 'ready', weight: 1 },
        { id: 'b', state: 'drain' },
      ]);
      await untilBackends(router, (all) => all.b?.inFlight === 1, reportTimeoutMs, 'b with 1 request in flight');
      await expect(router.remove('b'), 'remove with a request in flight').rejects.toMatchObject({ code: errorCode });
      expect(await statusOf(router, 'b')).toMatchObject({ state: 'drain' });

      b.releaseHeld();
      expect(await slow).toMatchObject({ status: 200, body: 'b' });
      await untilBackends(router, (all) => all.b?.inFlight === 0, reportTimeoutMs, 'b with nothing in flight');
      await router.remove('b');
      expect((await router.backends()).map((backend) => backend.id)).toEqual(['a']);
      const report = await spread(router.url, 50);
      expectNoFailures(report);
      expect(report.bodies).toEqual({ a: 50 });
    }, CASE_MS);

    it(`a backend whose process died is reported down within ${reportTimeoutMs} ms, and every request meanwhile is answered by the others`, async () => {
      const router = await fixture.start();
      const [a, b] = [await fixture.backend('a'), await fixture.backend('b')];
      await addBackend(router, a);
      await addBackend(router, b);
      await router.set([
        { id: 'a', state: 'ready', weight: 1 },
        { id: 'b', state: 'ready', weight: 1 },
      ]);
      const warmUp = await spread(router.url, 40);
      expectNoFailures(warmUp);
      await untilBackends(router, (all) => all.a?.health === 'up' && all.b?.health === 'up', reportTimeoutMs, 'both backends reported up');

      // Killed with nothing in flight: no request reached it, so none may fail.
      await b.kill();
      const load = fixture.load({ url: router.url, connections: 2, maxRequests: 50_000, maxDurationMs: reportTimeoutMs + 20_000 });
      await untilBackends(router, (all) => all.b?.health === 'down', reportTimeoutMs, 'b reported down');
      const reportedAt = load.finished();
      await load.waitUntil(() => load.finished() >= reportedAt + 100, 20_000, '100 requests after b was reported down');
      const report = await load.stop();
      expectNoFailures(report);
      expect(Object.keys(report.bodies)).toEqual(['a']);
      expect(await statusOf(router, 'a')).toMatchObject({ health: 'up', state: 'ready' });
    }, LOAD_CASE_MS);

    it('a backend that dies with requests in flight: its reads are answered by another backend, a POST it took fails (502) rather than run twice', async () => {
      const router = await fixture.start();
      const [a, b, c] = [await fixture.backend('a'), await fixture.backend('b'), await fixture.backend('c')];
      for (const backend of [a, b, c]) await addBackend(router, backend);
      await router.set([
        { id: 'a', state: 'ready', weight: 1 },
        { id: 'b', state: 'ready', weight: 1 },
      ]);
      // Reads held at a and b, both ready before they were sent (as in a deploy); then b dies under its share.
      const reads = Array.from({ length: 4 }, () => fetchText(`${router.url}/hold`));
      // Awaited below; should the case fail first, their errors at clean-up are no unhandled rejections.
      for (const pending of reads) pending.catch(() => {});
      await waitFor(() => a.inFlight() + b.inFlight() === 4 && b.inFlight() > 0, 10_000, 'the four reads held at a and b, some at b');
      // The router is not told: b is still ready when it dies.
      await b.kill();
      // Sent again, b's reads are held at a too (same path); a answers all four once they are there.
      await waitFor(() => a.inFlight() === 4, 10_000, "b's reads sent again to a");
      a.releaseHeld();
      expect((await Promise.all(reads)).map(({ status, body }) => ({ status, body }))).toEqual(Array.from({ length: 4 }, () => ({ status: 200, body: 'a' })));

      // A POST held at c (the only backend ready when it was sent), then c dies with a ready beside it.
      await router.set([
        { id: 'a', state: 'maint' },
        { id: 'c', state: 'ready', weight: 1 },
      ]);
      const write = fetchText(`${router.url}/hold`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"order":1}' });
      write.catch(() => {});
      await waitFor(() => c.inFlight() === 1, 10_000, 'the POST held at c');
      await router.set([{ id: 'a', state: 'ready', weight: 1 }]);
      const hitsOfA = a.hits();
      await c.kill();
      expect((await write).status).toBe(502);
      // c may have acted on it: it is not sent to a.
      expect(a.hits()).toBe(hitsOfA);
    }, CASE_MS);

    it('a second connection (a new orchestrator) sees the same backends, states and weights, and moves traffic', async () => {
      const first = await fixture.start();
      const [a, b, c] = [await fixture.backend('a'), await fixture.backend('b'), await fixture.backend('c')];
      await addBackend(first, a, 'v1');
      await addBackend(first, b, 'v1');
      await addBackend(first, c, 'v2');
      await first.set([
        { id: 'a', state: 'ready', weight: 3 },
        { id: 'b', state: 'ready', weight: 1 },
      ]);
      await first.set([{ id: 'b', state: 'drain' }]);
      const seen = comparable(await first.backends());
      expect(seen).toEqual([
        { id: 'a', release: 'v1', host: '127.0.0.1', port: a.port, state: 'ready', weight: 3 },
        { id: 'b', release: 'v1', host: '127.0.0.1', port: b.port, state: 'drain', weight: 1 },
        { id: 'c', release: 'v2', host: '127.0.0.1', port: c.port, state: 'maint', weight: expect.any(Number) as number },
      ]);
      // The first orchestrator goes away; the router keeps serving.
      await first.close();
      const meanwhile = await spread(first.url, 20);
      expectNoFailures(meanwhile);
      expect(meanwhile.bodies).toEqual({ a: 20 });

      const second = await fixture.connectAgain();
      expect(second.url).toBe(first.url);
      expect(comparable(await second.backends())).toEqual(seen);
      await second.set([
        { id: 'c', state: 'ready', weight: 1 },
        { id: 'a', state: 'drain' },
      ]);
      await second.remove('b');
      const moved = await spread(second.url, 50);
      expectNoFailures(moved);
      expect(moved.bodies).toEqual({ c: 50 });
      expect((await second.backends()).map((backend) => `${backend.id} ${backend.state}`).sort()).toEqual(['a drain', 'c ready']);
    }, CASE_MS);

    it.skipIf(typeof subject === 'function')(
      `started on another loopback address (${OTHER_HOST}, as a DNS switch gives each stack its own), it answers there, says so in its url, and keeps both through a restart`,
      async () => {
        const onHost = new RouterFixture(routerFromProvider(subject as ConformanceRouterProvider, { ...options.settings, host: OTHER_HOST }));
        try {
          const router = await onHost.start();
          expect(router.url).toMatch(/^http:\/\/127\.0\.0\.2:\d+$/);
          const a = await onHost.backend('a');
          await addBackend(router, a);
          await router.set([{ id: 'a', state: 'ready', weight: 1 }]);
          expect(await fetchText(router.url)).toMatchObject({ status: 200, body: 'a' });

          const restarted = await onHost.restart();
          expect(restarted.url).toBe(router.url);
          await answersWith(restarted.url, 'a');
        } finally {
          await onHost.cleanUp();
        }
      },
      CASE_MS,
    );

    // One case or the other, never a skipped one: the declaration is itself checked.
    if (options.keepAlive === false) {
      it('has no setKeepAlive, as declared (a DNS switch refuses it)', async () => {
        const router = await fixture.start();
        expect(router.setKeepAlive).toBeUndefined();
      });
    } else {
      it('keep-alive off: every answer says Connection: close and a keep-alive client opens a new connection for each request, none failing; on again, one connection; the setting outlives a restart', async () => {
        const router = await fixture.start();
        if (router.setKeepAlive === undefined) throw new Error(`${name} has no setKeepAlive; declare { keepAlive: false } if it cannot have one`);
        const a = await fixture.backend('a');
        await addBackend(router, a);
        await router.set([{ id: 'a', state: 'ready', weight: 1 }]);
        const client = new OneConnectionClient(router.url);
        try {
          // On, the default: one connection carries every request.
          expectReuse(await client.series(5));

          await router.setKeepAlive(false);
          const before = client.opened;
          const off = await client.series(5);
          expectCloses(off);
          // The first may go on the connection that was open (it is closed after its answer, never under it); each next one on a new connection.
          expect(off.slice(1).map((answer) => answer.socket)).toEqual([1, 2, 3, 4].map((n) => before + n));

          // Keep-alive load through both switches: a client never loses a request to a closing connection.
          const load = fixture.load({ url: router.url, connections: 4, maxRequests: 50_000, maxDurationMs: 90_000 });
          await load.waitUntil(() => load.finished() >= 100, 20_000, '100 requests with keep-alive off');
          await router.setKeepAlive(true);
          const atOn = load.finished();
          await load.waitUntil(() => load.finished() >= atOn + 100, 20_000, '100 requests with keep-alive on again');
          await router.setKeepAlive(false);
          const atOff = load.finished();
          await load.waitUntil(() => load.finished() >= atOff + 100, 20_000, '100 requests with keep-alive off again');
          expectNoFailures(await load.stop());

          await router.setKeepAlive(true);
          expectReuse(await client.series(5));
          await router.setKeepAlive(false);
        } finally {
          client.close();
        }

        // Off outlives a restart of the router.
        const restarted = await fixture.restart();
        await answersWith(restarted.url, 'a');
        const again = new OneConnectionClient(restarted.url);
        try {
          const off = await again.series(3);
          expectCloses(off);
          expect(off.map((answer) => answer.socket)).toEqual([1, 2, 3]);
          expect(restarted.setKeepAlive, 'setKeepAlive after the restart').toBeTypeOf('function');
          await restarted.setKeepAlive?.(true);
          expectReuse(await again.series(3));
        } finally {
          again.close();
        }
      }, LOAD_CASE_MS);
    }

    it('no request fails under keep-alive load through 3 rounds of a rolling replacement (add in maint, ready, drain, wait for 0 in flight, remove)', async () => {
      const router = await fixture.start();
      const old = [await fixture.backend('v1-1'), await fixture.backend('v1-2'), await fixture.backend('v1-3')];
      for (const backend of old) await addBackend(router, backend, 'v1');
      await router.set(old.map((backend) => ({ id: backend.id, state: 'ready' as const, weight: 1 })));
      const load = fixture.load({ url: router.url, connections: 8, mixes: LOAD_MIXES, maxRequests: 150_000, maxDurationMs: 120_000 });
      await load.waitUntil(() => load.finished() >= 200, 20_000, 'the load to run');

      for (const [index, retiring] of old.entries()) {
        const fresh = await fixture.backend(`v2-${index + 1}`);
        await addBackend(router, fresh, 'v2');
        const atAdd = load.finished();
        await load.waitUntil(() => load.finished() >= atAdd + 100, 20_000, `100 requests while ${fresh.id} is in maint`);
        expect(fresh.hits(), `requests ${fresh.id} got in maint`).toBe(0);
        await router.set([{ id: fresh.id, state: 'ready', weight: 1 }]);
        await load.waitUntil(() => fresh.hits() >= 20, 20_000, `${fresh.id} to get traffic`);
        await router.set([{ id: retiring.id, state: 'drain' }]);
        await untilBackends(router, (all) => all[retiring.id]?.inFlight === 0, reportTimeoutMs, `${retiring.id} with nothing in flight`);
        await router.remove(retiring.id);
        const hitsAtRemove = retiring.hits();
        await retiring.close();
        const atRemove = load.finished();
        await load.waitUntil(() => load.finished() >= atRemove + 100, 20_000, `100 requests after ${retiring.id} was removed`);
        expect(retiring.hits(), `requests ${retiring.id} got after it was removed`).toBe(hitsAtRemove);
      }
      const report = await load.stop();
      expectNoFailures(report);
      expect((await router.backends()).map((backend) => `${backend.id} ${backend.state}`).sort()).toEqual(['v2-1 ready', 'v2-2 ready', 'v2-3 ready']);
    }, LOAD_CASE_MS);

    it('no request fails under keep-alive load through a canary ramp (weight 1, 10, 50, 100 against 100) and the stable release retired', async () => {
      const router = await fixture.start();
      const stable = [await fixture.backend('v1-1'), await fixture.backend('v1-2')];
      for (const backend of stable) await addBackend(router, backend, 'v1');
      await router.set(stable.map((backend) => ({ id: backend.id, state: 'ready' as const, weight: 100 })));
      const load = fixture.load({ url: router.url, connections: 8, mixes: LOAD_MIXES, maxRequests: 150_000, maxDurationMs: 120_000 });
      await load.waitUntil(() => load.finished() >= 200, 20_000, 'the load to run');

      const canary = await fixture.backend('v2-1');
      await addBackend(router, canary, 'v2');
      for (const weight of [1, 10, 50, 100]) {
        await router.set([{ id: canary.id, state: 'ready', weight }]);
        const before = canary.hits();
        await load.waitUntil(() => canary.hits() >= before + 3, 30_000, `the canary to get traffic at weight ${weight}`);
      }
      await router.set(stable.map((backend) => ({ id: backend.id, state: 'drain' as const })));
      await untilBackends(router, (all) => stable.every((backend) => all[backend.id]?.inFlight === 0), reportTimeoutMs, 'the stable backends with nothing in flight');
      for (const backend of stable) await router.remove(backend.id);
      await Promise.all(stable.map((backend) => backend.close()));
      const atRetire = load.finished();
      await load.waitUntil(() => load.finished() >= atRetire + 100, 20_000, '100 requests after the stable release was retired');
      const report = await load.stop();
      expectNoFailures(report);
      expect((await router.backends()).map((backend) => `${backend.id} ${backend.state} ${backend.weight}`)).toEqual(['v2-1 ready 100']);
    }, LOAD_CASE_MS);
  });
}

/** Polls until `url` answers 200 with `body` (a restarted router may take a moment to route to its restored backends). */
async function answersWith(url: string, body: string): Promise<void> {
  let last = '';
  await waitFor(
    async () => {
      try {
        const answer = await fetchText(url);
        last = `${answer.status} ${answer.body.slice(0, 120)}`;
        return answer.status === 200 && answer.body === body;
      } catch (error) {
        last = (error as Error).message;
        return false;
      }
    },
    20_000,
    `${url} to answer 200 ${body}`,
  ).catch((error: Error) => {
    throw new Error(`${error.message}; last answer: ${last}`);
  });
}

/** Answers of the backend `a`, every one on the same connection, none saying close. */
function expectReuse(answers: readonly NumberedAnswer[]): void {
  expect(answers.map(({ status, body }) => `${status} ${body}`)).toEqual(answers.map(() => '200 a'));
  expect(answers.filter((answer) => answer.connection === 'close'), 'answers saying Connection: close with keep-alive on').toEqual([]);
  expect(new Set(answers.map((answer) => answer.socket)).size, 'connections the requests went on').toBe(1);
}

/** Answers of the backend `a`, every one saying `Connection: close`. */
function expectCloses(answers: readonly NumberedAnswer[]): void {
  expect(answers.map(({ status, body, connection }) => `${status} ${body} ${connection}`)).toEqual(answers.map(() => '200 a close'));
}

function expectNoFailures(report: KeepAliveLoadReport): void {
  expect(report.sent, 'requests sent vs. answered + failed').toBe(report.ok + report.failed);
  expect(report.failed, `failed requests of ${report.sent}: ${report.failures.join('; ')}`).toBe(0);
}

function comparable(backends: readonly ConformanceBackendStatus[]): Pick<ConformanceBackendStatus, 'id' | 'release' | 'host' | 'port' | 'state' | 'weight'>[] {
  return backends.map(({ id, release, host, port, state, weight }) => ({ id, release, host, port, state, weight })).sort((x, y) => x.id.localeCompare(y.id));
}
