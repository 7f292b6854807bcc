"""Sandbox accounts: each API key is its own organisation with contracts (PL numbers) and products."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Dict, List, Optional

FLEXIBLE_PRODUCT = "one_time_tasking"
ASSURED_PRODUCT = "Assured Tasking"
MONITORING_PRODUCT = "monitoring_tasking"
# Product name -> the scheduling type its orders get.
PRODUCTS: Dict[str, str] = {
    FLEXIBLE_PRODUCT: "FLEXIBLE",
    ASSURED_PRODUCT: "ASSURED",
    MONITORING_PRODUCT: "MONITORING",
}


@dataclass
class Account:
    """One API key: an organisation, its contracts and their limits."""

    api_key: str
    pl_numbers: List[str]
    free_cancellations: int
    max_sqkm: float
    default_product: str = FLEXIBLE_PRODUCT
    products: Dict[str, str] = field(default_factory=lambda: dict(PRODUCTS))

    @property
    def default_pl_number(self) -> str:
        return self.pl_numbers[0]

    @property
    def created_by(self) -> str:
        safe = "".join(ch if ch.isalnum() else "-" for ch in self.api_key.lower()) or "user"
        return f"{safe}@sandbox.example.com"

    def product_for_scheduling_type(self, scheduling_type: str) -> Optional[str]:
        for name, kind in self.products.items():
            if kind == scheduling_type:
                return name
        return None

    def as_json(self) -> dict:
        return {
            "api_key": self.api_key,
            "created_by": self.created_by,
            "pl_numbers": list(self.pl_numbers),
            "default_pl_number": self.default_pl_number,
            "default_product": self.default_product,
            "products": [{"name": name, "scheduling_type": kind} for name, kind in self.products.items()],
            "free_cancellations": self.free_cancellations,
            "free_cancellations_apply_to": "ASSURED",
            "max_sqkm": self.max_sqkm,
        }


def make_account(api_key: str, *, free_cancellations: int, max_sqkm: float) -> Account:
    """Stable contract numbers derived from the key, so a restarted sandbox keeps the same PL numbers."""
    base = 100000 + zlib.crc32(api_key.encode()) % 800000
    return Account(
        api_key=api_key,
        pl_numbers=[f"PL-{base}", f"PL-{base + 1}"],
        free_cancellations=free_cancellations,
        max_sqkm=max_sqkm,
    )
