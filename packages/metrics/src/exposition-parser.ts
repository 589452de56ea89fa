import { BatonError } from '@baton/lifecycle';
import type { MetricsErrorCode } from './errors.js';

/**
 * The type a metric family announces in its `# TYPE` line: the five of the
 * Prometheus text format 0.0.4 plus the OpenMetrics 1.0 ones.
 */
export type MetricType =
  | 'counter'
  | 'gauge'
  | 'histogram'
  | 'summary'
  | 'untyped'
  | 'info'
  | 'stateset'
  | 'gaugehistogram'
  | 'unknown';

/** One line of data: a sample name, its labels, its value and the optional timestamp of the exposition. */
export interface Sample {
  name: string;
  labels: Readonly<Record<string, string>>;
  value: number;
  /** Milliseconds since the epoch, when the exposition gave one. */
  timestampMs?: number;
}

/**
 * A metric family as announced by `# HELP` / `# TYPE`, with its samples in the
 * order of the text; a histogram family `d` holds `d_bucket`, `d_sum` and `d_count`.
 */
export interface MetricFamily {
  name: string;
  help: string;
  type: MetricType;
  samples: Sample[];
}

/**
 * Parses Prometheus text exposition format 0.0.4 (what prom-client's
 * `Registry.metrics()` prints), and OpenMetrics 1.0 text (`# EOF`, `# UNIT`,
 * `_created` samples, counters announced without `_total`; exemplars are dropped).
 * Throws a `BatonError` with code `BATON_ERR_METRICS_PARSE` naming the line on bad input.
 *
 * @example
 * const families = parsePrometheusText(await registry.metrics());
 * const requests = families.find((f) => f.name === 'http_requests_total');
 */
export function parsePrometheusText(text: string): MetricFamily[] {
  return new ExpositionParser(text).parse();
}

const METRIC_TYPES: ReadonlySet<string> = new Set<MetricType>([
  'counter',
  'gauge',
  'histogram',
  'summary',
  'untyped',
  'info',
  'stateset',
  'gaugehistogram',
  'unknown',
]);

// The sample names a family of each type owns besides its own name.
const SUFFIXES: Readonly<Record<MetricType, readonly string[]>> = {
  counter: ['_total', '_created'],
  histogram: ['_bucket', '_sum', '_count', '_created'],
  gaugehistogram: ['_bucket', '_gsum', '_gcount'],
  summary: ['_sum', '_count', '_created'],
  info: ['_info'],
  gauge: [],
  untyped: [],
  unknown: [],
  stateset: [],
};
const ALL_SUFFIXES = [...new Set(Object.values(SUFFIXES).flat())];

// One strict decimal grammar instead of Number(), which would also take '', ' 1', '0x1f' and 'Infinity'.
const DECIMAL = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;
const INTEGER = /^-?\d+$/;
const NO_LABELS: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

interface FamilyState {
  family: MetricFamily;
  typed: boolean;
  helped: boolean;
}

class ExpositionParser {
  private readonly families: MetricFamily[] = [];
  private readonly byName = new Map<string, FamilyState>();
  // The family of the last metadata line or sample: where suffixed samples go.
  private current: FamilyState | undefined;
  private lineNo = 0;
  private lineEscapes = false;
  private eofLine = 0;
  // OpenMetrics is recognised by its mandatory `# EOF`; it matters only for timestamps (seconds there, ms in 0.0.4).
  private readonly openMetrics: boolean;

  constructor(private readonly text: string) {
    this.openMetrics = /(?:^|\n)# EOF\s*$/.test(text.slice(-64));
  }

  parse(): MetricFamily[] {
    const { text } = this;
    let start = 0;
    while (start <= text.length) {
      let end = text.indexOf('\n', start);
      if (end === -1) end = text.length;
      this.lineNo += 1;
      const line = text.charCodeAt(end - 1) === 13 /* \r */ && end > start ? text.slice(start, end - 1) : text.slice(start, end);
      start = end + 1;
      const first = skipBlanks(line, 0);
      if (first === line.length) continue;
      if (this.eofLine > 0) this.fail(`text after "# EOF" (line ${this.eofLine})`);
      if (line.charCodeAt(first) === 35 /* # */) this.comment(line, first + 1);
      else this.sample(line, first);
    }
    return this.families;
  }

