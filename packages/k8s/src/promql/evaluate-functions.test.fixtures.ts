import type { SeriesValue, Value } from './evaluate.test.fixtures.js';

/*
 * The value-level half of the PromQL test evaluator: functions, aggregations,
 * operators and label matching. `evaluate.test.fixtures.ts` walks the syntax
 * tree and calls these; nothing here knows about lezer.
 */

export type Labels = Record<string, string>;

/** One series of a range vector: its scrape at the window's start (undefined when it was not there yet) and at its end. */
export interface RangeSeries {
  labels: Labels;
  start: number | undefined;
  end: number;
}

/** Every value an expression can have while evaluating, including the two a query cannot end with. */
export type Evaluated = Value | { kind: 'matrix'; series: RangeSeries[] } | { kind: 'string'; value: string };

export type ArgKind = Evaluated['kind'];

export const METRIC_NAME = '__name__';

export function describeKind(kind: ArgKind): string {
  return { vector: 'an instant vector', scalar: 'a scalar', matrix: 'a range vector', string: 'a string' }[kind];
}

// Prometheus prints label sets this way in its errors; so do we, so the messages can be searched for.
export function describeLabels(labels: Labels): string {
  return `{${Object.keys(labels)
    .sort()
    .map((name) => `${name}=${JSON.stringify(labels[name])}`)
    .join(', ')}}`;
}

/** A key equal for equal label sets whatever their order; empty values count as absent, as in Prometheus. */
export function labelsKey(labels: Labels): string {
  return JSON.stringify(
    Object.keys(labels)
      .filter((name) => labels[name] !== '')
      .sort()
      .map((name) => [name, labels[name]]),
  );
}

export function dropName(labels: Labels): Labels {
  return Object.fromEntries(Object.entries(labels).filter(([name]) => name !== METRIC_NAME));
}

/** Which labels identify a series for matching: only `on`'s, or all but `ignoring`'s and the metric name. */
export interface LabelSelection {
  on: boolean;
  labels: readonly string[];
}

export function signature(labels: Labels, selection: LabelSelection): string {
  const kept = Object.entries(labels).filter(([name]) =>
    selection.on ? selection.labels.includes(name) : name !== METRIC_NAME && !selection.labels.includes(name),
  );
  return labelsKey(Object.fromEntries(kept));
}

// Neumaier's variant of Kahan summation, as Prometheus sums: many small rates must not lose precision against one large one.
export function compensatedSum(values: readonly number[]): number {
  let sum = 0;
  let compensation = 0;
  for (const value of values) {
    const next = sum + value;
    if (next === Infinity || next === -Infinity) compensation = 0;
    else if (Math.abs(sum) >= Math.abs(value)) compensation += sum - next + value;
    else compensation += value - next + sum;
    sum = next;
  }
  return sum + compensation;
}

// ---------------------------------------------------------------- aggregations

export const AGGREGATIONS: ReadonlySet<string> = new Set(['sum', 'min', 'max', 'count', 'avg', 'group']);

export interface Grouping {
  without: boolean;
  labels: readonly string[];
}

export function aggregate(op: string, series: readonly SeriesValue[], grouping: Grouping | undefined): SeriesValue[] {
  const groups = new Map<string, { labels: Labels; values: number[] }>();
  for (const s of series) {
    const labels = grouping?.without
      ? Object.fromEntries(Object.entries(s.labels).filter(([name]) => name !== METRIC_NAME && !grouping.labels.includes(name)))
      : Object.fromEntries(Object.entries(s.labels).filter(([name]) => grouping?.labels.includes(name) ?? false));
    const key = labelsKey(labels);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, { labels, values: [s.value] });
    else group.values.push(s.value);
  }
  return [...groups.values()].map(({ labels, values }) => ({ labels, value: aggregateValues(op, values) }));
}

function aggregateValues(op: string, values: readonly number[]): number {
  switch (op) {
    case 'sum':
      return compensatedSum(values);
    case 'avg':
      return compensatedSum(values) / values.length;
    case 'count':
      return values.length;
    case 'group':
      return 1;
    case 'max':
    case 'min': {
      // Prometheus lets any number beat NaN, so one NaN series does not hide the others.
      let result = values[0] ?? Number.NaN;
      for (const v of values) if (Number.isNaN(result) || (op === 'max' ? v > result : v < result)) result = v;
      return result;
    }
    default:
      throw new Error(`PromQL: the aggregation ${op}() is not supported by this evaluator (supported: ${[...AGGREGATIONS].join(', ')})`);
  }
}

