"""The imaging-windows timeline in real QGIS against the sandbox: a click chooses, the table's choice is marked."""

from __future__ import annotations

import pytest
from qgis.PyQt.QtCore import QEvent, QPoint, Qt
from qgis.PyQt.QtGui import QHelpEvent
from qgis.PyQt.QtWidgets import QApplication, QToolTip

from core import layers
from core.services.planet_tasking.forms import ASSURED
from ui.new_order.windows_timeline import bar_at

from .test_order_panel import (  # noqa: F401 - fixtures
    canvas,
    client_factory,
    draw_point,
    panel,
    run_search,
    set_scheduling,
)

pytestmark = pytest.mark.usefixtures("clean_settings")


def test_a_click_on_a_bar_chooses_its_window_and_hovering_tells_cloud_off_nadir_and_price(panel, qtbot, sandbox):  # noqa: F811, E501
    set_scheduling(panel, ASSURED)
    draw_point(panel)
    run_search(qtbot, panel, sandbox)
    timeline = panel.windows_timeline
    assert timeline.isVisible()
    bars = timeline.bars()
    assert len(bars) == panel.windows_proxy.rowCount() > 1
    # The last bar is the last window in time; the table lists by start, so it is the last row.
    last = panel.windows_proxy.window(panel.windows_proxy.rowCount() - 1)
    centre = timeline.bar_centre(last.id)
    assert centre is not None and panel.selected_window is None

    # Hovering: Qt sends the widget a tooltip event where the pointer rests.
    QApplication.sendEvent(timeline, QHelpEvent(QEvent.Type.ToolTip, centre, timeline.mapToGlobal(centre)))
    qtbot.waitUntil(QToolTip.isVisible, timeout=2000)
    tip = QToolTip.text()
    assert f"{last.start_time:%Y-%m-%d %H:%M:%S} UTC" in tip
    assert "Cloud forecast: " in tip and "Off-nadir: " in tip and "km² of quota" in tip
    QToolTip.hideText()

    qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=centre)
    assert panel.selected_window is not None and panel.selected_window.id == last.id
    rows = panel.windows_view.selectionModel().selectedRows()
    assert [panel.windows_proxy.window(r.row()).id for r in rows] == [last.id]
    assert timeline.selected_id == last.id
    assert "It replaces none of your orders." in panel.window_detail.text()

    # The other way round: choosing a row in the table marks its bar.
    first = panel.windows_proxy.window(0)
    panel.windows_view.selectRow(0)
    assert timeline.selected_id == first.id
    # A click on empty timeline changes nothing.
    empty = next(x for x in range(timeline.width()) if all(not b.contains(x, 4) for b in bars))
    qtbot.mouseClick(timeline, Qt.MouseButton.LeftButton, pos=QPoint(empty, centre.y()))
    assert panel.selected_window.id == first.id
    # Without the AOI the windows are forgotten: the timeline is empty too.
    panel.clear_aoi()
    assert timeline.bars() == [] and timeline.selected_id is None


def test_the_chosen_window_is_selected_on_the_map_and_a_window_selected_on_the_map_is_chosen(panel, qtbot, sandbox):  # noqa: F811, E501
    set_scheduling(panel, ASSURED)
    draw_point(panel)
    run_search(qtbot, panel, sandbox)
    layer = panel.show_windows_on_map()
    assert layer is not None and layer.featureCount() == panel.windows_proxy.rowCount()
    assert layer.selectedFeatureCount() == 0
    # A window whose bar can be clicked: two passes minutes apart can share their pixels on the timeline, and a
    # click there chooses the one drawn on top (which windows do depends on the day the test runs).
    timeline, bars = panel.windows_timeline, panel.windows_timeline.bars()
    row = next(r for r in range(1, panel.windows_proxy.rowCount())
               if bar_at(bars, timeline.bar_centre(panel.windows_proxy.window(r).id).x()).window_id
               == panel.windows_proxy.window(r).id)
    chosen = panel.windows_proxy.window(row)
    panel.windows_view.selectRow(row)
    assert [f["id"] for f in layer.getSelectedFeatures()] == [chosen.id]
    # Selected on the map (e.g. with the Select Features tool): the table and the timeline follow.
    other = panel.windows_proxy.window(0)
    layer.selectByIds(layers.feature_ids_of(layer, [other.id]))
    assert panel.selected_window.id == other.id and panel.windows_timeline.selected_id == other.id
    assert [panel.windows_proxy.window(r.row()).id for r in panel.windows_view.selectionModel().selectedRows()] \
        == [other.id]
    # A click on the timeline goes to the map as well.
    qtbot.mouseClick(panel.windows_timeline, Qt.MouseButton.LeftButton, pos=panel.windows_timeline.bar_centre(chosen.id))
    assert panel.selected_window.id == chosen.id
    assert [f["id"] for f in layer.getSelectedFeatures()] == [chosen.id]
