// Real Unleash over real PostgreSQL for tests: `@baton/testing/unleash`.
import { afterAll, beforeAll } from 'vitest';
import { startPostgres, type TestDatabase } from './unleash/postgres.js';
import { startUnleash, type UnleashServer } from './unleash/unleash.js';

export { startPostgres, type TestDatabase } from './unleash/postgres.js';
export { startUnleash, type UnleashServer, type ToggleSpec } from './unleash/unleash.js';

/** A PostgreSQL and an Unleash server over it, stopped together (server first). */
export interface UnleashStack {
  database: TestDatabase;
  unleash: UnleashServer;
  stop(): Promise<void>;
}

/** Starts a PostgreSQL, then an Unleash server over it; if Unleash fails to start, the database is stopped too. */
export async function startUnleashStack(): Promise<UnleashStack> {
  const database = await startPostgres();
  try {
    const unleash = await startUnleash(database);
    return {
      database,
      unleash,
      async stop() {
        await unleash.stop();
        await database.stop();
      },
    };
  } catch (error) {
    await database.stop();
    throw error;
  }
}

/**
 * Starts a stack before the tests of the current `describe` and stops it
 * after them; returns a getter for its Unleash server (valid inside tests).
 *
 * @example
 * const unleash = useUnleashStack();
 * it('…', async () => { await unleash().createToggle('a'); });
 */
export function useUnleashStack(): () => UnleashServer {
  let stack: UnleashStack | undefined;
  beforeAll(async () => {
    stack = await startUnleashStack();
  });
  afterAll(() => stack?.stop());
  return () => {
    if (!stack) throw new Error('useUnleashStack: the stack is not started (use the getter inside a test).');
    return stack.unleash;
  };
}
