"""The Orders panel against the sandbox: server-side filters, sorting and paging, edits, cancels, layers and selection."""

from __future__ import annotations

import gc
import os
from collections import Counter
from datetime import timedelta
from urllib.parse import parse_qs

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsProject, QgsRectangle, QgsVectorLayer
from qgis.PyQt.QtCore import QDateTime, Qt
from qgis.PyQt.QtWidgets import QMessageBox

from core.app.orders_refresh import AdaptiveInterval
from core.layers import geojson_to_geometry, wkb_to_geometry
from core.services.planet_tasking.client import TaskingClient
from tests.conftest import SandboxServer
from tests.integration.order_states import (
    assured_windows,
    bulk_create,
    create_assured,
    daylight_point,
    make_client,
    make_every_state,
    point,
    sim_now,
)
from ui.orders.model import CHANGED_ROLE, COLUMNS

WAIT_MS = 60_000


def settle(qtbot, panel, timeout=WAIT_MS):
    try:
        qtbot.waitUntil(lambda: not panel.busy(), timeout=timeout)
    except Exception:
        raise AssertionError(f"the panel is still busy: {what_is_busy(panel)}") from None


def what_is_busy(panel) -> str:
    """Which part of the panel is still busy, and what QGIS's task manager holds (said when a wait times out)."""
    from qgis.core import QgsApplication

    manager = [(task.description(), int(task.status()), task.isCanceled())
               for task in QgsApplication.taskManager().tasks()]
    return (f"tasks {[(t.description(), int(t.status()), t.isCanceled()) for t in panel.tasks.running]}, "
            f"map {panel.mirror.busy()}, list {panel.model.loading}, filter timer {panel._filter_timer.isActive()}; "
            f"task manager {manager}")


def load_all(qtbot, panel):
    settle(qtbot, panel)
    while panel.model.canFetchMore():
        panel.model.fetchMore()
        settle(qtbot, panel)


def server_ids(client, **params):
    return [o.id for o in client.iter_orders(page_size=1000, fields=["id"], **params)]


def whole_seconds_ms(moment):
    """A server time as the layers hold it: to the whole second (QGIS 3.22's GeoPackage writer drops
    milliseconds, so the layers keep every store's precision; see core.layers.epoch_ms)."""
    return int(moment.timestamp() // 1) * 1000


def layer_values(layer, field):
    return [f[field] for f in layer.getFeatures()]


@pytest.fixture
def world(sandbox):
    client = make_client(sandbox)
    make_every_state(sandbox, client)
    payloads = [{"name": f"bulk {'alpha' if n % 3 else 'beta'} {n:03d}", "geometry": point(600 + n),
                 "scheduling_type": "FLEXIBLE"} for n in range(150)]
    payloads += [{"name": f"stereo {n}", "geometry": point(900 + n), "order_type": "STEREO", "n_stereo_pov": 2}
                 for n in range(10)]
    bulk_create(sandbox, client, payloads)
    return client


def test_filters_and_sorting_give_exactly_the_servers_answer(sandbox, world, make_orders_panel, qtbot):
    client = world
    panel = make_orders_panel(sandbox)
    panel.start()
    settle(qtbot, panel)
    total = client.list_orders(limit=1).count
    assert panel.model.total == total and len(panel.model.orders) == min(total, panel.model.page_size)
    assert f"of {total:,} orders" in panel.count_label.text()
    load_all(qtbot, panel)
    assert [o.id for o in panel.model.orders] == server_ids(client, ordering=["-created_time", "id"])

    now = sim_now(sandbox)
    created = panel.model.orders[len(panel.model.orders) // 2].created_time
    cases = [
        (lambda: panel.set_statuses(["FULFILLED", "EXPIRED"]),
         {"status__in": ["FULFILLED", "EXPIRED"]}),
        (lambda: panel.set_statuses(["IN_PROGRESS"]), {"status": "IN_PROGRESS"}),
        (lambda: (panel.set_statuses(["RECEIVED"]), panel.name_filter.setText("ALPHA")),
         {"status": "RECEIVED", "name__icontains": "ALPHA"}),
        (lambda: (panel.set_statuses([]), panel.name_filter.setText("")), {}),
        (lambda: panel.order_type_filter.setCurrentIndex(panel.order_type_filter.findData("STEREO")),
         {"order_type": "STEREO"}),
        (lambda: (panel.order_type_filter.setCurrentIndex(0),
                  panel.scheduling_filter.setCurrentIndex(panel.scheduling_filter.findData("ASSURED"))),
         {"scheduling_type": "ASSURED"}),
        (lambda: (panel.scheduling_filter.setCurrentIndex(0),
                  panel.created_from.setDateTime(QDateTime.fromMSecsSinceEpoch(
                      int(created.timestamp()) * 1000, Qt.TimeSpec.UTC))),
         {"created_time__gte": created.replace(microsecond=0)}),
        (lambda: (panel.created_from.clear(),
                  panel.updated_to.setDateTime(QDateTime.fromMSecsSinceEpoch(
                      int((now - timedelta(days=1)).timestamp()) * 1000, Qt.TimeSpec.UTC))),
         {"updated_time__lte": (now - timedelta(days=1)).replace(microsecond=0)}),
    ]
    for change, filters in cases:
        change()
        load_all(qtbot, panel)
        expected = server_ids(client, ordering=["-created_time", "id"], **filters)
        assert [o.id for o in panel.model.orders] == expected, filters
        assert panel.model.total == len(expected)
        assert expected, filters  # every case selects some orders, so an empty view would not pass by luck
    panel.updated_to.clear()
    load_all(qtbot, panel)

    for column, spec in enumerate(COLUMNS):
        if spec.ordering is None:
            continue
        for direction, sign in ((Qt.SortOrder.AscendingOrder, ""), (Qt.SortOrder.DescendingOrder, "-")):
            panel.view.sortByColumn(column, direction)
            load_all(qtbot, panel)
            ordering = [sign + spec.ordering] + (["id"] if spec.ordering != "id" else [])
            assert [o.id for o in panel.model.orders] == server_ids(client, ordering=ordering), ordering
    # A column the service cannot sort by: nothing is reloaded and the indicator stays where the rows are sorted.
    unsortable = next(i for i, c in enumerate(COLUMNS) if c.ordering is None)
    generation = panel.model.generation
    panel.view.horizontalHeader().setSortIndicator(unsortable, Qt.SortOrder.AscendingOrder)
    assert panel.model.generation == generation
    assert panel.view.horizontalHeader().sortIndicatorSection() == panel.model.sort_column != unsortable


def test_paging_through_2000_orders_loads_every_one_once(sandbox, make_orders_panel, qtbot):
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"paged {n:04d}", "geometry": point(n)} for n in range(2000)])
    panel = make_orders_panel(sandbox)
    panel.start()
    settle(qtbot, panel)
    assert panel.model.total == 2000 and "100 of 2,000" in panel.count_label.text()
    for _ in range(100):
        if len(panel.model.orders) >= 2000:
            break
        panel.view.scrollToBottom()  # the view asks the model for more when it reaches the end
        qtbot.wait(10)
        settle(qtbot, panel)
    ids = [o.id for o in panel.model.orders]
    assert len(ids) == 2000 and len(set(ids)) == 2000
    assert set(ids) == set(server_ids(client))
    view_pages = [parse_qs(r["query"]) for r in sandbox.requests_seen()
                  if r["method"] == "GET" and r["path"].endswith("/orders/")]
    # The view's own page requests: its ordering, no filters, pages of 100 (not the count of cancellations).
    view_pages = [q for q in view_pages if q.get("limit") == ["100"] and set(q) <= {"limit", "offset", "ordering"}]
    offsets = Counter(q.get("offset", ["0"])[0] for q in view_pages)
    assert len(offsets) == 20 and set(offsets.values()) == {1}
    assert not panel.model.canFetchMore()
    assert "2,000 of 2,000" in panel.count_label.text()
    assert panel.orders_layer.featureCount() == 2000


