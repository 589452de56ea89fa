// Deploys side by side under the same load: Baton's strategies beside the
// "non-strategies" people use without an orchestrator — kill then start, the
// load balancer's targets switched without draining, restart in place — each
// taking the orders service's three instances from v1 to v2 behind the same
// router. Failed requests are counted per request (the e2e harness), and
// Baton's deploy time is set against its physical limit: for every batch, its
// slowest instance's start-to-ready plus its slowest drain.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  connectOrStartRouter,
  resolveDeployConfig,
  runDeployCommand,
  statePaths,
  stopService,
  type DeployEvent,
  type InstanceRecord,
  type ReleaseSpec,
  type ResolvedDeployConfig,
  type Router,
  type Strategy,
} from '@baton/deploy';
import { createLocalProcessPlatform } from '@baton/platform-local';
import { haproxyInstalled } from '@baton/router-haproxy';
import { startLoad, type LoadReport } from '@baton/e2e/harness';

const SERVICE_MAIN = fileURLToPath(new URL('../../examples/orders-express/dist/main.js', import.meta.url));
const INSTANCES = 3;

/** One scenario's figures. */
export interface DeployBenchRow {
  router: 'haproxy' | 'builtin';
  scenario: string;
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
}

export interface DeployBenchResult {
  routers: ('haproxy' | 'builtin')[];
  ratePerSecond: number;
  rows: DeployBenchRow[];
}

const release = (version: string): ReleaseSpec => ({ version, command: process.execPath, args: [SERVICE_MAIN], env: { BATON_PROPAGATION_DELAY_MS: '300' } });

/** Runs every scenario once per router, in one process: behind HAProxy (when installed) and behind the built-in router. */
export async function runDeployBench(options: { ratePerSecond?: number; log?: (line: string) => void } = {}): Promise<DeployBenchResult> {
  const routers: ('haproxy' | 'builtin')[] = haproxyInstalled() ? ['haproxy', 'builtin'] : ['builtin'];
  const rows: DeployBenchRow[] = [];
  for (const router of routers) rows.push(...(await runBehind(router, options)));
  return { routers, ratePerSecond: options.ratePerSecond ?? 300, rows };
}

async function runBehind(router: 'haproxy' | 'builtin', options: { ratePerSecond?: number; log?: (line: string) => void }): Promise<DeployBenchRow[]> {
  const ratePerSecond = options.ratePerSecond ?? 300;
  const log = options.log ?? (() => {});
  const strategies: Record<string, Strategy> = {
    'Baton rolling (maxSurge 1)': { type: 'rolling', maxSurge: 1, maxUnavailable: 0 },
    'Baton canary (34% → 67% → 100%)': { type: 'canary', steps: [{ setWeight: 34 }, { setWeight: 67 }] },
    'Baton blue/green': { type: 'blue-green', rollbackWindowMs: 0 },
  };
  const rows: DeployBenchRow[] = [];
  for (const [scenario, strategy] of Object.entries(strategies)) {
    log(`deploy bench (${router}): ${scenario}...`);
    rows.push(await scenarioRun(scenario, router, ratePerSecond, strategy, async (context) => {
      const events: DeployEvent[] = [];
      const started = Date.now();
      const outcome = await runDeployCommand(context.config(release('v2'), strategy), 'deploy', { onEvent: (event) => events.push(event) });
      if (outcome.phase !== 'succeeded') throw new Error(`${scenario}: ${outcome.phase}: ${outcome.reason ?? ''}`);
      const totalSeconds = (Date.now() - started) / 1000;
      const drained = events.filter((event) => event.type === 'instance-drained').map((event) => event.atMs);
      const deploySeconds = drained.length === 0 ? totalSeconds : (Math.max(...drained) - started) / 1000;
      return { deploySeconds, totalSeconds, limitSeconds: physicalLimitMs(events) / 1000 };
    }));
  }
  const peers: Record<string, (context: ScenarioContext) => Promise<void>> = {
    'kill then start (no readiness gate, no drain)': killThenStart,
    'switch the targets, no drain': switchWithoutDrain,
    'restart in place (same port)': restartInPlace,
  };
  for (const [scenario, run] of Object.entries(peers)) {
    log(`deploy bench (${router}): ${scenario}...`);
    rows.push(await scenarioRun(scenario, router, ratePerSecond, undefined, async (context) => {
      const started = Date.now();
      await run(context);
      const seconds = (Date.now() - started) / 1000;
      return { deploySeconds: seconds, totalSeconds: seconds };
    }));
  }
  return rows;
}

