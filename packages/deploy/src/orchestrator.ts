import { BatonError } from '@baton/lifecycle';
import type { ResolvedDeployConfig } from './deploy-config.js';
import { recordHistory } from './environments/record-history.js';
import type { GateResult } from './gates/gate.js';
import type { Analysis, DeployEvent, Journal, Platform, Router } from './model.js';
import { adopt, retireLeftovers } from './orchestrator/adoption.js';
import { beginDeploy } from './orchestrator/begin-deploy.js';
import { pollControl, waitForPromotion } from './orchestrator/control-channel.js';
import { DeployContext } from './orchestrator/deploy-context.js';
import { stopHere, succeed, type DeployOutcome } from './orchestrator/deploy-outcome.js';
import { Interrupted, ReleaseFailure } from './orchestrator/failures.js';
import { settleStops } from './orchestrator/instance-stop.js';
import { markDead, stopWatching, watchInstances } from './orchestrator/instance-watcher.js';
import { rollBack } from './orchestrator/rollback.js';
import { runStep } from './orchestrator/steps.js';
import { withTrafficSamples } from './orchestrator/traffic-samples.js';
import { isFinished, type DeployRecord, type ServiceState } from './service-state.js';
import { describeStep, type Step } from './strategies/step.js';

export type { DeployOutcome, StopFailure } from './orchestrator/deploy-outcome.js';

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
  /** How this deploy came about, for the journal, the report and the environment's history; default a plain deploy by this process's user. */
  origin?: DeployOrigin;
}

/** How a deploy came about (see {@link OrchestratorOptions.origin}). */
export interface DeployOrigin {
  via: 'deploy' | 'promote' | 'rollback';
  /** A promotion's previous environment. */
  promotedFrom?: string;
  /** The gates the release passed before the deploy. */
  gates?: GateResult[];
  /** Who runs it; default this process's user and machine. */
  by?: { user: string; host: string };
}

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
 *
 * The steps, the control channel, the instance watcher, adoption and rollback
 * live in `./orchestrator/` (internal), as functions over one shared DeployContext.
 */
export class Orchestrator {
  readonly #ctx: DeployContext;

  private constructor(options: OrchestratorOptions, state: ServiceState) {
    this.#ctx = new DeployContext(options, state);
  }

