import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import type { ResolvedDeployConfig } from '../deploy-config.js';
import { loadSealKey, sealState, withSecretsFrom } from '../journal-secrets.js';
import type { Analysis, AnalysisWindow, DeployEvent, Journal, Platform, ReleaseSpec, Router, Verdict } from '../model.js';
import type { DeployOrigin, OrchestratorOptions } from '../orchestrator.js';
import { createRedactor, secretValuesOf, type Redactor } from '../secrets.js';
import type { JournaledRelease, ServiceState, TrackedInstance } from '../service-state.js';
import { StackRouter } from '../dns/stack-router.js';
import type { StopFailure } from './deploy-outcome.js';
import type { StragglerWatch } from './dns-switch.js';
import { Interrupted, ReleaseFailure } from './failures.js';

/**
 * What the steps of one orchestrator share: its collaborators, the journaled
 * state they change, and the bookkeeping of the work under way. Steps are
 * functions over it; only `save` and `event` reach the journal.
 */
export class DeployContext {
  readonly config: ResolvedDeployConfig;
  readonly platform: Platform;
  readonly router: Router;
  readonly analysis: Analysis;
  readonly journal: Journal<ServiceState>;
  readonly onEvent: (event: DeployEvent) => void;
  readonly now: () => number;
  readonly pollMs: number;
  readonly sampleIntervalMs: number;
  /** The `signal` option: stop at the next safe point and keep the deploy open. */
  readonly interrupt: AbortSignal | undefined;
  /** How the deploy came about (a promotion, a rollback): journaled with it. */
  readonly origin: DeployOrigin;
  /** Scrubs the releases' secrets from every event and reason (journal, report, CLI output, status); learns the secrets of a journaled release when it is unsealed. */
  redactor: Redactor;
  readonly state: ServiceState;
  readonly verdicts: Verdict[] = [];
  readonly stopFailures: StopFailure[] = [];
  /** Instances drained and told to stop, not exited yet. */
  readonly pendingStops: Promise<void>[] = [];
  /** Instance starts under way (a rollback waits for them, so none is left running behind it). */
  readonly starting = new Set<Promise<void>>();
  /** The platform's onExit subscriptions, by instance id. */
  readonly exitSubscriptions = new Map<string, () => void>();
  /** A control file that cannot be read was reported (once until it can be read again). */
  controlUnreadable = false;
  /**
   * Blue/green: the window over the stable release's instances from the
   * candidate's start to the switch, `closed` once the switch ended it — what
   * the verification judges green against. In memory only: an orchestrator
   * that restarts after the switch judges against the warm instances instead.
   */
  beforeSwitch: { window: AnalysisWindow; closed: boolean } | undefined;
  /** Blue/green by DNS: the router is the two stacks' with their record. */
  readonly stacks: StackRouter | undefined;
  /** The stacks the record left, watched for stragglers until they retire, by color. */
  readonly stragglers = new Map<string, StragglerWatch>();
  /** Aborted with a ReleaseFailure when a candidate instance exits on its own or an abort arrives. */
  watch = newWatch();
  /** Journaled releases with their secrets filled in again, by version: unsealed once per orchestrator. */
  readonly unsealed = new Map<string, ReleaseSpec>();
  #sealKey: Promise<Buffer> | undefined;
  #combined: { watch: AbortController; signal: AbortSignal } | undefined;

