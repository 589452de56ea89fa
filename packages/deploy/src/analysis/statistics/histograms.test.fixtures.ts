// Shared by the statistics tests: histograms as a service's http duration
// histogram has them, and a seeded PRNG so random cases are the same on every run.
import type { HistogramBucket } from '@baton/metrics';

/** prom-client's default bounds, +Inf last. */
export const BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, Number.POSITIVE_INFINITY];

/** Cumulative buckets from per-bucket counts (one per bound; missing ones are 0). */
export function histogram(perBucket: readonly number[], bounds: readonly number[] = BOUNDS): HistogramBucket[] {
  let sum = 0;
  return bounds.map((le, i) => {
    sum += perBucket[i] ?? 0;
    return { le, count: sum };
  });
}

/** Mulberry32: a small seeded PRNG. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
