import { parser } from '@prometheus-io/lezer-promql';
import type { Snapshot } from '@baton/metrics';
import {
  AGGREGATIONS,
  ARITHMETIC,
  COMPARISON,
  METRIC_NAME,
  SET_OPERATORS,
  aggregate,
  applyOperator,
  callFunction,
  describeKind,
  describeLabels,
  dropName,
  labelsKey,
  setOperation,
  vectorBinary,
  vectorScalarBinary,
  type Evaluated,
  type Grouping,
  type Labels,
  type Matching,
  type RangeSeries,
} from './evaluate-functions.test.fixtures.js';

/*
 * A small PromQL evaluator for tests: it evaluates the queries Baton renders
 * for Prometheus against two sets of scrapes, so a test can check that a
 * query means what Baton's own analysis computes from the same /metrics.
 * It parses with Prometheus' own lezer grammar, so what it accepts is what
 * Prometheus' UI accepts; what it cannot evaluate it refuses by name.
 */

/** One series of an instant vector. */
export interface SeriesValue {
  labels: Record<string, string>;
  value: number;
}

export type Value = { kind: 'vector'; series: SeriesValue[] } | { kind: 'scalar'; value: number };

export interface Window {
  /** Scrapes at the start of the window, one per instance. */
  start: Snapshot[];
  /** Scrapes at its end, same instances. */
  end: Snapshot[];
  /** Seconds between. */
  seconds: number;
  /**
   * Extra labels per scrape source (`Snapshot.source`), as Prometheus'
   * relabelling would add them (e.g. `{ baton_role: 'canary' }`).
   */
  targetLabels?: Record<string, Record<string, string>>;
  /**
   * The windows an `offset` reads, by the offset as written (`60s`): each ends
   * that long before this one does (blue/green's "before the switch").
   */
  offsets?: Record<string, Window>;
}

/**
 * Evaluates `query` as an instant query at the window's end. Every range
 * (`[5m]`, `[{{args.interval}}]`) means the window itself: `increase` is the
 * end scrape minus the start scrape, without Prometheus' extrapolation to the
 * range's edges. Throws an Error naming the construct for anything it does
 * not support and for syntax errors.
 *
 * @example
 * const v = evaluatePromql('sum by (release) (rate(http_requests_total[5m]))', { start, end, seconds: 60 });
 */
export function evaluatePromql(query: string, window: Window): Value {
  if (!(window.seconds > 0 && Number.isFinite(window.seconds))) {
    throw new Error(`evaluatePromql: window.seconds must be a positive number, got ${String(window.seconds)}`);
  }
  const result = new Evaluator(query, window).evaluate();
  if (result.kind === 'matrix') {
    throw new Error('PromQL: the query ends with a range vector; this evaluator answers instant queries only (wrap it in rate() or increase())');
  }
  if (result.kind === 'string') throw new Error('PromQL: the query is a string literal; only vectors and scalars are supported');
  return result;
}

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

interface ScrapedSeries {
  source: string;
  labels: Labels;
  value: number;
}

// Node types that are expressions; everything else in an expression's children is syntax (operators, modifiers, comments).
const EXPRESSIONS: ReadonlySet<string> = new Set([
  'AggregateExpr',
  'BinaryExpr',
  'FunctionCall',
  'MatrixSelector',
  'NumberDurationLiteral',
  'ParenExpr',
  'StringLiteral',
  'UnaryExpr',
  'VectorSelector',
  'SubqueryExpr',
  'OffsetExpr',
  'StepInvariantExpr',
  'AnchoredExpr',
  'SmoothedExpr',
]);

const UNSUPPORTED: Readonly<Record<string, string>> = {
  SubqueryExpr: 'a subquery (expr[range:step])',
  StepInvariantExpr: 'the @ modifier',
  AnchoredExpr: 'the anchored modifier',
  SmoothedExpr: 'the smoothed modifier',
  FillModifier: 'the fill() modifier of binary operators',
};

