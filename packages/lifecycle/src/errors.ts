import { BATON_ERROR_BRAND, brandPrototype, hasBrand } from './internal/brand.js';

/** The form of every Baton error code. Each package documents its own codes in a catalogue ({@link defineErrorCodes}). */
export type BatonErrorCode = `BATON_ERR_${string}`;

/**
 * Declares a package's error catalogue: each code with one line on what it
 * means. A key that is not `BATON_ERR_*` fails the build, and the literal
 * keys stay in the type, so `ErrorCodeOf<typeof CATALOGUE>` is the union of them.
 *
 * @example
 * export const METRICS_ERROR_CODES = defineErrorCodes({
 *   BATON_ERR_METRICS_PARSE: 'The text is not in the Prometheus exposition format.',
 * });
 * export type MetricsErrorCode = ErrorCodeOf<typeof METRICS_ERROR_CODES>;
 */
export function defineErrorCodes<const Catalogue extends Record<BatonErrorCode, string>>(
  codes: Catalogue & Record<Exclude<keyof Catalogue, BatonErrorCode>, never>,
): Readonly<Catalogue> {
  return Object.freeze(codes);
}

/** The codes of a catalogue made with {@link defineErrorCodes}. */
export type ErrorCodeOf<Catalogue> = keyof Catalogue & BatonErrorCode;

/**
 * The lifecycle's own codes. `BATON_ERR_INVALID_OPTION` is here because every
 * package throws it; other packages' codes are in their own catalogues
 * (`METRICS_ERROR_CODES` in `@baton/metrics`, ...). `code` is stable across
 * releases, so callers branch on it instead of on message text.
 */
export const ERROR_CODES = defineErrorCodes({
  /** An option has the wrong type or an impossible value. */
  BATON_ERR_INVALID_OPTION: 'An option has the wrong type or an impossible value.',
  /** The shutdown phases add up to more than the platform's grace period. */
  BATON_ERR_BUDGET_EXCEEDS_GRACE: 'The shutdown phases do not fit in the grace period.',
  /** A check with the same name is already registered. */
  BATON_ERR_DUPLICATE_CHECK: 'A check with this name is already registered.',
  /** A health check did not answer within its timeout. */
  BATON_ERR_CHECK_TIMEOUT: 'A health check did not answer within its timeout.',
  /** Startup did not finish (startup task or startup checks) within its deadline. */
  BATON_ERR_STARTUP_TIMEOUT: 'Startup did not finish within its deadline.',
  /** The startup task threw. */
  BATON_ERR_STARTUP_FAILED: 'The startup task failed.',
  /** An operation is not allowed in the current lifecycle state. */
  BATON_ERR_INVALID_STATE: 'The operation is not allowed in the current lifecycle state.',
  /** A shutdown hook did not finish within its deadline. */
  BATON_ERR_HOOK_TIMEOUT: 'A shutdown hook did not finish within its deadline.',
  /** The server could not listen (port in use, permission, bad address). */
  BATON_ERR_LISTEN_FAILED: 'The server could not listen.',
});

/** A code of the lifecycle's own ({@link ERROR_CODES}). */
export type LifecycleErrorCode = ErrorCodeOf<typeof ERROR_CODES>;

/**
 * The one base class of Baton's errors; `code` is a `BATON_ERR_*` code that
 * the throwing package documents ({@link ERROR_CODES} for the lifecycle's).
 *
 * `error instanceof BatonError` is also true for a BatonError thrown by
 * another copy of `@baton/lifecycle` in the same process (npm may install
 * two): it checks a `Symbol.for('baton.BatonError')` brand, not the class.
 * Subclasses (`instanceof RouterCommandError`) keep the ordinary check.
 */
export class BatonError extends Error {
  readonly code: BatonErrorCode;

  constructor(code: BatonErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'BatonError';
    this.code = code;
  }

  static override [Symbol.hasInstance](value: unknown): boolean {
    // `this` is the class on the right of instanceof: a subclass asks the prototype chain as usual.
    if (this !== BatonError) return Function.prototype[Symbol.hasInstance].call(this, value);
    return hasBrand(value, BATON_ERROR_BRAND);
  }

  static {
    brandPrototype(this, BATON_ERROR_BRAND);
  }
}

/**
 * True when `error` is a {@link BatonError}, optionally with the given code,
 * whichever copy of `@baton/lifecycle` threw it.
 */
export function isBatonError(error: unknown, code?: BatonErrorCode): error is BatonError {
  return hasBrand(error, BATON_ERROR_BRAND) && (code === undefined || (error as BatonError).code === code);
}