def test_details_show_every_field_and_enable_only_what_the_state_allows(sandbox, make_orders_panel, qtbot):
    client = make_client(sandbox)
    make_every_state(sandbox, client)
    panel = make_orders_panel(sandbox)
    panel.start()
    load_all(qtbot, panel)
    seen = set()
    for row, order in enumerate(list(panel.model.orders)):
        if order.status in seen:
            continue
        seen.add(order.status)
        panel.view.selectRow(row)
        qtbot.waitUntil(lambda o=order: panel.details.browser.toPlainText().count("Pricing") >= 1, timeout=WAIT_MS)
        settle(qtbot, panel)
        rules = panel.details.permissions
        for widget, permission in ((panel.details.name_edit, rules.name), (panel.details.start_edit, rules.start_time),
                                   (panel.details.end_edit, rules.end_time),
                                   (panel.details.cancel_button, rules.cancel)):
            assert widget.isEnabled() == permission.allowed, (order.status, widget.objectName())
            if not permission.allowed:
                assert widget.toolTip() == permission.reason and permission.reason
        text = panel.details.browser.toPlainText()
        for field in ("status", "scheduling_type", "requested_sqkm", "created_time", "exclusivity_days"):
            assert field in text
        assert "Estimated quota cost" in text and "imaging_mode" in text
        assert "Captures" in text
        assert text.startswith(order.name) and text.index("Status") < text.index("Captures") < text.index(
            "Pricing") < text.index("All fields")
    assert {"RECEIVED", "PENDING", "IN_PROGRESS", "FULFILLED", "EXPIRED", "CANCELLED", "PENDING_CANCELLATION"} <= seen

    # Edit the end time of an IN_PROGRESS order and the name of a PENDING one through the widgets.
    running_row = next(r for r, o in enumerate(panel.model.orders) if o.status == "IN_PROGRESS")
    running = panel.model.orders[running_row]
    panel.view.selectRow(running_row)
    settle(qtbot, panel)
    assert not panel.details.start_edit.isEnabled() and panel.details.end_edit.isEnabled()
    new_end = running.end_time.replace(microsecond=0) + timedelta(days=3)
    panel.details.end_edit.setDateTime(QDateTime.fromMSecsSinceEpoch(int(new_end.timestamp()) * 1000, Qt.TimeSpec.UTC))
    with qtbot.waitSignal(panel.orderSaved, timeout=WAIT_MS) as saved:
        panel.details.save_button.click()
    assert getattr(saved.args[0], "end_time", None) == new_end
    assert client.get_order(running.id).end_time == new_end
    pending_row = next(r for r, o in enumerate(panel.model.orders) if o.status == "PENDING")
    pending = panel.model.orders[pending_row]
    panel.view.selectRow(pending_row)
    settle(qtbot, panel)
    panel.details.name_edit.setText("renamed in QGIS")
    with qtbot.waitSignal(panel.orderSaved, timeout=WAIT_MS):
        panel.details.save_button.click()
    settle(qtbot, panel)
    assert panel.details.message_label.text() == "Saved."
    assert "Estimated quota cost" in panel.details.browser.toPlainText()  # read in full again after the edit
    assert client.get_order(pending.id).name == "renamed in QGIS"
    assert panel.model.orders[pending_row].name == "renamed in QGIS"
    settle(qtbot, panel)
    names = {f["id"]: f["name"] for f in panel.orders_layer.getFeatures()}
    assert names[pending.id] == "renamed in QGIS"