  /** Loads the service's state from the journal (a fresh one for a new service). */
  static async open(options: OrchestratorOptions): Promise<Orchestrator> {
    const state = (await options.journal.read()) ?? { service: options.config.service, instances: [], nextInstance: 1 };
    if (state.service !== options.config.service) {
      throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `The state in ${options.config.stateDir} belongs to service "${state.service}", not "${options.config.service}"; use another stateDir.`);
    }
    // A deploy that ended just before a crash may have missed its line in the history.
    if (state.deploy !== undefined && isFinished(state.deploy.phase)) await recordHistory(options.journal, options.config.stateDir, options.config.environment).catch(() => false);
    return new Orchestrator(options, state);
  }

  /** A copy of the service's state as last journaled. */
  get state(): ServiceState {
    return structuredClone(this.#ctx.state);
  }

  /**
   * Deploys `config.release`. A deploy of the service that is still open
   * (killed mid-way) is resumed instead when it targets the same version, and
   * refused otherwise — finish it, or `rollback()` it, first.
   */
  async deploy(): Promise<DeployOutcome> {
    const ctx = this.#ctx;
    const candidate = ctx.config.release;
    const open = ctx.state.deploy;
    if (open !== undefined && !isFinished(open.phase)) {
      if (open.to === candidate.version) return this.resume();
      throw new BatonError('BATON_ERR_DEPLOY_FAILED', `A deploy of ${open.to} is still ${open.phase} (${open.id}); resume it (deploy ${open.to} again), or run rollback, before deploying ${candidate.version}.`);
    }
    const stable = ctx.state.stable;
    if (stable !== undefined && stable.version === candidate.version) {
      throw new BatonError('BATON_ERR_DEPLOY_CONFIG', `Release ${candidate.version} is already the stable release; give the new release its own version label.`);
    }
    await adopt(ctx);
    const record = await beginDeploy(ctx);
    return withTrafficSamples(ctx, async () => {
      await retireLeftovers(ctx, record);
      return this.#run(record);
    });
  }

  /** Carries on with the open deploy after a restart: rolls back if it was rolling back, waits again if paused. */
  async resume(): Promise<DeployOutcome> {
    const ctx = this.#ctx;
    const record = this.#requireOpen('resume');
    await ctx.event('deploy-resumed', `Resuming the deploy of ${record.to} at step ${record.stepIndex + 1} of ${record.steps.length} (${record.phase}).`, { deployId: record.id, phase: record.phase });
    return withTrafficSamples(ctx, async () => {
      const lost = await adopt(ctx);
      if (record.phase === 'rolling-back') return rollBack(ctx, record.reason ?? 'rollback resumed after a restart');
      const lostCandidate = lost.find((instance) => instance.release === record.to);
      if (lostCandidate !== undefined) return rollBack(ctx, `instance ${lostCandidate.id} of ${record.to} exited while no orchestrator was watching`);
      return this.#run(record);
    });
  }

  /** Stops the open deploy and sends all traffic back to the stable release (`baton abort`, `baton rollback` mid-deploy). */
  async rollback(reason = 'rolled back on request'): Promise<DeployOutcome> {
    this.#requireOpen('roll back');
    return withTrafficSamples(this.#ctx, async () => {
      await adopt(this.#ctx);
      return rollBack(this.#ctx, reason);
    });
  }

  #requireOpen(what: string): DeployRecord {
    const record = this.#ctx.state.deploy;
    if (record === undefined || isFinished(record.phase)) {
      throw new BatonError('BATON_ERR_DEPLOY_FAILED', `There is no deploy in progress to ${what}${record ? ` (the last one, of ${record.to}, ${record.phase})` : ''}.`);
    }
    return record;
  }

  /** The steps from where the journal says the deploy is, watched all along; any failure rolls back. */
  async #run(record: DeployRecord): Promise<DeployOutcome> {
    const ctx = this.#ctx;
    watchInstances(ctx);
    const stopPolling = pollControl(ctx, record);
    try {
      if (record.phase === 'paused') {
        // Resumed in a pause (manual, or an inconclusive analysis): the promotion completes that step.
        await waitForPromotion(ctx, record);
        record.stepIndex += 1;
        await ctx.save();
      }
      while (record.stepIndex < record.steps.length) {
        ctx.throwIfInterrupted();
        const step = record.steps[record.stepIndex] as Step;
        await ctx.event('step', `Step ${record.stepIndex + 1}/${record.steps.length}: ${describeStep(step, { candidate: record.to, stable: record.from })}.`, { index: record.stepIndex, step });
        await runStep(ctx, step, record);
        // A candidate that died, or an abort, during a step that does not wait (traffic, a retire) is seen here.
        ctx.watch.signal.throwIfAborted();
        record.stepIndex += 1;
        await ctx.save();
      }
      // Success only with the candidate alive after every old process has exited.
      await settleStops(ctx);
      await markDead(ctx);
      ctx.watch.signal.throwIfAborted();
      if (!ctx.instancesOf(record.to).some((instance) => instance.status === 'ready')) throw new ReleaseFailure(`no instance of ${record.to} is running at the end of the deploy`);
    } catch (error) {
      stopPolling();
      if (error instanceof Interrupted || (ctx.interrupt?.aborted === true && !(error instanceof ReleaseFailure))) return stopHere(ctx, record);
      const reason = error instanceof ReleaseFailure || error instanceof BatonError ? error.message : `unexpected error: ${error instanceof Error ? error.stack ?? error.message : String(error)}`;
      return rollBack(ctx, reason);
    } finally {
      stopPolling();
      stopWatching(ctx);
    }
    return succeed(ctx, record);
  }
}
