import { defineErrorCodes, type ErrorCodeOf } from '@baton/lifecycle';

/**
 * The codes `@baton/deploy` throws besides the lifecycle's
 * `BATON_ERR_INVALID_OPTION`. `BATON_ERR_ROUTER` and `BATON_ERR_PLATFORM` are
 * the model's contract: every router and platform package throws them (and
 * documents when), so the orchestrator and the CLI handle any implementation
 * alike.
 */
export const DEPLOY_ERROR_CODES = defineErrorCodes({
  /** A router could not be reached, refused a command, or is not set up as Baton needs; thrown by every router package. */
  BATON_ERR_ROUTER: 'The router could not be reached or refused a command.',
  /** A platform could not start, find or stop an instance (the message names the instance and the cause); thrown by every platform package. */
  BATON_ERR_PLATFORM: 'The platform could not start or stop an instance.',
  /** A deploy configuration is invalid (the message says which field and why). */
  BATON_ERR_DEPLOY_CONFIG: 'The deploy configuration is invalid.',
  /** The deploy journal cannot be read or written, or another deploy holds it. */
  BATON_ERR_JOURNAL: 'The deploy journal cannot be used.',
  /** A deploy failed and was rolled back, or could not run (the message gives the reason). */
  BATON_ERR_DEPLOY_FAILED: 'The deploy failed.',
  /** A release cannot be created: its version is recorded with another artifact (releases are immutable), or its record is not readable (the file named). */
  BATON_ERR_RELEASE: 'The release cannot be created or read.',
  /** A gate refused the release (its `gates` say which and why): nothing was started and no traffic moved. */
  BATON_ERR_GATE_REFUSED: 'A gate refused the release.',
  /** A promotion or a rollback to a named release cannot be done: the release did not run where it is taken from (the message says what ran). */
  BATON_ERR_PIPELINE: 'The release cannot be promoted or rolled back to.',
  /** A DNS switch could not change the service's record: the server is unreachable, refused the key (NOTAUTH), has no such zone (NOTZONE), or the record did not read back as asked. No traffic moved. */
  BATON_ERR_DNS: 'The DNS record could not be changed as asked.',
});

/** A code of {@link DEPLOY_ERROR_CODES}. */
export type DeployErrorCode = ErrorCodeOf<typeof DEPLOY_ERROR_CODES>;
