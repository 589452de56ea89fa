import { mkdtemp, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { resolveDeployConfig, routerName, runDeployCommand, stopService, type DeployCommandOutcome, type DeployConfig, type DeployEvent, type ReleaseSpec } from '@baton/deploy';
import { haproxyInstalled } from '@baton/router-haproxy';
import { startLoad, type LoadReport } from '@baton/e2e/harness';

/** Options of {@link runDemo}. */
/** The demo's own dependencies hold the routers it may use, wherever it is run from. */
const LOOKUP = { cwd: process.cwd(), lookupFrom: [fileURLToPath(new URL('..', import.meta.url))] };

export interface DemoOptions {
  /** Where each deploy's events go (the CLI's live renderer in `pnpm demo`). */
  onEvent?: (event: DeployEvent) => void;
  /** One line per phase for people. */
  log?: (line: string) => void;
  /** `builtin`, `haproxy`, `nginx`; default `auto`: HAProxy when installed, the built-in router otherwise. */
  router?: 'auto' | 'haproxy' | 'builtin' | 'nginx';
  /** Steady load, requests per second; default 200. */
  ratePerSecond?: number;
  /** Share of v3's API requests answered with 500; default 0.3. */
  badErrorRate?: number;
  /** Keep the state directory (journal, logs, the reports) afterwards; default true. */
  keepState?: boolean;
}

/** One deploy of the demo. */
export interface DemoPhase {
  name: string;
  release: string;
  outcome: DeployCommandOutcome;
  seconds: number;
}

/** What the demo shows. */
export interface DemoResult {
  router: 'haproxy' | 'builtin' | 'nginx';
  /** Journal, instance logs and reports (removed unless `keepState`). */
  stateDir: string;
  phases: DemoPhase[];
  load: LoadReport;
  /** Requests answered with a 2xx. */
  served: number;
  /** Failed requests that were not v3's deliberate 500s: what the deploys themselves cost. The promise is zero. */
  failedByDeploys: number;
  /** v3's deliberate 500s, served before analysis caught it. */
  failedByBadRelease: number;
  /**
   * Sent but still unanswered when the demo stopped its load: the load
   * generator closed those connections itself, so they are neither served nor
   * failed. `served + failedByDeploys + failedByBadRelease + inFlightAtStop`
   * is every request sent.
   */
  inFlightAtStop: number;
}

const SERVICE_MAIN = fileURLToPath(new URL('../../orders-express/dist/main.js', import.meta.url));

/**
 * The demo: the orders service's v1 ×3 behind the router under a steady
 * load; a canary of v2 that passes analysis and is promoted; then a v3 that
 * answers a share of requests with 500, which analysis catches at the first
 * canary step and rolls back. Everything runs on this machine and is stopped
 * and removed at the end.
 */
export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const log = options.log ?? (() => {});
  // Short: unix socket paths in it must fit in 107 bytes.
  const stateDir = await mkdtemp('/tmp/baton-demo-');
  const router = options.router ?? 'auto';
  const kind = router === 'auto' ? (haproxyInstalled() ? 'haproxy' : 'builtin') : router;
  const release = (version: string, env: Record<string, string> = {}): ReleaseSpec => ({
    version,
    command: process.execPath,
    args: [SERVICE_MAIN],
    // The router drains an instance before it is stopped, so its own propagation delay can be short.
    env: { BATON_PROPAGATION_DELAY_MS: '300', ...env },
  });
  const base: Omit<DeployConfig, 'release'> = {
    service: 'orders',
    instances: 3,
    stateDir,
    router: { kind },
    strategy: { type: 'canary', steps: [{ setWeight: 20 }, { analysis: { durationMs: 4000 } }, { setWeight: 50 }, { analysis: { durationMs: 4000 } }] },
    analysis: { minRequests: 40, maxErrorRateIncrease: 0.01, maxErrorRate: 0.05, maxLatencyRatio: 3, inconclusiveRetries: 2, onInconclusive: 'fail' },
    timeouts: { readyMs: 20_000, drainMs: 10_000, stopMs: 10_000 },
  };
  const deploy = async (name: string, spec: ReleaseSpec): Promise<DemoPhase> => {
    log(`\n== ${name} ==`);
    const started = Date.now();
    const config = resolveDeployConfig({ ...base, release: spec }, LOOKUP);
    const outcome = await runDeployCommand(config, 'deploy', options.onEvent ? { onEvent: options.onEvent } : {});
    return { name, release: spec.version, outcome, seconds: (Date.now() - started) / 1000 };
  };

  const phases: DemoPhase[] = [];
  let load: ReturnType<typeof startLoad> | undefined;
  try {
    phases.push(await deploy(`v1 ×3 behind the ${routerName(kind)} router`, release('v1')));
    const first = phases[0]?.outcome;
    if (first?.phase !== 'succeeded') throw new Error(`v1 did not start: ${first?.reason ?? 'unknown'}`);
    const url = await routerUrl(stateDir, base);
    log(`\nSteady load on ${url}: ${options.ratePerSecond ?? 200} req/s over 16 keep-alive connections (reads and writes).`);
    load = startLoad({
      url,
      connections: 16,
      ratePerSecond: options.ratePerSecond ?? 200,
      maxDurationMs: 240_000,
      maxRequests: 100_000,
      timeoutMs: 5000,
      requests: [{ path: '/orders' }, { method: 'POST', path: '/orders', body: JSON.stringify({ customer: 'ada', items: [{ sku: 'demo-1', quantity: 1 }] }) }, { path: '/orders?limit=5' }],
    });
    await load.waitForResponses(200, 20_000);
    phases.push(await deploy('v2: canary 20% → 50% → 100%, judged by metrics', release('v2')));
    phases.push(await deploy(`v3: a bad release (${Math.round((options.badErrorRate ?? 0.3) * 100)}% of requests fail)`, release('v3', { ORDERS_FAULT_ERROR_RATE: String(options.badErrorRate ?? 0.3) })));
    // A moment on v2 alone after the rollback, so the load shows it is whole again.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const report = await load.stop();
    load = undefined;
    const injected = report.statuses['500'] ?? 0;
    return {
      router: kind,
      stateDir,
      phases,
      load: report,
      served: report.ok,
      failedByDeploys: report.failed - injected,
      failedByBadRelease: injected,
      inFlightAtStop: report.inFlightAtStop,
    };
  } finally {
    await load?.stop().catch(() => undefined);
    await stopService(resolveDeployConfig({ ...base, release: release('v1') }, LOOKUP)).catch(() => undefined);
    if (options.keepState === false) await rm(stateDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

async function routerUrl(stateDir: string, base: Omit<DeployConfig, 'release'>): Promise<string> {
  const { readStatus } = await import('@baton/deploy');
  const status = await readStatus(resolveDeployConfig({ ...base, stateDir, release: { version: 'v1', command: 'node' } }, LOOKUP));
  if (status.router === undefined || 'error' in status.router) throw new Error(`the router is not running: ${status.router && 'error' in status.router ? status.router.error : 'not started'}`);
  return status.router.url;
}

/** The summary people read at the end. */
export function formatDemoSummary(result: DemoResult): string {
  const lines = [
    '',
    '== Summary ==',
    `Router: ${routerName(result.router)}`,
    // Every request sent is in exactly one of the four lines below.
    `Requests sent: ${result.load.sent} over ${(result.load.durationMs / 1000).toFixed(0)} s (${result.load.requestsPerSecond.toFixed(0)} req/s)`,
    `  served (2xx): ${result.served}`,
    `  failed because of the deploys: ${result.failedByDeploys}${result.failedByDeploys === 0 ? ' — none, as promised' : ` (${describeFailures(result.load)})`}`,
    `  failed because v3 was bad: ${result.failedByBadRelease} (its deliberate 500s, before analysis caught it)`,
    `  in flight when the load stopped: ${result.inFlightAtStop} (the load generator closed those connections itself: neither served nor failed)`,
    `State, instance logs and reports: ${result.stateDir}`,
    'Phases:',
    ...result.phases.map((phase) => `  ${phase.name}: ${phase.outcome.phase}${phase.outcome.reason ? ` — ${firstSentences(phase.outcome.reason)}` : ''} (${phase.seconds.toFixed(1)} s)${phase.outcome.report ? `\n    report: ${phase.outcome.report.html}` : ''}`),
  ];
  return `${lines.join('\n')}\n`;
}

function describeFailures(load: LoadReport): string {
  const parts = [
    ...Object.entries(load.statuses)
      .filter(([status]) => status !== '500' && !status.startsWith('2'))
      .map(([status, count]) => `${count} × ${status}`),
    load.resets > 0 ? `${load.resets} resets` : '',
    load.errors > 0 ? `${load.errors} connection errors` : '',
    load.timeouts > 0 ? `${load.timeouts} timeouts` : '',
    load.lost > 0 ? `${load.lost} lost` : '',
  ].filter((part) => part !== '');
  return parts.join(', ');
}

/** The deciding finding of a reason: its first sentence ("analysis failed: v3: 30.0% errors (48 of 160); the limit is 5.0%."). */
function firstSentences(reason: string): string {
  const end = reason.indexOf('. ');
  return end === -1 ? reason : `${reason.slice(0, end + 1)} (see the report)`;
}
