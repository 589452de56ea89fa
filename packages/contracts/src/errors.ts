import { defineErrorCodes, type ErrorCodeOf } from '@baton/lifecycle';

/**
 * The codes `@baton/contracts` throws besides the lifecycle's own
 * (`BATON_ERR_INVALID_OPTION`, and `BATON_ERR_STARTUP_TIMEOUT` when the provider never gets ready).
 */
export const CONTRACTS_ERROR_CODES = defineErrorCodes({
  /** @pact-foundation/pact or its native library could not be loaded. */
  BATON_ERR_PACT_UNAVAILABLE: 'Pact (or its native library) could not be loaded.',
  /** With `throwOnFailure`, contract verification failed; the message has the verifier's summary. */
  BATON_ERR_VERIFICATION: 'Contract verification failed.',
  /** A Pact Broker could not be reached or gave an answer that cannot be read. */
  BATON_ERR_BROKER: 'The Pact Broker could not be reached or its answer could not be read.',
  /** A verification record could not be written, or a file is not a record this package can read (missing, not JSON, a bad field, a newer format). */
  BATON_ERR_VERIFICATION_RECORD: 'A verification record could not be written or read.',
});

/** A code of {@link CONTRACTS_ERROR_CODES}. */
export type ContractsErrorCode = ErrorCodeOf<typeof CONTRACTS_ERROR_CODES>;
