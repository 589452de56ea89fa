import { addedColumns, alterTableCommands, columnConstraints } from '../internal/alter-table.js';
import { as, bool, location, text } from '../internal/ast.js';
import type { Rule } from '../rule.js';

const KINDS: Readonly<Record<string, string>> = { CONSTR_FOREIGN: 'FOREIGN KEY', CONSTR_CHECK: 'CHECK' };

/** `ADD FOREIGN KEY` / `ADD CHECK` on an existing table without `NOT VALID`. */
export const constraintNotValid: Rule = {
  id: 'constraint-not-valid',
  severity: 'error',
  title: 'ADD FOREIGN KEY / CHECK without NOT VALID',
  why: 'Adding a validated constraint scans the whole table while holding a lock that blocks writes (a foreign key also locks the referenced table): the running release\'s writes wait for the scan.',
  alternative:
    'Add it "NOT VALID" (instant: checks new writes only), then "ALTER TABLE ... VALIDATE CONSTRAINT ..." in a later migration or after a COMMIT: validation takes only a SHARE UPDATE EXCLUSIVE lock, so reads and writes go on.',
  check(statement) {
    for (const command of alterTableCommands(statement)) {
      if (command.subtype !== 'AT_AddConstraint' || statement.isNewTable(command.table)) continue;
      const constraint = as(command.def, 'Constraint');
      const kind = KINDS[text(constraint, 'contype') ?? ''];
      if (!kind || bool(constraint, 'skip_validation')) continue;
      const name = text(constraint, 'conname');
      statement.report(`Adds ${kind} constraint ${name ? `"${name}" ` : ''}to "${command.table}" without NOT VALID: the table is scanned while writes wait.`, location(constraint));
    }
    for (const { table, column, name } of addedColumns(statement)) {
      for (const constraint of columnConstraints(column)) {
        const kind = KINDS[text(constraint, 'contype') ?? ''];
        if (kind) statement.report(`Adds column "${name}" to "${table}" with a ${kind} constraint, validated at once: add the column first, then the constraint NOT VALID.`, location(constraint));
      }
    }
  },
};
