import type { Metric } from 'prom-client';
import type { SeriesStore } from './series-store.js';

/**
 * A prom-client metric read from a {@link SeriesStore} at scrape time.
 *
 * prom-client's Registry formats any registered object with `name`, `help`,
 * `type`, `aggregator`, `get()` and `reset()` (that is all its `metrics()`,
 * `getMetricsAsJSON()`, `resetMetrics()` and the cluster aggregator use), so
 * the request path can record into plain numbers and the exposition stays
 * prom-client's own: default labels, escaping, OpenMetrics all apply.
 * A test checks that the output equals prom-client's own Histogram and
 * Counter fed the same observations.
 */
interface ExportedValue {
  metricName?: string;
  labels: Record<string, string | number>;
  value: number;
}

/** What prom-client's own metrics return from `get()` (its typings declare `type` as an enum; at run time it is the string). */
interface ExportedMetric {
  name: string;
  help: string;
  type: 'histogram' | 'counter';
  aggregator: 'sum';
  values: ExportedValue[];
}

interface StoreMetric {
  name: string;
  readonly help: string;
  readonly type: 'histogram' | 'counter';
  readonly aggregator: 'sum';
  get(): Promise<ExportedMetric>;
  reset(): void;
}

/** `<name>` as a histogram: `_bucket` (cumulative, `le` last), `_sum`, `_count` per series. */
export function storeHistogram(store: SeriesStore, name: string, help: string, constant: () => Readonly<Record<string, string>>): Metric {
  const metric: StoreMetric = {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    async get() {
      const base = constant();
      const values: ExportedValue[] = [];
      const bounds = store.bounds;
      for (const series of store.series) {
        const labels = { ...base, ...series.labels };
        let cumulative = 0;
        for (let index = 0; index < bounds.length; index += 1) {
          cumulative += series.buckets[index] as number;
          values.push({ metricName: `${metric.name}_bucket`, labels: { ...labels, le: bounds[index] as number }, value: cumulative });
        }
        values.push({ metricName: `${metric.name}_bucket`, labels: { ...labels, le: '+Inf' }, value: series.count });
        values.push({ metricName: `${metric.name}_sum`, labels, value: series.sum });
        values.push({ metricName: `${metric.name}_count`, labels, value: series.count });
      }
      return { name: metric.name, help, type: 'histogram', aggregator: 'sum', values };
    },
    reset: () => store.reset(),
  };
  return metric as unknown as Metric;
}

/** `<name>` as a counter: the count of every series of the store. */
export function storeCounter(store: SeriesStore, name: string, help: string, constant: () => Readonly<Record<string, string>>): Metric {
  const metric: StoreMetric = {
    name,
    help,
    type: 'counter',
    aggregator: 'sum',
    async get() {
      const base = constant();
      const values = store.series.map((series) => ({ labels: { ...base, ...series.labels }, value: series.count }));
      return { name: metric.name, help, type: 'counter', aggregator: 'sum', values };
    },
    reset: () => store.reset(),
  };
  return metric as unknown as Metric;
}

/** One series of a {@link readMetric}: its own labels (the constant ones are added) and its value now. */
export interface ReadSeries {
  labels: Readonly<Record<string, string>>;
  value: number;
}

/**
 * `<name>` as a counter or gauge whose series `read` returns at scrape time,
 * so whatever counts (toggle evaluations, a pool's size) keeps plain numbers
 * and prom-client formats them with the constant labels.
 */
export function readMetric(name: string, help: string, type: 'counter' | 'gauge', read: () => Iterable<ReadSeries>, constant: () => Readonly<Record<string, string>>): Metric {
  const metric = {
    name,
    help,
    type,
    aggregator: 'sum' as const,
    async get() {
      const base = constant();
      const values: ExportedValue[] = [];
      for (const series of read()) values.push({ labels: { ...base, ...series.labels }, value: series.value });
      return { name: metric.name, help, type, aggregator: 'sum' as const, values };
    },
    // Reads are of someone else's numbers: nothing to reset.
    reset() {},
  };
  return metric as unknown as Metric;
}