def test_the_tab_reads_well_names_details_first_and_no_empty_room(sandbox, make_orders_panel, qtbot):
    client = make_client(sandbox)
    start = sim_now(sandbox)
    name = "Demo: Berlin south-west to north-east"
    order = client.create_order({"name": name, "geometry": daylight_point(0, start), "exclusivity_days": 0,
                                 "end_time": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    for n in range(3):
        client.create_order({"name": f"Demo: order number {n}", "geometry": point(n)})
    sandbox.advance(65 * 60)
    assert client.list_captures([order.id]).results, "the sandbox acquired no capture for the short order"
    panel = make_orders_panel(sandbox)
    panel.start()
    load_all(qtbot, panel)

    # The most useful columns come first, the rarely needed ones are hidden (the header's menu shows them).
    header = panel.view.horizontalHeader()
    shown = [COLUMNS[header.logicalIndex(v)].title for v in range(header.count())
             if not header.isSectionHidden(header.logicalIndex(v))]
    assert shown[:6] == ["Name", "Status", "Scheduling", "Start (UTC)", "End (UTC)", "Created (UTC)"]
    assert "Id" not in shown and "Contract" not in shown
    menu = panel.column_menu()
    contract = next(a for a in menu.actions() if a.text() == "Contract")
    assert not contract.isChecked()
    contract.setChecked(True)
    assert not panel.view.isColumnHidden(next(i for i, c in enumerate(COLUMNS) if c.title == "Contract"))
    # A typical name fits its column; so do the dates.
    name_column = next(i for i, c in enumerate(COLUMNS) if c.attribute == "name")
    metrics = panel.view.fontMetrics()
    assert panel.view.columnWidth(name_column) >= metrics.horizontalAdvance(name) + 6
    start_column = next(i for i, c in enumerate(COLUMNS) if c.attribute == "start_time")
    assert panel.view.columnWidth(start_column) >= metrics.horizontalAdvance("2026-11-23 10:35") + 6

    # The filters are folded at first; unfolded, empty date filters read "any", not NULL.
    assert panel.filters_box.isCollapsed() and not panel.created_from.isVisible()
    panel.filters_box.setCollapsed(False)
    for edit in (panel.created_from, panel.created_to, panel.updated_from, panel.updated_to):
        assert edit.isVisible() and edit.isNull() and edit.lineEdit().text() == "any"
    panel.filters_box.setCollapsed(True)
    # Empty message lines take no room above the table.
    assert panel.refresh_label.isHidden() and panel.message_label.isHidden()
    assert panel.details.message_label.isHidden()
    labels_bottom = max(w.geometry().bottom() for w in (panel.count_label, panel.map_label, panel.cancellations_label)
                        if w.isVisible())
    assert panel.splitter.geometry().top() - labels_bottom <= 2 * panel.layout().spacing() + 4
    panel.show_message("Something to say.")
    assert not panel.message_label.isHidden()
    panel.show_message("")
    assert panel.message_label.isHidden()

    # The details get at least as much room as the rows, most of it for the summary, captures and pricing.
    table_height, details_height = panel.splitter.sizes()
    assert details_height >= table_height
    assert panel.details.browser.height() >= max(panel.height() // 4, 3 * panel.details.name_edit.height())

    # The details start with the name and a readable summary; captures, pricing, then every raw field.
    panel.select_orders([order.id])
    qtbot.waitUntil(lambda: "Pricing" in panel.details.browser.toPlainText(), timeout=WAIT_MS)
    settle(qtbot, panel)
    text = panel.details.browser.toPlainText()
    assert text.splitlines()[0] == name
    positions = [text.index(heading) for heading in ("Status", "Imaging period", "Area", "\nCaptures (",
                                                      "\nPricing", "\nAll fields")]
    assert positions == sorted(positions), positions
    summary = text[:text.index("\nCaptures (")]
    fresh = client.get_order(order.id)
    assert fresh.status in summary and fresh.scheduling_type in summary and "km² requested" in summary
    assert "created_time" not in summary and "created_time" in text[text.index("\nAll fields"):]
    # No exclusive days: the capture says so instead of an "end" equal to its acquisition.
    captures = text[text.index("\nCaptures ("):text.index("\nPricing")]
    assert "no exclusivity" in captures


class Answers:
    """Stands in for the user at QMessageBox.question: answers from a script, records every question."""

    def __init__(self, monkeypatch):
        self.script = []
        self.asked = []
        monkeypatch.setattr(QMessageBox, "question", self)

    def __call__(self, parent, title, text, *args):
        self.asked.append((title, text))
        return QMessageBox.StandardButton.Yes if self.script.pop(0) else QMessageBox.StandardButton.No


@pytest.fixture(scope="module")
def one_free_cancellation():
    server = SandboxServer(extra_args=["--free-cancellations", "1"])
    yield server
    server.stop()


def deletes(server, accepted=None):
    found = [r for r in server.requests_seen() if r["method"] == "DELETE"]
    if accepted is None:
        return found
    return [r for r in found if ("accept_cancellation_charge=true" in (r["query"] or "")) == accepted]


def test_cancel_asks_first_and_the_charge_is_accepted_only_when_the_user_says_so(
        one_free_cancellation, make_orders_panel, qtbot, monkeypatch):
    server = one_free_cancellation
    server.reset()
    client = make_client(server)
    now = sim_now(server)
    windows = [w for w in assured_windows(server, client) if w.start_time > now + timedelta(hours=3)]
    assured = [create_assured(client, w.id, f"assured {n}") for n, w in enumerate(windows[:3])]
    panel = make_orders_panel(server)
    panel.start()
    load_all(qtbot, panel)
    answers = Answers(monkeypatch)

    def cancel(ids, script):
        answers.script = list(script)
        answers.asked.clear()
        panel.select_orders(ids)
        assert set(panel.selected_order_ids()) == set(ids)
        assert panel.cancel_button.isEnabled()
        panel.cancel_button.click()
        settle(qtbot, panel)
        assert answers.script == []  # every scripted question was asked, no more
        return [title for title, _ in answers.asked]

    assert cancel([assured[0].id], [False]) == ["Cancel tasking orders"]
    assert deletes(server) == []
    assert cancel([assured[0].id], [True]) == ["Cancel tasking orders"]  # free: no charge question
    assert client.get_order(assured[0].id).status == "PENDING_CANCELLATION"
    assert deletes(server, accepted=True) == []

    rest = [o.id for o in assured[1:]]
    assert cancel(rest, [True, False]) == ["Cancel tasking orders", "Cancellation will be charged"]
    question = answers.asked[1][1]
    assert "will be charged" in question and "order quota cost" in question and "assured 1" in question
    assert deletes(server, accepted=True) == []
    assert {client.get_order(i).status for i in rest} == {"RECEIVED"}
    assert "charge was not accepted" in panel.message_label.text()

    assert cancel(rest, [True, True]) == ["Cancel tasking orders", "Cancellation will be charged"]
    assert len(deletes(server, accepted=True)) == 2
    assert {client.get_order(i).status for i in rest} == {"PENDING_CANCELLATION"}
    assert panel.cancellations_label.text().endswith(f"{assured[0].pl_number}: 3")
    # Nothing left that can be cancelled: the button says why.
    panel.select_orders([assured[0].id])
    settle(qtbot, panel)
    assert not panel.cancel_button.isEnabled() and "cannot be cancelled" in panel.cancel_button.toolTip()


def test_layers_match_the_server_and_refresh_marks_changes_without_duplicates(sandbox, make_orders_panel, qtbot, tmp_path):
    client = make_client(sandbox)
    start = sim_now(sandbox)
    for n in range(8):
        client.create_order({"name": f"short {n}", "geometry": daylight_point(n, start),
                             "end_time": (start + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    for n in range(6):
        client.create_order({"name": f"long {n}", "geometry": point(40 + n), "exclusivity_days": 7})
    sandbox.advance(65 * 60)
    panel = make_orders_panel(sandbox)
    panel.start()
    load_all(qtbot, panel)

    def assert_layers_match():
        orders = {o.id: o for o in client.iter_orders(page_size=1000)}
        ids = layer_values(panel.orders_layer, "id")
        assert len(ids) == len(set(ids)) and set(ids) == set(orders)
        for feature in panel.orders_layer.getFeatures():
            assert feature["status"] == orders[feature["id"]].status
            assert not feature.geometry().isNull()
        captures = {c.id: c for c in client.iter_captures(list(orders), page_size=1000)}
        capture_ids = layer_values(panel.captures_layer, "id")
        assert len(capture_ids) == len(set(capture_ids)) and set(capture_ids) == set(captures)
        for feature in panel.captures_layer.getFeatures():
            capture = captures[feature["id"]]
            assert (feature["status"], feature["assessment"], feature["order_id"]) == (
                capture.status, capture.assessment, capture.order_id)
            acquired = feature["acquired_time"]
            if capture.acquired_time is None:
                assert not isinstance(acquired, QDateTime) or not acquired.isValid()
            else:
                assert acquired.toMSecsSinceEpoch() == whole_seconds_ms(capture.acquired_time)
                days = orders[capture.order_id].exclusivity_days
                assert feature["exclusivity_end"].toMSecsSinceEpoch() == whole_seconds_ms(
                    capture.acquired_time + timedelta(days=days))
        return orders, captures

    before, captures = assert_layers_match()
    assert captures  # acquisitions happened in the first hour
    temporal = panel.captures_layer.temporalProperties()
    assert temporal.isActive() and temporal.startField() == "acquired_time"
    assert panel.orders_layer.name() == "Tasking orders" and panel.captures_layer.name() == "Captures"

    sandbox.advance(2 * 86400)
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS) as refreshed:
        panel.refresh_button.click()
    settle(qtbot, panel)
    changes = refreshed.args[0]
    after, _ = assert_layers_match()
    changed = {i for i in after if after[i].status != before[i].status}
    assert changed and changed <= set(changes.changed)
    marked = {panel.model.orders[row].id for row in range(panel.model.rowCount())
              if panel.model.data(panel.model.index(row, 0), CHANGED_ROLE)}
    assert changed <= marked
    edge = [i for i in changed if (before[i].status, after[i].status) == ("EXPIRED", "FULFILLED")]
    assert edge
    row = panel.model.row_of[edge[0]]
    tooltip = panel.model.data(panel.model.index(row, 1), Qt.ItemDataRole.ToolTipRole)
    assert "EXPIRED → FULFILLED" in tooltip and "edge case" in tooltip

    # Manual reassessment of a fulfilling capture: FULFILLED goes back to IN_PROGRESS at the next refresh.
    now = sim_now(sandbox)
    subject = next(o for o in after.values() if o.status == "FULFILLED" and o.end_time > now)
    capture = next(iter(client.iter_captures(subject.id, fulfilling=True)))
    server_capture = sandbox.control("POST", f"captures/{capture.id}/reassess", {"assessment": "INVALID"})
    assert server_capture["assessment"] == "INVALID"
    sandbox.advance(60)
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS):
        panel.refresh_now()
    settle(qtbot, panel)
    row = panel.model.row_of[subject.id]
    assert panel.model.orders[row].status == "IN_PROGRESS"
    assert "FULFILLED → IN_PROGRESS" in panel.model.data(panel.model.index(row, 0), Qt.ItemDataRole.ToolTipRole)
    assert_layers_match()
    assessments = {f["id"]: f["assessment"] for f in panel.captures_layer.getFeatures()}
    assert assessments[capture.id] == "INVALID"

    # The user removes the orders layer from the project: the next refresh makes both again, complete.
    QgsProject.instance().removeMapLayer(panel.orders_layer.id())
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS):
        panel.refresh_now()
    settle(qtbot, panel)
    assert QgsProject.instance().mapLayer(panel.orders_layer.id()) is not None
    assert_layers_match()

    # Save as GeoPackage keeps both layers.
    path = os.path.join(str(tmp_path), "orders.gpkg")
    written = panel.save_geopackage(path)
    for table, layer in zip(written, (panel.orders_layer, panel.captures_layer)):
        saved = QgsVectorLayer(written[table], table, "ogr")
        assert saved.isValid() and saved.featureCount() == layer.featureCount()


def test_selection_follows_between_view_and_both_layers(sandbox, make_orders_panel, qtbot, qgis_iface):
    client = make_client(sandbox)
    for n in range(6):
        client.create_order({"name": f"order {n}", "geometry": point(n)})
    sandbox.advance(2 * 86400)
    panel = make_orders_panel(sandbox)
    panel.start()
    load_all(qtbot, panel)
    canvas = qgis_iface.mapCanvas()
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    canvas.setExtent(QgsRectangle(-180, -90, 180, 90))

    chosen = [panel.model.orders[1], panel.model.orders[3]]
    with qtbot.waitSignal(panel.selectedOrdersChanged) as signal:
        panel.select_orders([o.id for o in chosen])
    assert set(signal.args[0]) == {o.id for o in chosen}
    selected = {f["id"] for f in panel.orders_layer.selectedFeatures()}
    assert selected == {o.id for o in chosen}
    capture_orders = {f["order_id"] for f in panel.captures_layer.selectedFeatures()}
    assert capture_orders and capture_orders <= selected
    all_capture_orders = {f["order_id"] for f in panel.captures_layer.getFeatures()}
    assert capture_orders == selected & all_capture_orders
    extent = canvas.extent()
    for order in chosen:
        footprint = wkb_to_geometry(panel.order_footprints[order.id]).boundingBox()
        assert not footprint.isEmpty() and extent.contains(footprint)
    assert extent.width() < 360

    # A capture picked on the map selects its order in the view and in the orders layer.
    feature = next(f for f in panel.captures_layer.getFeatures() if f["order_id"] == panel.model.orders[4].id)
    panel.captures_layer.selectByIds([feature.id()])
    assert panel.selected_order_ids() == [panel.model.orders[4].id]
    assert {f["id"] for f in panel.orders_layer.selectedFeatures()} == {panel.model.orders[4].id}
    assert [f.id() for f in panel.captures_layer.selectedFeatures()] == [feature.id()]  # left as the user chose
    # Selecting in the orders layer selects the view's rows.
    fid = next(f.id() for f in panel.orders_layer.getFeatures() if f["id"] == panel.model.orders[0].id)
    panel.orders_layer.selectByIds([fid])
    assert panel.selected_order_ids() == [panel.model.orders[0].id]
    panel.orders_layer.removeSelection()
    assert panel.selected_order_ids() == []


def test_an_order_picked_on_the_map_is_loaded_into_the_list_and_shown(sandbox, make_orders_panel, qtbot):
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"far {n:03d}", "geometry": point(n % 40)} for n in range(230)])
    # No retries: a failing page (below) fails at once instead of after the backoff's real seconds.
    panel = make_orders_panel(sandbox, page_size=50, client_options={"max_retries": 0})
    panel.resize(1100, 400)
    panel.start()
    settle(qtbot, panel)
    assert len(panel.model.orders) == 50 and panel.model.total == 230
    # The map holds every order; the analyst clicks one the list has not reached (page 4 of 5).
    listed = server_ids(client, ordering=",".join(panel.model.query.ordering) or None)
    picked = listed[170]
    assert picked not in panel.model.row_of
    fid = next(f.id() for f in panel.orders_layer.getFeatures() if f["id"] == picked)
    panel.orders_layer.selectByIds([fid])
    assert "Loading the list down to the 1 order selected on the map" in panel.message_label.text()
    qtbot.waitUntil(lambda: panel.selected_order_ids() == [picked], timeout=WAIT_MS)
    row = panel.model.row_of[picked]
    qtbot.waitUntil(lambda: panel.view.viewport().rect().intersects(panel.view.visualRect(panel.model.index(row, 0))),
                    timeout=WAIT_MS)
    qtbot.wait(200)
    settle(qtbot, panel)
    # Read only as far as needed (the scroll did not load on), each order once.
    assert len(panel.model.orders) == 200 and len(set(panel.model.row_of)) == 200
    assert panel.message_label.text() == ""
    assert [f["id"] for f in panel.orders_layer.selectedFeatures()] == [picked]  # the map kept the pick

    # A page that fails on the way stops the reading on, and says why.
    panel.orders_layer.removeSelection()
    last = listed[-1]
    sandbox.fault(path=r"^/tasking/v2/orders/$", method="GET", kind="status", status=500, count=1)
    panel.orders_layer.selectByIds([next(f.id() for f in panel.orders_layer.getFeatures() if f["id"] == last)])
    qtbot.waitUntil(lambda: "Loading orders failed" in panel.message_label.text(), timeout=WAIT_MS)
    settle(qtbot, panel)
    qtbot.wait(300)
    assert len(panel.model.orders) == 200 and panel.selected_order_ids() == [] and not panel.model.loading


