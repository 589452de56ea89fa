import { readFile, writeFile } from 'node:fs/promises';

/** Anything with a node-postgres `query` method: a `pg.Pool`, `pg.Client` or `PoolClient`. */
export interface Queryable {
  query: (...args: never[]) => unknown;
}

/** A running capture; see {@link recordQueries}. */
export interface QueryRecorder {
  /** The distinct statement texts seen so far, in first-seen order. */
  queries(): string[];
  /** Writes them to the file, merged with what it already holds (one file can collect a whole test suite's runs). */
  save(): Promise<void>;
  /** Puts the original `query` back. */
  restore(): void;
}

/**
 * Records the SQL a service sends through node-postgres, to replay it later
 * against a migrated schema with {@link checkCompatibility}: wrap the pool in
 * the service's test setup, run the tests, `save()`. Only statement texts
 * are kept (with their `$1` placeholders), never parameter values.
 *
 * @example
 * const recorder = recordQueries(pool, 'queries/v7.sql');
 * afterAll(() => recorder.save());
 */
export function recordQueries(target: Queryable, file: string): QueryRecorder {
  const seen = new Set<string>();
  const original = target.query;
  const wrapped = function (this: unknown, ...args: unknown[]): unknown {
    const first = args[0];
    const text = typeof first === 'string' ? first : typeof first === 'object' && first !== null ? (first as { text?: unknown }).text : undefined;
    if (typeof text === 'string' && text.trim() !== '') seen.add(text.trim().replace(/;\s*$/, ''));
    return (original as (...a: unknown[]) => unknown).apply(this, args);
  };
  (target as { query: unknown }).query = wrapped;
  return {
    queries: () => [...seen],
    async save() {
      let existing = '';
      try {
        existing = await readFile(file, 'utf8');
      } catch {
        existing = '-- Queries recorded by @baton/migrations recordQueries(); one statement each, replayed by checkCompatibility().\n';
      }
      const present = new Set(existing.split(';\n').map((chunk) => chunk.replace(/^(--[^\n]*\n)+/, '').trim()));
      const added = [...seen].filter((query) => !present.has(query));
      if (added.length === 0 && existing !== '') {
        await writeFile(file, existing);
        return;
      }
      await writeFile(file, `${existing}${added.map((query) => `${query};\n`).join('')}`);
    },
    restore() {
      if ((target as { query: unknown }).query === wrapped) (target as { query: unknown }).query = original;
    },
  };
}
