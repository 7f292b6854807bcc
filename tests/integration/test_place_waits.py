"""Placing an order while the service asks to wait: the long wait is said, and still one order is made."""

from __future__ import annotations

import re
import time

from qgis.core import QgsCoordinateReferenceSystem, QgsGeometry, QgsPointXY, QgsProject

from core.aoi import aoi_from_geometry
from core.app.place import PlaceOrderWorkflow
from core.app.quote import QuoteWorkflow
from core.services.planet_tasking.client import TaskingClient
from tests.unit.test_new_order_workflows import Current, a_form

WAIT_MS = 20_000


def test_a_long_wait_the_service_asks_for_is_said_while_placing(qtbot, sandbox, qgis_new_project):
    aoi = aoi_from_geometry(QgsGeometry.fromPointXY(QgsPointXY(13.4, 52.52)), QgsCoordinateReferenceSystem("EPSG:4326"))
    # The service is busy: 503 with Retry-After 30 on the first POST, before it makes anything.
    sandbox.fault(path=r"^/tasking/v2/orders/$", method="POST", kind="status", status=503, retry_after=30, count=1)
    waited = []

    def sleep(seconds: float) -> None:  # records the wait, and lets a moment of it really pass
        waited.append(seconds)
        time.sleep(min(seconds, 0.6))

    def client() -> TaskingClient:
        return TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sleep)

    form = a_form(name="Busy service", pl_number="")
    placing = PlaceOrderWorkflow(QuoteWorkflow(Current(form, aoi), client), lambda *args: True, client)
    said = []
    placing.waiting.connect(said.append)
    with qtbot.waitSignal(placing.placed, timeout=WAIT_MS) as placed:
        placing.place(form, aoi)
    assert placed.args[1].name == "Busy service"
    asked = re.search(r"waiting (\d+) s as the service asked", said[0]) if said else None
    assert asked and 30 <= int(asked.group(1)) <= 33  # Retry-After 30, plus at most 10 % jitter
    assert 30 <= max(waited) <= 33
    created = [r for r in sandbox.requests_seen() if r["method"] == "POST" and r["path"].endswith("/orders/")]
    assert len(created) == 2  # refused once (nothing made), then made: one order
    assert TaskingClient(sandbox.tasking_url, sandbox.api_key).count_orders(name="Busy service") == 1
    QgsProject.instance().removeAllMapLayers()