  private comment(line: string, from: number): void {
    // `#` followed by anything but blanks and a keyword is a plain comment.
    if (!isBlankCode(line.charCodeAt(from))) return;
    let i = skipBlanks(line, from);
    const keywordEnd = tokenEnd(line, i);
    const keyword = line.slice(i, keywordEnd);
    i = skipBlanks(line, keywordEnd);
    if (keyword === 'EOF') {
      if (i < line.length) this.fail(`unexpected ${quote(line.slice(i))} after "# EOF"`);
      this.eofLine = this.lineNo;
      return;
    }
    if (keyword !== 'HELP' && keyword !== 'TYPE' && keyword !== 'UNIT') return;

    const nameEnd = tokenEnd(line, i);
    const name = line.slice(i, nameEnd);
    if (name === '') this.fail(`expected a metric name after "# ${keyword}"`);
    if (!isMetricName(name)) this.fail(`${quote(name)} is not a metric name (letters, digits, "_" and ":", not starting with a digit)`);
    // UNIT only has its name checked: MetricFamily has no field for it, and it announces no family.
    if (keyword === 'UNIT') return;
    const rest = line.slice(skipBlanks(line, nameEnd)).trimEnd();
    const state = this.byName.get(name) ?? this.announce(name);
    this.current = state;

    if (keyword === 'HELP') {
      if (state.helped) this.fail(`second HELP line for ${name}`);
      state.helped = true;
      state.family.help = unescapeHelp(rest);
    } else {
      if (rest === '') this.fail(`expected a type after "# TYPE ${name}"`);
      if (!METRIC_TYPES.has(rest)) this.fail(`unknown type ${quote(rest)} for ${name}; accepted: ${[...METRIC_TYPES].join(', ')}`);
      if (state.typed) this.fail(`second TYPE line for ${name}`);
      if (state.family.samples.length > 0) this.fail(`the TYPE line for ${name} comes after its samples`);
      state.typed = true;
      state.family.type = rest as MetricType;
    }
  }

  private announce(name: string): FamilyState {
    const state: FamilyState = { family: { name, help: '', type: 'untyped', samples: [] }, typed: false, helped: false };
    this.families.push(state.family);
    this.byName.set(name, state);
    return state;
  }

  private sample(line: string, from: number): void {
    this.lineEscapes = line.includes('\\');
    let i = from;
    while (i < line.length && isNameCode(line.charCodeAt(i), i === from)) i += 1;
    const name = line.slice(from, i);
    if (name === '') this.fail(`expected a metric name, got ${quote(line.slice(from, tokenEnd(line, from)))}`);
    i = skipBlanks(line, i);

    let labels: Readonly<Record<string, string>> = NO_LABELS;
    let after = 'the metric name';
    if (line.charCodeAt(i) === 123 /* { */) {
      const parsed = this.labels(line, i + 1, name);
      labels = parsed.labels;
      i = skipBlanks(line, parsed.end);
      after = 'the labels';
    } else if (i === from + name.length && i < line.length) {
      this.fail(`expected a blank or "{" after the metric name ${name}, got ${quote(line.slice(i, tokenEnd(line, i)))}`);
    }

    const valueEnd = tokenEnd(line, i);
    const valueToken = line.slice(i, valueEnd);
    if (valueToken === '') this.fail(`expected a value after ${after} of ${name}`);
    const value = parseValue(valueToken);
    if (value === undefined) this.fail(`expected a number after ${after}, got ${quote(valueToken)}`);

    const sample: Sample = { name, labels, value };
    i = skipBlanks(line, valueEnd);
    // A ` # ` here starts an OpenMetrics exemplar, which is dropped.
    if (i < line.length && line.charCodeAt(i) !== 35 /* # */) {
      const tsEnd = tokenEnd(line, i);
      sample.timestampMs = this.timestamp(line.slice(i, tsEnd));
      i = skipBlanks(line, tsEnd);
      if (i < line.length && line.charCodeAt(i) !== 35 /* # */) this.fail(`unexpected ${quote(line.slice(i))} after the timestamp`);
    }

    const state = this.familyOf(name);
    this.check(state.family, sample);
    state.family.samples.push(sample);
    this.current = state;
  }

