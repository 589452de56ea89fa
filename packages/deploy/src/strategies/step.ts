import type { ShadowStepConfig } from '../shadow/shadow-step.js';

/**
 * A deploy is a list of steps, each one a *desired state* rather than an
 * action: "release v2 runs 2 instances", "v2 gets 20% of traffic". Running a
 * step twice (an orchestrator restarted mid-step) converges to the same state
 * instead of doing the work twice — that is what makes steps idempotent.
 */
export type Step =
  /**
   * Run exactly `instances` ready instances of `release` (start or retire the
   * difference). `baseline` is the stable release's fresh baseline beside a
   * canary (instances with `role: 'baseline'`, never counted as the stable
   * release's). On a candidate's step, `baseline` scales the baseline to that
   * count at the same time: both start together, so neither is the fresher.
   */
  | { kind: 'scale'; release: 'stable' | 'candidate' | 'baseline'; instances: number; baseline?: number }
  /**
   * Traffic shares per release, in percent of requests, summing to 100.
   * `'even'` spreads traffic evenly over every ready instance of either
   * release (a rolling deploy's mix).
   */
  | { kind: 'traffic'; candidatePercent: number | 'even' }
  /** Wait `durationMs`, watching the instances; no `durationMs` waits for `baton promote`. */
  | { kind: 'pause'; durationMs?: number }
  /** Judge the candidate against the stable release over `durationMs` of live traffic. */
  | { kind: 'analysis'; durationMs: number }
  /**
   * Copy live requests to the candidate (ready, with no share of the
   * traffic) for `durationMs` and compare its answers with the stable
   * release's; clients only get the stable answers. Fails like an analysis.
   */
  | { kind: 'shadow'; durationMs: number; shadow: Omit<ShadowStepConfig, 'durationMs'> }
  /** Keep the stable release warm (running, out of traffic) for `durationMs`, ready for a fast rollback. */
  | { kind: 'hold'; durationMs: number }
  /**
   * A DNS switch's TTL: `lower` sets the record's TTL to `ttl` seconds ahead
   * of the switch; `await` waits until the old TTL (`ttl`) has passed since,
   * so no cache still holds the record with it; `restore` puts `ttl` back.
   */
  | { kind: 'dns-ttl'; action: 'lower' | 'await' | 'restore'; ttl: number }
  /**
   * After a DNS switch: keep the old stack up, watching its router, for at
   * least `holdMs` (the rollback window) and until it has seen no new request
   * for `ttl` seconds plus `marginMs` — at most `deadlineMs` after the switch.
   */
  | { kind: 'stragglers'; holdMs: number; ttl: number; marginMs: number; deadlineMs: number };

/**
 * One line for people: what a step does. With `names` (the versions of the
 * deploy) it names the releases; a deploy with no stable release (a
 * service's first) is told as what it does: start the instances, each taking
 * traffic once it is ready.
 */
export function describeStep(step: Step, names?: { candidate: string; stable?: string | undefined }): string {
  const release = (role: 'stable' | 'candidate'): string => (role === 'candidate' ? names?.candidate : names?.stable) ?? `${role} release`;
  const baseline = `${release('stable')} baseline`;
  const first = names !== undefined && names.stable === undefined;
  const count = (n: number): string => `${n} instance${n === 1 ? '' : 's'}`;
  switch (step.kind) {
    case 'scale':
      if (first && step.release === 'candidate') return `start ${count(step.instances)} of ${names.candidate}, each taking traffic once it is ready`;
      if (step.release === 'baseline') return `${baseline} to ${count(step.instances)}${step.instances === 0 ? ', retired with the canary' : ''}`;
      if (step.baseline !== undefined) return `${release(step.release)} to ${count(step.instances)}; ${baseline} to ${count(step.baseline)}, started with the canary`;
      return `${release(step.release)} to ${count(step.instances)}`;
    case 'traffic':
      if (step.candidatePercent === 'even') return 'traffic evenly over every ready instance';
      if (first) return `${names.candidate} serves all traffic`;
      return `${names === undefined ? 'candidate' : names.candidate} gets ${step.candidatePercent}% of traffic`;
    case 'pause':
      return step.durationMs === undefined ? 'pause until promoted' : `pause ${formatMs(step.durationMs)}`;
    case 'analysis':
      return `analysis over ${formatMs(step.durationMs)}`;
    case 'hold':
      return `keep the stable release warm for ${formatMs(step.durationMs)}`;
    case 'dns-ttl':
      if (step.action === 'lower') return `lower the DNS record's TTL to ${step.ttl} s`;
      if (step.action === 'await') return `wait out the old TTL (${step.ttl} s) before the DNS switch`;
      return `put the DNS record's TTL back to ${step.ttl} s`;
    case 'stragglers':
      return `keep ${release('stable')} up after the DNS switch until its traffic stops: at least ${formatMs(step.holdMs)}, then no new request for the TTL (${step.ttl} s) + ${formatMs(step.marginMs)}, at most ${formatMs(step.deadlineMs)}`;
    case 'shadow':
      return `shadow ${names === undefined ? 'candidate' : names.candidate} for ${formatMs(step.durationMs)}: a copy of ${step.shadow.share === undefined || step.shadow.share === 1 ? 'every' : `${Math.round(step.shadow.share * 100)}% of the`} ${(step.shadow.methods ?? ['GET', 'HEAD']).join('/')} request${step.shadow.share === undefined || step.shadow.share === 1 ? '' : 's'}, its answers compared with ${names?.stable ?? 'the stable release'}'s`;
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