const OPERATORS: Readonly<Record<string, string>> = {
  Add: '+',
  Sub: '-',
  Mul: '*',
  Div: '/',
  Mod: '%',
  Pow: '^',
  Atan2: 'atan2',
  Eql: '==',
  Neq: '!=',
  Gtr: '>',
  Lss: '<',
  Gte: '>=',
  Lte: '<=',
  And: 'and',
  Or: 'or',
  Unless: 'unless',
};

class Evaluator {
  private readonly query: string;
  private readonly seconds: number;
  private readonly end: ScrapedSeries[];
  /** Start values by source, then by label set. */
  private readonly start = new Map<string, Map<string, number>>();
  private readonly window: Window;

  constructor(query: string, window: Window) {
    this.window = window;
    this.query = withTemplatedRangesResolved(query);
    this.seconds = window.seconds;
    const targetLabels = window.targetLabels ?? {};
    this.end = scrapedSeries(window.end, targetLabels, 'end');
    for (const s of scrapedSeries(window.start, targetLabels, 'start')) {
      let bySeries = this.start.get(s.source);
      if (bySeries === undefined) this.start.set(s.source, (bySeries = new Map()));
      bySeries.set(labelsKey(s.labels), s.value);
    }
  }

  evaluate(): Evaluated {
    const tree = parser.parse(this.query);
    tree.iterate({
      enter: (node) => {
        if (node.type.isError) throw this.syntaxError(node.from, node.to);
      },
    });
    const [expression, ...rest] = this.expressions(tree.topNode);
    if (expression === undefined || rest.length > 0) throw this.syntaxError(0, this.query.length);
    return this.eval(expression);
  }

  private eval(node: SyntaxNode): Evaluated {
    switch (node.name) {
      case 'NumberDurationLiteral':
        return { kind: 'scalar', value: parseNumber(this.text(node)) };
      case 'StringLiteral':
        return { kind: 'string', value: unquote(this.text(node)) };
      case 'ParenExpr':
        return this.eval(this.only(node));
      case 'UnaryExpr':
        return this.unary(node);
      case 'VectorSelector':
        return { kind: 'vector', series: this.select(node).map(({ labels, value }) => ({ labels, value })) };
      case 'MatrixSelector':
        return this.range(node);
      case 'OffsetExpr':
        return this.offset(node);
      case 'FunctionCall':
        return this.call(node);
      case 'AggregateExpr':
        return this.aggregation(node);
      case 'BinaryExpr':
        return this.binary(node);
      default:
        throw new Error(`PromQL: ${UNSUPPORTED[node.name] ?? node.name} is not supported by this evaluator (in ${JSON.stringify(this.text(node))})`);
    }
  }

  private unary(node: SyntaxNode): Evaluated {
    const operand = this.eval(this.only(node));
    const op = this.text(this.child(node, 'UnaryOp'));
    if (operand.kind === 'scalar') return op === '-' ? { kind: 'scalar', value: -operand.value } : operand;
    if (operand.kind !== 'vector') throw new Error(`PromQL: unary ${op} needs a scalar or an instant vector, got ${describeKind(operand.kind)}`);
    if (op !== '-') return operand;
    return { kind: 'vector', series: operand.series.map((s) => ({ labels: dropName(s.labels), value: -s.value })) };
  }

