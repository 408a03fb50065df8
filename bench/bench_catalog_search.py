"""Catalog search and paging at 5,000 and 50,000 products, against embedded PostgreSQL.

Starts a throw-away embedded PostgreSQL, applies every migration, and fills ``products`` with one
generate_series INSERT (names and descriptions drawn from a fixed vocabulary with a fixed seed,
12 categories, one creation time per product). For each size it times the exact SQL the API runs
(``shop.domain.catalog.page_query``, first pages and next pages with a cursor) as the application
role, and prints median and p99 per kind of request:

* ``word``: a complete word (``kettle``), ``prefix``: as you type (``ket``), ``two words``;
* ``search + category``, ``search, by price``;
* ``browse``: a category by name, price or newest (no search), and the page after a cursor.

Each kind is warmed once before it is timed. Then ``EXPLAIN (ANALYZE, BUFFERS)`` of four searches,
printed; at the largest size the selective ones (a rare word, two words together) must read the
GIN index ``products_search_idx`` (exit status 1 if not; on 5,000 rows the planner reads the
table, about 100 pages, instead). For a common word the planner may instead walk the
sort's index and filter, stopping after one page of matches: cheaper than reading every match.
Usage: ``python bench/bench_catalog_search.py [--sizes 5000,50000] [--iterations 200]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import psycopg

_WORDS = (
    "kettle teapot skillet ladle whisk colander grater spatula tumbler carafe pitcher platter bowl mug cup "
    "saucer spoon fork knife board tray basket crate jar canister lantern lamp candle vase planter blanket "
    "throw pillow cushion rug mat towel apron mitt scarf beanie glove sock jacket vest shirt tee hoodie cap "
    "boot sandal backpack tote wallet notebook journal pencil pen atlas guide novel puzzle kite compass "
    "tent stove bottle flask hammock chair stool bench shelf hook rack clock mirror frame"
)
_ADJECTIVES = (
    "enamel stoneware cast-iron olive-wood organic merino packable brass woven linen copper walnut oak bamboo "
    "glass ceramic waxed recycled quilted hand-thrown slate marble cotton leather canvas felted"
)
_FILLER = (
    "durable light warm soft sturdy handmade small large classic modern rustic washable waterproof breathable "
    "seasoned glazed carved polished brushed folding stackable travel everyday gift heirloom"
)
WORDS, ADJECTIVES, FILLER = (tuple(text.split()) for text in (_WORDS, _ADJECTIVES, _FILLER))
CATEGORIES = [
    "kitchen", "apparel", "books", "home", "garden", "outdoor",
    "toys", "office", "bath", "travel", "pets", "tools",
]  # fmt: skip

FILL = """
INSERT INTO products (sku, name, description, category, price_cents, stock, created_at)
SELECT
    'B' || lpad(n::text, 7, '0'),
    initcap(adj[1 + floor(random() * array_length(adj, 1))::int]) || ' '
        || word[1 + floor(random() * array_length(word, 1))::int] || ' ' || n,
    (SELECT string_agg(filler[1 + floor(random() * array_length(filler, 1))::int + 0 * g], ' ')
       FROM generate_series(1, 6 + (n %% 3)) AS g)
        || ' ' || word[1 + floor(random() * array_length(word, 1))::int] || '.',
    cats[1 + (n %% array_length(cats, 1))],
    100 + floor(random() * 20000)::int,
    floor(random() * 100)::int,
    now() - make_interval(mins => n)
FROM generate_series(%(first)s::int, %(last)s::int) AS n,
     (SELECT %(words)s::text[] AS word, %(adjectives)s::text[] AS adj,
             %(filler)s::text[] AS filler, %(categories)s::text[] AS cats) AS v;
