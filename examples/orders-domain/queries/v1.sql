-- The statements release v1 of the orders service sends (src/postgres-order-store.ts), recorded with
-- recordQueries() by src/postgres-order-store.test.ts: UPDATE_QUERIES=1 npx vitest run --project example-orders-domain
SELECT count(*) AS total FROM orders;
SELECT id, buyer, recipient, items, status, created_at, cancelled_at FROM orders WHERE id = $1;
SELECT id, buyer, recipient, items, status, created_at, cancelled_at, count(*) OVER () AS total FROM orders ORDER BY id DESC LIMIT $1 OFFSET $2;
WITH cancelled AS (UPDATE orders SET status = 'cancelled', cancelled_at = now() WHERE id = $1 AND status = 'open' RETURNING id, buyer, recipient, items, status, created_at, cancelled_at) SELECT cancelled.*, pg_notify($2, json_build_object('type', 'order.cancelled', 'order', row_to_json(cancelled))::text) FROM cancelled;
WITH created AS (INSERT INTO orders (buyer, recipient, items) VALUES ($1, $2, $3) RETURNING id, buyer, recipient, items, status, created_at, cancelled_at) SELECT created.*, pg_notify($4, json_build_object('type', 'order.created', 'order', row_to_json(created))::text) FROM created;