  private select(node: SyntaxNode): ScrapedSeries[] {
    const matchers: Matcher[] = [];
    const name = node.getChild('Identifier');
    if (name !== null) matchers.push(equals(METRIC_NAME, this.text(name)));
    for (const m of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
      matchers.push(this.matcher(this.text(this.child(m, 'LabelName')), m));
    }
    for (const m of node.getChild('LabelMatchers')?.getChildren('QuotedLabelMatcher') ?? []) {
      matchers.push(this.matcher(unquote(this.text(this.child(this.child(m, 'QuotedLabelName'), 'StringLiteral'))), m));
    }
    // `{"metric.name"}`: a quoted name alone is the metric name.
    for (const q of node.getChild('LabelMatchers')?.getChildren('QuotedLabelName') ?? []) {
      matchers.push(equals(METRIC_NAME, unquote(this.text(this.child(q, 'StringLiteral')))));
    }
    if (matchers.every((m) => m.test(''))) {
      throw new Error(`PromQL: vector selector must contain at least one non-empty matcher (in ${JSON.stringify(this.text(node))})`);
    }
    return this.end.filter((s) => matchers.every((m) => m.test(s.labels[m.name] ?? '')));
  }

  private matcher(name: string, node: SyntaxNode): Matcher {
    const op = this.text(this.child(node, 'MatchOp'));
    const value = unquote(this.text(this.child(node, 'StringLiteral')));
    switch (op) {
      case '=':
        return equals(name, value);
      case '!=':
        return { name, test: (v) => v !== value };
      case '=~':
      case '!~': {
        const regex = anchoredRegex(value);
        return { name, test: op === '=~' ? (v) => regex.test(v) : (v) => !regex.test(v) };
      }
      default:
        throw new Error(`PromQL: the label matcher ${op} is not supported`);
    }
  }

  /** `x[60s] offset 60s`: the selector over the window `offsets['60s']`, scraped at its own start and end. */
  private offset(node: SyntaxNode): Evaluated {
    const written = this.text(this.child(node, 'OffsetDurationExpr'));
    const earlier = this.window.offsets?.[written];
    if (earlier === undefined) throw new Error(`PromQL: no window for offset ${written}: give one in Window.offsets['${written}']`);
    return new Evaluator(this.query, earlier).eval(this.only(node));
  }

  private range(node: SyntaxNode): Evaluated {
    const series: RangeSeries[] = this.select(this.child(node, 'VectorSelector')).map((s) => ({
      labels: s.labels,
      start: this.start.get(s.source)?.get(labelsKey(s.labels)),
      end: s.value,
    }));
    return { kind: 'matrix', series };
  }

  private call(node: SyntaxNode): Evaluated {
    const name = this.text(this.child(node, 'FunctionIdentifier'));
    const args = this.expressions(this.child(node, 'FunctionCallBody')).map((arg) => this.eval(arg));
    return callFunction(name, args, this.seconds);
  }

  private aggregation(node: SyntaxNode): Evaluated {
    const op = this.text(this.child(node, 'AggregateOp'));
    if (!AGGREGATIONS.has(op)) {
      throw new Error(`PromQL: the aggregation ${op}() is not supported by this evaluator (supported: ${[...AGGREGATIONS].join(', ')})`);
    }
    const args = this.expressions(this.child(node, 'FunctionCallBody'));
    const arg = args[0];
    if (arg === undefined || args.length > 1) throw new Error(`PromQL: ${op}() takes one argument, got ${args.length}`);
    const operand = this.eval(arg);
    if (operand.kind !== 'vector') throw new Error(`PromQL: ${op}() needs an instant vector, got ${describeKind(operand.kind)}`);
    const modifier = node.getChild('AggregateModifier');
    let grouping: Grouping | undefined;
    if (modifier !== null) {
      grouping = { without: modifier.getChild('Without') !== null, labels: this.labelNames(this.child(modifier, 'GroupingLabels')) };
    }
    return { kind: 'vector', series: aggregate(op, operand.series, grouping) };
  }

