import { defineErrorCodes, type ErrorCodeOf } from '@baton/lifecycle';

/**
 * The codes `@baton/toggles` throws or emits (as `error` events) besides the
 * lifecycle's own (`BATON_ERR_INVALID_OPTION`, `BATON_ERR_INVALID_STATE`).
 * None of them fails a request: the values held or the fallbacks are served.
 */
export const TOGGLES_ERROR_CODES = defineErrorCodes({
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
});

/** A code of {@link TOGGLES_ERROR_CODES}. */
export type TogglesErrorCode = ErrorCodeOf<typeof TOGGLES_ERROR_CODES>;
