import { describeShadow, type ShadowStatus } from '../shadow/shadow-step.js';
import type { DeployRecord } from '../service-state.js';
import type { Step } from '../strategies/step.js';
import type { DeployContext } from './deploy-context.js';
import { ReleaseFailure } from './failures.js';

/**
 * A shadow step: the router copies live requests to the candidate — ready,
 * with no share of the traffic — for the step's duration and compares its
 * answers with the stable release's. Pass goes on, fail rolls back (the
 * candidate never served anyone), inconclusive follows `analysis.onInconclusive`.
 * Run again after a restart, it starts over: the router's figures are not journaled.
 */
export async function runShadow(ctx: DeployContext, step: Extract<Step, { kind: 'shadow' }>, record: DeployRecord, watch: (durationMs: number) => Promise<void>, pause: (reason: string) => Promise<void>): Promise<void> {
  const shadow = ctx.router.shadow;
  if (shadow === undefined) {
    throw new ReleaseFailure(`a shadow step needs a router that can copy requests and compare answers: the built-in one (router.kind: builtin); ${ctx.router.kind} cannot`);
  }
  await shadow.start({ ...step.shadow, candidate: record.to });
  await ctx.event('shadow-started', `Shadow: copying requests to ${record.to} for ${step.durationMs / 1000} s; clients get ${record.from ?? 'the stable release'}'s answers only.`, { settings: step.shadow });
  let status: ShadowStatus | undefined;
  try {
    await watch(step.durationMs);
  } finally {
    // Ended whatever happens (an abort, a crashed candidate): no copy outlives the step.
    status = await shadow.stop();
  }
  if (status === undefined) throw new ReleaseFailure('the router lost the shadow step (restarted?): nothing was compared');
  const verdict = ctx.redactor.value(status);
  await ctx.event('shadow', ctx.redactor.text(describeShadow(verdict)), { shadow: verdict });
  if (verdict.outcome === 'pass') return;
  if (verdict.outcome === 'fail') throw new ReleaseFailure(`shadow failed: ${verdict.reasons.join(' ')}`);
  switch (ctx.config.analysis.onInconclusive) {
    case 'continue':
      return;
    case 'fail':
      throw new ReleaseFailure(`shadow inconclusive: ${verdict.reasons.join(' ')}`);
    case 'pause':
      await pause(`shadow inconclusive (${verdict.reasons.join(' ')}); promote to go on, abort to roll back`);
  }
}
