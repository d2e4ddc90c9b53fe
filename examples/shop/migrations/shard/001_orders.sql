-- Orders: per-user data, on the user's shard (every shard has these tables; an unsharded app has one shard).
-- Keys are UUIDs made by the application, never sequences: they are unique across shards, and Aurora's global
-- write forwarding (writes from a secondary region) does not forward nextval().
-- No foreign key to products: the catalog may live on another cluster. The price is copied into the order, as an
-- order must keep the price it was placed at anyway.
CREATE TABLE IF NOT EXISTS orders (
  id           uuid        PRIMARY KEY,
  user_id      text        NOT NULL,
  product_id   text        NOT NULL,
  quantity     integer     NOT NULL CHECK (quantity BETWEEN 1 AND 100),
  total_cents  integer     NOT NULL CHECK (total_cents >= 0),
  status       text        NOT NULL DEFAULT 'placed' CHECK (status IN ('placed', 'confirmed')),
  created_at   timestamptz NOT NULL DEFAULT now(),
  confirmed_at timestamptz
);
CREATE INDEX IF NOT EXISTS orders_user_created ON orders (user_id, created_at DESC);
-- The relay's scan for orders whose job was never sent (see src/relay.ts): only 'placed' rows are indexed.
CREATE INDEX IF NOT EXISTS orders_placed ON orders (created_at) WHERE status = 'placed';

-- What the worker did, one row per effect: the confirmation is written in the same transaction as the status
-- change, and only when the status changed, so a redelivered job cannot confirm an order twice.
CREATE TABLE IF NOT EXISTS order_events (
  order_id uuid        NOT NULL REFERENCES orders (id),
  event    text        NOT NULL,
  at       timestamptz NOT NULL DEFAULT now(),
  worker   text
);
CREATE INDEX IF NOT EXISTS order_events_order ON order_events (order_id);