  private binary(node: SyntaxNode): Evaluated {
    const [lhsNode, rhsNode] = this.expressions(node);
    let op: string | undefined;
    let returnBool = false;
    let clause: SyntaxNode | undefined;
    for (let c = node.firstChild; c !== null; c = c.nextSibling) {
      const unsupported = UNSUPPORTED[c.name];
      if (unsupported !== undefined) throw new Error(`PromQL: ${unsupported} is not supported by this evaluator`);
      if (c.name === 'BoolModifier') returnBool = true;
      else if (c.name === 'MatchingModifierClause') clause = c;
      else if (!EXPRESSIONS.has(c.name) && c.name !== 'LineComment') op = OPERATORS[c.name] ?? c.name;
    }
    if (lhsNode === undefined || rhsNode === undefined || op === undefined) throw this.syntaxError(node.from, node.to);
    if (!ARITHMETIC.has(op) && !COMPARISON.has(op) && !SET_OPERATORS.has(op)) {
      throw new Error(`PromQL: the binary operator ${op} is not supported by this evaluator`);
    }
    if (returnBool && !COMPARISON.has(op)) throw new Error('PromQL: bool modifier can only be used on comparison operators');
    const matching = clause === undefined ? { on: false, labels: [], group: undefined, include: [] } : this.matching(clause, op);

    const lhs = this.eval(lhsNode);
    const rhs = this.eval(rhsNode);
    if (lhs.kind === 'scalar' && rhs.kind === 'scalar') {
      if (SET_OPERATORS.has(op)) throw new Error(`PromQL: set operator ${op} not allowed in binary scalar expression`);
      if (COMPARISON.has(op) && !returnBool) throw new Error('PromQL: comparisons between scalars must use BOOL modifier');
      const { value, keep } = applyOperator(op, lhs.value, rhs.value);
      return { kind: 'scalar', value: COMPARISON.has(op) ? Number(keep) : value };
    }
    if (clause !== undefined && (lhs.kind !== 'vector' || rhs.kind !== 'vector')) {
      throw new Error('PromQL: vector matching only allowed between instant vectors');
    }
    if (lhs.kind === 'vector' && rhs.kind === 'vector') {
      if (SET_OPERATORS.has(op)) return { kind: 'vector', series: setOperation(op, lhs.series, rhs.series, matching) };
      return { kind: 'vector', series: vectorBinary(op, lhs.series, rhs.series, matching, returnBool) };
    }
    if (SET_OPERATORS.has(op)) throw new Error(`PromQL: set operator ${op} not allowed in binary scalar expression`);
    if (lhs.kind === 'vector' && rhs.kind === 'scalar') return { kind: 'vector', series: vectorScalarBinary(op, lhs.series, rhs.value, false, returnBool) };
    if (lhs.kind === 'scalar' && rhs.kind === 'vector') return { kind: 'vector', series: vectorScalarBinary(op, rhs.series, lhs.value, true, returnBool) };
    throw new Error(`PromQL: ${op} needs scalars or instant vectors, got ${describeKind(lhs.kind)} and ${describeKind(rhs.kind)}`);
  }

  private matching(clause: SyntaxNode, op: string): Matching {
    const matching: Matching = { on: false, labels: [], group: undefined, include: [] };
    // A label list belongs to the keyword before it: on/ignoring's are matched on, group_x's are copied.
    let last = '';
    for (let c = clause.firstChild; c !== null; c = c.nextSibling) {
      if (c.name === 'GroupingLabels') {
        if (last === 'GroupLeft' || last === 'GroupRight') matching.include = this.labelNames(c);
        else matching.labels = this.labelNames(c);
      } else {
        last = c.name;
        if (c.name === 'On') matching.on = true;
        else if (c.name === 'GroupLeft') matching.group = 'left';
        else if (c.name === 'GroupRight') matching.group = 'right';
      }
    }
    if (matching.group !== undefined && SET_OPERATORS.has(op)) throw new Error(`PromQL: no grouping allowed for "${op}" operation`);
    if (matching.on) {
      const both = matching.include.find((name) => matching.labels.includes(name));
      if (both !== undefined) throw new Error(`PromQL: label "${both}" must not occur in ON and GROUP clause at once`);
    }
    return matching;
  }

