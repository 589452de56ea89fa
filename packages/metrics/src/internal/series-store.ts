/**
 * One series of the request metrics: a fixed set of label values and its
 * histogram (count, sum, per-bucket counts). `http_requests_total` and
 * `http_request_duration_seconds` are both read from it at scrape time.
 */
export interface Series {
  /** Label values of the series, in label-name order (without constant labels). */
  readonly labels: Readonly<Record<string, string>>;
  count: number;
  sum: number;
  /** Per-bucket counts, not cumulative; the last slot is the +Inf bucket. */
  readonly buckets: Float64Array;
}

type ExtraLevel = Map<string, Series>;
type StatusLevel = Map<number, Series | ExtraLevel>;

/**
 * The request-path store: finds the series of (method, route, status[, extra
 * labels]) through nested maps, so recording a request allocates nothing
 * once its series exists (a joined string key would allocate on every call),
 * and costs a few map reads and additions instead of prom-client's per-call
 * label validation and hashing.
 */
export class SeriesStore {
  readonly bounds: readonly number[];
  readonly #byMethod = new Map<string, Map<string, StatusLevel>>();
  readonly #all: Series[] = [];
  readonly #statusValue: (status: number) => string;
  readonly #statusLabel: string;
  readonly #extraNames: readonly string[];
  readonly #maxSeries: number;
  #overflowed = 0;
  #overflow: Series | undefined;

  constructor(options: {
    bounds: readonly number[];
    statusLabel: string;
    statusValue: (status: number) => string;
    extraNames: readonly string[];
    maxSeries: number;
  }) {
    this.bounds = options.bounds;
    this.#statusLabel = options.statusLabel;
    this.#statusValue = options.statusValue;
    this.#extraNames = options.extraNames;
    this.#maxSeries = options.maxSeries;
  }

  /** Every series, oldest first. */
  get series(): readonly Series[] {
    return this.#all;
  }

  /** Requests whose label values would have made a series past `maxSeries`: folded into the overflow series. */
  get overflowed(): number {
    return this.#overflowed;
  }

  /** Adds one observation of `seconds` to the series of these labels. */
  observe(method: string, route: string, status: number, extra: readonly string[] | undefined, seconds: number): void {
    const series = this.#find(method, route, status, extra);
    series.count += 1;
    series.sum += seconds;
    const bounds = this.bounds;
    let index = 0;
    // A linear scan: with a dozen buckets it beats a binary search.
    while (index < bounds.length && seconds > (bounds[index] as number)) index += 1;
    (series.buckets[index] as number) += 1;
  }

  /** Forgets every series (prom-client's `registry.resetMetrics()`). */
  reset(): void {
    this.#byMethod.clear();
    this.#all.length = 0;
    this.#overflowed = 0;
    this.#overflow = undefined;
  }

  #find(method: string, route: string, status: number, extra: readonly string[] | undefined): Series {
    let byRoute = this.#byMethod.get(method);
    if (byRoute === undefined) {
      byRoute = new Map();
      this.#byMethod.set(method, byRoute);
    }
    let byStatus = byRoute.get(route);
    if (byStatus === undefined) {
      byStatus = new Map();
      byRoute.set(route, byStatus);
    }
    const found = byStatus.get(status);
    if (this.#extraNames.length === 0) {
      if (found !== undefined) return found as Series;
      return this.#create(byStatus, status, method, route, status, undefined);
    }
    let byExtra = found as ExtraLevel | undefined;
    if (byExtra === undefined) {
      byExtra = new Map();
      byStatus.set(status, byExtra);
    }
    // Only with extra labels: one short string per request to key them.
    const key = extra === undefined ? '' : extra.join('\u0000');
    const series = byExtra.get(key);
    if (series !== undefined) return series;
    return this.#create(byExtra, key, method, route, status, extra);
  }

  #create<K>(level: Map<K, Series | ExtraLevel>, key: K, method: string, route: string, status: number, extra: readonly string[] | undefined): Series {
    if (this.#all.length >= this.#maxSeries) {
      // Past the cap a request is still counted, under one overflow series,
      // so a flood of odd label values cannot exhaust memory or the scraper.
      this.#overflowed += 1;
      if (this.#overflow === undefined) {
        const labels: Record<string, string> = { method: OVERFLOW, route: OVERFLOW, [this.#statusLabel]: OVERFLOW };
        for (const name of this.#extraNames) labels[name] = OVERFLOW;
        this.#overflow = newSeries(labels, this.bounds.length);
        this.#all.push(this.#overflow);
      }
      return this.#overflow;
    }
    const labels: Record<string, string> = { method, route, [this.#statusLabel]: this.#statusValue(status) };
    this.#extraNames.forEach((name, index) => {
      labels[name] = extra?.[index] ?? '';
    });
    const series = newSeries(labels, this.bounds.length);
    level.set(key, series);
    this.#all.push(series);
    return series;
  }
}

function newSeries(labels: Record<string, string>, bounds: number): Series {
  return { labels, count: 0, sum: 0, buckets: new Float64Array(bounds + 1) };
}

/** The label value of every label of the overflow series. */
export const OVERFLOW = '(overflow)';
