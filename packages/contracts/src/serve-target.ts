import { BatonError, type Lifecycle } from '@baton/lifecycle';

/** What a `start` function returns: a Baton-served server (e.g. `Served` or `BatonListening`). */
export interface StartedServer {
  /** The base URL, or give `port` (then `http://127.0.0.1:port`). */
  url?: string;
  port?: number;
  /** The lifecycle, when exposed, is probed for readiness before verifying. */
  lifecycle?: Lifecycle;
  /** Settles when startup finishes (as `Served.ready`). */
  ready?: Promise<void>;
  /** One of these drains and closes it. */
  close?: () => Promise<unknown>;
  stop?: () => Promise<unknown>;
  shutdown?: (reason?: string) => Promise<unknown>;
  /** Settles once fully stopped (as `Served.stopped`). */
  stopped?: Promise<unknown>;
}

/** What verification was given to serve: an Express app, a Fastify instance, or a start function. */
export type ServeTarget = { app: unknown } | { start: () => Promise<StartedServer> | StartedServer };

/** A running provider: its URL, readiness, and how to stop it. */
export interface RunningProvider {
  url: string;
  lifecycle: Lifecycle | undefined;
  close(): Promise<void>;
}

// Verification traffic comes from a local verifier, not a router: no need to wait for routes to drop the instance.
const QUICK_SHUTDOWN = { shutdown: { propagationDelayMs: 0 } };

function isFastify(app: unknown): app is { register: Function; ready: Function; listen: Function; hasDecorator: (name: string) => boolean; lifecycle?: Lifecycle } {
  const a = app as Record<string, unknown> | null;
  return !!a && typeof a === 'object' && typeof a['register'] === 'function' && typeof a['ready'] === 'function' && typeof a['hasDecorator'] === 'function';
}

function isExpress(app: unknown): boolean {
  const a = app as Record<string, unknown> | null;
  return typeof a === 'function' && typeof a['use'] === 'function' && typeof a['set'] === 'function' && typeof a['listen'] === 'function';
}

/** Serves the target on 127.0.0.1, port 0, through Baton's adapters. */
export async function serveTarget(target: ServeTarget): Promise<RunningProvider> {
  if ('start' in target) return fromStarted(await target.start());
  const { app } = target;
  if (isFastify(app)) {
    const { batonPlugin, serveFastify } = await importAdapter<typeof import('@baton/fastify')>('@baton/fastify', 'fastify');
    const instance = app as unknown as import('fastify').FastifyInstance;
    if (!instance.hasDecorator('lifecycle')) await instance.register(batonPlugin, { lifecycle: QUICK_SHUTDOWN });
    const served = await serveFastify(instance, { port: 0, host: '127.0.0.1', signals: false, exit: false });
    return fromStarted(served);
  }
  if (isExpress(app)) {
    const { baton } = await importAdapter<typeof import('@baton/express')>('@baton/express', 'express');
    const b = baton(app as import('express').Application, { lifecycle: QUICK_SHUTDOWN });
    const listening = await b.listen({ port: 0, host: '127.0.0.1' });
    return fromStarted({ ...listening, lifecycle: b.lifecycle });
  }
  throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: `app` must be an Express app or a Fastify instance (or give `start` instead).');
}

async function importAdapter<T>(name: string, framework: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (error) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', `verifyProvider: serving a ${framework} app needs ${name}; install it next to @baton/contracts.`, { cause: error });
  }
}

async function fromStarted(started: StartedServer): Promise<RunningProvider> {
  if (!started || typeof started !== 'object') {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: `start` must return a served server ({ url or port, close/stop/shutdown }).');
  }
  const url = typeof started.url === 'string' ? started.url : typeof started.port === 'number' ? `http://127.0.0.1:${started.port}` : undefined;
  const stop = started.close ?? started.stop ?? started.shutdown;
  if (url === undefined || typeof stop !== 'function') {
    if (typeof stop === 'function') await stop.call(started);
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'verifyProvider: `start` must return { url or port } and one of close(), stop() or shutdown().');
  }
  if (started.ready) await started.ready;
  return {
    url: url.replace(/\/$/, ''),
    lifecycle: started.lifecycle,
    async close() {
      await stop.call(started, 'pact verification finished');
      if (started.stopped) await started.stopped;
    },
  };
}
