import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import type { ResolvedDeployConfig } from './deploy-config.js';
import type { Router } from './model.js';
import { loadRouterProvider, PROVIDER_KIND_PATTERN, providerInstalled } from './provider-lookup.js';
import type { RouterProvider } from './providers.js';
import { connectRecordedStacks, openStacks, stacksRecorded, takeDownStacks } from './dns/stack-routers.js';
import { writeFileAtomic } from './internal/atomic-file.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './internal/private-dir.js';

/** Which router a service's state directory runs: a router package's kind (`builtin`, `haproxy`, `nginx`...). */
export type RouterKind = string;

/**
 * Where a service keeps each part of its state (short names: unix socket
 * paths are limited to 107 bytes). `router` is the running router's own
 * directory (its state, config, admin socket); `logs` keeps the logs of
 * routers taken down (`baton down`), which are the user's records.
 */
export function statePaths(stateDir: string): { journal: string; router: string; routerKind: string; instances: string; reports: string; logs: string; artifacts: string; releases: string; stacks: string } {
  return {
    journal: join(stateDir, 'journal'),
    router: join(stateDir, 'r'),
    routerKind: join(stateDir, 'router-kind'),
    instances: join(stateDir, 'instances'),
    reports: join(stateDir, 'reports'),
    logs: join(stateDir, 'logs'),
    artifacts: join(stateDir, 'artifacts'),
    releases: join(stateDir, 'releases'),
    stacks: join(stateDir, 'stacks'),
  };
}

/** What Baton keeps directly in a state directory (see {@link statePaths}), temporary files included. */
export function isStateDirEntry(name: string): boolean {
  return /^(?:journal|r|router-kind|stacks|instances|reports|logs|artifacts|releases|control\.json|history\.jsonl|env|approvals)$|^router-kind\..*\.tmp$|^\.control\.json\./.test(name);
}

/**
 * True when HAProxy can run here: `@baton/router-haproxy` is installed
 * (looked up from `from`) and finds the `haproxy` binary. `router.kind: auto`
 * picks HAProxy then, the built-in router otherwise.
 */
async function haproxyAvailable(from: readonly string[] = [process.cwd()]): Promise<boolean> {
  if (!providerInstalled('router', 'haproxy', { from })) return false;
  return (await loadRouterProvider('haproxy', { from })).unavailable() === undefined;
}

/** The router kind the state directory runs (written once its router started, removed by `baton down`). */
export function recordedRouterKind(stateDir: string): Promise<RouterKind | undefined> {
  return recordedKindAt(statePaths(stateDir).routerKind);
}

/** The router kind recorded in `kindFile` (a service's router, or one stack's). */
export async function recordedKindAt(kindFile: string): Promise<RouterKind | undefined> {
  try {
    const kind = (await readFile(kindFile, 'utf8')).trim();
    return PROVIDER_KIND_PATTERN.test(kind) ? kind : undefined;
  } catch {
    return undefined;
  }
}

/** For people: `built-in`, `HAProxy`, `nginx`; another package's kind as it is. */
export function routerName(kind: RouterKind): string {
  return ({ builtin: 'built-in', haproxy: 'HAProxy', nginx: 'nginx' } as Record<string, string>)[kind] ?? kind;
}

/** The router package of `kind`, looked up where the config says (`router.package` applies to the configured kind). */
export function routerProviderOf(config: Pick<ResolvedDeployConfig, 'router' | 'lookupFrom'>, kind: RouterKind): Promise<RouterProvider> {
  const packageName = kind === config.router.kind ? config.router.package : undefined;
  return loadRouterProvider(kind, { from: config.lookupFrom, ...(packageName === undefined ? {} : { packageName }) });
}

/**
 * Connects to the service's router, starting it first when it is not running.
 * The kind is the one the state directory already runs, else the config's
 * (`auto`: HAProxy when it can run here, the built-in router otherwise).
 * Switching kinds under live traffic is refused: run `baton down` first.
 * Without `router.port`, a router started here takes a free port, and keeps
 * it across restarts (a reboot, a crash) until `baton down`; `onStart` hears
 * of a start.
 */
export async function connectOrStartRouter(config: ResolvedDeployConfig, options: { start: boolean; onStart?: (kind: RouterKind) => void } = { start: true }): Promise<Router | undefined> {
  const paths = statePaths(config.stateDir);
  const dnsSwitch = config.strategy.type === 'blue-green' ? config.strategy.switch : undefined;
  // Blue/green by DNS: a router per color, each on its own address, and the record choosing between them.
  if (dnsSwitch !== undefined) {
    if ((await recordedRouterKind(config.stateDir)) !== undefined) {
      throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `${config.service} is served by one router, and the config asks for blue/green by DNS between two stacks; run \`baton down\` first to switch.`);
    }
    return openStacks(config, dnsSwitch, options);
  }
  if (await stacksRecorded(config.stateDir)) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `${config.service} is served by two stacks behind a DNS record, and the config asks for one router; run \`baton down\` first to switch.`);
  }
  return connectOrStartRouterAt(config, { dir: paths.router, kindFile: paths.routerKind }, options);
}

/**
 * Connects to the router of `where.dir` (its kind recorded in `where.kindFile`),
 * starting it on `where.host` first when it is not running: the service's
 * one router, or one stack's of a DNS switch.
 */