def test_automatic_refresh_backs_off_and_picks_up_changes(sandbox, make_orders_panel, qtbot):
    client = make_client(sandbox)
    for n in range(4):
        client.create_order({"name": f"order {n}", "geometry": point(n)})
    panel = make_orders_panel(sandbox, auto_refresh=True)
    panel.refresher.interval = AdaptiveInterval(minimum=0.2, maximum=0.8, factor=2)
    panel.start()
    settle(qtbot, panel)
    qtbot.waitUntil(lambda: panel.refresher.interval.current >= 0.8, timeout=WAIT_MS)  # quiet: it slowed down
    assert all(o.status == "RECEIVED" for o in panel.model.orders)
    sandbox.advance(120)
    qtbot.waitUntil(lambda: all(o.status == "IN_PROGRESS" for o in panel.model.orders), timeout=WAIT_MS)
    marked = [row for row in range(4) if panel.model.data(panel.model.index(row, 0), CHANGED_ROLE)]
    assert marked == [0, 1, 2, 3]


def test_a_refresh_that_finds_nothing_changed_does_not_flash_the_map_line(sandbox, make_orders_panel, qtbot):
    client = make_client(sandbox)
    for n in range(4):
        client.create_order({"name": f"order {n}", "geometry": point(n)})
    panel = make_orders_panel(sandbox)
    panel.start()
    settle(qtbot, panel)
    line, rows = panel.map_label.text(), panel.model.packed_orders()
    started = []
    panel.mirror.started.connect(lambda: started.append(panel.map_progress.isVisible()))
    panel.refresh_now()
    settle(qtbot, panel)
    qtbot.wait(400)  # past the moment a still running map refresh shows its busy bar
    assert started == [] and not panel.map_progress.isVisible() and panel.map_label.text() == line
    assert "0 changed, 0 new, 0 gone" in panel.refresh_label.text()
    assert all(a is b for a, b in zip(panel.model.packed_orders(), rows)) and len(panel.model.orders) == 4

    # A refresh whose answer takes long does show it, and ends as before.
    sandbox.advance(120)
    sandbox.fault(path="^/tasking/v2/orders/$", method="GET", kind="delay", delay_seconds=1.5, count=2)
    panel.refresh_now()
    qtbot.waitUntil(lambda: panel.map_progress.isVisible() and panel.map_stop_button.isVisible(), timeout=WAIT_MS)
    settle(qtbot, panel)
    assert not panel.map_progress.isVisible() and panel.map_label.text() == line
    assert all(o.status == "IN_PROGRESS" for o in panel.model.orders)


