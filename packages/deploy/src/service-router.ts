import { open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import type { ResolvedDeployConfig } from './deploy-config.js';
import type { Router } from './model.js';
import { connectBuiltinRouter, startBuiltinRouter, stopBuiltinRouter } from './routers/builtin-router.js';
import { connectHaproxyRouter, startHaproxyRouter, stopHaproxyRouter } from './routers/haproxy-router.js';
import { findHaproxy, runningMaster } from './routers/haproxy-process.js';
import { builtinRouterPaths, readProcessRecord } from './routers/internal/builtin-state.js';
import { writeFileAtomic } from './internal/atomic-file.js';
import { ensurePrivateDir, PRIVATE_FILE_MODE } from './internal/private-dir.js';
import { isProcessAlive } from './internal/process-identity.js';

/** Which router a service's state directory runs. */
export type RouterKind = 'haproxy' | 'builtin';

/**
 * Where a service keeps each part of its state (short names: unix socket
 * paths are limited to 107 bytes). `router` is the running router's own
 * directory (its state, config, admin socket); `logs` keeps the logs of
 * routers taken down (`baton down`), which are the user's records.
 */
export function statePaths(stateDir: string): { journal: string; router: string; routerKind: string; instances: string; reports: string; logs: string } {
  return {
    journal: join(stateDir, 'journal'),
    router: join(stateDir, 'r'),
    routerKind: join(stateDir, 'router-kind'),
    instances: join(stateDir, 'instances'),
    reports: join(stateDir, 'reports'),
    logs: join(stateDir, 'logs'),
  };
}

/** What Baton keeps directly in a state directory (see {@link statePaths}), temporary files included. */
export function isStateDirEntry(name: string): boolean {
  return /^(?:journal|r|router-kind|instances|reports|logs|control\.json)$|^router-kind\..*\.tmp$|^\.control\.json\./.test(name);
}

/** True when HAProxy is installed (on PATH, or in /usr/sbin, /usr/local/sbin). */
export function haproxyInstalled(): boolean {
  return findHaproxy() !== undefined;
}

/** The router kind the state directory runs (written once its router started, removed by `baton down`). */
export async function recordedRouterKind(stateDir: string): Promise<RouterKind | undefined> {
  try {
    const kind = (await readFile(statePaths(stateDir).routerKind, 'utf8')).trim();
    return kind === 'haproxy' || kind === 'builtin' ? kind : undefined;
  } catch {
    return undefined;
  }
}

/** For people: `built-in` / `HAProxy`. */
export function routerName(kind: RouterKind): string {
  return kind === 'haproxy' ? 'HAProxy' : 'built-in';
}

/**
 * Connects to the service's router, starting it first when it is not running.
 * The kind is the one the state directory already runs, else the config's
 * (`auto`: HAProxy when installed, the built-in router otherwise). Switching
 * kinds under live traffic is refused: run `baton down` first. Without
 * `router.port`, a router started here takes a free port, and keeps it across
 * restarts (a reboot, a crash) until `baton down`; `onStart` hears of a start.
 */
export async function connectOrStartRouter(config: ResolvedDeployConfig, options: { start: boolean; onStart?: (kind: RouterKind) => void } = { start: true }): Promise<Router | undefined> {
  const paths = statePaths(config.stateDir);
  const recorded = await recordedRouterKind(config.stateDir);
  const wanted: RouterKind = config.router.kind === 'auto' ? (recorded ?? (haproxyInstalled() ? 'haproxy' : 'builtin')) : config.router.kind;
  if (recorded !== undefined && recorded !== wanted) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `${config.service} is served by the ${routerName(recorded)} router, and the config asks for ${wanted}; run \`baton down\` first to switch routers.`);
  }
  const connect = (): Promise<Router> => (wanted === 'haproxy' ? connectHaproxyRouter({ stateDir: paths.router }) : connectBuiltinRouter({ stateDir: paths.router }));
  try {
    return await connect();
  } catch (error) {
    // Running but unreachable (admin socket missing or refusing): a clear error before any traffic moves,
    // never a second router beside it. Not running at all (first deploy, a rebooted machine): start it.
    if (!options.start || (await routerProcessRunning(wanted, paths.router))) throw error;
  }
  await ensurePrivateDir(config.stateDir, isStateDirEntry);
  // No router recorded: whatever the router directory holds is left over (a `baton down` of an older
  // Baton kept it, or a router started but never recorded), maybe another kind's, whose files the
  // wanted router would refuse. A recorded router that is not running (a reboot) keeps its
  // backends and port for its restart.
  if (recorded === undefined) await takeDownRouter(config.stateDir);
  let router: Router;
  if (wanted === 'haproxy') {
    if (findHaproxy() === undefined) throw new BatonError('BATON_ERR_ROUTER', 'router.kind is haproxy, but `haproxy` is not installed: install it (apt-get install haproxy) or use router.kind builtin.');
    const { limits, expose, trustForwarded } = config.router;
    router = await startHaproxyRouter({
      stateDir: paths.router,
      readinessPath: config.paths.readiness,
      ...(config.router.port === undefined ? {} : { port: config.router.port }),
      maxConnections: limits.maxConnections,
      timeouts: { httpRequestMs: limits.headersTimeoutMs, clientMs: limits.bodyTimeoutMs, keepAliveMs: limits.keepAliveTimeoutMs },
      trustForwarded,
      expose: { ...expose, metricsPaths: [config.paths.metrics], probePaths: probePathsOf(config) },
    });
  } else {
    const { limits, expose, trustForwarded } = config.router;
    await startBuiltinRouter({
      stateDir: paths.router,
      ...(config.router.port === undefined ? {} : { port: config.router.port }),
      limits,
      trustForwarded,
      expose: { ...expose, metricsPaths: [config.paths.metrics], probePaths: probePathsOf(config) },
    });
    router = await connect();
  }
  await writeFileAtomic(paths.routerKind, `${wanted}\n`);
  options.onStart?.(wanted);
  return router;
}

