import { addedColumns } from '../internal/alter-table.js';
import { location, typeOf } from '../internal/ast.js';
import type { Rule } from '../rule.js';

/** The pseudo-types that expand to a sequence and a `nextval()` default. */
export const SERIAL_TYPES: ReadonlySet<string> = new Set(['serial', 'serial2', 'serial4', 'serial8', 'smallserial', 'bigserial']);

/** `ADD COLUMN ... serial` on an existing table. */
export const serialColumn: Rule = {
  id: 'serial-column',
  severity: 'error',
  title: 'serial column added to an existing table',
  why: 'A serial column defaults to nextval(), a volatile function: PostgreSQL rewrites the whole table under an ACCESS EXCLUSIVE lock to fill it, and the running release waits (or times out) meanwhile.',
  alternative:
    'Add a nullable bigint column, create and own a sequence, "SET DEFAULT nextval(...)" (new rows only, no rewrite), backfill old rows in batches outside the migration, then make it NOT NULL through a validated CHECK.',
  check(statement) {
    for (const { table, column, name } of addedColumns(statement)) {
      const type = typeOf(column['typeName']).name;
      if (SERIAL_TYPES.has(type)) statement.report(`Adds ${type} column "${name}" to existing table "${table}": the table is rewritten under an exclusive lock.`, location(column));
    }
  },
};