  private labelNames(grouping: SyntaxNode): string[] {
    const names: string[] = [];
    for (let c = grouping.firstChild; c !== null; c = c.nextSibling) {
      if (c.name === 'LabelName') names.push(this.text(c));
      else if (c.name === 'QuotedLabelName') names.push(unquote(this.text(this.child(c, 'StringLiteral'))));
    }
    return names;
  }

  private expressions(node: SyntaxNode): SyntaxNode[] {
    const found: SyntaxNode[] = [];
    for (let c = node.firstChild; c !== null; c = c.nextSibling) if (EXPRESSIONS.has(c.name)) found.push(c);
    return found;
  }

  private only(node: SyntaxNode): SyntaxNode {
    const [inner, ...rest] = this.expressions(node);
    if (inner === undefined || rest.length > 0) throw this.syntaxError(node.from, node.to);
    return inner;
  }

  private child(node: SyntaxNode, name: string): SyntaxNode {
    const found = node.getChild(name);
    if (found === null) throw new Error(`PromQL: expected ${name} in ${JSON.stringify(this.text(node))}`);
    return found;
  }

  private text(node: SyntaxNode): string {
    return this.query.slice(node.from, node.to);
  }

  private syntaxError(from: number, to: number): Error {
    const found = from === to ? (this.query[from] ?? '') : this.query.slice(from, to);
    const before = this.query.slice(0, from).trimEnd();
    // The grammar knows every function by name, so `foo(` fails at the parenthesis; say what that means.
    const unknownFunction = found.startsWith('(') ? /([A-Za-z_][A-Za-z0-9_]*)$/.exec(before)?.[1] : undefined;
    const what =
      unknownFunction !== undefined
        ? `unknown function ${unknownFunction}()`
        : found === ''
          ? 'unexpected end of query'
          : `unexpected ${JSON.stringify(found)}`;
    return new Error(`PromQL syntax error at character ${from + 1}: ${what}, in ${JSON.stringify(this.query)}`);
  }
}

interface Matcher {
  name: string;
  test: (value: string) => boolean;
}

function equals(name: string, value: string): Matcher {
  return { name, test: (v) => v === value };
}

/** The series of one side of the window, labelled as Prometheus would store them. */
function scrapedSeries(snapshots: readonly Snapshot[], targetLabels: Record<string, Record<string, string>>, side: string): ScrapedSeries[] {
  const seenSources = new Set<string>();
  const series: ScrapedSeries[] = [];
  for (const snapshot of snapshots) {
    if (seenSources.has(snapshot.source)) throw new Error(`evaluatePromql: two ${side} snapshots from ${snapshot.source}`);
    seenSources.add(snapshot.source);
    const seen = new Set<string>();
    for (const family of snapshot.families) {
      for (const sample of family.samples) {
        // Target labels win over scraped ones (honor_labels: false); an empty value removes the label, as relabelling does.
        const merged: Labels = { ...sample.labels, ...targetLabels[snapshot.source], [METRIC_NAME]: sample.name };
        const labels = Object.fromEntries(Object.entries(merged).filter(([, value]) => value !== ''));
        const key = labelsKey(labels);
        if (seen.has(key)) throw new Error(`evaluatePromql: the ${side} scrape of ${snapshot.source} has two samples ${describeLabels(labels)}`);
        seen.add(key);
        series.push({ source: snapshot.source, labels, value: sample.value });
      }
    }
  }
  return series;
}

/**
 * Argo Rollouts' `{{args.x}}` and Grafana's `$x` are not PromQL; inside a
 * range they only name the window, which every range here means anyway, so
 * they are replaced by a duration before parsing. Elsewhere they stay and fail
 * to parse. String literals are skipped so a regex containing `[{{` is left alone.
 */
