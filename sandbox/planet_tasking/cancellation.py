"""Cancelling orders: the allowed states, the charged-cancellation count of the day, and the cancellation itself."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Optional

from sandbox.accounts import Account
from sandbox.errors import detail
from sandbox.planet_tasking.captures import fail_capture
from sandbox.planet_tasking.states import ASSURED_CANCEL_DELAY, CANCELLABLE
from sandbox.simulation import Simulation
from sandbox.timefmt import format_time, parse_time


def cancellations_today(sim: Simulation, account: Account, pl_number: str, now: datetime) -> int:
    """The contract's assured cancellations of the UTC day, exactly as planet-tasking-api.txt's
    "Charged cancellation" recipe counts them, so a client following it sees the number charged by.

    The recipe lists status__in=CANCELLED,PENDING_CANCELLATION, updated_time__gt=<day>, the pl_number
    and scheduling_type=ASSURED, then keeps a CANCELLED order only if its cancelled_time is after
    midnight UTC; PENDING_CANCELLATION orders have no cancelled_time "but they still count". Orders
    cancelled by a replacement count too: the recipe cannot tell them apart (README).
    """
    midnight = format_time(now.astimezone(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0))
    used = 0
    for o in sim.store.all("order"):
        if o.get("_key") != account.api_key or o.get("pl_number") != pl_number \
                or o.get("scheduling_type") != "ASSURED" or not (o.get("updated_time") or "") > midnight:
            continue
        if o["status"] == "PENDING_CANCELLATION" or (
                o["status"] == "CANCELLED" and (o.get("cancelled_time") or "") >= midnight):
            used += 1
    return used


def cancel_order(sim: Simulation, account: Account, order_id: str, now: datetime, *, accept_charge: bool,
                 allowed: frozenset = CANCELLABLE) -> None:
    """A user's cancellation (DELETE or a bulk CANCEL payload); 400 when the state, time or charge forbids it."""
    order = sim.owned("order", account, order_id)
    status = order["status"]
    if status not in allowed:
        raise detail(400, f"Orders in status {status} cannot be cancelled.")
    until = parse_time(order["cancellable_until"]) if order.get("cancellable_until") else None
    if until is not None and now >= until:
        raise detail(400, f"This order can no longer be cancelled: it was cancellable until {order['cancellable_until']}.")
    if order["scheduling_type"] == "ASSURED":
        used = cancellations_today(sim, account, order["pl_number"], now)
        if used >= account.free_cancellations:
            if not accept_charge:
                raise detail(400, (
                    f"The free cancellation limit of contract {order['pl_number']} "
                    f"({account.free_cancellations} per day) has been reached, so this cancellation will be "
                    "charged. Repeat the request with accept_cancellation_charge=true to accept the charge."
                ))
            order["_cancellation_charged"] = True
    begin_cancellation(sim, order, now)


def begin_cancellation(sim: Simulation, order: dict, now: datetime, *, replaced_by: Optional[str] = None) -> None:
    """Flexible and monitoring orders are CANCELLED at once; assured ones go PENDING_CANCELLATION first."""
    order["_cancel_requested_at"] = format_time(now)
    order["updated_time"] = format_time(now)
    order["next_planned_acquisition_time"] = None
    order["_next_attempt"] = None
    if replaced_by:
        order["_replaced_by"] = replaced_by
    for capture_id in order["_captures"]:
        capture = sim.store.get("capture", capture_id)
        if capture and capture["status"] == "QUEUED":
            fail_capture(sim, capture, now, "The order was cancelled before acquisition.")
    if order["scheduling_type"] == "ASSURED":
        order["status"] = "PENDING_CANCELLATION"
        sim.schedule("order", order, now + timedelta(seconds=ASSURED_CANCEL_DELAY), "cancelled")
    else:
        order["status"] = "CANCELLED"
        order["cancelled_time"] = format_time(now)
        sim.schedule("order", order, None)
