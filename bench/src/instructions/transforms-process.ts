// The user's share of a five-behind request, counted alone: `node --expose-gc
// transforms-process.js callgrind|native <settings JSON>` runs loops over the
// versioning benchmark's own bodies (versioning-fixture.ts):
//
//   GET transforms    the five response downgrades, newest first, on the
//                     order the GET handler answers
//   POST transforms   the five request upgrades, oldest first, on the oldest
//                     draft, then the five downgrades on the created order
//   GET body latest / oldest    JSON.stringify of the latest answer, and of
//                     the oldest one (as the downgrades make it)
//   POST body latest / oldest   JSON.parse of the latest / oldest draft's
//                     text, then JSON.stringify of the latest / oldest answer
//   GET chain / POST chain      Baton's versioning core as an adapter calls it
//                     for a five-behind request (`versioning.decide`,
//                     `chain.routeExists`, `chain.upgradeRequest` for the POST,
//                     `chain.downgradeResponse`), the transforms included:
//                     minus the transforms, the chain's own part of Baton's share
//
// The transforms are the user's code: subtracted from a five-behind request's
// extra instructions, what is left is Baton's (the chain and the adapter). The
// body pairs are what the framework does differently because an old client's
// bodies are smaller (it parses and serialises fewer bytes): not Baton's work
// either way, so their difference is taken out too.
//
// Under callgrind every kind runs in batches between markers (batch-marker.ts);
// natively (`native`), each batch is timed in the process's CPU time
// (`process.cpuUsage()`, µs; the main thread's schedstat moves in 4 ms ticks
// on this kind of machine): the same loops counted and timed give this
// machine's instructions per µs for this kind of code, which turns Baton's
// share into µs.
import { fileURLToPath } from 'node:url';
import type { TransformContext } from '@baton/versioning';
import { createBenchVersioning, createOrder, DRAFT_LATEST, DRAFT_OLDEST, getOrder, GET_ROUTE, OLDEST, ORDER_ID, POST_ROUTE } from '../versioning-fixture.js';
import { DOWNGRADES_NEWEST_FIRST, UPGRADES_OLDEST_FIRST } from '../versioning-work.js';
import { BatchMarker } from './batch-marker.js';

export const TRANSFORM_KINDS = ['loop', 'GET transforms', 'POST transforms', 'GET body latest', 'GET body oldest', 'POST body latest', 'POST body oldest', 'GET chain', 'POST chain'] as const;
export type TransformKind = (typeof TRANSFORM_KINDS)[number];

/** What the callgrind mode prints: the batches in order. */
export interface TransformsPlan {
  iterations: number;
  batches: TransformKind[];
}

/** What the native mode prints: ns of the process's CPU time per iteration, every batch, per kind. */
export interface TransformsTimes {
  iterations: number;
  rounds: number;
  ns: Record<TransformKind, number[]>;
}

type Loop = (iterations: number) => number;

