// Fleets: Baton's rolling and canary deploys of 3, 12 and 30 instances, on
// local processes and on Docker engines, one after the other in one run, each
// under the deploy bench's bounded keep-alive load behind the built-in router.
// Per deploy: its wall time against its physical limit (fleet-limit.ts), the
// failed requests (counted per request by the e2e harness), the orchestrator's
// own CPU time (it runs in a process of its own: deploy-driver.ts), where the
// time went by kind of step, and one analysis round's scrape of the whole
// fleet (scrape-round.ts).
import { mkdtemp, rm } from 'node:fs/promises';
import { freemem, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { readStatus, resolveDeployConfig, runDeployCommand, stopService, type DeployConfig, type ReleaseSpec, type Strategy } from '@baton/deploy';
import { startLoad, type LoadReport, type LoadRequest } from '@baton/e2e/harness';
import { deployInChild } from './deploy-child.js';
import { fleetLimitMs, instanceStarts, ownStartLimitMs, phaseTimes, spawnDelays, type PhaseTime } from './fleet-limit.js';
import type { FleetPlatform } from './fleet-platform.js';
import { timeScrapeRounds, type ScrapeTiming } from './scrape-round.js';

const BENCH_DIR = fileURLToPath(new URL('../..', import.meta.url));
// The deploy bench's load (deploy-bench.ts): the API's newest version named, a third of the requests waiting 250 ms.
const API_VERSION = { 'api-version': '2026-11-16' };
const SLOW_MS = 250;
const CONNECTIONS = 32;
/** A request unanswered this long is a failure (the deploy bench's bound). */
const LOAD_TIMEOUT_MS = 5000;
const LOAD_REQUESTS: LoadRequest[] = [
  { path: '/orders?limit=5', headers: API_VERSION },
  { method: 'POST', path: '/orders', headers: API_VERSION, body: JSON.stringify({ buyer: 'ada', recipient: 'ada', items: [{ sku: 'bench-1', quantity: 1 }] }) },
  { path: `/slow?ms=${SLOW_MS}`, headers: API_VERSION },
];
/** The canary's analysis window after each weight below 100. */
export const CANARY_ANALYSIS_MS = 2000;

export type FleetStrategyName = 'rolling' | 'canary';

export interface FleetOptions {
  sizes: readonly number[];
  strategies: readonly FleetStrategyName[];
  /** Rolling's maxSurge: a count, or a share of the fleet ("25%", Kubernetes' default). */
  surge: string;
  router: string;
  ratePerSecond: number;
  scrapeRounds: number;
  /** Profile the orchestrator process of every deploy into this directory (--cpu-prof). */
  cpuProfileDir?: string;
  log: (line: string) => void;
  /** Called with every row as soon as it is measured (a long run keeps what it has). */
  onRow?: (row: FleetRow) => void;
}

export interface FleetRow {
  platform: string;
  spans: string;
  router: string;
  strategy: FleetStrategyName;
  /** The strategy as configured, for people. */
  strategyText: string;
  instances: number;
  outcome: string;
  failed: number;
  /** Of the failed, those sent before the deploy began (a timeout counts from when its request was sent): the machine's, not the deploy's. */
  failedBeforeDeploy: number;
  sent: number;
  detail: Record<string, number>;
  /** Until every old instance is out of traffic with nothing in flight (the deploy bench's "deploy"). */
  deploySeconds: number;
  /** Until the orchestrator returned (every old process exited). */
  totalSeconds: number;
  limitSeconds: number;
  /** The limit with the instances' own start (spawn → listening) for readyMs, where their logs say it (local). */
  ownStartLimitSeconds?: number;
  orchestratorCpuSeconds: number;
  orchestratorRssMb: number;
  scrape?: ScrapeTiming;
  phases: PhaseTime[];
  /** Per started instance, where its logs say when it listened: spawn → listening, and listening → the orchestrator's ready event. */
  starts?: { instances: number; ownStartMs: { median: number; max: number }; lagMs: { median: number; max: number } };
  /** From its step's start to each new instance's spawn. */
  spawnDelayMs?: { median: number; max: number };
  loadAverage: { start: number; end: number };
}

export function strategyFor(name: FleetStrategyName, instances: number, surge: string): { strategy: Strategy; text: string } {
  if (name === 'rolling') {
    const maxSurge = surge.endsWith('%') ? Math.max(1, Math.ceil((instances * Number(surge.slice(0, -1))) / 100)) : Number(surge);
    return { strategy: { type: 'rolling', maxSurge, maxUnavailable: 0 }, text: `rolling, maxSurge ${maxSurge}` };
  }
  return {
    strategy: { type: 'canary', steps: [{ setWeight: 10 }, { setWeight: 50 }], analysisMs: CANARY_ANALYSIS_MS },
    text: `canary 10% → 50% → 100%, ${CANARY_ANALYSIS_MS / 1000} s analysis after each`,
  };
}

/** Every size × strategy on one platform; a deploy that cannot be measured is reported and the next one runs. */
export async function runFleetOn(platform: FleetPlatform, options: FleetOptions): Promise<{ rows: FleetRow[]; errors: string[] }> {
  const rows: FleetRow[] = [];
  const errors: string[] = [];
  for (const instances of options.sizes) {
    for (const name of options.strategies) {
      const { strategy, text } = strategyFor(name, instances, options.surge);
      options.log(`fleet bench (${platform.kind}, ${options.router}): ${instances} instances, ${text}... (free memory ${Math.round(freemem() / 2 ** 20)} MiB, load ${loadavg()[0]?.toFixed(1)})`);
      let row: FleetRow;
      try {
        row = await deployOnce(platform, options, instances, name, strategy, text);
      } catch (error) {
        const reason = `${instances} instances, ${text}: ${error instanceof Error ? error.message : String(error)}`;
        options.log(`  not measured: ${reason}`);
        errors.push(reason);
        continue;
      }
      rows.push(row);
      options.log(`  ${consoleFigures(row)}`);
      options.onRow?.(row);
    }
  }
  return { rows, errors };
}

export function consoleFigures(row: FleetRow): string {
  return (
    `${row.outcome}: failed ${row.failed} of ${row.sent}${row.failedBeforeDeploy > 0 ? ` (${row.failedBeforeDeploy} sent before the deploy began)` : ''}, deploy ${row.deploySeconds.toFixed(2)} s (exited ${row.totalSeconds.toFixed(2)} s), limit ${row.limitSeconds.toFixed(2)} s → ${(row.deploySeconds / row.limitSeconds).toFixed(2)}×, ` +
    `orchestrator CPU ${row.orchestratorCpuSeconds.toFixed(2)} s` +
    (row.scrape ? `, scrape ${row.scrape.medianMs.toFixed(1)} ms/round (${row.scrape.perInstanceMs.toFixed(2)} ms/instance)` : '') +
    (row.ownStartLimitSeconds === undefined ? '' : `, own-start limit ${row.ownStartLimitSeconds.toFixed(2)} s → ${(row.deploySeconds / row.ownStartLimitSeconds).toFixed(2)}×`) +
    (row.spawnDelayMs ? `, spawn delay median ${row.spawnDelayMs.median} ms (max ${row.spawnDelayMs.max})` : '') +
    (row.starts ? `, own start median ${row.starts.ownStartMs.median} ms, ready-event lag median ${row.starts.lagMs.median} ms (max ${row.starts.lagMs.max})` : '')
  );
}

async function deployOnce(platform: FleetPlatform, options: FleetOptions, instances: number, name: FleetStrategyName, strategy: Strategy, strategyText: string): Promise<FleetRow> {
  const stateDir = await mkdtemp('/tmp/bf-');
  const loadStart = loadavg()[0] ?? 0;
  const configOf = (release: ReleaseSpec, s: Strategy): DeployConfig => ({
    service: 'orders',
    instances,
    stateDir,
    router: { kind: options.router },
    platform: platform.platform,
    strategy: s,
    release,
    // Generous: thirty processes starting on two CPUs take a while, and a timeout would only end the run.
    timeouts: { readyMs: 90_000, drainMs: 10_000, stopMs: 10_000 },
    // Few requests reach a 10% canary of a big fleet in one window; a verdict, not a retry, is what is timed.
    analysis: { minRequests: 20 },
  });
  const resolve = (config: DeployConfig) => resolveDeployConfig(config, { cwd: stateDir, lookupFrom: [BENCH_DIR] });
  const v1 = resolve(configOf(platform.release('v1'), { type: 'rolling', maxSurge: instances, maxUnavailable: 0 }));
  try {
    const up = await runDeployCommand(v1, 'deploy');
    if (up.phase !== 'succeeded') throw new Error(`v1 did not come up: ${up.reason ?? up.phase}`);
    const before = await readStatus(v1);
    const url = before.router && !('error' in before.router) ? before.router.url : '';
    if (url === '') throw new Error('the router did not say where it listens');
    const load = startLoad({ url, connections: CONNECTIONS, ratePerSecond: options.ratePerSecond, maxDurationMs: 300_000, maxRequests: options.ratePerSecond * 300, timeoutMs: LOAD_TIMEOUT_MS, requests: LOAD_REQUESTS });
    let report: LoadReport;
    let child;
    try {
      await load.waitForResponses(200, 30_000);
      child = await deployInChild({ config: configOf(platform.release('v2'), strategy), cwd: stateDir, lookupFrom: [BENCH_DIR] }, 600_000, options.cpuProfileDir === undefined ? {} : { cpuProfileDir: options.cpuProfileDir });
      // The last instances' in-flight work settles within this.
      await new Promise((resolveWait) => setTimeout(resolveWait, 1000));
    } finally {
      report = await load.stop();
    }
    if (report.failed > 0) options.log(`  first failures: ${report.failures.slice(0, 3).map((failure) => `${failure.kind} at ${failure.atMs} ms: ${failure.detail}`).join('; ')}`);
    const { events, done } = child;
    const drained = events.filter((event) => event.type === 'instance-drained').map((event) => event.atMs);
    const totalSeconds = (done.endedAtMs - done.startedAtMs) / 1000;
    const detail: Record<string, number> = {};
    for (const [code, count] of Object.entries(report.statuses)) if (!code.startsWith('2')) detail[code] = count;
    for (const kind of ['resets', 'errors', 'timeouts', 'lost'] as const) if (report[kind] > 0) detail[kind] = report[kind];
    const row: FleetRow = {
      platform: platform.kind,
      spans: platform.spans,
      router: options.router,
      strategy: name,
      strategyText,
      instances,
      outcome: done.phase === 'succeeded' ? 'succeeded' : `${done.phase}: ${done.reason ?? ''}`,
      failed: report.failed,
      failedBeforeDeploy: report.failures.filter((failure) => report.startedAt + failure.atMs - (failure.kind === 'timeout' ? LOAD_TIMEOUT_MS : 0) < done.startedAtMs).length,
      sent: report.sent,
      detail,
      deploySeconds: drained.length === 0 ? totalSeconds : (Math.max(...drained) - done.startedAtMs) / 1000,
      totalSeconds,
      limitSeconds: fleetLimitMs(events) / 1000,
      orchestratorCpuSeconds: done.cpuSeconds.user + done.cpuSeconds.system,
      orchestratorRssMb: done.rss / 2 ** 20,
      phases: phaseTimes(events, done.startedAtMs, done.endedAtMs),
      loadAverage: { start: loadStart, end: 0 },
    };
    const own = ownStarts(platform, stateDir, instanceStarts(events));
    if (own.size > 0) {
      const lags = instanceStarts(events).filter((start) => own.has(start.id)).map((start) => start.readyAtMs - start.spawnedAtMs - (own.get(start.id) as number));
      row.starts = { instances: own.size, ownStartMs: summary([...own.values()]), lagMs: summary(lags) };
      row.ownStartLimitSeconds = ownStartLimitMs(events, own) / 1000;
    }
    const delays = spawnDelays(events);
    if (delays.length > 0) row.spawnDelayMs = summary(delays);
    if (done.phase === 'succeeded') {
      const ready = (await readStatus(v1)).instances.filter((instance) => instance.status === 'ready');
      row.scrape = await timeScrapeRounds(ready, { rounds: options.scrapeRounds, metricsPath: v1.paths.metrics });
    }
    row.loadAverage.end = loadavg()[0] ?? 0;
    return row;
  } finally {
    await stopService(v1).catch((error: unknown) => options.log(`  stopping the fleet failed: ${error instanceof Error ? error.message : String(error)}`));
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** Each started instance's own start (spawn → its listening line), where the platform's logs say it. */
function ownStarts(platform: FleetPlatform, stateDir: string, starts: { id: string; spawnedAtMs: number }[]): Map<string, number> {
  const own = new Map<string, number>();
  for (const start of starts) {
    const listening = platform.listeningAt(stateDir, start.id);
    if (listening !== undefined) own.set(start.id, listening - start.spawnedAtMs);
  }
  return own;
}

function summary(values: number[]): { median: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: Math.round(sorted[Math.floor(sorted.length / 2)] ?? 0), max: Math.round(sorted[sorted.length - 1] ?? 0) };
}
