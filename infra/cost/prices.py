"""The price data (infra/prices.json): one file, every price with its region, date and source page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PRICES_FILE = Path(__file__).resolve().parents[1] / "prices.json"


class CostModelError(ValueError):
    """The cost model cannot price what it was given (unknown region, type or option)."""


class UnknownRegionError(CostModelError):
    """No prices for the stack's region."""


@dataclass(frozen=True)
class Price:
    key: str
    usd: float
    unit: str
    date: str
    source: str
    checked: str


@dataclass(frozen=True)
class Rule:
    """A billing rule that is a number but not a price (minimum charges, sampling defaults)."""

    key: str
    value: float
    unit: str
    date: str
    source: str


@dataclass(frozen=True)
class PriceBook:
    region: str
    hours_per_month: float
    prices: dict[str, Price]
    rules: dict[str, Rule]

    def __getitem__(self, key: str) -> Price:
        try:
            return self.prices[key]
        except KeyError:
            raise CostModelError(f"infra/prices.json has no price {key!r} for {self.region}") from None

    def rule(self, key: str) -> float:
        try:
            return self.rules[key].value
        except KeyError:
            raise CostModelError(f"infra/prices.json has no billing rule {key!r}") from None


def read_document(path: Path = PRICES_FILE) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text())
    return document


def regions(path: Path = PRICES_FILE) -> list[str]:
    return sorted(read_document(path)["regions"])


def load(region: str, path: Path = PRICES_FILE) -> PriceBook:
    """The prices of one region; an unknown region is an error, never a zero."""
    document = read_document(path)
    table = document["regions"].get(region)
    if table is None:
        raise UnknownRegionError(
            f"no prices for region {region!r} in {path.name} (it has {', '.join(sorted(document['regions']))}); "
            "add the region's prices with their date and source page before estimating a stack there"
        )
    prices = {
        key: Price(key, float(e["usd"]), e["unit"], e["date"], e["source"], e["checked"]) for key, e in table.items()
    }
    rules = {
        key: Rule(key, float(e["value"]), e["unit"], e["date"], e["source"])
        for key, e in document["billing_rules"].items()
    }
    return PriceBook(region, float(document["hours_per_month"]), prices, rules)
