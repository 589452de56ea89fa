import { join } from 'node:path';
import { BatonError } from '@baton/lifecycle';
import { createMetricsAnalysis } from './analysis/metrics-analysis.js';
import { clearControl, requestControl, type ControlCommand } from './control.js';
import type { ResolvedDeployConfig } from './deploy-config.js';
import { createFileJournal } from './journal/file-journal.js';
import type { Analysis, DeployEvent, Platform, ReleaseSpec, Router } from './model.js';
import { Orchestrator, type DeployOutcome } from './orchestrator.js';
import { loadPlatformProvider } from './provider-lookup.js';
import { buildReport, writeReport } from './report.js';
import { ensurePrivateDir } from './internal/private-dir.js';
import { withSecretsFrom } from './journal-secrets.js';
import { pinForDeploy } from './releases/pin-for-deploy.js';
import { describeArtifact } from './releases/release-record.js';
import { connectOrStartRouter, isStateDirEntry, routerName, statePaths, takeDownRouter } from './service-router.js';
import { isFinished, type JournaledRelease, type ServiceState } from './service-state.js';
import { randomUUID } from 'node:crypto';
import { createHistory, type HistoryEntry } from './environments/history.js';
import { rollbackTarget } from './environments/rollback-target.js';
import type { GateResult } from './gates/gate.js';
import { recordBrokerDeployment } from './gates/broker-deployment.js';
import { checkGates } from './gates/run-gates.js';
import { releaseCreator } from './releases/source-revision.js';

/** Options of {@link runDeployCommand}. */
export interface DeployCommandOptions {
  /** Every event, as it happens. */
  onEvent?: (event: DeployEvent) => void;
  /** Ctrl-C: the deploy stops at its next safe point and stays open. */
  signal?: AbortSignal;
  /** Where instances run; default the config's platform (`platform.kind`, `local`: processes on this machine) in `<stateDir>/instances`. */
  platform?: Platform;
  /** Why an open deploy is rolled back (`rollback` only), for the journal, the report and `baton status`; default "rolled back on request (baton rollback)". */
  reason?: string;
  /** Where `BATON_SOURCE_REVISION` is read for a release recorded now, when the config's directory is no git checkout; default `process.env`. */
  env?: Readonly<Record<string, string | undefined>>;
  /**
   * How the deploy comes about: `promote` (the config's release is the one
   * that passed `promotedFrom`; `promoteRelease` sets it) checks the
   * previous environment's gates too. Default a deploy straight into the
   * config's environment.
   */
  origin?: { via: 'deploy' | 'promote'; promotedFrom?: string };
  /** `rollback` after a finished deploy: go back to this release (one that served here, per the history) instead of the previous one. */
  rollbackTo?: string;
}

/**
 * The platform of a service, as its config sets it up (`platform.kind`,
 * loaded from its package). Its instances are stopped only by the
 * orchestrator (out of the router and drained first) and by `baton down`
 * (which drains the router first too), so it promises them `routerDrainsFirst`.
 */
export async function servicePlatform(config: ResolvedDeployConfig): Promise<Platform> {
  const { kind, package: packageName, port, listenTimeoutMs, options } = config.platform;
  const provider = await loadPlatformProvider(kind, { from: config.lookupFrom, ...(packageName === undefined ? {} : { packageName }) });
  const paths = statePaths(config.stateDir);
  // Artifacts are the service's, shared by its environments: a promotion runs the very bytes staging ran.
  return provider.create({ service: config.service, dir: paths.instances, artifactsDir: statePaths(config.serviceDir).artifacts, options, port, listenTimeoutMs, routerDrainsFirst: true });
}

/** A deploy's outcome with the paths of its report. */
export interface DeployCommandOutcome extends DeployOutcome {
  report?: { json: string; html: string };
}

/**
 * `baton deploy` / `baton rollback`: takes the journal's lock (one
 * orchestrator per service), pins the release to deploy (`deploy`: its
 * artifact recorded in `<stateDir>/releases/`, or the recorded one; a
 * rollback after a finished deploy runs the previous release's journaled
 * artifact), connects to (or starts) the router, runs the
 * orchestrator, writes the report, and lets go. Instances and the router keep
 * running after it returns: they serve the traffic — unless nothing is left
 * to serve (a first deploy rolled back): then the router is stopped too, and
 * its port freed.
 */
