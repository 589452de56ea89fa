import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import { createMetricsAnalysis } from './analysis/metrics-analysis.js';
import { clearControl, requestControl, type ControlCommand } from './control.js';
import type { ResolvedDeployConfig } from './deploy-config.js';
import { createFileJournal } from './journal/file-journal.js';
import type { BackendStatus, DeployEvent, Journal, Platform, Router } from './model.js';
import { Orchestrator, type DeployOutcome } from './orchestrator.js';
import { createLocalProcessPlatform } from './platforms/local-process-platform.js';
import { buildReport, writeReport } from './report.js';
import { connectBuiltinRouter, startBuiltinRouter, stopBuiltinRouter } from './routers/builtin-router.js';
import { connectHaproxyRouter, startHaproxyRouter, stopHaproxyRouter } from './routers/haproxy-router.js';
import { findHaproxy, runningMaster } from './routers/haproxy-process.js';
import { builtinRouterPaths, readProcessRecord } from './routers/internal/builtin-state.js';
import { writeFileAtomic } from './internal/atomic-file.js';
import { ensurePrivateDir } from './internal/private-dir.js';
import { isProcessAlive } from './internal/process-identity.js';
import { createRedactor, secretValuesOf, type Redactor } from './secrets.js';
import { isFinished, type ServiceState } from './service-state.js';

/** Which router a service's state directory runs. */
export type RouterKind = 'haproxy' | 'builtin';

/** Where a service keeps each part of its state (short names: unix socket paths are limited to 107 bytes). */
export function statePaths(stateDir: string): { journal: string; router: string; routerKind: string; instances: string; reports: string } {
  return { journal: join(stateDir, 'journal'), router: join(stateDir, 'r'), routerKind: join(stateDir, 'router-kind'), instances: join(stateDir, 'instances'), reports: join(stateDir, 'reports') };
}

/** What Baton keeps directly in a state directory (see {@link statePaths}), temporary files included. */
function isStateDirEntry(name: string): boolean {
  return /^(?:journal|r|router-kind|instances|reports|control\.json)$|^router-kind\..*\.tmp$|^\.control\.json\./.test(name);
}

/** True when HAProxy is installed (on PATH, or in /usr/sbin, /usr/local/sbin). */
export function haproxyInstalled(): boolean {
  return findHaproxy() !== undefined;
}

