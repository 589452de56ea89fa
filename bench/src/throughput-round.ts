import autocannon from 'autocannon';
import { foreignCores, readCpu } from './throughput-machine-load.js';
import type { ThroughputServer } from './throughput-server.js';

/** Load settings of one round. */
export interface LoadOptions {
  path: string;
  durationSeconds: number;
  connections: number;
}

/** What one round against one server measured. */
export interface RoundSample {
  /** 2xx responses per second of wall time. */
  requestsPerSecond: number;
  /** 2xx responses per second of server CPU time: throughput the load generator cannot cap. */
  requestsPerCpuSecond: number;
  /** Share of one core the server used (1 = a full core); below ~0.9 the load generator was the limit. */
  serverCpuShare: number;
  p50Ms: number;
  p99Ms: number;
  ok: number;
  /** Connection errors, timeouts and non-2xx answers. */
  failures: number;
  /** CPU other processes of the shared machine used meanwhile, in cores. */
  foreignCores: number;
}

/** Drives one bounded autocannon run (it stops by itself after `durationSeconds`). */
export async function runRound(server: ThroughputServer, load: LoadOptions): Promise<RoundSample> {
  const cpuBefore = server.cpuMs();
  const machineBefore = readCpu();
  const started = performance.now();
  const result = await autocannon({
    url: `${server.url}${load.path}`,
    connections: load.connections,
    pipelining: 1,
    duration: load.durationSeconds,
  });
  const wallMs = performance.now() - started;
  const cpuMs = server.cpuMs() - cpuBefore;
  const machineAfter = readCpu();
  const ok = result['2xx'];
  return {
    requestsPerSecond: ok / (wallMs / 1000),
    requestsPerCpuSecond: cpuMs > 0 ? ok / (cpuMs / 1000) : Number.NaN,
    serverCpuShare: cpuMs / wallMs,
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    ok,
    failures: result.errors + result.timeouts + result.non2xx,
    foreignCores: foreignCores(machineBefore, machineAfter, cpuMs, wallMs),
  };
}
