/**
 * Comparing what the candidate would have answered with what the stable
 * release did answer, for a shadow step: the status, the headers asked for,
 * and the body — JSON field by field, other bodies byte for byte — leaving out
 * what legitimately differs between two releases (ids, timestamps, the
 * `release` field). Differences name where, never what: an answer may hold a
 * customer's data, so values are described by type and size only.
 */

/** One answer to one request, as the router saw it. */
export interface ShadowAnswer {
  status: number;
  /** Lower-case names, as node gives them. */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  /** The body, up to the mirror's size limit. */
  body?: Uint8Array;
  /** True when the body was longer than the limit: it cannot be compared. */
  bodyTruncated?: boolean;
  latencyMs: number;
  /** No answer at all: `timeout`, `connection reset`… (the status is then meaningless). */
  failure?: string;
}

/** What is compared, and what is left out. */
export interface CompareRules {
  /** Response headers whose values must match (case-insensitive names); none by default. */
  headers: readonly string[];
  /**
   * JSON paths left out of the body's comparison: dot-separated keys, `*`
   * for any one key or index, `**` for any depth: `release`, `items.*.id`, `**.updatedAt`.
   */
  ignore: readonly string[];
}

/** One place where the two answers differ, with the values described, not shown. */
export interface AnswerDifference {
  kind: 'status' | 'header' | 'body' | 'failure';
  /** `status`, a header's name, or a JSON path (`$.items[0].total`); `$` for a whole non-JSON body. */
  path: string;
  stable: string;
  candidate: string;
}

/** How the two answers compare. */
export interface AnswerComparison {
  /** `uncomparable`: a body over the limit on either side (counted apart, neither equal nor different). */
  outcome: 'equal' | 'different' | 'uncomparable';
  differences: AnswerDifference[];
}

/** At most this many differences are listed per answer: the first ones say enough. */
const MAX_LISTED = 10;

/** Compares a candidate's answer with the stable release's under `rules`. */
export function compareAnswers(stable: ShadowAnswer, candidate: ShadowAnswer, rules: CompareRules): AnswerComparison {
  const differences: AnswerDifference[] = [];
  if (stable.failure !== undefined || candidate.failure !== undefined) {
    if (stable.failure === candidate.failure) return { outcome: 'equal', differences };
    differences.push({ kind: 'failure', path: 'answer', stable: stable.failure ?? `status ${stable.status}`, candidate: candidate.failure ?? `status ${candidate.status}` });
    return { outcome: 'different', differences };
  }
  if (stable.status !== candidate.status) differences.push({ kind: 'status', path: 'status', stable: String(stable.status), candidate: String(candidate.status) });
  for (const name of rules.headers.map((header) => header.toLowerCase())) {
    const a = headerValue(stable.headers[name]);
    const b = headerValue(candidate.headers[name]);
    if (a !== b) differences.push({ kind: 'header', path: name, stable: describeText(a), candidate: describeText(b) });
  }
  if (stable.bodyTruncated === true || candidate.bodyTruncated === true) return { outcome: differences.length > 0 ? 'different' : 'uncomparable', differences };
  // The same bytes are the same answer: nothing to parse (a copy is compared on the router's hot path).
  if (bytesEqual(stable.body, candidate.body)) return { outcome: differences.length > 0 ? 'different' : 'equal', differences };
  const a = parseJson(stable);
  const b = parseJson(candidate);
  if (a.json && b.json) {
    diffJson(a.value, b.value, [], compiledIgnore(rules), differences);
  } else if (!bytesEqual(stable.body, candidate.body)) {
    differences.push({ kind: 'body', path: '$', stable: describeBytes(stable.body, a.json), candidate: describeBytes(candidate.body, b.json) });
  }
  return { outcome: differences.length > 0 ? 'different' : 'equal', differences: differences.slice(0, MAX_LISTED) };
}

function headerValue(value: string | readonly string[] | undefined): string | undefined {
  return value === undefined ? undefined : typeof value === 'string' ? value : value.join(', ');
}

