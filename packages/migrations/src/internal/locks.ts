import type { StatementContext } from '../rule.js';
import { as, list, relationName } from './ast.js';

// Statements that must acquire a lock on a table the running release uses. While
// such a statement waits for its lock (behind one long query), every later query on
// the table queues behind it: lock_timeout bounds that wait, statement_timeout the rest.
const LOCKING = new Set([
  'AlterTableStmt', 'DropStmt', 'RenameStmt', 'IndexStmt', 'CreateTrigStmt', 'TruncateStmt', 'LockStmt',
  'ClusterStmt', 'VacuumStmt', 'ReindexStmt', 'UpdateStmt', 'DeleteStmt', 'InsertStmt', 'MergeStmt', 'AlterEnumStmt',
]);

/** True when the statement waits for a lock on an object the running release may be using. */
export function takesLock(statement: StatementContext): boolean {
  if (!LOCKING.has(statement.type)) {
    // CREATE TABLE ... REFERENCES existing(id) locks the referenced table too.
    return statement.type === 'CreateStmt' && referencesExisting(statement);
  }
  const relation = statement.node['relation'];
  if (relation !== undefined && statement.type !== 'InsertStmt' && statement.isNewTable(relationName(relation))) return false;
  return true;
}

function referencesExisting(statement: StatementContext): boolean {
  let found = false;
  const check = (constraint: Record<string, unknown> | undefined): void => {
    const pktable = constraint?.['pktable'];
    if (pktable !== undefined && !statement.isNewTable(relationName(pktable))) found = true;
  };
  for (const element of list(statement.node['tableElts'])) {
    check(as(element, 'Constraint'));
    for (const constraint of list(as(element, 'ColumnDef')?.['constraints'])) check(as(constraint, 'Constraint'));
  }
  return found;
}
