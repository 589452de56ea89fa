import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ConformanceBackendStatus, ConformanceRouter, ConformanceRouterProvider, ConformanceRouterSettings, RouterUnderTest } from './shapes.js';
import { startKeepAliveLoad, type KeepAliveLoadReport } from './keep-alive-load.js';
import { startTestBackend, type TestBackend } from './test-backend.js';

/**
 * Starts the router under test in `dir`, a fresh private (0700) directory of
 * its own. Called again on the same directory once the router was stopped,
 * it restarts it (a reboot): the router must come back with its URL, its
 * backends and its settings.
 */
export type MakeRouter = (dir: string) => Promise<RouterUnderTest>;

/** The settings a provider's router is started with unless the caller overrides them: the deploy config's defaults. */
export const DEFAULT_ROUTER_SETTINGS: Omit<ConformanceRouterSettings, 'dir'> = {
  readinessPath: '/readyz',
  limits: { maxConnections: 2048, headersTimeoutMs: 10_000, bodyTimeoutMs: 30_000, keepAliveTimeoutMs: 30_000, minBodyBytesPerSecond: 1024, bodyRateWindowMs: 10_000 },
  trustForwarded: false,
  expose: { metrics: false, probeDetails: false, metricsPaths: ['/metrics'], probePaths: ['/livez', '/readyz', '/startupz', '/healthz'] },
};

/** A {@link MakeRouter} over a router package's `routerProvider`: `start` with the default settings (plus `settings`), `connect` and `stop` by directory. */
export function routerFromProvider(provider: ConformanceRouterProvider, settings: Partial<Omit<ConformanceRouterSettings, 'dir'>> = {}): MakeRouter {
  return async (dir) => {
    const stop = (): Promise<void> => provider.stop(dir);
    let router: ConformanceRouter;
    try {
      router = await provider.start({ ...DEFAULT_ROUTER_SETTINGS, ...settings, dir });
    } catch (error) {
      // Whatever it spawned before failing goes too.
      await stop().catch(() => {});
      throw error;
    }
    return { router, connectAgain: () => provider.connect(dir), stop };
  };
}

/** One case's router, backends and load, all cleaned up by {@link RouterFixture.cleanUp} whatever happened. */
export class RouterFixture {
  readonly #makeRouter: MakeRouter;
  readonly #backends: TestBackend[] = [];
  readonly #connections: ConformanceRouter[] = [];
  readonly #loads: (() => Promise<unknown>)[] = [];
  #dir: string | undefined;
  #underTest: RouterUnderTest | undefined;

  constructor(makeRouter: MakeRouter) {
    this.#makeRouter = makeRouter;
  }

  /** Starts the router under test in a fresh directory. */
  async start(): Promise<ConformanceRouter> {
    this.#dir = await mkdtemp(join(tmpdir(), 'baton-router-conformance-'));
    this.#underTest = await this.#makeRouter(this.#dir);
    this.#connections.push(this.#underTest.router);
    return this.#underTest.router;
  }

  /** A new connection to the running router, as a new orchestrator makes. */
  async connectAgain(): Promise<ConformanceRouter> {
    if (this.#underTest === undefined) throw new Error('conformance: start the router first');
    const router = await this.#underTest.connectAgain();
    this.#connections.push(router);
    return router;
  }

  /** Stops the router (its connections closed first) and starts it again in the same directory, as after a reboot; resolves with the new connection. */
  async restart(): Promise<ConformanceRouter> {
    if (this.#underTest === undefined || this.#dir === undefined) throw new Error('conformance: start the router first');
    await Promise.allSettled(this.#connections.splice(0).map((router) => router.close()));
    const stopping = this.#underTest;
    this.#underTest = undefined;
    await stopping.stop();
    this.#underTest = await this.#makeRouter(this.#dir);
    this.#connections.push(this.#underTest.router);
    return this.#underTest.router;
  }

  /** A test backend, killed at clean-up. */
  async backend(id: string): Promise<TestBackend> {
    const backend = await startTestBackend(id);
    this.#backends.push(backend);
    return backend;
  }

  /** Bounded load that is stopped at clean-up if the case failed before stopping it. */
  load(...args: Parameters<typeof startKeepAliveLoad>): ReturnType<typeof startKeepAliveLoad> {
    const load = startKeepAliveLoad(...args);
    this.#loads.push(() => load.stop());
    return load;
  }

  async cleanUp(): Promise<void> {
    await Promise.allSettled(this.#loads.splice(0).map((stop) => stop()));
    await Promise.allSettled(this.#connections.splice(0).map((router) => router.close()));
    if (this.#underTest !== undefined) await this.#underTest.stop().catch(() => {});
    this.#underTest = undefined;
    await Promise.allSettled(this.#backends.splice(0).map((backend) => backend.kill()));
    if (this.#dir !== undefined) await rm(this.#dir, { recursive: true, force: true });
    this.#dir = undefined;
  }
}

/** Adds `backend` (release `release`) to `router`. */
export function addBackend(router: ConformanceRouter, backend: TestBackend, release = 'v1'): Promise<void> {
  return router.add({ id: backend.id, release, host: '127.0.0.1', port: backend.port });
}

/** The router's view of one backend; throws when it does not list it. */
export async function statusOf(router: ConformanceRouter, id: string): Promise<ConformanceBackendStatus> {
  const status = (await router.backends()).find((backend) => backend.id === id);
  if (status === undefined) throw new Error(`conformance: the router does not list backend ${id}`);
  return status;
}

/**
 * Polls `router.backends()` every 50 ms until `condition` holds, or rejects
 * after `timeoutMs` with what the router said last. For facts a router may
 * learn with a delay (a health check, a scrape of the instance's metrics).
 */
export async function untilBackends(router: ConformanceRouter, condition: (backends: Record<string, ConformanceBackendStatus>) => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: ConformanceBackendStatus[] = [];
  for (;;) {
    last = await router.backends();
    if (condition(Object.fromEntries(last.map((backend) => [backend.id, backend])))) return;
    if (Date.now() > deadline) throw new Error(`conformance: timed out after ${timeoutMs} ms waiting for ${what}; the router said ${JSON.stringify(last)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** `count` GETs of `path` over `connections` keep-alive connections; resolves with the report once all finished. */
export function spread(url: string, count: number, connections = 4, path = '/'): Promise<KeepAliveLoadReport> {
  return startKeepAliveLoad({ url, connections, maxRequests: count, maxDurationMs: 60_000, mixes: [[path]] }).done;
}
