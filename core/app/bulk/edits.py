"""Bulk edit and cancel of existing orders: the payloads to send, the orders left out and why, the charge refusals."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from ...feature_values import time_text
from .job import BulkOutcome, needs_cancellation_charge
from .service_rules import bulk_rules

# What is known of an order before sending: the order itself, its status text, or nothing (the service decides).
OrderOrStatus = Any
Pairs = List[Tuple[None, Dict[str, Any]]]


def _unique(order_ids: Iterable[str]) -> List[str]:
    seen, unique = set(), []
    for order_id in order_ids:
        text = str(order_id).strip()
        if text and text not in seen:
            seen.add(text)
            unique.append(text)
    return unique


def edit_pairs(order_ids: Iterable[str], *, start_time: Any = None, end_time: Any = None,
               statuses: Optional[Mapping[str, OrderOrStatus]] = None,
               service_id: Optional[str] = None) -> Tuple[Pairs, Dict[str, str]]:
    """Bulk EDIT payloads (the order and its new times) and the orders left out with why."""
    if start_time is None and end_time is None:
        raise ValueError("an edit changes the start time, the end time or both")
    rules = bulk_rules(service_id)
    start = time_text(start_time, "The start time") if start_time is not None else None
    end = time_text(end_time, "The end time") if end_time is not None else None
    # Both are UTC text of one fixed format, so they compare as text.
    if start and end and end <= start:
        raise ValueError(f"the end time {end} is not after the start time {start}")
    pairs, skipped = [], {}
    for order_id in _unique(order_ids):
        problem = rules.edit_problem(order_id, (statuses or {}).get(order_id), start_time=start is not None,
                                     end_time=end is not None)
        if problem:
            skipped[order_id] = problem
            continue
        pairs.append((None, rules.edit_payload(order_id, start, end)))
    return pairs, skipped


def cancel_pairs(order_ids: Iterable[str], *, accept_cancellation_charge: bool = False,
                 statuses: Optional[Mapping[str, OrderOrStatus]] = None, now: Optional[datetime] = None,
                 service_id: Optional[str] = None) -> Tuple[Pairs, Dict[str, str]]:
    """Bulk CANCEL payloads and the orders left out with why; `accept_cancellation_charge` is the user's
    consent (a checkbox in the dialog, a parameter elsewhere), given as a value, never read from a widget."""
    rules = bulk_rules(service_id)
    pairs, skipped = [], {}
    for order_id in _unique(order_ids):
        problem = rules.cancel_problem(order_id, (statuses or {}).get(order_id), now)
        if problem:
            skipped[order_id] = problem
            continue
        pairs.append((None, rules.cancel_payload(order_id, accept_cancellation_charge)))
    return pairs, skipped


def charge_refused_ids(outcome: BulkOutcome) -> List[str]:
    """Orders a CANCEL bulk left alone because their cancellation would be charged."""
    return [str(i.payload.get("id")) for i in outcome.items if needs_cancellation_charge(i.error)]


def cancellations_today(client: Any, *, is_canceled: Optional[Callable[[], bool]] = None,
                        service_id: Optional[str] = None) -> Any:
    """Today's cancellations as the service counts them (a tally with a summary() sentence)."""
    return bulk_rules(service_id).cancellations_today(client, is_canceled=is_canceled)
