"""The whole dock at 400 px: both tabs, with orders loaded from the sandbox, work with no sideways scrolling."""

from __future__ import annotations

import os
from urllib.parse import urlsplit

import pytest
from qgis.PyQt.QtCore import QCoreApplication, QEvent
from qgis.PyQt.QtWidgets import QAbstractScrollArea

from core import settings
from tests.integration.order_states import bulk_create, make_client, point

pytestmark = pytest.mark.usefixtures("clean_settings")
DOCK_WIDTH = 400
WAIT_MS = 60_000
SHOTS = os.environ.get("DOCK_SHOTS")


def sideways_scrolling(tab) -> list:
    """The scroll areas of a tab that show a horizontal scroll bar (what a user would have to scroll)."""
    return [area.objectName() or type(area).__name__ for area in tab.findChildren(QAbstractScrollArea)
            if area.isVisible() and area.horizontalScrollBar().isVisible()]


def test_the_dock_is_usable_400_px_wide_with_orders_loaded(sandbox, qgis_iface, qtbot):
    from satellite_tasking.ui.dock import TaskingDock

    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"Field site with a rather long name {n:02d}", "geometry": point(n)}
                                  for n in range(30)])
    settings.set_sandbox_port(urlsplit(sandbox.root).port)
    settings.set_use_sandbox(True)
    dock = TaskingDock(iface=qgis_iface)
    qtbot.addWidget(dock)
    try:
        dock.resize(DOCK_WIDTH, 900)
        dock.show()
        qtbot.waitExposed(dock)
        assert dock.minimumSizeHint().width() <= DOCK_WIDTH

        dock.tabs.setCurrentWidget(dock.orders_panel)
        orders = dock.orders_panel
        qtbot.waitUntil(lambda: len(orders.model.orders) == 30 and not orders.busy(), timeout=WAIT_MS)
        qtbot.wait(200)  # the columns are fitted to the width after the rows arrive
        assert sideways_scrolling(orders) == []
        shown = [orders.model.headerData(column, 1) for column in range(orders.model.columnCount())
                 if not orders.view.isColumnHidden(column)]
        assert shown[:2] == ["Name", "Status"]
        if SHOTS:
            dock.grab().save(os.path.join(SHOTS, "dock_orders_400px.png"))

        dock.tabs.setCurrentWidget(dock.new_order_panel)
        qtbot.wait(200)
        assert sideways_scrolling(dock.new_order_panel) == []
        assert dock.new_order_panel.place_button.isVisibleTo(dock.new_order_panel)
        if SHOTS:
            dock.grab().save(os.path.join(SHOTS, "dock_new_order_400px.png"))
    finally:
        dock.shutdown()
        dock.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
