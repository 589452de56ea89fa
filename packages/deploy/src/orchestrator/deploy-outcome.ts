import { recordHistory } from '../environments/record-history.js';
import type { Verdict } from '../model.js';
import type { DeployRecord } from '../service-state.js';
import type { DeployContext } from './deploy-context.js';
import { settleStops } from './instance-stop.js';

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

export function outcomeOf(ctx: DeployContext, record: DeployRecord): DeployOutcome {
  const phase = record.phase === 'succeeded' || record.phase === 'rolled-back' || record.phase === 'failed' ? record.phase : 'paused';
  const outcome: DeployOutcome = { deployId: record.id, phase, to: record.to, verdicts: [...ctx.verdicts] };
  if (record.from !== undefined) outcome.from = record.from;
  if (record.reason !== undefined && phase !== 'succeeded') outcome.reason = record.reason;
  if (ctx.stopFailures.length > 0) outcome.stopFailures = [...ctx.stopFailures];
  return outcome;
}

/** Every step ran and the candidate is alive: it becomes the stable release. */
export async function succeed(ctx: DeployContext, record: DeployRecord): Promise<DeployOutcome> {
  await settleStops(ctx);
  const { state } = ctx;
  if (state.stable !== undefined && state.stable.version !== record.candidate.version) state.previous = state.stable;
  if (state.previous?.version === record.candidate.version) delete state.previous;
  state.stable = record.candidate;
  record.phase = 'succeeded';
  record.endedAtMs = ctx.now();
  // Instances of releases that no longer serve are history, not state; one whose stop failed
  // (still `draining`) stays, so the next deploy or `baton down` stops it.
  state.instances = state.instances.filter((instance) => instance.status === 'ready' || instance.status === 'starting' || instance.status === 'draining');
  await ctx.save();
  await recordEnd(ctx);
  await ctx.event('succeeded', `Deployed ${record.to}: it serves all traffic in ${Math.round((record.endedAtMs - record.startedAtMs) / 100) / 10} s.`, { durationMs: record.endedAtMs - record.startedAtMs });
  return outcomeOf(ctx, record);
}

/** Interrupted: starts under way finish or fail, the state is journaled as it is, and the deploy stays open. */
export async function stopHere(ctx: DeployContext, record: DeployRecord): Promise<DeployOutcome> {
  await Promise.allSettled([...ctx.starting]);
  await settleStops(ctx);
  await ctx.save();
  await ctx.event('interrupted', `Stopped watching the deploy of ${record.to} at step ${record.stepIndex + 1} of ${record.steps.length}; it stays open: deploy ${record.to} again to resume, or roll it back.`, {
    stepIndex: record.stepIndex,
  });
  const outcome = outcomeOf(ctx, record);
  outcome.phase = 'interrupted';
  return outcome;
}

/** The deploy ended: a line in the environment's history. A history that cannot be written costs a warning, not the deploy (the next orchestrator to open the journal writes the line). */
export async function recordEnd(ctx: DeployContext): Promise<void> {
  try {
    await recordHistory(ctx.journal, ctx.config.stateDir, ctx.config.environment);
  } catch (error) {
    await ctx.event('history-failed', `The end of the deploy could not be added to the history in ${ctx.config.stateDir}: ${error instanceof Error ? error.message : String(error)}; the next deploy adds it.`);
  }
}