ANALYZE products;
"""

INDEX = "products_search_idx"


def fill(admin_url: str, first: int, last: int) -> float:
    started = time.perf_counter()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute("SELECT setseed(0.17)")
        for statement in FILL.split(";\n"):
            if statement.strip():
                conn.execute(
                    statement,
                    {
                        "first": first,
                        "last": last,
                        "words": list(WORDS),
                        "adjectives": list(ADJECTIVES),
                        "filler": list(FILLER),
                        "categories": CATEGORIES,
                    },
                )
    return time.perf_counter() - started


def requests_to_time(conn: psycopg.Connection[Any]) -> dict[str, list[tuple[str, Any]]]:
    """Kinds of request -> (sort, category, terms, after) cases; 'next page' cases use a real cursor key."""
    from shop.domain import catalog

    cases: dict[str, list[tuple[str, Any]]] = {
        "word": [("name", (None, (w,), None)) for w in ("kettle", "lantern", "hammock", "merino", "walnut")],
        "prefix": [("name", (None, (w,), None)) for w in ("ket", "lan", "ham", "mer", "wal")],
        "broad prefix": [("name", (None, (w,), None)) for w in ("s", "c", "st", "wa")],
        "two words": [("name", (None, tuple(w.split()), None)) for w in ("copper kettle", "linen apron", "oak shelf")],
        "search + category": [("name", (c, ("mug",), None)) for c in ("kitchen", "home", "outdoor")],
        "search, by price": [("price", (None, ("lamp",), None)), ("price_desc", (None, ("tent",), None))],
        "browse by name": [("name", (c, (), None)) for c in ("kitchen", "toys", "tools")],
        "browse by price": [("price", (c, (), None)) for c in ("books", "garden")],
        "browse newest": [("newest", (None, (), None)), ("newest", ("bath", (), None))],
    }
    # The page after a cursor deep in the list: the 1000th product's key in each order.
    nexts = []
    for sort, order in catalog.SORTS.items():
        row = conn.execute(
            f"SELECT {order.column}, id::text FROM products ORDER BY {order.order_by} OFFSET 1000 LIMIT 1"
        ).fetchone()
        if row:
            nexts.append((sort, (None, (), (row[0], row[1]))))
    cases["next page (cursor)"] = nexts
    return cases


def time_cases(app_url: str, iterations: int) -> list[tuple[str, float, float, int, str]]:
    from shop.domain import catalog

    results = []
    with psycopg.connect(app_url, autocommit=True) as conn:
        for kind, cases in requests_to_time(conn).items():
            for sort, (category, terms, after) in cases:  # warm: plans and buffers, as a busy API has them
                conn.execute(*catalog.page_query(sort, category, terms, after, 20)).fetchall()
            samples: list[float] = []
            slowest: dict[str, float] = {}
            rows = 0
            for i in range(iterations):
                sort, (category, terms, after) = cases[i % len(cases)]
                query, params = catalog.page_query(sort, category, terms, after, 20)
                started = time.perf_counter()
                rows += len(conn.execute(query, params).fetchall())
                elapsed = (time.perf_counter() - started) * 1000
                samples.append(elapsed)
                label = f"{sort} {category or ''} {' '.join(terms)}".strip()
                slowest[label] = max(slowest.get(label, 0.0), elapsed)
            samples.sort()
            p99 = samples[min(len(samples) - 1, int(len(samples) * 0.99))]
            worst = max(slowest, key=lambda k: slowest[k])
            results.append(
                (kind, statistics.median(samples), p99, rows // iterations, f"{worst} ({slowest[worst]:.0f} ms)")
            )
    return results


def explain(app_url: str, sort: str, category: str | None, terms: tuple[str, ...]) -> str:
    from shop.domain import catalog

    query, params = catalog.page_query(sort, category, terms, None, 20)
    with psycopg.connect(app_url, autocommit=True) as conn:
        plan = conn.execute("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + query, params).fetchall()
    return "\n".join(str(line[0]) for line in plan)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="5000,50000")
    parser.add_argument("--iterations", type=int, default=200)
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))

    from shop.db import migrate
    from shop.local.services import start_postgres

    data_dir = Path(tempfile.mkdtemp(prefix="bench-catalog-")) / "pg"
    postgres = start_postgres(data_dir)
    admin_url = postgres.url
    app_url = admin_url.replace(f"{postgres.user}@", "shop_app@", 1)
    migrate.migrate(admin_url)
    ok = True
    loaded = 0
    try:
        for size in sizes:
            seconds = fill(admin_url, loaded + 1, size)
            loaded = size
            print(f"\n== {size:,} products (filled in {seconds:.1f} s with one INSERT ... generate_series)")
            print(f"{'request':<22} {'median ms':>10} {'p99 ms':>8} {'rows/page':>10}  slowest case")
            for kind, median, p99, rows, worst in time_cases(app_url, args.iterations):
                print(f"{kind:<22} {median:>10.2f} {p99:>8.2f} {rows:>10}  {worst}")
            for label, (sort, category, terms), selective in (
                ("a rare word (one product)", ("name", None, ("4242",)), True),
                ("two words (about 0.05%)", ("name", None, ("copper", "kettle")), True),
                ("a common word (about 3%)", ("name", None, ("hammock",)), False),
                ("a prefix in a category", ("name", "kitchen", ("ket",)), False),
            ):
                plan = explain(app_url, sort, category, terms)
                uses = INDEX in plan
                # Checked at the largest size: on a few thousand rows reading the whole table is
                # cheaper, and the planner rightly does that.
                ok = ok and (uses or not selective or size != sizes[-1])
                print(f"\nEXPLAIN {label} {terms} at {size:,}: {'uses' if uses else 'does NOT use'} {INDEX}\n{plan}")
    finally:
        postgres.stop()
    if not ok:
        print(f"\nFAIL: a selective search at {sizes[-1]:,} products did not read {INDEX}")
        return 1
    print(f"\nOK: selective searches at {sizes[-1]:,} products read {INDEX}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
