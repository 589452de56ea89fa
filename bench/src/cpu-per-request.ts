// CPU time per request, measured inside one server process that serves the
// bare app, a bare twin (A/A control), the Baton app, the Baton app with
// metrics and the app with the framework's metrics peer side by side (see
// servers/paired.ts). Throughput on a shared 2-core machine swings by ±20-35%
// between rounds; CPU time per request of twins in one process does not share
// that noise, so it can resolve the few percent the target is about.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { stopChild } from './process-control.js';
import { ORDER_PATH, ORDER_ROUTE } from './servers/order-route.js';
import { serverNodeFlags } from './throughput-server.js';

/** The twins of one process, in the order of a round before rotation. */
export const TWINS = ['bare', 'bareTwin', 'baton', 'batonMetrics', 'peer'] as const;
export type Twin = (typeof TWINS)[number];

/** One framework's figures. */
export interface CpuPerRequestResult {
  framework: 'express' | 'fastify';
  rounds: number;
  requestsPerBurst: number;
  /** Median CPU microseconds per request. */
  microsPerRequest: Record<Twin, number>;
  /** Per twin, median over rounds of bare ÷ twin CPU per request: the share of bare throughput per CPU the twin keeps (bare: 1). */
  ratios: Record<Twin, number>;
  /** The same ratios round by round, for the spread. */
  roundRatios: Record<Twin, number[]>;
  /** `ratios.baton`: Baton (lifecycle and probes, no metrics) against bare. */
  batonRatio: number;
  /** `ratios.bareTwin`: the method's own error (ideally 100%). */
  controlRatio: number;
  /** `roundRatios.baton`. */
  batonRatios: number[];
  /**
   * Median over rounds of the peer's CPU per request ÷ Baton-with-metrics':
   * above 100% Baton (lifecycle, probes and metrics) costs less per request
   * than the peer (metrics only).
   */
  batonMetricsVsPeer: number;
  /** `batonMetricsVsPeer` round by round. */
  batonMetricsVsPeerRounds: number[];
  /** Median over rounds of Baton's CPU per request ÷ Baton-with-metrics': what the metrics leave of Baton alone. */
  metricsOverBaton: number;
  /** The request-count line of the order route on each metrics twin's `/metrics` after the warm-up: the labels it records. */
  metricsSample: { batonMetrics: string; peer: string };
  failed: number;
}

/** Options of {@link runCpuPerRequest}. */
export interface CpuPerRequestOptions {
  rounds?: number;
  requestsPerBurst?: number;
}

/** Runs the paired measurement for Express and Fastify. */
export async function runCpuPerRequest(options: CpuPerRequestOptions = {}): Promise<CpuPerRequestResult[]> {
  const results: CpuPerRequestResult[] = [];
  for (const framework of ['express', 'fastify'] as const) results.push(await measure(framework, options));
  return results;
}

