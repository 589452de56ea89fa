import { compareSnapshots, scrape, type Snapshot } from '@baton/metrics';
import type { BackendStatus, InstanceRecord, Router } from './model.js';

/** What one release did between two ticks of the monitor: one point of the report's timeline. */
export interface ReleaseSample {
  /** Share of the router's weight on this release's ready backends, in percent. */
  weightPercent: number;
  /** Requests per second the router sent to this release. */
  requestRate: number;
  /** Responses per second with a 5xx status, from the instances' own metrics. */
  errorRate: number;
  /** 99th percentile latency in milliseconds, when there were requests. */
  p99Ms?: number;
  /** Requests in flight at the router now. */
  inFlight: number;
  /** Backends of this release in the router (any state). */
  backends: number;
}

export interface TimelineSample {
  atMs: number;
  releases: Record<string, ReleaseSample>;
}

/** A label name no exposition uses (`__` names are Prometheus' own): groups all of an instance's series as one. */
const WHOLE_INSTANCE = '__baton_whole_instance__';

/** After a tick, the monitor rests at least this many times as long as the tick took. */
const MONITOR_REST_FACTOR = 4;

/** Options of {@link startMonitor}. */
export interface MonitorOptions {
  router: Router;
  /** The instances to scrape now (read at every tick: the set changes during a deploy). */
  instances: () => readonly InstanceRecord[];
  metricsPath: string;
  /** Bearer token of the metrics endpoints, when they want one. */
  token?: string;
  /** Default 1000 ms. */
  intervalMs?: number;
  onSample: (sample: TimelineSample) => void;
  now?: () => number;
}

/**
 * Samples traffic per release once a second for the live progress and the
 * report's timeline: request rates from the router (what clients actually
 * sent), errors and latency from each instance's /metrics. A tick that fails
 * (the router busy reloading, an instance gone mid-scrape) is skipped, never
 * fatal: the monitor only watches.
 *
 * @returns a function that stops it and waits for a tick in progress.
 */
export function startMonitor(options: MonitorOptions): () => Promise<void> {
  const intervalMs = options.intervalMs ?? 1000;
  const now = options.now ?? Date.now;
  let previousBackends: { atMs: number; byId: Map<string, BackendStatus> } | undefined;
  let previousScrapes = new Map<string, Snapshot>();
  let stopped = false;
  let running: Promise<void> = Promise.resolve();

  const tick = async (): Promise<void> => {
    const atMs = now();
    const backends = await options.router.backends();
    const instances = options.instances();
    const scrapes = await Promise.all(instances.map((instance) => scrape(`${instance.url}${options.metricsPath}`, { timeoutMs: Math.max(intervalMs, 500), ...(options.token === undefined ? {} : { token: options.token }) }).catch(() => undefined)));
    const currentScrapes = new Map<string, Snapshot>();
    scrapes.forEach((snapshot, index) => {
      const instance = instances[index];
      if (snapshot !== undefined && instance !== undefined) currentScrapes.set(instance.id, snapshot);
    });

    const releases: Record<string, ReleaseSample> = {};
    const totalWeight = backends.reduce((sum, backend) => sum + (backend.state === 'ready' ? backend.weight : 0), 0);
    for (const backend of backends) {
      const sample = (releases[backend.release] ??= { weightPercent: 0, requestRate: 0, errorRate: 0, inFlight: 0, backends: 0 });
      sample.backends += 1;
      sample.inFlight += backend.inFlight;
      if (backend.state === 'ready' && totalWeight > 0) sample.weightPercent += (100 * backend.weight) / totalWeight;
      const before = previousBackends?.byId.get(backend.id);
      if (before !== undefined && previousBackends !== undefined && atMs > previousBackends.atMs) {
        sample.requestRate += Math.max(backend.requestsTotal - before.requestsTotal, 0) / ((atMs - previousBackends.atMs) / 1000);
      }
    }
    // Per release as the orchestrator knows it (the instance's), not by the metrics' `release` label:
    // a service whose metrics carry none (or another value) would otherwise show up as a release named ''.
    const pairsByRelease = new Map<string, [Snapshot, Snapshot][]>();
    for (const instance of instances) {
      const before = previousScrapes.get(instance.id);
      const after = currentScrapes.get(instance.id);
      if (before === undefined || after === undefined) continue;
      const pairs = pairsByRelease.get(instance.release) ?? [];
      pairs.push([before, after]);
      pairsByRelease.set(instance.release, pairs);
    }
    for (const [release, pairs] of pairsByRelease) {
      // A label no series has: every series of these instances falls in one group.
      const window = compareSnapshots(
        pairs.map(([before]) => before),
        pairs.map(([, after]) => after),
        { groupBy: WHOLE_INSTANCE },
      ).get('');
      if (window === undefined) continue;
      const sample = (releases[release] ??= { weightPercent: 0, requestRate: 0, errorRate: 0, inFlight: 0, backends: 0 });
      sample.errorRate = window.seconds > 0 ? window.errors / window.seconds : 0;
      const p99 = window.latency['p99'];
      if (p99 !== undefined) sample.p99Ms = p99 * 1000;
    }
    for (const sample of Object.values(releases)) sample.weightPercent = Math.round(sample.weightPercent * 10) / 10;
    previousBackends = { atMs, byId: new Map(backends.map((backend) => [backend.id, backend])) };
    previousScrapes = currentScrapes;
    if (!stopped) options.onSample({ atMs, releases });
  };

  const loop = async (): Promise<void> => {
    while (!stopped) {
      const started = now();
      running = tick().catch(() => {});
      await running;
      // A tick scrapes every instance: on a large fleet that is most of the orchestrator's CPU, and
      // readiness probes and router calls queue behind it. So the monitor rests at least four times
      // as long as its last tick took (≤ 20% of the time) — its samples get sparser, never wrong
      // (rates are over the time between samples).
      const elapsed = now() - started;
      const wait = Math.max(intervalMs - elapsed, MONITOR_REST_FACTOR * elapsed, 10);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, wait);
        timer.unref();
      });
    }
  };
  void loop();
  return async () => {
    stopped = true;
    await running;
  };
}

/** One line for people: traffic, errors and latency per release. */
export function describeSample(sample: TimelineSample): string {
  const parts = Object.entries(sample.releases).map(([release, r]) => {
    const latency = r.p99Ms === undefined ? '' : `, p99 ${r.p99Ms.toFixed(0)} ms`;
    return `${release} ${r.weightPercent}% weight, ${r.requestRate.toFixed(0)} req/s, ${r.errorRate.toFixed(1)} err/s${latency}`;
  });
  return parts.length === 0 ? 'no instance in the router yet' : parts.join(' | ');
}