interface ScenarioContext {
  config(spec: ReleaseSpec, strategy?: Strategy): ResolvedDeployConfig;
  /** The v1 instances, as the journal has them after the bring-up. */
  v1: InstanceRecord[];
  router: Router;
  platform: ReturnType<typeof createLocalProcessPlatform>;
  /** Processes a scenario started outside the journal: stopped at the end. */
  extra: InstanceRecord[];
  children: ChildProcess[];
}

async function scenarioRun(
  scenario: string,
  router: 'haproxy' | 'builtin',
  ratePerSecond: number,
  strategy: Strategy | undefined,
  run: (context: ScenarioContext) => Promise<{ deploySeconds: number; totalSeconds: number; limitSeconds?: number }>,
): Promise<DeployBenchRow> {
  const stateDir = await mkdtemp('/tmp/bb-');
  const config = (spec: ReleaseSpec, s: Strategy = strategy ?? { type: 'rolling' }): ResolvedDeployConfig =>
    resolveDeployConfig({ service: 'orders', instances: INSTANCES, stateDir, router: { kind: router }, strategy: s, release: spec, timeouts: { readyMs: 20_000, drainMs: 10_000, stopMs: 10_000 } }, { cwd: stateDir });
  const platform = createLocalProcessPlatform({ stateDir: statePaths(stateDir).instances });
  const context: ScenarioContext = { config, v1: [], router: undefined as unknown as Router, platform, extra: [], children: [] };
  try {
    const up = await runDeployCommand(config(release('v1')), 'deploy');
    if (up.phase !== 'succeeded') throw new Error(`v1 did not come up: ${up.reason ?? ''}`);
    context.router = (await connectOrStartRouter(config(release('v1')))) as Router;
    const { readStatus } = await import('@baton/deploy');
    const status = await readStatus(config(release('v1')));
    context.v1 = status.instances.filter((instance) => instance.status === 'ready');
    const url = status.router && !('error' in status.router) ? status.router.url : '';
    const load = startLoad({
      url,
      connections: 16,
      ratePerSecond,
      maxDurationMs: 120_000,
      maxRequests: 200_000,
      timeoutMs: 5000,
      requests: [{ path: '/orders?limit=5' }, { method: 'POST', path: '/orders', body: JSON.stringify({ customer: 'ada', items: [{ sku: 'bench-1', quantity: 1 }] }) }],
    });
    let figures: { deploySeconds: number; totalSeconds: number; limitSeconds?: number };
    let report: LoadReport;
    try {
      await load.waitForResponses(200, 20_000);
      figures = await run(context);
      // The last instances' in-flight work settles within this.
      await new Promise((resolve) => setTimeout(resolve, 1000));
    } finally {
      report = await load.stop();
    }
    const detail: Record<string, number> = {};
    for (const [status, count] of Object.entries(report.statuses)) if (!status.startsWith('2')) detail[status] = count;
    for (const kind of ['resets', 'errors', 'timeouts', 'lost'] as const) if (report[kind] > 0) detail[kind] = report[kind];
    const row: DeployBenchRow = { router, scenario, baton: strategy !== undefined, failed: report.failed, sent: report.sent, detail, deploySeconds: figures.deploySeconds, totalSeconds: figures.totalSeconds };
    if (figures.limitSeconds !== undefined) row.limitSeconds = figures.limitSeconds;
    return row;
  } finally {
    await context.router?.close().catch(() => undefined);
    for (const child of context.children) child.kill('SIGKILL');
    await Promise.all(context.extra.map((instance) => platform.stop(instance, { deadlineMs: 2000 }).catch(() => undefined)));
    await stopService(config(release('v1'))).catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  }
}

/** Kill an instance, start its replacement, point the router at it as soon as it listens; one by one. */
async function killThenStart(context: ScenarioContext): Promise<void> {
  let n = 100;
  for (const old of context.v1) {
    if (old.pid !== undefined) process.kill(old.pid, 'SIGKILL');
    const next = await context.platform.start(release('v2'), { id: `v2-${n++}` });
    context.extra.push(next);
    await context.router.add({ id: next.id, release: 'v2', host: next.host, port: next.port });
    await context.router.set([
      { id: next.id, state: 'ready', weight: 100 },
      { id: old.id, state: 'maint' },
    ]);
    await context.router.remove(old.id).catch(() => undefined);
  }
}

