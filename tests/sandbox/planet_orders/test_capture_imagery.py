"""A tasking capture's imagery is orderable as SkySatCollect by its strip id, for its own key only."""

from __future__ import annotations

import requests

from tests.sandbox.helpers import advance_until, future
from tests.sandbox.planet_orders.test_orders_api import Orders


def test_a_published_capture_is_ordered_clipped_and_downloaded_over_its_footprint(sandbox, api, tmp_path):
    order = api.create(start_time=future(hours=2), end_time=future(days=14))
    assert advance_until(sandbox, lambda: any(c["status"] == "PUBLISHED" for c in api.captures(order["id"])),
                         step=900)
    capture = next(c for c in api.captures(order["id"]) if c["status"] == "PUBLISHED")
    orders = Orders(sandbox.root, sandbox.api_key)
    product = {"item_ids": [capture["strip_id"]], "item_type": "SkySatCollect", "product_bundle": "visual"}
    stranger = Orders(sandbox.root, sandbox.other_key).call("POST", "orders/v2", json={
        "name": "not mine", "products": [product]})
    assert stranger.status_code == 400  # another organisation's capture is not its archive
    assert stranger.json()["field"]["Details"][0]["message"].startswith(
        f"No access to assets: SkySatCollect/{capture['strip_id']}/")
    archive = orders.create(name="capture imagery", products=[product],
                            tools=[{"clip": {"aoi": capture["geometry"]}}])
    sandbox.advance(3600)
    done = orders.get(archive["id"])
    assert done["state"] == "success", done
    tif = next(r for r in done["_links"]["results"] if r["name"].endswith(".tif"))
    assert tif["name"] == f"{archive['id']}/SkySatCollect/{capture['strip_id']}_3B_Visual_clip.tif"
    path = tmp_path / "capture.tif"
    path.write_bytes(requests.get(tif["location"], timeout=30).content)
    from qgis.core import QgsRasterLayer, QgsRectangle

    layer = QgsRasterLayer(str(path), "capture")
    assert layer.isValid() and layer.bandCount() == 3
    ring = capture["geometry"]["coordinates"][0]
    footprint = QgsRectangle(min(p[0] for p in ring), min(p[1] for p in ring),
                             max(p[0] for p in ring), max(p[1] for p in ring))
    assert abs(layer.extent().xMinimum() - footprint.xMinimum()) < 1e-6
    assert abs(layer.extent().yMaximum() - footprint.yMaximum()) < 1e-6
