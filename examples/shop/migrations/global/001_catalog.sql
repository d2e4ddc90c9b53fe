-- The catalog: global data, read by every user, written rarely (by an operator or a back office).
-- It lives on the database published under <prefix>/database (shard 0 of a sharded app) and is read from the
-- readers through the cache (cache-aside), so its load on the database stays small whatever the traffic.
CREATE TABLE IF NOT EXISTS products (
  id          text        PRIMARY KEY,
  name        text        NOT NULL,
  price_cents integer     NOT NULL CHECK (price_cents >= 0),
  updated_at  timestamptz NOT NULL DEFAULT now()
);
