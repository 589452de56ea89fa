import { BatonError } from '../errors.js';

/** Throws BATON_ERR_INVALID_OPTION unless `value` is a finite number > 0. */
export function assertPositiveMs(where: string, key: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new BatonError(
      'BATON_ERR_INVALID_OPTION',
      `${where}: \`${key}\` must be a positive number of milliseconds; got ${describe(value)}.`,
    );
  }
}

/** Throws BATON_ERR_INVALID_OPTION unless `value` is a finite number >= 0. */
export function assertNonNegativeMs(where: string, key: string, value: unknown): asserts value is number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new BatonError(
      'BATON_ERR_INVALID_OPTION',
      `${where}: \`${key}\` must be zero or a positive number of milliseconds; got ${describe(value)}.`,
    );
  }
}

/** Throws BATON_ERR_INVALID_OPTION unless `value` is one of `allowed`. */
export function assertOneOf<T extends string>(where: string, key: string, value: unknown, allowed: readonly T[]): asserts value is T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new BatonError(
      'BATON_ERR_INVALID_OPTION',
      `${where}: \`${key}\` must be one of ${allowed.map((a) => `"${a}"`).join(', ')}; got ${describe(value)}.`,
    );
  }
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (Array.isArray(value)) return `an array`;
  return `a ${typeof value}`;
}
