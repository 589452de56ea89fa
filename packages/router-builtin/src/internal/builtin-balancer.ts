/**
 * Smooth weighted round-robin (nginx's algorithm): every pick adds each
 * candidate's weight to its running score, takes the highest score and
 * subtracts the total weight from it. Over any window of `sum(weights)` picks
 * each candidate gets exactly its share, and the picks are interleaved
 * (3:1 gives A A B A, not A A A B), so a canary at weight 10 of 100 sees a
 * steady tenth of the traffic from the first requests on.
 *
 * Chosen over least-in-flight weighted because Baton's weights mean traffic
 * shares: the orchestrator shifts 10 %, 25 %, 50 % to a release and its
 * analysis compares the releases' request counts and error rates. With few
 * requests in flight (the common case) least-in-flight degenerates to "first
 * idle backend" and the shares drift from the weights; a slow release would
 * also get less traffic than asked, hiding its errors. The cost is that a slow
 * backend keeps its share; the analysis catches it by latency.
 */
export interface WeightedCandidate {
  /** 0–256; 0 gets nothing. */
  readonly weight: number;
  /** The running score; owned by the balancer (start at 0). */
  currentWeight: number;
}

/** Picks one of `candidates` (those with weight > 0); undefined when none has weight. */
export function pickSmoothWeighted<T extends WeightedCandidate>(candidates: readonly T[]): T | undefined {
  let total = 0;
  let best: T | undefined;
  for (const candidate of candidates) {
    if (!(candidate.weight > 0)) continue;
    candidate.currentWeight += candidate.weight;
    total += candidate.weight;
    if (best === undefined || candidate.currentWeight > best.currentWeight) best = candidate;
  }
  if (best !== undefined) best.currentWeight -= total;
  return best;
}
