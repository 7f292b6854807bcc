"""Opening Order imagery from where the captures are: the Captures layer's selection (the dock's action)
and an order's details (its button), with a fake workflow."""

from __future__ import annotations

from dataclasses import replace

import pytest
from qgis.PyQt.QtCore import QCoreApplication, QEvent

from core.services.planet_tasking.layers import create_captures_layer, create_orders_layer
from core.services.planet_tasking.models import Capture
from tests.fakes.orders import make_capture, make_order
from tests.gui.archive.test_order_imagery_dialog import FakeArchiveWorkflow
from ui.archive.dialog import CLIP_TASKING, NO_CLIP
from ui.orders.details import OrderDetailsWidget

pytestmark = pytest.mark.usefixtures("clean_settings")


def published(n: int, order_id: str) -> Capture:
    return replace(make_capture(n, order_id), strip_id=f"s10{n}_20260105T12000{n}Z")


@pytest.fixture
def dock(qgis_iface, project, qtbot):
    from core import settings
    from satellite_tasking.ui.dock import TaskingDock

    settings.set_use_sandbox(True)  # configured, so the dock's tabs and action are usable (nothing is sent here)
    made = TaskingDock(iface=qgis_iface)
    made.workflows = []
    made.archive_workflow_factory = lambda: made.workflows.append(FakeArchiveWorkflow()) or made.workflows[-1]
    yield made
    made.shutdown()
    made.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_the_dock_action_orders_the_published_captures_selected_in_the_captures_layer(dock, project, qgis_iface):
    order = make_order(1, "FULFILLED")
    processing = replace(published(2, order.id), status="PROCESSING")
    captures = create_captures_layer(captures=[published(1, order.id), processing])
    orders = create_orders_layer(orders=[order])
    project.addMapLayers([orders, captures])
    captures.selectAll()
    qgis_iface.setActiveLayer(orders)  # the Captures layer is found even when another layer is active
    assert dock.order_imagery_button.defaultAction() is dock.order_imagery_action
    assert dock.order_imagery_action.toolTip() and dock.order_imagery_button.text() == "Order imagery…"
    dock.order_imagery_action.trigger()
    dialog = dock.imagery_dialog
    assert dialog is not None and dialog.isVisible() and not dialog.isModal()
    assert [c.strip_id for c in dialog.captures] == ["s101_20260105T120001Z"]
    assert "1 selected not published yet" in dialog.captures_label.text()
    # the tasking order's area is known from the Tasking orders layer, so the clip defaults to it
    assert dialog.clip_combo.currentData() == CLIP_TASKING and dialog.tasking_aoi is not None
    # choosing again reuses the one dialog, with the new selection
    captures.removeSelection()
    dock.order_imagery_action.trigger()
    assert dock.imagery_dialog is dialog and dialog.captures == [] and len(dock.workflows) == 1


def test_the_action_waits_for_a_configured_service(dock):
    from core import settings

    settings.set_use_sandbox(False)
    dock.refresh()
    assert not dock.order_imagery_action.isEnabled() and not dock.order_imagery_button.isEnabled()


def test_nothing_selected_opens_the_dialog_with_the_error_said_on_order(dock, tmp_path):
    dock.order_imagery_action.trigger()
    dialog = dock.imagery_dialog
    dialog.delivery.folder_widget.setFilePath(str(tmp_path))
    dialog.confirm = lambda text: pytest.fail("nothing to confirm")
    assert not dialog.place() and dock.workflows[0].orders == []
    assert "Select at least one published capture" in dialog.errors.text("captures")


def test_the_details_button_orders_the_orders_published_captures_clipped_to_its_area(dock, qtbot):
    order = make_order(3, "FULFILLED")
    details = OrderDetailsWidget()
    qtbot.addWidget(details)
    details.show_order(order)
    assert not details.imagery_button.isEnabled()  # captures not loaded yet
    pending = replace(published(4, order.id), status="QUEUED", strip_id=None)
    details.show_extras(order, [pending], None)
    assert not details.imagery_button.isEnabled() and "published" in details.imagery_button.toolTip()
    details.show_extras(order, [pending, published(5, order.id)], None)
    assert details.imagery_button.isEnabled()
    with qtbot.waitSignal(details.imageryRequested) as sent:
        details.imagery_button.click()
    dialog = dock.order_imagery_of_order(*sent.args)
    assert [c.strip_id for c in dialog.captures] == ["s105_20260105T120005Z"]
    assert dialog.clip_combo.currentData() == CLIP_TASKING
    details.show_order(make_order(6, "PENDING"))
    assert not details.imagery_button.isEnabled()  # another order: its captures are not known yet


def test_the_orders_tab_details_are_wired_to_the_dialog(dock):
    panel = dock.orders_panel
    assert panel is not None and dock.order_imagery_action.isEnabled()
    order = make_order(7, "FULFILLED", geometry=None)
    panel.details.show_order(order)
    panel.details.show_extras(order, [published(8, order.id)], None)
    panel.details.imagery_button.click()
    dialog = dock.imagery_dialog
    assert dialog is not None and [c.strip_id for c in dialog.captures] == ["s108_20260105T120008Z"]
    # without the order's area there is nothing to clip to by default
    assert dialog.clip_combo.currentData() == NO_CLIP


def test_unload_cancels_an_order_under_way(dock, tmp_path, qgis_iface):
    dock.order_imagery_action.trigger()
    dialog = dock.imagery_dialog
    dialog.captures = []
    from ui.archive.sources import PublishedCapture

    dialog.set_captures([PublishedCapture("s109_20260105T120009Z")])
    dialog.delivery.folder_widget.setFilePath(str(tmp_path))
    dialog.confirm = lambda text: True
    assert dialog.place()
    workflow = dock.workflows[0]
    dock.shutdown()
    assert workflow.cancels == 1 and dock.imagery_dialog is None