  private labels(line: string, from: number, metric: string): { labels: Record<string, string>; end: number } {
    const labels: Record<string, string> = {};
    let i = from;
    for (;;) {
      i = skipBlanks(line, i);
      if (i >= line.length) this.fail(`the labels of ${metric} are not closed with "}"`);
      // Detached from Object.prototype once built, so `labels.constructor` is undefined like any absent label.
      if (line.charCodeAt(i) === 125 /* } */) return { labels: Object.setPrototypeOf(labels, null) as Record<string, string>, end: i + 1 };

      const nameStart = i;
      while (i < line.length && isNameCode(line.charCodeAt(i), i === nameStart) && line.charCodeAt(i) !== 58 /* : */) i += 1;
      const label = line.slice(nameStart, i);
      if (label === '') this.fail(`expected a label name or "}" in the labels of ${metric}, got ${quote(line.slice(i, i + 20))}`);
      i = skipBlanks(line, i);
      if (line.charCodeAt(i) !== 61 /* = */) this.fail(`expected "=" after the label name ${label}, got ${quote(line.slice(i, i + 20))}`);
      i = skipBlanks(line, i + 1);
      if (line.charCodeAt(i) !== 34 /* " */) this.fail(`expected a quoted value for the label ${label}, got ${quote(line.slice(i, i + 20))}`);
      const value = this.labelValue(line, i + 1, label);
      if (Object.hasOwn(labels, label)) this.fail(`the label ${label} appears twice in ${metric}`);
      // Built as a plain object, much faster to fill than a null-prototype one; `__proto__` alone needs defining as data.
      if (label === '__proto__') Object.defineProperty(labels, label, { value: value.text, enumerable: true, writable: true, configurable: true });
      else labels[label] = value.text;

      i = skipBlanks(line, value.end);
      const c = line.charCodeAt(i);
      if (c === 44 /* , */) i += 1;
      else if (c !== 125 /* } */) this.fail(`expected "," or "}" after the value of the label ${label}, got ${quote(line.slice(i, i + 20))}`);
    }
  }

  private labelValue(line: string, from: number, label: string): { text: string; end: number } {
    // Most lines have no escapes: one native search instead of a loop over characters.
    if (!this.lineEscapes) {
      const close = line.indexOf('"', from);
      if (close !== -1) return { text: line.slice(from, close), end: close + 1 };
    }
    let text = '';
    let chunk = from;
    for (let i = from; i < line.length; i += 1) {
      const c = line.charCodeAt(i);
      if (c === 34 /* " */) return { text: text + line.slice(chunk, i), end: i + 1 };
      if (c !== 92 /* \ */) continue;
      const next = line[i + 1];
      // Like Prometheus itself, an unknown escape keeps its backslash rather than failing the scrape.
      const replacement = next === 'n' ? '\n' : next === '\\' ? '\\' : next === '"' ? '"' : undefined;
      if (replacement !== undefined) {
        text += line.slice(chunk, i) + replacement;
        i += 1;
        chunk = i + 1;
      }
    }
    return this.fail(`the value of the label ${label} is not closed with a quote`);
  }

  private timestamp(token: string): number {
    if (this.openMetrics) {
      // OpenMetrics timestamps are seconds, possibly with a fraction.
      if (!DECIMAL.test(token)) this.fail(`expected a timestamp in seconds after the value, got ${quote(token)}`);
      return Math.round(Number(token) * 1000);
    }
    if (!INTEGER.test(token)) this.fail(`expected a timestamp (integer milliseconds) after the value, got ${quote(token)}`);
    return Number(token);
  }

