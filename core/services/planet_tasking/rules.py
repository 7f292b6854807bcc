"""What may be edited or cancelled in each order state (planet-tasking-api.txt state table + facts.md), with reasons."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from .models import Order, format_time

# planet-tasking-api.txt "Editing Tasking Order": start_time yes while PENDING, no while IN_PROGRESS;
# end_time yes in both. facts.md adds RECEIVED and REQUESTED for start_time ("start_time only while
# PENDING or REQUESTED (and RECEIVED); end_time also while IN_PROGRESS").
START_TIME_EDITABLE = frozenset({"RECEIVED", "PENDING", "REQUESTED"})
END_TIME_EDITABLE = START_TIME_EDITABLE | {"IN_PROGRESS"}
# The name goes with the same PUT; the documents allow a PUT in exactly the states above.
NAME_EDITABLE = END_TIME_EDITABLE
# "Tasking Orders in the following states FULFILLED, CANCELLED, REJECTED and EXPIRED cannot be edited".
NEVER_EDITABLE = frozenset({"FULFILLED", "CANCELLED", "REJECTED", "EXPIRED"})
# "Tasking Orders can be deleted or cancelled only when the Tasking Order is in one of the following
# states: PENDING, IN_PROGRESS and RECEIVED."
CANCELLABLE = frozenset({"RECEIVED", "PENDING", "IN_PROGRESS"})
# Bulk cancellation is narrower: "only Tasking Orders with the statuses PENDING and IN_PROGRESS".
BULK_CANCELLABLE = frozenset({"PENDING", "IN_PROGRESS"})

# --- order fields (planet-tasking-api.txt): the one place each limit is checked -----------------------
# The form, the bulk feature checks and the edit checks all ask these; each answers a sentence or None.
MAX_NAME_LENGTH = 255
STEREO_POV_CHOICES = (2, 3)
MAX_EXCLUSIVITY_DAYS = 30


def name_length_problem(name: str) -> Optional[str]:
    if len(name) > MAX_NAME_LENGTH:
        return f"The name has {len(name)} characters; at most {MAX_NAME_LENGTH} are allowed."
    return None


def stereo_pov_problem(order_type: Optional[str], n_stereo_pov: Any) -> Optional[str]:
    if order_type == "STEREO" and n_stereo_pov not in STEREO_POV_CHOICES:
        shown = "" if n_stereo_pov is None else f", not {n_stereo_pov}"
        return f"A stereo order takes 2 or 3 points of view (n_stereo_pov){shown}."
    return None


def exclusivity_problem(days: Optional[int]) -> Optional[str]:
    if days is not None and not 0 <= days <= MAX_EXCLUSIVITY_DAYS:
        return f"Exclusivity is 0 to {MAX_EXCLUSIVITY_DAYS} days, not {days}."
    return None


def time_range_problem(start: Optional[datetime], end: Optional[datetime], now: Optional[datetime]) -> Optional[str]:
    """An order's time range: the end after the start, and (when `now` is given) in the future."""
    if start is not None and end is not None and end <= start:
        return "The end time must be after the start time."
    if end is not None and now is not None and end <= now:
        return "The end time is in the past: choose a later end."
    return None


# planet-tasking-api.txt "Charged cancellation": past the free cancellations a cancel is refused with a
# 400 whose text speaks of the charge (for one order, and as a bulk payload's error alike).
CANCELLATION_CHARGE_PATTERN = re.compile(r"accept_cancellation_charge|cancellation[^.]{0,80}charge|charged", re.I)


def is_charge_refusal(body: Any) -> bool:
    """Whether a refusal (a 400 body, or a bulk payload's error text) is the charged-cancellation one."""
    if not body:
        return False
    text = body if isinstance(body, str) else json.dumps(body, default=str)
    return bool(CANCELLATION_CHARGE_PATTERN.search(text))


# Fields whose change the Orders tab marks a row for (core.app.orders_refresh); updated_time alone moves with every internal touch.
WATCHED_FIELDS = (
    "status", "name", "start_time", "end_time", "is_cancellable", "fulfilled_sqkm", "capture_status_published_count",
    "capture_assessment_success_count", "capture_assessment_invalid_count", "next_planned_acquisition_time",
    "last_acquired_time", "cancelled_time",
)

# The documented surprises (planet-tasking-api.txt, "Edge cases"), explained in the changed row's tooltip.
STATUS_CHANGE_NOTES: Dict[Tuple[str, str], str] = {
    ("EXPIRED", "FULFILLED"): "The order expired before its fulfilling capture was published; when the capture "
                              "was published the order became FULFILLED (documented edge case).",
    ("FULFILLED", "IN_PROGRESS"): "A capture was manually reassessed as INVALID, so the order is being tasked "
                                  "again (documented edge case).",
    ("FULFILLED", "EXPIRED"): "A capture was manually reassessed as INVALID after the order's end time "
                              "(documented edge case).",
    ("FULFILLED", "FAILED"): "The assured order's capture was manually reassessed as INVALID.",
    ("IN_PROGRESS", "FULFILLED"): "A capture was assessed (or manually reassessed) as SUCCESS.",
}



