-- Order lifecycle, payments and shipping (issue 12).
--
-- * orders.status takes the lifecycle's states. Every change of status must be a pair listed in
--   order_transitions: the trigger orders_guard_transition refuses any other UPDATE of status (and
--   an INSERT in any state but pending_payment), whoever runs it. The application moves an order
--   with one guarded statement (UPDATE ... WHERE status = <expected>) that also appends its
--   order_history row (shop.domain.lifecycle).
-- * Existing 'placed' orders become 'paid': they were accepted orders whose stock was taken, and the
--   shop was going to ship them; 'pending_payment' would let the expiry job cancel them. They have no
--   PaymentIntent (payment_intent_id NULL): cancelling one releases its stock and refunds nothing.
--   Each gets one order_history row (placed -> paid, cause 'migration:0004'). 'cancelled' stays.
-- * Shipping: a flat rate per country zone (shipping_zones, shipping_countries), copied onto the
--   order at checkout with the validated address (orders.shipping_address, jsonb).
-- * Payments: orders.payment_intent_id (one intent per order, reused on retry), refunded_cents,
--   stripe_events (every webhook event id processed once), refunds (each refund we started, keyed by
--   the admin request's idempotency key).

ALTER TABLE orders DROP CONSTRAINT IF EXISTS orders_status_check;
UPDATE orders SET status = 'paid' WHERE status = 'placed';
ALTER TABLE orders ALTER COLUMN status SET DEFAULT 'pending_payment';
ALTER TABLE orders ADD CONSTRAINT orders_status_check CHECK (
    status IN ('pending_payment', 'paid', 'fulfilled', 'cancelled', 'refunded', 'partially_refunded')
);

ALTER TABLE orders
    ADD COLUMN updated_at          timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN shipping_cents      bigint      NOT NULL DEFAULT 0 CHECK (shipping_cents >= 0),
    ADD COLUMN shipping_zone       text,
    ADD COLUMN shipping_address    jsonb,
    ADD COLUMN payment_intent_id   text        UNIQUE,
    ADD COLUMN refunded_cents      bigint      NOT NULL DEFAULT 0,
    ADD COLUMN stock_released      boolean     NOT NULL DEFAULT false,
    ADD COLUMN carrier             text        CHECK (length(carrier) BETWEEN 1 AND 64),
    ADD COLUMN tracking_reference  text        CHECK (length(tracking_reference) BETWEEN 1 AND 128);
ALTER TABLE orders ADD CONSTRAINT orders_refund_bounds CHECK (refunded_cents BETWEEN 0 AND total_cents);
ALTER TABLE orders ADD CONSTRAINT orders_fulfilled_tracked CHECK (
    status <> 'fulfilled' OR (carrier IS NOT NULL AND tracking_reference IS NOT NULL)
);
-- The expiry job's scan: pending orders by age.
CREATE INDEX orders_pending_created_idx ON orders (created_at) WHERE status = 'pending_payment';

CREATE TABLE order_transitions (
    from_status text NOT NULL,
    to_status   text NOT NULL,
    PRIMARY KEY (from_status, to_status)
);
INSERT INTO order_transitions (from_status, to_status) VALUES
    ('pending_payment', 'paid'),
    ('pending_payment', 'cancelled'),
    ('paid', 'fulfilled'),
    ('paid', 'refunded'),
    ('paid', 'partially_refunded'),
    ('paid', 'cancelled');

CREATE TABLE order_history (
    id          bigserial   PRIMARY KEY,
    order_id    uuid        NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    from_status text,
    to_status   text        NOT NULL,
    cause       text        NOT NULL CHECK (length(cause) BETWEEN 1 AND 255),
    at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX order_history_order_idx ON order_history (order_id, id);

INSERT INTO order_history (order_id, from_status, to_status, cause, at)
SELECT id, 'placed', status, 'migration:0004', now() FROM orders WHERE status = 'paid';

CREATE FUNCTION orders_guard_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.status <> 'pending_payment' THEN
            RAISE EXCEPTION 'an order starts in pending_payment, not %', NEW.status
                USING ERRCODE = 'check_violation', CONSTRAINT = 'order_transitions';
        END IF;
    ELSIF NEW.status IS DISTINCT FROM OLD.status AND NOT EXISTS (
        SELECT 1 FROM order_transitions WHERE from_status = OLD.status AND to_status = NEW.status
    ) THEN
        RAISE EXCEPTION 'order % cannot go from % to %', OLD.id, OLD.status, NEW.status
            USING ERRCODE = 'check_violation', CONSTRAINT = 'order_transitions';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER orders_guard_transition
    BEFORE INSERT OR UPDATE OF status ON orders
    FOR EACH ROW EXECUTE FUNCTION orders_guard_transition();

CREATE TABLE shipping_zones (
    zone       text    PRIMARY KEY CHECK (zone ~ '^[a-z0-9-]{1,32}$'),
    name       text    NOT NULL,
    rate_cents integer NOT NULL CHECK (rate_cents >= 0)
);
CREATE TABLE shipping_countries (
    country char(2) PRIMARY KEY CHECK (country ~ '^[A-Z]{2}$'),
    zone    text    NOT NULL REFERENCES shipping_zones (zone)
);
INSERT INTO shipping_zones (zone, name, rate_cents) VALUES
    ('domestic', 'United States', 500),
    ('north-america', 'Canada and Mexico', 1500),
    ('europe', 'Europe', 2500),
    ('world', 'Rest of the world', 3500);
INSERT INTO shipping_countries (country, zone) VALUES
    ('US', 'domestic'),
    ('CA', 'north-america'), ('MX', 'north-america'),
    ('GB', 'europe'), ('IE', 'europe'), ('FR', 'europe'), ('DE', 'europe'), ('NL', 'europe'),
    ('BE', 'europe'), ('ES', 'europe'), ('IT', 'europe'), ('PT', 'europe'), ('AT', 'europe'),
    ('CH', 'europe'), ('SE', 'europe'), ('DK', 'europe'), ('NO', 'europe'), ('FI', 'europe'),
    ('PL', 'europe'),
    ('AU', 'world'), ('NZ', 'world'), ('JP', 'world'), ('SG', 'world'), ('BR', 'world');

CREATE TABLE stripe_events (
    event_id    text        PRIMARY KEY CHECK (length(event_id) BETWEEN 1 AND 255),
    type        text        NOT NULL,
    order_id    uuid,
    outcome     text        NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE refunds (
    id              bigserial   PRIMARY KEY,
    order_id        uuid        NOT NULL REFERENCES orders (id),
    request_key     text        NOT NULL CHECK (length(request_key) BETWEEN 1 AND 200),
    amount_cents    bigint      NOT NULL CHECK (amount_cents > 0),
    stripe_refund_id text       UNIQUE,
    cause           text        NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (order_id, request_key)
);

-- The application role (migration 0003) gets DML on every new table by default privileges. The
-- lifecycle's rules and its history are not the application's to rewrite: it may read the allowed
-- transitions only, and append to the history but never change or delete a row of it.
REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON order_transitions FROM shop_app;
REVOKE UPDATE, DELETE, TRUNCATE ON order_history FROM shop_app;
