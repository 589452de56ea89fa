// The PostgreSQL store against a real PostgreSQL (a server of this file's own, or DATABASE_URL):
// the same contract as the in-memory store, then what only a shared database does.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readQueriesFile, recordQueries, type QueryRecorder } from '@baton/migrations';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, type EmbeddedPostgres } from './embedded-postgres.js';
import { applyMigrations } from './migrate.js';
import type { OrderEvent, OrderStore } from './order-store.js';
import { describeOrderStore } from './order-store-contract.js';
import { createPostgresOrderStore, ORDERS_MIGRATIONS_DIR } from './postgres-order-store.js';

/** The statements release v1 sends, committed: replayed against the next migrations by migrations.test.ts. */
const COMMITTED_QUERIES = fileURLToPath(new URL('../queries/v1.sql', import.meta.url));

let server: EmbeddedPostgres | undefined;
let databases = 0;
const recorded = new Set<string>();
const recorders: QueryRecorder[] = [];

/** A fresh database per test: on this file's own server, or on DATABASE_URL's (which must allow CREATE DATABASE). */
async function freshDatabase(): Promise<string> {
  databases += 1;
  const name = `orders_test_${process.pid}_${databases}`;
  const given = process.env.DATABASE_URL;
  if (!given) return (server as EmbeddedPostgres).createDatabase(name);
  const admin = new pg.Client({ connectionString: given });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  } finally {
    await admin.end();
  }
  const url = new URL(given);
  url.pathname = `/${name}`;
  return url.toString();
}

beforeAll(async () => {
  if (!process.env.DATABASE_URL) server = await startEmbeddedPostgres();
}, 60_000);
afterAll(async () => {
  await server?.stop();
});

function postgresStore(connectionString: string, options: { channel?: string } = {}): OrderStore {
  return createPostgresOrderStore({
    connectionString,
    ...options,
    // Every statement the store sends, collected across the file's tests.
    onPool: (pool) => recorders.push(recordQueries(pool, '/dev/null')),
  });
}

describeOrderStore('postgres', async () => {
  const store = postgresStore(await freshDatabase());
  await store.open();
  return { store };
});

describe('the PostgreSQL order store, shared by instances', () => {
  const stores: OrderStore[] = [];
  const open = async (url: string): Promise<OrderStore> => {
    const store = postgresStore(url);
    stores.push(store);
    await store.open();
    return store;
  };
  afterEach(async () => {
    for (const store of stores.splice(0)) await store.close();
    for (const recorder of recorders) for (const query of recorder.queries()) recorded.add(query);
  });

  it('migrates once when two instances start together, and each sees the other’s orders and events', async () => {
    const url = await freshDatabase();
    const [a, b] = await Promise.all([open(url), open(url)]) as [OrderStore, OrderStore];
    const migrated = new pg.Client({ connectionString: url });
    await migrated.connect();
    try {
      expect((await migrated.query('SELECT file FROM schema_migrations')).rows).toEqual([{ file: '0001_orders.sql' }]);
    } finally {
      await migrated.end();
    }
    const heardByB: OrderEvent[] = [];
    b.subscribe((event) => heardByB.push(event));
    const order = await a.create({ buyer: 'c-1', recipient: 'c-2', items: [{ sku: 'TEA-1', quantity: 2 }] });
    expect(await b.get(order.id)).toEqual(order);
    const cancelled = await b.cancel(order.id);
    await expect(a.cancel(order.id)).rejects.toMatchObject({ statusCode: 409 });
    const deadline = Date.now() + 10_000;
    while (heardByB.length < 2 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(heardByB).toEqual([
      { type: 'order.created', order },
      { type: 'order.cancelled', order: cancelled },
    ]);
    // Ids come from one sequence: unique across instances.
    const ids = await Promise.all([a, b, a, b].map((store) => store.create({ buyer: 'x', recipient: 'x', items: [{ sku: 'X', quantity: 1 }] }).then((o) => o.id)));
    expect(new Set(ids).size).toBe(4);
  });

  it('refuses to start on a database whose applied migration was edited since, and fails startup without a database', async () => {
    const url = await freshDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'orders-migrations-'));
    try {
      writeFileSync(join(dir, '0001_orders.sql'), readFileSync(join(ORDERS_MIGRATIONS_DIR, '0001_orders.sql')));
      expect(await applyMigrations({ connectionString: url, dir })).toEqual({ applied: ['0001_orders.sql'], skipped: [] });
      expect(await applyMigrations({ connectionString: url, dir })).toEqual({ applied: [], skipped: ['0001_orders.sql'] });
      writeFileSync(join(dir, '0001_orders.sql'), `${readFileSync(join(ORDERS_MIGRATIONS_DIR, '0001_orders.sql'), 'utf8')}\n-- edited\n`);
      await expect(applyMigrations({ connectionString: url, dir })).rejects.toThrow(/0001_orders.sql changed after it was applied/);
      writeFileSync(join(dir, '0002_broken.sql'), 'ALTER TABLE nowhere ADD COLUMN x text;');
      rmSync(join(dir, '0001_orders.sql'));
      // A file that fails leaves nothing behind (its transaction is rolled back) and names itself.
      await expect(applyMigrations({ connectionString: url, dir })).rejects.toThrow(/0002_broken.sql failed: relation "nowhere" does not exist/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const nowhere = createPostgresOrderStore({ connectionString: 'postgres://postgres@127.0.0.1:1/orders' });
    await expect(nowhere.open()).rejects.toThrow();
    expect(nowhere.isOpen()).toBe(false);
    await nowhere.close();
  });

  it('stays closed when closed while it opens (a shutdown during startup)', async () => {
    const url = await freshDatabase();
    const store = postgresStore(url);
    const opening = store.open();
    await store.close();
    await expect(opening).rejects.toThrow(/closed while it opened/);
    expect(store.isOpen()).toBe(false);
    await expect(store.list({ limit: 1, offset: 0 })).rejects.toThrow(/closed/);
  });

  it('validates its options in one place', () => {
    expect(() => createPostgresOrderStore({ connectionString: 'mysql://x' })).toThrow(/connectionString must be a postgres:\/\/ URL/);
    expect(() => createPostgresOrderStore({ connectionString: 'postgres://x/y', poolSize: 0, channel: 'Orders Events' })).toThrow(/poolSize must be a whole number from 1 to 100; got 0; channel must be a lower-case SQL identifier/);
  });
});

describe('release v1’s queries file (queries/v1.sql)', () => {
  it('holds every statement the store sent in these tests (UPDATE_QUERIES=1 rewrites it)', async () => {
    for (const recorder of recorders) for (const query of recorder.queries()) recorded.add(query);
    expect(recorded.size).toBeGreaterThanOrEqual(5);
    if (process.env.UPDATE_QUERIES === '1') {
      writeFileSync(COMMITTED_QUERIES, `-- The statements release v1 of the orders service sends (src/postgres-order-store.ts), recorded with\n-- recordQueries() by src/postgres-order-store.test.ts: UPDATE_QUERIES=1 npx vitest run --project example-orders-domain\n${[...recorded].sort().map((query) => `${query};\n`).join('')}`);
    }
    const committed = new Set((await readQueriesFile(COMMITTED_QUERIES)).map((query) => query.sql.trim().replace(/;\s*$/, '')));
    expect([...recorded].filter((query) => !committed.has(query)), 'queries/v1.sql is stale: run UPDATE_QUERIES=1 npx vitest run --project example-orders-domain and commit it').toEqual([]);
  });
});
