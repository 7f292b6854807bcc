"""Order archive imagery through processing.run() against the sandbox: a published tasking capture ordered once,
its clipped GeoTIFF in the output folder with the footprints layer, a rerun that places nothing, bad input that
sends nothing."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from qgis.core import QgsFeature, QgsGeometry, QgsProject, QgsRasterLayer, QgsRectangle, QgsVectorLayer

from core import settings
from core.services.planet_tasking.layers import create_captures_layer
from tests.integration.planet_orders.helpers import published_tasking_order
from tests.processing.test_price_and_load import RecordingFeedback, run, run_failing

JOURNAL = ".satellite_tasking_archive_orders.json"


@pytest.fixture
def archive(tasking):
    """The plugin switched to the sandbox in its settings (both services: tasking for the clip areas, the Orders
    API for the order). Yields the sandbox."""
    settings.set_sandbox_port(urlsplit(tasking.root).port)
    settings.set_use_sandbox(True)
    return tasking


@pytest.fixture
def published(archive, factory):
    """A tasking order at Chamonix imaged and published on the sandbox's clock: (order, its captures)."""
    client = factory()
    order = published_tasking_order(archive, client)
    return client.get_order(order.id), list(client.iter_captures(order.id))


@pytest.fixture
def project():
    yield QgsProject.instance()
    QgsProject.instance().removeAllMapLayers()
    QgsProject.instance().layerTreeRoot().removeAllChildren()


def archive_posts(sandbox) -> list:
    return [r for r in sandbox.requests_seen() if r["method"] == "POST" and r["path"].startswith("/compute/ops/orders/v2")]


def archive_requests(sandbox) -> list:
    return [r for r in sandbox.requests_seen() if r["path"].startswith("/compute/ops/")]


def test_a_published_capture_is_ordered_once_clipped_downloaded_and_loaded(archive, published, project, tmp_path):
    order, captures = published
    layer = create_captures_layer(captures=captures)
    capture = next(c for c in captures if c.status == "PUBLISHED")
    folder = tmp_path / "imagery"
    parameters = {"CAPTURES": layer, "CLIP": 1, "PRODUCT_BUNDLE": "visual", "OUTPUT_FOLDER": str(folder)}

    feedback = RecordingFeedback()
    result = run("order_archive_imagery", parameters, feedback)

    assert len(archive_posts(archive)) == 1
    assert result["ORDER_STATE"] in ("success", "partial") and result["OUTPUT_FOLDER"] == str(folder)
    tiffs = sorted(Path(p) for p in result["RASTERS"])
    assert tiffs and all(p.is_file() and p.suffix == ".tif" and str(p).startswith(str(folder)) for p in tiffs)
    assert not list(folder.rglob("*.part"))
    tasked_box = _geojson_box(order.geometry)
    footprint_box = _geojson_box(capture.geometry)
    assert not tasked_box.contains(footprint_box)  # so an unclipped raster would not pass
    for path in tiffs:
        raster = QgsRasterLayer(str(path), "r")
        assert raster.isValid() and raster.bandCount() == 3  # visual: RGB
        assert tasked_box.buffered(1e-6).contains(raster.extent()), raster.extent().toString()

    footprints = QgsVectorLayer(result["FOOTPRINTS"], "footprints", "ogr")
    assert footprints.isValid() and footprints.featureCount() == len(tiffs)
    assert {f["item_id"] for f in footprints.getFeatures()} == {capture.strip_id}
    journal = json.loads((folder / JOURNAL).read_text(encoding="utf-8"))
    assert [entry["order_id"] for entry in journal.values()] == [result["ORDER_ID"]]

    # From the QGIS window (not qgis_process) the rasters are on the map, in the order's group.
    on_map = [lay for lay in project.mapLayers().values() if isinstance(lay, QgsRasterLayer)]
    assert sorted(Path(lay.source()) for lay in on_map) == tiffs
    assert project.layerTreeRoot().findGroup("Archive imagery") is not None

    # The same inputs again: the order placed is followed, its files kept; nothing new is ordered.
    rerun_feedback = RecordingFeedback()
    again = run("order_archive_imagery", parameters, rerun_feedback)
    assert len(archive_posts(archive)) == 1
    assert again["ORDER_ID"] == result["ORDER_ID"] and sorted(Path(p) for p in again["RASTERS"]) == tiffs
    assert any("earlier run placed" in info for info in rerun_feedback.infos), rerun_feedback.infos


