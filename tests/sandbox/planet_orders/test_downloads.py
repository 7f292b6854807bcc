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


def test_a_malformed_fault_on_a_download_cuts_the_file_short_and_a_range_request_completes_it(sandbox):
    orders = Orders(sandbox.root, sandbox.api_key)
    location = _finished_tif(sandbox, orders)["location"]
    whole = requests.get(location, timeout=30).content
    sandbox.fault(path="^/compute/ops/download/$", kind="malformed", when="after", count=1)
    received = b""
    try:
        with requests.get(location, stream=True, timeout=30) as cut:
            assert int(cut.headers["Content-Length"]) == len(whole)
            for chunk in cut.iter_content(4096):
                received += chunk
    except requests.exceptions.ChunkedEncodingError:
        pass  # the connection closed before the promised length
    assert 0 < len(received) < len(whole)
    rest = requests.get(location, headers={"Range": f"bytes={len(received)}-"}, timeout=30)
    assert rest.status_code == 206 and received + rest.content == whole


def test_zip_archives_per_item_or_one_for_the_order(sandbox, tmp_path):
    import io
    import zipfile

    orders = Orders(sandbox.root, sandbox.api_key)
    products = [{"item_ids": [ITEM_A, "20220305_093440_25_2429"], "item_type": "PSScene", "product_bundle": "visual"}]
    per_item = orders.create(products=products, delivery={"archive_type": "zip"})
    single = orders.create(name="single", products=products,
                           delivery={"archive_type": "zip", "single_archive": True})
    sandbox.advance(3600)
    names = sorted(r["name"] for r in orders.get(per_item["id"])["_links"]["results"])
    assert names == [f"{per_item['id']}/PSScene/{ITEM_A}.zip", f"{per_item['id']}/PSScene/20220305_093440_25_2429.zip",
                     f"{per_item['id']}/manifest.json"]
    results = orders.get(single["id"])["_links"]["results"]
    assert sorted(r["name"] for r in results) == [f"{single['id']}/manifest.json",
                                                  f"{single['id']}/single_{single['id']}.zip"]
    archive = next(r for r in results if r["name"].endswith(".zip"))
    first, again = (requests.get(archive["location"], timeout=30).content for _ in range(2))
    assert first == again  # the same bytes on every download, so the manifest's digest holds
    with zipfile.ZipFile(io.BytesIO(first)) as opened:
        assert f"PSScene/{ITEM_A}_3B_Visual.tif" in opened.namelist()
        opened.extract(f"PSScene/{ITEM_A}_3B_Visual.tif", tmp_path)
    manifest = requests.get(next(r for r in results if r["name"].endswith("manifest.json"))["location"],
                            timeout=30).json()
    assert manifest["files"][0]["digests"]["md5"] == hashlib.md5(first).hexdigest()
    from qgis.core import QgsRasterLayer

    assert QgsRasterLayer(str(tmp_path / "PSScene" / f"{ITEM_A}_3B_Visual.tif"), "zipped").isValid()
