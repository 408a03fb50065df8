"""Sample catalog for the local platform: ``python -m shop.db.seed [--database-url URL]``.

Idempotent: products are keyed by SKU and left alone when they already exist.
"""

from __future__ import annotations

import argparse
import os
import sys

import psycopg

from shop.db.migrate import CLI_ERRORS, fail
from shop.declarations import Env

# (sku, name, category, price_cents, stock, description)
SAMPLE_PRODUCTS: tuple[tuple[str, str, str, int, int, str], ...] = (
    ("MUG-001", "Enamel camp mug", "kitchen", 1400, 40, "A 350 ml enamel mug that survives the campfire."),
    ("MUG-002", "Stoneware espresso cup", "kitchen", 900, 25, "Hand-glazed, 90 ml, dishwasher safe."),
    ("KIT-010", "Cast-iron skillet", "kitchen", 4500, 12, "A 26 cm pre-seasoned skillet for every hob."),
    ("KIT-011", "Olive-wood spoon set", "kitchen", 2200, 30, "Three spoons carved from one olive branch."),
    ("TEE-100", "Organic cotton tee", "apparel", 2500, 60, "Heavyweight organic cotton, relaxed fit."),
    ("HAT-101", "Merino beanie", "apparel", 2900, 35, "Soft merino wool, one size."),
    ("SCK-102", "Hiking socks (2 pairs)", "apparel", 1800, 80, "Cushioned wool blend for long days."),
    ("JKT-103", "Packable rain jacket", "apparel", 8900, 8, "Waterproof, breathable, packs into its pocket."),
    ("BOK-200", "Field guide to mushrooms", "books", 3200, 15, "Five hundred species, photographed in the wild."),
    ("BOK-201", "The slow bread book", "books", 2700, 20, "Sourdough from starter to crumb."),
    ("LMP-300", "Brass desk lamp", "home", 6400, 10, "Adjustable arm, warm LED bulb included."),
    ("BLK-301", "Wool throw blanket", "home", 7900, 6, "Woven in a small mill, 130 x 180 cm."),
    ("CND-302", "Beeswax candle pair", "home", 1600, 50, "Slow-burning, unscented, 20 cm tall."),
)


def seed(database_url: str) -> int:
    """Insert the sample products that are missing; return how many were inserted."""
    inserted = 0
    with psycopg.connect(database_url, autocommit=True, connect_timeout=10) as conn, conn.transaction():
        for sku, name, category, price, stock, description in SAMPLE_PRODUCTS:
            cur = conn.execute(
                """
                INSERT INTO products (sku, name, description, category, price_cents, stock)
                VALUES (%s, %s, %s, %s, %s, %s)
                ON CONFLICT (sku) DO NOTHING
                """,
                (sku, name, description, category, price, stock),
            )
            inserted += cur.rowcount
    return inserted


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop.db.seed", description="Load the sample catalog.")
    parser.add_argument("--database-url", default=os.environ.get(Env.DATABASE_URL))
    args = parser.parse_args(argv)
    if not args.database_url:
        return fail(parser.prog, ValueError(f"--database-url or {Env.DATABASE_URL} is required"))
    try:
        inserted = seed(args.database_url)
    except CLI_ERRORS as error:
        return fail(parser.prog, error)
    print(f"inserted {inserted} products")
    return 0


if __name__ == "__main__":
    sys.exit(main())
