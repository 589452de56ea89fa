import { alterTableCommands } from '../internal/alter-table.js';
import { as, isNode, location, typeOf } from '../internal/ast.js';
import type { ColumnType, Rule } from '../rule.js';

/** `ALTER COLUMN ... TYPE` that rewrites the table or narrows what the column accepts. */
export const columnTypeChange: Rule = {
  id: 'column-type-change',
  severity: 'error',
  title: 'column type change that rewrites the table or narrows it',
  why: 'Most type changes rewrite the table (and its indexes) under an ACCESS EXCLUSIVE lock, blocking the running release; a narrower type (shorter varchar, smaller numeric) also makes the running release\'s writes fail with "value too long" or "numeric field overflow".',
  alternative:
    'Expand: add a column of the new type, keep both in step (the new release writes both, or a trigger), backfill in batches, switch reads; contract: drop the old column once no release uses it. Widening without rewrite is fine: varchar(n) to varchar(m > n) or text, numeric(p,s) to numeric(q > p,s) or numeric.',
  check(statement) {
    for (const command of alterTableCommands(statement)) {
      if (command.subtype !== 'AT_AlterColumnType' || statement.isNewTable(command.table)) continue;
      const def = as(command.def, 'ColumnDef');
      const next = typeOf(def?.['typeName']);
      const column = command.name ?? '?';
      const typeName = def?.['typeName'];
      const at = (isNode(typeName) ? location(typeName) : undefined) ?? location(def);
      const written = describe(next);
      if (def?.['raw_default'] !== undefined) {
        statement.report(`Changes "${column}" of "${command.table}" to ${written} with USING: the table is rewritten under an exclusive lock.`, at);
        continue;
      }
      const previous = statement.columnType(command.table, column);
      if (!previous) {
        statement.report(`Changes "${column}" of "${command.table}" to ${written}; its current type is not created by these migrations, so the change may rewrite the table or narrow it.`, at);
        continue;
      }
      const verdict = compare(previous, next, statement.targetVersion);
      if (verdict !== 'safe') statement.report(`Changes "${column}" of "${command.table}" from ${describe(previous)} to ${written}: ${verdict}.`, at);
    }
  },
};

const VARCHAR = new Set(['varchar', 'text']);

/** 'safe', or why the change is not: binary-compatible widenings are the only safe changes. */
function compare(from: ColumnType, to: ColumnType, version: number): string {
  if (from.array !== to.array) return 'the table is rewritten under an exclusive lock';
  const [fromLimit] = from.mods;
  const [toLimit] = to.mods;
  if (VARCHAR.has(from.name) && VARCHAR.has(to.name)) {
    if (to.name === 'text' || toLimit === undefined) return 'safe';
    if (from.name === 'text' || fromLimit === undefined || toLimit < fromLimit) return 'the new type is narrower: the running release\'s longer values fail with "value too long" (and the table is scanned)';
    return 'safe';
  }
  if (from.name === 'numeric' && to.name === 'numeric') {
    if (to.mods.length === 0) return 'safe';
    const [fromP, fromS = 0] = from.mods;
    const [toP, toS = 0] = to.mods;
    if (fromP !== undefined && toP !== undefined && toS === fromS && toP >= fromP) return 'safe';
    if (fromP === undefined || (toP ?? 0) - toS < fromP - fromS) return 'the new type is narrower: the running release\'s larger values fail with "numeric field overflow"';
    return 'the scale changes, so the table is rewritten under an exclusive lock';
  }
  if ((from.name === 'varbit' && to.name === 'varbit') && (toLimit === undefined || (fromLimit !== undefined && toLimit >= fromLimit))) return 'safe';
  if (from.name === 'cidr' && to.name === 'inet') return 'safe';
  if (from.name === 'timestamp' && to.name === 'timestamptz' && version >= 12) return 'rewrites the table under an exclusive lock unless the session TimeZone is UTC (PostgreSQL 12+ skips the rewrite only then)';
  if (from.name === to.name && sameMods(from, to)) return 'safe';
  return 'the table is rewritten under an exclusive lock';
}

function sameMods(a: ColumnType, b: ColumnType): boolean {
  return a.mods.length === b.mods.length && a.mods.every((mod, i) => mod === b.mods[i]);
}

function describe(type: ColumnType): string {
  const mods = type.mods.length > 0 ? `(${type.mods.map((m) => m ?? '?').join(',')})` : '';
  return `${type.name}${mods}${type.array ? '[]' : ''}`;
}
