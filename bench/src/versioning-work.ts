// What Baton's versioning core does per request, in nanoseconds, with no
// framework and no socket around it: the calls an adapter makes
// (`versioning.decide(request)`, `chain.routeExists`, `chain.upgradeRequest`
// for a body, `chain.downgradeResponse`) on the benchmark's API
// (versioning-fixture.ts), for a client on the latest version and one on the
// oldest. A tight in-process loop resolves what load tests on a shared
// machine cannot, and splits the five-behind cost into Baton's own work and
// the rest (the adapter's hooks, headers, serialising a different body).
//
// It runs in a fresh node process (`node versioning-work.js` prints the result
// as JSON), as metrics-cost.ts does: in a process that has run other loops
// before, figures depended on what ran first.
import { execFile } from 'node:child_process';
import type { IncomingHttpHeaders } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { AnyVersionChange, TransformContext } from '@baton/versioning';
import { CHANGES, createBenchVersioning, DRAFT_LATEST, DRAFT_OLDEST, getOrder, GET_ROUTE, LATEST, OLDEST, ORDER_ID, POST_ROUTE, type ApiVersion } from './versioning-fixture.js';

/**
 * `<method> <client>`: Baton's calls for a request of that client; `<method>
 * transforms`: the five changes' own functions called one after the other
 * directly, without Baton (what the user's transforms cost by themselves).
 */
export type WorkCase = 'GET latest' | 'GET oldest' | 'GET transforms' | 'POST latest' | 'POST oldest' | 'POST transforms';
export const WORK_CASES: readonly WorkCase[] = ['GET latest', 'GET oldest', 'GET transforms', 'POST latest', 'POST oldest', 'POST transforms'];

/** Nanoseconds per request of Baton's versioning calls, the empty loop subtracted; medians over rounds. */
export interface VersioningWorkResult {
  requestsPerRound: number;
  rounds: number;
  loopNs: number;
  ns: Record<WorkCase, number>;
  /** Middle half of the rounds' values. */
  q1: Record<WorkCase, number>;
  q3: Record<WorkCase, number>;
}

// The changes' own functions, without the chain around them.
type Transform = (body: never, context: TransformContext) => unknown;
const ALL: readonly AnyVersionChange[] = CHANGES;
export const UPGRADES_OLDEST_FIRST = ALL.map((change) => change.request?.upgrade).filter((f): f is Transform => f !== undefined);
export const DOWNGRADES_NEWEST_FIRST = ALL.map((change) => change.response?.downgrade).filter((f): f is Transform => f !== undefined).reverse();

interface Request {
  headers: IncomingHttpHeaders;
  url: string;
}

function loop(versioning: ReturnType<typeof createBenchVersioning>, kind: WorkCase | 'loop', requests: number): number {
  const [method, client] = kind === 'loop' ? ['GET', 'latest'] : kind.split(' ');
  const version: ApiVersion = client === 'oldest' ? OLDEST : LATEST;
  const route = method === 'GET' ? `GET ${GET_ROUTE}` : `POST ${POST_ROUTE}`;
  const request: Request = { headers: { host: '127.0.0.1', 'api-version': version, accept: '*/*' }, url: method === 'GET' ? `/orders/${ORDER_ID}` : POST_ROUTE };
  // Parsed bodies as a framework hands them over; the transforms copy, never mutate, so one of each serves every iteration.
  const draft = client !== 'latest' ? structuredClone(DRAFT_OLDEST) : structuredClone(DRAFT_LATEST);
  const order = getOrder(ORDER_ID);
  const requestContext: TransformContext = { route };
  const responseContext: TransformContext = { route, status: method === 'GET' ? 200 : 201 };
  let sink = 0;
  const started = process.hrtime.bigint();
  if (kind === 'loop') {
    for (let i = 0; i < requests; i += 1) sink += request.headers === undefined ? 0 : 1;
  } else if (client === 'transforms') {
    for (let i = 0; i < requests; i += 1) {
      if (method === 'POST') {
        let body: unknown = draft;
        for (const upgrade of UPGRADES_OLDEST_FIRST) body = upgrade(body as never, requestContext);
        sink += body === draft ? 0 : 1;
      }
      let body: unknown = order;
      for (const downgrade of DOWNGRADES_NEWEST_FIRST) body = downgrade(body as never, responseContext);
      sink += body === order ? 0 : 1;
    }
  } else {
    for (let i = 0; i < requests; i += 1) {
      const decision = versioning.decide(request);
      if (!decision.ok) throw new Error(`versioning work: ${kind} refused`);
      if (!versioning.chain.routeExists(route, decision.version)) throw new Error(`versioning work: ${route} missing`);
      if (method === 'POST' && decision.version !== LATEST) sink += versioning.chain.upgradeRequest(route, decision.version, draft) === draft ? 0 : 1;
      sink += decision.version === LATEST ? 0 : versioning.chain.downgradeResponse(route, decision.version, method === 'GET' ? 200 : 201, order) === order ? 0 : 1;
    }
  }
  const elapsed = Number(process.hrtime.bigint() - started) / requests;
  if (sink < 0) throw new Error('unreachable');
  return elapsed;
}

/** Runs the loops: a warm-up, then rounds in a rotating order; each case minus the empty loop of the same round. */
export function runVersioningWork(options: { rounds?: number; requestsPerRound?: number } = {}): VersioningWorkResult {
  const rounds = options.rounds ?? 15;
  const requests = options.requestsPerRound ?? 10_000;
  const kinds = ['loop', ...WORK_CASES] as const;
  // One versioning, as a service has: its per-route plans are cached after the first request.
  const versioning = createBenchVersioning();
  for (let i = 0; i < 3; i += 1) for (const kind of kinds) loop(versioning, kind, requests);
  const added = Object.fromEntries(WORK_CASES.map((kind) => [kind, [] as number[]])) as Record<WorkCase, number[]>;
  const loops: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const ns: Partial<Record<(typeof kinds)[number], number>> = {};
    for (let k = 0; k < kinds.length; k += 1) {
      const kind = kinds[(k + round) % kinds.length] as (typeof kinds)[number];
      ns[kind] = loop(versioning, kind, requests);
    }
    loops.push(ns.loop as number);
    for (const kind of WORK_CASES) added[kind].push((ns[kind] as number) - (ns.loop as number));
  }
  const pick = (q: number): Record<WorkCase, number> => Object.fromEntries(WORK_CASES.map((kind) => [kind, quantile(added[kind], q)])) as Record<WorkCase, number>;
  return { requestsPerRound: requests, rounds, loopNs: quantile(loops, 0.5), ns: pick(0.5), q1: pick(0.25), q3: pick(0.75) };
}

/** {@link runVersioningWork} in a fresh node process. */
export function runVersioningWorkIsolated(options: { rounds?: number; requestsPerRound?: number } = {}): Promise<VersioningWorkResult> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, JSON.stringify(options)], { timeout: 120_000 }, (error, stdout) => {
      if (error) {
        reject(new Error(`versioning work: ${error.message}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as VersioningWorkResult);
      } catch {
        reject(new Error(`versioning work: not a result: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(runVersioningWork(JSON.parse(process.argv[2] ?? '{}') as { rounds?: number; requestsPerRound?: number }))}\n`);
}

function quantile(values: readonly number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const at = q * (sorted.length - 1);
  const low = Math.floor(at);
  const high = Math.ceil(at);
  return (sorted[low] as number) + ((sorted[high] as number) - (sorted[low] as number)) * (at - low);
}
