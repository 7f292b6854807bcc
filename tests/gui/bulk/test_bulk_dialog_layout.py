"""The bulk dialogs read well at their default size: whole column titles, tall tables, one labelled progress, named orders."""

from __future__ import annotations

import pytest
from qgis.core import QgsVectorLayer
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QProgressBar

from core.app.bulk import BulkJob
from core.services.planet_tasking.layers import create_orders_layer
from tests.layers_from_wkt import labelled_points
from ui.bulk import BulkEditDialog, BulkOrderDialog, selected_order_ids_from

# Long names, as an analyst's own layer has them: they must not push the other columns out of view.
SITES = ["Tempelhofer Feld, former airport apron and runways", "Tegel airport", "Müggelsee", "Spandau citadel",
         "Teufelsberg listening station", "Gärten der Welt", "Britzer Garten", "Olympiastadion", "Treptower Park",
         "Flughafen Schönefeld", "Wannsee beach", "Pfaueninsel"]


pytestmark = pytest.mark.usefixtures("no_leftover_tasks")


def sites_layer(count: int) -> QgsVectorLayer:
    return labelled_points("EPSG:4326", "Field sites", "name",
                           ((13.2 + index * 0.04, 52.45, SITES[index]) for index in range(count)))


def site_dialog(qtbot, qgis_iface, project, factory, journal, count: int) -> BulkOrderDialog:
    layer = sites_layer(count)
    project.addMapLayer(layer)
    dialog = BulkOrderDialog(factory, qgis_iface, journal=journal, poll_seconds=1.0)
    qtbot.addWidget(dialog)
    dialog.confirm = lambda text: True
    dialog.layer_combo.setLayer(layer)
    dialog.show()
    qtbot.waitExposed(dialog)
    return dialog


def cut_titles(table):
    """The column titles that do not fit their column, as (title, its width, the column's)."""
    header = table.horizontalHeader()
    metrics = header.fontMetrics()
    titles = [(table.horizontalHeaderItem(c).text(), header.sectionSize(c)) for c in range(table.columnCount())]
    return [(text, metrics.horizontalAdvance(text), size) for text, size in titles
            if metrics.horizontalAdvance(text) > size]


def rows_in_view(table) -> int:
    """How many rows show whole in the table's viewport without scrolling."""
    height = table.viewport().height()
    return sum(1 for row in range(table.rowCount())
               if table.rowViewportPosition(row) + table.rowHeight(row) <= height)


def visible_bars(dialog):
    return [bar for bar in dialog.findChildren(QProgressBar) if bar.isVisible()]


def test_the_tables_titles_read_whole_with_long_names_and_show_enough_rows(qtbot, qgis_iface, project, factory,
                                                                          journal, sandbox):
    dialog = site_dialog(qtbot, qgis_iface, project, factory, journal, 12)
    assert dialog.width() == 900  # the default size these checks are about

    preview = dialog.preview_table
    assert preview.rowCount() == 10
    assert cut_titles(preview) == []
    # Short titles say the field; the header's tooltip gives its full label.
    tooltips = {preview.horizontalHeaderItem(c).text(): preview.horizontalHeaderItem(c).toolTip()
                for c in range(preview.columnCount())}
    assert tooltips["Stereo"] == "Stereo points of view" and tooltips["Excl. days"] == "Exclusivity days"
    assert preview.horizontalScrollBar().maximum() == 0  # every column in view
    assert rows_in_view(preview) >= 6, rows_in_view(preview)
    # The long name is cut in its cell, whole in the cell's tooltip.
    assert preview.item(0, 1).toolTip() == SITES[0]

    qtbot.mouseClick(dialog.validate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None and not dialog.workflow.busy, timeout=20000)
    qtbot.mouseClick(dialog.price_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pricing is not None and not dialog.workflow.busy, timeout=20000)
    check = dialog.validation_table
    assert dialog.feature_tabs.currentWidget() is check  # the check's results come forward
    assert check.horizontalHeaderItem(5).text() == "Price (km² of quota)"
    assert cut_titles(check) == []
    assert check.horizontalScrollBar().maximum() == 0
    assert rows_in_view(check) >= 6, rows_in_view(check)


