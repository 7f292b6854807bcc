"""Archive order forms refuse bad input before sending; clipped capture imagery, cancel and integrity of downloads."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import requests
from qgis.core import QgsGeometry, QgsRasterLayer, QgsRectangle

from core.errors import Cancelled, ValidationError
from core.services.planet_orders.client import ChecksumMismatch, OrdersClient
from core.services.planet_orders.forms import (
    basemap_request,
    capture_item_ids,
    clip_geojson,
    item_ids_from_text,
    scenes_request,
)
from tests.sandbox.helpers import advance_until

ITEM_A = "20220304_093300_37_2430"
# The document's clip AOI near ITEM_A (Chamonix).
CLIP_WKT = ("POLYGON((6.32968245 45.82695668, 6.32968294 45.81749065, 6.34141363 45.81749011, "
            "6.34141312 45.82695623, 6.32968245 45.82695668))")


@pytest.fixture
def orders(sandbox):
    client = OrdersClient(sandbox.root + "/compute/ops", sandbox.api_key, sleep=sandbox.sleep, timeout=30.0)
    yield client
    client.close()


def _api_requests(sandbox):
    return [r for r in sandbox.requests_seen() if r["path"].startswith("/compute/ops/")]


@pytest.mark.parametrize("build, field", [
    (lambda: scenes_request("x", []), "item_ids"),
    (lambda: scenes_request("x", ["2022 0304 093300"]), "item_ids"),
    (lambda: scenes_request("x", [ITEM_A], product_bundle="ultra_hd"), "product_bundle"),
    (lambda: scenes_request("x", [ITEM_A], item_type="Landsat9"), "item_type"),
    (lambda: scenes_request("  ", [ITEM_A]), "name"),
    (lambda: basemap_request("x", "global_monthly_2022_01_mosaic"), "quad_ids"),
    (lambda: basemap_request("x", "global_monthly_2022_01_mosaic", quad_ids=["1050/1374"]), "quad_ids"),
    (lambda: clip_geojson(QgsGeometry.fromWkt("POINT(6.33 45.82)"), "EPSG:4326"), "clip"),
    (lambda: clip_geojson(QgsGeometry.fromWkt(CLIP_WKT), "EPSG:4326",
                          [QgsGeometry.fromRect(QgsRectangle(4.8, 52.3, 4.9, 52.4))]), "clip"),
])
def test_bad_input_is_refused_by_field_before_anything_is_sent(sandbox, build, field):
    with pytest.raises(ValidationError) as refused:
        build()
    assert list(refused.value.field_errors) == [field] and str(refused.value)
    assert _api_requests(sandbox) == []


def test_pasted_ids_are_split_and_deduplicated():
    assert item_ids_from_text(f"{ITEM_A}, {ITEM_A}\n20220305_093440_25_2429") == [ITEM_A, "20220305_093440_25_2429"]


def test_a_clipped_scene_downloads_inside_the_clip_area(sandbox, orders, tmp_path):
    clip = clip_geojson(QgsGeometry.fromWkt(CLIP_WKT), "EPSG:4326")
    done = orders.wait_for(orders.create_order(scenes_request("clipped", [ITEM_A], clip=clip)), poll=30.0)
    report = orders.download_results(done, tmp_path)
    tif = next(p for p in report.files if p.name.endswith("_AnalyticMS_clip.tif"))
    layer = QgsRasterLayer(str(tif), "clipped")
    assert layer.isValid() and layer.bandCount() == 4
    assert QgsGeometry.fromWkt(CLIP_WKT).boundingBox().buffered(1e-6).contains(layer.extent())


def test_a_published_capture_is_ordered_by_its_strip_id_and_lands_as_a_raster(sandbox, factory, orders, tmp_path):
    tasking = factory()
    start = datetime.now(timezone.utc) + timedelta(hours=2)
    order = tasking.create_order({"name": "to archive", "geometry": {"type": "Point", "coordinates": [6.86, 45.92]},
                                  "start_time": start, "end_time": start + timedelta(days=14)})
    assert advance_until(sandbox, lambda: any(c.status == "PUBLISHED" for c in tasking.iter_captures(order.id)),
                         step=900)
    published = [c for c in tasking.iter_captures(order.id) if c.status == "PUBLISHED"][:1]
    request = scenes_request("capture imagery", capture_item_ids(published), item_type="SkySatCollect",
                             product_bundle="visual")
    done = orders.wait_for(orders.create_order(request), poll=30.0)
    assert done.state == "success"
    tif = next(p for p in orders.download_results(done, tmp_path).files if p.suffix == ".tif")
    assert QgsRasterLayer(str(tif), "capture").bandCount() == 3


def test_a_cancelled_download_leaves_no_file_under_its_name_and_resumes_later(sandbox, orders, tmp_path):
    sandbox.control("POST", "orders/raster-size", {"pixels": 1024})
    done = orders.wait_for(orders.create_order(scenes_request("big", [ITEM_A], product_bundle="visual")), poll=30.0)
    tif = next(r for r in done.results if r.name.endswith(".tif"))
    seen = []

    def stop_after_some_bytes():
        part = tmp_path / (tif.name + ".part")
        seen.append(part.exists() and part.stat().st_size > 0)
        return seen[-1]

    with pytest.raises(Cancelled):
        orders.download_results(done, tmp_path, is_canceled=stop_after_some_bytes)
    assert not (tmp_path / tif.name).exists() and (tmp_path / (tif.name + ".part")).exists()
    report = orders.download_results(done, tmp_path)
    assert report.resumed == 1 and QgsRasterLayer(str(tmp_path / tif.name), "resumed").isValid()
    assert (tmp_path / tif.name).read_bytes() == requests.get(tif.location, timeout=30).content


def test_a_file_that_never_matches_the_manifest_is_refused_and_not_kept(sandbox, orders, tmp_path, monkeypatch):
    done = orders.wait_for(orders.create_order(scenes_request("bad bytes", [ITEM_A], product_bundle="visual")),
                           poll=30.0)
    real_digests = OrdersClient._manifest_digests
    # The sandbox always serves the right bytes; manifest digests of the rasters that never match them stand
    # in for a broken cache or disk that corrupts every copy, fresh downloads included.
    monkeypatch.setattr(OrdersClient, "_manifest_digests", staticmethod(lambda manifest, path: {
        name: dict(entry, md5="0" * 32, sha256="0" * 64) if name.endswith(".tif") else entry
        for name, entry in real_digests(manifest, path).items()}))
    with pytest.raises(ChecksumMismatch, match="Visual.tif"):
        orders.download_results(done, tmp_path)
    assert not list(tmp_path.rglob("*.tif")) and not list(tmp_path.rglob("*.tif.part"))


def test_queue_stats_and_bulk_cancel(sandbox, orders):
    first = orders.create_order(scenes_request("one", [ITEM_A]))
    orders.create_order(scenes_request("two", [ITEM_A]))
    assert orders.stats()["user"]["queued_orders"] == 2
    outcome = orders.bulk_cancel([first.id])
    assert outcome["result"]["succeeded"]["count"] == 1
    assert orders.bulk_cancel()["result"]["succeeded"]["count"] == 1
    assert {o.state for o in orders.iter_orders()} == {"cancelled"}
