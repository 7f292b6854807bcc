"""Captures: queued, acquired, published or failed, reassessed; and how their order follows each step."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sandbox.errors import detail
from sandbox.planet_tasking.planning import plan_retask, replan_order
from sandbox.planet_tasking.states import (
    CAPTURE_FAILURE_CHANCE,
    CAPTURE_ITEM_TYPES,
    INVALID_CLOUD_COVER,
    REASSESSMENT_CHANCE,
)
from sandbox.simulation import Simulation
from sandbox.store import public
from sandbox.timefmt import format_time, parse_time


def render_capture(capture: dict) -> dict:
    return public(capture)


def fail_capture(sim: Simulation, capture: dict, now: datetime, reason: str) -> None:
    capture["status"] = "FAILED"
    capture["status_description"] = reason
    capture["updated_time"] = format_time(now)
    sim.schedule("capture", capture, None)


def _footprint(order: dict, generator: random.Random) -> dict:
    # The footprint covers the ordered area with a small margin, shifted a little as real strips are.
    ring = order["geometry"]["coordinates"][0]
    lons = [p[0] for p in ring]
    lats = [p[1] for p in ring]
    margin_lon = (max(lons) - min(lons)) * 0.08 + 0.002
    margin_lat = (max(lats) - min(lats)) * 0.08 + 0.002
    shift_lon = generator.uniform(-0.5, 0.5) * margin_lon
    shift_lat = generator.uniform(-0.5, 0.5) * margin_lat
    west, east = min(lons) - margin_lon + shift_lon, max(lons) + margin_lon + shift_lon
    south, north = min(lats) - margin_lat + shift_lat, max(lats) + margin_lat + shift_lat
    corners = [[round(x, 6), round(y, 6)] for x, y in ((west, south), (east, south), (east, north),
                                                         (west, north), (west, south))]
    return {"type": "Polygon", "coordinates": [corners]}


def queue_capture(sim: Simulation, order: dict, now: datetime, acquisition: datetime) -> dict:
    attempt = len(order["_captures"]) + 1
    generator = sim.rng(order["id"], "capture", attempt)
    capture = {
        "id": sim.new_id(),
        "order_id": order["id"],
        "assessment": None,
        "created_time": format_time(now),
        "updated_time": format_time(now),
        "acquired_time": None,
        "published_time": None,
        "status": "QUEUED",
        "status_description": None,
        "strip_id": None,
        "cloud_cover": None,
        "item_types": list(CAPTURE_ITEM_TYPES),
        "geometry": _footprint(order, generator),
        "fulfilling": False,
        "_key": order["_key"],
        "_planned": format_time(acquisition),
    }
    sim.store.add("capture", capture)
    order["_captures"].append(capture["id"])
    order["next_planned_acquisition_time"] = format_time(acquisition)
    order["_next_attempt"] = None
    order["updated_time"] = format_time(now)
    sim.store.touch("order", order)
    sim.schedule("capture", capture, acquisition, "acquire")
    return capture


def capture_event(sim: Simulation, capture: dict, event: str, at: datetime, target: datetime) -> None:
    """A capture's scheduled step: acquire (QUEUED -> PROCESSING), publish, or a later reassessment."""
    order = sim.store.get("order", capture["order_id"])
    generator = sim.rng(capture["id"], event)
    if event == "acquire":
        if generator.random() < CAPTURE_FAILURE_CHANCE / 2:
            fail_capture(sim, capture, at, "The satellite could not acquire the area (scheduling conflict).")
            after_capture(sim, order, capture, at)
            return
        longest = 40.0
        if order["scheduling_type"] == "ASSURED":
            longest = max(0.0, min(longest, (parse_time(order["end_time"]) - at).total_seconds()))
        acquired = at + timedelta(seconds=generator.uniform(0, longest))
        capture["acquired_time"] = format_time(acquired)
        capture["strip_id"] = "s{:03d}_{}".format(generator.randint(101, 124), acquired.strftime("%Y%m%dT%H%M%SZ"))
        capture["status"] = "PROCESSING"
        capture["updated_time"] = format_time(at)
        order["last_acquired_time"] = capture["acquired_time"]
        order["next_planned_acquisition_time"] = None
        order["updated_time"] = format_time(at)
        sim.store.touch("order", order)
        sim.schedule("capture", capture, at + timedelta(seconds=generator.uniform(1.5 * 3600, 4 * 3600)), "publish")
    elif event == "publish":
        if generator.random() < CAPTURE_FAILURE_CHANCE / 2:
            fail_capture(sim, capture, at, "Processing of the capture failed.")
            after_capture(sim, order, capture, at)
            return
        cloud = _published_cloud_cover(order, generator)
        quality_ok = generator.random() > 0.1
        capture["cloud_cover"] = cloud
        capture["assessment"] = "SUCCESS" if cloud <= INVALID_CLOUD_COVER and quality_ok else "INVALID"
        capture["status"] = "PUBLISHED"
        capture["published_time"] = format_time(at)
        capture["updated_time"] = format_time(at)
        if generator.random() < REASSESSMENT_CHANCE:
            sim.schedule("capture", capture, at + timedelta(seconds=generator.uniform(2 * 3600, 20 * 3600)),
                         "reassess")
        else:
            sim.schedule("capture", capture, None)
        after_capture(sim, order, capture, at)
    elif event == "reassess" and capture["status"] == "PUBLISHED":
        flipped = "INVALID" if capture["assessment"] == "SUCCESS" else "SUCCESS"
        reassess_capture(sim, capture, flipped, at)


