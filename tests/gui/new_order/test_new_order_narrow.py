"""The New order tab in a 400 px dock: one column, no sideways scrolling, the main controls at hand."""

from __future__ import annotations

import os

import pytest
from qgis.PyQt.QtCore import QPoint, Qt
from qgis.PyQt.QtWidgets import QDockWidget, QScrollArea, QWidget

from core.services.planet_tasking.forms import ASSURED, CONTRACT_NEEDED
from ui.dock import TaskingDock
from ui.new_order.windows_table import SHOWN_COLUMNS

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
    scroll = panel.findChild(QScrollArea, "newOrderScroll")
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
    assert shown == ["Start (UTC)", "Cloud", "Price (km²)"]
    # Every shown cell is read whole, not cut to "25.00 …".
    metrics = view.fontMetrics()
    cut = [(row, column, panel.windows_proxy.index(row, column).data())
           for row in range(panel.windows_proxy.rowCount()) for column in SHOWN_COLUMNS
           if metrics.horizontalAdvance(panel.windows_proxy.index(row, column).data()) > view.columnWidth(column) - 8]
    assert cut == []
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
    qtbot.waitUntil(panel.quote_is_current, timeout=WAIT_MS)
    if SHOTS:
        dock.grab().save(os.path.join(SHOTS, "new_order_400px.png"))
    # The folded options fit too once opened, and the chosen window's detail wraps.
    panel.windows_view.selectRow(0)
    panel.options.more_group.setCollapsed(False)
    qtbot.wait(50)
    assert panel.elevation_min_spin.isVisible() and panel.exclusivity_combo.isVisible()
    assert panel.body.minimumSizeHint().width() <= scroll.viewport().width()
    assert not scroll.horizontalScrollBar().isVisible()
    if SHOTS:
        scroll.verticalScrollBar().setValue(scroll.verticalScrollBar().maximum())
        dock.grab().save(os.path.join(SHOTS, "new_order_400px_more.png"))


def test_rarely_used_options_are_folded_and_open_by_themselves_when_one_has_an_error(panel, qtbot, sandbox):  # noqa: F811
    more = panel.options.more_group
    assert more.isCollapsed() and not panel.pl_number_edit.isVisible()
    assert panel.name_edit.isVisible() and panel.start_edit.isVisible()
    # An assured search needs the contract: its error must not be folded away.
    panel.pl_number_edit.setText("")
    set_scheduling(panel, ASSURED)
    draw_point(panel)
    panel.find_button.click()
    assert panel.field_error("pl_number") == CONTRACT_NEEDED
    assert not more.isCollapsed() and panel.pl_number_edit.isVisible()


def test_in_the_plugins_dock_the_new_order_tab_fits_400_px(qgis_iface, clean_settings, sandbox, qtbot):
    clean_settings.set_use_sandbox(True)
    dock = TaskingDock(iface=qgis_iface)
    try:
        dock.resize(DOCK_WIDTH, 1000)
        dock.show()
        qtbot.waitExposed(dock)
        panel = dock.new_order_panel
        # The New order tab asks for no more than the 400 px (the dock's width is also the other tab's).
        assert panel.minimumSizeHint().width() <= DOCK_WIDTH - 20
        scroll = panel.findChild(QScrollArea, "newOrderScroll")
        assert panel.body.minimumSizeHint().width() <= scroll.viewport().width()
        # Once the layout has settled (a vertical scroll bar may come and narrow the view), all fits.
        qtbot.waitUntil(lambda: panel.body.width() <= scroll.viewport().width(), timeout=2000)
        assert not scroll.horizontalScrollBar().isVisible()
        for button in (*panel.tool_buttons.values(), panel.selected_button, panel.place_button):
            assert button.isVisible() and button.isEnabled(), button.objectName()
            # Wholly inside the visible width: nothing cut off at the right edge.
            assert button.mapTo(scroll.viewport(), QPoint(button.width() - 1, 0)).x() < scroll.viewport().width()
        if SHOTS:
            dock.grab().save(os.path.join(SHOTS, "new_order_in_dock_400px.png"))
    finally:
        dock.shutdown()
        dock.deleteLater()
