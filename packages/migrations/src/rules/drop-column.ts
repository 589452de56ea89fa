import { alterTableCommands } from '../internal/alter-table.js';
import type { Rule } from '../rule.js';

/** `ALTER TABLE ... DROP COLUMN` outside a declared contract migration. */
export const dropColumn: Rule = {
  id: 'drop-column',
  severity: 'error',
  title: 'DROP COLUMN outside a declared contract migration',
  why: 'The release still running reads and writes the column: its SELECTs and INSERTs that name it fail with "column does not exist", and an ORM that lists every column fails on every query of the table.',
  alternative:
    'Expand/contract: ship a release N that no longer reads or writes the column (remove it from the model too); once no release older than N runs, drop it in a contract migration headed "-- baton:contract unused-since=N".',
  check(statement) {
    if (statement.contractDeclared) return;
    for (const command of alterTableCommands(statement)) {
      if (command.subtype !== 'AT_DropColumn' || statement.isNewTable(command.table)) continue;
      statement.report(`Drops column "${command.name ?? '?'}" of "${command.table}", which the release still running may read or write.`);
    }
  },
};
