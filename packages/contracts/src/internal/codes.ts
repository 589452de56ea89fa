import type { ContractsErrorCode } from '../errors.js';

/** @pact-foundation/pact or its native library could not be loaded. */
export const PACT_UNAVAILABLE = 'BATON_ERR_PACT_UNAVAILABLE' satisfies ContractsErrorCode;
/** With `throwOnFailure`, verification failed. */
export const VERIFICATION_ERROR = 'BATON_ERR_VERIFICATION' satisfies ContractsErrorCode;
/** A Pact Broker could not be asked (unreachable, timed out, non-2xx, not JSON, an unknown shape) or could not do what was asked. */
export const BROKER_ERROR = 'BATON_ERR_BROKER' satisfies ContractsErrorCode;
