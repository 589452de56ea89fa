import { mkdtemp, rm } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStatus, resolveDeployConfig, routerName, type DeployCommandOutcome, type ServiceStatus } from '@baton/deploy';
import { haproxyInstalled } from '@baton/router-haproxy';
import { startLoad, type LoadReport } from '@baton/e2e/harness';
import { buildNodeImage, ensureDockerEngine, imageId, startDockerEngine } from '@baton/testing/docker';
import type { DemoPhase, DemoResult } from '../demo.js';
import { createBatonCli, type BatonCli, type BatonCommandResult } from './baton-cli.js';
import { dockerDemoConfig, formatConfigExcerpt, writeDemoConfig, type DemoHost, type DemoRelease } from './demo-config.js';
import { placementOf, type Placement } from './placement.js';
import { removeDemoContainers } from './demo-containers.js';

/** The demo's own directory: its dependencies hold the routers and `@baton/platform-docker`, as a user's project would. */
const DEMO_PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));
const SERVICE_MAIN = fileURLToPath(new URL('../../../orders-express/dist/main.js', import.meta.url));

/** Options of {@link runDockerDemo}. */
export interface DockerDemoOptions {
  /** Where the `baton` commands and everything they print go, as it happens. */
  write?: (text: string) => void;
  /** `builtin`, `haproxy`, `nginx`; default `auto`: HAProxy when installed, the built-in router otherwise. */
  router?: 'auto' | 'haproxy' | 'builtin' | 'nginx';
  /** Instances, spread over the two engines; default 4. */
  instances?: number;
  /** Steady load, requests per second; default 200. */
  ratePerSecond?: number;
  /** Share of v3's API requests answered with 500; default 0.3. */
  badErrorRate?: number;
  /** Keep the state directory (journal, releases, reports) afterwards; default true. */
  keepState?: boolean;
  /** Ctrl-C: the deploy in progress stops at a safe point, and the demo tears down what it started. */
  signal?: AbortSignal;
}

/** What the Docker demo shows: `pnpm demo`'s story, plus where it ran and on what. */
export interface DockerDemoResult extends DemoResult {
  /** The two engines, the machine's first: the fleet's "hosts". */
  engines: DemoHost[];
  /** The orders service's image, built once on the machine's engine. */
  image: { tag: string; id: string };
  /** `baton release create` of v1, v2 and v3, as printed. */
  releaseCreates: BatonCommandResult[];
  /** `baton releases` after the three deploys, as printed. */
  releases: BatonCommandResult;
  /** The instances serving after the story (v2's), and the container and engine each runs in. */
  placement: Placement[];
  /** When each `baton deploy` ran (epoch ms): the load's failures are told apart by whether a deploy was running. */
  deployWindows: { release: string; startMs: number; endMs: number }[];
}

/**
 * `pnpm demo`'s story on Docker: the orders service as one image, built once;
 * v1, v2 and v3 created as releases pinned to its digest; v1 ×4 across two
 * engines (the machine's and a private second one), a canary of v2 promoted
 * on its metrics, a bad v3 caught and rolled back — all through the `baton`
 * command, under a steady load counted request by request. Everything it
 * starts is stopped and removed at the end; the second engine too.
 */
