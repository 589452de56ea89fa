import { relationName, text } from '../internal/ast.js';
import type { Rule } from '../rule.js';

/** `ALTER TABLE ... RENAME COLUMN`: the old name disappears while the old release still uses it. */
export const renameColumn: Rule = {
  id: 'rename-column',
  severity: 'error',
  title: 'RENAME COLUMN',
  why: 'A rename removes the old name at once: the release still running queries the old name and fails with "column does not exist"; the new release cannot run before the migration.',
  alternative:
    'Expand: add the new column and keep both in step (the new release writes both, or a trigger copies), backfill in batches outside the migration, switch reads to the new column; contract, once no release reads the old column: drop it ("-- baton:contract unused-since=N").',
  check(statement) {
    if (statement.type !== 'RenameStmt' || text(statement.node, 'renameType') !== 'OBJECT_COLUMN') return;
    const table = relationName(statement.node['relation']);
    if (statement.isNewTable(table)) return;
    statement.report(`Renames column "${text(statement.node, 'subname') ?? '?'}" of "${table}" to "${text(statement.node, 'newname') ?? '?'}"; the release still running uses the old name.`);
  },
};