function withTemplatedRangesResolved(query: string): string {
  const template = /\[\s*(?:\{\{[^\]]*?\}\}|\$\{?[A-Za-z_][A-Za-z0-9_]*\}?)\s*\]/y;
  let out = '';
  let quote: string | undefined;
  for (let i = 0; i < query.length; i += 1) {
    const c = query[i] as string;
    if (quote !== undefined) {
      out += c;
      if (c === '\\' && quote !== '`') out += query[++i] ?? '';
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    template.lastIndex = i;
    const match = c === '[' ? template.exec(query) : null;
    if (match !== null) {
      out += '[1m]';
      i += match[0].length - 1;
    } else {
      out += c;
    }
  }
  return out;
}

const DURATION_UNITS: Readonly<Record<string, number>> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86_400, w: 604_800, y: 31_536_000 };

/** A number as Prometheus' lexer reads it: Go integer syntax first (`0x1F`, octal `017`, `1_000`), then floats, Inf, NaN, durations in seconds. */
function parseNumber(literal: string): number {
  const text = literal.replace(/\s+/g, '');
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[+-]/, '');
  const lower = body.toLowerCase();
  if (lower === 'inf' || lower === 'infinity') return sign * Infinity;
  if (lower === 'nan') return Number.NaN;
  if (/^0x[0-9a-f_]+$/.test(lower)) return sign * Number.parseInt(lower.slice(2).replaceAll('_', ''), 16);
  if (/^0o?[0-7_]+$/.test(lower)) return sign * Number.parseInt(lower.replace(/^0o?/, '').replaceAll('_', '') || '0', 8);
  if (/^\d[\d_]*$/.test(lower)) return sign * Number(lower.replaceAll('_', ''));
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/.test(lower)) return sign * Number(lower);
  if (/^(\d+(ms|s|m|h|d|w|y))+$/.test(lower)) {
    let seconds = 0;
    for (const [, amount, unit] of lower.matchAll(/(\d+)(ms|s|m|h|d|w|y)/g)) seconds += Number(amount) * (DURATION_UNITS[unit ?? ''] ?? Number.NaN);
    return sign * seconds;
  }
  throw new Error(`PromQL: cannot read the number ${JSON.stringify(literal)}`);
}

const ESCAPES: Readonly<Record<string, string>> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '\\': '\\', "'": "'", '"': '"' };

/** A string literal as Go's strconv.Unquote reads it, which is what Prometheus uses. */
function unquote(literal: string): string {
  const quote = literal[0];
  if (quote === '`') return literal.slice(1, -1);
  const body = literal.slice(1, -1);
  return body.replace(/\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|U[0-9a-fA-F]{8}|[0-7]{3}|.)/gs, (whole, escape: string) => {
    const simple = ESCAPES[escape];
    if (simple !== undefined) return simple;
    if (/^[xuU]/.test(escape) && escape.length > 1) return String.fromCodePoint(Number.parseInt(escape.slice(1), 16));
    if (/^[0-7]{3}$/.test(escape)) return String.fromCodePoint(Number.parseInt(escape, 8));
    throw new Error(`PromQL: invalid escape ${whole} in the string ${literal}`);
  });
}

/**
 * Prometheus anchors label regexes at both ends and lets `.` match newlines
 * (RE2 `^(?s:…)$`). RE2 and JavaScript agree on the usual syntax; a leading
 * `(?i)` becomes the `i` flag, other inline flags are refused rather than misread.
 */
function anchoredRegex(source: string): RegExp {
  let pattern = source;
  let flags = 'su';
  if (pattern.startsWith('(?i)')) {
    pattern = pattern.slice(4);
    flags += 'i';
  }
  if (/\(\?[a-zA-Z-]+\)/.test(pattern)) throw new Error(`PromQL: inline regex flags other than a leading (?i) are not supported: ${JSON.stringify(source)}`);
  try {
    return new RegExp(`^(?:${pattern})$`, flags);
  } catch (error) {
    throw new Error(`PromQL: the regex ${JSON.stringify(source)} is not one this evaluator can read: ${(error as Error).message}`, { cause: error });
  }
}