async function recordedRouterKind(stateDir: string): Promise<RouterKind | undefined> {
  try {
    const kind = (await readFile(statePaths(stateDir).routerKind, 'utf8')).trim();
    return kind === 'haproxy' || kind === 'builtin' ? kind : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Connects to the service's router, starting it first when it is not running.
 * The kind is the one the state directory already runs, else the config's
 * (`auto`: HAProxy when installed, the built-in router otherwise). Switching
 * kinds under live traffic is refused: run `baton down` first.
 */
export async function connectOrStartRouter(config: ResolvedDeployConfig, options: { start: boolean } = { start: true }): Promise<Router | undefined> {
  const paths = statePaths(config.stateDir);
  const recorded = await recordedRouterKind(config.stateDir);
  const wanted: RouterKind = config.router.kind === 'auto' ? (recorded ?? (haproxyInstalled() ? 'haproxy' : 'builtin')) : config.router.kind;
  if (recorded !== undefined && recorded !== wanted) {
    throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `${config.service} is served by the ${recorded === 'haproxy' ? 'HAProxy' : 'built-in'} router, and the config asks for ${wanted}; run \`baton down\` first to switch routers.`);
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
  return router;
}

/** The probe paths the router guards: the config's readiness and liveness, and Baton's default startup and health paths. */
function probePathsOf(config: ResolvedDeployConfig): string[] {
  return [...new Set([config.paths.readiness, config.paths.liveness, '/startupz', '/healthz'])];
}

/** True when the router process of `dir` runs (whether or not its admin socket answers). */
async function routerProcessRunning(kind: RouterKind, dir: string): Promise<boolean> {
  if (kind === 'haproxy') return (await runningMaster(join(dir, 'haproxy.pid'), join(dir, 'haproxy.cfg'))) !== undefined;
  const record = await readProcessRecord(builtinRouterPaths(dir).stateFile);
  // A zombie (exited, its new parent not reaping it) is not running.
  return record !== undefined && isProcessAlive(record.pid, record.identity);
}

/** Options of {@link runDeployCommand}. */
export interface DeployCommandOptions {
  /** Every event, as it happens. */
  onEvent?: (event: DeployEvent) => void;
  /** Ctrl-C: the deploy stops at its next safe point and stays open. */
  signal?: AbortSignal;
  /** Where instances run; default the local process platform in `<stateDir>/instances`. */
  platform?: Platform;
}

/** A deploy's outcome with the paths of its report. */
export interface DeployCommandOutcome extends DeployOutcome {
  report?: { json: string; html: string };
}

/**
 * `baton deploy` / `baton rollback`: takes the journal's lock (one
 * orchestrator per service), connects to (or starts) the router, runs the
 * orchestrator, writes the report, and lets go. Instances and the router keep
 * running after it returns: they serve the traffic.
 */
export async function runDeployCommand(config: ResolvedDeployConfig, command: 'deploy' | 'rollback', options: DeployCommandOptions = {}): Promise<DeployCommandOutcome> {
  const paths = statePaths(config.stateDir);
  // 0700: the journal below holds the releases' environments, the instances' logs what they print.
  await ensurePrivateDir(config.stateDir, isStateDirEntry);
  const journal = createFileJournal<ServiceState>({ dir: paths.journal });
  const lock = await journal.lock();
  let router: Router | undefined;
  const platform = options.platform ?? createLocalProcessPlatform({ stateDir: paths.instances, listenTimeoutMs: config.timeouts.readyMs });
  try {
    router = (await connectOrStartRouter(config)) as Router;
    const orchestrator = await Orchestrator.open({
      config,
      platform,
      router,
      analysis: createMetricsAnalysis({ thresholds: config.analysis, metricsPath: config.paths.metrics, ...(config.metricsToken === undefined ? {} : { token: config.metricsToken }) }),
      journal,
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    let outcome: DeployOutcome;
    if (command === 'deploy') outcome = await orchestrator.deploy();
    else {
      const open = orchestrator.state.deploy;
      if (open !== undefined && !isFinished(open.phase)) outcome = await orchestrator.rollback('rolled back on request (baton rollback)');
      else {
        const previous = orchestrator.state.previous;
        if (previous === undefined) throw new BatonError('BATON_ERR_DEPLOY_FAILED', `There is nothing to roll back to: no deploy in progress and no release before ${orchestrator.state.stable?.version ?? 'the current one'}.`);
        // Going back after a finished deploy is a deploy of the previous release, by the same rules.
        const back = await Orchestrator.open({
          config: { ...config, release: previous },
          platform,
          router,
          analysis: createMetricsAnalysis({ thresholds: config.analysis, metricsPath: config.paths.metrics, ...(config.metricsToken === undefined ? {} : { token: config.metricsToken }) }),
          journal,
          ...(options.onEvent ? { onEvent: options.onEvent } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        outcome = await back.deploy();
      }
    }
    const state = await journal.read();
    const record = state?.deploy;
    if (record === undefined || record.id !== outcome.deployId) return outcome;
    const report = await writeReport(join(paths.reports, record.id), buildReport(config.service, record, await journal.events()));
    return { ...outcome, report };
  } finally {
    await router?.close().catch(() => {});
    await lock.release();
  }
}

/** `baton promote` / `baton abort`: tells the running deploy, or, when none runs, resumes (promote) or rolls back (abort) here. */
export async function sendControl(config: ResolvedDeployConfig, command: ControlCommand, options: Omit<DeployCommandOptions, 'signal'> = {}): Promise<{ message: string; outcome?: DeployCommandOutcome }> {
  const paths = statePaths(config.stateDir);
  const journal = createFileJournal<ServiceState>({ dir: paths.journal });
  const state = await journal.read();
  const open = state?.deploy;
  if (open === undefined || isFinished(open.phase)) {
    throw new BatonError('BATON_ERR_DEPLOY_FAILED', `There is no deploy of ${config.service} in progress to ${command}.`);
  }
  let lock;
  try {
    lock = await journal.lock();
  } catch {
    // An orchestrator is running: it reads the command within a fraction of a second.
    await requestControl(config.stateDir, command, open.id);
    return { message: `Asked the running deploy of ${open.to} to ${command}.` };
  }
  await lock.release();
  await requestControl(config.stateDir, command, open.id);
  if (command === 'abort') {
    await clearControl(config.stateDir);
    const outcome = await runDeployCommand({ ...config, release: open.candidate }, 'rollback', options);
    return { message: `Aborted the deploy of ${open.to}: ${outcome.phase}.`, outcome };
  }
  const outcome = await runDeployCommand({ ...config, release: open.candidate }, 'deploy', options);
  return { message: `Promoted ${open.to}: ${outcome.phase}.`, outcome };
}

/** What `baton status` shows. */
export interface ServiceStatus {
  service: string;
  stateDir: string;
  stable?: string;
  previous?: string;
  router?: { kind: RouterKind; url: string; backends: BackendStatus[] } | { kind: RouterKind; error: string };
  instances: ServiceState['instances'];
  deploy?: { id: string; from?: string; to: string; phase: string; step: string; reason?: string };
}

/** Reads the journal (without its lock: status is safe while a deploy runs) and asks the router for its backends. */
export async function readStatus(config: ResolvedDeployConfig): Promise<ServiceStatus> {
  const paths = statePaths(config.stateDir);
  const journal: Journal<ServiceState> = createFileJournal<ServiceState>({ dir: paths.journal });
  const state = await journal.read();
  const status: ServiceStatus = { service: config.service, stateDir: config.stateDir, instances: state?.instances ?? [] };
  if (state?.stable) status.stable = state.stable.version;
  if (state?.previous) status.previous = state.previous.version;
  const kind = await recordedRouterKind(config.stateDir);
  if (kind !== undefined) {
    try {
      const router = (kind === 'haproxy' ? await connectHaproxyRouter({ stateDir: paths.router }) : await connectBuiltinRouter({ stateDir: paths.router })) as Router;
      status.router = { kind, url: router.url, backends: await router.backends() };
      await router.close();
    } catch (error) {
      status.router = { kind, error: error instanceof Error ? error.message : String(error) };
    }
  }
  const record = state?.deploy;
  if (record !== undefined) {
    const step = record.steps[record.stepIndex];
    status.deploy = { id: record.id, to: record.to, phase: record.phase, step: step === undefined ? 'done' : `${record.stepIndex + 1}/${record.steps.length} ${step.kind}` };
    if (record.from !== undefined) status.deploy.from = record.from;
    // Scrubbed when journaled; again here for a journal an older Baton wrote.
    if (record.reason !== undefined) status.deploy.reason = redactorFor(config, state).text(record.reason);
  }
  return status;
}

/** `baton status` for people. */
export function formatStatus(status: ServiceStatus): string {
  const lines = [`${status.service}: stable ${status.stable ?? '(none)'}${status.previous ? `, previous ${status.previous}` : ''}  (state in ${status.stateDir})`];
  if (status.router === undefined) lines.push('router: not started');
  else if ('error' in status.router) lines.push(`router (${status.router.kind}): ${status.router.error}`);
  else {
    lines.push(`router (${status.router.kind}) at ${status.router.url}:`);
    for (const backend of status.router.backends) lines.push(`  ${backend.id.padEnd(12)} ${backend.release.padEnd(8)} ${backend.state.padEnd(6)} weight ${String(backend.weight).padStart(3)}  in flight ${backend.inFlight}  served ${backend.requestsTotal}`);
  }
  const live = status.instances.filter((instance) => instance.status !== 'stopped');
  lines.push(`instances: ${live.length === 0 ? 'none' : live.map((instance) => `${instance.id} (${instance.status}, :${instance.port})`).join(', ')}`);
  if (status.deploy) lines.push(`deploy ${status.deploy.id}: ${status.deploy.from ? `${status.deploy.from} → ` : ''}${status.deploy.to}, ${status.deploy.phase}, step ${status.deploy.step}${status.deploy.reason ? ` — ${status.deploy.reason}` : ''}`);
  return `${lines.join('\n')}\n`;
}

/** `baton down`: drains and stops every instance, then stops the router. */
export async function stopService(config: ResolvedDeployConfig, options: Omit<DeployCommandOptions, 'signal'> = {}): Promise<void> {
  const paths = statePaths(config.stateDir);
  const journal = createFileJournal<ServiceState>({ dir: paths.journal });
  const lock = await journal.lock();
  try {
    const state = await journal.read();
    const local = createLocalProcessPlatform({ stateDir: paths.instances, listenTimeoutMs: config.timeouts.readyMs });
    const platform = options.platform ?? local;
    // The journal's instances, and any the platform knows that the journal does not (an orchestrator
    // that died between starting one and journaling it).
    const journaled = new Set((state?.instances ?? []).map((instance) => instance.id));
    const orphans = (await (platform.instances ?? local.instances)()).filter((instance) => !journaled.has(instance.id));
    const all = [...(state?.instances ?? []), ...orphans];
    // Every stop runs to its end; the ones that fail are kept in the state and reported below, never dropped.
    const results = await Promise.allSettled(
      all.map(async (instance) => {
        if (platform.isRunning(instance)) await platform.stop(instance, { deadlineMs: config.timeouts.stopMs });
      }),
    );
    const redactor = redactorFor(config, state);
    const failed = all
      .map((instance, index) => ({ instance, result: results[index] }))
      .flatMap(({ instance, result }) => (result?.status === 'rejected' ? [{ instance, error: redactor.text(result.reason instanceof Error ? result.reason.message : String(result.reason)) }] : []));
    const kind = await recordedRouterKind(config.stateDir);
    if (kind === 'haproxy') await stopHaproxyRouter({ stateDir: paths.router });
    if (kind === 'builtin') await stopBuiltinRouter({ stateDir: paths.router });
    // The next deploy may pick another router.
    await rm(paths.routerKind, { force: true });
    if (state !== undefined || failed.length > 0) {
      const kept = failed.map(({ instance }) => ({ ...instance, status: 'draining' as const }));
      const next: ServiceState = state ?? { service: config.service, instances: [], nextInstance: 1 };
      await writeDown(journal, next, kept);
    }
    if (failed.length > 0) {
      for (const { instance, error } of failed) {
        const event: DeployEvent = { atMs: Date.now(), type: 'instance-stop-failed', message: `${instance.id} (${instance.release}) could not be stopped: ${error}.`, data: { id: instance.id, release: instance.release, error } };
        await journal.append(event);
        options.onEvent?.(event);
      }
      throw new BatonError(
        'BATON_ERR_PLATFORM',
        `${failed.length} instance${failed.length === 1 ? '' : 's'} of ${config.service} could not be stopped (they stay in the state; run baton down again): ${failed.map(({ instance, error }) => `${instance.id}: ${error}`).join('; ')}`,
      );
    }
    options.onEvent?.({ atMs: Date.now(), type: 'down', message: `Stopped ${config.service}.` });
  } finally {
    await lock.release();
  }
}

/** The state after `baton down`: no stable release, no instance but `kept` (those that would not stop), no open deploy. */
async function writeDown(journal: Journal<ServiceState>, state: ServiceState, kept: ServiceState['instances']): Promise<void> {
  state.instances = kept;
  delete state.stable;
  // A deploy still open ends here: there is nothing left to resume.
  const open = state.deploy;
  if (open !== undefined && !isFinished(open.phase)) {
    open.phase = 'failed';
    open.reason = `${open.reason ? `${open.reason}; then ` : ''}the service was stopped (baton down)`;
    open.endedAtMs = Date.now();
  }
  await journal.write(state);
}

/** Scrubs the secrets of every release the config and the state know, and of the orchestrator's environment. */
function redactorFor(config: ResolvedDeployConfig, state: ServiceState | undefined): Redactor {
  const releases = [config.release, state?.stable, state?.previous, state?.deploy?.candidate];
  return createRedactor([
    ...releases.flatMap((release) => (release === undefined ? [] : secretValuesOf(release, process.env))),
    ...(config.metricsToken === undefined ? [] : [config.metricsToken]),
  ]);
}
