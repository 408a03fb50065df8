-- Order events, stock and product events (issue 14): a transactional outbox.
-- Every order transition, every stock change that crosses a product's low-stock threshold and every
-- product change inserts a row here in the same transaction as the change; the relay
-- (shop.events.relay) publishes pending rows to the EventBridge bus and marks them published.
-- Runs on a database that holds data: new tables, a column with a default, nothing rewritten.

CREATE TABLE IF NOT EXISTS outbox (
    seq          bigserial   PRIMARY KEY,               -- publication order
    id           uuid        NOT NULL UNIQUE,           -- the event id (detail.event_id); consumers dedupe on it
    detail_type  text        NOT NULL CHECK (detail_type IN (
                     'OrderPlaced', 'OrderPaid', 'OrderFulfilled', 'OrderCancelled', 'OrderRefunded',
                     'StockLow', 'ProductChanged')),
    subject_id   uuid        NOT NULL,                  -- the order or product the event is about
    detail       jsonb       NOT NULL CHECK (detail ->> 'event_id' = id::text),
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz,
    attempts     integer     NOT NULL DEFAULT 0,
    last_error   text
);

-- The relay's scan: pending rows in publication order, small because published rows leave it.
CREATE INDEX IF NOT EXISTS outbox_pending_idx ON outbox (seq) WHERE published_at IS NULL;
-- The retention sweep: published rows by age.
CREATE INDEX IF NOT EXISTS outbox_published_idx ON outbox (published_at) WHERE published_at IS NOT NULL;

-- Below this many units a product is "low": a change that takes the stock from at or above the
-- threshold to below it emits StockLow. Existing products get the default.
ALTER TABLE products
    ADD COLUMN IF NOT EXISTS low_stock_threshold integer NOT NULL DEFAULT 5 CHECK (low_stock_threshold >= 0);

-- The notifier's idempotency record: one row per event id that produced an e-mail. The row is
-- inserted in the transaction that sends the e-mail and commits after SES accepted it, so a
-- redelivered message (SQS is at least once) finds it and sends nothing; a concurrent duplicate
-- waits on the primary key until the first delivery commits or rolls back.
CREATE TABLE IF NOT EXISTS sent_emails (
    event_id    uuid        PRIMARY KEY,
    order_id    uuid        NOT NULL,
    template    text        NOT NULL CHECK (length(template) BETWEEN 1 AND 64),
    message_id  text,
    sent_at     timestamptz NOT NULL DEFAULT now()
);

-- The application role (0003): DML on the new tables and their sequence. Default privileges cover
-- tables this user creates; the explicit grants also hold if another user ran this migration.
GRANT SELECT, INSERT, UPDATE, DELETE ON outbox, sent_emails TO shop_app;
GRANT USAGE, SELECT ON SEQUENCE outbox_seq_seq TO shop_app;

-- Events are written by the database itself, in the transaction of the change, whoever makes it:
-- every order_history row is a transition (the creation in pending_payment included), and every
-- stock update that takes a product from at or above its threshold to below it is StockLow. The
-- application writes ProductChanged itself (shop.events.outbox.product_changed), because a stock
-- change by a sale is not a change of the product. The status → detail type pairs are
-- shop.events.ORDER_EVENTS (tests/app/test_events.py keeps them equal). The detail's shapes are the
-- JSON Schemas in shop/events/schemas/ (tests validate every emitted row against them).
CREATE OR REPLACE FUNCTION outbox_time(ts timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
    SELECT to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
$$;

CREATE OR REPLACE FUNCTION outbox_order_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    event_id uuid := gen_random_uuid();
    kind text := CASE NEW.to_status
        WHEN 'pending_payment' THEN 'OrderPlaced'
        WHEN 'paid' THEN 'OrderPaid'
        WHEN 'fulfilled' THEN 'OrderFulfilled'
        WHEN 'cancelled' THEN 'OrderCancelled'
        WHEN 'refunded' THEN 'OrderRefunded'
        WHEN 'partially_refunded' THEN 'OrderRefunded'
    END;
BEGIN
    IF kind IS NULL THEN
        RAISE EXCEPTION 'no event is declared for order status %', NEW.to_status USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO outbox (id, detail_type, subject_id, detail)
    SELECT event_id, kind, o.id, jsonb_strip_nulls(jsonb_build_object(
        'version', 1,
        'event_id', event_id::text,
        'occurred_at', outbox_time(NEW.at),
        'order_id', o.id::text,
        'status', NEW.to_status,
        'previous_status', NEW.from_status,
        'cause', NEW.cause,
        'total_cents', o.total_cents,
        'refunded_cents', o.refunded_cents,
        'currency', o.currency,
        'carrier', o.carrier,
        'tracking_reference', o.tracking_reference))
    FROM orders AS o WHERE o.id = NEW.order_id;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS outbox_order_event ON order_history;
CREATE TRIGGER outbox_order_event
    AFTER INSERT ON order_history
    FOR EACH ROW EXECUTE FUNCTION outbox_order_event();

CREATE OR REPLACE FUNCTION outbox_stock_low() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    event_id uuid := gen_random_uuid();
BEGIN
    INSERT INTO outbox (id, detail_type, subject_id, detail)
    VALUES (event_id, 'StockLow', NEW.id, jsonb_build_object(
        'version', 1,
        'event_id', event_id::text,
        'occurred_at', outbox_time(now()),
        'product_id', NEW.id::text,
        'sku', NEW.sku,
        'stock', NEW.stock,
        'previous_stock', OLD.stock,
        'threshold', NEW.low_stock_threshold));
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS outbox_stock_low ON products;
CREATE TRIGGER outbox_stock_low
    AFTER UPDATE OF stock ON products
    FOR EACH ROW
    WHEN (OLD.stock >= NEW.low_stock_threshold AND NEW.stock < NEW.low_stock_threshold)
    EXECUTE FUNCTION outbox_stock_low();
