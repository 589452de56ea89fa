// CPU time per request, measured inside one server process that serves the
// bare app, a bare twin (A/A control) and the Baton app side by side (see
// servers/paired.ts). Throughput on a shared 2-core machine swings by ±20-35%
// between rounds; CPU time per request of twins in one process does not share
// that noise, so it can resolve the few percent the target is about.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { ORDER_PATH } from './servers/order-route.js';

/** One framework's figures. */
export interface CpuPerRequestResult {
  framework: 'express' | 'fastify';
  rounds: number;
  requestsPerBurst: number;
  /** Median CPU microseconds per request. */
  microsPerRequest: { bare: number; bareTwin: number; baton: number };
  /** Median over rounds of bare ÷ baton CPU per request: the share of bare throughput per CPU Baton keeps. */
  batonRatio: number;
  /** The same for the bare twin: the method's own error (ideally 100%). */
  controlRatio: number;
  /** Per-round Baton ratios, for the spread. */
  batonRatios: number[];
  failed: number;
}

/** Options of {@link runCpuPerRequest}. */
export interface CpuPerRequestOptions {
  rounds?: number;
  requestsPerBurst?: number;
}

const TWINS = ['bare', 'bareTwin', 'baton'] as const;
type Twin = (typeof TWINS)[number];

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
    const samples: Record<Twin, number[]> = { bare: [], bareTwin: [], baton: [] };
    let failed = 0;
    // Warm-up: the JIT settles on every twin before anything counts.
    for (const twin of TWINS) failed += (await burstOf(child, ports[twin], burst)).failed;
    failed = 0;
    for (let round = 0; round < rounds; round += 1) {
      // Rotate the order so no twin always runs first (or right after another).
      const order = TWINS.map((_, i) => TWINS[(i + round) % TWINS.length] as Twin);
      for (const twin of round % 2 === 0 ? order : [...order].reverse()) {
        const sample = await burstOf(child, ports[twin], burst);
        samples[twin].push(sample.microsPerRequest);
        failed += sample.failed;
      }
    }
    const batonRatios = samples.bare.map((bare, i) => bare / (samples.baton[i] as number));
    const controlRatios = samples.bare.map((bare, i) => bare / (samples.bareTwin[i] as number));
    return {
      framework,
      rounds,
      requestsPerBurst: burst,
      microsPerRequest: { bare: median(samples.bare), bareTwin: median(samples.bareTwin), baton: median(samples.baton) },
      batonRatio: median(batonRatios),
      controlRatio: median(controlRatios),
      batonRatios,
      failed,
    };
  } finally {
    child.kill();
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

function startPaired(framework: string): ChildProcess {
  const script = fileURLToPath(new URL('./servers/paired.js', import.meta.url));
  // The server on its own core, when there are two: the load generator then does not steal its CPU.
  const pinned = cpus().length >= 2;
  // --single-threaded: V8 compiles and collects garbage on the main thread, so
  // the process's CPU time around a burst is that burst's work, not JIT or GC
  // work left over from an earlier burst of another twin.
  const node = [process.execPath, '--single-threaded', script, framework];
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
