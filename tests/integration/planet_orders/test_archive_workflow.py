"""ArchiveWorkflow against the sandbox: a published capture's imagery ordered once, followed, downloaded and on the map."""

from __future__ import annotations

import pytest
import requests
from qgis.core import QgsGeometry, QgsLayerTreeGroup, QgsMultiBandColorRenderer, QgsRectangle, QgsVectorLayer
from qgis.PyQt.QtCore import QTimer

from core import rasters
from core.app.archive import ArchiveWorkflow
from core.errors import OrderCreationUncertain, ValidationError
from core.services.planet_orders.client import OrdersClient
from core.services.planet_orders.forms import capture_item_ids, clip_geojson, scenes_request
from core.services.planet_orders.models import OrderRequest
from tests.integration.planet_orders.helpers import ThrottledSession, published_tasking_order

ITEM_A = "20220304_093300_37_2430"
TIMEOUT_MS = 60000


class Recorder:
    """Every signal of a workflow, in order, with its arguments."""

    def __init__(self, workflow: ArchiveWorkflow):
        self.seen = []
        for name in ("stage", "progress", "placed", "finished", "delivered", "loaded", "failed", "cancelled"):
            getattr(workflow, name).connect(lambda *args, name=name: self.seen.append((name, args)))

    def names(self):
        return [name for name, _ in self.seen]

    def last(self, name):
        return next(args for seen, args in reversed(self.seen) if seen == name)

    def stages(self):
        return [args[0] for name, args in self.seen if name == "stage"]


@pytest.fixture
def make_client(sandbox):
    """Clients on the sandbox's clock, as the workflow's factory makes them (`slow` for a slow line)."""
    made = []
    options = {"slow": False}

    def factory():
        session = ThrottledSession() if options["slow"] else None
        client = OrdersClient(sandbox.root + "/compute/ops/orders/v2/", sandbox.api_key, sleep=sandbox.sleep,
                              timeout=30.0, session=session, lookup_patience=0.0)
        made.append(client)
        return client

    factory.options = options
    yield factory
    for client in made:
        client.close()


@pytest.fixture
def workflow(make_client, fresh_project):
    made = ArchiveWorkflow(make_client, project=fresh_project)
    made.poll_seconds, made.max_poll_seconds = 30.0, 60.0
    yield made
    made.shutdown()


def _creates(sandbox):
    return [r for r in sandbox.requests_seen() if r["method"] == "POST" and r["path"].endswith("/orders/v2")]


def _published_capture(sandbox, factory):
    tasking = factory()
    order = published_tasking_order(sandbox, tasking)
    return next(c for c in tasking.iter_captures(order.id) if c.status == "PUBLISHED")


def _inner_clip(capture) -> QgsGeometry:
    """The middle half of the capture's footprint: the clip the test asks for."""
    ring = capture.geometry["coordinates"][0]
    xs, ys = [p[0] for p in ring], [p[1] for p in ring]
    west, east, south, north = min(xs), max(xs), min(ys), max(ys)
    dx, dy = (east - west) / 4, (north - south) / 4
    return QgsGeometry.fromRect(QgsRectangle(west + dx, south + dy, east - dx, north - dy))


def test_a_published_capture_is_ordered_once_clipped_downloaded_and_styled_on_the_map(
        sandbox, factory, workflow, fresh_project, tmp_path, qtbot):
    capture = _published_capture(sandbox, factory)
    clip = _inner_clip(capture)
    request = scenes_request("capture imagery", capture_item_ids([capture]), item_type="SkySatCollect",
                             product_bundle="analytic_udm2", clip=clip_geojson(clip, "EPSG:4326"))
    seen = Recorder(workflow)
    with qtbot.waitSignal(workflow.loaded, timeout=TIMEOUT_MS):
        workflow.order_and_fetch(request, str(tmp_path))
    assert workflow.busy() is False
    assert [n for n in seen.names() if n in ("placed", "finished", "delivered", "loaded")] == \
        ["placed", "finished", "delivered", "loaded"]
    assert len(_creates(sandbox)) == 1  # placed once
    order, layers = seen.last("loaded")
    assert order.state == "success" and seen.last("finished")[0].state == "success"
    stages = seen.stages()
    assert stages[0] == "Placing the order…" and "Adding the rasters to the map…" in stages
    assert any(s.startswith("Planet is preparing the order (") for s in stages)
    assert any(s.startswith("Downloading ") and s.endswith(" files…") for s in stages)

    # In the project, in "Archive imagery" / "capture imagery": the 4-band analytic in true colour, the mask
    # hidden, each inside the clip's box.
    group = fresh_project.layerTreeRoot().findGroup(rasters.ARCHIVE_GROUP).findGroup("capture imagery")
    assert isinstance(group, QgsLayerTreeGroup)
    assert {layer.id() for layer in layers} == {node.layerId() for node in group.findLayers()
                                               if node.layer().type() == node.layer().type().RasterLayer}
    analytic = next(layer for layer in layers if "AnalyticMS" in layer.name())
    mask = next(layer for layer in layers if "udm2" in layer.name())
    assert analytic.bandCount() == 4 and mask.bandCount() == 8
    renderer = analytic.renderer()
    assert isinstance(renderer, QgsMultiBandColorRenderer)
    assert (renderer.redBand(), renderer.greenBand(), renderer.blueBand()) == (3, 2, 1)
    stretch = renderer.redContrastEnhancement()
    assert stretch is not None and stretch.minimumValue() < stretch.maximumValue()
    assert group.findLayer(analytic.id()).isVisible() and not group.findLayer(mask.id()).isVisible()
    assert f"Item {capture.strip_id}, SkySatCollect, analytic_udm2" in analytic.metadata().abstract()
    for layer in layers:
        assert clip.boundingBox().buffered(1e-6).contains(layer.extent())

    # The footprints: one feature per raster, with the item, its type, bundle, file and metadata file.
    footprints = next(node.layer() for node in group.findLayers() if isinstance(node.layer(), QgsVectorLayer))
    features = list(footprints.getFeatures())
    assert sorted(f["file"] for f in features) == sorted(layer.source() for layer in layers)
    assert {(f["item_id"], f["item_type"], f["bundle"]) for f in features} == \
        {(capture.strip_id, "SkySatCollect", "analytic_udm2")}
    assert all(f["metadata"].endswith(f"{capture.strip_id}_metadata.json") for f in features)
    assert all(clip.boundingBox().buffered(1e-6).contains(f.geometry().boundingBox()) for f in features)
    # The files as the order names them: <folder>/<order id>/SkySatCollect/...
    assert all(layer.source().startswith(str(tmp_path / order.id / "SkySatCollect")) for layer in layers)


