-- A demo catalog, so a fresh deployment has something to sell. Idempotent: a product that exists is left alone.
INSERT INTO products (id, name, price_cents) VALUES
  ('p-espresso',  'Espresso beans, 1 kg',       2400),
  ('p-filter',    'Filter coffee, 500 g',       1100),
  ('p-grinder',   'Hand grinder',               6900),
  ('p-kettle',    'Gooseneck kettle',           4500),
  ('p-scale',     'Brewing scale',              3200),
  ('p-dripper',   'Ceramic dripper',            2200),
  ('p-papers',    'Filter papers (100)',         600),
  ('p-mug',       'Stoneware mug',              1500)
ON CONFLICT (id) DO NOTHING;
