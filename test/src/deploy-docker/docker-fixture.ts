// Shared set-up of the Docker deploy tests: two real engines (the machine's
// and a private second one started per test file), one image of the real
// orders service per run, and services with names of their own, so tests of
// files running side by side on the shared engine never see each other's
// containers. Everything a test starts is taken down by label and by engine,
// also when it fails.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readStatus, resolveDeployConfig, runDeployCommand, stopService, type DeployConfig, type DeployEvent, type ReleaseSpec, type ResolvedDeployConfig } from '@baton/deploy';
import { buildNodeImage, dockerUnavailable, NODE_IMAGE_COMMAND, ensureDockerEngine, removeContainersLabelled, startDockerEngine } from '@baton/testing/docker';
import type { DeployedService } from '../deploy/deploy-fixture.js';
import { startLoad, type LoadReport, type LoadRequest, type RunningLoad } from '../harness/index.js';
import { containersLabelled, type EngineAddress } from './engine-api.js';

export const SERVICE_MAIN = fileURLToPath(new URL('../../../examples/orders-express/dist/main.js', import.meta.url));
/** Where `@baton/platform-docker` is installed for these tests (test/package.json), as a project installs it beside Baton. */
export const TEST_PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));
/** The port the service listens on inside its container (the platform publishes it on an ephemeral host port). */
export const CONTAINER_PORT = 8080;

/**
 * Why these suites cannot run here (no dockerd, not root...), or undefined;
 * said once in a visible line, and the suite skips (`.ci/run` installs docker.io).
 */
export function dockerSkipReason(suite: string): string | undefined {
  const reason = dockerUnavailable();
  if (reason !== undefined) console.log(`${suite}: skipped, ${reason}`);
  return reason;
}

/** One engine of the fleet: its platform host entry and how to stop it (the private engine only). */
export interface RigEngine extends EngineAddress {
  socketPath: string;
  /** The address its published ports listen on, which the router sends traffic to. */
  address: string;
  /** The private engine only: stop it (SIGTERM) or kill it (SIGKILL), as a host lost mid-deploy. */
  stop?(): Promise<void>;
  kill?(): Promise<void>;
}

/** Two engines and the orders image: what every test of a file shares. */
export interface DockerRig {
  /** The machine's engine first, the file's private engine second. */
  engines: [RigEngine, RigEngine];
  /** The orders service's image (tag), on the machine's engine; the platform copies it to the other when it pins a release. */
  image: string;
  /** Stops the private engine; every service must be closed first. */
  close(): Promise<void>;
}

export async function startDockerRig(): Promise<DockerRig> {
  const shared = await ensureDockerEngine();
  // Its tag is a hash of the bundle: files building at once share one image instead of racing two.
  const image = await buildNodeImage(shared, { name: 'baton-e2e-orders', entry: SERVICE_MAIN });
  const own = await startDockerEngine();
  const engines: [RigEngine, RigEngine] = [
    { name: shared.name, socketPath: shared.socketPath, docker: shared.docker, address: shared.address },
    {
      name: own.name,
      socketPath: own.socketPath,
      docker: own.docker,
      address: own.address,
      stop: () => own.stop(),
      kill: () => own.kill(),
    },
  ];
  return { engines, image: image.tag, close: () => own.stop() };
}

/**
 * Overrides that make the orders image run `node -e <script>` instead of the
 * service (the image has no entrypoint; its command is {@link NODE_IMAGE_COMMAND}).
 */
export function runningScript(script: string): Partial<ReleaseSpec> {
  return { command: NODE_IMAGE_COMMAND[0], args: ['-e', script] };
}

/** The `platform` section of a config that runs on both engines of the rig. */
export function dockerPlatform(rig: DockerRig): Record<string, unknown> {
  return {
    kind: 'docker',
    hosts: rig.engines.map((engine) => ({ name: engine.name, docker: engine.docker, address: engine.address })),
    containerPort: CONTAINER_PORT,
    // A loaded CI machine (several engines, HAProxy, load) was seen taking over 10 s, the default, to start a
    // container; these tests are about deploys, not about a slow engine (engine-lost.test.ts sets its own).
    engineTimeoutMs: 30_000,
  };
}

/** A container of a service as its engine lists it. */
export interface ServiceContainer {
  engine: string;
  id: string;
  state: string;
  release: string | undefined;
  instance: string | undefined;
}

/** A service on the rig: the deploy fixture's helpers, plus its containers as the engines see them. */
export interface DockerService extends DeployedService {
  /** The service's unique name, also its containers' `baton.service` label. */
  name: string;
  rig: DockerRig;
  /** A release of the orders image; `env` makes a bad one on purpose, `overrides` e.g. {@link exitingAtStart} one that cannot start. */
  release(version: string, env?: Record<string, string>, overrides?: Partial<ReleaseSpec>): ReleaseSpec;
  /** The platform section of the config (both engines). */
  platform(): Record<string, unknown>;
  /** Every container of this service on both engines (or those given), running or not. */
  containers(engines?: readonly RigEngine[]): Promise<ServiceContainer[]>;
}

