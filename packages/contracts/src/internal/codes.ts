import type { BatonErrorCode } from '@baton/lifecycle';

// These codes belong in @baton/lifecycle's ERROR_CODES catalog; until they are
// added there they are cast, as can-i-deploy does for BATON_ERR_BROKER.
/** @pact-foundation/pact or its native library could not be loaded. */
export const PACT_UNAVAILABLE = 'BATON_ERR_PACT_UNAVAILABLE' as string as BatonErrorCode;
/** Verification could not run at all (the verifier crashed or was invoked wrongly). */
export const VERIFICATION_ERROR = 'BATON_ERR_VERIFICATION' as string as BatonErrorCode;
