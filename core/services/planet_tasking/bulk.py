"""Planet Tasking's bulk rules: mappable fields, payload checks, size limit, edit/cancel state rules, result matching."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ...feature_values import FeatureProblem, is_null, time_text, whole_number
from . import rules as order_rules
from .cancellations import cancellations_today
from .client import MAX_BULK_PAYLOADS, same_geometry
from .models import ORDER_TYPES, Order, parse_time
from .rules import is_charge_refusal

# The order fields a user maps to attributes or expressions, in the dialog's order.
MAPPABLE_FIELDS = ("name", "start_time", "end_time", "order_type", "n_stereo_pov", "exclusivity_days",
                   "pl_number", "product")
FIELD_LABELS = {
    "name": "Name", "start_time": "Start time (UTC)", "end_time": "End time (UTC)", "order_type": "Order type",
    "n_stereo_pov": "Stereo points of view", "exclusivity_days": "Exclusivity days", "pl_number": "Contract (PL number)",
    "product": "Product",
}


def order_fields_from_values(values: Mapping[str, Any], now: Optional[datetime] = None) -> Dict[str, Any]:
    """Checked order fields from the mapped values (raises FeatureProblem with the first thing to fix).

    Mirrors the service's rules (planet-tasking-api.txt): a name of 1-255 characters, order type IMAGE or
    STEREO, n_stereo_pov 2 or 3 for STEREO, exclusivity 0-30 days, end after start (and after `now`).
    """
    payload: Dict[str, Any] = {}
    name = values.get("name")
    if is_null(name) or not str(name).strip():
        raise FeatureProblem("missing_name", "The order name is empty: map the name to a field or expression "
                                             "that gives every feature a name.")
    name = str(name).strip()
    if order_rules.name_length_problem(name):
        raise FeatureProblem("name_too_long", order_rules.name_length_problem(name))
    payload["name"] = name
    start = time_text(values.get("start_time"), "The start time")
    end = time_text(values.get("end_time"), "The end time")
    if start and end and parse_time(end) <= parse_time(start):
        raise FeatureProblem("end_before_start", f"The end time {end} is not after the start time {start}.")
    if end and now is not None and parse_time(end) <= now:
        raise FeatureProblem("end_in_past", f"The end time {end} is in the past.")
    if start:
        payload["start_time"] = start
    if end:
        payload["end_time"] = end
    order_type = values.get("order_type")
    order_type = None if is_null(order_type) or not str(order_type).strip() else str(order_type).strip().upper()
    if order_type is not None and order_type not in ORDER_TYPES:
        raise FeatureProblem("bad_order_type", f"The order type {values.get('order_type')!r} is not one of "
                                               f"{', '.join(ORDER_TYPES)}.")
    if order_type:
        payload["order_type"] = order_type
    if order_type == "STEREO":
        pov = whole_number(values.get("n_stereo_pov"), "The number of stereo points of view")
        if order_rules.stereo_pov_problem(order_type, pov):
            raise FeatureProblem("bad_stereo_pov", order_rules.stereo_pov_problem(order_type, pov))
        payload["n_stereo_pov"] = pov
    # n_stereo_pov on an IMAGE order means nothing to the service (which refuses it): it is left out.
    days = whole_number(values.get("exclusivity_days"), "The exclusivity days")
    if days is not None:
        if order_rules.exclusivity_problem(days):
            raise FeatureProblem("bad_exclusivity", order_rules.exclusivity_problem(days))
        payload["exclusivity_days"] = days
    for text_field in ("pl_number", "product"):
        value = values.get(text_field)
        if not is_null(value) and str(value).strip():
            payload[text_field] = str(value).strip()
    return payload


def _payload_key(payload: Mapping[str, Any]) -> str:
    return json.dumps([payload.get("name"), payload.get("geometry")], sort_keys=True)


def match_results(operation: str, items: Sequence[Any], results: Sequence[Any]) -> Dict[int, Tuple[Optional[str], Optional[str]]]:
    """position -> (order_id, error) for a chunk's journal items from the service's /payloads/ listing.

    The listing is in the order sent (as in the documented example) and is matched by position when the
    payload there is the one sent; otherwise by order id (edit/cancel) or by name and geometry (create),
    so a service that lists in another order still gives each feature its own result.
    """
    outcomes: Dict[int, Tuple[Optional[str], Optional[str]]] = {}

    def same(item: Any, result: Any) -> bool:
        sent, got = item.payload, result.payload
        if operation != "CREATE":
            return str(sent.get("id")) == str(got.get("id"))
        if sent.get("name") != got.get("name"):
            return False
        # Plain equality first: the service normally echoes the geometry as sent, and comparing dicts in C
        # is ~20x cheaper than same_geometry's walk, which stays for a reformatted echo.
        return sent.get("geometry") == got.get("geometry") or same_geometry(sent.get("geometry"), got.get("geometry"))

    unmatched: List[Any] = []
    for index, result in enumerate(results):
        if index < len(items) and same(items[index], result) and items[index].position not in outcomes:
            outcomes[items[index].position] = (result.order_id, result.error)
        else:
            unmatched.append(result)
    if unmatched:
        waiting: Dict[str, List[Any]] = {}
        for item in items:
            if item.position not in outcomes:
                key = str(item.payload.get("id")) if operation != "CREATE" else _payload_key(item.payload)
                waiting.setdefault(key, []).append(item)
        for result in unmatched:
            key = str(result.payload.get("id")) if operation != "CREATE" else _payload_key(result.payload)
            candidates = waiting.get(key) or [i for i in items if i.position not in outcomes and same(i, result)]
            if candidates:
                item = candidates.pop(0)
                outcomes[item.position] = (result.order_id, result.error)
    return outcomes



# --- Bulk edit and cancel ----------------------------------------------------------------------------------


OrderOrStatus = Union[Order, str, None]


def _as_order(order_id: str, known: OrderOrStatus) -> Optional[Order]:
    if known is None or known == "":
        return None
    if isinstance(known, Order):
        return known
    return Order(id=order_id, status=str(known))


def edit_problem(order_id: str, known: OrderOrStatus, *, start_time: bool, end_time: bool) -> Optional[str]:
    """Why the order cannot take the edit (core.services.planet_tasking.rules: state table, assured times), or None.

    `known` is the order or just its status; unknown (None): the service decides, per payload.
    """
    order = _as_order(order_id, known)
    if order is None:
        return None
    for wanted, allowed in ((start_time, order_rules.can_edit_start_time), (end_time, order_rules.can_edit_end_time)):
        if wanted:
            permission = allowed(order)
            if not permission:
                return permission.reason
    return None


def cancel_problem(order_id: str, known: OrderOrStatus, now: Optional[datetime] = None) -> Optional[str]:
    """Why the order cannot be cancelled in bulk (only PENDING and IN_PROGRESS, and still cancellable), or None."""
    order = _as_order(order_id, known)
    if order is None:
        return None
    permission = order_rules.can_bulk_cancel(order, now)
    return None if permission else permission.reason




def edit_payload(order_id: str, start_time: Optional[str], end_time: Optional[str]) -> Dict[str, Any]:
    """A bulk EDIT payload: the order and its new times (UTC text)."""
    payload: Dict[str, Any] = {"id": order_id}
    if start_time:
        payload["start_time"] = start_time
    if end_time:
        payload["end_time"] = end_time
    return payload


def cancel_payload(order_id: str, accept_cancellation_charge: bool) -> Dict[str, Any]:
    """A bulk CANCEL payload."""
    payload: Dict[str, Any] = {"id": order_id}
    if accept_cancellation_charge:
        # planet-tasking-api.txt, bulk "Charged cancellation": the acceptance travels in each payload.
        payload["accept_cancellation_charge"] = True
    return payload


__all__ = ["FIELD_LABELS", "MAPPABLE_FIELDS", "MAX_BULK_PAYLOADS", "cancel_payload", "cancel_problem",
           "cancellations_today", "edit_payload", "edit_problem", "is_charge_refusal", "match_results",
           "order_fields_from_values", "parse_time"]
