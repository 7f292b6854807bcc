"""`--demo` also fills the Orders API: finished, partial and queued archive orders, one of a demo capture."""

from __future__ import annotations

import requests

from tests.sandbox.helpers import start_server, stop_server


def test_demo_has_archive_orders_including_a_capture_s_imagery():
    process, root = start_server(["--db", ":memory:", "--speed", "0", "--seed", "1", "--demo",
                                  "--start", "2030-06-01T10:00:00Z"])
    try:
        listed = requests.get(root + "/compute/ops/orders/v2", headers={"Authorization": "api-key sandbox"},
                              timeout=30).json()["orders"]
        states = {o["name"]: o["state"] for o in listed}
        assert states == {"Demo: just queued": "queued", "Demo: imagery of a tasking capture": "success",
                          "Demo: Amsterdam basemap quads": "success", "Demo: Amsterdam (one item fails)": "partial",
                          "Demo: Chamonix scenes, clipped": "success"}
        capture_order = next(o for o in listed if o["name"] == "Demo: imagery of a tasking capture")
        tif = next(r for r in capture_order["_links"]["results"] if r["name"].endswith(".tif"))
        assert "/SkySatCollect/" in tif["name"]
        assert requests.get(tif["location"], timeout=30).content[:4] == b"II*\x00"  # a TIFF
    finally:
        assert stop_server(process) == 0
