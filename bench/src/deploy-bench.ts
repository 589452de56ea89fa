// Deploys side by side under the same load, behind each router installed
// (built-in, HAProxy, nginx) in one run. Baton's strategies deploy the
// Baton-served orders service; the "non-strategies" people use without an
// orchestrator — kill then start, the load balancer's targets switched
// without draining, restart in place — deploy a plain service without Baton's
// lifecycle (servers/plain-orders.ts), as teams run them today; Baton's rolling
// deploy of that plain service shows what the orchestration alone saves.
// Failed requests are counted per request (the e2e harness); Baton's deploy
// time is set against its physical limit (for every batch, its slowest
// instance's start-to-ready plus its slowest drain); the router's processes'
// CPU time is read from /proc over the deploy.
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import {
  connectOrStartRouter,
  loadRouterProvider,
  providerInstalled,
  readStatus,
  resolveDeployConfig,
  runDeployCommand,
  statePaths,
  stopService,
  type DeployEvent,
  type ReleaseSpec,
  type ResolvedDeployConfig,
  type Router,
  type Strategy,
} from '@baton/deploy';
import { createLocalProcessPlatform } from '@baton/platform-local';
import { startLoad, type LoadReport, type LoadRequest } from '@baton/e2e/harness';
import { killThenStart, restartInPlace, switchWithoutDrain, type PeerScenario, type ScenarioContext } from './deploy-peers.js';
import { measureRouterCpu } from './deploy-router-cpu.js';

/** The routers compared, in the order they run (each when its package and binary are here). */
export const DEPLOY_ROUTER_KINDS = ['builtin', 'haproxy', 'nginx'] as const;
/** Where router packages are looked up: this package's own dependencies. */
const BENCH_DIR = fileURLToPath(new URL('..', import.meta.url));
const INSTANCES = 3;
// The API's newest version, named: the Baton-served service then moves no body between versions, and
// both services do the same work per request (the plain one knows only the newest shape). One request in
// three waits 250 ms, as a call to another service would: with millisecond requests alone next to nothing
// is in flight when a process goes, and no deploy, however careless, could show a failure.
const API_VERSION = { 'api-version': '2026-11-16' };
const SLOW_MS = 250;
/** Enough for the rate with a third of the requests taking SLOW_MS (each connection sends one at a time). */
const CONNECTIONS = 32;
const LOAD_REQUESTS: LoadRequest[] = [
  { path: '/orders?limit=5', headers: API_VERSION },
  { method: 'POST', path: '/orders', headers: API_VERSION, body: JSON.stringify({ buyer: 'ada', recipient: 'ada', items: [{ sku: 'bench-1', quantity: 1 }] }) },
  { path: `/slow?ms=${SLOW_MS}`, headers: API_VERSION },
];

/** The Baton-served orders service, and the plain one (no lifecycle, listens on PORT, dies at once on SIGTERM). */
export type DeployService = 'baton' | 'plain';
const SERVICE_MAIN: Record<DeployService, string> = {
  baton: fileURLToPath(new URL('../../examples/orders-express/dist/main.js', import.meta.url)),
  plain: fileURLToPath(new URL('./servers/plain-orders.js', import.meta.url)),
};

/** One scenario's figures. */
export interface DeployBenchRow {
  router: string;
  service: DeployService;
  scenario: string;
  /** A Baton strategy (else a non-strategy). */
  baton: boolean;
  failed: number;
  sent: number;
  /** What failed, by kind. */
  detail: Record<string, number>;
  /** From the start until every old instance is out of traffic with nothing in flight: what users see of the deploy. */
  deploySeconds: number;
  /** Until the last old process has also exited (Baton waits for it before it reports success). */
  totalSeconds: number;
  /** Baton only: the sum over batches of the slowest start-to-ready and the slowest drain. */
  limitSeconds?: number;
  /** CPU seconds the router's processes used from the deploy's start until its in-flight work settled. */
  routerCpuSeconds: number;
  /** Complete responses over that same window. */
  responsesDuringDeploy: number;
}

export interface DeployBenchResult {
  routers: string[];
  /** Routers asked for but not run, and why. */
  missing: { router: string; reason: string }[];
  ratePerSecond: number;
  connections: number;
  slowMs: number;
  /** The machine's 1-minute load average when the part started and when it ended (its other work shows here). */
  loadAverage: { start: number; end: number };
  rows: DeployBenchRow[];
}

export interface DeployBenchOptions {
  ratePerSecond?: number;
  /** Only these router kinds (default every one of {@link DEPLOY_ROUTER_KINDS} installed here). */
  routers?: readonly string[];
  /** Only the scenarios whose name (with the service: `plain: restart in place`) contains one of these. */
  scenarios?: readonly string[];
  log?: (line: string) => void;
}

const release = (service: DeployService, version: string): ReleaseSpec => ({
  version,
  command: process.execPath,
  args: [SERVICE_MAIN[service]],
  ...(service === 'baton' ? { env: { BATON_PROPAGATION_DELAY_MS: '300' } } : {}),
});

