import { strings, walk } from './ast.js';

// Functions that are IMMUTABLE or STABLE in PostgreSQL's catalog (pg_proc.provolatile
// 'i' or 's'): a default calling only these is evaluated once when the column is added
// (PostgreSQL 11+ stores it as the "missing value"), so no rewrite. Any other function
// — random(), gen_random_uuid(), clock_timestamp(), nextval(), or one of the user's
// own, which are VOLATILE unless declared otherwise — forces a rewrite.
const NOT_VOLATILE = new Set([
  'now', 'transaction_timestamp', 'statement_timestamp', 'current_date', 'localtimestamp', 'current_setting',
  'lower', 'upper', 'trim', 'btrim', 'ltrim', 'rtrim', 'length', 'char_length', 'concat', 'concat_ws', 'substring', 'substr', 'replace', 'left', 'right', 'lpad', 'rpad', 'md5', 'to_char', 'to_date', 'to_timestamp', 'to_number',
  'abs', 'round', 'floor', 'ceil', 'ceiling', 'trunc', 'greatest', 'least', 'coalesce', 'nullif', 'power', 'sqrt', 'mod',
  'date_trunc', 'date_part', 'extract', 'make_date', 'make_time', 'make_timestamp', 'make_timestamptz', 'make_interval', 'timezone', 'age',
  'jsonb_build_object', 'jsonb_build_array', 'json_build_object', 'json_build_array', 'to_jsonb', 'to_json', 'jsonb_object', 'json_object', 'array_length', 'cardinality', 'array_append',
]);

/** The first volatile (or unknown, hence assumed volatile) function a default expression calls, if any. */
export function volatileCall(expression: unknown): string | undefined {
  let found: string | undefined;
  walk({ root: expression }, (type, node) => {
    if (found !== undefined || type !== 'FuncCall') return;
    const name = strings(node['funcname']);
    const last = (name[name.length - 1] ?? '').toLowerCase();
    if (!NOT_VOLATILE.has(last)) found = name.join('.');
  });
  return found;
}