def test_the_dock_has_an_orders_tab_that_loads_when_first_shown(sandbox, qgis_iface, qtbot, clean_settings):
    from ui.dock import TaskingDock

    client = make_client(sandbox)
    for n in range(3):
        client.create_order({"name": f"order {n}", "geometry": point(n)})
    clean_settings.set_use_sandbox(True)
    dock = TaskingDock(lambda: TaskingClient(sandbox.tasking_url, sandbox.api_key, timeout=30.0), iface=qgis_iface)
    qtbot.addWidget(dock)
    try:
        titles = [dock.tabs.tabText(i) for i in range(dock.tabs.count())]
        assert "Orders" in titles
        panel = dock.orders_panel
        dock.show()
        qtbot.wait(50)
        assert panel.model.total is None  # a hidden tab sends nothing
        dock.tabs.setCurrentWidget(panel)
        qtbot.waitUntil(lambda: panel.model.total == 3, timeout=WAIT_MS)
        settle(qtbot, panel)
    finally:
        dock.shutdown()
        for layer in (dock.orders_panel.orders_layer, dock.orders_panel.captures_layer):
            if layer is not None and QgsProject.instance().mapLayer(layer.id()) is not None:
                QgsProject.instance().removeMapLayer(layer.id())


def assert_map_matches_the_server(panel, client, **filters):
    """Both layers hold exactly the orders matching `filters` and every capture of them, each once."""
    orders = {o.id: o for o in client.iter_orders(page_size=1000, **filters)}
    features = list(panel.orders_layer.getFeatures())
    ids = [f["id"] for f in features]
    assert len(ids) == len(set(ids)) and set(ids) == set(orders)
    for feature in features:
        order = orders[feature["id"]]
        assert (feature["name"], feature["status"], feature["exclusivity_days"]) == (
            order.name, order.status, order.exclusivity_days)
        assert feature["updated_time"].toMSecsSinceEpoch() == whole_seconds_ms(order.updated_time)
        assert feature.geometry().equals(geojson_to_geometry(order.geometry))
    order_ids = list(orders)
    captures = {c.id: c for start in range(0, len(order_ids), 100)
                for c in client.iter_captures(order_ids[start:start + 100], page_size=1000)}
    features = list(panel.captures_layer.getFeatures())
    capture_ids = [f["id"] for f in features]
    assert len(capture_ids) == len(set(capture_ids)) and set(capture_ids) == set(captures)
    for feature in features:
        capture = captures[feature["id"]]
        assert (feature["order_id"], feature["status"], feature["assessment"], feature["strip_id"]) == (
            capture.order_id, capture.status, capture.assessment, capture.strip_id)
        if capture.acquired_time is not None:
            assert feature["acquired_time"].toMSecsSinceEpoch() == whole_seconds_ms(capture.acquired_time)
        assert feature.geometry().equals(geojson_to_geometry(capture.geometry))
    return orders, captures