def test_one_progress_bar_for_one_part_each_bar_saying_what_it_counts(qtbot, qgis_iface, project, factory,
                                                                     journal, sandbox):
    dialog = site_dialog(qtbot, qgis_iface, project, factory, journal, 4)
    assert visible_bars(dialog) == []  # nothing runs yet: no empty bar
    assert not dialog.parts_scroller.isVisible()

    qtbot.mouseClick(dialog.validate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None and not dialog.workflow.busy, timeout=20000)
    assert [bar.text() for bar in visible_bars(dialog)] == ["Checking the features: 100%"]

    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None and not dialog.workflow.busy, timeout=30000)
    assert [bar.text() for bar in visible_bars(dialog)] == ["Sending 4 orders: 100%"]
    assert "COMPLETE" in dialog.progress_panel.states()[0]
    # The part's line sits right under the bar: the area is as tall as its contents, no empty band.
    assert dialog.parts_scroller.isVisible()
    assert dialog.parts_scroller.height() <= dialog.progress_panel.sizeHint().height()


def test_several_parts_each_have_a_labelled_bar(qtbot, qgis_iface, project, factory, journal, sandbox,
                                               monkeypatch):
    original = BulkJob.start.__func__
    monkeypatch.setattr(BulkJob, "start", classmethod(
        lambda cls, *args, **kwargs: original(cls, *args, **{**kwargs, "chunk_size": 2})))
    dialog = site_dialog(qtbot, qgis_iface, project, factory, journal, 3)
    qtbot.mouseClick(dialog.validate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None and not dialog.workflow.busy, timeout=20000)
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None and not dialog.workflow.busy, timeout=30000)
    assert [bar.text() for bar in visible_bars(dialog)] == ["Sending 3 orders: 100%", "Part 1: 2 of 2",
                                                           "Part 2: 1 of 1"]
    assert [text.split(":")[0] for text in dialog.progress_panel.states()] == ["Part 1 of 2 (2 orders)",
                                                                               "Part 2 of 2 (1 orders)"]


def test_the_edit_dialog_names_the_selected_orders(qtbot, qgis_iface, project, factory, journal, sandbox):
    client = factory()
    pairs = [(i, {"name": f"Site {i}", "geometry": {"type": "Point", "coordinates": [10 + i * 0.1, 45]}})
             for i in range(6)]
    BulkJob.start(journal, "CREATE", pairs, client.base_url).run(client)
    orders = sorted(client.iter_orders(), key=lambda order: order.name)
    ids = [order.id for order in orders]

    dialog = BulkEditDialog(factory, qgis_iface, ids[:3], statuses={o.id: o for o in orders[:3]}, journal=journal)
    qtbot.addWidget(dialog)
    dialog.show()
    assert dialog.selection_label.isVisible()
    assert dialog.selection_label.text() == "3 orders selected: “Site 0”, “Site 1”, “Site 2”."

    many = BulkEditDialog(factory, qgis_iface, ids, statuses={o.id: o for o in orders}, journal=journal)
    qtbot.addWidget(many)
    assert many.selection_label.text() == "6 orders selected: “Site 0”, “Site 1”, “Site 2”, “Site 3” and 2 more."
    assert many.selection_label.toolTip().splitlines() == [f"Site {i}" for i in range(6)]

    # Unknown anywhere (no orders layer has them selected): the id and status, then.
    unknown = BulkEditDialog(factory, qgis_iface, ids[:1], statuses={ids[0]: "PENDING"}, journal=journal)
    qtbot.addWidget(unknown)
    assert unknown.selection_label.text() == f"1 order selected: “{ids[0]} (PENDING)”."

    # Selected in the Tasking orders layer, only ids and statuses come: the names are read from the layer.
    layer = create_orders_layer(orders=orders)
    project.addMapLayer(layer)
    layer.selectByExpression(f"\"id\" IN ('{ids[1]}', '{ids[4]}')")
    selected, statuses = selected_order_ids_from(None)
    assert sorted(selected) == sorted([ids[1], ids[4]]) and all(isinstance(s, str) for s in statuses.values())
    from_layer = BulkEditDialog(factory, qgis_iface, selected, statuses=statuses, journal=journal)
    qtbot.addWidget(from_layer)
    assert from_layer.selection_label.text() in ("2 orders selected: “Site 1”, “Site 4”.",
                                                 "2 orders selected: “Site 4”, “Site 1”.")