def _published_cloud_cover(order: dict, generator: random.Random) -> float:
    """A published capture's cloud cover (0-1).

    An assured capture is taken in the window the user chose by its cloud forecast (percent), so it
    follows that forecast within a forecast's usual error; a flexible one is drawn, mostly clear.
    """
    forecasts = (order.get("_window") or {}).get("cloud_forecast") or []
    predictions = [f.get("prediction") for f in forecasts if isinstance(f, dict) and f.get("prediction") is not None]
    if predictions:
        return round(min(1.0, max(0.0, float(predictions[-1]) / 100.0 + generator.gauss(0.0, 0.1))), 2)
    return round(min(1.0, generator.random() ** 2.2), 2)


def reassess_capture(sim: Simulation, capture: dict, assessment: str, now: datetime) -> None:
    """Manual quality review: the capture's assessment changes and its order follows (documented edge case)."""
    if capture["status"] != "PUBLISHED":
        raise detail(400, "Only PUBLISHED captures can be reassessed.")
    capture["assessment"] = assessment
    capture["updated_time"] = format_time(now)
    sim.store.touch("capture", capture)
    order = sim.store.get("order", capture["order_id"])
    if assessment == "INVALID" and capture.get("fulfilling"):
        capture["fulfilling"] = False
        if order["status"] == "FULFILLED":
            order["fulfilled_sqkm"] = 0.0
            if order["scheduling_type"] == "ASSURED":
                order["status"] = "FAILED"
            elif now < parse_time(order["end_time"]):
                order["status"] = "IN_PROGRESS"
                plan_retask(sim, order, now)
            else:
                order["status"] = "EXPIRED"
    after_capture(sim, order, capture, now)


def _recount(sim: Simulation, order: dict) -> None:
    captures = [sim.store.get("capture", cid) for cid in order["_captures"]]
    published = [c for c in captures if c and c["status"] == "PUBLISHED"]
    order["capture_status_published_count"] = len(published)
    order["capture_assessment_success_count"] = sum(1 for c in published if c["assessment"] == "SUCCESS")
    order["capture_assessment_invalid_count"] = sum(1 for c in published if c["assessment"] == "INVALID")


def fulfilled_by_a_capture(sim: Simulation, order: dict) -> bool:
    """Whether one of the order's captures is the one that fulfils it."""
    return any((sim.store.get("capture", cid) or {}).get("fulfilling") for cid in order["_captures"])


def after_capture(sim: Simulation, order: dict, capture: dict, now: datetime) -> None:
    """An order reacts to a capture that published, failed or was reassessed."""
    order["updated_time"] = format_time(now)
    status = order["status"]
    success = capture["status"] == "PUBLISHED" and capture["assessment"] == "SUCCESS"
    fulfilled_already = fulfilled_by_a_capture(sim, order)
    # A failed assured order is revived by a manual review accepting its only capture, as the document
    # says state changes run both ways.
    reopenable = ("IN_PROGRESS", "EXPIRED", "PENDING", "RECEIVED") + (
        ("FAILED",) if order["scheduling_type"] == "ASSURED" else ())
    if success and status in reopenable and not fulfilled_already:
        capture["fulfilling"] = True
        sim.store.touch("capture", capture)
        if order["scheduling_type"] != "MONITORING" or status == "EXPIRED":
            order["status"] = "FULFILLED"
            order["fulfilled_sqkm"] = order["requested_sqkm"]
            order["next_planned_acquisition_time"] = None
            order["_next_attempt"] = None
            sim.schedule("order", order, None)
        else:
            order["fulfilled_sqkm"] = order["requested_sqkm"]
    elif status == "IN_PROGRESS" and capture["status"] in ("PUBLISHED", "FAILED") and not success:
        if order["scheduling_type"] == "ASSURED":
            # One opportunity only: an assured order whose capture is unusable cannot be retasked.
            order["status"] = "FAILED"
            order["next_planned_acquisition_time"] = None
            sim.schedule("order", order, None)
        elif order["scheduling_type"] == "FLEXIBLE":
            plan_retask(sim, order, now)
    _recount(sim, order)
    sim.store.touch("order", order)
    if order["status"] == "IN_PROGRESS":
        replan_order(sim, order, now)
