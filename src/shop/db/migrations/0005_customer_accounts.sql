-- Customer accounts (issue 13): an order placed while signed in belongs to the Cognito user, by its
-- `sub` (the pool's stable, never reassigned user id; the e-mail can change). Guest orders keep NULL.
ALTER TABLE orders
    ADD COLUMN IF NOT EXISTS customer_sub text CHECK (customer_sub IS NULL OR length(customer_sub) BETWEEN 1 AND 128);

-- GET /api/me/orders: one customer's orders, newest first, keyset-paginated on (created_at, id).
CREATE INDEX IF NOT EXISTS orders_customer_created_idx ON orders (customer_sub, created_at DESC, id DESC)
    WHERE customer_sub IS NOT NULL;
