import type { LineComment } from './sql-comments.js';

/** A `-- baton:...` comment, read from a migration file. `index` is where the comment starts. */
export type Directive =
  | { kind: 'ignore'; index: number; rules: string[]; reason: string | undefined }
  | { kind: 'no-transaction'; index: number }
  | { kind: 'contract'; index: number; unusedSince: string }
  | { kind: 'invalid'; index: number; message: string };

const PREFIX = /^\s*baton:([a-z-]+)\b\s*(.*)$/;
const IGNORE = /^([a-z0-9-]+(?:\s*,\s*[a-z0-9-]+)*)\s*(?:reason:\s*(.*))?$/i;
const CONTRACT = /^unused-since=(\S+)\s*$/;

/** The directives among a file's comments; a comment that starts `baton:` but does not parse is an `invalid` directive, never silently skipped. */
export function readDirectives(comments: readonly LineComment[]): Directive[] {
  const directives: Directive[] = [];
  for (const comment of comments) {
    const match = PREFIX.exec(comment.text);
    if (!match) continue;
    const [, name = '', rest = ''] = match;
    const body = rest.trim();
    const index = comment.index;
    if (name === 'ignore') {
      const ignore = IGNORE.exec(body);
      if (!ignore) {
        directives.push({ kind: 'invalid', index, message: `"baton:ignore" needs rule ids and a reason: "-- baton:ignore <rule-id>[, <rule-id>] reason: <why this is safe>", got "${body}".` });
        continue;
      }
      const rules = (ignore[1] ?? '').split(',').map((id) => id.trim());
      const reason = ignore[2]?.trim();
      directives.push({ kind: 'ignore', index, rules, reason: reason ? reason : undefined });
    } else if (name === 'no-transaction') {
      if (body) directives.push({ kind: 'invalid', index, message: `"baton:no-transaction" takes nothing after it, got "${body}".` });
      else directives.push({ kind: 'no-transaction', index });
    } else if (name === 'contract') {
      const contract = CONTRACT.exec(body);
      if (contract?.[1]) directives.push({ kind: 'contract', index, unusedSince: contract[1] });
      else directives.push({ kind: 'invalid', index, message: `"baton:contract" needs the release that stopped using what this file removes: "-- baton:contract unused-since=<release>", got "${body}".` });
    } else {
      directives.push({ kind: 'invalid', index, message: `Unknown directive "baton:${name}"; known: baton:ignore, baton:contract, baton:no-transaction.` });
    }
  }
  return directives;
}