def test_map_holds_every_matching_order_and_capture_not_only_the_loaded_rows(sandbox, make_orders_panel, qtbot):
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"map {'beta' if n % 4 == 0 else 'alpha'} {n:03d}",
                                   "geometry": point(n), "exclusivity_days": n % 3} for n in range(260)])
    sandbox.advance(2 * 86400)
    panel = make_orders_panel(sandbox, page_size=40)
    panel.start()
    settle(qtbot, panel)
    assert len(panel.model.orders) == 40 and panel.model.total == 260  # the table pages lazily as before
    orders, captures = assert_map_matches_the_server(panel, client)
    assert len(orders) == 260 and len(captures) > 40  # captures of orders far beyond the first page too
    assert panel.map_label.text() == f"Map: 260 orders, {len(captures):,} captures."
    assert not panel.map_progress.isVisible() and not panel.map_stop_button.isVisible()
    # Captures were asked for with at most 100 order ids per request.
    capture_requests = [parse_qs(r["query"]) for r in sandbox.requests_seen()
                        if r["method"] == "GET" and r["path"].endswith("/captures/")]
    sizes = [len(q["order_id"][0].split(",")) for q in capture_requests if "order_id" in q]
    assert sizes and max(sizes) <= 100 and sum(sizes) >= 260

    # A refresh after the world moved on updates in place: no duplicates, still feature for feature.
    fids = {f["id"]: f.id() for f in panel.orders_layer.getFeatures()}
    sandbox.advance(2 * 86400)
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS):
        panel.refresh_button.click()
    settle(qtbot, panel)
    after, captures_after = assert_map_matches_the_server(panel, client)
    assert any(after[i].status != orders[i].status for i in after)  # the refresh had something to do
    assert len(captures_after) >= len(captures)
    assert {f["id"]: f.id() for f in panel.orders_layer.getFeatures()} == fids  # updated, not re-added

    # A filter change: orders (and their captures) no longer matching leave the map.
    panel.name_filter.setText("beta")
    settle(qtbot, panel)
    beta, beta_captures = assert_map_matches_the_server(panel, client, name__icontains="beta")
    assert len(beta) == 65 and len(panel.model.orders) == 40
    assert {f["order_id"] for f in panel.captures_layer.getFeatures()} <= set(beta)
    panel.name_filter.setText("")
    settle(qtbot, panel)
    assert_map_matches_the_server(panel, client)


