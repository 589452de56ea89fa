import { strings, text } from '../internal/ast.js';
import type { Rule } from '../rule.js';

/** `ALTER TYPE ... ADD VALUE` inside a transaction before PostgreSQL 12. */
export const enumAddValueInTransaction: Rule = {
  id: 'enum-add-value-in-transaction',
  severity: 'error',
  title: 'ALTER TYPE ... ADD VALUE inside a transaction (before PostgreSQL 12)',
  why: 'Before PostgreSQL 12, ALTER TYPE ... ADD VALUE cannot run inside a transaction block: the migration fails at deploy time. (From 12 it can, but the new value cannot be used until the transaction commits.)',
  alternative: 'Put the statement in a file marked "-- baton:no-transaction" (and run that file without a transaction), or COMMIT before it.',
  check(statement) {
    if (statement.type !== 'AlterEnumStmt' || statement.targetVersion >= 12 || statement.transaction === undefined) return;
    if (text(statement.node, 'oldVal') !== undefined) return;
    statement.report(`Adds value '${text(statement.node, 'newVal') ?? '?'}' to enum "${strings(statement.node['typeName']).join('.')}" inside a transaction, which PostgreSQL ${statement.targetVersion} refuses.`);
  },
};
