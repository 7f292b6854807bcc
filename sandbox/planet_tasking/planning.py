"""When an order acts next: its first and retasked acquisitions (in daylight) and its next lifecycle event."""

from __future__ import annotations

from datetime import datetime, timedelta

from sandbox import geo
from sandbox.planet_tasking import orbits
from sandbox.planet_tasking.rrule import RuleError, rrule_occurrences
from sandbox.planet_tasking.states import (
    ACCEPT_DELAY,
    ASSURED_CANCEL_DELAY,
    ASSURED_START_LEAD,
    DAYLIGHT_SUN_ELEVATION,
    QUEUE_LEAD,
)
from sandbox.simulation import Simulation
from sandbox.timefmt import format_time, from_epoch, parse_time


def capture_in_flight(sim: Simulation, order: dict) -> bool:
    """Whether one of the order's captures is still queued or being acquired and processed."""
    return any((sim.store.get("capture", cid) or {}).get("status") in ("QUEUED", "PROCESSING")
               for cid in order["_captures"])


def daylight(order: dict, moment: datetime) -> datetime:
    """The first moment from `moment` on with the Sun well up at the AOI: SkySat images in daylight."""
    lon, lat = geo.centroid(order["original_geometry"])
    probe = moment
    for _ in range(48):
        if orbits.sun_elevation(lon, lat, probe) >= DAYLIGHT_SUN_ELEVATION:
            return probe
        probe += timedelta(minutes=30)
    return moment  # polar night: no daylight within a day, keep the plan rather than never imaging


def plan_retask(sim: Simulation, order: dict, now: datetime) -> None:
    if capture_in_flight(sim, order):
        return
    generator = sim.rng(order["id"], "retask", len(order["_captures"]))
    acquisition = daylight(order, now + timedelta(seconds=generator.uniform(6 * 3600, 36 * 3600)))
    if acquisition < parse_time(order["end_time"]):
        order["_next_attempt"] = acquisition.timestamp()
        order["next_planned_acquisition_time"] = format_time(acquisition)
    else:
        order["_next_attempt"] = None
        order["next_planned_acquisition_time"] = None


def plan_first_attempt(sim: Simulation, order: dict, now: datetime) -> None:
    start, end = parse_time(order["start_time"]), parse_time(order["end_time"])
    if order["scheduling_type"] == "ASSURED":
        acquisition = start
    elif order["scheduling_type"] == "MONITORING":
        try:
            occurrences = rrule_occurrences(order["rrule"], start)  # the rule is the span, not end_time
        except RuleError:
            occurrences = []  # a rule stored by an older sandbox that this one refuses: nothing to image
        order["_occurrences"] = [o.timestamp() for o in occurrences if o >= now]
        acquisition = from_epoch(order["_occurrences"].pop(0)) if order["_occurrences"] else None
    else:
        generator = sim.rng(order["id"], "first")
        span = max(1800.0, min(30 * 3600.0, 0.6 * (end - max(start, now)).total_seconds()))
        acquisition = daylight(order, max(start, now) + timedelta(seconds=generator.uniform(1800.0, span)))
    if acquisition is not None and acquisition < end + timedelta(seconds=1):
        order["_next_attempt"] = acquisition.timestamp()
        order["next_planned_acquisition_time"] = format_time(acquisition)


def replan_order(sim: Simulation, order: dict, now: datetime) -> None:
    """Schedule the order's next lifecycle event from its status (accept, start, attempt, expire, cancelled)."""
    status = order["status"]
    if status == "RECEIVED":
        at = parse_time(order["created_time"]) + timedelta(seconds=ACCEPT_DELAY)
        sim.schedule("order", order, max(at, now), "accept")
    elif status in ("PENDING", "REQUESTED"):
        start = parse_time(order["start_time"])
        if order["scheduling_type"] == "ASSURED":
            start -= timedelta(seconds=ASSURED_START_LEAD)
        sim.schedule("order", order, max(start, now), "start")
    elif status == "IN_PROGRESS":
        end = parse_time(order["end_time"])
        if end <= now:
            # Only an assured order still being captured stays IN_PROGRESS past its end: its capture decides.
            sim.schedule("order", order, None)
            return
        if order.get("_next_attempt") is not None:
            queue_at = from_epoch(order["_next_attempt"]) - timedelta(seconds=QUEUE_LEAD)
            if queue_at < end:
                sim.schedule("order", order, max(queue_at, now), "attempt")
                return
        sim.schedule("order", order, max(end, now), "expire")
    elif status == "PENDING_CANCELLATION":
        requested = parse_time(order["_cancel_requested_at"])
        sim.schedule("order", order, max(requested + timedelta(seconds=ASSURED_CANCEL_DELAY), now), "cancelled")
    else:
        sim.schedule("order", order, None)