export async function runDockerDemo(options: DockerDemoOptions = {}): Promise<DockerDemoResult> {
  const write = options.write ?? (() => {});
  const log = (line: string): void => write(`${line}\n`);
  const router = options.router ?? 'auto';
  const kind = router === 'auto' ? (haproxyInstalled() ? 'haproxy' : 'builtin') : router;
  const instances = options.instances ?? 4;
  const badErrorRate = options.badErrorRate ?? 0.3;

  log('== Two Docker engines: two "hosts" ==');
  const machine = await ensureDockerEngine();
  // Started before anything that needs cleaning up, and stopped in the finally below.
  const second = await startDockerEngine({ name: 'host-b' });
  const engines: DemoHost[] = [
    { name: 'host-a', docker: machine.docker, address: machine.address },
    { name: 'host-b', docker: second.docker, address: second.address },
  ];
  for (const engine of engines) log(`${engine.name}: ${engine.docker}, its published ports on ${engine.address}`);
  // Short: the router's unix sockets live under it and must fit in 107 bytes.
  const workDir = await mkdtemp('/tmp/baton-dd-');
  const stateDir = join(workDir, 's');
  const runLabel = basename(workDir);
  const configFile = join(workDir, 'baton.config.json');
  const cli = createBatonCli({ cwd: DEMO_PACKAGE_DIR, configFile, write, ...(options.signal ? { signal: options.signal } : {}) });
  const configFor = (release: DemoRelease, strategy: 'rolling' | 'canary') => dockerDemoConfig({ stateDir, hosts: engines, release, router: kind, instances, strategy, runLabel });
  let load: ReturnType<typeof startLoad> | undefined;
  try {
    // The config is there from the start, so that the tear down's `baton down` finds it whatever happens.
    await writeDemoConfig(configFile, configFor({ version: 'v1', image: 'baton-demo-orders' }, 'rolling'));
    log(`\n== The orders service as an image, built once on ${engines[0]!.name} (no registry: ${engines[1]!.name} gets it from Baton) ==`);
    const image = await buildNodeImage(machine, { name: 'baton-demo-orders', entry: SERVICE_MAIN });
    log(`${engines[0]!.name}: ${image.tag} is ${image.id}`);
    log(`${engines[1]!.name}: ${(await imageId(second.socketPath, image.id)) ?? 'no such image'}`);

    const releases: Record<'v1' | 'v2' | 'v3', DemoRelease> = {
      v1: { version: 'v1', image: image.tag },
      v2: { version: 'v2', image: image.tag },
      v3: { version: 'v3', image: image.tag, env: { ORDERS_FAULT_ERROR_RATE: String(badErrorRate) } },
    };
    log('\n== Three releases: the same image, pinned by digest; v3 with a bad setting ==');
    await writeDemoConfig(configFile, configFor(releases.v1, 'rolling'));
    log(`${configFile}, as a user writes it (the demo edits release for each version):`);
    log(formatConfigExcerpt(configFor(releases.v1, 'rolling')));
    const releaseCreates: BatonCommandResult[] = [];
    for (const release of Object.values(releases)) {
      await writeDemoConfig(configFile, configFor(release, 'canary'));
      const created = await cli.run(['release', 'create'], describeRelease(release));
      if (created.code !== 0) throw new Error(`${created.command} failed (exit ${created.code}): ${created.stderr.trim()}`);
      releaseCreates.push(created);
      options.signal?.throwIfAborted();
    }
    // Pinning resolved the tag to one image id on every engine, and copied the image where it was missing.
    log(`\n${engines[1]!.name} now holds ${(await imageId(second.socketPath, image.id)) ?? 'no such image'}: copied from ${engines[0]!.name} engine to engine when v1 was created.`);

    const phases: DemoPhase[] = [];
    const deployWindows: DockerDemoResult['deployWindows'] = [];
    const deploy = async (name: string, release: DemoRelease, strategy: 'rolling' | 'canary'): Promise<DemoPhase> => {
      log(`\n== ${name} ==`);
      await writeDemoConfig(configFile, configFor(release, strategy));
      const started = Date.now();
      const command = await cli.run(['deploy'], describeRelease(release));
      options.signal?.throwIfAborted();
      const outcome = await outcomeOf(configFor(release, strategy), command);
      deployWindows.push({ release: release.version, startMs: started, endMs: Date.now() });
      return { name, release: release.version, outcome, seconds: (Date.now() - started) / 1000 };
    };

    phases.push(await deploy(`v1 ×${instances} on two engines behind the ${routerName(kind)} router (rolling)`, releases.v1, 'rolling'));
    if (phases[0]?.outcome.phase !== 'succeeded') throw new Error(`v1 did not start: ${phases[0]?.outcome.reason ?? 'unknown'}`);
    const url = routerUrl(await statusOf(configFor(releases.v1, 'rolling')));
    log(`\nSteady load on ${url}: ${options.ratePerSecond ?? 200} req/s over 16 keep-alive connections (reads and writes).`);
    load = startLoad({
      url,
      connections: 16,
      ratePerSecond: options.ratePerSecond ?? 200,
      // Bounds past the story's length even on a saturated machine, where each deploy may take minutes.
      maxDurationMs: 600_000,
      maxRequests: 150_000,
      timeoutMs: 5000,
      requests: [{ path: '/orders' }, { method: 'POST', path: '/orders', body: JSON.stringify({ customer: 'ada', items: [{ sku: 'demo-1', quantity: 1 }] }) }, { path: '/orders?limit=5' }],
    });
    await load.waitForResponses(200, 20_000);
    phases.push(await deploy('v2: canary 20% → 50% → 100%, judged by metrics', releases.v2, 'canary'));
    phases.push(await deploy(`v3: a bad release (${Math.round(badErrorRate * 100)}% of requests fail)`, releases.v3, 'canary'));
    // A moment on v2 alone after the rollback, so the load shows it is whole again.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    const report: LoadReport = await load.stop();
    load = undefined;

    log('\n== Where each release is ==');
    const listed = await cli.run(['releases']);
    const status = await statusOf(configFor(releases.v2, 'canary'));
    const placement = placementOf(status, engines);
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
      engines,
      image,
      releaseCreates,
      releases: listed,
      placement,
      deployWindows,
    };
  } finally {
    await load?.stop().catch(() => undefined);
    log('\n== Tear down ==');
    await tearDown(cli, [machine, second], runLabel, second, log).catch((error: unknown) => log(`tear down: ${error instanceof Error ? error.message : String(error)}`));
    if (options.keepState === false) await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
  }
}

