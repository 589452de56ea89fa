/**
 * A deploy is a list of steps, each one a *desired state* rather than an
 * action: "release v2 runs 2 instances", "v2 gets 20% of traffic". Running a
 * step twice (an orchestrator restarted mid-step) converges to the same state
 * instead of doing the work twice — that is what makes steps idempotent.
 */
export type Step =
  /** Run exactly `instances` ready instances of `release` (start or retire the difference). */
  | { kind: 'scale'; release: 'stable' | 'candidate'; instances: number }
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
  /** Keep the stable release warm (running, out of traffic) for `durationMs`, ready for a fast rollback. */
  | { kind: 'hold'; durationMs: number };

/** One line for people: what a step does. */
export function describeStep(step: Step): string {
  switch (step.kind) {
    case 'scale':
      return `${step.release} release to ${step.instances} instance${step.instances === 1 ? '' : 's'}`;
    case 'traffic':
      return step.candidatePercent === 'even' ? 'traffic evenly over every ready instance' : `candidate gets ${step.candidatePercent}% of traffic`;
    case 'pause':
      return step.durationMs === undefined ? 'pause until promoted' : `pause ${formatMs(step.durationMs)}`;
    case 'analysis':
      return `analysis over ${formatMs(step.durationMs)}`;
    case 'hold':
      return `keep the stable release warm for ${formatMs(step.durationMs)}`;
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
