-- Exactly one order per cart (issue 17): the database that holds the order decides.
--
-- * orders.cart_id becomes unique for every order that is not a known duplicate. Databases that
--   already hold several orders for one cart (placed by the old retry/concurrency bugs) keep them:
--   the earliest order of each cart (by created_at, then id) stays the cart's order, every later one
--   is marked duplicate_of = that order's id, so a back-office query finds them and the migration
--   never fails on existing data. New orders are never duplicates (checkout inserts with
--   duplicate_of NULL and ON CONFLICT on the partial unique index).
-- * orders.idempotency_key records the Idempotency-Key the order was placed with (NULL without one).
--   A key is scoped to its cart, and a cart has at most one order, so (key, cart) is unique too.
-- * orders.token_hash becomes optional: new orders store nothing about their token (it is an HMAC
--   of the order id under the stack's secret); orders placed before this migration keep the SHA-256
--   of their random token and are still readable with it.

ALTER TABLE orders ADD COLUMN duplicate_of uuid REFERENCES orders (id);
ALTER TABLE orders ADD COLUMN idempotency_key text CHECK (length(idempotency_key) BETWEEN 1 AND 128);
ALTER TABLE orders ALTER COLUMN token_hash DROP NOT NULL;

UPDATE orders AS o
SET duplicate_of = first.id
FROM (
    SELECT DISTINCT ON (cart_id) cart_id, id
    FROM orders
    ORDER BY cart_id, created_at, id
) AS first
WHERE o.cart_id = first.cart_id AND o.id <> first.id;

CREATE UNIQUE INDEX orders_one_per_cart_idx ON orders (cart_id) WHERE duplicate_of IS NULL;
