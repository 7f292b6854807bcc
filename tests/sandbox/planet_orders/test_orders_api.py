"""The Orders API v2 over real HTTP: every endpoint, its status codes and error texts, lifecycle, paging, downloads."""

from __future__ import annotations

from typing import Any, Dict
from urllib.parse import urlsplit

import pytest
import requests

ITEM_A = "20220304_093300_37_2430"
ITEM_B = "20220305_093440_25_2429"
FAILING = "20220628_101531_25_2262_failing"
AMSTERDAM = "20220628_101529_00_2262"
# The document's clip AOI (near Chamonix): it overlaps ITEM_A and ITEM_B.
CLIP_AOI = {"type": "Polygon", "coordinates": [[[6.32968245, 45.82695668], [6.32968294, 45.81749065],
                                                [6.34141363, 45.81749011], [6.34141312, 45.82695623],
                                                [6.32968245, 45.82695668]]]}


class Orders:
    """A documented client: `Authorization: api-key KEY` against /compute/ops/."""

    def __init__(self, root: str, key: str):
        self.base = root + "/compute/ops/"
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"api-key {key}"

    def call(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        url = path if path.startswith("http") else self.base + path
        return self.session.request(method, url, timeout=30, **kwargs)

    def create(self, **payload: Any) -> Dict[str, Any]:
        payload.setdefault("name", "archive order")
        payload.setdefault("products", [{"item_ids": [ITEM_A], "item_type": "PSScene",
                                         "product_bundle": "analytic_udm2"}])
        response = self.call("POST", "orders/v2", json=payload)
        assert response.status_code == 202, response.text
        return response.json()

    def get(self, order_id: str) -> Dict[str, Any]:
        response = self.call("GET", f"orders/v2/{order_id}")
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def orders(sandbox) -> Orders:
    return Orders(sandbox.root, sandbox.api_key)


@pytest.fixture
def other_orders(sandbox) -> Orders:
    return Orders(sandbox.root, sandbox.other_key)


def test_create_answers_the_queued_order_with_its_links_and_location(orders):
    response = orders.call("POST", "orders/v2", json={
        "name": "scenes order", "products": [{"item_ids": [ITEM_A, ITEM_B], "item_type": "PSScene",
                                              "product_bundle": "analytic_udm2"}]})
    assert response.status_code == 202
    order = response.json()
    assert order["state"] == "queued" and order["source_type"] == "scenes"  # source_type defaults to scenes
    assert order["_links"] == {"_self": orders.base + "orders/v2/" + order["id"]}
    assert response.headers["Location"] == order["_links"]["_self"]
    assert order["error_hints"] == [] and order["last_message"]
    assert orders.get(order["id"])["name"] == "scenes order"


@pytest.mark.parametrize("payload, field, text", [
    ({"products": [{"item_ids": [ITEM_A], "item_type": "PSScene", "product_bundle": "visual"}]}, "Name",
     "name is required."),
    ({"name": "x", "products": []}, "Products", "products is required and must not be empty."),
    ({"name": "x", "products": [{"item_ids": ["20990101_000000_00_0000"], "item_type": "PSScene",
                                 "product_bundle": "visual"}]}, "Details",
     "No access to assets: PSScene/20990101_000000_00_0000/[ortho_visual]"),
    ({"name": "x", "products": [{"item_ids": [ITEM_A], "item_type": "PSScene", "product_bundle": "nope"}]},
     "Products", "Bundle type/s: nope are not supported for item type PSScene."),
    ({"name": "x", "products": [{"item_ids": [ITEM_A], "item_type": "Landsat9", "product_bundle": "visual"}]},
     "Products", "Unsupported item type: Landsat9."),
    ({"name": "x", "tools": [{"sharpen": {}}],
      "products": [{"item_ids": [ITEM_A], "item_type": "PSScene", "product_bundle": "visual"}]}, "Tools",
     "Unsupported tool: sharpen. Supported tools: clip, composite, bandmath, reproject, tile, toar, harmonize, "
     "coregister, file_format."),
    ({"name": "x", "delivery": {"google_cloud_storage": {"bucket": "b"}},
      "products": [{"item_ids": [ITEM_A], "item_type": "PSScene", "product_bundle": "visual"}]}, "Delivery",
     "google_cloud_storage: credentials is required."),
    ({"name": "x", "source_type": "basemaps", "products": [{"mosaic_name": "global_monthly_2022_01_mosaic"}]},
     "Products", "A basemap product needs either geometry or quad_ids, not both."),
])
def test_a_bad_request_is_refused_with_the_services_400(orders, payload, field, text):
    response = orders.call("POST", "orders/v2", json=payload)
    assert response.status_code == 400
    assert response.json() == {"field": {field: [{"message": text}]}, "general": [{"message": "Unable to accept order"}]}
    assert orders.call("GET", "orders/v2").json()["orders"] == []


def test_missing_or_wrong_key_is_a_401_and_other_keys_orders_are_absent(sandbox, orders, other_orders):
    assert requests.get(orders.base + "orders/v2", timeout=30).status_code == 401
    order = orders.create()
    response = other_orders.call("GET", f"orders/v2/{order['id']}")
    assert response.status_code == 404
    assert response.json()["general"] == [{"message": f"Order {order['id']} not found"}]
    assert other_orders.call("GET", "orders/v2").json()["orders"] == []


def test_lifecycle_runs_on_simulated_time_and_results_download_as_geotiffs(sandbox, orders, tmp_path):
    order = orders.create(products=[{"item_ids": [ITEM_A, ITEM_B], "item_type": "PSScene",
                                     "product_bundle": "analytic_udm2"}])
    sandbox.advance(31)
    assert orders.get(order["id"])["state"] == "running"
    sandbox.advance(600)
    done = orders.get(order["id"])
    assert done["state"] == "success"
    results = done["_links"]["results"]
    names = sorted(r["name"] for r in results)
    assert f"{order['id']}/PSScene/{ITEM_A}_3B_AnalyticMS.tif" in names
    assert f"{order['id']}/manifest.json" in names
    tif = next(r for r in results if r["name"].endswith(f"{ITEM_A}_3B_AnalyticMS.tif"))
    assert tif["delivery"] == "success" and tif["expires_at"]
    download = requests.get(tif["location"], timeout=30)  # no key needed
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == f'attachment; filename="{ITEM_A}_3B_AnalyticMS.tif"'
    assert int(download.headers["Content-Length"]) == len(download.content)
    path = tmp_path / f"{ITEM_A}_3B_AnalyticMS.tif"
    path.write_bytes(download.content)
    from qgis.core import QgsRasterLayer

    layer = QgsRasterLayer(str(path), "scene")
    assert layer.isValid()
    assert layer.bandCount() == 4  # the analytic bundle's four bands
    assert layer.crs().authid() == "EPSG:4326"
    extent = layer.extent()
    assert (round(extent.xMinimum(), 6), round(extent.yMinimum(), 6)) == (6.30, 45.80)
    manifest = requests.get(next(r for r in results if r["name"].endswith("manifest.json"))["location"],
                            timeout=30).json()
    import hashlib

    entry = next(f for f in manifest["files"] if f["path"] == f"PSScene/{ITEM_A}_3B_AnalyticMS.tif")
    assert entry["digests"]["md5"] == hashlib.md5(download.content).hexdigest()


def test_clip_delivers_the_raster_over_the_clip_aoi_only(sandbox, orders, tmp_path):
    order = orders.create(tools=[{"clip": {"aoi": CLIP_AOI}}], products=[
        {"item_ids": [ITEM_A], "item_type": "PSScene", "product_bundle": "visual"}])
    sandbox.advance(3600)
    results = orders.get(order["id"])["_links"]["results"]
    tif = next(r for r in results if r["name"].endswith("_Visual_clip.tif"))
    path = tmp_path / "clip.tif"
    path.write_bytes(requests.get(tif["location"], timeout=30).content)
    from qgis.core import QgsRasterLayer

    layer = QgsRasterLayer(str(path), "clip")
    assert layer.isValid() and layer.bandCount() == 3
    extent = layer.extent()
    assert abs(extent.xMinimum() - 6.32968245) < 1e-6 and abs(extent.xMaximum() - 6.34141363) < 1e-6
    assert abs(extent.yMinimum() - 45.81749011) < 1e-6 and abs(extent.yMaximum() - 45.82695668) < 1e-6


def test_an_order_with_a_failing_item_is_partial_and_one_with_only_failing_items_failed(sandbox, orders):
    partial = orders.create(products=[{"item_ids": [AMSTERDAM, FAILING], "item_type": "PSScene",
                                       "product_bundle": "visual"}])
    failed = orders.create(products=[{"item_ids": [FAILING], "item_type": "PSScene", "product_bundle": "visual"}])
    missed = orders.create(tools=[{"clip": {"aoi": CLIP_AOI}}], products=[
        {"item_ids": [AMSTERDAM], "item_type": "PSScene", "product_bundle": "visual"}])
    sandbox.advance(3600)
    partial, failed, missed = (orders.get(o["id"]) for o in (partial, failed, missed))
    assert partial["state"] == "partial"
    assert partial["error_hints"] == [f"PSScene/{FAILING}: processing failed (asset could not be activated)."]
    assert any(r["name"].endswith(f"{AMSTERDAM}_3B_Visual.tif") for r in partial["_links"]["results"])
    assert failed["state"] == "failed" and "results" not in failed["_links"]
    assert missed["state"] == "failed"
    assert missed["error_hints"] == [f"PSScene/{AMSTERDAM}: the clip AOI does not intersect the item."]


def test_download_links_expire_and_a_new_get_renews_them(sandbox, orders):
    order = orders.create()
    sandbox.advance(3600)
    location = orders.get(order["id"])["_links"]["results"][0]["location"]
    sandbox.advance(3601)
    expired = requests.get(location, timeout=30)
    assert expired.status_code == 401
    assert expired.json() == {"message": "Download token has expired; GET the order again for a fresh location."}
    fresh = orders.get(order["id"])["_links"]["results"][0]["location"]
    assert requests.get(fresh, timeout=30).status_code == 200
    tampered = fresh[:-1] + ("0" if fresh[-1] != "0" else "1")
    assert requests.get(tampered, timeout=30).json() == {"message": "Invalid download token."}


def test_cancel_only_while_queued(sandbox, orders):
    queued = orders.create()
    response = orders.call("PUT", f"orders/v2/{queued['id']}")
    assert response.status_code == 200 and response.json()["state"] == "cancelled"
    running = orders.create()
    sandbox.advance(31)
    refused = orders.call("PUT", f"orders/v2/{running['id']}")
    assert refused.status_code == 409
    assert refused.json()["general"] == [{"message": f"Order {running['id']} cannot be cancelled: it is running; "
                                                     "only queued orders can be cancelled."}]
    sandbox.advance(3600)
    assert orders.get(running["id"])["state"] == "success"
    assert orders.get(queued["id"])["state"] == "cancelled"  # the queue never picks up a cancelled order


def test_bulk_cancel_by_ids_and_every_queued_order(sandbox, orders):
    running = orders.create()
    sandbox.advance(31)
    first, second, third = orders.create(), orders.create(), orders.create()
    missing = "0b1f1a52-4f0e-4a36-9d33-7f0ad1b8e1c2"
    response = orders.call("POST", "bulk/orders/v2/cancel",
                           json={"order_ids": [first["id"], running["id"], missing]})
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["succeeded"] == {"count": 1}
    assert result["failed"]["count"] == 2
    assert {f["order_id"] for f in result["failed"]["failures"]} == {running["id"], missing}
    everything = orders.call("POST", "bulk/orders/v2/cancel", json={}).json()["result"]
    assert everything["succeeded"] == {"count": 2} and everything["failed"]["count"] == 0
    assert {orders.get(o["id"])["state"] for o in (second, third)} == {"cancelled"}
    assert orders.get(running["id"])["state"] == "running"


def test_stats_count_queued_and_running_orders(sandbox, orders, other_orders):
    orders.create()
    sandbox.advance(31)
    orders.create()
    orders.create()
    other_orders.create()
    stats = orders.call("GET", "stats/orders/v2").json()
    assert stats == {"organization": {"queued_orders": 2, "running_orders": 1},
                     "user": {"queued_orders": 2, "running_orders": 1}}


def test_list_pages_follow_next_links_newest_first(sandbox, orders):
    made = []
    for number in range(45):
        made.append(orders.create(name=f"order {number:02d}")["id"])
        sandbox.advance(1)
    seen, url, pages = [], orders.base + "orders/v2", 0
    while url:
        page = orders.call("GET", url).json()
        seen += [o["id"] for o in page["orders"]]
        url = page["_links"].get("next")
        pages += 1
        assert url is None or urlsplit(url).scheme == "http"  # absolute, as a client follows it
    assert pages == 3 and seen == list(reversed(made))


def test_list_filters_and_sorting(sandbox, orders):
    early = orders.create(name="b early")
    sandbox.advance(31)
    late = orders.create(name="a late", hosting={"sentinel_hub": {}})
    basemap = orders.create(name="c basemap", source_type="basemaps", products=[
        {"mosaic_name": "global_monthly_2022_01_mosaic", "quad_ids": ["1050-1374", "1050-1375"]}])
    assert late["hosting"]["sentinel_hub"]["collection_id"]

    def names(**params: str):
        response = orders.call("GET", "orders/v2", params=params)
        assert response.status_code == 200, response.text
        return [o["name"] for o in response.json()["orders"]]

    assert names(state="running") == ["b early"]
    assert names(source_type="basemaps") == ["c basemap"]
    assert names(source_type="all") == ["c basemap", "a late", "b early"]
    assert names(hosting="true") == ["a late"]
    assert names(created_on=f"../{early['created_on']}") == ["b early"]
    assert names(created_on=f"{late['created_on']}/..", sort_by="name ASC") == ["a late", "c basemap"]
    assert names(sort_by="created_on ASC") == ["b early", "a late", "c basemap"]
    bad = orders.call("GET", "orders/v2", params={"state": "done"})
    assert bad.status_code == 400
    assert bad.json()["general"] == [
        {"message": "Invalid state: done; one of queued, running, success, partial, failed, cancelled."}]
    assert orders.call("GET", "orders/v2", params={"sort_by": "colour DESC"}).status_code == 400
    assert basemap["state"] == "queued"


def test_basemap_quads_are_delivered_over_their_grid_cells(sandbox, orders, tmp_path):
    order = orders.create(source_type="basemaps", products=[
        {"mosaic_name": "global_monthly_2022_01_mosaic", "geometry": {"type": "Polygon", "coordinates": [[
            [4.607406, 52.353994], [4.680005, 52.353994], [4.680005, 52.395523], [4.607406, 52.395523],
            [4.607406, 52.353994]]]}}])
    sandbox.advance(3600)
    done = orders.get(order["id"])
    assert done["state"] == "success"
    quads = [r for r in done["_links"]["results"] if r["name"].endswith(".tif")]
    assert f"{order['id']}/global_monthly_2022_01_mosaic/quads/1050-1374.tif" in [q["name"] for q in quads]
    path = tmp_path / "quad.tif"
    path.write_bytes(requests.get(quads[0]["location"], timeout=30).content)
    from qgis.core import QgsRasterLayer

    layer = QgsRasterLayer(str(path), "quad")
    assert layer.isValid()
    assert layer.extent().intersects(__import__("qgis.core", fromlist=["QgsRectangle"]).QgsRectangle(
        4.607406, 52.353994, 4.680005, 52.395523))


def test_wrong_method_and_unknown_paths(orders):
    response = orders.call("DELETE", "orders/v2")
    assert response.status_code == 405 and response.headers["Allow"] == "GET, POST"
    assert orders.call("GET", "orders/v2/not-a-uuid").status_code == 404
    assert orders.call("GET", "orders/v3").status_code == 404


def test_a_cloud_delivery_lists_its_results_without_download_links(sandbox, orders):
    order = orders.create(delivery={"amazon_s3": {"bucket": "b", "aws_region": "eu-west-1",
                                                  "aws_access_key_id": "id", "aws_secret_access_key": "secret"}})
    assert order["delivery"]["amazon_s3"]["bucket"] == "b"
    sandbox.advance(3600)
    results = orders.get(order["id"])["_links"]["results"]
    assert results and all(r["delivery"] == "success" and "location" not in r for r in results)


def test_a_full_order_fails_whole_when_one_item_fails(sandbox, orders):
    full = orders.create(order_type="full", products=[{"item_ids": [AMSTERDAM, FAILING], "item_type": "PSScene",
                                                       "product_bundle": "visual"}])
    sandbox.advance(3600)
    done = orders.get(full["id"])
    assert done["state"] == "failed" and "results" not in done["_links"]
    assert done["error_hints"] == [f"PSScene/{FAILING}: processing failed (asset could not be activated)."]
    assert orders.call("POST", "orders/v2", json={"name": "x", "order_type": "some", "products": [
        {"item_ids": [ITEM_A], "item_type": "PSScene", "product_bundle": "visual"}]}).status_code == 400


def test_only_orders_of_the_last_three_months_are_listed(sandbox, orders):
    old = orders.create(name="old")
    sandbox.advance(93 * 86400)
    orders.create(name="new")
    assert [o["name"] for o in orders.call("GET", "orders/v2").json()["orders"]] == ["new"]
    assert orders.get(old["id"])["state"] == "success"  # still there by id
