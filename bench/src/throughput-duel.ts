import { waitForQuiet } from './throughput-machine-load.js';
import { runRound, type LoadOptions, type RoundSample } from './throughput-round.js';
import type { ThroughputServer } from './throughput-server.js';
import { median } from './throughput-stats.js';

/** A head-to-head of a variant against its baseline. */
export interface DuelResult {
  /** Median over duels of (variant's requests per server-CPU-second ÷ the baseline's). */
  cpuRatioToBare: number;
  /** Median over duels of (variant's req/s ÷ the baseline's). */
  ratioToBare: number;
  duels: { variant: RoundSample; baseline: RoundSample }[];
}

/**
 * Runs the variant and its baseline at the same time, both servers on the
 * same core, each under its own autocannon run. The kernel gives the two
 * processes equal CPU time, and whatever slows that core down (a neighbour,
 * the hypervisor) slows both at the same instant, so the ratio of their
 * requests per CPU-second measures the cost per request even where
 * back-to-back runs differ by ±20%.
 */
export async function runDuels(
  variant: ThroughputServer,
  baseline: ThroughputServer,
  load: LoadOptions,
  duels: number,
  quietLimitCores: number,
): Promise<DuelResult> {
  const samples: DuelResult['duels'] = [];
  for (let i = 0; i < duels; i += 1) {
    await waitForQuiet(quietLimitCores, 2000);
    const [v, b] = await Promise.all([runRound(variant, load), runRound(baseline, load)]);
    samples.push({ variant: v, baseline: b });
  }
  return {
    cpuRatioToBare: median(samples.map((d) => d.variant.requestsPerCpuSecond / d.baseline.requestsPerCpuSecond)),
    ratioToBare: median(samples.map((d) => d.variant.requestsPerSecond / d.baseline.requestsPerSecond)),
    duels: samples,
  };
}
