import { strings, text } from '../internal/ast.js';
import type { Rule } from '../rule.js';

/** `ALTER TYPE ... RENAME VALUE`. */
export const enumValueRename: Rule = {
  id: 'enum-value-rename',
  severity: 'error',
  title: 'enum value rename',
  why: 'The old label disappears at once: the running release\'s writes of it fail with "invalid input value for enum", and its reads see a label it does not know.',
  alternative:
    'Expand: "ALTER TYPE ... ADD VALUE" the new label; the new release writes the new label and reads both; backfill rows in batches; contract: once no release writes the old label, stop using it (enum values cannot be dropped; a new type is the only way to remove it).',
  check(statement) {
    if (statement.type !== 'AlterEnumStmt') return;
    const oldValue = text(statement.node, 'oldVal');
    if (oldValue === undefined) return;
    statement.report(`Renames value '${oldValue}' of enum "${strings(statement.node['typeName']).join('.')}" to '${text(statement.node, 'newVal') ?? '?'}'; the running release still uses '${oldValue}'.`);
  },
};
