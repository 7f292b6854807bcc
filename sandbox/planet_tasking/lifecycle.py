"""An order's scheduled steps: accepted (and locked in), started, an acquisition attempt, expired, cancelled."""

from __future__ import annotations

from datetime import datetime, timedelta

from sandbox.planet_tasking.captures import fulfilled_by_a_capture, queue_capture
from sandbox.planet_tasking.planning import capture_in_flight, plan_first_attempt, replan_order
from sandbox.planet_tasking.replacement import replace
from sandbox.planet_tasking.states import LOCK_IN_LEAD
from sandbox.simulation import Simulation
from sandbox.timefmt import format_time, from_epoch, parse_time


def order_event(sim: Simulation, order: dict, event: str, at: datetime, target: datetime) -> None:
    status = order["status"]
    if event == "accept" and status == "RECEIVED":
        order["updated_time"] = format_time(at)
        if order["scheduling_type"] == "ASSURED" and \
                parse_time(order["start_time"]) - at < timedelta(seconds=LOCK_IN_LEAD):
            # Too late to put it in the satellite's plan: the lock-in fails and replaced orders stay.
            order["status"] = "REJECTED"
            order["next_planned_acquisition_time"] = None
        else:
            order["status"] = "PENDING"
            replace(sim, order, at)
            if order["scheduling_type"] == "ASSURED":
                order["next_planned_acquisition_time"] = order["start_time"]  # its window is its plan
    elif event == "start" and status in ("PENDING", "REQUESTED"):
        if at >= parse_time(order["end_time"]):
            order["status"] = "EXPIRED"
        else:
            order["status"] = "IN_PROGRESS"
            plan_first_attempt(sim, order, at)
        order["updated_time"] = format_time(at)
    elif event == "attempt" and status == "IN_PROGRESS" and order.get("_next_attempt") is not None:
        queue_capture(sim, order, at, from_epoch(order["_next_attempt"]))
    elif event == "expire" and status == "IN_PROGRESS":
        order["updated_time"] = format_time(at)
        order["next_planned_acquisition_time"] = None
        if order["scheduling_type"] == "MONITORING" and fulfilled_by_a_capture(sim, order):
            order["status"] = "FULFILLED"
        elif order["scheduling_type"] == "ASSURED" and capture_in_flight(sim, order):
            pass  # an assured capture acquired in its window is still being processed: wait for it
        else:
            order["status"] = "EXPIRED"
    elif event == "cancelled" and status == "PENDING_CANCELLATION":
        order["status"] = "CANCELLED"
        order["cancelled_time"] = format_time(at)
        order["updated_time"] = format_time(at)
    sim.store.touch("order", order)
    if order["status"] == "IN_PROGRESS" and order["scheduling_type"] == "MONITORING" \
            and order.get("_next_attempt") is None and order.get("_occurrences"):
        if not capture_in_flight(sim, order) or event == "attempt":
            next_time = order["_occurrences"].pop(0)
            order["_next_attempt"] = next_time
            order["next_planned_acquisition_time"] = format_time(from_epoch(next_time))
    replan_order(sim, order, at)
