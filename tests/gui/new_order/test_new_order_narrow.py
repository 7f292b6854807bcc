"""The New order tab in a 400 px dock: one column, no sideways scrolling, the main controls at hand."""

from __future__ import annotations

import os

import pytest
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QDockWidget, QWidget

from core.services.planet_tasking.forms import ASSURED

from .test_order_panel import (  # noqa: F401 - fixtures
    WAIT_MS,
    canvas,
    client_factory,
    draw_point,
    panel,
    run_search,
    set_scheduling,
)

pytestmark = pytest.mark.usefixtures("clean_settings")

DOCK_WIDTH = 400
SHOTS = os.environ.get("NEW_ORDER_SHOTS")


def docked(panel, qgis_parent, qtbot):  # noqa: F811 - the fixture imported above
    dock = QDockWidget("Satellite tasking", qgis_parent)
    dock.setWidget(panel)
    panel.show()
    dock.resize(DOCK_WIDTH, 1000)
    dock.show()
    qtbot.waitExposed(dock)
    return dock


def test_the_panel_fits_a_400_px_dock_without_sideways_scrolling(panel, qtbot, qgis_parent, sandbox):  # noqa: F811
    set_scheduling(panel, ASSURED)
    dock = docked(panel, qgis_parent, qtbot)
    assert dock.minimumSizeHint().width() <= DOCK_WIDTH
    assert panel.minimumSizeHint().width() <= DOCK_WIDTH
    draw_point(panel)
    run_search(qtbot, panel, sandbox)
    qtbot.wait(50)
    scroll = panel.findChild(type(panel.body.parent().parent()), "newOrderScroll")
    assert panel.body.minimumSizeHint().width() <= scroll.viewport().width()
    assert not scroll.horizontalScrollBar().isVisible()
    view = panel.windows_view
    assert not view.horizontalScrollBar().isVisible()
    shown_width = sum(view.columnWidth(c) for c in range(panel.windows_model.columnCount()) if not view.isColumnHidden(c))
    assert shown_width <= view.viewport().width()
    assert panel.windows_proxy.rowCount() > 0
    # The columns that decide come first and are shown; the rest are a hover away.
    shown = [panel.windows_proxy.headerData(view.horizontalHeader().logicalIndex(v), Qt.Orientation.Horizontal)
             for v in range(view.horizontalHeader().count())
             if not view.isColumnHidden(view.horizontalHeader().logicalIndex(v))]
    assert shown == ["Start (UTC)", "Cloud", "Price"]
    tip = panel.windows_proxy.index(0, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "Off-nadir" in tip and "Tier" in tip and "GSD" in tip
    # The controls of the main flow are on screen and usable.
    for button in (*panel.tool_buttons.values(), panel.find_button, panel.place_button):
        if button is panel.tool_buttons["polygon"]:
            continue  # assured orders are points or strips
        assert button.isVisible() and button.isEnabled(), button.objectName()
        assert button.width() <= DOCK_WIDTH
    too_wide = [w.objectName() or type(w).__name__ for w in panel.body.findChildren(QWidget)
                if w.isVisibleTo(panel) and w.minimumSizeHint().width() > 380]
    assert too_wide == []
    if SHOTS:
        dock.grab().save(os.path.join(SHOTS, "new_order_400px.png"))
