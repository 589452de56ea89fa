import { defineErrorCodes, type ErrorCodeOf } from '@baton/lifecycle';

/** The codes `@baton/versioning` throws besides the lifecycle's `BATON_ERR_INVALID_OPTION`. */
export const VERSIONING_ERROR_CODES = defineErrorCodes({
  /** A version change's transform threw (a bug in the change); the message names the change and the route. */
  BATON_ERR_VERSION_TRANSFORM: 'A version change transform failed.',
});

/** A code of {@link VERSIONING_ERROR_CODES}. */
export type VersioningErrorCode = ErrorCodeOf<typeof VERSIONING_ERROR_CODES>;
