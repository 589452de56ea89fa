import { randomUUID } from 'node:crypto';
import { BatonError } from '@baton/lifecycle';
import { clearControl, readControl, type ControlCommand } from './control.js';
import type { ResolvedDeployConfig } from './deploy-config.js';
import { instanceInFlight, probe, sleep } from './internal/instance-probes.js';
import type { Analysis, DeployEvent, InstanceExit, Journal, Platform, ReleaseSpec, Router, Verdict } from './model.js';
import { describeSample, startMonitor } from './monitor.js';
import { isFinished, type DeployRecord, type ServiceState, type TrackedInstance } from './service-state.js';
import { describeDeploy, planDeploy } from './strategies/plan.js';
import { describeStep, type Step } from './strategies/step.js';
import { createRedactor, secretValuesOf, type Redactor } from './secrets.js';
import { backendSettings, type BackendSetting, type ServingInstance } from './weights.js';

/** What a deploy needs: the config and the four collaborators. */
export interface OrchestratorOptions {
  config: ResolvedDeployConfig;
  platform: Platform;
  router: Router;
  analysis: Analysis;
  journal: Journal<ServiceState>;
  /** Every event, as it happens (the CLI's live progress and `--json`). */
  onEvent?: (event: DeployEvent) => void;
  /** Clock; default `Date.now`. */
  now?: () => number;
  /** How often readiness and drain are polled; default 100 ms. */
  pollMs?: number;
  /** How often traffic per release is sampled for the live view and the report (`sample` events); default 1000 ms, 0 for never. */
  sampleIntervalMs?: number;
  /**
   * Aborting it stops the deploy at the next safe point — between steps, or
   * inside a wait (readiness, pause, analysis) — without rolling back: the
   * journal keeps the deploy open, the router and instances keep serving, and
   * `deploy()` again resumes it (Ctrl-C in the CLI).
   */
  signal?: AbortSignal;
}

/** How a deploy ended. */
export interface DeployOutcome {
  deployId: string;
  /** `interrupted`: stopped by the `signal` option, still open; deploying again resumes it. */
  phase: 'succeeded' | 'rolled-back' | 'failed' | 'paused' | 'interrupted';
  /** Why it rolled back, failed or paused; undefined on success. */
  reason?: string;
  from?: string;
  to: string;
  verdicts: Verdict[];
  /**
   * Instances the platform failed to stop during this run (the process
   * survived SIGKILL, the platform errored): they are out of traffic but may
   * still run. Each is journaled (`instance-stop-failed`), kept in the state
   * as `draining`, and stopped again by the next deploy or `baton down`.
   */
  stopFailures?: StopFailure[];
}

/** An instance the platform could not stop, and why. */
export interface StopFailure {
  id: string;
  release: string;
  error: string;
}

/** Thrown inside a deploy to send it to rollback; its message is the reason people read. */
class ReleaseFailure extends Error {}
/** The reason of an interruption (the `signal` option): stop, keep the deploy open, no rollback. */
class Interrupted extends Error {}

/**
 * Takes a service from its stable release to a candidate by a strategy's
 * steps, and keeps Baton's rules on the way:
 *
 * - an instance gets traffic only after its readiness probe passes;
 * - an instance leaves the router before it is told to stop, and is stopped
 *   only when the router and the instance both have nothing in flight (or the
 *   drain deadline passes);
 * - any failure of the candidate (never ready, crashed, failed analysis)
 *   sends all traffic back to the stable release and stops the candidate;
 * - every change is journaled before the next one, so an orchestrator killed
 *   mid-deploy is started again with {@link Orchestrator.resume} and carries on
 *   (steps are idempotent) or rolls back.
 */
export class Orchestrator {
  readonly #config: ResolvedDeployConfig;
  readonly #platform: Platform;
  readonly #router: Router;
  readonly #analysis: Analysis;
  readonly #journal: Journal<ServiceState>;
  readonly #onEvent: (event: DeployEvent) => void;
  readonly #now: () => number;
  readonly #pollMs: number;
  readonly #sampleIntervalMs: number;
  readonly #interrupt: AbortSignal | undefined;
  #combined: { watch: AbortController; signal: AbortSignal } | undefined;
  #state: ServiceState;
  #verdicts: Verdict[] = [];
  /** Aborted with a ReleaseFailure when a candidate instance exits on its own. */
  #watch = new AbortController();
  readonly #unwatch = new Map<string, () => void>();
  /** Instances drained and told to stop, not exited yet. */
  readonly #pendingStops: Promise<void>[] = [];
  /** Instance starts under way (a rollback waits for them, so none is left running behind it). */
  readonly #starting = new Set<Promise<void>>();
  /** Scrubs the releases' secrets from every event and reason (journal, report, CLI output, status). */
  readonly #redactor: Redactor;
  readonly #stopFailures: StopFailure[] = [];
  /** A control file that cannot be read was reported (once until it can be read again). */
  #controlUnreadable = false;

