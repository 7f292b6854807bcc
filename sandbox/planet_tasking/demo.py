"""`--demo`: a few orders in various states, with captures, placed in the simulated past of an empty database."""

from __future__ import annotations

from datetime import timedelta

from sandbox.errors import ApiError
from sandbox.planet_tasking import windows
from sandbox.planet_tasking.cancellation import cancel_order
from sandbox.planet_tasking.orders import create_order
from sandbox.simulation import Simulation
from sandbox.timefmt import format_time

DEMO_DAYS_BACK = 6


def _point(lon: float, lat: float) -> dict:
    return {"type": "Point", "coordinates": [lon, lat]}


def seed_demo(sim: Simulation) -> int:
    """Replay a week of activity for the first API key, then return the clock to the present. Returns orders made."""
    if any(True for _ in sim.store.all("order")):
        return 0  # never reseed a database that already has state
    account = next(iter(sim.accounts.values()))
    present = sim.clock.now()
    past = present - timedelta(days=DEMO_DAYS_BACK)
    sim.clock.set(past)
    speed, sim.clock.speed = sim.clock.speed, 0.0
    made = 0

    def create(payload: dict) -> dict:
        nonlocal made
        order = create_order(sim, account, payload, sim.clock.now())
        made += 1
        return order

    def advance(hours: float) -> None:
        sim.run_until(sim.clock.advance(hours * 3600))

    create({"name": "Demo: Sydney harbour (point)", "geometry": _point(151.2153, -33.8568)})
    create({"name": "Demo: Salt Lake area", "geometry": {"type": "Polygon", "coordinates": [[
        [-111.02062225341797, 39.58637603706183], [-110.9095573425293, 39.58637603706183],
        [-110.9095573425293, 39.670992062375056], [-111.02062225341797, 39.670992062375056],
        [-111.02062225341797, 39.58637603706183]]]}})
    create({"name": "Demo: short window (expires)", "geometry": _point(2.3522, 48.8566),
            "end_time": format_time(past + timedelta(hours=20))})
    advance(24)
    cancelled = create({"name": "Demo: cancelled", "geometry": _point(-0.1276, 51.5072)})
    advance(2)
    cancel_order(sim, account, cancelled["id"], sim.clock.now(), accept_charge=True)
    create({"name": "Demo: Bavarian strip", "geometry": {"type": "LineString", "coordinates": [
        [10.92041015625, 48.91527985344383], [10.78857421875, 49.0738659012854]]}})
    advance(24 * (DEMO_DAYS_BACK - 2))
    search = windows.create_search(sim, account, {"geometry": _point(13.350097, 52.514511),
                                                  "pl_number": account.default_pl_number,
                                                  "product": account.product_for_scheduling_type("ASSURED")},
                                   sim.clock.now())
    advance(0.1)
    assured = [w for w in search["_windows"] if w["start_time"] > format_time(sim.clock.now() + timedelta(hours=30))]
    if assured:
        try:
            create({"name": "Demo: Berlin assured", "imaging_window": assured[0]["id"],
                    "product": account.product_for_scheduling_type("ASSURED")})
        except ApiError:
            pass
    create({"name": "Demo: stereo starting later", "geometry": _point(-110.974052, 39.634139),
            "order_type": "STEREO", "n_stereo_pov": 2,
            "start_time": format_time(present + timedelta(days=2)),
            "end_time": format_time(present + timedelta(days=20))})
    sim.run_until(present)
    sim.clock.set(present)
    sim.clock.speed = speed
    create({"name": "Demo: just received", "geometry": _point(139.6917, 35.6895)})
    sim.store.commit()
    return made