/**
 * The router the state directory runs, connected, whatever the config asks
 * for (`baton down` drains the one that routes now); undefined when none is
 * recorded. Rejects when it is recorded but cannot be reached.
 */
export async function connectRecordedRouter(stateDir: string): Promise<Router | undefined> {
  const kind = await recordedRouterKind(stateDir);
  if (kind === undefined) return undefined;
  const dir = statePaths(stateDir).router;
  return kind === 'haproxy' ? connectHaproxyRouter({ stateDir: dir }) : connectBuiltinRouter({ stateDir: dir });
}

/** The probe paths the router guards: the config's readiness and liveness, and Baton's default startup and health paths. */
function probePathsOf(config: ResolvedDeployConfig): string[] {
  return [...new Set([config.paths.readiness, config.paths.liveness, '/startupz', '/healthz'])];
}

/** True when the router process of `dir` runs (whether or not its admin socket answers). */
export async function routerProcessRunning(kind: RouterKind, dir: string): Promise<boolean> {
  if (kind === 'haproxy') return (await runningMaster(join(dir, 'haproxy.pid'), join(dir, 'haproxy.cfg'))) !== undefined;
  const record = await readProcessRecord(builtinRouterPaths(dir).stateFile);
  // A zombie (exited, its new parent not reaping it) is not running.
  return record !== undefined && isProcessAlive(record.pid, record.identity);
}

/** The traffic URL the router of `dir` had (both kinds record it in `router.json`), which a restart keeps. */
export async function recordedRouterUrl(dir: string): Promise<string | undefined> {
  try {
    const record = JSON.parse(await readFile(join(dir, 'router.json'), 'utf8')) as { url?: unknown };
    return typeof record.url === 'string' ? record.url : undefined;
  } catch {
    return undefined;
  }
}

/** The logs a router writes in its directory, by kind. */
const ROUTER_LOGS: Record<RouterKind, string> = { builtin: 'router.log', haproxy: 'haproxy.log' };

/**
 * Stops whatever router runs on the state directory (either kind: the
 * recorded one, or one started but never recorded) and removes the router's
 * state — its directory and the recorded kind — so the next deploy starts
 * any router afresh. Its log is kept, appended to
 * `<stateDir>/logs/<kind>-router.log`: it is the user's record of what the
 * router saw. A router that will not stop keeps its state (it still runs).
 */
export async function takeDownRouter(stateDir: string): Promise<void> {
  const paths = statePaths(stateDir);
  await stopHaproxyRouter({ stateDir: paths.router });
  await stopBuiltinRouter({ stateDir: paths.router });
  for (const kind of ['builtin', 'haproxy'] as const) await keepLog(join(paths.router, ROUTER_LOGS[kind]), join(paths.logs, `${kind}-router.log`), paths.logs);
  await rm(paths.router, { recursive: true, force: true });
  await rm(paths.routerKind, { force: true });
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
