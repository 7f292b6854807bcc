"""Orders: creation from a validated payload, their API view, and edits of name, rank and times."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict

from sandbox.accounts import Account
from sandbox.errors import BAD_DATETIME, ApiError, FieldErrors, not_an_object
from sandbox.planet_tasking import windows
from sandbox.planet_tasking.planning import plan_retask, replan_order
from sandbox.planet_tasking.replacement import price_new_order
from sandbox.planet_tasking.rrule import RuleError, monitoring_span
from sandbox.planet_tasking.states import ACCEPT_DELAY, CANCELLABLE, END_EDITABLE, FIXED_FIELDS, START_EDITABLE
from sandbox.planet_tasking.validation import as_integer, validate_order
from sandbox.simulation import Simulation
from sandbox.store import public
from sandbox.timefmt import format_time, parse_time


def create_order(sim: Simulation, account: Account, payload: Any, now: datetime) -> dict:
    """POST /orders/ (and a bulk CREATE payload): the validated, priced, stored order, RECEIVED."""
    values = validate_order(account, payload, now,
                            window_lookup=lambda acc, wid: windows.find_window(sim, acc, wid))
    window = values["_window"]
    created = format_time(now)
    order_id = sim.new_id()
    end = values["end_time"]
    cancellable_until = parse_time(window["start_time"]) if window else end
    order = {
        "id": order_id,
        "geometry": values["geometry"],
        "original_geometry": values["original_geometry"],
        "order_type": values["order_type"],
        "sat_elevation_angle_min": values["sat_elevation_angle_min"],
        "sat_elevation_angle_max": values["sat_elevation_angle_max"],
        "start_time": format_time(values["start_time"]),
        "end_time": format_time(end),
        "n_stereo_pov": values["n_stereo_pov"],
        "is_cancellable": True,
        "cancellable_until": format_time(cancellable_until),
        "requested_sqkm": float(values["requested_sqkm"]),
        "created_time": created,
        "updated_time": created,
        "name": values["name"],
        "created_by": account.created_by,
        "status": "RECEIVED",
        "fulfilled_sqkm": 0.0,
        "capture_status_published_count": 0,
        "capture_assessment_success_count": 0,
        "capture_assessment_invalid_count": 0,
        "scheduling_type": values["scheduling_type"],
        "rrule": values["rrule"],
        "exclusivity_days": values["exclusivity_days"],
        "next_planned_acquisition_time": None,
        "last_acquired_time": None,
        "imaging_window": values["imaging_window"],
        "pl_number": values["pl_number"],
        "product": values["product"],
        "cancelled_time": None,
        "rank": values["rank"],
        "_key": account.api_key,
        "_captures": [],
        "_next_attempt": None,
        "_replaced_orders": [],
    }
    if window is not None:
        order["_window"] = {k: window.get(k) for k in (
            "off_nadir_angle_min", "off_nadir_angle_max", "sat_elevation_angle_min", "sat_elevation_angle_max",
            "assured_tasking_tier", "cloud_forecast", "start_time", "end_time")}
        order["_pass_key"] = window.get("pass_key")
        order["_tier_multiplier"] = float(window.get("tier_multiplier", 1.0))
    # Priced before the order is stored so the new order does not conflict with itself.
    order["_pricing"] = price_new_order(sim, account, order)
    sim.store.add("order", order)
    sim.schedule("order", order, now + timedelta(seconds=ACCEPT_DELAY), "accept")
    return order


def render_order(order: dict, now: datetime) -> dict:
    document = public(order)
    until = order.get("cancellable_until")
    # Both texts share one fixed UTC format, so comparing them compares the times (and is cheap in lists).
    document["is_cancellable"] = order["status"] in CANCELLABLE and (until is None or format_time(now) < until)
    return document


def edit_order(sim: Simulation, account: Account, order_id: str, payload: Any, now: datetime) -> dict:
    """PUT/PATCH /orders/{id}/ (and a bulk EDIT payload): name, rank, start_time, end_time; the changed times."""
    order = sim.owned("order", account, order_id)
    if not isinstance(payload, dict):
        raise not_an_object(payload)
    status = order["status"]
    errors = FieldErrors()
    for field in FIXED_FIELDS:
        if field in payload and payload[field] != order.get(field):
            errors.add(field, "This field cannot be edited; only name, rank, start_time and end_time can.")
    if status not in END_EDITABLE:
        raise ApiError(400, {"detail": f"Orders in status {status} cannot be edited."})
    changes: Dict[str, Any] = {}
    if "name" in payload:
        name = payload["name"]
        if not isinstance(name, str) or not name.strip():
            errors.add("name", "This field may not be blank.")
        elif len(name) > 255:
            errors.add("name", "Ensure this field has no more than 255 characters.")
        else:
            changes["name"] = name
    if "rank" in payload:
        rank = as_integer(payload["rank"])
        if rank is None:
            errors.add("rank", "A valid integer is required.")
        else:
            changes["rank"] = rank
    start = parse_time(order["start_time"])
    end = parse_time(order["end_time"])
    monitoring = order["scheduling_type"] == "MONITORING"
    for field in ("start_time", "end_time"):
        if field not in payload or (field == "end_time" and monitoring):
            continue  # a monitoring order's end_time follows its rrule; a sent one is ignored, as on create
        moment = parse_time(payload[field])
        if moment is None:
            errors.add(field, BAD_DATETIME)
            continue
        if order["scheduling_type"] == "ASSURED":
            errors.add(field, "The time of interest of an assured order is fixed by its imaging window.")
        elif field == "start_time" and status not in START_EDITABLE:
            errors.add(field, f"start_time cannot be edited while the order is {status}.")
        elif field == "start_time":
            start = moment
            changes[field] = moment
        else:
            end = moment
            changes[field] = moment
    if monitoring and "start_time" in changes:
        try:
            end = changes["end_time"] = monitoring_span(order["rrule"], start)[1]
        except RuleError as error:
            errors.add("rrule", f"Invalid rrule: {error}")
    if not errors.has("end_time") and not errors.has("start_time") and (
            "start_time" in changes or "end_time" in changes):
        if end <= start:
            errors.add("end_time", "End time must be after start time.")
        elif "end_time" in changes and end <= now:
            errors.add("end_time", "End time must be in the future.")
    errors.raise_if_any()
    for field, value in changes.items():
        if field in ("start_time", "end_time"):
            order[field] = format_time(value)
        else:
            order[field] = value
    if "end_time" in changes:
        order["cancellable_until"] = order["end_time"]
    order["updated_time"] = format_time(now)
    sim.store.touch("order", order)
    if "start_time" in changes or "end_time" in changes:
        if status == "IN_PROGRESS" and order["scheduling_type"] == "FLEXIBLE" and order.get("_next_attempt") is None:
            # A longer order may now have room for the attempt its old end_time ruled out.
            plan_retask(sim, order, now)
        replan_order(sim, order, now)
    answer = {"start_time": order["start_time"], "end_time": order["end_time"]}
    for field in ("name", "rank"):
        if field in payload:
            answer[field] = order[field]
    return answer
