"""Pricing a layer's payloads in chunks through the list form of the service's pricing request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ...errors import ApiError, Cancelled
from ...log import get_logger

LOGGER = get_logger("bulk")

Progress = Optional[Callable[[float], Any]]
IsCanceled = Optional[Callable[[], bool]]

# Pricing: the list form of POST /pricing/ has no documented size limit. 1000 is the largest list of
# order payloads any documented endpoint takes (bulk create), so the same chunks are priced and then
# created; ~1000 polygons make a body of a few hundred kB, which no gateway refuses, and a failed
# request costs re-pricing 1000, not the whole layer. A 413 halves the chunk for the rest of the run.
PRICING_CHUNK_SIZE = 1000


@dataclass
class PricingReport:
    """Prices per feature (partial failures apart), their total, and how many requests it took."""

    prices: Dict[int, Any] = field(default_factory=dict)
    failures: Dict[int, str] = field(default_factory=dict)
    requests: int = 0
    server_total: float = 0.0
    units: Optional[str] = None

    @property
    def total(self) -> float:
        """The sum of the per-feature prices (what the service's totals add up to)."""
        return round(sum(p.estimated_quota_cost or 0.0 for p in self.prices.values()), 3)

    def cost(self, feature_id: int) -> Optional[float]:
        pricing = self.prices.get(feature_id)
        return None if pricing is None else pricing.estimated_quota_cost


def chunked(items: Sequence[Any], size: int) -> List[Sequence[Any]]:
    if size < 1:
        raise ValueError("a chunk holds at least one item")
    return [items[start:start + size] for start in range(0, len(items), size)]


def price_payloads(client: Any, pairs: Sequence[Tuple[int, Mapping[str, Any]]], *,
                   chunk_size: int = PRICING_CHUNK_SIZE, progress: Progress = None,
                   is_canceled: IsCanceled = None) -> PricingReport:
    """Price (feature id, payload) pairs through the list form of POST /pricing/, `chunk_size` per request."""
    report = PricingReport()
    done = 0
    position = 0
    size = chunk_size
    while position < len(pairs):
        if is_canceled is not None and is_canceled():
            raise Cancelled("Pricing was cancelled.")
        batch = pairs[position:position + size]
        try:
            report.requests += 1
            preview = client.preview_pricing_list([p for _, p in batch])
        except ApiError as error:
            if error.status == 413 and size > 1:
                size = max(1, size // 2)
                LOGGER.warning("pricing list of %d payloads was too large; sending %d at a time", len(batch), size)
                continue
            raise
        details = preview.pricing_details
        if len(details) != len(batch):
            raise ApiError(f"The pricing answer holds {len(details)} prices for {len(batch)} orders; "
                           "it cannot be matched to the features.")
        for (feature_id, _), pricing in zip(batch, details):
            if pricing.error or pricing.estimated_quota_cost is None:
                report.failures[feature_id] = pricing.error or "No price was given."
            else:
                report.prices[feature_id] = pricing
                report.units = report.units or pricing.units
        report.server_total = round(report.server_total + preview.total_estimated_quota_cost, 3)
        position += len(batch)
        done += len(batch)
        if progress is not None:
            progress(100.0 * done / len(pairs))
    return report

