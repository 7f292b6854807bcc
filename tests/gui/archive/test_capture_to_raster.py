"""In real QGIS against the sandbox: a published tasking capture selected in the Captures layer, ordered from
the dock's Order imagery dialog, arrives as its raster clipped to the tasking AOI, on the map."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from qgis.core import QgsProject, QgsRasterLayer
from qgis.PyQt.QtCore import QCoreApplication, QEvent

from core import settings
from core.services.planet_tasking.layers import create_captures_layer, create_orders_layer
from tests.integration.planet_orders.helpers import published_tasking_order
from ui.archive.dialog import CLIP_TASKING
from ui.archive.sources import geometry_from_geojson

pytestmark = pytest.mark.usefixtures("clean_settings", "no_leftover_tasks")


@pytest.fixture
def published_capture(sandbox, factory):
    """A tasking order at Chamonix imaged and published on the sandbox's clock: (order, its captures)."""
    tasking = factory()
    order = published_tasking_order(sandbox, tasking)
    return tasking.get_order(order.id), list(tasking.iter_captures(order.id))


@pytest.fixture
def dock(sandbox, qgis_iface):
    from core.app.archive import ArchiveWorkflow
    from core.services.planet_orders.client import OrdersClient
    from satellite_tasking.ui.dock import TaskingDock

    settings.set_sandbox_port(urlsplit(sandbox.root).port)
    settings.set_use_sandbox(True)
    made = TaskingDock(iface=qgis_iface)

    def workflow():
        # The settings' client, except that its waits move the sandbox's clock instead of real time.
        made_workflow = ArchiveWorkflow(lambda: OrdersClient(sandbox.root + "/compute/ops", sandbox.api_key,
                                                             sleep=sandbox.sleep, timeout=30.0))
        made_workflow.poll_seconds = made_workflow.max_poll_seconds = 30.0
        return made_workflow

    made.archive_workflow_factory = workflow
    yield made
    made.shutdown()
    made.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_a_published_capture_selected_on_the_map_arrives_as_its_clipped_raster_on_the_map(
        sandbox, published_capture, dock, project, qgis_iface, qtbot, tmp_path):
    order, captures = published_capture
    orders_layer = create_orders_layer(orders=[order])
    captures_layer = create_captures_layer(captures=captures)
    project.addMapLayers([orders_layer, captures_layer])
    published = next(c for c in captures if c.status == "PUBLISHED")
    captures_layer.selectByExpression(f"\"id\" = '{published.id}'")
    qgis_iface.setActiveLayer(captures_layer)

    dock.order_imagery_action.trigger()
    dialog = dock.imagery_dialog
    assert [c.strip_id for c in dialog.captures] == [published.strip_id]
    assert dialog.item_type() == "SkySatCollect" and dialog.clip_combo.currentData() == CLIP_TASKING
    dialog.delivery.folder_widget.setFilePath(str(tmp_path))
    asked = []
    dialog.confirm = lambda text: asked.append(text) or True
    dialog.order_button.click()
    assert asked and "clipped to the tasking order's area" in asked[0]
    qtbot.waitUntil(lambda: bool(dialog.loaded_layers) or "did not complete" in dialog.stage_label.text(),
                    timeout=90000)
    assert dialog.loaded_layers, dialog.message_label.text()
    assert "on the map" in dialog.message_label.text() and dialog.order_button.isEnabled()

    rasters = [layer for layer in dialog.loaded_layers if isinstance(layer, QgsRasterLayer)]
    visual = [layer for layer in rasters if layer.bandCount() == 3]
    assert visual and all(layer.isValid() for layer in rasters)
    tasked = next(orders_layer.getFeatures()).geometry()
    footprint = geometry_from_geojson(published.geometry)
    assert not tasked.boundingBox().contains(footprint.boundingBox())  # so an unclipped raster would not pass
    for layer in visual:
        # clipped: inside the tasking order's area (the sandbox clips to the clip AOI's bounding box)
        assert tasked.boundingBox().buffered(1e-6).contains(layer.extent()), layer.extent().toString()
        node = QgsProject.instance().layerTreeRoot().findLayer(layer.id())
        assert node is not None and node.isVisible()  # on the map, not only in the project
        assert layer.source().startswith(str(tmp_path))
    ordered = [r for r in sandbox.requests_seen() if r["path"].startswith("/compute/ops/orders/v2")
               and r["method"] == "POST"]
    assert len(ordered) == 1  # placed once


def test_the_order_details_button_orders_its_capture_as_analytic_imagery(sandbox, published_capture, dock, project,
                                                                        qtbot, tmp_path):
    order, captures = published_capture
    details = dock.orders_panel.details
    details.show_order(order)
    details.show_extras(order, captures, None)
    details.imagery_button.click()
    dialog = dock.imagery_dialog
    assert dialog.clip_combo.currentData() == CLIP_TASKING
    dialog.bundle_combo.setCurrentText("analytic_udm2")
    dialog.delivery.folder_widget.setFilePath(str(tmp_path))
    dialog.confirm = lambda text: True
    dialog.order_button.click()
    qtbot.waitUntil(lambda: bool(dialog.loaded_layers) or "did not complete" in dialog.stage_label.text(),
                    timeout=90000)
    assert sorted(layer.bandCount() for layer in dialog.loaded_layers if isinstance(layer, QgsRasterLayer)) == [4, 8]
