import type { StatementContext } from '../rule.js';
import { alterTableCommands } from './alter-table.js';
import { bool, relationName, text } from './ast.js';

/** Whether a statement adds what only the new release uses (expand), removes what an old one used (contract), or both. */
export interface Phase {
  expand: boolean;
  contract: boolean;
}

const NEUTRAL: Phase = { expand: false, contract: false };
const EXPAND: Phase = { expand: true, contract: false };
const CONTRACT: Phase = { expand: false, contract: true };

const CREATES = new Set([
  'CreateStmt', 'CreateTableAsStmt', 'CreateSeqStmt', 'IndexStmt', 'CreateEnumStmt', 'CompositeTypeStmt', 'CreateDomainStmt',
  'CreateExtensionStmt', 'CreateSchemaStmt', 'CreateTrigStmt', 'CreateRangeStmt', 'CreatePolicyStmt',
]);

const QUIET_RENAMES = new Set(['OBJECT_INDEX', 'OBJECT_TABCONSTRAINT', 'OBJECT_DOMCONSTRAINT', 'OBJECT_TRIGGER', 'OBJECT_POLICY', 'OBJECT_RULE']);

/** The phase of one statement; see the README on classification for the reasoning behind each kind. */
export function phaseOf(statement: StatementContext): Phase {
  const { type, node } = statement;
  if (CREATES.has(type)) return EXPAND;
  // CREATE OR REPLACE changes what the running release calls: neither phase, the rules and the real-database mode judge it.
  if (type === 'ViewStmt' || type === 'CreateFunctionStmt') return bool(node, 'replace') ? NEUTRAL : EXPAND;
  if (type === 'AlterEnumStmt') return text(node, 'oldVal') === undefined ? EXPAND : CONTRACT;
  if (type === 'DropStmt') return CONTRACT;
  if (type === 'RenameStmt') {
    // Queries name tables, columns, views, types and functions; an index, constraint or trigger name they do not.
    if (QUIET_RENAMES.has(text(node, 'renameType') ?? '') || statement.isNewTable(relationName(node['relation']))) return NEUTRAL;
    return CONTRACT;
  }
  if (type !== 'AlterTableStmt') return NEUTRAL;
  const phase = { expand: false, contract: false };
  for (const command of alterTableCommands(statement)) {
    if (statement.isNewTable(command.table)) continue;
    switch (command.subtype) {
      case 'AT_AddColumn':
      case 'AT_AddIndex':
      case 'AT_DropNotNull':
        phase.expand = true;
        break;
      case 'AT_DropColumn':
      case 'AT_DropConstraint':
        phase.contract = true;
        break;
      case 'AT_ColumnDefault':
        // DROP DEFAULT: the running release's INSERTs that leave the column out relied on it.
        if (command.def === undefined) phase.contract = true;
        break;
      default:
        break;
    }
  }
  return phase;
}