export async function createDockerService(rig: DockerRig, base: Partial<DeployConfig> = {}): Promise<DockerService> {
  const name = `orders-${randomBytes(4).toString('hex')}`;
  // Short: the routers' unix sockets live under it (107 bytes at most).
  const stateDir = await mkdtemp('/tmp/bdd-');
  const events: DeployEvent[] = [];
  const eventTimes: number[] = [];
  const placements = new Map<string, string>();
  const platform = (): Record<string, unknown> => ({ ...dockerPlatform(rig), ...base.platform });
  const release = (version: string, env: Record<string, string> = {}, overrides: Partial<ReleaseSpec> = {}): ReleaseSpec => ({
    version,
    image: rig.image,
    env: { BATON_PROPAGATION_DELAY_MS: '200', ...env },
    ...overrides,
  });
  const config = (spec: ReleaseSpec, overrides: Partial<DeployConfig> = {}): ResolvedDeployConfig =>
    resolveDeployConfig(
      {
        service: name,
        instances: 3,
        stateDir,
        // A container's start (and, the first time, the image's copy to an engine): seen taking over 30 s on two shared, saturated cores.
        timeouts: { readyMs: 60_000, drainMs: 10_000, stopMs: 10_000 },
        ...base,
        platform: platform(),
        ...overrides,
        release: spec,
      },
      { cwd: stateDir, lookupFrom: [TEST_PACKAGE_DIR] },
    );
  const containers = async (engines: readonly RigEngine[] = rig.engines): Promise<ServiceContainer[]> => {
    const found: ServiceContainer[] = [];
    for (const engine of engines) {
      for (const container of await containersLabelled(engine, { 'baton.service': name })) {
        found.push({ engine: engine.name, id: container.id, state: container.state, release: container.labels['baton.release'], instance: container.labels['baton.instance'] });
      }
    }
    return found;
  };
  return {
    name,
    rig,
    stateDir,
    events,
    release,
    platform,
    containers,
    config,
    deploy: (spec, overrides, onEvent) =>
      runDeployCommand(config(spec, overrides), 'deploy', {
        onEvent: (event) => {
          events.push(event);
          eventTimes.push(Date.now());
          // Where each instance runs, from the engines (the events do not say), for a failure's timeline.
          if (event.type === 'instance-started') void containers().then((all) => all.forEach((container) => container.instance && placements.set(container.instance, container.engine)), () => undefined);
          onEvent?.(event);
        },
      }),
    async routerUrl() {
      const status = await readStatus(config(release('any')));
      if (status.router === undefined || 'error' in status.router) throw new Error(`no router: ${JSON.stringify(status.router)}`);
      return status.router.url;
    },
    async servingReleases() {
      const status = await readStatus(config(release('any')));
      if (status.router === undefined || 'error' in status.router) return [];
      return [...new Set(status.router.backends.filter((backend) => backend.state === 'ready' && backend.weight > 0).map((backend) => backend.release))].sort();
    },
    timeline(since) {
      const lines = events.map((event, index) => `  +${(eventTimes[index] ?? since) - since} ms ${event.type}: ${event.message}`);
      const logPath = join(stateDir, 'r', 'haproxy.log');
      const log = existsSync(logPath) ? readFileSync(logPath, 'utf8').trim().split('\n').slice(-30) : [];
      const where = [...placements].map(([instance, engine]) => `${instance}@${engine}`).join(', ');
      return [`deploy events (ms after the load started):`, ...lines, `instances on engines: ${where}`, ...(log.length > 0 ? ['HAProxy log (tail):', ...log.map((line) => `  ${line}`)] : [])].join('\n');
    },
    async close() {
      // Baton's own `down` first (its router and instances); then whatever it left, by label, on every engine that still answers.
      await stopService(config(release('any'))).catch(() => undefined);
      for (const engine of rig.engines) await removeContainersLabelled(engine, `baton.service=${name}`).catch(() => undefined);
      await rm(stateDir, { recursive: true, force: true });
    },
  };
}

/** The releases of running containers per engine, e.g. `{ a: ['v2', 'v2'], b: ['v2'] }`, for assertions a person can read. */
export async function runningByEngine(service: DockerService, engines: readonly RigEngine[] = service.rig.engines): Promise<Record<string, string[]>> {
  const byEngine: Record<string, string[]> = Object.fromEntries(engines.map((engine) => [engine.name, []]));
  for (const container of await service.containers(engines)) {
    if (container.state === 'running') byEngine[container.engine]?.push(container.release ?? '?');
  }
  for (const releases of Object.values(byEngine)) releases.sort();
  return byEngine;
}

/** The deploy suite's mix: reads and writes. */
export const READS_AND_WRITES: LoadRequest[] = [{ path: '/orders?limit=5' }, { method: 'POST', path: '/orders', body: JSON.stringify({ customer: 'ada', items: [{ sku: 'e2e-1', quantity: 1 }] }) }];
/** Reads only (idempotent: the built-in router sends one that died with its backend to another). */
export const READS: LoadRequest[] = [{ path: '/orders?limit=5' }];

/**
 * The deploy suite's steady load (12 keep-alive connections, 150 req/s,
 * bounded in count and time), with a longer per-request timeout than its 5 s:
 * containers, two engines and a router on two shared cores were seen
 * answering a read of v1 — one no deploy step touched — in over 5 s. A
 * request the deploy drops is still counted: a reset, an error, a lost
 * request, or a timeout after 15 s.
 */
export function dockerLoad(url: string, requests: LoadRequest[] = READS_AND_WRITES): RunningLoad {
  return startLoad({ url, connections: 12, ratePerSecond: 150, maxDurationMs: 150_000, maxRequests: 60_000, timeoutMs: 15_000, requests });
}

/** One line of figures per test in the run's output: what the report of this suite quotes. */
export function logFigures(title: string, report: LoadReport, extra = ''): void {
  console.log(`figures: ${title}: ${report.failed} failed of ${report.sent} sent (${report.ok} ok, ${report.statuses['500'] ?? 0} × 500) over ${(report.durationMs / 1000).toFixed(1)} s${extra ? `; ${extra}` : ''}`);
}
