import { BATON_ERROR_BRAND, brandPrototype, hasBrand } from './internal/brand.js';

/**
 * Every error Baton throws on purpose. `code` is stable across releases, so
 * callers branch on it instead of on message text.
 */
export const ERROR_CODES = {
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
  /** Text that should be in the Prometheus exposition format is not (a line says where). */
  BATON_ERR_METRICS_PARSE: 'The text is not in the Prometheus exposition format.',
  /** A metrics endpoint could not be scraped (refused, timed out, non-200, wrong token). */
  BATON_ERR_SCRAPE_FAILED: 'A metrics endpoint could not be scraped.',
  /** A toggle file (or a toggle source's answer) is not valid JSON in a known shape (the message says where). */
  BATON_ERR_TOGGLE_FILE: 'The toggle file is not in a known format.',
  /** The toggle server refused the token (401/403); polling stopped and readiness fails until it is fixed. */
  BATON_ERR_TOGGLE_AUTH: 'The toggle server refused the token.',
  /** One sync with the toggle server failed (down, timeout, non-200, garbage); the values held are kept. */
  BATON_ERR_TOGGLE_SYNC: 'A sync with the toggle server failed.',
  /** The last-known-good toggle snapshot could not be read or written (the message says which file). */
  BATON_ERR_TOGGLE_SNAPSHOT: 'The toggle snapshot could not be read or written.',
  /** A toggle evaluation threw inside the engine; the toggle's fallback was served. */
  BATON_ERR_TOGGLE_EVALUATION: 'A toggle evaluation failed; the fallback was served.',
  /** A version change's transform threw (a bug in the change); the message names the change and the route. */
  BATON_ERR_VERSION_TRANSFORM: 'A version change transform failed.',
  /** @pact-foundation/pact or its native library could not be loaded. */
  BATON_ERR_PACT_UNAVAILABLE: 'Pact (or its native library) could not be loaded.',
  /** Contract verification could not run at all (the verifier crashed or was invoked wrongly). */
  BATON_ERR_VERIFICATION: 'Contract verification could not run.',
  /** A Pact Broker could not be reached or gave an answer that cannot be read. */
  BATON_ERR_BROKER: 'The Pact Broker could not be reached or its answer could not be read.',
  /** A router (HAProxy's Runtime API, the built-in router) could not be reached, refused a command, or is not set up as Baton needs. */
  BATON_ERR_ROUTER: 'The router could not be reached or refused a command.',
  /** A platform could not start, find or stop an instance (the message names the instance and the cause). */
  BATON_ERR_PLATFORM: 'The platform could not start or stop an instance.',
  /** A deploy configuration is invalid (the message says which field and why). */
  BATON_ERR_DEPLOY_CONFIG: 'The deploy configuration is invalid.',
  /** The deploy journal cannot be read or written, or another deploy holds it. */
  BATON_ERR_JOURNAL: 'The deploy journal cannot be used.',
  /** A deploy failed and was rolled back, or could not run (the message gives the reason). */
  BATON_ERR_DEPLOY_FAILED: 'The deploy failed.',
  /** A migration file is not valid SQL for the targeted PostgreSQL grammar (file, line and column say where). */
  BATON_ERR_MIGRATION_PARSE: 'A migration file could not be parsed.',
  /** The migrations checker could not run (bad options, unreadable directory, database unavailable). */
  BATON_ERR_MIGRATION_CHECK: 'The migrations check could not run.',
} as const;

export type BatonErrorCode = keyof typeof ERROR_CODES;

/**
 * The one base class of Baton's errors; `code` is one of {@link ERROR_CODES}.
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
