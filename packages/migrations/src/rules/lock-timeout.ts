import { takesLock } from '../internal/locks.js';
import type { Rule } from '../rule.js';

/** A statement that waits for a lock, with no `SET lock_timeout` before it in the file. */
export const lockTimeout: Rule = {
  id: 'lock-timeout',
  severity: 'error',
  oncePerFile: true,
  title: 'missing lock_timeout',
  why: 'A DDL statement waiting for its lock behind one long-running query makes every later query on the table queue behind it: the running release stalls although the change itself is instant.',
  alternative:
    'Start the file with "SET lock_timeout = \'2s\';" (or SET LOCAL inside the transaction) and retry the migration when it times out. If your migration runner sets it for every file, disable this rule ("disabledRules" / --disable lock-timeout).',
  check(statement) {
    if (!statement.lockTimeoutSet && takesLock(statement)) statement.report('Takes a lock on a table in use with no "SET lock_timeout" before it in this file: while it waits, every query on the table waits too.');
  },
};