/** `baton down`, then the second engine stopped and any container of the demo left on the machine's engine removed (a crash halfway leaves some). */
async function tearDown(cli: BatonCli, engines: readonly { socketPath: string }[], runLabel: string, second: { name: string; stop(): Promise<void> }, log: (line: string) => void): Promise<void> {
  try {
    await cli.run(['down']);
  } finally {
    try {
      const left = await removeDemoContainers(engines, runLabel);
      if (left > 0) log(`Removed ${left} container${left === 1 ? '' : 's'} of this run that baton down had not stopped.`);
    } finally {
      await second.stop();
      log(`${second.name} stopped; its socket, data and bridge are removed.`);
    }
  }
}

/** What the config's release says at that moment, for the command's echo: `release v3: baton-demo-orders:… with ORDERS_FAULT_ERROR_RATE=0.3`. */
function describeRelease(release: DemoRelease): string {
  const env = Object.entries(release.env ?? {}).map(([name, value]) => `${name}=${value}`);
  return `release ${release.version}: ${release.image}${env.length === 0 ? '' : ` with ${env.join(' ')}`}`;
}

async function statusOf(config: ReturnType<typeof dockerDemoConfig>): Promise<ServiceStatus> {
  return readStatus(resolveDeployConfig(config, { cwd: DEMO_PACKAGE_DIR }));
}

function routerUrl(status: ServiceStatus): string {
  if (status.router === undefined || 'error' in status.router) throw new Error(`the router is not running: ${status.router && 'error' in status.router ? status.router.error : 'not started'}`);
  return status.router.url;
}

/**
 * The deploy's outcome as the journal recorded it: `baton deploy` prints it
 * for people, and the demo reads it where `baton status` does.
 */
async function outcomeOf(config: ReturnType<typeof dockerDemoConfig>, command: BatonCommandResult): Promise<DeployCommandOutcome> {
  const deploy = (await statusOf(config)).deploy;
  if (deploy === undefined) throw new Error(`${command.command} exited ${command.code} without a deploy in the journal: ${command.stderr.trim()}`);
  const outcome: DeployCommandOutcome = {
    deployId: deploy.id,
    phase: deploy.phase === 'succeeded' || deploy.phase === 'rolled-back' || deploy.phase === 'failed' ? deploy.phase : 'paused',
    to: deploy.to,
    verdicts: [],
    report: { json: join(config.stateDir as string, 'reports', deploy.id, 'report.json'), html: join(config.stateDir as string, 'reports', deploy.id, 'report.html') },
  };
  if (deploy.from !== undefined) outcome.from = deploy.from;
  if (deploy.reason !== undefined && outcome.phase !== 'succeeded') outcome.reason = deploy.reason;
  return outcome;
}