def _geojson_box(geometry: dict) -> QgsRectangle:
    points = []

    def walk(value):
        if isinstance(value, list) and value and isinstance(value[0], (int, float)):
            points.append(value)
        elif isinstance(value, list):
            for part in value:
                walk(part)
    walk(geometry["coordinates"])
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return QgsRectangle(min(xs), min(ys), max(xs), max(ys))


def killed_while_sending(published, folder):
    """A folder whose journal says "sending" for a published strip's imagery, as a kill between the create and
    the journal leaves it; returns (strip, the Orders client, the request, its journal key)."""
    from core.app import headless
    from core.services.planet_orders import forms
    from core.services.planet_orders.client import OrdersClient

    _, captures = published
    strip = next(c.strip_id for c in captures if c.status == "PUBLISHED")
    folder.mkdir()
    client = OrdersClient(settings.connection(settings.PLANET_ORDERS).base_url, settings.SANDBOX_API_KEY)
    request = forms.scenes_request(f"Imagery of {strip}", [strip], item_type="SkySatCollect", product_bundle="visual")
    key = headless._archive_key(client, request)
    headless._write_archive_journal(str(folder), key, {"state": headless.SENDING, "since": None, "name": request.name})
    return strip, client, request, key


def test_a_run_killed_while_sending_is_followed_by_a_rerun_not_ordered_again(archive, published, project, tmp_path):
    """The journal said "sending" and the order reached Planet, but its id was never written (a kill between
    the POST and the journal): the rerun finds that order by name and products and places nothing."""
    folder = tmp_path / "killed"
    strip, client, request, _ = killed_while_sending(published, folder)
    sent = client.create_order(request)  # what the killed run had sent

    result = run("order_archive_imagery", {"ITEM_IDS": strip, "OUTPUT_FOLDER": str(folder)})
    assert result["ORDER_ID"] == sent.id and len(archive_posts(archive)) == 1
    assert result["RASTERS"] and all(Path(p).is_file() for p in result["RASTERS"])


def test_a_killed_run_with_two_look_alikes_since_is_not_guessed_and_nothing_is_sent(archive, published, project,
                                                                                    tmp_path):
    """Two orders of that name and products appeared since the killed run began sending (it, and the same order
    placed another way): which one the run made cannot be told, so the rerun follows neither, sends nothing,
    says why, and keeps the journal's "sending" for the next rerun."""
    from core.app import headless

    folder = tmp_path / "two"
    strip, client, request, key = killed_while_sending(published, folder)
    client.create_order(request)
    client.create_order(request)

    with pytest.raises(Exception) as raised:  # noqa: PT011 - processing.run raises a generic QgsProcessingException
        run("order_archive_imagery", {"ITEM_IDS": strip, "OUTPUT_FOLDER": str(folder)})
    assert "2 new orders with that name and products" in str(raised.value)
    assert len(archive_posts(archive)) == 2  # the two already there; the rerun sent none
    assert headless._read_archive_journal(str(folder))[key]["state"] == headless.SENDING


