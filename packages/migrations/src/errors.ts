import { defineErrorCodes, type ErrorCodeOf } from '@baton/lifecycle';

/** The codes `@baton/migrations` throws besides the lifecycle's `BATON_ERR_INVALID_OPTION`. */
export const MIGRATIONS_ERROR_CODES = defineErrorCodes({
  /** A migration file is not valid SQL for the targeted PostgreSQL grammar (file, line and column say where). */
  BATON_ERR_MIGRATION_PARSE: 'A migration file could not be parsed.',
  /** The migrations checker could not run (bad options, unreadable directory, database unavailable). */
  BATON_ERR_MIGRATION_CHECK: 'The migrations check could not run.',
});

/** A code of {@link MIGRATIONS_ERROR_CODES}. */
export type MigrationsErrorCode = ErrorCodeOf<typeof MIGRATIONS_ERROR_CODES>;
