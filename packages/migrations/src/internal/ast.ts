// Narrow readers over libpg-query's JSON AST. The AST is PostgreSQL's own
// parse tree (node types as in src/include/nodes/parsenodes.h); only the few
// fields the rules need are read, each defensively, so a grammar update that
// adds fields cannot break the checker.

/** One node of the parse tree: an object keyed by field name. */
export type AstNode = { readonly [field: string]: unknown };

/** The node inside a `{ "TypeName": { ... } }` wrapper, with its type name. */
export function unwrap(value: unknown): { type: string; node: AstNode } | undefined {
  if (!isNode(value)) return undefined;
  for (const type in value) return { type, node: value[type] as AstNode };
  return undefined;
}

/** The inner node when `value` is a wrapper of the given type. */
export function as(value: unknown, type: string): AstNode | undefined {
  if (!isNode(value)) return undefined;
  const inner = value[type];
  return isNode(inner) ? inner : undefined;
}

export function isNode(value: unknown): value is AstNode {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

export function text(node: AstNode | undefined, field: string): string | undefined {
  const value = node?.[field];
  return typeof value === 'string' ? value : undefined;
}

export function bool(node: AstNode | undefined, field: string): boolean {
  return node?.[field] === true;
}

/** A byte offset from a `location` field, when the parser recorded one (it writes -1 or nothing otherwise). */
export function location(node: AstNode | undefined): number | undefined {
  const value = node?.['location'];
  return typeof value === 'number' && value >= 0 ? value : undefined;
}

/** The strings of a list of `String` nodes (qualified names, column lists). */
export function strings(value: unknown): string[] {
  const out: string[] = [];
  for (const item of list(value)) {
    const s = as(item, 'String');
    const v = text(s, 'sval');
    if (v !== undefined) out.push(v);
  }
  return out;
}

/** `schema.table` or `table` of a RangeVar. */
export function relationName(rangeVar: unknown): string {
  const node = isNode(rangeVar) ? rangeVar : undefined;
  const schema = text(node, 'schemaname');
  const name = text(node, 'relname') ?? '?';
  return schema ? `${schema}.${name}` : name;
}

/** The type's name without `pg_catalog.` and its modifiers as numbers (`varchar(20)` → varchar, [20]). */
export function typeOf(typeName: unknown): { name: string; mods: (number | undefined)[]; array: boolean } {
  const node = isNode(typeName) ? typeName : undefined;
  const names = strings(node?.['names']);
  const name = (names[names.length - 1] ?? '?').toLowerCase();
  const mods = list(node?.['typmods']).map((mod) => {
    const constant = as(mod, 'A_Const');
    const ival = constant?.['ival'];
    if (isNode(ival)) return typeof ival['ival'] === 'number' ? ival['ival'] : 0;
    return undefined;
  });
  return { name, mods, array: list(node?.['arrayBounds']).length > 0 };
}

/** Calls `visit` on every node below `value` (depth first), with its type. */
export function walk(value: unknown, visit: (type: string, node: AstNode) => void): void {
  if (Array.isArray(value)) {
    for (const item of value) walk(item, visit);
    return;
  }
  if (!isNode(value)) return;
  for (const key in value) {
    const child = value[key];
    if (isNode(child) && /^[A-Z]/.test(key)) {
      visit(key, child);
      walk(child, visit);
    } else if (typeof child === 'object' && child !== null) walk(child, visit);
  }
}
