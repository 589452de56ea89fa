import { takesLock } from '../internal/locks.js';
import type { Rule } from '../rule.js';

/** A statement that holds a lock, with no `SET statement_timeout` before it in the file. */
export const statementTimeout: Rule = {
  id: 'statement-timeout',
  severity: 'error',
  oncePerFile: true,
  title: 'missing statement_timeout',
  why: 'Without a statement_timeout, a statement that turns out slower than expected (an unexpected rewrite or scan) holds its lock for as long as it runs, blocking the running release with no bound.',
  alternative:
    'Set "SET statement_timeout = \'5s\';" (longer, or 0, only in a "-- baton:no-transaction" file for CREATE INDEX CONCURRENTLY, which holds no blocking lock). If your migration runner sets it, disable this rule.',
  check(statement) {
    if (!statement.statementTimeoutSet && takesLock(statement)) statement.report('Takes a lock on a table in use with no "SET statement_timeout" before it in this file: nothing bounds how long the lock is held.');
  },
};
