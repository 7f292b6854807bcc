"""OrdersClient against the sandbox's Orders API over HTTP: lifecycle, paging, cancel, downloads, faults."""

from __future__ import annotations

import hashlib
import logging

import pytest
import requests

from core.errors import NotFoundError, OrderCreationUncertain, ValidationError
from core.services.planet_orders.client import (
    OrderNotCancellable,
    OrderNotDelivered,
    OrdersClient,
)
from core.services.planet_orders.forms import scenes_request

ITEM_A = "20220304_093300_37_2430"
ITEM_B = "20220305_093440_25_2429"
FAILING = "20220628_101531_25_2262_failing"


@pytest.fixture
def orders(sandbox):
    """A client as the plugin would make it, on the sandbox's clock; the settings' URL form with a slash."""
    client = OrdersClient(sandbox.root + "/compute/ops/orders/v2/", sandbox.api_key, sleep=sandbox.sleep,
                          timeout=30.0, lookup_patience=0.0)
    yield client
    client.close()


def _finished(orders, *items, bundle="analytic_udm2", name="scenes"):
    order = orders.create_order(scenes_request(name, list(items), product_bundle=bundle))
    return orders.wait_for(order, poll=30.0, max_poll=60.0)


def _creates(sandbox):
    return [r for r in sandbox.requests_seen() if r["method"] == "POST" and r["path"].endswith("/orders/v2")]


def test_an_order_goes_from_queued_to_success_with_progress(sandbox, orders):
    order = orders.create_order(scenes_request("lifecycle", [ITEM_A, ITEM_B]))
    assert order.state == "queued" and order.name == "lifecycle"
    seen = []
    done = orders.wait_for(order, on_progress=seen.append, poll=20.0, max_poll=60.0)
    assert done.state == "success" and done.last_message == "Manifest delivery completed"
    assert seen[0] < 100.0 and seen[-1] == 100.0
    assert any(r.name.endswith(f"{ITEM_A}_3B_AnalyticMS.tif") for r in done.results)
    assert any(r.is_manifest for r in done.results)


def test_partial_and_failed_orders_say_which_item_failed(sandbox, orders, tmp_path):
    partial = _finished(orders, ITEM_A, FAILING, name="partial")
    assert partial.state == "partial" and any(FAILING in hint for hint in partial.error_hints)
    failed = _finished(orders, FAILING, name="failed")
    assert failed.state == "failed" and failed.error_hints
    with pytest.raises(OrderNotDelivered, match="failed") as raised:
        orders.download_results(failed, tmp_path)
    assert FAILING in str(raised.value)
    assert list(tmp_path.iterdir()) == []  # nothing was written for an order without files


def test_listing_follows_next_links_over_several_pages(sandbox, orders):
    for index in range(5):
        orders.create_order(scenes_request(f"paged {index}", [ITEM_A]))
    listed = list(orders.iter_orders(page_size=2))
    assert [o.name for o in listed] == [f"paged {i}" for i in reversed(range(5))]
    pages = [r for r in sandbox.requests_seen() if r["method"] == "GET" and r["path"].endswith("/orders/v2")]
    assert len(pages) >= 3
    assert [o.name for o in orders.iter_orders(state="queued", sort_by="name ASC", page_size=2)][:2] == \
        ["paged 0", "paged 1"]


def test_only_a_queued_order_can_be_cancelled(sandbox, orders):
    queued = orders.create_order(scenes_request("to cancel", [ITEM_A]))
    assert orders.cancel_order(queued.id).state == "cancelled"
    running = orders.create_order(scenes_request("running", [ITEM_A]))
    sandbox.advance(40)
    assert orders.get_order(running.id).state == "running"
    with pytest.raises(OrderNotCancellable, match="only queued orders can be cancelled"):
        orders.cancel_order(running.id)
    with pytest.raises(NotFoundError):
        orders.get_order("00000000-0000-0000-0000-000000000000")


def test_a_refused_create_names_the_field_and_creates_nothing(sandbox, orders):
    with pytest.raises(ValidationError) as refused:
        orders.create_order(scenes_request("nope", ["20990101_000000_00_ffff"]))
    assert "No access to assets" in " ".join(refused.value.field_errors["Details"])
    assert "Unable to accept order" in str(refused.value)
    assert list(orders.iter_orders()) == []


def test_results_download_as_valid_rasters_laid_out_as_named_and_verified(sandbox, orders, tmp_path):
    from qgis.core import QgsRasterLayer

    done = _finished(orders, ITEM_A)
    report = orders.download_results(done, tmp_path)
    tifs = [p for p in report.files if p.suffix == ".tif"]
    assert len(tifs) == 2 and report.verified == len(report.files) - 1  # all but the manifest itself
    for tif in tifs:
        assert tif.relative_to(tmp_path).parts[0] == done.id
        layer = QgsRasterLayer(str(tif), "result")
        assert layer.isValid() and layer.crs().authid() == "EPSG:4326"
    assert not list(tmp_path.rglob("*.part"))


