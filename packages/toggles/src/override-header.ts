import { BatonError } from '@baton/lifecycle';

/** Per-request overrides for tests (off unless configured). */
export interface OverrideOptions<Name extends string = string> {
  /** The only toggles a request may override; every other name in the header is ignored. */
  allow: readonly Name[];
  /** The header read. Default `x-baton-toggles`. */
  header?: string;
}

/** A toggle forced on or off, or to a named variant (which also turns it on). */
export type OverrideValue = boolean | string;

export const DEFAULT_OVERRIDE_HEADER = 'x-baton-toggles';
// Bounds on what a client can make Baton parse.
const MAX_HEADER_LENGTH = 2048;
const MAX_ENTRIES = 64;
const VARIANT_NAME = /^[a-zA-Z0-9][a-zA-Z0-9._~-]{0,99}$/;

/** A checked override policy: the header name (lower case) and the allowed names. */
export interface OverridePolicy {
  readonly header: string;
  readonly allow: ReadonlySet<string>;
}

/** Checks override options at construction; `known` is the registry's `has`. */
export function resolveOverridePolicy(options: OverrideOptions, known: (name: string) => boolean): OverridePolicy {
  if (options === null || typeof options !== 'object' || !Array.isArray(options.allow) || options.allow.length === 0) {
    throw new BatonError('BATON_ERR_INVALID_OPTION', 'toggles: overrides need `allow`: the toggle names a request may override (an empty list would allow nothing; leave `overrides` out instead).');
  }
  const unknown = options.allow.filter((name) => !known(name));
  if (unknown.length > 0) throw new BatonError('BATON_ERR_INVALID_OPTION', `toggles: overrides.allow names toggles not in the registry: ${unknown.join(', ')}.`);
  const header = (options.header ?? DEFAULT_OVERRIDE_HEADER).toLowerCase();
  if (!/^[a-z0-9!#$%&'*+.^_`|~-]+$/.test(header)) throw new BatonError('BATON_ERR_INVALID_OPTION', `toggles: overrides.header must be a header name; got ${JSON.stringify(options.header)}.`);
  return Object.freeze({ header, allow: new Set(options.allow) });
}

/**
 * Reads `name=on`, `name=off` or `name=<variant>` entries, separated by
 * commas or semicolons. Names outside the allow-list and malformed entries
 * are skipped and reported in `rejected` (a test sees why its override did
 * not apply); nothing here can fail the request.
 */
export function parseOverrideHeader(value: string | string[] | undefined, policy: OverridePolicy): { overrides: Map<string, OverrideValue> | undefined; rejected: string[] } {
  if (value === undefined) return { overrides: undefined, rejected: [] };
  const text = Array.isArray(value) ? value.join(',') : value;
  if (text.length > MAX_HEADER_LENGTH) return { overrides: undefined, rejected: [`the header is longer than ${MAX_HEADER_LENGTH} characters`] };
  const overrides = new Map<string, OverrideValue>();
  const rejected: string[] = [];
  const entries = text.split(/[,;]/).map((entry) => entry.trim()).filter((entry) => entry !== '');
  for (const entry of entries.slice(0, MAX_ENTRIES)) {
    const at = entry.indexOf('=');
    const name = (at === -1 ? entry : entry.slice(0, at)).trim();
    const raw = at === -1 ? '' : entry.slice(at + 1).trim();
    if (!policy.allow.has(name)) {
      rejected.push(`${name.slice(0, 100)}: not allowed`);
      continue;
    }
    const parsed = parseValue(raw);
    if (parsed === undefined) {
      rejected.push(`${name}: expected on, off or a variant name; got ${JSON.stringify(raw.slice(0, 100))}`);
      continue;
    }
    overrides.set(name, parsed);
  }
  if (entries.length > MAX_ENTRIES) rejected.push(`only the first ${MAX_ENTRIES} entries are read`);
  return { overrides: overrides.size === 0 ? undefined : overrides, rejected };
}

function parseValue(raw: string): OverrideValue | undefined {
  switch (raw.toLowerCase()) {
    case 'on':
    case 'true':
    case '1':
      return true;
    case 'off':
    case 'false':
    case '0':
      return false;
    default:
      return VARIANT_NAME.test(raw) ? raw : undefined;
  }
}
