// One analysis round's scrape of the whole fleet, timed: what a canary's
// analysis does at the start and at the end of every window
// (createMetricsAnalysis(...).begin(instances) scrapes every instance's
// /metrics and parses it). Repeated; the median says what one round costs.
import { createMetricsAnalysis, type InstanceRecord } from '@baton/deploy';

export interface ScrapeTiming {
  instances: number;
  rounds: number;
  /** Median wall time of one round over every instance. */
  medianMs: number;
  /** The median round ÷ instances. */
  perInstanceMs: number;
  /** Fastest and slowest round. */
  minMs: number;
  maxMs: number;
  /** CPU time of this process (the scraper's side: fetch and parse) per round, mean over the timed rounds. */
  cpuMsPerRound: number;
}

export async function timeScrapeRounds(instances: readonly InstanceRecord[], options: { rounds: number; metricsPath?: string; token?: string }): Promise<ScrapeTiming> {
  // begin() never throws on a failed scrape (it becomes a reason in the verdict): check once that every one answers.
  const path = options.metricsPath ?? '/metrics';
  for (const instance of instances) {
    const response = await fetch(`${instance.url}${path}`, options.token === undefined ? {} : { headers: { authorization: `Bearer ${options.token}` } });
    await response.arrayBuffer();
    if (response.status !== 200) throw new Error(`scrape timing: ${instance.id} answered ${response.status} on ${path}`);
  }
  const analysis = createMetricsAnalysis({ ...(options.metricsPath === undefined ? {} : { metricsPath: options.metricsPath }), ...(options.token === undefined ? {} : { token: options.token }) });
  // Two rounds first: connections, the parser's code paths and the instances' own handlers warm up.
  for (let i = 0; i < 2; i += 1) await analysis.begin(instances);
  const times: number[] = [];
  const cpuBefore = process.cpuUsage();
  for (let i = 0; i < options.rounds; i += 1) {
    const started = performance.now();
    await analysis.begin(instances);
    times.push(performance.now() - started);
  }
  const cpu = process.cpuUsage(cpuBefore);
  const cpuMsPerRound = (cpu.user + cpu.system) / 1000 / Math.max(1, options.rounds);
  times.sort((a, b) => a - b);
  const medianMs = times[Math.floor(times.length / 2)] ?? 0;
  return { instances: instances.length, rounds: times.length, medianMs, perInstanceMs: instances.length === 0 ? 0 : medianMs / instances.length, minMs: times[0] ?? 0, maxMs: times[times.length - 1] ?? 0, cpuMsPerRound };
}