def test_a_cut_download_resumes_with_a_range_and_ends_whole(sandbox, orders, tmp_path):
    # Big enough (3 MB) that whole chunks arrive before the cut: urllib3 2 drops a chunk it could not fill.
    sandbox.control("POST", "orders/raster-size", {"pixels": 1024})
    done = _finished(orders, ITEM_A, bundle="visual")
    tif = next(r for r in done.results if r.name.endswith(".tif"))
    whole = requests.get(tif.location, timeout=30).content
    # The manifest comes first and passes (a fault applies once, in the order they were set); the
    # first file after it (the .tif, listed first) is cut halfway.
    sandbox.fault(path="^/compute/ops/download/$", kind="delay", delay_seconds=0.01, count=1)
    sandbox.fault(path="^/compute/ops/download/$", kind="malformed", when="after", count=1)
    report = orders.download_results(done, tmp_path)
    path = tmp_path / tif.name
    assert path.read_bytes() == whole
    downloads = [r for r in sandbox.requests_seen() if r["path"] == "/compute/ops/download/"]
    assert any(r["status"] == 206 for r in downloads)  # the rest came by a range, not all over again
    assert report.files and not list(tmp_path.rglob("*.part"))


def test_an_expired_link_is_replaced_by_a_fresh_one(sandbox, orders, tmp_path):
    done = _finished(orders, ITEM_A, bundle="visual")
    sandbox.advance(2 * 3600)  # links live one simulated hour
    assert requests.get(done.results[0].location, timeout=30).status_code == 401
    report = orders.download_results(done, tmp_path)
    assert report.refreshed_links >= 1
    assert all(p.exists() for p in report.files)


def test_a_corrupt_partial_file_is_caught_by_the_manifest_and_fetched_again(sandbox, orders, tmp_path):
    done = _finished(orders, ITEM_A, bundle="visual")
    tif = next(r for r in done.results if r.name.endswith(".tif"))
    whole = requests.get(tif.location, timeout=30).content
    part = tmp_path / (tif.name + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(b"\0" * 100)  # a left-over from an earlier run, its bytes wrong
    orders.download_results(done, tmp_path)
    final = (tmp_path / tif.name).read_bytes()
    assert hashlib.md5(final).hexdigest() == hashlib.md5(whole).hexdigest()
    downloads = [r["status"] for r in sandbox.requests_seen() if r["path"] == "/compute/ops/download/"]
    assert 206 in downloads  # it first resumed the bad partial file, then the md5 check sent it back


@pytest.mark.parametrize("fault", [
    dict(kind="status", status=504, when="after"),
    dict(kind="drop", when="after"),
    dict(kind="drop", when="before"),
    dict(kind="status", status=502, when="before"),
])
def test_a_create_fault_never_doubles_the_order(sandbox, orders, fault):
    orders.create_order(scenes_request("earlier", [ITEM_B]))
    sandbox.fault(path="^/compute/ops/orders/v2$", method="POST", count=1, **fault)
    order = orders.create_order(scenes_request("once", [ITEM_A]))
    named = [o for o in orders.iter_orders() if o.name == "once"]
    assert [o.id for o in named] == [order.id]


def test_a_create_that_timed_out_and_is_not_there_is_not_sent_again(sandbox, orders):
    sandbox.fault(path="^/compute/ops/orders/v2$", method="POST", count=1, kind="status", status=504,
                  when="before")
    with pytest.raises(OrderCreationUncertain):
        orders.create_order(scenes_request("maybe", [ITEM_A]))
    assert len(_creates(sandbox)) == 1


def test_the_api_key_never_reaches_errors_or_logs(sandbox, caplog):
    secret = "sk-orders-Secret-9f8e7d6c5b4a"
    client = OrdersClient(sandbox.root + "/compute/ops", secret, sleep=sandbox.sleep, timeout=30.0)
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(Exception) as raised:
            client.get_order("whatever")
    assert secret not in str(raised.value) and secret not in repr(raised.value)
    assert secret not in repr(client) and secret not in caplog.text


def test_a_create_whose_answer_timed_out_is_found_once_the_service_made_it(sandbox):
    client = OrdersClient(sandbox.root + "/compute/ops", sandbox.api_key, sleep=sandbox.sleep, timeout=0.5,
                          lookup_patience=30.0)
    sandbox.fault(path="^/compute/ops/orders/v2$", method="POST", count=1, kind="delay", delay_seconds=1.5)
    order = client.create_order(scenes_request("slow", [ITEM_A]))
    assert [o.id for o in client.iter_orders()] == [order.id]
    assert len(_creates(sandbox)) == 1  # looked up until it appeared, never sent again
    client.close()
