"""Cancellations a contract used today, counted as planet-tasking-api.txt describes, and cancelling with the charge rule."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Callable, Dict, Iterable, List, Optional, Sequence

from ...errors import ApiError, CancellationChargeRequired
from .models import Order, Pricing

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


@dataclass
class ChargeNotice:
    """An order the service refused to cancel for free: its message and the order's quota cost, if known."""

    order_id: str
    order_name: Optional[str]
    message: str
    pricing: Optional[Pricing] = None

    @property
    def cost_text(self) -> str:
        if self.pricing is None or self.pricing.estimated_quota_cost is None:
            return "cost unknown"
        return f"{self.pricing.estimated_quota_cost:g} {self.pricing.units or ''}".strip()


@dataclass
class CancelOutcome:
    """What happened to each order of one cancel request."""

    cancelled: List[str] = field(default_factory=list)
    charge_required: List[ChargeNotice] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)

    def merge(self, other: "CancelOutcome") -> None:
        self.cancelled.extend(other.cancelled)
        self.charge_required.extend(other.charge_required)
        self.failed.update(other.failed)


def cancel_orders(client, orders: Sequence[Order], *, accept_cancellation_charge: bool = False,
                  with_pricing: bool = True, is_canceled: Optional[Callable[[], bool]] = None,
                  progress: Optional[Callable[[float], None]] = None) -> CancelOutcome:
    """Cancel each order once. A refusal for the charge is collected (not retried): accepting it is the
    user's decision, after which the caller sends those again with accept_cancellation_charge=True."""
    outcome = CancelOutcome()
    total = max(1, len(orders))
    for done, order in enumerate(orders):
        if is_canceled is not None and is_canceled():
            break
        try:
            client.cancel_order(order.id, accept_cancellation_charge=accept_cancellation_charge)
            outcome.cancelled.append(order.id)
        except CancellationChargeRequired as refusal:
            pricing = None
            if with_pricing:
                try:
                    pricing = client.order_pricing(order.id)
                except ApiError:
                    pricing = None  # orders made before March 2024 have no pricing; the notice says so
            outcome.charge_required.append(ChargeNotice(order.id, order.name, refusal.server_detail or refusal.message,
                                                        pricing))
        except ApiError as error:
            outcome.failed[order.id] = error.server_detail or error.message
        if progress is not None:
            progress(100.0 * (done + 1) / total)
    return outcome


def charge_question(notices: Iterable[ChargeNotice]) -> str:
    """The text of the dialog asking the user to accept the cancellation charge."""
    notices = list(notices)
    lines = [f"The contract's free cancellations are used up: cancelling {len(notices)} "
             f"order{'s' if len(notices) != 1 else ''} will be charged.", ""]
    for notice in notices:
        lines.append(f"• {notice.order_name or notice.order_id}: order quota cost {notice.cost_text}")
    first = notices[0].message if notices else ""
    if first:
        lines += ["", f"The service says: {first}"]
    lines += ["", "Accept the cancellation charge and cancel?"]
    return "\n".join(lines)
