-- Release v2, expand: orders get an optional note from the buyer ("leave it at the door").
-- A nullable column without a default changes only the catalog (no table rewrite, a short
-- lock), and release v1, which names its columns, neither reads nor writes it: v1 and v2
-- can run side by side on this schema. Applied before v2's first instance takes traffic.
SET lock_timeout = '2s';
SET statement_timeout = '5s';

ALTER TABLE orders ADD COLUMN note text;