/** Every scenario once per router, in one process. */
export async function runDeployBench(options: DeployBenchOptions = {}): Promise<DeployBenchResult> {
  const loadAtStart = loadavg()[0] ?? 0;
  const { routers, missing } = await availableRouters(options.routers ?? DEPLOY_ROUTER_KINDS);
  for (const { router, reason } of missing) options.log?.(`deploy bench: ${router} left out: ${reason}`);
  const rows: DeployBenchRow[] = [];
  for (const router of routers) rows.push(...(await runBehind(router, options)));
  return { routers, missing, ratePerSecond: options.ratePerSecond ?? 300, connections: CONNECTIONS, slowMs: SLOW_MS, loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 }, rows };
}

async function availableRouters(kinds: readonly string[]): Promise<{ routers: string[]; missing: { router: string; reason: string }[] }> {
  const routers: string[] = [];
  const missing: { router: string; reason: string }[] = [];
  for (const kind of kinds) {
    if (!providerInstalled('router', kind, { from: [BENCH_DIR] })) {
      missing.push({ router: kind, reason: `@baton/router-${kind} is not installed in bench/` });
      continue;
    }
    const provider = await loadRouterProvider(kind, { from: [BENCH_DIR] });
    let unavailable = provider.unavailable();
    // Asked again: on a busy machine a `nginx -v` run once came back without its version.
    for (let attempt = 1; unavailable !== undefined && attempt < 3; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      unavailable = provider.unavailable();
    }
    if (unavailable === undefined) routers.push(kind);
    else missing.push({ router: kind, reason: unavailable });
  }
  return { routers, missing };
}

type Figures = { deploySeconds: number; totalSeconds: number; limitSeconds?: number };

async function runBehind(router: string, options: DeployBenchOptions): Promise<DeployBenchRow[]> {
  const ratePerSecond = options.ratePerSecond ?? 300;
  const log = options.log ?? (() => {});
  const strategies: [string, DeployService, Strategy][] = [
    ['Baton rolling (maxSurge 1)', 'baton', { type: 'rolling', maxSurge: 1, maxUnavailable: 0 }],
    ['Baton canary (34% → 67% → 100%)', 'baton', { type: 'canary', steps: [{ setWeight: 34 }, { setWeight: 67 }] }],
    ['Baton blue/green', 'baton', { type: 'blue-green', rollbackWindowMs: 0 }],
    ['Baton rolling (maxSurge 1)', 'plain', { type: 'rolling', maxSurge: 1, maxUnavailable: 0 }],
  ];
  const wanted = (scenario: string, service: DeployService): boolean => options.scenarios === undefined || options.scenarios.some((part) => `${service}: ${scenario}`.includes(part));
  const rows: DeployBenchRow[] = [];
  for (const [scenario, service, strategy] of strategies) {
    if (!wanted(scenario, service)) continue;
    log(`deploy bench (${router}, ${service} service): ${scenario}...`);
    rows.push(
      await scenarioRun({ scenario, router, service, ratePerSecond, strategy, log }, async (context) => {
        const events: DeployEvent[] = [];
        const started = Date.now();
        const outcome = await runDeployCommand(context.config(context.release('v2'), strategy), 'deploy', { onEvent: (event) => events.push(event) });
        if (outcome.phase !== 'succeeded') throw new Error(`${scenario}: ${outcome.phase}: ${outcome.reason ?? ''}`);
        const totalSeconds = (Date.now() - started) / 1000;
        const drained = events.filter((event) => event.type === 'instance-drained').map((event) => event.atMs);
        const deploySeconds = drained.length === 0 ? totalSeconds : (Math.max(...drained) - started) / 1000;
        return { deploySeconds, totalSeconds, limitSeconds: physicalLimitMs(events) / 1000 };
      }),
    );
  }
  const peers: [string, PeerScenario][] = [
    ['kill then start (no readiness gate, no drain)', killThenStart],
    ['switch the targets, no drain', switchWithoutDrain],
    ['restart in place (same port)', restartInPlace],
  ];
  for (const [scenario, run] of peers) {
    if (!wanted(scenario, 'plain')) continue;
    log(`deploy bench (${router}, plain service): ${scenario}...`);
    rows.push(
      await scenarioRun({ scenario, router, service: 'plain', ratePerSecond, log }, async (context) => {
        const started = Date.now();
        await run(context);
        const seconds = (Date.now() - started) / 1000;
        return { deploySeconds: seconds, totalSeconds: seconds };
      }),
    );
  }
  return rows;
}

interface Scenario {
  scenario: string;
  router: string;
  service: DeployService;
  ratePerSecond: number;
  /** Baton's strategy; undefined for a non-strategy. */
  strategy?: Strategy;
  log: (line: string) => void;
}

