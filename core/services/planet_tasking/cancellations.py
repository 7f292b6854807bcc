"""Cancellations a contract used today, counted as planet-tasking-api.txt describes (cancelling itself: core.app.cancel)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Dict, List, Optional

from .models import Order

COUNTED_STATUSES = ("CANCELLED", "PENDING_CANCELLATION")
# The documented query lists these fields; status and pl_number are added to count per contract.
LISTING_FIELDS = ("name", "cancelled_time", "id", "status", "pl_number")


def midnight_utc(now: Optional[datetime] = None) -> datetime:
    """The start of `now`'s day in UTC (the documents' "midnight UTC of the requested day")."""
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


def counts_today(order: Order, midnight: datetime) -> bool:
    """Whether one listed order uses one of today's cancellations.

    "It's still possible for an order to change after it has been cancelled, making that order's
    updated_time later than the cancelled_time. So for each order returned, check that the
    cancelled_time is after midnight UTC of the requested day. Orders in status PENDING_CANCELLATION do
    not have cancelled_time but they still count."
    """
    if order.status == "PENDING_CANCELLATION":
        return True
    if order.status == "CANCELLED":
        return order.cancelled_time is not None and order.cancelled_time >= midnight
    return False


@dataclass
class CancellationsToday:
    """Cancellations used today, per contract (pl_number), with the orders counted."""

    day: datetime
    by_contract: Dict[str, List[str]] = field(default_factory=dict)

    def used(self, pl_number: Optional[str] = None) -> int:
        if pl_number is None:
            return sum(len(ids) for ids in self.by_contract.values())
        return len(self.by_contract.get(pl_number, ()))

    def summary(self) -> str:
        if not self.by_contract:
            return f"No assured cancellations used today ({self.day:%Y-%m-%d} UTC)."
        parts = ", ".join(f"{pl}: {len(ids)}" for pl, ids in sorted(self.by_contract.items()))
        return f"Assured cancellations used today ({self.day:%Y-%m-%d} UTC): {parts}"


def cancellations_today(client, pl_number: Optional[str] = None, *, now: Optional[datetime] = None,
                        scheduling_type: Optional[str] = "ASSURED", quota_units: Optional[str] = None,
                        is_canceled: Optional[Callable[[], bool]] = None) -> CancellationsToday:
    """Count today's cancellations with the documented query, then the documented cancelled_time check.

    The query is the one in "Charged cancellation": status__in=CANCELLED,PENDING_CANCELLATION,
    updated_time after midnight UTC, the contract's pl_number and scheduling_type=ASSURED (free
    cancellations are an assured-tasking limit). Without `pl_number` every contract is counted at once
    and grouped by pl_number (the same orders as one query per contract). The document's example also
    sends quota_units=CREDITS; pass `quota_units` to send it.
    """
    midnight = midnight_utc(now)
    filters = {"status__in": list(COUNTED_STATUSES), "updated_time__gt": midnight}
    if pl_number:
        filters["pl_number"] = pl_number
    if scheduling_type:
        filters["scheduling_type"] = scheduling_type
    if quota_units:
        filters["quota_units"] = quota_units
    tally = CancellationsToday(day=midnight)
    grouped: Dict[str, List[str]] = defaultdict(list)
    for order in client.iter_orders(page_size=100, fields=list(LISTING_FIELDS), is_canceled=is_canceled, **filters):
        if counts_today(order, midnight):
            grouped[order.pl_number or pl_number or "?"].append(order.id)
    tally.by_contract = dict(grouped)
    return tally