  constructor(options: OrchestratorOptions, state: ServiceState) {
    this.config = options.config;
    this.platform = options.platform;
    this.router = options.router;
    this.stacks = options.router instanceof StackRouter ? options.router : undefined;
    this.analysis = options.analysis;
    this.journal = options.journal;
    this.onEvent = options.onEvent ?? (() => {});
    this.now = options.now ?? Date.now;
    this.pollMs = options.pollMs ?? 100;
    this.sampleIntervalMs = options.sampleIntervalMs ?? 1000;
    this.interrupt = options.signal;
    this.origin = options.origin ?? { via: 'deploy' };
    this.state = state;
    // Releases read back from the journal have no secret values; those the config's release names
    // are filled in now, so they go on with `state.previous` into a rollback's config (where the
    // config's release is replaced by it). The rest is looked for when an instance starts (scale.ts).
    const fill = (release: JournaledRelease): JournaledRelease => withSecretsFrom(release, options.config.release);
    if (state.stable !== undefined) state.stable = fill(state.stable);
    if (state.previous !== undefined) state.previous = fill(state.previous);
    if (state.deploy !== undefined) state.deploy.candidate = fill(state.deploy.candidate);
    // Every release this orchestrator may start or quote, and the environment its instances inherit.
    const releases = [options.config.release, state.stable, state.previous, state.deploy?.candidate];
    this.redactor = createRedactor([
      ...releases.flatMap((release) => (release === undefined ? [] : secretValuesOf(release, process.env))),
      ...(options.config.metricsToken === undefined ? [] : [options.config.metricsToken]),
    ]);
  }

  /** Sends the deploy to rollback: every wait watching `waitSignal()` ends with this reason. */
  failRelease(reason: string): void {
    this.watch.abort(new ReleaseFailure(reason));
  }

  /** The signal every wait listens to: a failed candidate or an abort (this deploy's watch), or an interruption. */
  waitSignal(): AbortSignal {
    if (this.interrupt === undefined) return this.watch.signal;
    // One combined signal per watch: waits poll every 100 ms and must not add a listener each time.
    if (this.#combined?.watch !== this.watch) {
      const interrupted = new AbortController();
      const onInterrupt = (): void => interrupted.abort(new Interrupted('interrupted'));
      if (this.interrupt.aborted) onInterrupt();
      else this.interrupt.addEventListener('abort', onInterrupt, { once: true });
      this.#combined = { watch: this.watch, signal: AbortSignal.any([this.watch.signal, interrupted.signal]) };
    }
    return this.#combined.signal;
  }

  throwIfInterrupted(): void {
    if (this.interrupt?.aborted) throw new Interrupted('interrupted');
  }

  /**
   * The instances of release `version` that make up its own set: never a
   * baseline (instances of the stable release started beside a canary), so
   * scaling or retiring the stable release neither counts nor touches them.
   */
  instancesOf(version: string): TrackedInstance[] {
    return this.state.instances.filter((instance) => instance.release === version && instance.role !== 'baseline');
  }

  /** The fresh baseline's instances beside the canary (`role: 'baseline'`), whatever their status. */
  baselineInstances(): TrackedInstance[] {
    return this.state.instances.filter((instance) => instance.role === 'baseline');
  }

  /** The key of the journal's secret fingerprints (`<stateDir>/journal/.seal-key`), made on first use. */
  sealKey(): Promise<Buffer> {
    this.#sealKey ??= loadSealKey(join(this.config.stateDir, 'journal')).catch((error: unknown) => {
      this.#sealKey = undefined;
      throw error;
    });
    return this.#sealKey;
  }

  async save(): Promise<void> {
    // The state in memory keeps the working values (instances start from it); the journal gets a
    // sealed copy, with no secret in clear.
    const key = await this.sealKey();
    await this.journal.write(sealState(this.state, key));
  }

  async event(type: string, message: string, data?: Record<string, unknown>): Promise<void> {
    // The one way into the journal, the report and the CLI's output: secrets stop here.
    const event: DeployEvent = { atMs: this.now(), type, message: this.redactor.text(message) };
    if (data !== undefined) event.data = this.redactor.value(data);
    await this.journal.append(event);
    this.onEvent(event);
  }
}

/**
 * The abort signal of one run's instance starts and waits. Every start in a
 * batch listens on it (a fleet starts dozens at once), which is no leak:
 * Node's warning past 10 listeners would only alarm people.
 */
export function newWatch(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}
