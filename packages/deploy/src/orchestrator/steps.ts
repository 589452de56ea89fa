import { sleep } from '../internal/instance-probes.js';
import type { DeployRecord } from '../service-state.js';
import type { Step } from '../strategies/step.js';
import { waitForPromotion } from './control-channel.js';
import type { DeployContext } from './deploy-context.js';
import { ReleaseFailure } from './failures.js';
import { markDead } from './instance-watcher.js';
import { retireBaseline, scaleCandidate } from './baseline.js';
import { scale } from './scale.js';
import { awaitStragglers, runDnsTtl } from './dns-switch.js';
import { runShadow } from './shadow.js';
import { applyWeights } from './traffic.js';

/** Runs one step of the plan. Steps are idempotent: after a restart the current one runs again. */
export async function runStep(ctx: DeployContext, step: Step, record: DeployRecord): Promise<void> {
  switch (step.kind) {
    case 'traffic':
      // Blue's window ends as the switch begins: what it served alone, for green's verification.
      if (step.candidatePercent === 100 && ctx.beforeSwitch !== undefined && !ctx.beforeSwitch.closed && ctx.analysis.end !== undefined) {
        await ctx.analysis.end(ctx.beforeSwitch.window);
        ctx.beforeSwitch.closed = true;
      }
      record.traffic = step.candidatePercent;
      await ctx.save();
      await applyWeights(ctx);
      return;
    case 'scale': {
      if (step.release === 'candidate') {
        await beginBeforeSwitch(ctx, record);
        await scaleCandidate(ctx, record, step.instances, step.baseline);
        return;
      }
      const stable = ctx.state.stable;
      if (step.release === 'baseline') {
        // To 0 (the promotion): every baseline instance goes, whatever its state, not only the ready ones.
        if (step.instances === 0) await retireBaseline(ctx);
        else if (stable !== undefined && stable.version === record.from) await scale(ctx, stable, step.instances, 'baseline');
        return;
      }
      if (stable === undefined) return;
      await markDead(ctx);
      // Never retire the stable release below what the candidate can carry. Before any candidate is
      // ready, a rolling deploy may still retire down to what its maxUnavailable allows (maxSurge 0:
      // a batch out first, as Elastic Beanstalk's rolling deploys do) — never to nothing.
      const candidateReady = ctx.instancesOf(record.to).filter((instance) => instance.status === 'ready').length;
      if (candidateReady === 0) {
        const unavailable = record.strategy.type === 'rolling' ? (record.strategy.maxUnavailable ?? 0) : 0;
        const floor = Math.max(1, ctx.config.instances - unavailable);
        if (step.instances < floor) throw new ReleaseFailure(`no instance of ${record.to} is ready; the stable release ${stable.version} is not retired`);
      }
      // The baseline never outlives the stable release it was started from (a plan retires it before this step).
      if (step.instances === 0 && ctx.baselineInstances().some((instance) => instance.status !== 'stopped' && instance.status !== 'failed')) await retireBaseline(ctx);
      await scale(ctx, stable, step.instances);
      return;
    }
    case 'pause':
      if (step.durationMs === undefined) {
        await pause(ctx, record, 'waiting for promote (manual pause step)');
        return;
      }
      await watchFor(ctx, step.durationMs);
      return;
    case 'hold':
      await watchFor(ctx, step.durationMs);
      return;
    case 'analysis':
      await analyse(ctx, step.durationMs, record);
      return;
    case 'dns-ttl':
      await runDnsTtl(ctx, step, record);
      return;
    case 'stragglers':
      // The stable release's stack, which the switch left.
      if (record.from !== undefined) await awaitStragglers(ctx, record.from, step);
      return;
    case 'shadow':
      await runShadow(ctx, step, record, (durationMs) => watchFor(ctx, durationMs), (reason) => pause(ctx, record, reason));
      return;
  }
}

/**
 * Blue/green with a verification step: once the switch has sent everything
 * to green, blue serves nothing left to compare with. So a window over blue
 * begins as green starts and ends at the switch: what blue served alone,
 * the baseline green's verification is judged against.
 */
async function beginBeforeSwitch(ctx: DeployContext, record: DeployRecord): Promise<void> {
  if (record.strategy.type !== 'blue-green' || ctx.beforeSwitch !== undefined || ctx.analysis.end === undefined) return;
  if (!record.steps.some((step) => step.kind === 'analysis') || record.traffic === 100) return;
  const blue = ctx.state.instances.filter((instance) => instance.release === record.from && instance.status === 'ready' && instance.role !== 'baseline');
  if (blue.length === 0) return;
  ctx.beforeSwitch = { window: await ctx.analysis.begin(blue), closed: false };
}

/** Waits `durationMs` while watching for a crashed candidate and for `abort`. */
async function watchFor(ctx: DeployContext, durationMs: number): Promise<void> {
  const until = ctx.now() + durationMs;
  while (ctx.now() < until) {
    // An abort (the control poller) or a crashed candidate ends the wait through the signal.
    await sleep(Math.min(200, Math.max(until - ctx.now(), 0)), ctx.waitSignal());
  }
}

async function pause(ctx: DeployContext, record: DeployRecord, unredacted: string): Promise<void> {
  const reason = ctx.redactor.text(unredacted);
  record.phase = 'paused';
  record.reason = reason;
  await ctx.save();
  await ctx.event('paused', `Paused: ${reason}.`, { reason });
  await waitForPromotion(ctx, record);
}

/** Judges the candidate over windows of `durationMs`: pass goes on, fail rolls back, inconclusive retries as configured. */
async function analyse(ctx: DeployContext, durationMs: number, record: DeployRecord): Promise<void> {
  const stable = record.from ?? ctx.state.stable?.version;
  let attempts = 0;
  for (;;) {
    // Every ready instance, the baseline's with `role: 'baseline'`: the analysis judges the candidate against
    // those when there are any, else against the warm instances of the stable release.
    const serving = ctx.state.instances.filter((instance) => instance.status === 'ready');
    const window = await ctx.analysis.begin(serving);
    await watchFor(ctx, durationMs);
    // Redacted once here, so what the library returns (DeployOutcome.verdicts) says no more than the events do:
    // a scrape error's text can echo a token.
    const before = ctx.beforeSwitch?.closed === true ? { baselineWindow: ctx.beforeSwitch.window } : {};
    const verdict = ctx.redactor.value(await ctx.analysis.judge(window, serving, { baseline: stable ?? record.to, candidate: record.to, ...before }));
    ctx.verdicts.push(verdict);
    // Tallied in the record, journaled with it: the environment's history and a soak gate read it.
    record.analyses ??= { pass: 0, fail: 0, inconclusive: 0 };
    record.analyses[verdict.outcome] += 1;
    // A finding a line: the CLI shows each under the first, the report keeps them in one cell.
    await ctx.event('analysis', `Analysis: ${verdict.outcome}.\n${verdict.reasons.join('\n')}`, { verdict });
    if (verdict.outcome === 'pass') return;
    if (verdict.outcome === 'fail') throw new ReleaseFailure(`analysis failed: ${verdict.reasons.join(' ')}`);
    attempts += 1;
    if (attempts <= ctx.config.analysis.inconclusiveRetries) continue;
    switch (ctx.config.analysis.onInconclusive) {
      case 'continue':
        return;
      case 'fail':
        throw new ReleaseFailure(`analysis stayed inconclusive after ${attempts} windows: ${verdict.reasons.join(' ')}`);
      case 'pause':
        await pause(ctx, record, `analysis inconclusive after ${attempts} windows (${verdict.reasons.join(' ')}); promote to go on, abort to roll back`);
        return;
    }
  }
}
