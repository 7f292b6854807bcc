"""Assured replacement: which active orders a window collides with, their cancellation, and the new order's price."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import List, Optional

from sandbox.accounts import Account
from sandbox.planet_tasking.cancellation import begin_cancellation
from sandbox.planet_tasking.pricing import model_for_values, order_cost, pricing_document
from sandbox.planet_tasking.states import ACTIVE, SLEW_MARGIN
from sandbox.simulation import Simulation
from sandbox.timefmt import parse_time


def satellite_of(pass_key: str) -> str:
    """The satellite part of orbits.py's pass key "<SATELLITE>:<closest approach>Z[#n]"."""
    return pass_key.split(":", 1)[0]


def conflicting_assured_orders(sim: Simulation, account: Account, window: dict,
                               exclude: Optional[str] = None) -> List[dict]:
    """The key's active assured orders the satellite could not also serve if it took this window.

    Same pass, or the same satellite busy at overlapping times (with SLEW_MARGIN to re-point):
    a long window can therefore collide with several orders on nearby targets.
    """
    satellite = satellite_of(window["pass_key"])
    start = parse_time(window["start_time"]) - timedelta(seconds=SLEW_MARGIN)
    end = parse_time(window["end_time"]) + timedelta(seconds=SLEW_MARGIN)
    found = []
    for order in sim.store.all("order"):
        if order.get("_key") != account.api_key or not order.get("_pass_key") or order["id"] == exclude:
            continue
        if order["status"] not in ACTIVE:
            continue
        if order["_pass_key"] == window["pass_key"] or (
                satellite_of(order["_pass_key"]) == satellite
                and parse_time(order["start_time"]) < end and parse_time(order["end_time"]) > start):
            found.append(order)
    return found


def replaced_entries(orders: List[dict]) -> List[dict]:
    """The pricing document's `replaced_orders`: what each replaced order cost."""
    return [{"order_id": o["id"], "name": o["name"], "cost": order_cost(o)} for o in orders]


def price_new_order(sim: Simulation, account: Account, order: dict) -> dict:
    """A new order's pricing; an assured one notes the orders its window will replace (in `_replaces`)."""
    model = model_for_values({**order, "_window": order.get("_window")})
    conflicts: List[dict] = []
    if order.get("_pass_key"):
        window = {"pass_key": order["_pass_key"], "start_time": order["start_time"], "end_time": order["end_time"]}
        conflicts = conflicting_assured_orders(sim, account, window, exclude=order["id"])
    # They are cancelled only once the new order is locked in, when it is accepted (see `replace`).
    order["_replaces"] = [o["id"] for o in conflicts]
    return pricing_document(model, replaced_entries(conflicts))


def replace(sim: Simulation, order: dict, now: datetime) -> None:
    """The new assured order is locked in: the orders its window replaces are cancelled, free of charge."""
    for replaced_id in order.get("_replaces") or []:
        replaced = sim.store.get("order", replaced_id)
        if replaced and replaced["status"] in ACTIVE:
            begin_cancellation(sim, replaced, now, replaced_by=order["id"])
            sim.store.touch("order", replaced)
