// One run's load: a bounded batch of requests sent straight to the
// instances (no router), both releases at once, interleaved, so both meet the
// same moment of a shared machine; it resolves once every request completed.
import { Agent, request } from 'node:http';
import type { InstanceRecord } from '@baton/deploy';

/** Shares of the three routes in one side's requests (they need not sum to 1: they are normalised). */
export interface RouteMix {
  fast: number;
  items: number;
  slow: number;
}

/** The mix the bench sends by default: mostly quick reads, some item lookups, a few slow calls. */
export const DEFAULT_MIX: RouteMix = { fast: 0.5, items: 0.35, slow: 0.15 };

/** One side of a comparison: its instances, how many requests, in what mix. */
export interface BatchSide {
  instances: readonly InstanceRecord[];
  requests: number;
  mix: RouteMix;
}

/** What came back, per side: statuses by count, and requests with no response at all. */
export interface BatchResult {
  sides: { sent: number; statuses: Record<string, number>; noResponse: number }[];
  durationMs: number;
}

/**
 * Sends every side's requests, `concurrency` in flight at once over
 * keep-alive connections. Each side's requests go to its instances in turn
 * (500 each of 1,000 to two instances), in the side's mix exactly (rounded),
 * in a random order; the two sides alternate in the queue. Each request has a
 * 10 s limit, so the batch ends by itself.
 */
export async function sendBatch(sides: readonly BatchSide[], options: { concurrency: number; agent: Agent }): Promise<BatchResult> {
  const queues = sides.map((side, index) => plan(side).map((item) => ({ ...item, side: index })));
  const queue: { side: number; url: string }[] = [];
  for (let i = 0; queues.some((q) => i < q.length); i += 1) for (const q of queues) if (i < q.length) queue.push(q[i] as { side: number; url: string });
  const result: BatchResult = { sides: sides.map(() => ({ sent: 0, statuses: {}, noResponse: 0 })), durationMs: 0 };
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < queue.length) {
      const item = queue[next] as { side: number; url: string };
      next += 1;
      const tally = result.sides[item.side] as BatchResult['sides'][number];
      tally.sent += 1;
      const status = await get(item.url, options.agent);
      if (status === 0) tally.noResponse += 1;
      else tally.statuses[String(status)] = (tally.statuses[String(status)] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(options.concurrency, queue.length)) }, worker));
  result.durationMs = performance.now() - started;
  return result;
}

/** A side's requests: exact counts per route, shuffled, spread over its instances in turn. */
function plan(side: BatchSide): { url: string }[] {
  if (side.instances.length === 0) throw new Error('a side of the batch has no instance');
  const total = side.mix.fast + side.mix.items + side.mix.slow;
  const fast = Math.round((side.requests * side.mix.fast) / total);
  const slow = Math.round((side.requests * side.mix.slow) / total);
  const items = Math.max(0, side.requests - fast - slow);
  const paths: string[] = [
    ...Array.from({ length: fast }, () => '/fast'),
    ...Array.from({ length: items }, () => `/items/${1 + Math.floor(Math.random() * 1000)}`),
    ...Array.from({ length: slow }, () => '/slow'),
  ];
  for (let i = paths.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [paths[i], paths[j]] = [paths[j] as string, paths[i] as string];
  }
  return paths.map((path, i) => ({ url: `${(side.instances[i % side.instances.length] as InstanceRecord).url}${path}` }));
}

/** One GET; resolves with its status, or 0 without a response (refused, reset, 10 s passed). */
function get(url: string, agent: Agent): Promise<number> {
  return new Promise((resolve) => {
    const req = request(url, { agent, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', () => resolve(0));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', () => resolve(0));
    req.end();
  });
}