async function measure(framework: 'express' | 'fastify', options: CpuPerRequestOptions): Promise<CpuPerRequestResult> {
  const rounds = options.rounds ?? 30;
  const burst = options.requestsPerBurst ?? (framework === 'express' ? 2000 : 5000);
  const child = startPaired(framework);
  try {
    const { ports } = (await nextMessage(child)) as { ports: Record<Twin, number> };
    const samples = Object.fromEntries(TWINS.map((twin) => [twin, [] as number[]])) as Record<Twin, number[]>;
    let failed = 0;
    // Warm-up: the JIT settles on every twin before anything counts.
    for (const twin of TWINS) failed += (await burstOf(child, ports[twin], burst)).failed;
    failed = 0;
    // Proves the metrics twins record the order route (by its template), and shows their labels.
    const metricsSample = { batonMetrics: await orderRouteSample(ports.batonMetrics, 'Baton'), peer: await orderRouteSample(ports.peer, 'the peer') };
    for (let round = 0; round < rounds; round += 1) {
      // Rotate the order so no twin always runs first (or right after another).
      const order = TWINS.map((_, i) => TWINS[(i + round) % TWINS.length] as Twin);
      for (const twin of round % 2 === 0 ? order : [...order].reverse()) {
        const sample = await burstOf(child, ports[twin], burst);
        samples[twin].push(sample.microsPerRequest);
        failed += sample.failed;
      }
      if ((round + 1) % 10 === 0 || round + 1 === rounds) process.stderr.write(`cpu per request: ${framework} round ${round + 1}/${rounds} done\n`);
    }
    // Same-round ratios: a slow moment of the machine hits a round's twins alike.
    const perRound = (numerator: Twin, denominator: Twin): number[] => samples[numerator].map((value, i) => value / (samples[denominator][i] as number));
    const roundRatios = Object.fromEntries(TWINS.map((twin) => [twin, perRound('bare', twin)])) as Record<Twin, number[]>;
    const ratios = Object.fromEntries(TWINS.map((twin) => [twin, median(roundRatios[twin])])) as Record<Twin, number>;
    const batonMetricsVsPeerRounds = perRound('peer', 'batonMetrics');
    return {
      framework,
      rounds,
      requestsPerBurst: burst,
      microsPerRequest: Object.fromEntries(TWINS.map((twin) => [twin, median(samples[twin])])) as Record<Twin, number>,
      ratios,
      roundRatios,
      batonRatio: ratios.baton,
      controlRatio: ratios.bareTwin,
      batonRatios: roundRatios.baton,
      batonMetricsVsPeer: median(batonMetricsVsPeerRounds),
      batonMetricsVsPeerRounds,
      metricsOverBaton: median(perRound('baton', 'batonMetrics')),
      metricsSample,
      failed,
    };
  } finally {
    await stopChild(child);
  }
}

/** One bounded burst of keep-alive load; CPU time of the server process around it. */
async function burstOf(child: ChildProcess, port: number, amount: number): Promise<{ microsPerRequest: number; failed: number }> {
  const before = (await ask(child)).cpuMicros;
  const result = await autocannon({ url: `http://127.0.0.1:${port}${ORDER_PATH}`, connections: 10, amount, timeout: 10 });
  const after = (await ask(child)).cpuMicros;
  const answered = result['2xx'];
  return { microsPerRequest: (after - before) / Math.max(1, answered), failed: amount - answered };
}

/**
 * The `/metrics` line counting the order route's requests (a counter, or the
 * histogram's `_count`); fails when there is none, i.e. when the twin does
 * not record the route under its template.
 */
async function orderRouteSample(port: number, who: string): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${port}/metrics`);
  const text = await response.text();
  const lines = text.split('\n').filter((line) => !line.startsWith('#') && line.includes(`"${ORDER_ROUTE}"`));
  const line = lines.find((l) => /_total\{/.test(l)) ?? lines.find((l) => /_count\{/.test(l));
  if (response.status !== 200 || line === undefined) {
    throw new Error(`${who}: GET /metrics answered ${response.status} without a series of the route ${ORDER_ROUTE}`);
  }
  return line;
}

function startPaired(framework: string): ChildProcess {
  const script = fileURLToPath(new URL('./servers/paired.js', import.meta.url));
  // The server on its own core, when there are two: the load generator then does not steal its CPU.
  const pinned = cpus().length >= 2;
  // --single-threaded: V8 compiles and collects garbage on the main thread, so
  // the process's CPU time around a burst is that burst's work, not JIT or GC
  // work left over from an earlier burst of another twin.
  // BENCH_CPU_PROF=paired-express (or paired-fastify) profiles it, as for the throughput servers.
  const node = [process.execPath, '--single-threaded', ...serverNodeFlags(`paired-${framework}`), script, framework];
  const command = pinned ? 'taskset' : process.execPath;
  const args = pinned ? ['-c', '1', ...node] : node.slice(1);
  return spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
}

function ask(child: ChildProcess): Promise<{ cpuMicros: number }> {
  const answer = nextMessage(child) as Promise<{ cpuMicros: number }>;
  child.send('cpu');
  return answer;
}

function nextMessage(child: ChildProcess, timeoutMs = 30_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('paired server: no answer')), timeoutMs);
    const onExit = (code: number | null): void => {
      clearTimeout(timer);
      reject(new Error(`paired server exited with ${code}`));
    };
    child.once('exit', onExit);
    child.once('message', (message) => {
      clearTimeout(timer);
      child.off('exit', onExit);
      resolve(message);
    });
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
