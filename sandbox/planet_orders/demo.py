"""`--demo`: archive orders of the demo's own captures and of fixed scenes, finished, partial and queued."""

from __future__ import annotations

from datetime import timedelta

from sandbox.planet_orders.catalog import FAILING_ITEMS, PSSCENE_ITEMS
from sandbox.planet_orders.orders import KIND, create_order
from sandbox.simulation import Simulation

CHAMONIX_CLIP = {"type": "Polygon", "coordinates": [[[6.32968245, 45.82695668], [6.32968294, 45.81749065],
                                                     [6.34141363, 45.81749011], [6.34141312, 45.82695623],
                                                     [6.32968245, 45.82695668]]]}


def seed_demo(sim: Simulation) -> int:
    """Place orders two hours back so they have finished by now, and one just now (queued). Returns orders made."""
    if any(True for _ in sim.store.all(KIND)):
        return 0  # never reseed a database that already has state
    account = next(iter(sim.accounts.values()))
    present = sim.clock.now()
    speed, sim.clock.speed = sim.clock.speed, 0.0
    sim.clock.set(present - timedelta(hours=2))
    scenes = [i for i in PSSCENE_ITEMS if i not in FAILING_ITEMS]
    made = [
        create_order(sim, account, {"name": "Demo: Chamonix scenes, clipped", "tools": [{"clip": {"aoi": CHAMONIX_CLIP}}],
                                    "products": [{"item_ids": scenes[:2], "item_type": "PSScene",
                                                  "product_bundle": "analytic_udm2"}]}, sim.clock.now()),
        create_order(sim, account, {"name": "Demo: Amsterdam (one item fails)", "products": [
            {"item_ids": ["20220628_101529_00_2262", *FAILING_ITEMS], "item_type": "PSScene",
             "product_bundle": "visual"}]}, sim.clock.now()),
        create_order(sim, account, {"name": "Demo: Amsterdam basemap quads", "source_type": "basemaps", "products": [
            {"mosaic_name": "global_monthly_2022_01_mosaic", "quad_ids": ["1050-1374", "1050-1375"]}]},
            sim.clock.now()),
    ]
    published = [c for c in sim.store.all("capture")
                 if c["_key"] == account.api_key and c["status"] == "PUBLISHED" and c.get("strip_id")]
    if published:  # the imagery of the demo's own tasking captures, clipped to their footprints
        capture = published[0]
        made.append(create_order(sim, account, {
            "name": "Demo: imagery of a tasking capture", "tools": [{"clip": {"aoi": capture["geometry"]}}],
            "products": [{"item_ids": [capture["strip_id"]], "item_type": "SkySatCollect",
                          "product_bundle": "visual"}]}, sim.clock.now()))
    sim.run_until(present)
    sim.clock.set(present)
    sim.clock.speed = speed
    made.append(create_order(sim, account, {"name": "Demo: just queued", "products": [
        {"item_ids": [scenes[2]], "item_type": "PSScene", "product_bundle": "visual"}]}, present))
    sim.store.commit()
    return len(made)
