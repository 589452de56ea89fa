import { addedColumns, columnConstraints } from '../internal/alter-table.js';
import { location, text } from '../internal/ast.js';
import type { Rule } from '../rule.js';

/** `ADD COLUMN ... GENERATED ALWAYS AS (...) STORED` on an existing table. */
export const generatedColumn: Rule = {
  id: 'generated-column',
  severity: 'error',
  title: 'stored generated column added to an existing table',
  why: 'A stored generated column is computed for every existing row: PostgreSQL rewrites the table under an ACCESS EXCLUSIVE lock, blocking the running release for the whole rewrite.',
  alternative:
    'Add a plain nullable column, keep it in step with a trigger (or the new release), backfill in batches outside the migration; or compute the value in a view or in queries.',
  check(statement) {
    for (const { table, column, name } of addedColumns(statement)) {
      const generated = columnConstraints(column).find((c) => text(c, 'contype') === 'CONSTR_GENERATED');
      if (generated) statement.report(`Adds stored generated column "${name}" to existing table "${table}": the table is rewritten under an exclusive lock.`, location(generated) ?? location(column));
    }
  },
};
