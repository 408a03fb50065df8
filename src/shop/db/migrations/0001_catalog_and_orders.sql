-- Catalog, orders and order lines.
-- Money is integer cents; stock can never be negative (the CHECK backs up the checkout guard).

CREATE TABLE products (
    id          uuid        PRIMARY KEY DEFAULT gen_random_uuid(),
    sku         text        NOT NULL UNIQUE CHECK (length(sku) BETWEEN 1 AND 64),
    name        text        NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    description text        NOT NULL DEFAULT '',
    category    text        NOT NULL CHECK (length(category) BETWEEN 1 AND 64),
    price_cents integer     NOT NULL CHECK (price_cents >= 0),
    currency    char(3)     NOT NULL DEFAULT 'USD',
    stock       integer     NOT NULL CHECK (stock >= 0),
    image_url   text,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Keyset pagination: ORDER BY name, id (optionally within one category).
CREATE INDEX products_name_id_idx ON products (name, id);
CREATE INDEX products_category_name_id_idx ON products (category, name, id);

CREATE TABLE orders (
    id          uuid        PRIMARY KEY,
    token_hash  text        NOT NULL,
    status      text        NOT NULL DEFAULT 'placed' CHECK (status IN ('placed', 'cancelled')),
    email       text        NOT NULL,
    cart_id     text        NOT NULL,
    total_cents bigint      NOT NULL CHECK (total_cents >= 0),
    currency    char(3)     NOT NULL DEFAULT 'USD',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_lines (
    order_id         uuid    NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    line_no          integer NOT NULL CHECK (line_no >= 1),
    product_id       uuid    NOT NULL REFERENCES products (id),
    name             text    NOT NULL,
    quantity         integer NOT NULL CHECK (quantity >= 1),
    unit_price_cents integer NOT NULL CHECK (unit_price_cents >= 0),
    line_total_cents bigint  NOT NULL CHECK (line_total_cents = quantity::bigint * unit_price_cents),
    PRIMARY KEY (order_id, line_no)
);

CREATE INDEX order_lines_product_idx ON order_lines (product_id);