def test_loading_an_order_again_adds_nothing_twice_and_downloads_nothing_again(
        sandbox, workflow, fresh_project, tmp_path, qtbot):
    request = scenes_request("twice", [ITEM_A], product_bundle="visual")
    with qtbot.waitSignal(workflow.loaded, timeout=TIMEOUT_MS) as first:
        workflow.order_and_fetch(request, str(tmp_path))
    order, layers = first.args
    ids = sorted(layer.id() for layer in fresh_project.mapLayers().values())
    visual = layers[0]
    assert visual.bandCount() == 3
    assert (visual.renderer().redBand(), visual.renderer().greenBand(), visual.renderer().blueBand()) == (1, 2, 3)
    downloads_before = len([r for r in sandbox.requests_seen() if "/download" in r["path"]])

    with qtbot.waitSignal(workflow.loaded, timeout=TIMEOUT_MS) as again:
        workflow.fetch(order.id, str(tmp_path))
    assert [layer.id() for layer in again.args[1]] == [layer.id() for layer in layers]
    assert sorted(layer.id() for layer in fresh_project.mapLayers().values()) == ids
    assert len(fresh_project.layerTreeRoot().findGroup(rasters.ARCHIVE_GROUP).children()) == 1
    assert workflow.report.skipped == len(workflow.report.files) - 1  # all but the manifest verified in place
    assert len([r for r in sandbox.requests_seen() if "/download" in r["path"]]) == downloads_before + 1
    assert len(_creates(sandbox)) == 1


def test_a_download_cancelled_half_way_keeps_its_part_files_and_ordering_again_resumes_it(
        sandbox, workflow, make_client, fresh_project, tmp_path, qtbot):
    sandbox.control("POST", "orders/raster-size", {"pixels": 512})
    request = scenes_request("stopped", [ITEM_A], product_bundle="analytic_udm2")
    with qtbot.waitSignal(workflow.finished, timeout=TIMEOUT_MS) as finished:
        make_client.options["slow"] = True  # the download's client gets a slow line
        workflow.order_and_fetch(request, str(tmp_path))
    order = finished.args[0]
    seen = Recorder(workflow)
    qtbot.waitUntil(lambda: any(p.stat().st_size > 0 for p in tmp_path.rglob("*.tif.part")), timeout=TIMEOUT_MS)
    with qtbot.waitSignal(workflow.cancelled, timeout=TIMEOUT_MS):
        workflow.cancel()
    assert "delivered" not in seen.names() and "loaded" not in seen.names() and not workflow.busy()
    parts = list(tmp_path.rglob("*.tif.part"))
    assert parts and all(not p.with_suffix("").exists() for p in parts)
    assert fresh_project.mapLayers() == {}

    make_client.options["slow"] = False
    # Order again: the same request continues with the order placed (never a second one) and resumes.
    with qtbot.waitSignal(workflow.loaded, timeout=TIMEOUT_MS) as loaded:
        workflow.order_and_fetch(request, str(tmp_path))
    assert loaded.args[0].id == order.id and len(_creates(sandbox)) == 1
    assert workflow.report.resumed >= 1 and not list(tmp_path.rglob("*.part"))
    assert {layer.bandCount() for layer in loaded.args[1]} == {4, 8}
    # Once its run went all the way, the same request is a new order, on the map in a group of its own.
    with qtbot.waitSignal(workflow.loaded, timeout=TIMEOUT_MS) as again:
        workflow.order_and_fetch(request, str(tmp_path))
    assert again.args[0].id != order.id and len(_creates(sandbox)) == 2
    assert len(fresh_project.layerTreeRoot().findGroup(rasters.ARCHIVE_GROUP).children()) == 2
    fresh = OrdersClient(sandbox.root + "/compute/ops/orders/v2/", sandbox.api_key, timeout=30.0)
    resumed = next(r for r in fresh.get_order(order.id).results if r.name.endswith(parts[0].name[:-5]))
    assert (tmp_path / resumed.name).read_bytes() == requests.get(resumed.location, timeout=30).content
    fresh.close()