/** Start the new set, switch every target at once, stop the old set at once: no drain, no readiness gate. */
async function switchWithoutDrain(context: ScenarioContext): Promise<void> {
  const started = await Promise.all(context.v1.map((_, i) => context.platform.start(release('v2'), { id: `v2-${200 + i}` })));
  context.extra.push(...started);
  for (const next of started) await context.router.add({ id: next.id, release: 'v2', host: next.host, port: next.port });
  await context.router.set([...started.map((next) => ({ id: next.id, state: 'ready' as const, weight: 100 })), ...context.v1.map((old) => ({ id: old.id, state: 'maint' as const }))]);
  await Promise.all(context.v1.map((old) => context.platform.stop(old, { deadlineMs: 10_000 })));
  for (const old of context.v1) await context.router.remove(old.id).catch(() => undefined);
}

/** systemd-style: stop each instance and start the new release on its port; the router is never told. */
async function restartInPlace(context: ScenarioContext): Promise<void> {
  for (const old of context.v1) {
    await context.platform.stop(old, { deadlineMs: 10_000 });
    const child = spawn(process.execPath, [SERVICE_MAIN], {
      env: { ...process.env, PORT: String(old.port), HOST: old.host, RELEASE: 'v2', BATON_PROPAGATION_DELAY_MS: '300' },
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    context.children.push(child);
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
        out += chunk;
        if (out.includes('"listening"')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the restarted instance exited (${code}) before listening on port ${old.port}`)));
    });
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

/** The markdown section of RESULTS.md. */
export function deployBenchMarkdown(result: DeployBenchResult, provenance: { date: string; command: string; commit: string; machine: string }): string[] {
  const lines = [
    '## Deploys',
    '',
    `The orders service (Express, 3 instances) from v1 to v2 behind ${result.routers.map((router) => (router === 'haproxy' ? 'HAProxy 2.6' : "Baton's built-in router")).join(' and behind ')}, under ${result.ratePerSecond} req/s on 16 keep-alive connections (reads and writes), each scenario once, in one run. Failed requests are counted per request (resets, non-2xx, timeouts, and requests lost on a closing connection, which autocannon does not count). The limit is, per batch, the slowest instance's spawn-to-ready plus the slowest drain; Baton's target is 0 failed and at most 1.3× the limit. "Deploy" runs until every old instance is out of traffic with nothing in flight (the old processes' own shutdown runs on in the background); "until exited" adds the wait for the last of them to exit, which Baton does before it reports success. Every scenario deploys the same Baton-served service behind the same router, so the others still get the service's own graceful drain on SIGTERM and both routers' retry of a refused connection: their failures are what the orchestration alone costs, a floor for a service without Baton's lifecycle (see the Drain section for that).`,
    '',
    `Measured ${provenance.date} at ${provenance.commit} with \`${provenance.command}\` on ${provenance.machine}.`,
    '',
    '| Router | Scenario | failed | sent | deploy | until exited | limit | deploy / limit | what failed |',
    '|---|---|---|---|---|---|---|---|---|',
    ...result.rows.map(
      (row) =>
        `| ${[
        row.router === 'haproxy' ? 'HAProxy' : 'built-in',
        row.scenario,
        String(row.failed),
        row.sent.toLocaleString('en-US'),
        `${row.deploySeconds.toFixed(2)} s`,
        `${row.totalSeconds.toFixed(2)} s`,
        row.limitSeconds === undefined ? '—' : `${row.limitSeconds.toFixed(2)} s`,
        row.limitSeconds === undefined ? '—' : `${(row.deploySeconds / row.limitSeconds).toFixed(2)}×`,
        Object.entries(row.detail)
          .map(([kind, count]) => `${count} ${kind}`)
          .join(', ') || '—',
        ].join(' | ')} |`,
    ),
    '',
  ];
  return lines;
}

/** Targets rows for RESULTS.md. */
export function deployTargetRows(result: DeployBenchResult): string[] {
  const baton = result.rows.filter((row) => row.baton);
  const failed = baton.reduce((sum, row) => sum + row.failed, 0);
  const worst = Math.max(...baton.map((row) => (row.limitSeconds ? row.deploySeconds / row.limitSeconds : Number.POSITIVE_INFINITY)));
  return [
    `| Deploys: Baton's strategies fail no request | 0 | ${failed} | ${failed === 0 ? 'met' : 'not met'} |`,
    `| Deploys: Baton's deploy time within 1.3× its physical limit | ≤ 1.3× | worst ${worst.toFixed(2)}× | ${worst <= 1.3 ? 'met' : 'not met'} |`,
  ];
}
