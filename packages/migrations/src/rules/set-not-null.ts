import { alterTableCommands } from '../internal/alter-table.js';
import type { Rule } from '../rule.js';

/** `ALTER COLUMN ... SET NOT NULL` without a validated `CHECK (col IS NOT NULL)` first. */
export const setNotNull: Rule = {
  id: 'set-not-null',
  severity: 'error',
  title: 'SET NOT NULL without a validated CHECK first',
  why: 'SET NOT NULL scans the whole table under an ACCESS EXCLUSIVE lock to prove no row is NULL; every query of the running release waits for the scan. From PostgreSQL 12 a validated CHECK (col IS NOT NULL) lets it skip the scan.',
  alternative:
    'PostgreSQL 12+: "ADD CONSTRAINT c CHECK (col IS NOT NULL) NOT VALID" (instant), then "VALIDATE CONSTRAINT c" in its own transaction (no exclusive lock), then "SET NOT NULL" (no scan) and "DROP CONSTRAINT c". Before 12: keep the CHECK constraint instead of NOT NULL.',
  check(statement) {
    for (const command of alterTableCommands(statement)) {
      if (command.subtype !== 'AT_SetNotNull' || statement.isNewTable(command.table)) continue;
      const column = command.name ?? '?';
      if (statement.targetVersion < 12) {
        statement.report(`Sets "${column}" of "${command.table}" NOT NULL: before PostgreSQL 12 this always scans the table under an exclusive lock.`);
      } else if (!statement.hasValidatedNotNullCheck(command.table, column)) {
        statement.report(`Sets "${column}" of "${command.table}" NOT NULL with no validated CHECK ("${column}" IS NOT NULL) before it: the table is scanned under an exclusive lock.`);
      }
    }
  },
};
