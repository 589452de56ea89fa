import type { StatementContext } from '../rule.js';
import { as, isNode, list, relationName, text, type AstNode } from './ast.js';

/** One command of an `ALTER TABLE` (which can hold many, comma-separated). */
export interface AlterCommand {
  table: string;
  subtype: string;
  /** The column or constraint named by the command, if any. */
  name: string | undefined;
  cmd: AstNode;
  /** The command's definition: a `ColumnDef` or `Constraint` node wrapper. */
  def: unknown;
}

/** The commands of an `ALTER TABLE` statement on a table (not an index, view or sequence); none for any other statement. */
export function alterTableCommands(statement: { readonly type: string; readonly node: AstNode }): AlterCommand[] {
  if (statement.type !== 'AlterTableStmt') return [];
  const objtype = text(statement.node, 'objtype');
  if (objtype !== undefined && objtype !== 'OBJECT_TABLE') return [];
  const table = relationName(statement.node['relation']);
  const commands: AlterCommand[] = [];
  for (const item of list(statement.node['cmds'])) {
    const cmd = as(item, 'AlterTableCmd');
    if (!cmd) continue;
    commands.push({ table, subtype: text(cmd, 'subtype') ?? '', name: text(cmd, 'name'), cmd, def: cmd['def'] });
  }
  return commands;
}

/** The `Constraint` nodes of a column definition (`NOT NULL`, `DEFAULT`, `GENERATED`, `REFERENCES`...). */
export function columnConstraints(columnDef: AstNode | undefined): AstNode[] {
  const out: AstNode[] = [];
  for (const item of list(columnDef?.['constraints'])) {
    const constraint = as(item, 'Constraint');
    if (constraint) out.push(constraint);
  }
  return out;
}

/** Added columns of an ALTER TABLE on an existing table: the rules about rewrites and NOT NULL read these. */
export function addedColumns(statement: StatementContext): { table: string; column: AstNode; name: string }[] {
  const out: { table: string; column: AstNode; name: string }[] = [];
  for (const command of alterTableCommands(statement)) {
    if (command.subtype !== 'AT_AddColumn' || statement.isNewTable(command.table)) continue;
    const column = as(command.def, 'ColumnDef');
    if (column && isNode(column)) out.push({ table: command.table, column, name: text(column, 'colname') ?? '?' });
  }
  return out;
}