def test_a_cancel_while_waiting_keeps_the_order_and_the_rerun_follows_it(archive, published, project, tmp_path):
    _, captures = published
    strip = next(c.strip_id for c in captures if c.status == "PUBLISHED")
    folder = tmp_path / "cancelled"
    archive.control("POST", "clock", {"speed": 0})  # the order stays queued while the run waits
    feedback = RecordingFeedback()
    feedback.progressChanged.connect(lambda percent: percent >= 5 and feedback.cancel())
    message = ""
    try:
        run("order_archive_imagery", {"ITEM_IDS": strip, "OUTPUT_FOLDER": str(folder)}, feedback)
    except Exception as error:  # noqa: BLE001 - processing.run raises a generic QgsProcessingException
        message = str(error) + " ".join(feedback.errors)
    assert "Cancelled" in message and len(archive_posts(archive)) == 1
    archive.control("POST", "clock", {"speed": 3600})
    result = run("order_archive_imagery", {"ITEM_IDS": strip, "OUTPUT_FOLDER": str(folder)})
    assert len(archive_posts(archive)) == 1 and result["RASTERS"]


@pytest.mark.parametrize("parameters, reason", [
    ({"ITEM_IDS": "not an id!, 20220304 093300"}, "Not an item id"),
    ({"ITEM_IDS": "20220304_093300_37_2430", "ITEM_TYPE": "PSScene", "PRODUCT_BUNDLE": "pansharpened_udm2"},
     "PSScene items come in none of pansharpened_udm2"),
    ({}, "Give a captures layer"),
])
def test_bad_input_names_the_reason_and_sends_nothing(archive, parameters, reason, tmp_path):
    message = run_failing("order_archive_imagery", {**parameters, "OUTPUT_FOLDER": str(tmp_path / "out")})
    assert reason in message and "Nothing was ordered" in message
    assert archive_requests(archive) == []


def test_captures_none_published_or_a_clip_missing_them_send_nothing(archive, published, tmp_path):
    _, captures = published
    layer = create_captures_layer(captures=captures)
    layer.startEditing()
    status = layer.fields().indexOf("status")
    for feature in layer.getFeatures():
        layer.changeAttributeValue(feature.id(), status, "PROCESSING")
    layer.commitChanges()
    message = run_failing("order_archive_imagery", {"CAPTURES": layer, "OUTPUT_FOLDER": str(tmp_path / "a")})
    assert "is published" in message and "Nothing was ordered" in message

    far = QgsVectorLayer("Polygon?crs=EPSG:4326", "far away", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromRect(QgsRectangle(100.0, -10.0, 100.1, -9.9)))
    far.dataProvider().addFeatures([feature])
    published_layer = create_captures_layer(captures=captures)
    message = run_failing("order_archive_imagery", {"CAPTURES": published_layer, "CLIP": 2, "CLIP_LAYER": far,
                                                    "OUTPUT_FOLDER": str(tmp_path / "b")})
    assert "does not overlap any of the items" in message and "Nothing was ordered" in message
    assert archive_posts(archive) == []


def test_selected_features_only_orders_just_the_selected_captures(archive, published, project, tmp_path):
    from qgis.core import QgsProcessingFeatureSourceDefinition

    from core.services.planet_orders.client import OrdersClient

    _, captures = published
    layer = create_captures_layer(captures=captures)
    strip = next(c.strip_id for c in captures if c.status == "PUBLISHED")
    # A second published capture in the layer, not selected: ordering it would fail at the service.
    extra = QgsFeature(layer.fields())
    extra.setAttribute("strip_id", "20990101_000000_ss01_not_selected")
    extra.setAttribute("status", "PUBLISHED")
    layer.dataProvider().addFeatures([extra])
    project.addMapLayer(layer)
    layer.selectByExpression(f"\"strip_id\" = '{strip}'")
    result = run("order_archive_imagery", {
        "CAPTURES": QgsProcessingFeatureSourceDefinition(layer.id(), selectedFeaturesOnly=True),
        "OUTPUT_FOLDER": str(tmp_path / "selected")})
    ordered = OrdersClient(settings.connection(settings.PLANET_ORDERS).base_url,
                           settings.SANDBOX_API_KEY).get_order(result["ORDER_ID"])
    assert [list(p.item_ids) for p in ordered.products] == [[strip]] and ordered.name == f"Imagery of {strip}"
    assert result["RASTERS"]