_FINISHED_WHY = {
    "FULFILLED": "it is fulfilled",
    "CANCELLED": "it is cancelled",
    "REJECTED": "it was rejected",
    "EXPIRED": "it has expired",
    "FAILED": "it has failed",
    "PENDING_CANCELLATION": "its cancellation is under way",
    "FINALIZING": "it is being finalized",
}


@dataclass(frozen=True)
class Permission:
    """Whether one action is allowed on one order, and if not, a sentence saying why (for a tooltip)."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


ALLOWED = Permission(True)


def _status_text(order: Order) -> str:
    status = order.status or "unknown"
    why = _FINISHED_WHY.get(status)
    return f"the order is {status}" + (f" ({why})" if why else "")


def _refuse(order: Order, what: str, allowed_in: frozenset) -> Permission:
    states = ", ".join(s for s in ("RECEIVED", "PENDING", "REQUESTED", "IN_PROGRESS") if s in allowed_in)
    return Permission(False, f"The {what} cannot be changed: {_status_text(order)}. "
                             f"It can be changed only while the order is {states}.")


def can_edit_name(order: Order) -> Permission:
    if order.status in NAME_EDITABLE:
        return ALLOWED
    return _refuse(order, "name", NAME_EDITABLE)


def _assured_times_fixed(order: Order) -> Optional[Permission]:
    # An assured order's time of interest is the imaging window it was placed in
    # (planet-assured-tasking.txt); the service refuses to move it.
    if order.scheduling_type == "ASSURED":
        return Permission(False, "The time of interest of an ASSURED order is fixed by its imaging window; "
                                 "to image at another time, search for a new imaging window.")
    return None


def can_edit_start_time(order: Order) -> Permission:
    if order.status not in START_TIME_EDITABLE:
        if order.status == "IN_PROGRESS":
            return Permission(False, "The start time cannot be changed once the order is IN_PROGRESS "
                                     "(only the end time can).")
        return _refuse(order, "start time", START_TIME_EDITABLE)
    fixed = _assured_times_fixed(order)
    return ALLOWED if fixed is None else fixed


def can_edit_end_time(order: Order) -> Permission:
    if order.status not in END_TIME_EDITABLE:
        return _refuse(order, "end time", END_TIME_EDITABLE)
    fixed = _assured_times_fixed(order)
    return ALLOWED if fixed is None else fixed


def can_cancel(order: Order, now: Optional[datetime] = None) -> Permission:
    """Cancellable by status (documented states) and by what the service says (is_cancellable, cancellable_until)."""
    if order.status not in CANCELLABLE:
        return Permission(False, f"The order cannot be cancelled: {_status_text(order)}. Orders can be cancelled "
                                 "only while RECEIVED, PENDING or IN_PROGRESS.")
    now = now or datetime.now(timezone.utc)
    if order.cancellable_until is not None and now >= order.cancellable_until:
        return Permission(False, "The order can no longer be cancelled: it was cancellable until "
                                 f"{format_time(order.cancellable_until)[:19]} UTC.")
    if order.is_cancellable is False:
        return Permission(False, "The service marks this order as no longer cancellable.")
    return ALLOWED


def can_bulk_cancel(order: Order, now: Optional[datetime] = None) -> Permission:
    if order.status not in BULK_CANCELLABLE:
        return Permission(False, f"A bulk cancel takes only PENDING and IN_PROGRESS orders; {_status_text(order)}.")
    return can_cancel(order, now)


@dataclass(frozen=True)
class OrderPermissions:
    """Everything the details panel needs to enable or disable its controls for one order."""

    name: Permission
    start_time: Permission
    end_time: Permission
    cancel: Permission

    @property
    def any_edit(self) -> bool:
        return bool(self.name or self.start_time or self.end_time)


def permissions(order: Order, now: Optional[datetime] = None) -> OrderPermissions:
    return OrderPermissions(
        name=can_edit_name(order),
        start_time=can_edit_start_time(order),
        end_time=can_edit_end_time(order),
        cancel=can_cancel(order, now),
    )


def edit_problems(order: Order, *, name: Optional[str] = None, start_time: Optional[datetime] = None,
                  end_time: Optional[datetime] = None, now: Optional[datetime] = None) -> List[str]:
    """What is wrong with an edit before it is sent (empty list: send it). Fields left None are not changed."""
    problems: List[str] = []
    now = now or datetime.now(timezone.utc)
    if name is not None:
        allowed = can_edit_name(order)
        if not allowed:
            problems.append(allowed.reason)
        elif not name.strip():
            problems.append("The name may not be blank.")
        elif name_length_problem(name):
            problems.append(name_length_problem(name))
    if start_time is not None and not can_edit_start_time(order):
        problems.append(can_edit_start_time(order).reason)
    if end_time is not None and not can_edit_end_time(order):
        problems.append(can_edit_end_time(order).reason)
    start = start_time or order.start_time
    end = end_time or order.end_time
    if (start_time is not None or end_time is not None) and start is not None and end is not None and end <= start:
        problems.append("The end time must be after the start time.")
    if end_time is not None and end_time <= now:
        problems.append("The end time must be in the future.")
    return problems
