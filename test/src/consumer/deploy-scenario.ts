// `npx baton ...` from a user's project, as the README shows it, under a small
// steady load through the router whose every request is accounted for
// (test/src/harness/load.ts: a connection closed without an answer counts as
// failed, which autocannon alone would not count).
import { realpath, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { findFreePort, resolveDeployConfig, stopService } from '@baton/deploy';
import { startLoad, type LoadReport, type RunningLoad } from '../harness/index.js';
import { runCommand, type CommandResult } from './commands.js';
import { deployConfigFor, type ConsumerApp } from './consumer-projects.js';

/** The strategies the scenario deploys with, as a user writes them in baton.config.json. */
export const STRATEGIES = {
  rolling: { strategy: { type: 'rolling' } },
  canary: {
    strategy: { type: 'canary', steps: [{ setWeight: 50 }, { analysis: { durationMs: 3000 } }] },
    // Judged on its metrics by release; an inconclusive window (no `release` label, too little traffic)
    // fails instead of pausing for a `baton promote` nobody sends. Latency noise of a busy machine is not the point here.
    analysis: { minRequests: 20, onInconclusive: 'fail', minLatencyIncreaseMs: 500 },
  },
} as const;

export type StrategyName = keyof typeof STRATEGIES;

/** One `npx baton ...` and how it went. */
export interface CliStep {
  command: string;
  result: CommandResult;
}

/** What one router's round showed. */
export interface DeployRound {
  app: ConsumerApp['name'];
  node: ConsumerApp['node'];
  router: 'builtin' | 'haproxy' | 'nginx';
  steps: CliStep[];
  /** The first step that did not exit 0 (the round stopped there, then ran `baton down`). */
  failed?: CliStep;
  load?: LoadReport;
  /** `baton status --json` after the last deploy. */
  status?: { stable?: string; instances?: { release: string; pid?: number }[]; router?: { backends?: { release: string; weight: number; state: string }[] } };
  /** The Node binary each instance ran on (/proc/<pid>/exe). */
  instanceNodes: string[];
  /** After `baton down`, the router's port refuses connections. */
  routerPortClosed?: boolean;
  /** `baton status --json` after `baton down`. */
  statusAfterDown?: { down?: { release?: string }; router?: unknown; instances?: unknown[] };
}

/** Options of {@link deployRound}. */
export interface DeployRoundOptions {
  router: 'builtin' | 'haproxy' | 'nginx';
  /** The second deploy's strategy, then the third's. */
  strategies: [StrategyName, StrategyName];
  /** Put first on PATH: another Node's bin directory. */
  pathFirst: string[];
}

/**
 * v1 (the README's config), then v2 and v3 with `--release` under load,
 * `baton status` (human and `--json`), then `baton down` and `baton status
 * --json` again: each command in the app's directory, like a user in their project.
 */
export async function deployRound(app: ConsumerApp, options: DeployRoundOptions): Promise<DeployRound> {
  const round: DeployRound = { app: app.name, node: app.node, router: options.router, steps: [], instanceNodes: [] };
  const port = await findFreePort();
  const configFile = join(app.dir, 'baton.config.json');
  const writeConfig = (strategy: StrategyName): Promise<void> => writeFile(configFile, deployConfigFor(app, { router: { kind: options.router, port }, ...STRATEGIES[strategy] }));
  // `--no`: never fetch a `baton` package from the registry should the local bin be missing.
  const baton = async (...args: string[]): Promise<boolean> => {
    const result = await runCommand('npx', ['--no', 'baton', ...args], { cwd: app.dir, pathFirst: options.pathFirst, timeoutMs: 180_000 });
    const step = { command: `npx baton ${args.join(' ')}`, result };
    round.steps.push(step);
    if (result.code !== 0 && round.failed === undefined) round.failed = step;
    return result.code === 0;
  };

  let load: RunningLoad | undefined;
  try {
    await writeConfig(options.strategies[0]);
    if (!(await baton('deploy'))) return round;
    load = startLoad({ url: `http://127.0.0.1:${port}`, requests: [{ path: '/hello' }], connections: 4, ratePerSecond: 40, maxDurationMs: 240_000, maxRequests: 50_000, timeoutMs: 10_000 });
    await load.waitForResponses(40, 30_000);
    if (!(await baton('deploy', '--release', 'v2'))) return round;
    await writeConfig(options.strategies[1]);
    if (!(await baton('deploy', '--release', 'v3'))) return round;
    if (!(await baton('status'))) return round;
    if (!(await baton('status', '--json'))) return round;
    round.status = JSON.parse(round.steps.at(-1)?.result.stdout ?? '{}') as NonNullable<DeployRound['status']>;
    for (const instance of round.status.instances ?? []) {
      if (instance.pid !== undefined) round.instanceNodes.push(await realpath(`/proc/${instance.pid}/exe`).catch(() => `(pid ${instance.pid} gone)`));
    }
    // The load goes on a moment after the last deploy's old instances left.
    await load.waitForResponses(load.responses() + 40, 30_000);
    round.load = await load.stop();
    return round;
  } finally {
    if (load !== undefined && round.load === undefined) round.load = await load.stop();
    const down = await baton('down');
    round.routerPortClosed = !(await accepts(port));
    if (down && round.failed === undefined && (await baton('status', '--json'))) {
      round.statusAfterDown = JSON.parse(round.steps.at(-1)?.result.stdout ?? '{}') as NonNullable<DeployRound['statusAfterDown']>;
    }
    // Cleanup only: if the packed CLI could not take the service down, the workspace's library does.
    if (!down) await stopService(resolveDeployConfig(JSON.parse(deployConfigFor(app, { router: { kind: options.router, port }, ...STRATEGIES.rolling })), { cwd: app.dir })).catch(() => undefined);
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** A round's commands and their output, for an assertion message. */
export function describeRound(round: DeployRound): string {
  const lines = [`${round.app} on ${round.node === 'node20' ? 'Node 20' : 'the LTS Node'} behind the ${round.router} router:`];
  for (const step of round.steps) {
    lines.push(`  $ ${step.command}  → exit ${step.result.code ?? step.result.signal} in ${step.result.ms} ms`);
    if (step === round.failed) lines.push(indent(step.result.stdout), indent(step.result.stderr));
  }
  if (round.load !== undefined) {
    const report = round.load;
    lines.push(`  load: ${report.sent} sent, ${report.ok} ok, ${report.failed} failed (statuses ${JSON.stringify(report.statuses)}, resets ${report.resets}, errors ${report.errors}, timeouts ${report.timeouts}, lost ${report.lost}), ${report.inFlightAtStop} in flight at stop; first failures ${JSON.stringify(report.failures.slice(0, 5))}`);
  }
  return lines.join('\n');
}

/** One line per round for the run's log: each command's time, and the load's count. */
export function summarizeRound(round: DeployRound): string {
  const steps = round.steps.map((step) => `${step.command.replace('npx baton ', '')} ${(step.result.ms / 1000).toFixed(1)} s${step.result.code === 0 ? '' : ` (exit ${step.result.code ?? step.result.signal})`}`);
  const load = round.load === undefined ? 'no load' : `load ${round.load.sent} sent, ${round.load.failed} failed`;
  return `  ${round.app} on ${round.node === 'node20' ? 'Node 20' : 'the LTS Node'}, ${round.router}: ${steps.join(', ')}; ${load}`;
}

function indent(text: string): string {
  return text
    .trim()
    .split('\n')
    .slice(-40)
    .map((line) => `      ${line}`)
    .join('\n');
}