export async function connectOrStartRouterAt(
  config: ResolvedDeployConfig,
  where: { dir: string; kindFile: string; host?: string },
  options: { start: boolean; onStart?: (kind: RouterKind) => void },
): Promise<Router | undefined> {
  const recorded = await recordedKindAt(where.kindFile);
  const wanted: RouterKind = config.router.kind === 'auto' ? (recorded ?? ((await haproxyAvailable(config.lookupFrom)) ? 'haproxy' : 'builtin')) : config.router.kind;
  if (recorded !== undefined && recorded !== wanted) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `${config.service} is served by the ${routerName(recorded)} router, and the config asks for ${wanted}; run \`baton down\` first to switch routers.`);
  }
  const provider = await routerProviderOf(config, wanted);
  try {
    return await provider.connect(where.dir);
  } catch (error) {
    // Running but unreachable (admin socket missing or refusing): a clear error before any traffic moves,
    // never a second router beside it. Not running at all (first deploy, a rebooted machine): start it.
    if (!options.start || (await provider.isRunning(where.dir))) throw error;
  }
  const unavailable = provider.unavailable();
  if (unavailable !== undefined) throw new BatonError('BATON_ERR_ROUTER', `router.kind is ${wanted}, but ${unavailable}`);
  await ensurePrivateDir(config.stateDir, isStateDirEntry);
  // No router recorded: whatever the router directory holds is left over (a `baton down` of an older
  // Baton kept it, or a router started but never recorded), maybe another kind's, whose files the
  // wanted router would refuse. A recorded router that is not running (a reboot) keeps its
  // backends and port for its restart.
  if (recorded === undefined) await takeDownRouterAt(where, config.lookupFrom, statePaths(config.stateDir).logs);
  const { limits, expose, trustForwarded } = config.router;
  const router = await provider.start({
    dir: where.dir,
    ...(config.router.port === undefined ? {} : { port: config.router.port }),
    ...(where.host === undefined ? {} : { host: where.host }),
    readinessPath: config.paths.readiness,
    limits,
    trustForwarded,
    expose: { ...expose, metricsPaths: [config.paths.metrics], probePaths: probePathsOf(config) },
  });
  await writeFileAtomic(where.kindFile, `${wanted}\n`);
  options.onStart?.(wanted);
  return router;
}

/**
 * The router the state directory runs, connected, whatever the config asks
 * for (`baton down` drains the one that routes now); undefined when none is
 * recorded. Rejects when it is recorded but cannot be reached.
 */
export async function connectRecordedRouter(stateDir: string, from: readonly string[] = [process.cwd()]): Promise<Router | undefined> {
  const kind = await recordedRouterKind(stateDir);
  // A DNS blue/green service has a router per stack instead: both, as one.
  if (kind === undefined) return connectRecordedStacks(stateDir, from);
  return (await loadRouterProvider(kind, { from })).connect(statePaths(stateDir).router);
}

/** The probe paths the router guards: the config's readiness and liveness, and Baton's default startup and health paths. */
function probePathsOf(config: ResolvedDeployConfig): string[] {
  return [...new Set([config.paths.readiness, config.paths.liveness, '/startupz', '/healthz'])];
}

/** True when the router process of `dir` runs (whether or not its admin socket answers). */
export async function routerProcessRunning(kind: RouterKind, dir: string, from: readonly string[] = [process.cwd()]): Promise<boolean> {
  return (await loadRouterProvider(kind, { from })).isRunning(dir);
}

/** The kinds `baton down` looks for in a router directory nobody recorded: Baton's own routers, where installed. */
const KNOWN_ROUTER_KINDS: readonly RouterKind[] = ['builtin', 'haproxy', 'nginx'];

/**
 * Stops whatever router runs on the state directory (the recorded kind, or,
 * when none is recorded, any of Baton's routers installed here: one started
 * but never recorded) and removes the router's state — its directory and the
 * recorded kind — so the next deploy starts any router afresh. Its logs are
 * kept, appended to `<stateDir>/logs/<kind>-router.log`: they are the user's
 * record of what the router saw. A router that will not stop keeps its state
 * (it still runs).
 */
export async function takeDownRouter(stateDir: string, from: readonly string[] = [process.cwd()]): Promise<void> {
  const paths = statePaths(stateDir);
  await takeDownRouterAt({ dir: paths.router, kindFile: paths.routerKind }, from, paths.logs);
  await takeDownStacks(stateDir, from);
}

/** {@link takeDownRouter} of the router in `where.dir`; its logs go to `<logs>/<kind>-router.log` (`<color>-<kind>-router.log` for a stack's). */
export async function takeDownRouterAt(where: { dir: string; kindFile: string; logPrefix?: string }, from: readonly string[], logs: string): Promise<void> {
  const recorded = await recordedKindAt(where.kindFile);
  const kinds = recorded !== undefined ? [recorded] : KNOWN_ROUTER_KINDS.filter((kind) => providerInstalled('router', kind, { from }));
  for (const kind of kinds) {
    const provider = await loadRouterProvider(kind, { from });
    await provider.stop(where.dir);
    for (const log of provider.logFiles) await keepLog(join(where.dir, log), join(logs, `${where.logPrefix ?? ''}${kind}-router.log`), logs);
  }
  await rm(where.dir, { recursive: true, force: true });
  await rm(where.kindFile, { force: true });
}

/** Appends `from` (when there is one and it is not empty) to `to`, private like every file of the state directory. */
async function keepLog(from: string, to: string, dir: string): Promise<void> {
  let text: Buffer;
  try {
    if ((await stat(from)).size === 0) return;
    text = await readFile(from);
  } catch {
    return;
  }
  await ensurePrivateDir(dir, () => true);
  const handle = await open(to, 'a', PRIVATE_FILE_MODE);
  try {
    await handle.chmod(PRIVATE_FILE_MODE);
    await handle.writeFile(text);
  } finally {
    await handle.close();
  }
}
