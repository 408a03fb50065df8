-- Catalog that scales (issue 14): full-text search over name and description, and an index for
-- every sort GET /api/products offers (shop.domain.catalog.SORTS), with and without a category.
--
-- search_document is a stored generated column, so every writer (checkout's stock updates, the
-- back office) keeps it current without knowing it exists. It holds the English lexemes (stemmed:
-- "mugs" finds "mug") and the 'simple' ones (unstemmed: the prefix "runn:*" of an as-you-type
-- query finds "running"); the name weighs more than the description. Adding the column rewrites
-- the table once, under this migration's lock; existing rows are filled by the rewrite.
-- No grants: shop_app's table privileges (0003) cover new columns; generated columns are never
-- written by INSERT or UPDATE, so no writer's column list changes.

ALTER TABLE products
    ADD COLUMN IF NOT EXISTS search_document tsvector GENERATED ALWAYS AS (
        setweight(to_tsvector('english'::regconfig, name), 'A')
        || setweight(to_tsvector('english'::regconfig, description), 'B')
        || to_tsvector('simple'::regconfig, name || ' ' || description)
    ) STORED;

CREATE INDEX IF NOT EXISTS products_search_idx ON products USING gin (search_document);
-- The planner estimates a word it has no statistics for at half the rarest tracked word's frequency.
-- With the default target a catalog's rare words (a model number, a brand) look common enough that
-- it walks the sort's index filtering every row instead of reading the GIN index; a larger sample
-- of lexemes keeps those estimates low (bench/bench_catalog_search.py shows the plans).
ALTER TABLE products ALTER COLUMN search_document SET STATISTICS 1000;

-- Keyset pagination per sort: name (0001 has (name, id) and (category, name, id)), price
-- ascending and descending (one index, scanned either way), newest first.
CREATE INDEX IF NOT EXISTS products_price_id_idx ON products (price_cents, id);
CREATE INDEX IF NOT EXISTS products_category_price_id_idx ON products (category, price_cents, id);
CREATE INDEX IF NOT EXISTS products_created_id_idx ON products (created_at DESC, id DESC);
CREATE INDEX IF NOT EXISTS products_category_created_id_idx ON products (category, created_at DESC, id DESC);

ANALYZE products;