def test_a_cancel_while_downloading_keeps_the_part_file_and_the_rerun_resumes_it(archive, published, project,
                                                                                tmp_path):
    _, captures = published
    strip = next(c.strip_id for c in captures if c.status == "PUBLISHED")
    archive.control("POST", "orders/raster-size", {"pixels": 1024})  # big enough to stop half-way
    folder = tmp_path / "half"
    feedback = RecordingFeedback()

    def stop_once_bytes_arrived(_percent):
        if any(part.stat().st_size > 0 for part in folder.rglob("*.tif.part")):
            feedback.cancel()
    feedback.progressChanged.connect(stop_once_bytes_arrived)
    with pytest.raises(Exception) as raised:  # noqa: PT011 - processing.run raises QgsProcessingException
        run("order_archive_imagery", {"ITEM_IDS": strip, "OUTPUT_FOLDER": str(folder)}, feedback)
    assert "partly downloaded files are kept" in str(raised.value) + " ".join(feedback.errors)
    assert list(folder.rglob("*.tif.part")) and not list(folder.rglob("*.tif"))

    again = RecordingFeedback()
    result = run("order_archive_imagery", {"ITEM_IDS": strip, "OUTPUT_FOLDER": str(folder)}, again)
    assert len(archive_posts(archive)) == 1 and not list(folder.rglob("*.part"))
    assert any("1 resumed" in info for info in again.infos), again.infos
    assert all(QgsRasterLayer(p, "r").isValid() for p in result["RASTERS"])


def test_a_failed_order_says_why_and_how_to_order_again_and_its_rerun_places_nothing(archive, tmp_path):
    parameters = {"ITEM_IDS": "20220628_101531_25_2262_failing", "ITEM_TYPE": "PSScene",
                  "PRODUCT_BUNDLE": "analytic_udm2", "OUTPUT_FOLDER": str(tmp_path / "failed")}
    for _ in range(2):
        message = run_failing("order_archive_imagery", parameters)
        assert "ended failed" in message and "processing failed" in message
        assert "change the order name or choose another output folder" in message
    assert len(archive_posts(archive)) == 1


def test_a_model_loads_the_captures_and_orders_their_imagery(archive, published, project, processing_registry,
                                                            tmp_path):
    """Load captures → Order archive imagery in a Graphical Modeler model: the captures layer one step writes is
    the input of the next, its published capture ordered once, clipped to its tasking order's area."""
    import processing
    from qgis.core import QgsProcessingModelAlgorithm

    from tests.processing.test_model import child, from_child, static

    order, captures = published
    model = QgsProcessingModelAlgorithm("Captures to imagery", "Satellite Tasking tests")
    model.addChildAlgorithm(child("load_captures", "captures", {"NAME_CONTAINS": static("to archive")}))
    model.addChildAlgorithm(child("order_archive_imagery", "imagery", {
        "CAPTURES": from_child("captures", "OUTPUT"), "ITEM_TYPE": static("SkySatCollect"),
        "PRODUCT_BUNDLE": static("visual"), "CLIP": static(1)}, {"folder": "OUTPUT_FOLDER"}))
    valid, problems = model.validate()
    assert valid, problems
    folder = tmp_path / "modelled"
    result = processing.run(model, {"captures:OUTPUT": "TEMPORARY_OUTPUT", "imagery:folder": str(folder)},
                            feedback=RecordingFeedback())
    assert len(archive_posts(archive)) == 1 and result["imagery:folder"] == str(folder)
    tiffs = list(folder.rglob("*.tif"))
    assert tiffs and all(_geojson_box(order.geometry).buffered(1e-6).contains(QgsRasterLayer(str(t), "r").extent())
                         for t in tiffs)
