"""Search imaging windows, Cancel orders and Edit orders through processing.run() against the sandbox."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import SandboxServer
from tests.integration.order_states import BERLIN, assured_windows, create_assured, iso, make_client, point
from tests.processing.layers import line_layer, point_layer
from tests.processing.test_price_and_load import RecordingFeedback, run, run_failing

pytestmark = pytest.mark.usefixtures("tasking")


def searches_started(sandbox) -> list:
    return [r for r in sandbox.requests_seen() if r["method"] == "POST" and "imaging-windows" in r["path"]]


def test_search_windows_writes_each_points_windows_with_its_feature(tasking):
    layer = point_layer(["a", "b"])
    tasking.reset()
    result = run("search_windows", {"INPUT": layer, "SERVICE_URL": tasking.tasking_url, "OUTPUT": "memory:"})
    windows = list(result["OUTPUT"].getFeatures())
    assert windows and result["WINDOWS"] == len(windows)
    assert {w["source_fid"] for w in windows} == {f.id() for f in layer.getFeatures()}
    assert all(w["start_time"] and w["end_time"] and not w.geometry().isNull() for w in windows)
    # The footprint tasked for a point: the 5 × 5 km square, in EPSG:4326.
    assert result["OUTPUT"].crs().authid() == "EPSG:4326"
    assert all(0.003 < w.geometry().area() < 0.01 for w in windows)
    assert len(searches_started(tasking)) == 2


def test_search_windows_checks_every_feature_before_searching(tasking, clean_settings):
    layer = line_layer([("fine", 20000.0), ("stub", 1000.0)])
    tasking.reset()
    error = run_failing("search_windows", {"INPUT": layer, "SERVICE_URL": tasking.tasking_url, "OUTPUT": "memory:"})
    assert "Feature 2" in error and "Nothing was searched" in error
    clean_settings.set_pl_number("")
    error = run_failing("search_windows", {"INPUT": point_layer(["a"]), "SERVICE_URL": tasking.tasking_url,
                                           "OUTPUT": "memory:"})
    assert "pl_number" in error
    assert searches_started(tasking) == []


@pytest.fixture(scope="module")
def charged_server():
    """A sandbox whose contract cancels one assured order a day for free, then charges."""
    server = SandboxServer(extra_args=["--free-cancellations", "1"])
    yield server
    server.stop()


@pytest.fixture
def charged(charged_server):
    charged_server.reset()
    return charged_server


def results(layer) -> dict:
    return {f["order_id"]: f for f in layer.getFeatures()}


def test_cancel_orders_refuses_a_charged_cancellation_unless_accepted(charged):
    tasking = charged
    client = make_client(tasking)
    windows = assured_windows(tasking, client, BERLIN)
    now = tasking.now()
    future = [w for w in windows if w.start_time > now + timedelta(hours=2)]
    first, second = (create_assured(client, w.id, f"assured {n}") for n, w in enumerate(future[:2]))
    flexible = client.create_order({"name": "flexible", "geometry": point(3)})

    # The day's first assured cancellation is free; the flexible order is cancelled as well.
    result = run("cancel_orders", {"ORDER_IDS": f"{first.id}, {flexible.id} no-such-order",
                                   "SERVICE_URL": tasking.tasking_url, "OUTPUT": "memory:"})
    rows = results(result["OUTPUT"])
    assert rows[first.id]["result"] == "cancelled" and rows[flexible.id]["result"] == "cancelled"
    assert rows["no-such-order"]["result"] == "unknown"
    assert result["CANCELLED"] == 2

    # The next one would be charged: refused by default, with its cost, and the order left as it was.
    feedback = RecordingFeedback()
    result = run("cancel_orders", {"ORDER_IDS": second.id, "SERVICE_URL": tasking.tasking_url, "OUTPUT": "memory:"},
                 feedback)
    row = results(result["OUTPUT"])[second.id]
    assert row["result"] == "charge not accepted" and "Accept the cancellation charge" in row["reason"]
    # The cost the user is told: the order's quota cost, as the dock's charge question says it.
    assert row["cost"] > 0 and f"{row['cost']:g}" in row["reason"]
    assert result["CANCELLED"] == 0 and result["CHARGE_DECLINED"] == 1
    assert any("will be charged" in warning for warning in feedback.warnings)
    assert client.get_order(second.id).status not in ("CANCELLED", "PENDING_CANCELLATION")

    result = run("cancel_orders", {"ORDER_IDS": second.id, "ACCEPT_CHARGE": True,
                                   "SERVICE_URL": tasking.tasking_url, "OUTPUT": "memory:"})
    assert results(result["OUTPUT"])[second.id]["result"] == "cancelled"
    assert client.get_order(second.id).status in ("CANCELLED", "PENDING_CANCELLATION")


def test_cancel_orders_reads_the_ids_from_an_orders_layer(tasking):
    client = make_client(tasking)
    made = [client.create_order({"name": f"to cancel {n}", "geometry": point(n)}) for n in range(2)]
    orders = run("load_orders", {"NAME_CONTAINS": "to cancel", "SERVICE_URL": tasking.tasking_url,
                                 "OUTPUT": "memory:"})["OUTPUT"]
    result = run("cancel_orders", {"ORDERS": orders, "ID_FIELD": "id", "SERVICE_URL": tasking.tasking_url,
                                   "OUTPUT": "memory:"})
    assert {i: r["result"] for i, r in results(result["OUTPUT"]).items()} == {o.id: "cancelled" for o in made}


def test_edit_orders_changes_what_the_rules_allow_and_explains_the_rest(tasking):
    client = make_client(tasking)
    live = client.create_order({"name": "before", "geometry": point(1)})
    gone = client.create_order({"name": "gone", "geometry": point(2)})
    client.cancel_order(gone.id)
    end = tasking.now() + timedelta(days=20)
    from qgis.PyQt.QtCore import QDateTime

    result = run("edit_orders", {"ORDER_IDS": f"{live.id} {gone.id}", "NEW_NAME": "after",
                                 "END_TIME": QDateTime.fromSecsSinceEpoch(int(end.timestamp())),
                                 "SERVICE_URL": tasking.tasking_url, "OUTPUT": "memory:"})
    rows = results(result["OUTPUT"])
    assert rows[live.id]["result"] == "edited" and rows[live.id]["name"] == "after"
    assert rows[gone.id]["result"] == "not editable" and rows[gone.id]["reason"]
    assert client.get_order(live.id).name == "after"
    assert iso(client.get_order(live.id).end_time) == iso(end.replace(microsecond=0))
    assert client.get_order(gone.id).name == "gone"
    assert not [r for r in tasking.requests_seen() if r["method"] in ("PUT", "PATCH") and gone.id in r["path"]]
    assert result["EDITED"] == 1

    error = run_failing("edit_orders", {"ORDER_IDS": live.id, "SERVICE_URL": tasking.tasking_url,
                                        "OUTPUT": "memory:"})
    assert "Nothing to change" in error


def test_loaded_outputs_are_styled_and_temporal_like_the_plugins_layers(tasking, fresh_project):
    import processing

    client = make_client(tasking)
    client.create_order({"name": "styled", "geometry": point(5)})
    processing.runAndLoadResults("satellite_tasking:search_windows", {
        "INPUT": point_layer(["a"]), "SERVICE_URL": tasking.tasking_url, "OUTPUT": "TEMPORARY_OUTPUT"},
        feedback=RecordingFeedback())
    processing.runAndLoadResults("satellite_tasking:load_orders", {
        "SERVICE_URL": tasking.tasking_url, "OUTPUT": "TEMPORARY_OUTPUT"}, feedback=RecordingFeedback())
    layers = {layer.name(): layer for layer in fresh_project.mapLayers().values()}
    windows, orders = layers["Imaging windows"], layers["Tasking orders"]
    assert windows.featureCount() > 0 and orders.featureCount() == 1
    assert windows.renderer().type() == "RuleRenderer" and orders.renderer().type() == "categorizedSymbol"
    for layer in (windows, orders):
        temporal = layer.temporalProperties()
        assert temporal.isActive() and temporal.startField() == "start_time" and temporal.endField() == "end_time"
