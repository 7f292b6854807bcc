"""`--demo`: UP42 orders of the first account at each step of tasking, replayed from five days back."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Dict

from sandbox.simulation import Simulation
from sandbox.timefmt import format_time
from sandbox.up42 import catalog, orders

DAYS_BACK = 5


def _square(lon: float, lat: float, size: float = 0.08) -> Dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size],
                                                [lon, lat + size], [lon, lat]]]}


def _body(product: str, name: str, lon: float, lat: float, start: datetime, end: datetime,
          **params: Any) -> Dict[str, Any]:
    window = {"acquisitionStart": format_time(start), "acquisitionEnd": format_time(end)}
    optical = {"acquisitionMode": "mono", "radiometricProcessing": "reflectance", "geometricProcessing": "ortho",
               "spectralProcessing": "bundle", "deliveredAs": "geotiff", "cloudCoverage": 15,
               "incidenceAngle": 30, "pixelCoding": "12bits", "projection": 4326}
    if product in (catalog.PLEIADES_ANALYTIC, catalog.PNEO_ANALYTIC):
        window.update(optical)
    window.update(params)
    return {"dataProduct": product, "displayName": name, "params": window,
            "featureCollection": {"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {}, "geometry": _square(lon, lat)}]}}


def seed_demo(sim: Simulation) -> int:
    """Orders fulfilled, rejected, waiting for a study's or a quotation's answer, and one just placed."""
    if any(True for _ in sim.store.all(orders.ORDER_KIND)) or not sim.accounts:
        return 0  # never reseed a database that already has state
    account = next(iter(sim.accounts.values()))
    present = sim.clock.now()
    speed, sim.clock.speed = sim.clock.speed, 0.0
    sim.clock.set(present - timedelta(days=DAYS_BACK))
    start, end = present - timedelta(days=4), present + timedelta(days=30)

    def place(body: Dict[str, Any]) -> dict:
        (result,) = orders.place(sim, orders.OrderRequest(body), account)["results"]
        return sim.store.get(orders.ORDER_KIND, result["id"])

    def advance(hours: float) -> None:
        sim.run_until(sim.clock.advance(hours * 3600))

    def quotation_of(order: dict) -> dict:
        return sim.store.get(orders.QUOTATION_KIND, order["_quotation"])

    fulfilled = place(_body(catalog.PLEIADES_ANALYTIC, "Demo: Berlin, Pléiades (fulfilled)", 13.35, 52.48,
                            start, end))
    rejected = place(_body(catalog.WORLDVIEW_TASKING, "Demo: Vienna, WorldView (quotation rejected)", 16.33, 48.17,
                           start, end, acquisitionMode="mono", maxCloudCover=20, priority="STANDARD"))
    advance(4.5)
    study = sim.store.get(orders.STUDY_KIND, rejected["_study"])
    orders.decide_study(sim, study, {"acceptedOptionId": study["options"][0]["id"]})
    orders.decide_quotation(sim, quotation_of(fulfilled), {"decision": "ACCEPTED"})
    advance(3)
    orders.decide_quotation(sim, quotation_of(rejected), {"decision": "REJECTED"})
    advance(24 * DAYS_BACK - 12)
    place(_body(catalog.PNEO_ANALYTIC, "Demo: Rotterdam, Pléiades Neo (feasibility study to answer)", 4.42, 51.88,
                present, end, priority="STANDARD"))
    place(_body(catalog.SPOT_ANALYTIC, "Demo: Lyon, SPOT (quotation to answer)", 4.80, 45.72, present, end,
                spectralProcessing="bundle", maxCloudCover=20))
    sim.run_until(present)
    sim.clock.set(present)
    sim.clock.speed = speed
    place(_body(catalog.CAPELLA_SAR, "Demo: Hamburg, Capella SAR (just placed)", 9.95, 53.52, present, end,
                polarization="VV", resolution="1m", sceneSize="STRIP_5X10"))
    sim.store.commit()
    return 5
