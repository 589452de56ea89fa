import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { OrdersError } from './errors.js';
import { applyMigrations } from './migrate.js';
import { formatOrderId, parseOrderId, type Order, type OrderItem } from './order.js';
import { publishTo, type OrderEvent, type OrderStore } from './order-store.js';

/** The service's migrations: `examples/orders-domain/migrations` (the same path from `src/` and `dist/`). */
export const ORDERS_MIGRATIONS_DIR = fileURLToPath(new URL('../migrations', import.meta.url));

/** Options of {@link createPostgresOrderStore}. */
export interface PostgresOrderStoreOptions {
  /** `postgres://user:password@host:port/database`. */
  connectionString: string;
  /** Applied by `open()`; `false` when something else migrates the database. Default {@link ORDERS_MIGRATIONS_DIR}. */
  migrationsDir?: string | false;
  /** Connections per instance. Default 5: three instances of two releases during a deploy stay well under PostgreSQL's 100. */
  poolSize?: number;
  /** The LISTEN/NOTIFY channel order events travel on. Default `orders_events`. */
  channel?: string;
  /** Told about trouble that fails no request (the event listener lost its connection and reconnects). Default: ignored. */
  onError?: (error: Error) => void;
  /**
   * Called with the pool before the store's first query, e.g. to record the
   * statements it sends (`recordQueries` of `@baton/migrations`).
   */
  onPool?: (pool: pg.Pool) => void;
}

interface ResolvedOptions {
  connectionString: string;
  migrationsDir: string | false;
  poolSize: number;
  channel: string;
  onError: (error: Error) => void;
  onPool: (pool: pg.Pool) => void;
}

// The statements the store sends, fixed texts with $n parameters: the queries file of the release
// (queries/v1.sql) is these, so a migration can be checked against exactly what the release runs.
const COLUMNS = 'id, buyer, recipient, items, status, created_at, cancelled_at';
const INSERT = `WITH created AS (INSERT INTO orders (buyer, recipient, items) VALUES ($1, $2, $3) RETURNING ${COLUMNS}) SELECT created.*, pg_notify($4, json_build_object('type', 'order.created', 'order', row_to_json(created))::text) FROM created`;
const PAGE = `SELECT ${COLUMNS}, count(*) OVER () AS total FROM orders ORDER BY id DESC LIMIT $1 OFFSET $2`;
const COUNT = 'SELECT count(*) AS total FROM orders';
const GET = `SELECT ${COLUMNS} FROM orders WHERE id = $1`;
const CANCEL = `WITH cancelled AS (UPDATE orders SET status = 'cancelled', cancelled_at = now() WHERE id = $1 AND status = 'open' RETURNING ${COLUMNS}) SELECT cancelled.*, pg_notify($2, json_build_object('type', 'order.cancelled', 'order', row_to_json(cancelled))::text) FROM cancelled`;

interface OrderRow {
  id: string | number;
  buyer: string;
  recipient: string;
  items: OrderItem[];
  status: 'open' | 'cancelled';
  created_at: Date | string;
  cancelled_at: Date | string | null;
}

/**
 * An {@link OrderStore} in PostgreSQL, shared by every instance of every
 * release during a deploy.
 *
 * - `open()` applies the migrations (under an advisory lock, see
 *   `applyMigrations`) and LISTENs on the events channel.
 * - Events cross instances: each write sends `pg_notify` in the same
 *   statement, so the notification goes out exactly when the write commits,
 *   and every instance — the writer too — hears it on its listening
 *   connection and passes it to its own SSE subscribers. An event sent while
 *   an instance's listening connection is down (it reconnects after a
 *   second) is not replayed to that instance's subscribers.
 * - Ids are the `orders.id` identity in the same `ord_…` shape as the
 *   in-memory store, unique across instances.
 */
