import { runRound, type LoadOptions, type RoundSample } from './throughput-round.js';
import type { ThroughputServer } from './throughput-server.js';
import { median } from './throughput-stats.js';

/** One head-to-head run. */
export interface Duel {
  variant: RoundSample;
  baseline: RoundSample;
}

/** Head-to-head runs of a variant against its baseline, summarized. */
export interface DuelResult {
  /** Median over runs of (variant's requests per server-CPU-second ÷ the baseline's). */
  cpuRatioToBare: number;
  /** Median over runs of (variant's req/s ÷ the baseline's). */
  ratioToBare: number;
  duels: Duel[];
}

/**
 * Runs the variant and its baseline at the same time, both servers on the
 * same core, each under its own autocannon run. The kernel gives the two
 * processes equal CPU time, and whatever slows that core down (a neighbour,
 * the hypervisor) slows both at the same instant, so the ratio of their
 * requests per CPU-second measures the cost per request even where
 * back-to-back runs differ by ±20%.
 */
export async function runDuel(variant: ThroughputServer, baseline: ThroughputServer, load: LoadOptions): Promise<Duel> {
  const [v, b] = await Promise.all([runRound(variant, load), runRound(baseline, load)]);
  return { variant: v, baseline: b };
}

/** Medians of a set of head-to-head runs. */
export function summarizeDuels(duels: Duel[]): DuelResult {
  return {
    cpuRatioToBare: median(duels.map((d) => d.variant.requestsPerCpuSecond / d.baseline.requestsPerCpuSecond)),
    ratioToBare: median(duels.map((d) => d.variant.requestsPerSecond / d.baseline.requestsPerSecond)),
    duels,
  };
}