// ---------------------------------------------------------------- functions

interface FunctionSpec {
  params: readonly ArgKind[];
  /** How many trailing params may be left out. */
  optional?: number;
  call: (args: readonly Evaluated[], seconds: number) => Value;
}

const perSeries =
  (f: (value: number) => number) =>
  (args: readonly Evaluated[]): Value => ({
    kind: 'vector',
    series: vectorArg(args, 0).map((s) => ({ labels: dropName(s.labels), value: f(s.value) })),
  });

const FUNCTIONS: Readonly<Record<string, FunctionSpec>> = {
  increase: { params: ['matrix'], call: (args) => ({ kind: 'vector', series: increases(args) }) },
  rate: {
    params: ['matrix'],
    call: (args, seconds) => ({ kind: 'vector', series: increases(args).map((s) => ({ labels: s.labels, value: s.value / seconds })) }),
  },
  histogram_quantile: {
    params: ['scalar', 'vector'],
    call: (args) => ({ kind: 'vector', series: histogramQuantile(scalarArg(args, 0), vectorArg(args, 1)) }),
  },
  clamp: {
    params: ['vector', 'scalar', 'scalar'],
    call: (args) => {
      const min = scalarArg(args, 1);
      const max = scalarArg(args, 2);
      // Prometheus answers an impossible range with nothing rather than with an error.
      if (max < min) return { kind: 'vector', series: [] };
      return perSeries((v) => Math.max(min, Math.min(max, v)))(args);
    },
  },
  clamp_min: { params: ['vector', 'scalar'], call: (args) => perSeries((v) => Math.max(v, scalarArg(args, 1)))(args) },
  clamp_max: { params: ['vector', 'scalar'], call: (args) => perSeries((v) => Math.min(v, scalarArg(args, 1)))(args) },
  abs: { params: ['vector'], call: perSeries(Math.abs) },
  ceil: { params: ['vector'], call: perSeries(Math.ceil) },
  floor: { params: ['vector'], call: perSeries(Math.floor) },
  sqrt: { params: ['vector'], call: perSeries(Math.sqrt) },
  exp: { params: ['vector'], call: perSeries(Math.exp) },
  ln: { params: ['vector'], call: perSeries(Math.log) },
  log2: { params: ['vector'], call: perSeries(Math.log2) },
  log10: { params: ['vector'], call: perSeries(Math.log10) },
  sgn: { params: ['vector'], call: perSeries((v) => (v < 0 ? -1 : v > 0 ? 1 : v)) },
  round: {
    params: ['vector', 'scalar'],
    optional: 1,
    call: (args) => {
      // Prometheus rounds half up (towards +Inf) on the inverse, so round(x, 0.1) gives exact tenths.
      const inverse = 1 / (args.length > 1 ? scalarArg(args, 1) : 1);
      return perSeries((v) => Math.floor(v * inverse + 0.5) / inverse)(args);
    },
  },
  vector: { params: ['scalar'], call: (args) => ({ kind: 'vector', series: [{ labels: {}, value: scalarArg(args, 0) }] }) },
  scalar: {
    params: ['vector'],
    call: (args) => {
      const series = vectorArg(args, 0);
      return { kind: 'scalar', value: series.length === 1 && series[0] !== undefined ? series[0].value : Number.NaN };
    },
  },
};

export function callFunction(name: string, args: readonly Evaluated[], seconds: number): Value {
  const spec = FUNCTIONS[name];
  if (spec === undefined) {
    throw new Error(`PromQL: the function ${name}() is not supported by this evaluator (supported: ${Object.keys(FUNCTIONS).join(', ')})`);
  }
  const min = spec.params.length - (spec.optional ?? 0);
  if (args.length < min || args.length > spec.params.length) {
    const expected = min === spec.params.length ? `${min}` : `${min} to ${spec.params.length}`;
    throw new Error(`PromQL: ${name}() takes ${expected} argument(s), got ${args.length}`);
  }
  args.forEach((arg, index) => {
    const expected = spec.params[index];
    if (expected !== undefined && arg.kind !== expected) {
      throw new Error(`PromQL: argument ${index + 1} of ${name}() must be ${describeKind(expected)}, got ${describeKind(arg.kind)}`);
    }
  });
  return spec.call(args, seconds);
}