  private constructor(options: OrchestratorOptions, state: ServiceState) {
    this.#config = options.config;
    this.#platform = options.platform;
    this.#router = options.router;
    this.#analysis = options.analysis;
    this.#journal = options.journal;
    this.#onEvent = options.onEvent ?? (() => {});
    this.#now = options.now ?? Date.now;
    this.#pollMs = options.pollMs ?? 100;
    this.#sampleIntervalMs = options.sampleIntervalMs ?? 1000;
    this.#interrupt = options.signal;
    this.#state = state;
    // Every release this orchestrator may start or quote, and the environment its instances inherit.
    const releases = [options.config.release, state.stable, state.previous, state.deploy?.candidate];
    this.#redactor = createRedactor([
      ...releases.flatMap((release) => (release === undefined ? [] : secretValuesOf(release, process.env))),
      ...(options.config.metricsToken === undefined ? [] : [options.config.metricsToken]),
    ]);
  }

  /** Loads the service's state from the journal (a fresh one for a new service). */
  static async open(options: OrchestratorOptions): Promise<Orchestrator> {
    const state = (await options.journal.read()) ?? { service: options.config.service, instances: [], nextInstance: 1 };
    if (state.service !== options.config.service) {
      throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `The state in ${options.config.stateDir} belongs to service "${state.service}", not "${options.config.service}"; use another stateDir.`);
    }
    return new Orchestrator(options, state);
  }

  /** A copy of the service's state as last journaled. */
  get state(): ServiceState {
    return structuredClone(this.#state);
  }

  /**
   * Deploys `config.release`. A deploy of the service that is still open
   * (killed mid-way) is resumed instead when it targets the same version, and
   * refused otherwise — finish it, or `rollback()` it, first.
   */
  async deploy(): Promise<DeployOutcome> {
    const candidate = this.#config.release;
    const open = this.#state.deploy;
    if (open !== undefined && !isFinished(open.phase)) {
      if (open.to === candidate.version) return this.resume();
      throw new BatonError('BATON_ERR_DEPLOY_FAILED', `A deploy of ${open.to} is still ${open.phase} (${open.id}); resume it (deploy ${open.to} again), or run rollback, before deploying ${candidate.version}.`);
    }
    const stable = this.#state.stable;
    if (stable !== undefined && stable.version === candidate.version) {
      throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `Release ${candidate.version} is already the stable release; give the new release its own version label.`);
    }
    await this.#adopt();
    const hasStable = stable !== undefined && this.#instancesOf(stable.version).some((instance) => instance.status === 'ready');
    const steps = planDeploy(this.#config.strategy, this.#config.instances, { hasStable });
    const record: DeployRecord = {
      id: `${this.#config.service}-${new Date(this.#now()).toISOString().replace(/[-:.]/g, '').slice(0, 15)}-${randomUUID().slice(0, 8)}`,
      to: candidate.version,
      candidate,
      strategy: this.#config.strategy,
      steps,
      stepIndex: 0,
      traffic: hasStable ? 0 : 100,
      phase: 'running',
      startedAtMs: this.#now(),
    };
    if (hasStable && stable) record.from = stable.version;
    this.#state.deploy = record;
    await this.#save();
    await this.#event('deploy-started', describeDeploy({ ...record, instances: this.#config.instances }), {
      deployId: record.id,
      from: record.from,
      to: record.to,
      strategy: this.#config.strategy.type,
      steps: steps.map((step) => describeStep(step, { candidate: record.to, stable: record.from })),
    });
    return this.#monitored(async () => {
      // Instances of neither release (left by a deploy that could not finish its rollback) leave first.
      const leftovers = this.#state.instances.filter((instance) => instance.status === 'ready' && instance.release !== record.to && instance.release !== record.from);
      for (const instance of leftovers) {
        await this.#event('instance-leftover', `${instance.id} belongs to neither ${record.from ?? '(no stable release)'} nor ${record.to}; it leaves.`, { id: instance.id, release: instance.release });
        await this.#retire(instance);
      }
      return this.#run();
    });
  }

  /** Carries on with the open deploy after a restart: rolls back if it was rolling back, waits again if paused. */
  async resume(): Promise<DeployOutcome> {
    const record = this.#requireOpen('resume');
    await this.#event('deploy-resumed', `Resuming the deploy of ${record.to} at step ${record.stepIndex + 1} of ${record.steps.length} (${record.phase}).`, { deployId: record.id, phase: record.phase });
    return this.#monitored(async () => {
      const lost = await this.#adopt();
      if (record.phase === 'rolling-back') return this.#rollback(record.reason ?? 'rollback resumed after a restart');
      const lostCandidate = lost.find((instance) => instance.release === record.to);
      if (lostCandidate !== undefined) return this.#rollback(`instance ${lostCandidate.id} of ${record.to} exited while no orchestrator was watching`);
      return this.#run();
    });
  }

  /** Stops the open deploy and sends all traffic back to the stable release (`baton abort`, `baton rollback` mid-deploy). */
  async rollback(reason = 'rolled back on request'): Promise<DeployOutcome> {
    this.#requireOpen('roll back');
    return this.#monitored(async () => {
      await this.#adopt();
      return this.#rollback(reason);
    });
  }

  /** Runs `work` with the traffic monitor sampling, one `sample` event per tick. */
  async #monitored(work: () => Promise<DeployOutcome>): Promise<DeployOutcome> {
    if (this.#sampleIntervalMs === 0) return work();
    let appending = Promise.resolve();
    const stop = startMonitor({
      router: this.#router,
      instances: () => this.#state.instances.filter((instance) => instance.status === 'ready' || instance.status === 'draining'),
      metricsPath: this.#config.paths.metrics,
      ...(this.#config.metricsToken === undefined ? {} : { token: this.#config.metricsToken }),
      intervalMs: this.#sampleIntervalMs,
      now: this.#now,
      onSample: (sample) => {
        const event: DeployEvent = { atMs: sample.atMs, type: 'sample', message: describeSample(sample), data: { releases: sample.releases } };
        // In order, and never failing the deploy: a sample that cannot be journaled is only lost.
        appending = appending.then(() => this.#journal.append(event)).catch(() => {});
        this.#onEvent(event);
      },
    });
    try {
      return await work();
    } finally {
      await stop();
      await appending;
    }
  }

  #requireOpen(what: string): DeployRecord {
    const record = this.#state.deploy;
    if (record === undefined || isFinished(record.phase)) {
      throw new BatonError('BATON_ERR_DEPLOY_FAILED', `There is no deploy in progress to ${what}${record ? ` (the last one, of ${record.to}, ${record.phase})` : ''}.`);
    }
    return record;
  }

  async #run(): Promise<DeployOutcome> {
    const record = this.#state.deploy as DeployRecord;
    this.#watchInstances();
    const stopPolling = this.#pollControl(record);
    try {
      if (record.phase === 'paused') {
        // Resumed in a pause (manual, or an inconclusive analysis): the promotion completes that step.
        await this.#waitForPromotion(record);
        record.stepIndex += 1;
        await this.#save();
      }
      while (record.stepIndex < record.steps.length) {
        this.#throwIfInterrupted();
        const step = record.steps[record.stepIndex] as Step;
        await this.#event('step', `Step ${record.stepIndex + 1}/${record.steps.length}: ${describeStep(step, { candidate: record.to, stable: record.from })}.`, { index: record.stepIndex, step });
        await this.#runStep(step, record);
        // A candidate that died, or an abort, during a step that does not wait (traffic, a retire) is seen here.
        this.#watch.signal.throwIfAborted();
        record.stepIndex += 1;
        await this.#save();
      }
      // Success only with the candidate alive after every old process has exited.
      await this.#settleStops();
      await this.#markDead();
      this.#watch.signal.throwIfAborted();
      if (!this.#instancesOf(record.to).some((instance) => instance.status === 'ready')) throw new ReleaseFailure(`no instance of ${record.to} is running at the end of the deploy`);
    } catch (error) {
      stopPolling();
      if (error instanceof Interrupted || (this.#interrupt?.aborted === true && !(error instanceof ReleaseFailure))) return this.#stopHere(record);
      const reason = error instanceof ReleaseFailure || error instanceof BatonError ? error.message : `unexpected error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`;
      return this.#rollback(reason);
    } finally {
      stopPolling();
      this.#stopWatching();
    }
    return this.#succeed(record);
  }

  /** The signal every wait listens to: a failed candidate or an abort (this deploy's watch), or an interruption. */
  #waitSignal(): AbortSignal {
    if (this.#interrupt === undefined) return this.#watch.signal;
    // One combined signal per watch: waits poll every 100 ms and must not add a listener each time.
    if (this.#combined?.watch !== this.#watch) {
      const interrupted = new AbortController();
      const onInterrupt = (): void => interrupted.abort(new Interrupted('interrupted'));
      if (this.#interrupt.aborted) onInterrupt();
      else this.#interrupt.addEventListener('abort', onInterrupt, { once: true });
      this.#combined = { watch: this.#watch, signal: AbortSignal.any([this.#watch.signal, interrupted.signal]) };
    }
    return this.#combined.signal;
  }

  #throwIfInterrupted(): void {
    if (this.#interrupt?.aborted) throw new Interrupted('interrupted');
  }

  /** Interrupted: starts under way finish or fail, the state is journaled as it is, and the deploy stays open. */
  async #stopHere(record: DeployRecord): Promise<DeployOutcome> {
    await Promise.allSettled([...this.#starting]);
    await this.#settleStops();
    await this.#save();
    await this.#event('interrupted', `Stopped watching the deploy of ${record.to} at step ${record.stepIndex + 1} of ${record.steps.length}; it stays open: deploy ${record.to} again to resume, or roll it back.`, {
      stepIndex: record.stepIndex,
    });
    const outcome = this.#outcome(record);
    outcome.phase = 'interrupted';
    return outcome;
  }

  /**
   * Reads `baton abort` / `baton promote` every 250 ms for the whole deploy:
   * an abort stops whatever step is running (readiness waits, pauses,
   * analysis); a promote that arrives when nothing is paused is dropped, so it
   * cannot approve a later pause in advance.
   */
  #pollControl(record: DeployRecord): () => void {
    let busy = false;
    const timer = setInterval(() => {
      if (busy || record.phase === 'paused') return;
      busy = true;
      void this.#readControl(record)
        .then(async (command) => {
          if (command === undefined || record.phase === 'paused') return;
          await clearControl(this.#config.stateDir);
          if (command === 'abort') this.#watch.abort(new ReleaseFailure('aborted on request'));
          else await this.#event('promote-ignored', 'A promote arrived while nothing was paused; it was dropped.');
        })
        // Reading is reported by #readControl; what is left is the journal failing, which the next save meets too.
        .catch(() => {})
        .finally(() => (busy = false));
    }, 250);
    timer.unref();
    return () => clearInterval(timer);
  }

  async #runStep(step: Step, record: DeployRecord): Promise<void> {
    switch (step.kind) {
      case 'traffic':
        record.traffic = step.candidatePercent;
        await this.#save();
        await this.#applyWeights();
        return;
      case 'scale': {
        if (step.release === 'candidate') {
          await this.#scale(record.candidate, step.instances);
          return;
        }
        const stable = this.#state.stable;
        if (stable === undefined) return;
        await this.#markDead();
        // Never retire the stable release below what the candidate can carry.
        const candidateReady = this.#instancesOf(record.to).filter((instance) => instance.status === 'ready').length;
        if (candidateReady === 0) throw new ReleaseFailure(`no instance of ${record.to} is ready; the stable release ${stable.version} is not retired`);
        await this.#scale(stable, step.instances);
        return;
      }
      case 'pause':
        if (step.durationMs === undefined) {
          await this.#pause(record, 'waiting for promote (manual pause step)');
          return;
        }
        await this.#watchFor(step.durationMs);
        return;
      case 'hold':
        await this.#watchFor(step.durationMs);
        return;
      case 'analysis':
        await this.#analyse(step.durationMs, record);
        return;
    }
  }

  /** Starts or retires instances of `release` until exactly `count` are ready. */
  async #scale(release: ReleaseSpec, count: number): Promise<void> {
    // A dead instance is not ready, whatever the journal last said.
    await this.#markDead();
    // Instances a dead orchestrator left starting: ready now, or failed.
    for (const instance of this.#instancesOf(release.version).filter((candidate) => candidate.status === 'starting')) {
      await this.#becomeReady(instance);
    }
    const ready = this.#instancesOf(release.version).filter((instance) => instance.status === 'ready');
    if (ready.length < count) {
      const starts = Array.from({ length: count - ready.length }, () => {
        const start = this.#startInstance(release);
        this.#starting.add(start);
        void start.catch(() => {}).finally(() => this.#starting.delete(start));
        return start;
      });
      await Promise.all(starts);
    } else if (ready.length > count) {
      // Retire the newest first: the oldest have the warmest caches and connection pools.
      const leaving = ready.slice(count);
      await Promise.all(leaving.map((instance) => this.#retire(instance)));
    }
  }

  async #startInstance(release: ReleaseSpec): Promise<void> {
    const id = `${release.version}-${this.#state.nextInstance}`;
    this.#state.nextInstance += 1;
    await this.#save();
    let record;
    try {
      record = await this.#platform.start(release, { id, signal: this.#watch.signal });
    } catch (error) {
      throw this.#releaseFailure(release, `instance ${id} did not start: ${error instanceof Error ? error.message : String(error)}`);
    }
    const instance: TrackedInstance = { ...record, status: 'starting' };
    this.#state.instances.push(instance);
    await this.#save();
    await this.#event('instance-started', `${id} started on port ${instance.port}.`, { id, release: release.version, port: instance.port, pid: instance.pid });
    this.#watchInstance(instance);
    await this.#becomeReady(instance);
  }

  /** Waits for readiness, then puts the instance in the router with its share of traffic. */
  async #becomeReady(instance: TrackedInstance): Promise<void> {
    // From the spawn: starting the process is part of what a deploy waits for.
    const started = Math.min(instance.startedAtMs, this.#now());
    const url = `${instance.url}${this.#config.paths.readiness}`;
    for (;;) {
      this.#waitSignal().throwIfAborted();
      if (!this.#platform.isRunning(instance)) {
        instance.status = 'failed';
        await this.#save();
        throw this.#releaseFailure(instance, `instance ${instance.id} exited before it became ready${instance.logFile ? ` (log: ${instance.logFile})` : ''}`);
      }
      if ((await probe(url)) === 200) break;
      if (this.#now() - started > this.#config.timeouts.readyMs) {
        instance.status = 'failed';
        await this.#save();
        await this.#stopInstance(instance);
        throw this.#releaseFailure(instance, `instance ${instance.id} was not ready within ${this.#config.timeouts.readyMs} ms (${url} never answered 200)`);
      }
      await sleep(this.#pollMs, this.#waitSignal());
    }
    await this.#router.add({ id: instance.id, release: instance.release, host: instance.host, port: instance.port });
    instance.status = 'ready';
    await this.#save();
    await this.#applyWeights();
    await this.#event('instance-ready', `${instance.id} is ready and in the router (${Math.round(this.#now() - started)} ms after start).`, { id: instance.id, release: instance.release, readyMs: this.#now() - started });
  }

  /** Drain by fact: out of the router, wait until nothing is in flight there or in the instance, then stop it. */
  async #retire(instance: TrackedInstance): Promise<void> {
    instance.status = 'draining';
    await this.#save();
    // Not in the router any more: an instance whose stop failed after it left (retired again now).
    const routed = (await this.#router.backends()).some((backend) => backend.id === instance.id);
    // One batch: the others take over its share as it stops getting new requests.
    await this.#applyWeights(routed ? [{ id: instance.id, state: 'drain', weight: 0 }] : []);
    await this.#event('instance-draining', `${instance.id} is out of traffic; waiting for its in-flight requests.`, { id: instance.id, release: instance.release });
    const started = this.#now();
    let drained = false;
    while (this.#now() - started < this.#config.timeouts.drainMs) {
      const atRouter = (await this.#router.backends()).find((backend) => backend.id === instance.id)?.inFlight ?? 0;
      const inInstance = this.#platform.isRunning(instance) ? await instanceInFlight(instance, this.#config.paths.metrics, this.#config.metricsToken) : 0;
      if (atRouter === 0 && (inInstance ?? 0) === 0) {
        drained = true;
        break;
      }
      await sleep(this.#pollMs);
    }
    const drainMs = this.#now() - started;
    await this.#event('instance-drained', drained ? `${instance.id} has nothing in flight (${drainMs} ms).` : `${instance.id} reached the ${this.#config.timeouts.drainMs} ms drain deadline with work in flight.`, {
      id: instance.id,
      release: instance.release,
      drainMs,
      drained,
    });
    const stopped = async (exit: InstanceExit | undefined): Promise<void> => {
      // A failed stop was journaled as such: no `instance-stopped` for it.
      if (exit === undefined) return;
      await this.#event(
        'instance-stopped',
        drained ? `${instance.id} drained in ${drainMs} ms and stopped.` : `${instance.id} still had work in flight at the ${this.#config.timeouts.drainMs} ms drain deadline; stopped anyway.`,
        { id: instance.id, release: instance.release, drainMs, drained, exitCode: exit.code, exitSignal: exit.signal },
      );
    };
    if (!drained) {
      // Work still in flight: the router must keep the backend until the process is gone.
      const exit = await this.#stopInstance(instance);
      if (routed) await this.#router.set([{ id: instance.id, state: 'maint' }]);
      await this.#removeBackend(instance.id);
      await stopped(exit);
      return;
    }
    // Drained: nothing can reach it any more, so the next batch need not wait for it to exit
    // (its own shutdown — propagation delay, hooks — runs in the background; the deploy ends only
    // once every such exit is in).
    if (routed) await this.#router.set([{ id: instance.id, state: 'maint' }]);
    await this.#removeBackend(instance.id);
    this.#pendingStops.push(this.#stopInstance(instance).then(stopped));
  }

  /**
   * Removes a backend out of traffic. A router may still count a session for
   * a moment after the process is gone (HAProxy does): retried briefly, and if
   * it still refuses, the backend stays in maintenance — no traffic — and the
   * next deploy's reconciliation removes it.
   */
  async #removeBackend(id: string): Promise<void> {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await this.#router.remove(id);
        return;
      } catch (error) {
        if (attempt >= 10) {
          await this.#event('backend-kept', `${id} could not be removed from the router (${error instanceof Error ? error.message : String(error)}); it stays in maintenance, out of traffic.`, { id });
          return;
        }
        await sleep(200);
      }
    }
  }

  /** Waits for every instance stopped in the background. */
  async #settleStops(): Promise<void> {
    // Every stop settles before anything is decided; a failed stop is journaled by #stopInstance, so what
    // can still reject here is the journal itself, and that must not pass unseen.
    let failure: unknown;
    while (this.#pendingStops.length > 0) {
      for (const result of await Promise.allSettled(this.#pendingStops.splice(0))) {
        if (result.status === 'rejected') failure ??= result.reason;
      }
    }
    if (failure !== undefined) throw failure;
  }

  /**
   * Stops an instance that is out of traffic. A stop that fails is never
   * swallowed: it is journaled (`instance-stop-failed`), the instance stays in
   * the state as `draining` (out of traffic, to be stopped again by the next
   * deploy or `baton down`), and the outcome lists it. Resolves undefined then.
   */
  async #stopInstance(instance: TrackedInstance): Promise<InstanceExit | undefined> {
    this.#unwatch.get(instance.id)?.();
    this.#unwatch.delete(instance.id);
    const before = instance.status;
    if (instance.status !== 'failed') instance.status = 'stopped';
    let exit: InstanceExit;
    try {
      exit = await this.#platform.stop(instance, { deadlineMs: this.#config.timeouts.stopMs });
    } catch (error) {
      // Was in the router: `draining` (out of traffic), retired again by the next deploy. Never routed: `failed`.
      instance.status = before === 'ready' || before === 'draining' ? 'draining' : 'failed';
      await this.#save();
      await this.#stopFailed(instance, error);
      return undefined;
    }
    await this.#save();
    return exit;
  }

  async #stopFailed(instance: { id: string; release: string }, error: unknown): Promise<void> {
    const detail = this.#redactor.text(error instanceof Error ? error.message : String(error));
    this.#stopFailures.push({ id: instance.id, release: instance.release, error: detail });
    await this.#event('instance-stop-failed', `${instance.id} (${instance.release}) could not be stopped: ${detail}. It is out of traffic but may still run; the next deploy or baton down tries again.`, {
      id: instance.id,
      release: instance.release,
      error: detail,
    });
  }

  /** Sets every serving instance's weight for the current split. */
  async #applyWeights(extra: readonly BackendSetting[] = []): Promise<void> {
    const record = this.#state.deploy;
    if (record === undefined) return;
    const serving: ServingInstance[] = this.#state.instances
      .filter((instance) => instance.status === 'ready')
      .map((instance) => ({ id: instance.id, role: instance.release === record.to ? 'candidate' : 'stable' }));
    const settings = serving.length === 0 ? [] : backendSettings(record.traffic, serving);
    if (settings.length + extra.length === 0) return;
    await this.#router.set([...settings, ...extra]);
    const byRelease: Record<string, number> = {};
    for (const setting of settings) {
      const release = this.#state.instances.find((instance) => instance.id === setting.id)?.release ?? '?';
      byRelease[release] = (byRelease[release] ?? 0) + setting.weight;
    }
    const total = Object.values(byRelease).reduce((sum, weight) => sum + weight, 0);
    const shares = Object.fromEntries(Object.entries(byRelease).map(([release, weight]) => [release, total === 0 ? 0 : Math.round((1000 * weight) / total) / 10]));
    const split = Object.entries(shares).map(([release, share]) => `${release} ${share}%`);
    await this.#event('weights', split.length === 0 ? 'Traffic: no instance is ready to serve.' : `Traffic: ${split.join(', ')}.`, { shares, backends: settings });
  }

  async #analyse(durationMs: number, record: DeployRecord): Promise<void> {
    const stable = record.from ?? this.#state.stable?.version;
    let attempts = 0;
    for (;;) {
      const serving = this.#state.instances.filter((instance) => instance.status === 'ready');
      const window = await this.#analysis.begin(serving);
      await this.#watchFor(durationMs);
      // Redacted once here, so what the library returns (DeployOutcome.verdicts) says no more than the events do:
      // a scrape error's text can echo a token.
      const verdict = this.#redactor.value(await this.#analysis.judge(window, serving, { baseline: stable ?? record.to, candidate: record.to }));
      this.#verdicts.push(verdict);
      await this.#event('analysis', `Analysis: ${verdict.outcome}. ${verdict.reasons.join(' ')}`, { verdict });
      if (verdict.outcome === 'pass') return;
      if (verdict.outcome === 'fail') throw new ReleaseFailure(`analysis failed: ${verdict.reasons.join(' ')}`);
      attempts += 1;
      if (attempts <= this.#config.analysis.inconclusiveRetries) continue;
      switch (this.#config.analysis.onInconclusive) {
        case 'continue':
          return;
        case 'fail':
          throw new ReleaseFailure(`analysis stayed inconclusive after ${attempts} windows: ${verdict.reasons.join(' ')}`);
        case 'pause':
          await this.#pause(record, `analysis inconclusive after ${attempts} windows (${verdict.reasons.join(' ')}); promote to go on, abort to roll back`);
          return;
      }
    }
  }

  /** Waits `durationMs` while watching for a crashed candidate and for `abort`. */
  async #watchFor(durationMs: number): Promise<void> {
    const until = this.#now() + durationMs;
    while (this.#now() < until) {
      // An abort (the control poller) or a crashed candidate ends the wait through the signal.
      await sleep(Math.min(200, Math.max(until - this.#now(), 0)), this.#waitSignal());
    }
  }

  async #pause(record: DeployRecord, unredacted: string): Promise<void> {
    const reason = this.#redactor.text(unredacted);
    record.phase = 'paused';
    record.reason = reason;
    await this.#save();
    await this.#event('paused', `Paused: ${reason}.`, { reason });
    await this.#waitForPromotion(record);
  }

  /**
   * The command waiting for this deploy. A control file that cannot be read
   * (`sudo baton abort` by an older Baton left it root's) is said once as a
   * `control-unreadable` event, not taken for "no command" in silence: the
   * person who sent it was told it was delivered.
   */
  async #readControl(record: DeployRecord): Promise<ControlCommand | undefined> {
    try {
      const command = await readControl(this.#config.stateDir, record.id);
      this.#controlUnreadable = false;
      return command;
    } catch (error) {
      if (!this.#controlUnreadable) {
        this.#controlUnreadable = true;
        await this.#event('control-unreadable', `${error instanceof Error ? error.message : String(error)} Until then, promote and abort from another terminal do not reach this deploy (Ctrl-C here still stops it).`);
      }
      return undefined;
    }
  }

  /** While paused, waits for `promote` (go on) or `abort` (roll back), watching the candidate all along. */
  async #waitForPromotion(record: DeployRecord): Promise<void> {
    for (;;) {
      const command = await this.#readControl(record);
      if (command !== undefined) await clearControl(this.#config.stateDir);
      if (command === 'abort') throw new ReleaseFailure('aborted on request while paused');
      if (command === 'promote') {
        record.phase = 'running';
        delete record.reason;
        await this.#save();
        await this.#event('promoted', 'Promoted: going on with the next step.');
        return;
      }
      await sleep(200, this.#waitSignal());
    }
  }

  /** Sends all traffic back to the stable release, then stops every candidate instance. */
  async #rollback(unredacted: string): Promise<DeployOutcome> {
    const record = this.#state.deploy as DeployRecord;
    // The reason is journaled, reported and shown by `baton status`: a start error quotes the service's last lines.
    const reason = this.#redactor.text(unredacted);
    this.#stopWatching();
    // Starts still under way are cut short (their processes killed) and waited for, so no instance
    // of the candidate comes up behind the rollback.
    this.#watch.abort(new ReleaseFailure('rolling back'));
    await Promise.allSettled([...this.#starting]);
    this.#watch = new AbortController();
    // The first reason is the one people need; a later abort or rollback request does not replace it.
    if (record.phase !== 'rolling-back' || record.reason === undefined) record.reason = reason;
    record.phase = 'rolling-back';
    await this.#save();
    await this.#event('rollback', `Rolling back ${record.to}: ${record.reason}`, { reason: record.reason });
    const stable = record.from === undefined ? undefined : this.#state.stable;
    try {
      await this.#markDead();
      // Traffic back first, to whatever stable instances are ready (the split sends everything to the
      // candidate only while no stable instance is ready); then the stable release back to strength.
      record.traffic = 0;
      await this.#save();
      await this.#applyWeights();
      if (stable !== undefined) await this.#scale(stable, this.#config.instances);
      await Promise.all(
        this.#instancesOf(record.to).map(async (instance) => {
          if (instance.status === 'ready' || instance.status === 'draining') return this.#retire(instance);
          if (instance.status === 'stopped') return;
          // Starting or crashed: nothing to drain, but make sure it is stopped and out of the router.
          await this.#stopInstance(instance);
          await this.#router.set([{ id: instance.id, state: 'maint' }]).catch(() => {});
          await this.#router.remove(instance.id).catch(() => {});
        }),
      );
      await this.#settleStops();
    } catch (error) {
      // Left `rolling-back`, not finished: the next `baton deploy` or `baton rollback` tries again.
      let detail = this.#redactor.text(error instanceof Error ? error.message : String(error));
      try {
        await this.#settleStops();
      } catch (more) {
        detail += `; then ${this.#redactor.text(more instanceof Error ? more.message : String(more))}`;
      }
      await this.#save();
      await this.#event('rollback-failed', `The rollback of ${record.to} did not finish: ${detail}. Traffic stays where it is; run baton rollback again once the cause is fixed.`, { reason: record.reason, error: detail });
      const outcome = this.#outcome(record);
      outcome.phase = 'failed';
      outcome.reason = `${record.reason}; and the rollback did not finish: ${detail}`;
      return outcome;
    }
    record.phase = 'rolled-back';
    record.endedAtMs = this.#now();
    await this.#save();
    await this.#event(
      'rolled-back',
      stable === undefined ? `Rolled back: nothing was serving before ${record.to}, and it is stopped.` : `Rolled back: ${stable.version} serves all traffic; ${record.to} is stopped.`,
      { reason: record.reason },
    );
    return this.#outcome(record);
  }

  async #succeed(record: DeployRecord): Promise<DeployOutcome> {
    await this.#settleStops();
    if (this.#state.stable !== undefined && this.#state.stable.version !== record.candidate.version) this.#state.previous = this.#state.stable;
    if (this.#state.previous?.version === record.candidate.version) delete this.#state.previous;
    this.#state.stable = record.candidate;
    record.phase = 'succeeded';
    record.endedAtMs = this.#now();
    // Instances of releases that no longer serve are history, not state; one whose stop failed
    // (still `draining`) stays, so the next deploy or `baton down` stops it.
    this.#state.instances = this.#state.instances.filter((instance) => instance.status === 'ready' || instance.status === 'starting' || instance.status === 'draining');
    await this.#save();
    await this.#event('succeeded', `Deployed ${record.to}: it serves all traffic in ${Math.round((record.endedAtMs - record.startedAtMs) / 100) / 10} s.`, { durationMs: record.endedAtMs - record.startedAtMs });
    return this.#outcome(record);
  }

  #outcome(record: DeployRecord): DeployOutcome {
    const phase = record.phase === 'succeeded' || record.phase === 'rolled-back' || record.phase === 'failed' ? record.phase : 'paused';
    const outcome: DeployOutcome = { deployId: record.id, phase, to: record.to, verdicts: [...this.#verdicts] };
    if (record.from !== undefined) outcome.from = record.from;
    if (record.reason !== undefined && phase !== 'succeeded') outcome.reason = record.reason;
    if (this.#stopFailures.length > 0) outcome.stopFailures = [...this.#stopFailures];
    return outcome;
  }

  /**
   * Before any step: instances the journal lists are checked against the
   * platform (the dead ones are marked), and backends the router holds that
   * belong to no live instance (left by `baton down`, a crash, a hand edit)
   * are taken out of it, so no request is sent to a port nobody serves.
   */
  async #adopt(): Promise<TrackedInstance[]> {
    // Orphans: started by an orchestrator that died before it could journal them. Never in the router.
    const known = new Set(this.#state.instances.map((instance) => instance.id));
    for (const orphan of (await this.#platform.instances?.()) ?? []) {
      if (known.has(orphan.id) || !this.#platform.isRunning(orphan)) continue;
      try {
        await this.#platform.stop(orphan, { deadlineMs: this.#config.timeouts.stopMs });
      } catch (error) {
        // Never in the router: it takes no traffic, and the platform still lists it for the next try.
        await this.#stopFailed(orphan, error);
        continue;
      }
      await this.#event('instance-orphan-stopped', `${orphan.id} was running but never journaled (its orchestrator died while starting it); stopped.`, { id: orphan.id });
    }
    // Failed, yet running: a stop that failed for an instance that was never in traffic (a candidate
    // that did not get ready, one cut short by a rollback). Nothing else retries it. (`stopped` is
    // journaled only after a stop succeeded: a live pid there would be another process's.)
    for (const instance of this.#state.instances) {
      if (instance.status !== 'failed' || !this.#platform.isRunning(instance)) continue;
      const exit = await this.#stopInstance(instance);
      if (exit !== undefined) await this.#event('instance-stopped', `${instance.id} (${instance.release}), which an earlier stop left running, is stopped.`, { id: instance.id, release: instance.release, exitCode: exit.code, exitSignal: exit.signal });
    }
    const live = new Set(this.#state.instances.filter((instance) => instance.status === 'ready' || instance.status === 'starting' || instance.status === 'draining').map((instance) => instance.id));
    for (const backend of await this.#router.backends()) {
      if (live.has(backend.id)) continue;
      await this.#router.set([{ id: backend.id, state: 'maint' }]);
      // Still finishing a request: out of traffic is what matters; it is removed next time.
      await this.#router.remove(backend.id).catch(() => {});
      await this.#event('backend-removed', `${backend.id} (${backend.release}) was in the router but is no instance of this service any more; removed.`, { id: backend.id });
    }
    const lost = await this.#markDead();
    for (const instance of this.#state.instances) {
      // An instance left draining by the dead orchestrator finishes its retirement now.
      if (instance.status === 'draining') await this.#retire(instance);
    }
    await this.#save();
    return lost;
  }

  /**
   * Instances the journal says run (ready, starting, draining) whose process
   * is gone are marked failed and put out of traffic: the truth before any
   * count of ready instances. Returns them.
   */
  async #markDead(): Promise<TrackedInstance[]> {
    const lost = this.#state.instances.filter((instance) => (instance.status === 'ready' || instance.status === 'starting' || instance.status === 'draining') && !this.#platform.isRunning(instance));
    for (const instance of lost) {
      instance.status = 'failed';
      await this.#router.set([{ id: instance.id, state: 'maint' }]).catch(() => {});
      await this.#event('instance-lost', `${instance.id} (${instance.release}) is no longer running; out of traffic.`, { id: instance.id, release: instance.release });
    }
    if (lost.length > 0) {
      await this.#save();
      await this.#applyWeights();
    }
    return lost;
  }

  #watchInstances(): void {
    this.#watch = new AbortController();
    for (const instance of this.#state.instances) {
      if (instance.status === 'ready' || instance.status === 'starting') this.#watchInstance(instance);
    }
  }

  /**
   * A candidate that exits while it should serve fails the release at once.
   * A stable instance that exits is taken out of traffic (it is not the
   * candidate's fault); the counts before the next step see it gone.
   */
  #watchInstance(instance: TrackedInstance): void {
    const record = this.#state.deploy;
    if (record === undefined || this.#unwatch.has(instance.id)) return;
    const candidate = instance.release === record.to;
    const unsubscribe = this.#platform.onExit(instance, (exit) => {
      if (instance.status !== 'ready' && instance.status !== 'starting') return;
      instance.status = 'failed';
      const how = exit.signal === null ? `code ${exit.code}` : `signal ${exit.signal}`;
      const what = `instance ${instance.id} exited with ${how}${instance.logFile ? ` (log: ${instance.logFile})` : ''}`;
      if (candidate) {
        this.#watch.abort(new ReleaseFailure(what));
        return;
      }
      void this.#router
        .set([{ id: instance.id, state: 'maint' }])
        .then(() => this.#applyWeights())
        .then(
          () => this.#event('instance-lost', `${what}; out of traffic.`, { id: instance.id, release: instance.release }),
          // The router refused: said, not swallowed; the next step's reconciliation takes it out.
          (error: unknown) =>
            this.#event('instance-lost', `${what}; taking it out of traffic failed (${error instanceof Error ? error.message : String(error)}), retried at the next step.`, {
              id: instance.id,
              release: instance.release,
            }),
        )
        // Only the journal itself failing is left; it fails the next step's save too.
        .catch(() => {});
    });
    this.#unwatch.set(instance.id, unsubscribe);
  }

  #stopWatching(): void {
    for (const unsubscribe of this.#unwatch.values()) unsubscribe();
    this.#unwatch.clear();
  }

  #releaseFailure(subject: { version?: string; release?: string }, message: string): ReleaseFailure | BatonError {
    const version = subject.version ?? subject.release;
    const record = this.#state.deploy;
    // A stable instance that will not start (during a rollback) is not the candidate's fault.
    if (record !== undefined && version !== record.to) return new BatonError('BATON_ERR_PLATFORM', message);
    return new ReleaseFailure(message);
  }

  #instancesOf(version: string): TrackedInstance[] {
    return this.#state.instances.filter((instance) => instance.release === version);
  }

  async #save(): Promise<void> {
    await this.#journal.write(this.#state);
  }

  async #event(type: string, message: string, data?: Record<string, unknown>): Promise<void> {
    // The one way into the journal, the report and the CLI's output: secrets stop here.
    const event: DeployEvent = { atMs: this.#now(), type, message: this.#redactor.text(message) };
    if (data !== undefined) event.data = this.#redactor.value(data);
    await this.#journal.append(event);
    this.#onEvent(event);
  }
}
