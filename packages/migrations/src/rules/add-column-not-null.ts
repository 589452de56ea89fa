import { addedColumns, columnConstraints } from '../internal/alter-table.js';
import { location, text, typeOf } from '../internal/ast.js';
import type { Rule } from '../rule.js';
import { SERIAL_TYPES } from './serial-column.js';

/** `ADD COLUMN ... NOT NULL` without a default on an existing table. */
export const addColumnNotNull: Rule = {
  id: 'add-column-not-null',
  severity: 'error',
  title: 'ADD COLUMN NOT NULL without a default',
  why: 'The statement fails on a table with rows; where it passes (an empty table), every INSERT of the release still running, which does not name the new column, fails with a not-null violation.',
  alternative:
    'Add the column with a constant default ("NOT NULL DEFAULT 0" costs no rewrite on PostgreSQL 11+), or add it nullable, backfill in batches, then "ADD CONSTRAINT ... CHECK (col IS NOT NULL) NOT VALID", "VALIDATE CONSTRAINT" and "SET NOT NULL" in later migrations.',
  check(statement) {
    for (const { table, column, name } of addedColumns(statement)) {
      const constraints = columnConstraints(column);
      const notNull = constraints.find((c) => text(c, 'contype') === 'CONSTR_NOTNULL' || text(c, 'contype') === 'CONSTR_PRIMARY');
      if (!notNull) continue;
      // A default, a generated or identity value, or a serial fills the column for old rows and old INSERTs alike.
      const filled = constraints.some((c) => ['CONSTR_DEFAULT', 'CONSTR_GENERATED', 'CONSTR_IDENTITY'].includes(text(c, 'contype') ?? ''));
      if (filled || SERIAL_TYPES.has(typeOf(column['typeName']).name)) continue;
      statement.report(`Adds column "${name}" to "${table}" as NOT NULL without a default.`, location(notNull) ?? location(column));
    }
  },
};