function vectorArg(args: readonly Evaluated[], index: number): SeriesValue[] {
  const arg = args[index];
  if (arg?.kind !== 'vector') throw new Error(`PromQL: argument ${index + 1} must be an instant vector`);
  return arg.series;
}

function scalarArg(args: readonly Evaluated[], index: number): number {
  const arg = args[index];
  if (arg?.kind !== 'scalar') throw new Error(`PromQL: argument ${index + 1} must be a scalar`);
  return arg.value;
}

/**
 * Counter increase between the window's two scrapes. Prometheus would
 * extrapolate the increase of the samples it has in the range to the range's
 * edges; here the window is exactly the two scrapes, so there is nothing to
 * extrapolate. A drop is a restart: the counter counted from 0 up to its end value.
 */
function increases(args: readonly Evaluated[]): SeriesValue[] {
  const arg = args[0];
  if (arg?.kind !== 'matrix') throw new Error('PromQL: argument 1 must be a range vector');
  return arg.series.map((s) => ({
    labels: dropName(s.labels),
    value: s.start === undefined || s.end < s.start ? s.end : s.end - s.start,
  }));
}

// ---------------------------------------------------------------- histogram_quantile

export interface Bucket {
  le: number;
  count: number;
}

function histogramQuantile(q: number, series: readonly SeriesValue[]): SeriesValue[] {
  const histograms = new Map<string, { labels: Labels; buckets: Bucket[] }>();
  for (const s of series) {
    const le = parseGoFloat(s.labels.le ?? '');
    // Prometheus skips (with a warning) a series whose le is not a number.
    if (le === undefined) continue;
    const key = labelsKey(Object.fromEntries(Object.entries(s.labels).filter(([name]) => name !== 'le')));
    let histogram = histograms.get(key);
    if (histogram === undefined) {
      histogram = { labels: Object.fromEntries(Object.entries(s.labels).filter(([name]) => name !== 'le' && name !== METRIC_NAME)), buckets: [] };
      histograms.set(key, histogram);
    }
    histogram.buckets.push({ le, count: s.value });
  }
  return [...histograms.values()].map((h) => ({ labels: h.labels, value: bucketQuantile(q, h.buckets) }));
}

// What Go's strconv.ParseFloat accepts in an `le` label, short of hexadecimal floats (never seen in expositions).
function parseGoFloat(text: string): number | undefined {
  if (/^[+-]?(inf|infinity)$/i.test(text)) return text.startsWith('-') ? -Infinity : Infinity;
  if (/^[+-]?nan$/i.test(text)) return Number.NaN;
  if (/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) return Number(text);
  return undefined;
}

const SMALL_DELTA_TOLERANCE = 1e-12;

/**
 * The quantile of one classic histogram by the rule of Prometheus'
 * `BucketQuantile` (promql/quantile.go): sort by bound, merge equal bounds,
 * make the counts monotonic, then interpolate linearly inside the bucket where
 * the rank falls (from 0 for the lowest bucket); the +Inf bucket answers with
 * the highest finite bound. NaN where Prometheus gives NaN.
 */
