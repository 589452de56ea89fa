import type { ColumnType } from '../rule.js';
import { alterTableCommands } from './alter-table.js';
import { as, bool, list, location, relationName, strings, text, typeOf, unwrap, type AstNode } from './ast.js';

/** Table names compare without the default `public.` schema. */
export function tableKey(name: string): string {
  return name.startsWith('public.') ? name.slice('public.'.length) : name;
}

/**
 * What the migrations read so far did to the schema, as far as the rules
 * need it: column types (to tell widening from narrowing), validated
 * `CHECK (col IS NOT NULL)` constraints (so SET NOT NULL can skip its scan),
 * and `NOT VALID` constraints still waiting for VALIDATE.
 */
export class SchemaState {
  readonly #columnTypes = new Map<string, ColumnType>();
  /** table → constraint name → column it proves NOT NULL. */
  readonly #validatedNotNull = new Map<string, Map<string, string>>();
  /** `table.constraint` → transaction it was added NOT VALID in (or -1 outside one), plus its NOT NULL column. */
  readonly #notValid = new Map<string, { transaction: number; column: string | undefined }>();

  columnType(table: string, column: string): ColumnType | undefined {
    return this.#columnTypes.get(`${tableKey(table)}.${column}`);
  }

  hasValidatedNotNullCheck(table: string, column: string): boolean {
    for (const proven of this.#validatedNotNull.get(tableKey(table))?.values() ?? []) if (proven === column) return true;
    return false;
  }

  notValidAddedIn(table: string, constraint: string): number | undefined {
    const entry = this.#notValid.get(`${tableKey(table)}.${constraint}`);
    return entry === undefined || entry.transaction === -1 ? undefined : entry.transaction;
  }

  /** Records what a statement did (after the rules saw the state before it). */
  apply(type: string, node: AstNode, transaction: number | undefined): void {
    if (type === 'CreateStmt') this.#createTable(node);
    else if (type === 'AlterTableStmt') this.#alterTable(type, node, transaction);
  }

  #createTable(node: AstNode): void {
    const table = tableKey(relationName(node['relation']));
    for (const element of list(node['tableElts'])) {
      const column = as(element, 'ColumnDef');
      if (column) {
        const name = text(column, 'colname');
        if (name) this.#columnTypes.set(`${table}.${name}`, typeOf(column['typeName']));
      }
      const constraint = as(element, 'Constraint');
      if (constraint) this.#addConstraint(table, constraint, undefined);
    }
  }

  #alterTable(type: string, node: AstNode, transaction: number | undefined): void {
    for (const command of alterTableCommands({ type, node })) {
      const table = tableKey(command.table);
      if (command.subtype === 'AT_AddColumn' || command.subtype === 'AT_AlterColumnType') {
        const column = as(command.def, 'ColumnDef');
        const name = command.name ?? text(column, 'colname');
        if (name) this.#columnTypes.set(`${table}.${name}`, typeOf(column?.['typeName']));
      } else if (command.subtype === 'AT_DropColumn' && command.name) {
        this.#columnTypes.delete(`${table}.${command.name}`);
      } else if (command.subtype === 'AT_AddConstraint') {
        const constraint = as(command.def, 'Constraint');
        if (constraint) this.#addConstraint(table, constraint, transaction);
      } else if (command.subtype === 'AT_ValidateConstraint' && command.name) {
        const key = `${table}.${command.name}`;
        const entry = this.#notValid.get(key);
        this.#notValid.delete(key);
        if (entry?.column) this.#proven(table).set(command.name, entry.column);
      } else if (command.subtype === 'AT_DropConstraint' && command.name) {
        this.#notValid.delete(`${table}.${command.name}`);
        this.#validatedNotNull.get(table)?.delete(command.name);
      }
    }
  }

  #addConstraint(table: string, constraint: AstNode, transaction: number | undefined): void {
    const contype = text(constraint, 'contype');
    if (contype !== 'CONSTR_CHECK' && contype !== 'CONSTR_FOREIGN') return;
    const column = contype === 'CONSTR_CHECK' ? notNullColumn(constraint['raw_expr']) : undefined;
    // An unnamed constraint gets a generated name nobody can VALIDATE by name in a later statement we could match; key it by position.
    const name = text(constraint, 'conname') ?? `#${location(constraint) ?? 0}`;
    if (bool(constraint, 'skip_validation')) this.#notValid.set(`${table}.${name}`, { transaction: transaction ?? -1, column });
    else if (column) this.#proven(table).set(name, column);
  }

  #proven(table: string): Map<string, string> {
    let proven = this.#validatedNotNull.get(table);
    if (!proven) this.#validatedNotNull.set(table, (proven = new Map()));
    return proven;
  }
}

/** The column of a `col IS NOT NULL` check expression. */
function notNullColumn(expression: unknown): string | undefined {
  const test = unwrap(expression);
  if (test?.type !== 'NullTest' || text(test.node, 'nulltesttype') !== 'IS_NOT_NULL') return undefined;
  const fields = strings(as(test.node['arg'], 'ColumnRef')?.['fields']);
  return fields[fields.length - 1];
}
