import { redactSecretPatterns } from '../secrets.js';

// The checks every section of a deploy config shares: each bad value becomes a
// problem naming its field and what is accepted, and the config's default stands in.

export function integer(value: unknown, field: string, fallback: number, min: number, max: number, problems: string[]): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${field}: an integer from ${min} to ${max}; got ${describe(value)}`);
    return fallback;
  }
  return value;
}

export function fraction(value: unknown, field: string, fallback: number, problems: string[]): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 1) {
    problems.push(`${field}: a fraction from 0 to 1 (0.01 = 1%); got ${describe(value)}`);
    return fallback;
  }
  return value;
}

export function positive(value: unknown, field: string, fallback: number, problems: string[]): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    problems.push(`${field}: a number above 0; got ${describe(value)}`);
    return fallback;
  }
  return value;
}

/** A misspelt key would otherwise be dropped without a word: each one is a problem, with what is accepted. */
export function unknownKeys(input: Record<string, unknown>, known: readonly string[], prefix: string, problems: string[]): void {
  for (const key of Object.keys(input)) {
    if (!known.includes(key)) problems.push(`${prefix}${key}: not a setting; known: ${known.join(', ')}`);
  }
}

export function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `value` for an error message, at most 200 characters; what looks like a secret (`"API_TOKEN":"…"`, `--db-password=…`, a URL's password) is redacted, since the message reaches terminals and CI logs. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing';
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = String(value);
  }
  // Redacted before it is cut: a password across the cut would no longer look like one.
  const redacted = redactSecretPatterns(text);
  return redacted.length > 200 ? `${redacted.slice(0, 200)}…` : redacted;
}