export function bucketQuantile(q: number, input: readonly Bucket[]): number {
  if (Number.isNaN(q)) return Number.NaN;
  if (q < 0) return -Infinity;
  if (q > 1) return Infinity;
  const sorted = input.map((b) => ({ ...b })).sort((a, b) => a.le - b.le);
  if (sorted.length === 0 || sorted[sorted.length - 1]?.le !== Infinity) return Number.NaN;

  const buckets: Bucket[] = [];
  for (const b of sorted) {
    const last = buckets[buckets.length - 1];
    if (last !== undefined && last.le === b.le) last.count += b.count;
    else buckets.push(b);
  }
  // A decrease is never real (buckets are cumulative): it is float noise or scrapes of different moments; either way it is levelled.
  let previous = (buckets[0] as Bucket).count;
  for (const b of buckets.slice(1)) {
    if (b.count === previous) continue;
    if (almostEqual(previous, b.count) || b.count < previous) b.count = previous;
    else previous = b.count;
  }

  if (buckets.length < 2) return Number.NaN;
  const observations = (buckets[buckets.length - 1] as Bucket).count;
  if (observations === 0) return Number.NaN;
  let rank = q * observations;
  // A binary search over the finite buckets, as Prometheus does, so that odd (NaN) counts land where they land there.
  let lo = 0;
  let hi = buckets.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((buckets[mid] as Bucket).count >= rank) hi = mid;
    else lo = mid + 1;
  }
  if (lo === buckets.length - 1) return (buckets[buckets.length - 2] as Bucket).le;
  const bucket = buckets[lo] as Bucket;
  if (lo === 0 && bucket.le <= 0) return bucket.le;
  let start = 0;
  let count = bucket.count;
  const below = buckets[lo - 1];
  if (below !== undefined) {
    start = below.le;
    count -= below.count;
    rank -= below.count;
  }
  return start + (bucket.le - start) * (rank / count);
}

// Relative closeness as Prometheus' util/almost.Equal judges it, for the sizes bucket counts have.
function almostEqual(a: number, b: number): boolean {
  if (a === b) return true;
  const minNormal = 2.2250738585072014e-308;
  const absSum = Math.abs(a) + Math.abs(b);
  const diff = Math.abs(a - b);
  if (a === 0 || b === 0 || absSum < minNormal) return diff < SMALL_DELTA_TOLERANCE * minNormal;
  return diff / Math.min(absSum, Number.MAX_VALUE) < SMALL_DELTA_TOLERANCE;
}

// ---------------------------------------------------------------- binary operators

export const ARITHMETIC: ReadonlySet<string> = new Set(['+', '-', '*', '/', '%', '^', 'atan2']);
export const COMPARISON: ReadonlySet<string> = new Set(['==', '!=', '>', '<', '>=', '<=']);
export const SET_OPERATORS: ReadonlySet<string> = new Set(['and', 'or', 'unless']);

/** One operation on two numbers: the result, and for a comparison whether it held (the result is then the left value). */
export function applyOperator(op: string, left: number, right: number): { value: number; keep: boolean } {
  switch (op) {
    case '+':
      return { value: left + right, keep: true };
    case '-':
      return { value: left - right, keep: true };
    case '*':
      return { value: left * right, keep: true };
    case '/':
      return { value: left / right, keep: true };
    // JavaScript's % is C's fmod, as Go's math.Mod.
    case '%':
      return { value: left % right, keep: true };
    case '^':
      return { value: goPow(left, right), keep: true };
    case 'atan2':
      return { value: Math.atan2(left, right), keep: true };
    case '==':
      return { value: left, keep: left === right };
    case '!=':
      return { value: left, keep: left !== right };
    case '>':
      return { value: left, keep: left > right };
    case '<':
      return { value: left, keep: left < right };
    case '>=':
      return { value: left, keep: left >= right };
    case '<=':
      return { value: left, keep: left <= right };
    default:
      throw new Error(`PromQL: the operator ${op} is not supported by this evaluator`);
  }
}

// Go's math.Pow answers 1 where JavaScript's ** answers NaN.
function goPow(x: number, y: number): number {
  if (y === 0 || x === 1) return 1;
  if (x === -1 && (y === Infinity || y === -Infinity)) return 1;
  return x ** y;
}

export interface Matching extends LabelSelection {
  /** `group_left` makes the left side the "many" side, `group_right` the right one. */
  group: 'left' | 'right' | undefined;
  /** Labels `group_x(...)` copies from the "one" side. */
  include: readonly string[];
}

const DUPLICATE_HINT =
  ' (series scraped from different sources look alike when their labels are equal: give each source distinct targetLabels, e.g. an instance label, as Prometheus would)';

