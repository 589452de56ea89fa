/** One series of a metric read at scrape time: labels beyond the service's constant ones, and a value. */
export interface CollectedSeries {
  labels: Readonly<Record<string, string>>;
  value: number;
}

/**
 * The part of `@baton/metrics`' `Metrics` that other Baton packages (toggles,
 * versioning) export their figures through, typed structurally here so they
 * need neither `@baton/metrics` nor prom-client. `createMetrics()` satisfies it.
 */
export interface CollectorHost {
  addCollector(collector: { name: string; help: string; type: 'counter' | 'gauge'; read: () => Iterable<CollectedSeries> }): unknown;
}
