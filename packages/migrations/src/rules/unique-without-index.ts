import { addedColumns, alterTableCommands, columnConstraints } from '../internal/alter-table.js';
import { as, location, text } from '../internal/ast.js';
import type { Rule } from '../rule.js';

const KINDS: Readonly<Record<string, string>> = { CONSTR_UNIQUE: 'UNIQUE', CONSTR_PRIMARY: 'PRIMARY KEY', CONSTR_EXCLUSION: 'EXCLUDE' };

/** `ADD UNIQUE` / `ADD PRIMARY KEY` on an existing table without `USING INDEX`. */
export const uniqueWithoutIndex: Rule = {
  id: 'unique-without-index',
  severity: 'error',
  title: 'ADD UNIQUE / PRIMARY KEY without USING INDEX',
  why: 'Adding a UNIQUE or PRIMARY KEY constraint builds its index under an ACCESS EXCLUSIVE lock: every query of the running release waits for the whole build.',
  alternative:
    '"CREATE UNIQUE INDEX CONCURRENTLY idx ON t (col)" in a "-- baton:no-transaction" file, then "ALTER TABLE t ADD CONSTRAINT c UNIQUE USING INDEX idx" (or PRIMARY KEY USING INDEX), which is instant.',
  check(statement) {
    for (const command of alterTableCommands(statement)) {
      if (command.subtype !== 'AT_AddConstraint' || statement.isNewTable(command.table)) continue;
      const constraint = as(command.def, 'Constraint');
      const kind = KINDS[text(constraint, 'contype') ?? ''];
      if (!kind || text(constraint, 'indexname') !== undefined) continue;
      statement.report(`Adds ${kind} constraint to "${command.table}" without USING INDEX: its index is built under an exclusive lock.`, location(constraint));
    }
    for (const { table, column, name } of addedColumns(statement)) {
      for (const constraint of columnConstraints(column)) {
        const kind = KINDS[text(constraint, 'contype') ?? ''];
        if (kind) statement.report(`Adds column "${name}" to "${table}" as ${kind}: its index is built under an exclusive lock.`, location(constraint));
      }
    }
  },
};