async function scenarioRun(
  { scenario, router, service, ratePerSecond, strategy, log }: Scenario,
  run: (context: ScenarioContext & { config: (spec: ReleaseSpec, strategy?: Strategy) => ResolvedDeployConfig }) => Promise<Figures>,
): Promise<DeployBenchRow> {
  const stateDir = await mkdtemp('/tmp/bb-');
  const port = service === 'plain' ? 'assign' : 'announce';
  const config = (spec: ReleaseSpec, s: Strategy = strategy ?? { type: 'rolling' }): ResolvedDeployConfig =>
    resolveDeployConfig(
      { service: 'orders', instances: INSTANCES, stateDir, router: { kind: router }, platform: { port }, strategy: s, release: spec, timeouts: { readyMs: 20_000, drainMs: 10_000, stopMs: 10_000 } },
      { cwd: stateDir, lookupFrom: [BENCH_DIR] },
    );
  const platform = createLocalProcessPlatform({ stateDir: statePaths(stateDir).instances, port });
  const context = { config, release: (version: string) => release(service, version), v1: [], router: undefined as unknown as Router, platform, extra: [], children: [] } as ScenarioContext & { config: typeof config };
  const v1 = config(release(service, 'v1'));
  try {
    // v1 comes up through Baton whatever the scenario: the same instances, router and platform for all.
    const up = await runDeployCommand(v1, 'deploy');
    if (up.phase !== 'succeeded') throw new Error(`v1 did not come up: ${up.reason ?? ''}`);
    context.router = (await connectOrStartRouter(v1)) as Router;
    const status = await readStatus(v1);
    context.v1 = status.instances.filter((instance) => instance.status === 'ready');
    const url = status.router && !('error' in status.router) ? status.router.url : '';
    const load = startLoad({
      url,
      connections: CONNECTIONS,
      ratePerSecond,
      maxDurationMs: 120_000,
      maxRequests: 200_000,
      timeoutMs: 5000,
      requests: LOAD_REQUESTS,
    });
    let figures: Figures;
    let report: LoadReport;
    let cpu: { seconds: number; responses: number };
    try {
      await load.waitForResponses(200, 20_000);
      const cpuMeter = measureRouterCpu(statePaths(stateDir).router);
      if (cpuMeter.pids.length === 0) throw new Error(`no process of the ${router} router found in ${statePaths(stateDir).router}`);
      log(`  router processes: ${cpuMeter.processes} (from pid${cpuMeter.pids.length > 1 ? 's' : ''} ${cpuMeter.pids.join(', ')})`);
      const responsesBefore = load.responses();
      figures = await run(context);
      // The last instances' in-flight work settles within this.
      await new Promise((resolve) => setTimeout(resolve, 1000));
      cpu = { seconds: cpuMeter.stop(), responses: load.responses() - responsesBefore };
    } finally {
      report = await load.stop();
    }
    if (report.failed > 0) log(`  first failures: ${report.failures.slice(0, 3).map((failure) => `${failure.kind} at ${failure.atMs} ms: ${failure.detail}`).join('; ')}`);
    const detail: Record<string, number> = {};
    for (const [code, count] of Object.entries(report.statuses)) if (!code.startsWith('2')) detail[code] = count;
    for (const kind of ['resets', 'errors', 'timeouts', 'lost'] as const) if (report[kind] > 0) detail[kind] = report[kind];
    const row: DeployBenchRow = {
      router,
      service,
      scenario,
      baton: strategy !== undefined,
      failed: report.failed,
      sent: report.sent,
      detail,
      deploySeconds: figures.deploySeconds,
      totalSeconds: figures.totalSeconds,
      routerCpuSeconds: cpu.seconds,
      responsesDuringDeploy: cpu.responses,
    };
    if (figures.limitSeconds !== undefined) row.limitSeconds = figures.limitSeconds;
    return row;
  } finally {
    await context.router?.close().catch(() => undefined);
    for (const child of context.children) child.kill('SIGKILL');
    await Promise.all(context.extra.map((instance) => platform.stop(instance, { deadlineMs: 2000 }).catch(() => undefined)));
    await stopService(v1).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  }
}

/**
 * The least time the deploy could take: for each step that starts instances,
 * the slowest one's spawn-to-ready; for each step that retires instances, the
 * slowest one's drain. Steps run one after the other; the instances of one
 * step start (or drain) together.
 */
export function physicalLimitMs(events: readonly DeployEvent[]): number {
  const stepOf = new Map<string, number>();
  let step = -1;
  for (const event of events) {
    if (event.type === 'step') step = Number(event.data?.['index'] ?? step + 1);
    const id = event.data?.['id'];
    if (typeof id === 'string' && (event.type === 'instance-started' || event.type === 'instance-draining')) stepOf.set(`${event.type}:${id}`, step);
  }
  const slowest = new Map<string, number>();
  const note = (key: string, ms: number): void => void slowest.set(key, Math.max(slowest.get(key) ?? 0, ms));
  for (const event of events) {
    const id = event.data?.['id'];
    if (typeof id !== 'string') continue;
    if (event.type === 'instance-ready') note(`ready:${stepOf.get(`instance-started:${id}`)}`, Number(event.data?.['readyMs'] ?? 0));
    if (event.type === 'instance-drained') note(`drain:${stepOf.get(`instance-draining:${id}`)}`, Number(event.data?.['drainMs'] ?? 0));
  }
  return [...slowest.values()].reduce((sum, ms) => sum + ms, 0);
}