@pytest.mark.parametrize("case", ["folder is a file", "nothing to order", "no order id"])
def test_a_validation_error_sends_nothing(sandbox, workflow, tmp_path, qtbot, case):
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    seen = Recorder(workflow)
    if case == "folder is a file":
        workflow.order_and_fetch(scenes_request("x", [ITEM_A]), str(blocker))
        field = "folder"
    elif case == "nothing to order":
        workflow.order_and_fetch(OrderRequest(name="x", products=()), str(tmp_path))
        field = "products"
    else:
        workflow.fetch("  ", str(tmp_path))
        field = "order_id"
    error = seen.last("failed")[0]
    assert isinstance(error, ValidationError) and list(error.field_errors) == [field] and str(error)
    assert not workflow.busy()
    assert [r for r in sandbox.requests_seen() if r["path"].startswith("/compute/ops/")] == []


def test_an_order_that_fails_at_the_service_says_why_and_adds_nothing(sandbox, workflow, fresh_project, tmp_path,
                                                                      qtbot):
    failing = "20220628_101531_25_2262_failing"
    seen = Recorder(workflow)
    with qtbot.waitSignal(workflow.failed, timeout=TIMEOUT_MS) as failed:
        workflow.order_and_fetch(scenes_request("doomed", [failing]), str(tmp_path))
    assert seen.last("finished")[0].state == "failed"
    assert failing in str(failed.args[0]) and fresh_project.mapLayers() == {}
    assert "delivered" not in seen.names()


def test_an_order_placed_earlier_and_still_running_is_followed_then_fetched(sandbox, workflow, fresh_project,
                                                                            tmp_path, qtbot):
    client = OrdersClient(sandbox.root + "/compute/ops/orders/v2/", sandbox.api_key, timeout=30.0)
    earlier = client.create_order(scenes_request("placed earlier", [ITEM_A], product_bundle="visual"))
    client.close()
    seen = Recorder(workflow)
    with qtbot.waitSignal(workflow.loaded, timeout=TIMEOUT_MS) as loaded:
        workflow.fetch(earlier.id, str(tmp_path))
    assert "placed" not in seen.names() and seen.last("finished")[0].state == "success"
    assert any(s.startswith("Planet is preparing the order (") for s in seen.stages())
    assert loaded.args[0].id == earlier.id and [layer.bandCount() for layer in loaded.args[1]] == [3]
    assert fresh_project.layerTreeRoot().findGroup(rasters.ARCHIVE_GROUP).findGroup("placed earlier")
    assert len(_creates(sandbox)) == 1


def test_a_create_that_may_have_reached_the_service_is_said_uncertain_and_not_sent_again(sandbox, workflow,
                                                                                        tmp_path, qtbot):
    sandbox.fault(path="^/compute/ops/orders/v2$", method="POST", count=1, kind="status", status=504,
                  when="before")
    seen = Recorder(workflow)
    with qtbot.waitSignal(workflow.failed, timeout=TIMEOUT_MS) as failed:
        workflow.order_and_fetch(scenes_request("maybe", [ITEM_A]), str(tmp_path))
    assert isinstance(failed.args[0], OrderCreationUncertain) and "placed" not in seen.names()
    assert len(_creates(sandbox)) == 1 and not workflow.busy()


def test_rasters_are_added_a_slice_per_event_loop_turn_so_the_map_keeps_answering(sandbox, workflow, fresh_project,
                                                                                 tmp_path, qtbot, monkeypatch):
    from core.app import archive

    monkeypatch.setattr(archive, "LOAD_SLICE_SECONDS", 0.0)  # one raster per turn
    items = ["20220304_093300_37_2430", "20220305_093440_25_2429", "20220304_093257_90_2430"]
    seen = Recorder(workflow)
    turns = []
    ticker = QTimer()
    ticker.timeout.connect(lambda: turns.append(len(fresh_project.mapLayers())))
    ticker.start(0)
    with qtbot.waitSignal(workflow.loaded, timeout=TIMEOUT_MS) as loaded:
        workflow.order_and_fetch(scenes_request("sliced", items, product_bundle="analytic_udm2"), str(tmp_path))
    ticker.stop()
    assert len(loaded.args[1]) == 6
    # Between two slices the event loop ran: other timers saw the project with some of the rasters added.
    assert len({count for count in turns if 1 < count < 7}) >= 3
    adding = seen.seen[[n for n, _ in seen.seen].index("delivered"):]
    assert len([args for name, args in adding if name == "progress" and 0 < args[0] < 100]) >= 3
