import { alterTableCommands } from '../internal/alter-table.js';
import { as, bool, list, text } from '../internal/ast.js';
import type { Rule } from '../rule.js';

/** `CREATE / DROP INDEX CONCURRENTLY`, `REINDEX CONCURRENTLY` or `DETACH PARTITION CONCURRENTLY` inside a transaction. */
export const concurrentlyInTransaction: Rule = {
  id: 'concurrently-in-transaction',
  severity: 'error',
  title: 'CONCURRENTLY inside a transaction',
  why: 'PostgreSQL refuses CONCURRENTLY operations inside a transaction block ("cannot run inside a transaction block"): the migration fails at deploy time, half applied if earlier statements ran in their own transactions.',
  alternative:
    'Put the statement in a file of its own marked "-- baton:no-transaction" (and run that file without a transaction in your migration tool), or end the transaction (COMMIT) before it.',
  check(statement) {
    if (statement.transaction === undefined) return;
    const what = concurrentOperation(statement.type, statement.node, () => alterTableCommands(statement));
    if (what) statement.report(`${what} runs inside a transaction, which PostgreSQL refuses.`);
  },
};

function concurrentOperation(type: string, node: Record<string, unknown>, commands: () => { subtype: string; def: unknown }[]): string | undefined {
  if (type === 'IndexStmt' && bool(node, 'concurrent')) return 'CREATE INDEX CONCURRENTLY';
  if (type === 'DropStmt' && bool(node, 'concurrent')) return 'DROP INDEX CONCURRENTLY';
  if (type === 'ReindexStmt') {
    for (const param of list(node['params'])) if (text(as(param, 'DefElem'), 'defname') === 'concurrently') return 'REINDEX CONCURRENTLY';
  }
  if (type === 'AlterTableStmt') {
    for (const command of commands()) {
      if (command.subtype === 'AT_DetachPartition' && bool(as(command.def, 'PartitionCmd'), 'concurrent')) return 'DETACH PARTITION CONCURRENTLY';
    }
  }
  return undefined;
}
