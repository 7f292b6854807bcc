"""Result downloads as a resuming client and a benchmark use them: ranges, HEAD, big rasters, the bundles spec."""

from __future__ import annotations

import hashlib

import requests

from tests.sandbox.planet_orders.test_orders_api import ITEM_A, Orders


def _finished_tif(sandbox, orders: Orders, bundle: str = "analytic_udm2") -> dict:
    order = orders.create(products=[{"item_ids": [ITEM_A], "item_type": "PSScene", "product_bundle": bundle}])
    sandbox.advance(3600)
    done = orders.get(order["id"])
    return next(r for r in done["_links"]["results"] if r["name"].endswith(".tif"))


def test_a_download_resumes_from_a_byte_range(sandbox):
    orders = Orders(sandbox.root, sandbox.api_key)
    location = _finished_tif(sandbox, orders)["location"]
    whole = requests.get(location, timeout=30)
    assert whole.headers["Accept-Ranges"] == "bytes"
    assert whole.headers["ETag"] == '"' + hashlib.md5(whole.content).hexdigest() + '"'
    tail = requests.get(location, headers={"Range": "bytes=1000-"}, timeout=30)
    assert tail.status_code == 206
    assert tail.headers["Content-Range"] == f"bytes 1000-{len(whole.content) - 1}/{len(whole.content)}"
    assert whole.content[:1000] + tail.content == whole.content
    middle = requests.get(location, headers={"Range": "bytes=10-19"}, timeout=30)
    assert middle.status_code == 206 and middle.content == whole.content[10:20]
    beyond = requests.get(location, headers={"Range": f"bytes={len(whole.content)}-"}, timeout=30)
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(whole.content)}"
    head = requests.head(location, timeout=30)
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(whole.content)
    assert head.content == b""


def test_the_raster_size_knob_makes_big_files_for_orders_finished_after_it(sandbox):
    orders = Orders(sandbox.root, sandbox.api_key)
    small = requests.get(_finished_tif(sandbox, orders, "visual")["location"], timeout=30)
    assert sandbox.control("POST", "orders/raster-size", {"pixels": 2048}) == {"pixels": 2048}
    big = requests.get(_finished_tif(sandbox, orders, "visual")["location"], timeout=60)
    assert len(big.content) > 2048 * 1000 * 3 > 20 * len(small.content)
    sandbox.reset()
    assert sandbox.control("GET", "orders/raster-size") == {"pixels": 64}


def test_the_bundles_spec_lists_each_bundles_assets_per_item_type(sandbox):
    spec = requests.get(sandbox.root + "/compute/ops/bundles/spec", timeout=30).json()["bundles"]
    assert spec["analytic_udm2"]["assets"]["PSScene"] == ["ortho_analytic_4b", "ortho_udm2"]
    assert spec["visual"]["assets"]["SkySatCollect"] == ["ortho_visual"]


def test_faults_apply_to_the_orders_api(sandbox):
    orders = Orders(sandbox.root, sandbox.api_key)
    sandbox.fault(path="^/compute/ops/orders/v2$", kind="status", status=503, count=1, retry_after=2)
    refused = orders.call("GET", "orders/v2")
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "2"
    assert orders.call("GET", "orders/v2").status_code == 200