  private familyOf(name: string): FamilyState {
    const { current } = this;
    if (current !== undefined && (current.family.name === name || ownsSuffixed(current.family, name))) return current;
    // Lines of one family normally come together; these lookups keep interleaved output grouped as Prometheus does.
    const exact = this.byName.get(name);
    if (exact !== undefined) return exact;
    for (const suffix of ALL_SUFFIXES) {
      if (!name.endsWith(suffix)) continue;
      const base = this.byName.get(name.slice(0, -suffix.length));
      if (base !== undefined && SUFFIXES[base.family.type].includes(suffix)) return base;
    }
    return this.announce(name);
  }

  // The labels the analysis relies on: without them a bucket or a quantile is meaningless.
  private check(family: MetricFamily, sample: Sample): void {
    const { type } = family;
    // A sample in a family is its name or its name plus one of its suffixes, so the suffix alone tells a bucket.
    if ((type === 'histogram' || type === 'gaugehistogram') && sample.name !== family.name && sample.name.endsWith('_bucket')) {
      const le = sample.labels.le;
      if (le === undefined) this.fail(`the histogram bucket ${sample.name} has no "le" label`);
      if (parseValue(le) === undefined) this.fail(`the "le" label of ${sample.name} is ${quote(le)}, not a number`);
    } else if (type === 'summary' && sample.name === family.name) {
      const quantile = sample.labels.quantile;
      if (quantile === undefined) this.fail(`the summary sample ${sample.name} has no "quantile" label`);
      if (parseValue(quantile) === undefined) this.fail(`the "quantile" label of ${sample.name} is ${quote(quantile)}, not a number`);
    }
  }

  private fail(what: string): never {
    throw new BatonError('BATON_ERR_METRICS_PARSE' satisfies MetricsErrorCode, `line ${this.lineNo}: ${what}`);
  }
}

function ownsSuffixed(family: MetricFamily, name: string): boolean {
  const base = family.name;
  if (name.length <= base.length || !name.startsWith(base)) return false;
  for (const suffix of SUFFIXES[family.type]) {
    if (name.length === base.length + suffix.length && name.endsWith(suffix)) return true;
  }
  return false;
}

/** A sample value: a decimal or exponent float, or `NaN` / `+Inf` / `-Inf` in any case (prom-client prints `Nan`). */
function parseValue(token: string): number | undefined {
  if (DECIMAL.test(token)) return Number(token);
  switch (token.toLowerCase()) {
    case 'nan':
      return Number.NaN;
    case 'inf':
    case '+inf':
    case 'infinity':
    case '+infinity':
      return Number.POSITIVE_INFINITY;
    case '-inf':
    case '-infinity':
      return Number.NEGATIVE_INFINITY;
    default:
      return undefined;
  }
}

function unescapeHelp(text: string): string {
  if (!text.includes('\\')) return text;
  let out = '';
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    const next = text[i + 1];
    if (c === '\\' && (next === 'n' || next === '\\' || next === '"')) {
      out += next === 'n' ? '\n' : next;
      i += 1;
    } else {
      out += c;
    }
  }
  return out;
}

function isMetricName(name: string): boolean {
  for (let i = 0; i < name.length; i += 1) if (!isNameCode(name.charCodeAt(i), i === 0)) return false;
  return name.length > 0;
}

// [a-zA-Z_:] first, then also digits.
function isNameCode(c: number, first: boolean): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95 || c === 58 || (!first && c >= 48 && c <= 57);
}

function isBlankCode(c: number): boolean {
  return c === 32 || c === 9;
}

function skipBlanks(line: string, from: number): number {
  let i = from;
  while (i < line.length && isBlankCode(line.charCodeAt(i))) i += 1;
  return i;
}

function tokenEnd(line: string, from: number): number {
  let i = from;
  while (i < line.length && !isBlankCode(line.charCodeAt(i))) i += 1;
  return i;
}

function quote(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}
