// What recording one request costs, in nanoseconds, with nothing else
// around it: Baton's recorder (`metrics.requestStarted()` then
// `metrics.requestEnded(...)`) against prom-client's own calls for the same
// series (`histogram.observe(labels, seconds)` + `counter.inc(labels)` with
// method, route and status_code). Both get real node:http IncomingMessage /
// ServerResponse pairs, finished as after a real response, in one tight
// in-process loop, as in tracking-cost.ts; the loop without recording is
// subtracted. Load tests on a shared machine cannot resolve this; the loop can.
//
// It runs in a fresh node process of its own (`node metrics-cost.js` prints
// the result as JSON): in one process, right after tracking-cost.ts's loop,
// every figure (the bare loop too) came out 1.6-1.8x higher than just before
// it, so in the benchmark's own process the result depended on what had run
// first. The ratio between the two recorders stayed about the same (~6x).
import { execFile } from 'node:child_process';
import { IncomingMessage, ServerResponse } from 'node:http';
import { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Counter, Histogram, Registry } from 'prom-client';
import { DEFAULT_BUCKETS, createMetrics, type Metrics } from '@baton/metrics';
import { ORDER_ROUTE } from './servers/order-route.js';

/** Nanoseconds per request: the loop alone, and what each recorder adds to it; medians over rounds. */
export interface MetricsCostResult {
  requestsPerRound: number;
  rounds: number;
  /** Building and finishing the request/response pair, nothing recorded. */
  bareNs: number;
  /** Added by `requestStarted()` + `requestEnded()` of `@baton/metrics`. */
  batonNs: number;
  /** Added by prom-client's `histogram.observe()` + `counter.inc()` with the same labels and buckets. */
  promClientNs: number;
}

type Recorder = (request: IncomingMessage, response: ServerResponse) => void;

function batonRecorder(metrics: Metrics): Recorder {
  return (request, response) => {
    const startedAt = metrics.requestStarted();
    metrics.requestEnded(startedAt, request, response, ORDER_ROUTE);
  };
}

/** prom-client as a hand-written middleware would use it: the same three labels, the same buckets, one Registry of its own. */
function promClientRecorder(): Recorder {
  const registry = new Registry();
  const labelNames = ['method', 'route', 'status_code'] as const;
  const histogram = new Histogram({ name: 'http_request_duration_seconds', help: 'duration', labelNames, buckets: [...DEFAULT_BUCKETS], registers: [registry] });
  const counter = new Counter({ name: 'http_requests_total', help: 'requests', labelNames, registers: [registry] });
  return (request, response) => {
    const startedAt = performance.now();
    const labels = { method: request.method ?? '', route: ORDER_ROUTE, status_code: response.statusCode };
    histogram.observe(labels, (performance.now() - startedAt) / 1000);
    counter.inc(labels);
  };
}

function nsPerRequest(record: Recorder | undefined, requests: number): number {
  const socket = new Socket();
  const started = process.hrtime.bigint();
  for (let i = 0; i < requests; i += 1) {
    const request = new IncomingMessage(socket);
    request.method = 'GET';
    request.url = '/orders/42';
    const response = new ServerResponse(request);
    // Ended, as after `end()` with everything flushed: `writableFinished` is
    // then true and the status (200) is what gets recorded.
    response.finished = true;
    record?.(request, response);
  }
  const elapsed = Number(process.hrtime.bigint() - started) / requests;
  socket.destroy();
  return elapsed;
}

/** Runs the comparison: a warm-up, then rounds of the three loops in a rotating order. */
export function runMetricsCost(options: { rounds?: number; requestsPerRound?: number } = {}): MetricsCostResult {
  const rounds = options.rounds ?? 15;
  const requests = options.requestsPerRound ?? 100_000;
  const metrics = createMetrics({ release: 'v1' });
  const loops: (Recorder | undefined)[] = [undefined, batonRecorder(metrics), promClientRecorder()];
  for (let i = 0; i < 3; i += 1) for (const loop of loops) nsPerRequest(loop, requests);
  const added: [number[], number[]] = [[], []];
  const bare: number[] = [];
  for (let round = 0; round < rounds; round += 1) {
    const ns: number[] = [];
    for (let k = 0; k < loops.length; k += 1) {
      const index = (k + round) % loops.length;
      ns[index] = nsPerRequest(loops[index], requests);
    }
    const [b = 0, baton = 0, prom = 0] = ns;
    bare.push(b);
    added[0].push(baton - b);
    added[1].push(prom - b);
  }
  return { requestsPerRound: requests, rounds, bareNs: median(bare), batonNs: median(added[0]), promClientNs: median(added[1]) };
}

/** {@link runMetricsCost} in a fresh node process. */
export function runMetricsCostIsolated(options: { rounds?: number; requestsPerRound?: number } = {}): Promise<MetricsCostResult> {
  const script = fileURLToPath(import.meta.url);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, JSON.stringify(options)], { timeout: 120_000 }, (error, stdout) => {
      if (error) {
        reject(new Error(`metrics-cost: ${error.message}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as MetricsCostResult);
      } catch {
        reject(new Error(`metrics-cost: not a result: ${stdout.slice(0, 200)}`));
      }
    });
  });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  process.stdout.write(`${JSON.stringify(runMetricsCost(JSON.parse(process.argv[2] ?? '{}') as { rounds?: number; requestsPerRound?: number }))}\n`);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