export function createPostgresOrderStore(options: PostgresOrderStoreOptions): OrderStore {
  const resolved = resolveOptions(options);
  const pool = new pg.Pool({ connectionString: resolved.connectionString, max: resolved.poolSize, connectionTimeoutMillis: 10_000 });
  // An idle client losing its connection emits on the pool; unhandled, it would crash the process.
  pool.on('error', (error) => resolved.onError(error));
  resolved.onPool(pool);
  const listeners = new Set<(event: OrderEvent) => void>();
  let state: 'new' | 'open' | 'closed' = 'new';
  let listener: pg.Client | undefined;
  let reconnect: NodeJS.Timeout | undefined;

  const listen = async (): Promise<void> => {
    const client = new pg.Client({ connectionString: resolved.connectionString, connectionTimeoutMillis: 10_000 });
    client.on('notification', (message) => {
      if (message.channel !== resolved.channel || message.payload === undefined) return;
      const event = parseEvent(message.payload);
      if (event) publishTo(listeners, event);
    });
    const lost = (error?: Error): void => {
      if (listener !== client) return;
      listener = undefined;
      client.removeAllListeners('end');
      void client.end().catch(() => undefined);
      if (state !== 'open') return;
      resolved.onError(new Error(`order events: the listening connection was lost${error ? ` (${error.message})` : ''}; reconnecting in 1 s`));
      reconnect = setTimeout(() => void listen().catch((e: Error) => lost(e)), 1000);
      reconnect.unref();
    };
    client.on('error', lost);
    client.on('end', () => lost());
    listener = client;
    await client.connect();
    await client.query(`LISTEN ${pg.escapeIdentifier(resolved.channel)}`);
  };

  const query = async <Row extends pg.QueryResultRow = OrderRow>(text: string, values: unknown[]): Promise<Row[]> => {
    if (state === 'closed') throw new Error('order store is closed');
    return (await pool.query<Row>(text, values)).rows;
  };
  const find = async (id: string): Promise<Order> => {
    const sequence = parseOrderId(id);
    const row = sequence === undefined ? undefined : (await query(GET, [sequence]))[0];
    if (!row) throw new OrdersError(404, 'not_found', `No order with id ${JSON.stringify(id)}.`);
    return toOrder(row);
  };

  return {
    kind: 'postgres',
    async open() {
      if (state !== 'new') throw new Error(`order store is ${state} already`);
      if (resolved.migrationsDir !== false) await applyMigrations({ connectionString: resolved.connectionString, dir: resolved.migrationsDir });
      // A shutdown during startup closes the store while it opens: it must not come back to life (nor keep a connection, and the process, alive).
      const closedMeanwhile = (): Error => new Error('order store was closed while it opened');
      if (state !== 'new') throw closedMeanwhile();
      await listen();
      if (state !== 'new') {
        const client = listener;
        listener = undefined;
        await client?.end().catch(() => undefined);
        throw closedMeanwhile();
      }
      state = 'open';
    },
    async create(input) {
      const [row] = await query(INSERT, [input.buyer, input.recipient, JSON.stringify(input.items), resolved.channel]);
      if (!row) throw new Error('INSERT … RETURNING returned no row');
      return toOrder(row);
    },
    async list({ limit, offset }) {
      const rows = await query<OrderRow & { total: string }>(PAGE, [limit, offset]);
      // The count rides on every row of the page; past the last page there is no row to carry it.
      const total = Number(rows[0]?.total ?? (await query<{ total: string }>(COUNT, []))[0]?.total ?? 0);
      const next = offset + rows.length;
      return { orders: rows.map(toOrder), total, limit, offset, nextOffset: next < total ? next : null };
    },
    get: find,
    async cancel(id) {
      const sequence = parseOrderId(id);
      const [row] = sequence === undefined ? [] : await query(CANCEL, [sequence, resolved.channel]);
      if (row) return toOrder(row);
      const order = await find(id);
      throw new OrdersError(409, 'already_cancelled', `Order ${id} was already cancelled at ${order.cancelledAt}.`);
    },
    subscribe(subscriber) {
      listeners.add(subscriber);
      return () => listeners.delete(subscriber);
    },
    isOpen: () => state === 'open',
    subscriberCount: () => listeners.size,
    async close() {
      if (state === 'closed') return;
      state = 'closed';
      clearTimeout(reconnect);
      listeners.clear();
      const client = listener;
      listener = undefined;
      await Promise.all([client?.end().catch(() => undefined), pool.end().catch(() => undefined)]);
    },
  };
}

function resolveOptions(options: PostgresOrderStoreOptions): ResolvedOptions {
  const problems: string[] = [];
  if (typeof options.connectionString !== 'string' || !/^postgres(ql)?:\/\//.test(options.connectionString)) problems.push('connectionString must be a postgres:// URL');
  const poolSize = options.poolSize ?? 5;
  if (!Number.isSafeInteger(poolSize) || poolSize < 1 || poolSize > 100) problems.push(`poolSize must be a whole number from 1 to 100; got ${String(options.poolSize)}`);
  const channel = options.channel ?? 'orders_events';
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) problems.push(`channel must be a lower-case SQL identifier; got ${JSON.stringify(channel)}`);
  const migrationsDir = options.migrationsDir ?? ORDERS_MIGRATIONS_DIR;
  if (migrationsDir !== false && (typeof migrationsDir !== 'string' || migrationsDir === '')) problems.push('migrationsDir must be a folder or false');
  if (problems.length > 0) throw new TypeError(`createPostgresOrderStore: ${problems.join('; ')}.`);
  return { connectionString: options.connectionString, migrationsDir, poolSize, channel, onError: options.onError ?? (() => undefined), onPool: options.onPool ?? (() => undefined) };
}

function toOrder(row: OrderRow): Order {
  const order: Order = {
    id: formatOrderId(Number(row.id)),
    buyer: row.buyer,
    recipient: row.recipient,
    items: row.items.map((item) => ({ sku: item.sku, quantity: item.quantity })),
    status: row.status,
    createdAt: new Date(row.created_at).toISOString(),
  };
  if (row.cancelled_at !== null) order.cancelledAt = new Date(row.cancelled_at).toISOString();
  return order;
}

/** A notification's payload, as the store's own statements build it; anything else on the channel is ignored. */
function parseEvent(payload: string): OrderEvent | undefined {
  try {
    const event = JSON.parse(payload) as { type?: unknown; order?: OrderRow };
    if ((event.type !== 'order.created' && event.type !== 'order.cancelled') || typeof event.order !== 'object' || event.order === null) return undefined;
    return { type: event.type, order: toOrder(event.order) };
  } catch {
    return undefined;
  }
}
