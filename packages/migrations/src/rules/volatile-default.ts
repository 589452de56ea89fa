import { addedColumns, columnConstraints } from '../internal/alter-table.js';
import { as, location, text } from '../internal/ast.js';
import { volatileCall } from '../internal/volatility.js';
import type { Rule } from '../rule.js';

/** `ADD COLUMN ... DEFAULT <volatile>` on an existing table (any default before PostgreSQL 11). */
export const volatileDefault: Rule = {
  id: 'volatile-default',
  severity: 'error',
  title: 'volatile default on a column added to an existing table',
  why: 'A volatile default (random(), gen_random_uuid(), clock_timestamp(), a function of your own) is evaluated per row, so PostgreSQL rewrites the whole table under an ACCESS EXCLUSIVE lock; before PostgreSQL 11 any default does. The running release is blocked for the rewrite.',
  alternative:
    'Add the column without a default (or with a constant one), then "ALTER COLUMN ... SET DEFAULT <expr>" (applies to new rows, no rewrite), and backfill old rows in batches outside the migration.',
  check(statement) {
    for (const { table, column, name } of addedColumns(statement)) {
      const dflt = columnConstraints(column).find((c) => text(c, 'contype') === 'CONSTR_DEFAULT');
      if (!dflt) continue;
      const expression = dflt['raw_expr'];
      if (statement.targetVersion < 11) {
        if (as(expression, 'A_Const')?.['isnull'] === true) continue;
        statement.report(`Adds column "${name}" to existing table "${table}" with a default: before PostgreSQL 11 that rewrites the table under an exclusive lock.`, location(dflt));
        continue;
      }
      const call = volatileCall(expression);
      if (call) statement.report(`Adds column "${name}" to existing table "${table}" with a default calling ${call}(), volatile (or not known to be stable): the table is rewritten under an exclusive lock.`, location(dflt));
    }
  },
};
