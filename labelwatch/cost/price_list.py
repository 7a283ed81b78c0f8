"""The dated price list of a region (``prices/<region>.json``): the only place prices live."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Price:
    """``value`` USD per ``per`` units of ``unit``, or tiered by monthly usage (in those units)."""

    name: str
    unit: str
    per: float
    value: float | None
    tiers: tuple[tuple[float | None, float], ...]  # (up to this many units, value per ``per``)
    source: str
    confirmed: bool
    why: str

    def cost(self, quantity: float) -> float:
        """USD for ``quantity`` units in a month, through the tiers from the first."""
        if not self.tiers:
            return quantity / self.per * (self.value or 0.0)
        total, floor = 0.0, 0.0
        for up_to, value in self.tiers:
            ceiling = quantity if up_to is None else min(quantity, up_to)
            if ceiling > floor:
                total += (ceiling - floor) / self.per * value
            if up_to is None or quantity <= up_to:
                break
            floor = up_to
        return total

    @property
    def first_value(self) -> float:
        """The price of the first unit (the first tier's), per ``per`` units."""
        return self.tiers[0][1] if self.tiers else (self.value or 0.0)


@dataclass(frozen=True)
class PriceList:
    region: str
    currency: str
    as_of: str
    prices: dict[str, Price]

    def __getitem__(self, name: str) -> Price:
        return self.prices[name]

    @property
    def unconfirmed(self) -> list[Price]:
        return [price for price in self.prices.values() if not price.confirmed]


def load_prices(region: str = DEFAULT_REGION) -> PriceList:
    """The packaged price list of ``region``; ``FileNotFoundError`` for a region without one."""
    text = resources.files("labelwatch.cost").joinpath("prices", f"{region}.json").read_text(encoding="utf-8")
    return parse_prices(json.loads(text))


def parse_prices(data: dict[str, Any]) -> PriceList:
    prices = {name: _price(name, entry) for name, entry in data["prices"].items()}
    return PriceList(region=data["region"], currency=data["currency"], as_of=data["as_of"], prices=prices)


def _price(name: str, entry: dict[str, Any]) -> Price:
    tiers = tuple((tier["up_to"], float(tier["value"])) for tier in entry.get("tiers", ()))
    if not tiers and "value" not in entry:
        raise ValueError(f"price {name!r} has neither a value nor tiers")
    return Price(
        name=name,
        unit=entry["unit"],
        per=float(entry["per"]),
        value=float(entry["value"]) if "value" in entry else None,
        tiers=tiers,
        source=entry["source"],
        confirmed=bool(entry["confirmed"]),
        why=entry.get("why", ""),
    )