/** Vector/vector arithmetic and comparison with Prometheus' one-to-one or many-to-one matching. */
export function vectorBinary(op: string, lhs: readonly SeriesValue[], rhs: readonly SeriesValue[], matching: Matching, returnBool: boolean): SeriesValue[] {
  if (lhs.length === 0 || rhs.length === 0) return [];
  const swapped = matching.group === 'right';
  const [many, ones] = swapped ? [rhs, lhs] : [lhs, rhs];

  const oneBySignature = new Map<string, SeriesValue>();
  for (const s of ones) {
    const sig = signature(s.labels, matching);
    const duplicate = oneBySignature.get(sig);
    if (duplicate !== undefined) {
      throw new Error(
        `PromQL: found duplicate series for the match group ${sig} on the ${swapped ? 'left' : 'right'} hand-side of the operation: ` +
          `[${describeLabels(duplicate.labels)}, ${describeLabels(s.labels)}]; many-to-many matching not allowed: matching labels must be unique on one side${DUPLICATE_HINT}`,
      );
    }
    oneBySignature.set(sig, s);
  }

  const matched = new Map<string, Set<string>>();
  const out: SeriesValue[] = [];
  for (const s of many) {
    const sig = signature(s.labels, matching);
    const one = oneBySignature.get(sig);
    if (one === undefined) continue;
    const [left, right] = swapped ? [one.value, s.value] : [s.value, one.value];
    const { value, keep } = applyOperator(op, left, right);
    const labels = resultLabels(s.labels, one.labels, op, matching, returnBool);

    const results = matched.get(sig) ?? new Set<string>();
    if (matching.group === undefined && results.size > 0) {
      throw new Error(`PromQL: multiple matches for labels ${sig}: many-to-one matching must be explicit (group_left/group_right)${DUPLICATE_HINT}`);
    }
    const key = labelsKey(labels);
    if (results.has(key)) throw new Error(`PromQL: multiple matches for labels ${describeLabels(labels)}: grouping labels must ensure unique matches${DUPLICATE_HINT}`);
    results.add(key);
    matched.set(sig, results);

    if (returnBool) out.push({ labels, value: keep ? 1 : 0 });
    else if (keep) out.push({ labels, value });
  }
  return out;
}

function resultLabels(many: Labels, one: Labels, op: string, matching: Matching, returnBool: boolean): Labels {
  let labels: Labels = returnBool || ARITHMETIC.has(op) ? dropName(many) : { ...many };
  if (matching.group === undefined) {
    // One-to-one results carry only what identified the match: with on(), just those labels.
    labels = Object.fromEntries(Object.entries(labels).filter(([name]) => matching.labels.includes(name) === matching.on));
  }
  for (const name of matching.include) {
    const value = one[name];
    if (value !== undefined && value !== '') labels[name] = value;
    else delete labels[name];
  }
  return labels;
}

export function vectorScalarBinary(op: string, series: readonly SeriesValue[], scalar: number, scalarOnLeft: boolean, returnBool: boolean): SeriesValue[] {
  const out: SeriesValue[] = [];
  for (const s of series) {
    const [left, right] = scalarOnLeft ? [scalar, s.value] : [s.value, scalar];
    const result = applyOperator(op, left, right);
    // A filter keeps the vector's own value even when the scalar is written first (`0.5 < errors`).
    const value = returnBool ? (result.keep ? 1 : 0) : COMPARISON.has(op) ? s.value : result.value;
    if (!returnBool && !result.keep) continue;
    out.push({ labels: returnBool || ARITHMETIC.has(op) ? dropName(s.labels) : s.labels, value });
  }
  return out;
}

export function setOperation(op: string, lhs: readonly SeriesValue[], rhs: readonly SeriesValue[], selection: LabelSelection): SeriesValue[] {
  const rightSignatures = new Set(rhs.map((s) => signature(s.labels, selection)));
  switch (op) {
    case 'and':
      return lhs.filter((s) => rightSignatures.has(signature(s.labels, selection)));
    case 'unless':
      return lhs.filter((s) => !rightSignatures.has(signature(s.labels, selection)));
    case 'or': {
      const leftSignatures = new Set(lhs.map((s) => signature(s.labels, selection)));
      return [...lhs, ...rhs.filter((s) => !leftSignatures.has(signature(s.labels, selection)))];
    }
    default:
      throw new Error(`PromQL: ${op} is not a set operator`);
  }
}