def test_the_map_load_can_be_stopped_and_a_refresh_completes_it(sandbox, make_orders_panel, qtbot):
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"stop {n:03d}", "geometry": point(n)} for n in range(300)])
    panel = make_orders_panel(sandbox)
    panel.start()
    qtbot.waitUntil(lambda: panel.map_busy() and panel.map_stop_button.isVisible(), timeout=WAIT_MS)
    panel.map_stop_button.click()
    assert not panel.map_busy() and "stopped" in panel.map_label.text()
    settle(qtbot, panel)

    def written_features() -> int:  # none when stopped before its task had opened the layers
        return panel.orders_layer.featureCount() if panel.orders_layer is not None else 0

    written = written_features()
    qtbot.wait(300)
    assert written_features() == written and "stopped" in panel.map_label.text()
    panel.refresh_now()
    settle(qtbot, panel)
    assert_map_matches_the_server(panel, client)
    assert panel.map_label.text().startswith("Map: 300 orders")


def test_every_task_is_named_after_the_plugin_in_qgis_task_list(sandbox, make_orders_panel, qtbot, monkeypatch):
    from core.app import orders_background

    started = []
    real = orders_background.run_in_background

    def recording(description, fn, *args, **kwargs):
        started.append(description)
        return real(description, fn, *args, **kwargs)

    monkeypatch.setattr(orders_background, "run_in_background", recording)
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": "named task", "geometry": point(5)}])
    panel = make_orders_panel(sandbox)
    panel.start()
    settle(qtbot, panel)
    panel.refresh_now()
    settle(qtbot, panel)
    assert {"Satellite Tasking: Loading tasking orders", "Satellite Tasking: Checking tasking orders",
            "Satellite Tasking: Refreshing tasking orders"} <= set(started)
    assert all(description.startswith("Satellite Tasking: ") for description in started), started


def test_timers_that_fire_after_shutdown_start_nothing(sandbox, make_orders_panel, qtbot, monkeypatch):
    from qgis.PyQt.QtCore import QTimer

    from core.app import orders_background

    started = []
    monkeypatch.setattr(orders_background, "run_in_background",
                        lambda description, *args, **kwargs: started.append(description))
    for entry in ("start", "refresh_now", "apply_filters", "_refresh_table", "_auto_refresh"):
        panel = make_orders_panel(sandbox)
        QTimer.singleShot(0, getattr(panel, entry))  # queued before the plugin unloads ...
        panel.shutdown()  # ... and fires after
        qtbot.wait(50)
        assert started == [] and not panel.busy(), (entry, started)


@pytest.mark.parametrize("kind", ["load", "refresh", "map", "check"])
def test_a_task_cancelled_in_qgis_task_list_leaves_the_tab_working(sandbox, make_orders_panel, qtbot, monkeypatch, kind):
    from core.app import orders_background

    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"cancel me {n}", "geometry": point(40 + n)} for n in range(3)])
    tasks = []
    real = orders_background.run_in_background

    def recording(description, *args, **kwargs):
        task = real(description, *args, **kwargs)
        tasks.append((description, task))
        return task

    monkeypatch.setattr(orders_background, "run_in_background", recording)
    panel = make_orders_panel(sandbox, auto_refresh=(kind == "check"))
    panel.start()
    settle(qtbot, panel)
    assert panel.model.total == 3
    # Requests are held back, so the task is still running when the user cancels it.
    sandbox.fault(path="orders", kind="delay", delay_seconds=0.5, count=50)
    tasks.clear()
    started = {"load": panel.apply_filters, "refresh": panel._refresh_table, "map": panel.refresh_map,
               "check": panel._auto_refresh}[kind]
    wanted = {"load": "Loading tasking orders", "refresh": "Refreshing tasking orders",
              "map": "Loading every tasking order and capture for the map", "check": "Checking tasking orders"}[kind]
    started()
    task = next(task for description, task in tasks if description.endswith(wanted))
    task.cancel()
    qtbot.waitUntil(lambda: task not in panel.tasks.running, timeout=WAIT_MS)
    sandbox.clear_faults()
    settle(qtbot, panel)
    assert not panel.refresher.refreshing and not panel.model.loading and not panel.map_busy()
    assert gc.get_freeze_count() == 0  # a cancelled load left the cycle collector as it found it
    if kind == "check":
        assert panel.refresher.timer.isActive()  # automatic refresh goes on
        return
    # The tab works again: the user refreshes and every part of it runs.
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS):
        panel.refresh_now()
        if kind == "load":
            settle(qtbot, panel)
            panel.refresh_now()
    settle(qtbot, panel)
    assert panel.model.total == 3 and panel.orders_layer.featureCount() == 3