function loops(): Record<TransformKind, Loop> {
  const getContext: TransformContext = { route: `GET ${GET_ROUTE}`, status: 200 };
  const postRequest: TransformContext = { route: `POST ${POST_ROUTE}` };
  const postResponse: TransformContext = { route: `POST ${POST_ROUTE}`, status: 201 };
  const order = getOrder(ORDER_ID);
  const created = createOrder(structuredClone(DRAFT_LATEST)).body;
  const draftOldest: unknown = JSON.parse(JSON.stringify(DRAFT_OLDEST));
  const downgrade = (body: unknown, context: TransformContext): unknown => {
    let value = body;
    for (const transform of DOWNGRADES_NEWEST_FIRST) value = transform(value as never, context);
    return value;
  };
  const upgrade = (body: unknown, context: TransformContext): unknown => {
    let value = body;
    for (const transform of UPGRADES_OLDEST_FIRST) value = transform(value as never, context);
    return value;
  };
  const orderOldest = downgrade(order, getContext);
  const createdOldest = downgrade(created, postResponse);
  const draftLatestText = JSON.stringify(DRAFT_LATEST);
  // One versioning, as a service has (its per-route plans are cached after the first request); the requests as an adapter hands them over.
  const versioning = createBenchVersioning();
  const getRequest = { headers: { host: '127.0.0.1', 'api-version': OLDEST }, url: `/orders/${ORDER_ID}` };
  const postHttp = { headers: { host: '127.0.0.1', 'api-version': OLDEST, 'content-type': 'application/json' }, url: POST_ROUTE };
  const chain = (request: { headers: Record<string, string>; url: string }, route: string, status: number, requestBody: unknown, responseBody: unknown): number => {
    const decision = versioning.decide(request);
    if (!decision.ok || !versioning.chain.routeExists(route, decision.version)) throw new Error(`transforms: ${route} refused`);
    let changed = 0;
    if (requestBody !== undefined) changed += versioning.chain.upgradeRequest(route, decision.version, requestBody) === requestBody ? 0 : 1;
    return changed + (versioning.chain.downgradeResponse(route, decision.version, status, responseBody) === responseBody ? 0 : 1);
  };
  const draftOldestText = JSON.stringify(DRAFT_OLDEST);
  // Each returns something of what it made, so nothing is optimised away.
  return {
    loop: (n) => {
      let sink = 0;
      for (let i = 0; i < n; i += 1) sink += order === undefined ? 0 : 1;
      return sink;
    },
    'GET transforms': (n) => {
      let sink = 0;
      for (let i = 0; i < n; i += 1) sink += downgrade(order, getContext) === order ? 0 : 1;
      return sink;
    },
    'POST transforms': (n) => {
      let sink = 0;
      for (let i = 0; i < n; i += 1) {
        sink += upgrade(draftOldest, postRequest) === draftOldest ? 0 : 1;
        sink += downgrade(created, postResponse) === created ? 0 : 1;
      }
      return sink;
    },
    'GET body latest': (n) => {
      let sink = 0;
      for (let i = 0; i < n; i += 1) sink += JSON.stringify(order).length;
      return sink;
    },
    'GET body oldest': (n) => {
      let sink = 0;
      for (let i = 0; i < n; i += 1) sink += JSON.stringify(orderOldest).length;
      return sink;
    },
    'POST body latest': (n) => {
      let sink = 0;
      for (let i = 0; i < n; i += 1) sink += (JSON.parse(draftLatestText) === null ? 0 : 1) + JSON.stringify(created).length;
      return sink;
    },
    'POST body oldest': (n) => {
      let sink = 0;
      for (let i = 0; i < n; i += 1) sink += (JSON.parse(draftOldestText) === null ? 0 : 1) + JSON.stringify(createdOldest).length;
      return sink;
    },
    'GET chain': (n) => {
      let sink = 0;
      for (let i = 0; i < n; i += 1) sink += chain(getRequest, getContext.route, 200, undefined, order);
      return sink;
    },
    'POST chain': (n) => {
      let sink = 0;
      for (let i = 0; i < n; i += 1) sink += chain(postHttp, postResponse.route, 201, draftOldest, created);
      return sink;
    },
  };
}

/** Under callgrind: a warm-up, then `passes` passes of one batch per kind between markers. */
function counted(settings: { iterations: number; passes: number; warmup: number }): TransformsPlan {
  const marker = new BatchMarker();
  const all = loops();
  for (const kind of TRANSFORM_KINDS) all[kind](settings.warmup);
  const batches: TransformKind[] = [];
  for (let pass = 0; pass < settings.passes; pass += 1) {
    for (const kind of TRANSFORM_KINDS) {
      marker.boundary();
      if (all[kind](settings.iterations) < 0) throw new Error('unreachable');
      batches.push(kind);
    }
  }
  marker.boundary();
  return { iterations: settings.iterations, batches };
}

function cpuNs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) * 1000;
}

/** Natively: a warm-up, then `rounds` rounds of one timed batch per kind (the order rotated), a scavenge before each. */
function timed(settings: { iterations: number; rounds: number; warmup: number }): TransformsTimes {
  const gc = (globalThis as { gc?: (options: { type: string }) => void }).gc;
  // A scavenge before each batch, as the markers do under callgrind (batch-marker.ts).
  const collect = (): void => gc?.({ type: 'minor' });
  const all = loops();
  for (const kind of TRANSFORM_KINDS) all[kind](settings.warmup);
  const ns = Object.fromEntries(TRANSFORM_KINDS.map((kind) => [kind, [] as number[]])) as Record<TransformKind, number[]>;
  for (let round = 0; round < settings.rounds; round += 1) {
    for (let k = 0; k < TRANSFORM_KINDS.length; k += 1) {
      const kind = TRANSFORM_KINDS[(k + round) % TRANSFORM_KINDS.length] as TransformKind;
      collect();
      const before = cpuNs();
      if (all[kind](settings.iterations) < 0) throw new Error('unreachable');
      ns[kind].push((cpuNs() - before) / settings.iterations);
    }
  }
  return { iterations: settings.iterations, rounds: settings.rounds, ns };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [mode, raw] = process.argv.slice(2);
  const settings = JSON.parse(raw ?? '{}') as { iterations?: number; passes?: number; rounds?: number; warmup?: number };
  const iterations = settings.iterations ?? 2000;
  const warmup = settings.warmup ?? 5000;
  const result = mode === 'native' ? timed({ iterations, warmup, rounds: settings.rounds ?? 40 }) : counted({ iterations, warmup, passes: settings.passes ?? 5 });
  process.stdout.write(`${JSON.stringify(result)}\n`);
}
