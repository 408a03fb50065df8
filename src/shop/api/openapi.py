"""Write the API's OpenAPI document: ``python -m shop.api.openapi [--check] [--output PATH]``.

The committed ``src/shop/api/openapi.json`` is generated from the Powertools resolver (routes,
pydantic models); a test fails when it is stale. The infrastructure reads request-body schemas from
it (``components.schemas.<body name>``) to build API Gateway request models.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_OUTPUT = Path(__file__).with_name("openapi.json")


def render() -> str:
    from shop.api.app import openapi_document

    document: dict[str, Any] = openapi_document()
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def load() -> dict[str, Any]:
    """The committed document (what the infrastructure reads)."""
    document: dict[str, Any] = json.loads(DEFAULT_OUTPUT.read_text(encoding="utf-8"))
    return document


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shop.api.openapi", description="Export the OpenAPI document.")
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT)
    parser.add_argument("--check", action="store_true", help="exit 1 if the file differs from the generated one")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text(encoding="utf-8") if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python -m shop.api.openapi", file=sys.stderr)
            return 1
        print(f"{args.output} is up to date")
        return 0
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