def test_after_unload_selecting_in_the_layers_left_in_the_project_calls_no_panel(sandbox, make_orders_panel, qtbot):
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"left behind {n}", "geometry": point(70 + n)} for n in range(2)])
    panel = make_orders_panel(sandbox)
    panel.start()
    settle(qtbot, panel)
    calls = []
    panel._on_layer_selection = lambda layer, field: calls.append(field)
    first = panel.orders_layer
    QgsProject.instance().removeMapLayers([panel.captures_layer.id(), panel.orders_layer.id()])
    panel.refresh_map()  # the layers are made again: the old ones' connections go
    settle(qtbot, panel)
    assert panel.orders_layer is not first and len(panel._layer_connections) == 2
    panel.orders_layer.selectAll()
    assert calls == ["id"]  # connected once to the new layers, not twice
    panel.shutdown()  # unload: the layers stay in the project ...
    for layer in (panel.orders_layer, panel.captures_layer):
        assert QgsProject.instance().mapLayer(layer.id()) is layer
        layer.removeSelection()
        layer.selectAll()
    assert calls == ["id"]  # ... and selecting in them reaches no panel


def test_a_locked_auth_database_is_reported_in_the_panel_and_stops_automatic_refresh(
        sandbox, make_orders_panel, qtbot, qgis_iface):
    from core.settings import MASTER_PASSWORD_MESSAGE, AuthStorageError

    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": "locked", "geometry": point(90)}])
    locked = {"now": True}
    asked = []

    def factory():
        asked.append(1)
        if locked["now"]:
            raise AuthStorageError(MASTER_PASSWORD_MESSAGE)
        return TaskingClient(sandbox.tasking_url, sandbox.api_key, timeout=30.0)

    panel = make_orders_panel(sandbox, auto_refresh=True)
    panel.client_factory = factory
    panel.start()  # no exception escapes into QGIS's error dialog
    settle(qtbot, panel)
    assert "master password" in panel.message_label.text()
    panel.refresh_button.click()
    panel._auto_refresh()
    assert not panel.refresher.timer.isActive()  # no master-password prompt every few seconds
    asked.clear()
    qtbot.wait(200)
    assert asked == []
    locked["now"] = False  # the user unlocks it in the settings dialog, which applies the settings
    panel.reload_settings()
    qtbot.waitUntil(lambda: panel.model.total == 1, timeout=WAIT_MS)
    settle(qtbot, panel)
    assert panel.refresher.timer.isActive()


def test_showing_the_dock_again_reloads_only_when_the_account_changed(sandbox, make_orders_panel, qtbot, clean_settings):
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"kept {n}", "geometry": point(100 + n)} for n in range(3)])
    panel = make_orders_panel(sandbox)
    panel.start()
    settle(qtbot, panel)
    panel.select_orders([panel.model.orders[1].id])
    rows = list(panel.model.orders)
    generation = panel.model.generation
    panel.reload_settings()  # the dock shown again, or the settings dialog closed without a change
    settle(qtbot, panel)
    assert panel.model.generation == generation and panel.model.orders == rows
    assert panel.selected_order_ids() == [rows[1].id]  # selection (and scroll) kept
    clean_settings.set_pl_number("PL-OTHER")  # another contract: what is shown may not be this account's
    panel.reload_settings()
    assert panel.model.generation > generation
    settle(qtbot, panel)
    assert panel.model.total == 3


def test_unloading_during_a_load_leaves_nothing_frozen(sandbox, make_orders_panel, qtbot):
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"unload {n}", "geometry": point(130 + n)} for n in range(5)])
    sandbox.fault(path="orders", kind="delay", delay_seconds=0.3, count=20)
    panel = make_orders_panel(sandbox)
    thresholds = gc.get_threshold()
    panel.start()
    qtbot.waitUntil(lambda: panel.map_busy() and panel.model.loading, timeout=WAIT_MS)  # a load is running
    for _ in range(5):  # loads leave the cycle collector as it is (issue #18): nothing frozen meanwhile
        assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds
        qtbot.wait(50)
    panel.shutdown()  # the plugin unloads meanwhile
    sandbox.clear_faults()
    assert gc.get_freeze_count() == 0 and gc.get_threshold() == thresholds


def test_layers_a_stopped_load_opened_are_deleted_not_left_to_the_cycle_collector(sandbox, make_orders_panel, qtbot):
    """The plugin unloads after the load's task opened the map's layers but before the project took them: those
    layers are deleted on the main thread. Left to the cycle collector they were deleted from whatever thread
    collected, or after QGIS had shut down (a crash on exit)."""
    from qgis.PyQt import sip
    from qgis.PyQt.QtCore import QCoreApplication, QEvent

    from core.app import orders_mirror
    from core.tasks import active_tasks

    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"stopped {n}", "geometry": point(140 + n)} for n in range(3)])
    panel = make_orders_panel(sandbox)
    opened = []
    original = orders_mirror.OrdersMirror._plan

    def plan(self, item):  # the main thread receives the opened layers; the plugin unloads right then
        original(self, item)
        if isinstance(item, orders_mirror.LayersOpened) and not opened:
            opened.extend(layer for _, layer in item.opened)
            panel.shutdown()

    orders_mirror.OrdersMirror._plan = plan
    try:
        panel.start()
        qtbot.waitUntil(lambda: bool(opened), timeout=WAIT_MS)
    finally:
        orders_mirror.OrdersMirror._plan = original
    qtbot.waitUntil(lambda: not active_tasks(), timeout=WAIT_MS)
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    in_project = set(QgsProject.instance().mapLayers())
    assert not any(layer.id() in in_project for layer in opened if not sip.isdeleted(layer))
    assert all(sip.isdeleted(layer) for layer in opened)
