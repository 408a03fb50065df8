"""Migration 0007 (catalog search) on a database that already holds products."""

from __future__ import annotations

import psycopg
import pytest

from shop.db import migrate, seed

SEARCH_MIGRATION = 7


def test_search_migration_fills_existing_rows_and_keeps_the_app_roles_grants(
    scratch_db: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    everything = migrate.available()
    monkeypatch.setattr(migrate, "available", lambda: [m for m in everything if m.version < SEARCH_MIGRATION])
    migrate.migrate(scratch_db)
    assert seed.seed(scratch_db) > 0
    monkeypatch.setattr(migrate, "available", lambda: everything)
    applied = migrate.migrate(scratch_db)
    assert any(label.startswith("0007_catalog_search") for label in applied)
    with psycopg.connect(scratch_db, autocommit=True) as conn:
        empty = conn.execute("SELECT count(*) FROM products WHERE search_document = ''::tsvector").fetchone()
        assert empty == (0,)
        indexes = {r[0] for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'products'")}
        assert {"products_search_idx", "products_price_id_idx", "products_created_id_idx"} <= indexes
        # New rows get their document from the generated column, whoever writes them.
        conn.execute(
            "INSERT INTO products (sku, name, category, price_cents, stock)"
            " VALUES ('NEW-1', 'Walnut tray', 'home', 1, 1)"
        )
    app_url = scratch_db.replace("postgres@", "shop_app@", 1)
    assert "shop_app@" in app_url
    with psycopg.connect(app_url, autocommit=True) as app:
        found = app.execute(
            "SELECT sku FROM products WHERE search_document @@ to_tsquery('simple', 'walnu:*')"
        ).fetchall()
        assert found == [("NEW-1",)]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("DROP INDEX products_search_idx")