/** Decoding keeps no state between calls without `stream`: one decoder serves every comparison. */
const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** The ignore rules split into segments, once per rules object (the tally keeps one per route). */
const compiled = new WeakMap<CompareRules, string[][]>();
function compiledIgnore(rules: CompareRules): string[][] {
  let split = compiled.get(rules);
  if (split === undefined) {
    split = rules.ignore.map((rule) => rule.split('.').filter((segment) => segment !== ''));
    compiled.set(rules, split);
  }
  return split;
}

function parseJson(answer: ShadowAnswer): { json: true; value: unknown } | { json: false } {
  const type = headerValue(answer.headers['content-type']) ?? '';
  if (!/\bjson\b/i.test(type) || answer.body === undefined) return { json: false };
  try {
    return { json: true, value: JSON.parse(UTF8.decode(answer.body)) };
  } catch {
    return { json: false };
  }
}

/** Walks both values together; `path` holds the keys so far (indexes as strings). */
function diffJson(a: unknown, b: unknown, path: string[], ignore: readonly string[][], out: AnswerDifference[]): void {
  if (out.length > MAX_LISTED) return;
  if (ignore.some((rule) => matches(rule, path))) return;
  const kindA = kindOf(a);
  const kindB = kindOf(b);
  if (kindA !== kindB) {
    out.push({ kind: 'body', path: jsonPath(path), stable: describeValue(a), candidate: describeValue(b) });
    return;
  }
  if (kindA === 'array') {
    const left = a as unknown[];
    const right = b as unknown[];
    for (let index = 0; index < Math.max(left.length, right.length); index += 1) diffJson(index < left.length ? left[index] : MISSING, index < right.length ? right[index] : MISSING, [...path, String(index)], ignore, out);
    return;
  }
  if (kindA === 'object') {
    const left = a as Record<string, unknown>;
    const right = b as Record<string, unknown>;
    for (const key of [...new Set([...Object.keys(left), ...Object.keys(right)])]) {
      diffJson(Object.hasOwn(left, key) ? left[key] : MISSING, Object.hasOwn(right, key) ? right[key] : MISSING, [...path, key], ignore, out);
    }
    return;
  }
  if (!Object.is(a, b)) out.push({ kind: 'body', path: jsonPath(path), stable: describeValue(a), candidate: describeValue(b) });
}

/** Stands for a key or item one side does not have. */
const MISSING = Symbol('missing');

function kindOf(value: unknown): string {
  if (value === MISSING) return 'missing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'array';
  return typeof value;
}

/** Whether an ignore rule (`items.*.id`, `**.updatedAt`) covers the path, from segment `r` of the rule and `p` of the path. */
function matches(rule: readonly string[], path: readonly string[], r = 0, p = 0): boolean {
  if (r === rule.length) return p === path.length;
  const head = rule[r];
  if (head === '**') {
    for (let start = p; start <= path.length; start += 1) if (matches(rule, path, r + 1, start)) return true;
    return false;
  }
  if (p === path.length) return false;
  return (head === '*' || head === path[p]) && matches(rule, path, r + 1, p + 1);
}

/** `$.items[0].total`, `$["odd key"]`. */
export function jsonPath(path: readonly string[]): string {
  return `$${path.map((key) => (/^\d+$/.test(key) ? `[${key}]` : /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`)).join('')}`;
}

/** A value by its shape only: `string (12 chars)`, `number`, `object (3 keys)`, `missing`. */
export function describeValue(value: unknown): string {
  const kind = kindOf(value);
  if (kind === 'string') return `string (${(value as string).length} chars)`;
  if (kind === 'array') return `array (${(value as unknown[]).length} items)`;
  if (kind === 'object') return `object (${Object.keys(value as object).length} keys)`;
  return kind;
}

function describeText(value: string | undefined): string {
  return value === undefined ? 'missing' : `string (${value.length} chars)`;
}

function describeBytes(body: Uint8Array | undefined, json: boolean): string {
  return body === undefined || body.length === 0 ? 'empty' : `${json ? 'JSON' : 'body'} (${body.length} bytes)`;
}

function bytesEqual(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  const left = a ?? EMPTY;
  const right = b ?? EMPTY;
  return left.length === right.length && Buffer.compare(left, right) === 0;
}

const EMPTY = new Uint8Array();
