// Real instances for the analysis tests: node:http servers recording real
// requests into Baton's metrics (prom-client) and serving them on /metrics,
// as a service would, with routes whose latency and errors are set per test.
import { Agent, createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createMetrics, createMetricsHandler, observeResponse } from '@baton/metrics';
import { closeServers, fetchText } from '@baton/testing';
import type { InstanceRecord } from '../model.js';

/** How one route answers. */
export interface RouteBehaviour {
  /** Every n-th request to the route answers 500. */
  errorEvery?: number;
  /** Server-side delay of each request, in ms, cycled (a spread of latencies across histogram buckets). */
  delaysMs?: readonly number[];
  /** The first `requests` requests to this instance take `extraMs` more: a cold process. */
  coldStart?: { requests: number; extraMs: number };
}

/** How an instance answers: `/work` by the top-level behaviour, other paths by `routes`. */
export interface Behaviour extends RouteBehaviour {
  /** Extra routes by path (the path is the route template). */
  routes?: Readonly<Record<string, RouteBehaviour>>;
  /** Added to every /work request. */
  delayMs?: number;
  /** Answer /readyz with 503 (a draining instance) and record it like any route. */
  failingProbe?: boolean;
  /** The metrics label; default the instance's release. Empty: no release label at all. */
  label?: string;
  token?: string;
  /** Set on the record, as the orchestrator does for a fresh baseline. */
  role?: 'baseline';
}

/** Started instances and agents, closed by {@link closeInstances}. */
const servers: Server[] = [];
const agents: Agent[] = [];

/** Closes every instance and agent the fixtures opened; call it in `afterEach`. */
export async function closeInstances(): Promise<void> {
  for (const agent of agents.splice(0)) agent.destroy();
  await closeServers(servers);
}

/** Closes `server` with the instances (a test's own kind of instance). */
export function trackServer(server: Server): void {
  servers.push(server);
}

/** Stops the last instance started (it dies mid-window). */
export async function killLastInstance(): Promise<void> {
  const dead = servers.pop();
  if (dead !== undefined) await closeServers([dead]);
}

/** Starts an instance of `release` on a free port of 127.0.0.1. */
export async function instance(id: string, release: string, behaviour: Behaviour = {}): Promise<InstanceRecord> {
  const label = behaviour.label ?? release;
  const metrics = createMetrics({ service: 'orders', ...(label === '' ? {} : { release: label }), instance: id });
  const answerMetrics = createMetricsHandler(metrics, behaviour.token === undefined ? {} : { token: behaviour.token });
  const counts = new Map<string, number>();
  let served = 0;
  const server = createServer((request, response) => {
    if (answerMetrics(request, response)) return;
    const path = (request.url ?? '/').split('?')[0] as string;
    if (path === '/readyz') {
      // Recorded on purpose: a service that counts its probes.
      observeResponse(metrics, request, response, '/readyz');
      response.statusCode = behaviour.failingProbe ? 503 : 200;
      response.end();
      return;
    }
    const route = behaviour.routes?.[path] === undefined ? '/work' : path;
    const rules: RouteBehaviour = route === '/work' ? behaviour : (behaviour.routes?.[path] ?? {});
    observeResponse(metrics, request, response, route);
    const count = (counts.get(route) ?? 0) + 1;
    counts.set(route, count);
    served += 1;
    const status = rules.errorEvery !== undefined && count % rules.errorEvery === 0 ? 500 : 200;
    const cycle = rules.delaysMs ?? [];
    let delay = (cycle.length === 0 ? 0 : (cycle[(count - 1) % cycle.length] as number)) + (route === '/work' ? (behaviour.delayMs ?? 0) : 0);
    const cold = rules.coldStart ?? behaviour.coldStart;
    if (cold !== undefined && served <= cold.requests) delay += cold.extraMs;
    const answer = (): void => {
      response.statusCode = status;
      response.end(status === 200 ? 'done' : 'broken');
    };
    if (delay > 0) setTimeout(answer, delay);
    else answer();
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { id, release, host: '127.0.0.1', port, url: `http://127.0.0.1:${port}`, startedAtMs: Date.now(), ...(behaviour.role === undefined ? {} : { role: behaviour.role }) };
}

/**
 * Sends `count` requests to each target's path, interleaved across the targets
 * (so a stall of this busy machine hits every release alike), `concurrency` at a time.
 */
export async function drive(targets: readonly { instance: InstanceRecord; count: number; path?: string }[], concurrency = 10): Promise<void> {
  const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
  agents.push(agent);
  const queue: string[] = [];
  const longest = Math.max(...targets.map((t) => t.count));
  for (let i = 0; i < longest; i += 1) for (const t of targets) if (i < t.count) queue.push(`${t.instance.url}${t.path ?? '/work'}`);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < queue.length) {
        const url = queue[next++] as string;
        await fetchText(url, { agent });
      }
    }),
  );
}
