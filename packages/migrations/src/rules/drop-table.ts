import { as, list, strings, text } from '../internal/ast.js';
import type { Rule } from '../rule.js';

/** `DROP TABLE` outside a declared contract migration. */
export const dropTable: Rule = {
  id: 'drop-table',
  severity: 'error',
  title: 'DROP TABLE outside a declared contract migration',
  why: 'Every query of the release still running that touches the table fails with "relation does not exist".',
  alternative:
    'Expand/contract: ship a release N that no longer uses the table; once no release older than N runs, drop it in a contract migration headed "-- baton:contract unused-since=N".',
  check(statement) {
    if (statement.type !== 'DropStmt' || text(statement.node, 'removeType') !== 'OBJECT_TABLE' || statement.contractDeclared) return;
    for (const object of list(statement.node['objects'])) {
      const name = strings(as(object, 'List')?.['items']).join('.');
      if (statement.isNewTable(name)) continue;
      statement.report(`Drops table "${name}", which the release still running may use.`);
    }
  },
};
