import type { BatonErrorCode } from '@baton/lifecycle';

/** @pact-foundation/pact or its native library could not be loaded. */
export const PACT_UNAVAILABLE = 'BATON_ERR_PACT_UNAVAILABLE' satisfies BatonErrorCode;
/** Verification could not run at all (the verifier crashed or was invoked wrongly). */
export const VERIFICATION_ERROR = 'BATON_ERR_VERIFICATION' satisfies BatonErrorCode;
