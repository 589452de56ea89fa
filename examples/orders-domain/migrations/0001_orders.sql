-- The orders service's first schema (release v1). Applied by the service at startup
-- (src/migrate.ts), checked by `baton migrations check examples/orders-domain/migrations`.
SET lock_timeout = '5s';
SET statement_timeout = '30s';

CREATE TABLE orders (
  -- Shown to clients as ord_ + the number in base 36; the identity makes ids unique across instances.
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  -- Who placed and pays for the order, and who receives it (API 2026-11-16; older clients see buyer as "customer").
  buyer text NOT NULL,
  recipient text NOT NULL,
  -- [{ "sku": "TEA-1", "quantity": 2 }, ...]: always read and written whole with the order.
  items jsonb NOT NULL,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'cancelled')),
  -- Milliseconds, as the API shows them, so a stored time reads back exactly as it was first returned.
  created_at timestamptz(3) NOT NULL DEFAULT now(),
  cancelled_at timestamptz(3)
);