export async function runDeployCommand(config: ResolvedDeployConfig, command: 'deploy' | 'rollback', options: DeployCommandOptions = {}): Promise<DeployCommandOutcome> {
  const paths = statePaths(config.stateDir);
  // 0700: the journal below holds the releases' environments, the instances' logs what they print.
  await ensurePrivateDir(config.stateDir, isStateDirEntry);
  const journal = createFileJournal<ServiceState>({ dir: paths.journal });
  const lock = await journal.lock();
  let router: Router | undefined;
  let ownPlatform: Platform | undefined;
  try {
    const platform = options.platform ?? (ownPlatform = await servicePlatform(config));
    // The router's address is the first line a user reads; what was pinned follows it.
    const pinEvents: DeployEvent[] = [];
    let gates: GateResult[] | undefined;
    if (command === 'deploy') {
      // Before the router starts or anything moves: a build that is not the recorded release is refused here.
      const state = await journal.read();
      const release = await pinForDeploy(config, { platform, state, onEvent: (event) => pinEvents.push(event), ...(options.env ? { env: options.env } : {}) });
      config = { ...config, release };
      // A deploy that is resumed passed its gates when it began.
      const resuming = state?.deploy !== undefined && !isFinished(state.deploy.phase);
      if (!resuming) {
        gates = await checkGates(config, { release, state, via: options.origin?.via ?? 'deploy', env: options.env ?? process.env, ...(options.signal ? { signal: options.signal } : {}) });
        if (gates !== undefined) {
          for (const event of pinEvents.splice(0)) options.onEvent?.({ ...event, atMs: Date.now() });
          reportGates(gates, release.version, config, options);
          const failed = gates.filter((gate) => gate.status === 'fail');
          if (failed.length > 0) await refuse(config, release, gates, failed, options);
        }
      }
    }
    // A rollback after a finished deploy knows where it goes before the router starts: a refusal starts nothing.
    let goBackTo: JournaledRelease | undefined;
    if (command === 'rollback') {
      const state = await journal.read();
      if (state?.deploy === undefined || isFinished(state.deploy.phase)) {
        goBackTo = options.rollbackTo === undefined ? state?.previous : await rollbackTarget(config, state ?? { service: config.service, instances: [], nextInstance: 1 }, options.rollbackTo);
        if (goBackTo === undefined) throw new BatonError('BATON_ERR_DEPLOY_FAILED', `There is nothing to roll back to: no deploy in progress and no release before ${state?.stable?.version ?? 'the current one'}.`);
      }
    }
    let started = false;
    router = (await connectOrStartRouter(config, { start: true, onStart: () => (started = true) })) as Router;
    // The address first: it is what a user sends requests to (and, without router.port, a free port picked at the router's start).
    options.onEvent?.({
      atMs: Date.now(),
      type: 'router',
      message: `Router: ${routerName(router.kind)} at ${router.url} (${started ? 'started now' : 'running'}).`,
      data: { kind: router.kind, url: router.url, started },
    });
    // Stamped now, in the order they are told: a live view counts time from its first line.
    for (const event of pinEvents) options.onEvent?.({ ...event, atMs: Date.now() });
    const orchestrator = await Orchestrator.open({
      config,
      platform,
      router,
      analysis: analysisOf(config),
      journal,
      origin: { via: options.origin?.via ?? 'deploy', ...(options.origin?.promotedFrom === undefined ? {} : { promotedFrom: options.origin.promotedFrom }), ...(gates === undefined ? {} : { gates }) },
      ...(options.onEvent ? { onEvent: options.onEvent } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    let outcome: DeployOutcome;
    if (command === 'deploy') outcome = await orchestrator.deploy();
    else {
      const open = orchestrator.state.deploy;
      if (open !== undefined && !isFinished(open.phase)) outcome = await orchestrator.rollback(options.reason ?? 'rolled back on request (baton rollback)');
      else {
        const previous = goBackTo;
        if (previous === undefined) throw new BatonError('BATON_ERR_DEPLOY_FAILED', `There is nothing to roll back to: no deploy in progress and no release before ${orchestrator.state.stable?.version ?? 'the current one'}.`);
        // Going back after a finished deploy is a deploy of the previous release, by the same rules,
        // and of the very artifact it ran (journaled with it), whatever its build directory holds now.
        options.onEvent?.({
          atMs: Date.now(),
          type: 'release-pinned',
          message: `Going back to ${previous.version} as it ran: ${describeArtifact(previous.artifact)}.`,
          data: { version: previous.version, kind: previous.artifact?.kind, digest: previous.artifact?.digest, location: previous.artifact?.location },
        });
        const back = await Orchestrator.open({
          // The journal keeps only fingerprints of its secrets: the config's release supplies the values it names.
          config: { ...config, release: withSecretsFrom(previous, config.release) },
          platform,
          router,
          analysis: analysisOf(config),
          journal,
          origin: { via: 'rollback' },
          ...(options.onEvent ? { onEvent: options.onEvent } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        });
        outcome = await back.deploy();
      }
    }
    const state = await journal.read();
    if (outcome.phase === 'rolled-back' && nothingServes(state)) {
      await router.close().catch(() => {});
      router = undefined;
      await stopIdleRouter(config, options);
    }
    // The release serves: a Pact Broker the contracts gate asks hears of it (a warning event when it cannot).
    if (outcome.phase === 'succeeded') {
      const told = await recordBrokerDeployment(config, outcome.to, { env: options.env ?? process.env, ...(options.signal ? { signal: options.signal } : {}) });
      if (told !== undefined) options.onEvent?.(told);
    }
    const record = state?.deploy;
    if (record === undefined || record.id !== outcome.deployId) return outcome;
    const report = await writeReport(join(paths.reports, record.id), buildReport(config.service, record, await journal.events(), config.environment));
    return { ...outcome, report };
  } finally {
    await router?.close().catch(() => {});
    await ownPlatform?.close?.().catch(() => {});
    await lock.release();
  }
}

/** Each gate as an event (`gate`), in order, before anything else of the deploy is said. */
function reportGates(gates: readonly GateResult[], version: string, config: ResolvedDeployConfig, options: DeployCommandOptions): void {
  const where = config.environment ?? config.service;
  for (const gate of gates) {
    const lines = [`Gate ${gate.gate}: ${gate.status} — ${gate.summary}`, ...gate.evidence.map((line) => `    ${line}`)];
    options.onEvent?.({ atMs: Date.now(), type: 'gate', message: lines.join('\n'), data: { ...gate, version, environment: where } });
  }
}

/** A gate failed: the refusal goes into the environment's history, and nothing starts. */
async function refuse(config: ResolvedDeployConfig, release: ReleaseSpec, gates: GateResult[], failed: readonly GateResult[], options: DeployCommandOptions): Promise<never> {
  const now = Date.now();
  const reason = failed.map((gate) => `${gate.gate}: ${gate.summary.replace(/\.$/, '')}`).join('; ');
  const entry: HistoryEntry = {
    id: `${config.service}-${new Date(now).toISOString().replace(/[-:.]/g, '').slice(0, 15)}-refused-${randomUUID().slice(0, 8)}`,
    release: release.version,
    via: options.origin?.via ?? 'deploy',
    outcome: 'refused',
    reason,
    startedAtMs: now,
    endedAtMs: now,
    by: releaseCreator(options.env ?? process.env),
    gates,
  };
  if (config.environment !== undefined) entry.environment = config.environment;
  if (options.origin?.promotedFrom !== undefined) entry.promotedFrom = options.origin.promotedFrom;
  if (release.artifact !== undefined) entry.artifact = { kind: release.artifact.kind, digest: release.artifact.digest, source: release.artifact.source };
  await createHistory(config.stateDir).append(entry);
  options.onEvent?.({ atMs: now, type: 'refused', message: `Refused ${release.version}${config.environment === undefined ? '' : ` for ${config.environment}`}: ${failed.length} gate${failed.length === 1 ? '' : 's'} failed (${failed.map((gate) => gate.gate).join(', ')}). Nothing was started and no traffic moved.`, data: { version: release.version, failed: failed.map((gate) => gate.gate) } });
  throw new GatesRefused(`${release.version} was refused${config.environment === undefined ? '' : ` for ${config.environment}`}: ${reason}`, gates);
}

/** The error of a refused release: `gates` are every gate's result, the failed ones among them. */
export class GatesRefused extends BatonError {
  readonly gates: GateResult[];
  constructor(message: string, gates: GateResult[]) {
    super('BATON_ERR_GATE_REFUSED', message);
    this.gates = gates;
  }
}

/** No release serves and no instance runs (a first deploy rolled back; its instances are stopped). */
function nothingServes(state: ServiceState | undefined): boolean {
  return state?.stable === undefined && !(state?.instances ?? []).some((instance) => instance.status === 'ready' || instance.status === 'starting' || instance.status === 'draining');
}

/** A router with nothing to route to would only hold its port: it is taken down, as `baton down` would. */
async function stopIdleRouter(config: ResolvedDeployConfig, options: DeployCommandOptions): Promise<void> {
  try {
    await takeDownRouter(config.stateDir, config.lookupFrom);
  } catch (error) {
    options.onEvent?.({ atMs: Date.now(), type: 'router-stop-failed', message: `Nothing is serving, but the router could not be stopped: ${error instanceof Error ? error.message : String(error)}; baton down tries again.` });
    return;
  }
  options.onEvent?.({ atMs: Date.now(), type: 'router-stopped', message: 'Nothing is serving: the router is stopped and its port freed.' });
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
    const outcome = await runDeployCommand({ ...config, release: withSecretsFrom(open.candidate, config.release) }, 'rollback', { reason: 'aborted on request (baton abort)', ...options });
    return { message: `Aborted the deploy of ${open.to}: ${outcome.phase}.`, outcome };
  }
  const outcome = await runDeployCommand({ ...config, release: withSecretsFrom(open.candidate, config.release) }, 'deploy', options);
  return { message: `Promoted ${open.to}: ${outcome.phase}.`, outcome };
}

/** The analysis a deploy of `config` judges its candidate with. */
function analysisOf(config: ResolvedDeployConfig): Analysis {
  return createMetricsAnalysis({
    method: config.analysis.method,
    thresholds: config.analysis,
    metricsPath: config.paths.metrics,
    ...(config.metricsToken === undefined ? {} : { token: config.metricsToken }),
  });
}
