-- The back office (issue 14): products can be archived (hidden from the storefront, not for sale,
-- never deleted once ordered: order_lines keep pointing at them) and keep the S3 key of an uploaded
-- image; the order list filters by status and creation time and searches by e-mail.
-- Runs on a database holding data: the new columns are nullable without defaults (no table
-- rewrite), the CHECK holds for every existing row (all NULL), and the indexes are plain CREATE
-- INDEX (a short write lock on orders while they build; the tables are small next to a migration
-- window). Grants: shop_app has table-level DML on products and orders (0003), which covers new
-- columns; new indexes need no grant.

ALTER TABLE products ADD COLUMN IF NOT EXISTS archived_at timestamptz;
ALTER TABLE products ADD COLUMN IF NOT EXISTS image_key text;

DO $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_constraint WHERE conname = 'products_image_key_shape') THEN
        ALTER TABLE products ADD CONSTRAINT products_image_key_shape CHECK (
            image_key IS NULL
            OR image_key ~ '^media/products/[0-9a-f-]{36}/[0-9a-f]{32}\.(jpg|png|webp)$'
        );
    END IF;
END
$$;

-- Newest first, optionally by status (keyset pagination on (created_at, id)).
CREATE INDEX IF NOT EXISTS orders_created_idx ON orders (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS orders_status_created_idx ON orders (status, created_at DESC, id DESC);
-- Search by e-mail: case-insensitive, exact or prefix.
CREATE INDEX IF NOT EXISTS orders_email_idx ON orders (lower(email) text_pattern_ops, created_at DESC);
