"""The Orders view at scale (issue #18): a refresh that finds nothing changed asks one small question per listing and
reads or writes nothing more; the map's layers are opened by its task, not the GUI thread; loads leave the cycle
collector alone; the GeoPackage's log is copied into the file by the map's task as it goes."""

from __future__ import annotations

import gc
import sqlite3
import threading
import time
from urllib.parse import parse_qs

import pytest
from qgis.core import QgsProject, QgsProviderRegistry
from qgis.PyQt.QtCore import QEvent, QObject

from core import layer_store
from core import layers as layer_tools
from core.app import orders_mirror, orders_refresh
from core.app.orders_background import TaskGroup
from tests.gui.test_orders_panel import assert_map_matches_the_server
from tests.integration.order_states import bulk_create, make_client, point
from tests.unit.test_layer_store import ids_in_the_file_alone

WAIT_MS = 60_000


def settle(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.busy(), timeout=WAIT_MS)


def gets(sandbox, path):
    """The query of each GET of `path` ("orders" or "captures") the sandbox received, in order."""
    return [parse_qs(r["query"] or "") for r in sandbox.requests_seen()
            if r["method"] == "GET" and r["path"].rstrip("/").endswith(path)]


def test_a_refresh_with_nothing_changed_asks_once_per_listing_and_a_change_is_still_found(sandbox, make_orders_panel,
                                                                                        qtbot):
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"quiet {n}", "geometry": point(200 + n)} for n in range(30)])
    panel = make_orders_panel(sandbox, size=None)
    panel.start()
    settle(qtbot, panel)
    assert panel.orders_layer.featureCount() == 30
    captures = panel.captures_layer.featureCount()
    before_orders, before_captures = len(gets(sandbox, "orders")), len(gets(sandbox, "captures"))
    written = []
    for layer in (panel.orders_layer, panel.captures_layer):
        layer.dataChanged.connect(lambda: written.append("data"))

    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS) as refreshed:
        panel.refresh_now()
    settle(qtbot, panel)
    assert not refreshed.args[0].any
    orders_asked = gets(sandbox, "orders")[before_orders:]
    captures_asked = gets(sandbox, "captures")[before_captures:]
    # The table asks whether any order changed, the map whether any order or capture did: nothing else, and the
    # orders question of both is one request.
    assert len(orders_asked) == 1 and len(captures_asked) == 1
    # Each a small one: the newest changes (or, with no capture at all, whether there is one), no page.
    assert all(int(query["limit"][0]) <= orders_refresh.MARK_ROWS + 1 and "offset" not in query
               for query in orders_asked + captures_asked)
    assert all("updated_time__gte" in query for query in orders_asked)
    assert written == [] and panel.orders_layer.featureCount() == 30
    assert panel.captures_layer.featureCount() == captures

    # The service's clock stands still: a rename at the very instant of the newest change is still seen.
    renamed = next(order for order in panel.model.orders if order.status in ("RECEIVED", "PENDING"))
    client.edit_order(renamed.id, name="renamed, same instant")
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS) as refreshed:
        panel.refresh_now()
    settle(qtbot, panel)
    assert renamed.id in refreshed.args[0].changed
    assert panel.model.order_by_id()[renamed.id].name == "renamed, same instant"
    names = {f["id"]: f["name"] for f in panel.orders_layer.getFeatures()}
    assert names[renamed.id] == "renamed, same instant" and len(names) == 30

    # Captures queued and published later (their orders touched) reach the map at the next refresh.
    sandbox.advance(5 * 86400)
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS):
        panel.refresh_now()
    settle(qtbot, panel)
    served = {c.id: c.status for c in client.iter_captures([o.id for o in client.iter_orders()], page_size=500)}
    assert {f["id"]: f["status"] for f in panel.captures_layer.getFeatures()} == served


def test_a_capture_changed_without_its_order_is_still_not_missed(sandbox, make_orders_panel, qtbot):
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"capture {n}", "geometry": point(240 + n)} for n in range(10)])
    sandbox.advance(3 * 86400)
    panel = make_orders_panel(sandbox, size=None)
    panel.start()
    settle(qtbot, panel)
    published = next((f["id"] for f in panel.captures_layer.getFeatures() if f["status"] == "PUBLISHED"), None)
    if published is None:
        pytest.skip("the sandbox published no capture in three simulated days")
    sandbox.control("POST", f"captures/{published}/reassess", {"assessment": "INVALID"})
    panel.refresh_now()
    settle(qtbot, panel)
    assert {f["id"]: f["assessment"] for f in panel.captures_layer.getFeatures()}[published] == "INVALID"


def test_the_map_layers_are_opened_by_its_task_and_loads_leave_the_collector_alone(sandbox, make_orders_panel, qtbot,
                                                                                  monkeypatch):
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"opened {n}", "geometry": point(260 + n)} for n in range(5)])
    opened_on = []
    real_open = layer_store.open_table
    monkeypatch.setattr(layer_store, "open_table",
                        lambda *args, **kwargs: (opened_on.append(threading.current_thread()),
                                                 real_open(*args, **kwargs))[1])
    thresholds = gc.get_threshold()
    panel = make_orders_panel(sandbox, size=None)
    panel.start()
    frozen = []
    qtbot.waitUntil(lambda: frozen.append(gc.get_freeze_count()) or not panel.busy(), timeout=WAIT_MS)
    assert set(frozen) == {0} and gc.get_threshold() == thresholds  # no gc.freeze, no threshold change
    # Both tables were opened, neither on the GUI thread; the layers are whole: styled, temporal, named
    # zones in their aliases, in the plugin's group, and hold the orders.
    assert len(opened_on) == 2 and threading.main_thread() not in opened_on
    for layer in (panel.orders_layer, panel.captures_layer):
        assert QgsProject.instance().mapLayer(layer.id()) is layer and layer.thread() is qgis_thread()
        assert layer.renderer().type() == "categorizedSymbol" and layer.temporalProperties().isActive()
        assert any(" (UTC)" in alias or "(local time)" in alias
                   for alias in (layer.attributeAlias(i) for i in range(layer.fields().count())))
        group = QgsProject.instance().layerTreeRoot().findGroup(layer_tools.GROUP_NAME)
        assert layer.id() in {node.layerId() for node in group.findLayers()}
    assert panel.orders_layer.featureCount() == 5


def test_after_each_map_run_a_copy_of_the_geopackage_alone_holds_what_the_map_shows(sandbox, make_orders_panel, qtbot,
                                                                                   monkeypatch, tmp_path):
    # The store's connections leave SQLite's log to the map's own task (the GUI thread never waits for the disk to
    # take a copy), every SAVE_LOG_AFTER features written or removed and when a run ends.
    client = make_client(sandbox)
    created = set(bulk_create(sandbox, client, [{"name": f"logged {n}", "geometry": point(300 + n)}
                                                for n in range(120)]))
    monkeypatch.setattr(orders_mirror, "SAVE_LOG_AFTER", 25)  # copies during the run too
    # A store of its own: the profile's holds earlier tests' rows (the sandbox's ids repeat from one run to the next).
    monkeypatch.setattr(layer_store, "profile_store_path", lambda: str(tmp_path / "layers.gpkg"))
    checkpoints_on = []
    real_checkpoint = layer_store.checkpoint
    monkeypatch.setattr(layer_store, "checkpoint", lambda path: (checkpoints_on.append(threading.current_thread()),
                                                                 real_checkpoint(path))[1])
    panel = make_orders_panel(sandbox, size=None)
    panel.start()
    settle(qtbot, panel)
    path = layer_store.layer_path(panel.orders_layer)
    assert path == str(tmp_path / "layers.gpkg") and panel.orders_layer.featureCount() == 120
    table = QgsProviderRegistry.instance().decodeUri("ogr", panel.orders_layer.source())["layerName"]
    # A copy of the .gpkg without its -wal holds every order (with SQLite copying the log only past ~4 MB, none).
    assert ids_in_the_file_alone(path, table) == created
    assert len(checkpoints_on) > 2 and threading.main_thread() not in checkpoints_on

    panel.name_filter.setText("logged 11")  # 11 and 110-119: the others leave the map, and the file
    settle(qtbot, panel)
    kept = {f["id"] for f in panel.orders_layer.getFeatures()}
    assert len(kept) == 11 and ids_in_the_file_alone(path, table) == kept


def test_the_map_writes_nothing_while_a_worker_copies_the_log_into_the_file(sandbox, make_orders_panel, qtbot,
                                                                          monkeypatch, tmp_path):
    # A slice written while the log was copied waited for the disk with the copy (2-3x its CPU time, a GUI gap):
    # the main thread leaves the file alone until the copy is done, then writes the rest.
    client = make_client(sandbox)
    created = set(bulk_create(sandbox, client, [{"name": f"copied {n}", "geometry": point(500 + n)}
                                                for n in range(120)]))
    monkeypatch.setattr(orders_mirror, "MAP_PART_SIZE", 10)  # a copy after every 10 orders
    monkeypatch.setattr(orders_mirror, "SAVE_LOG_AFTER", 25)
    monkeypatch.setattr(layer_store, "profile_store_path", lambda: str(tmp_path / "layers.gpkg"))
    copying, copies, written_during_copies = [0], [], []
    real_checkpoint, real_apply = layer_store.checkpoint, layer_tools.apply_prepared

    def slow_checkpoint(path):
        copying[0] += 1
        try:
            time.sleep(0.03)  # a copy as long as the disk makes it at 100,000 orders
            copies.append(path)
            return real_checkpoint(path)
        finally:
            copying[0] -= 1

    def watched_apply(*args, **kwargs):
        if copying[0]:
            written_during_copies.append(threading.current_thread())
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(layer_store, "checkpoint", slow_checkpoint)
    monkeypatch.setattr(layer_tools, "apply_prepared", watched_apply)
    panel = make_orders_panel(sandbox, size=None)
    panel.start()
    settle(qtbot, panel)
    assert {f["id"] for f in panel.orders_layer.getFeatures()} == created
    assert len(copies) > 10 and written_during_copies == []


@pytest.fixture
def bulk_removals(sandbox, monkeypatch, tmp_path):
    """150 orders with captures, a store of their own, removals in bulk from 50 features (forgotten 7 orders a
    step), and who deleted what: {"deleted on": [threads of delete_rows], "removed on main": [non-empty id lists
    the main thread removed feature by feature], "release": an Event delete_rows waits for when "hold" is set}."""
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"bulk gone {n:03d}", "geometry": point(500 + n)} for n in range(150)])
    sandbox.advance(2 * 86400)  # captures too
    monkeypatch.setattr(orders_mirror, "BULK_REMOVE_AT", 50)
    monkeypatch.setattr(orders_mirror, "FORGET_SLICE", 7)
    monkeypatch.setattr(layer_store, "profile_store_path", lambda: str(tmp_path / "layers.gpkg"))
    seen = {"deleted on": [], "removed on main": [], "release": threading.Event(), "hold": False, "client": client}
    real_delete, real_remove = layer_store.delete_rows, layer_tools.remove_features

    def delete_rows(*args, **kwargs):
        seen["deleted on"].append(threading.current_thread())
        if seen["hold"]:
            seen["release"].wait(WAIT_MS / 1000)
        return real_delete(*args, **kwargs)

    def remove_features(layer, ids):
        ids = list(ids)
        if ids:
            seen["removed on main"].append(ids)
        return real_remove(layer, ids)

    monkeypatch.setattr(layer_store, "delete_rows", delete_rows)
    monkeypatch.setattr(layer_tools, "remove_features", remove_features)
    return seen


def loaded_panel(sandbox, make_orders_panel, qtbot):
    """An Orders panel whose table and map have loaded everything."""
    panel = make_orders_panel(sandbox, size=None)
    panel.start()
    settle(qtbot, panel)
    return panel


def test_many_orders_leaving_the_map_are_deleted_by_a_worker_and_the_layers_stay_exact(sandbox, make_orders_panel,
                                                                                      qtbot, bulk_removals):
    client = bulk_removals["client"]
    panel = loaded_panel(sandbox, make_orders_panel, qtbot)
    orders, _ = assert_map_matches_the_server(panel, client)
    assert len(orders) == 150

    panel.name_filter.setText("bulk gone 01")  # 010-019 stay; 140 orders and their captures leave
    settle(qtbot, panel)

    kept, kept_captures = assert_map_matches_the_server(panel, client, name__icontains="bulk gone 01")
    assert len(kept) == 10 and kept_captures
    assert bulk_removals["deleted on"] and threading.main_thread() not in bulk_removals["deleted on"]
    assert bulk_removals["removed on main"] == []  # not one feature removed by the GUI thread
    assert panel.map_label.text() == f"Map: 10 orders, {len(kept_captures):,} captures."
    # What the map knows it holds is right: clearing the filter writes the others back, each once, and a refresh
    # then updates in place.
    panel.name_filter.setText("")
    settle(qtbot, panel)
    assert len(assert_map_matches_the_server(panel, client)[0]) == 150
    fids = {feature["id"]: feature.id() for feature in panel.orders_layer.getFeatures()}
    sandbox.advance(86400)
    panel.refresh_button.click()
    settle(qtbot, panel)
    assert_map_matches_the_server(panel, client)
    assert {feature["id"]: feature.id() for feature in panel.orders_layer.getFeatures()} == fids


def test_a_filter_changed_while_a_worker_deletes_leaves_the_map_with_the_new_filters_orders(sandbox, make_orders_panel,
                                                                                           qtbot, bulk_removals):
    client = bulk_removals["client"]
    panel = loaded_panel(sandbox, make_orders_panel, qtbot)
    bulk_removals["hold"] = True
    panel.name_filter.setText("bulk gone 01")  # 140 orders to delete, 100-149 among them
    qtbot.waitUntil(lambda: bool(bulk_removals["deleted on"]), timeout=WAIT_MS)
    panel.name_filter.setText("bulk gone 1")  # 100-149: orders the worker is deleting are wanted again
    qtbot.waitUntil(lambda: len(panel.mirror.inbox) > 0, timeout=WAIT_MS)  # listed, waiting for the deletion
    bulk_removals["release"].set()
    settle(qtbot, panel)

    kept, _ = assert_map_matches_the_server(panel, client, name__icontains="bulk gone 1")
    assert len(kept) == 50


def test_a_deletion_that_fails_part_way_is_said_and_the_next_refresh_leaves_the_map_exact(sandbox, make_orders_panel,
                                                                                         qtbot, bulk_removals,
                                                                                         monkeypatch):
    client = bulk_removals["client"]
    panel = loaded_panel(sandbox, make_orders_panel, qtbot)
    real_delete = layer_store.delete_rows

    def orders_only(path, table, column, values, **kwargs):  # the orders go, then the file is locked
        if "capture" in table.lower():
            raise sqlite3.OperationalError("database is locked")
        return real_delete(path, table, column, values, **kwargs)

    monkeypatch.setattr(layer_store, "delete_rows", orders_only)
    panel.name_filter.setText("bulk gone 01")
    settle(qtbot, panel)

    assert "The map layers could not be updated: database is locked" in panel.message_label.text()
    assert "stopped" in panel.map_label.text()
    assert panel.orders_layer.featureCount() == 10  # what the worker deleted is gone from the map too
    monkeypatch.setattr(layer_store, "delete_rows", real_delete)
    panel.refresh_button.click()
    settle(qtbot, panel)
    assert len(assert_map_matches_the_server(panel, client, name__icontains="bulk gone 01")[0]) == 10


def test_the_orders_table_paints_without_a_worker_thread_taking_turns_inside_one_paint(sandbox, make_orders_panel,
                                                                                     qtbot, monkeypatch):
    # While the map loads, listing threads run Python. Qt asks the model for every visible cell's roles from C++;
    # had each call taken the GIL anew, each could wait for a worker (a paint took 10-19 ms of such waits).
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"painted {n}", "geometry": point(400 + n)} for n in range(40)])
    panel = loaded_panel(sandbox, make_orders_panel, qtbot)
    seen = []  # "paint", or the worker's count when the model was asked for a cell

    class PaintWatcher(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 - Qt override
            if event.type() == QEvent.Type.Paint:
                seen.append("paint")
            return False

    model_type = type(panel.model)
    data = model_type.data
    monkeypatch.setattr(model_type, "data", lambda model, *args: seen.append(turns[0]) or data(model, *args))
    watcher = PaintWatcher()
    panel.view.viewport().installEventFilter(watcher)
    turns, running = [0], threading.Event()
    running.set()

    def worker():  # a listing thread parsing: Python all the time
        while running.is_set():
            turns[0] += 1

    thread = threading.Thread(target=worker)
    thread.start()
    try:
        for _ in range(5):
            panel.view.viewport().update()
            qtbot.wait(30)
    finally:
        running.clear()
        thread.join()
        panel.view.viewport().removeEventFilter(watcher)
    paints, current = [], None
    for item in seen:
        if item == "paint":
            current = []
            paints.append(current)
        elif current is not None:
            current.append(item)
    painted = [counts for counts in paints if counts]
    assert painted and turns[0] > 0
    assert all(len(counts) > 20 for counts in painted)  # every visible cell's roles
    # The worker ran between paints, never inside one.
    assert all(min(counts) == max(counts) for counts in painted), [sorted(set(c))[:5] for c in painted]



def qgis_thread():
    from qgis.core import QgsApplication

    return QgsApplication.instance().thread()


def test_a_mark_tells_a_change_within_the_same_instant(sandbox):
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"mark {n}", "geometry": point(280 + n)} for n in range(3)])
    fields = orders_refresh.order_mark_fields()
    mark = orders_refresh.take_mark(client.list_orders, orders_refresh.order_mark_row, fields)
    assert mark is not None and mark.rows
    assert orders_refresh.unchanged_since(client.list_orders, orders_refresh.order_mark_row, mark, fields)
    newest = next(iter(mark.rows))[0]
    client.edit_order(newest, name="edited while the clock stands still")
    assert not orders_refresh.unchanged_since(client.list_orders, orders_refresh.order_mark_row, mark, fields)
    assert not orders_refresh.unchanged_since(client.list_orders, orders_refresh.order_mark_row, None, fields)


def test_the_guis_timers_run_between_any_two_long_map_steps(qgis_app, qtbot):
    # At 100,000 features a write slice could take 25 ms; the map's timer, due again when it ended, ran the next one
    # before the GUI's timers that fell due meanwhile: two slices back to back, a 50 ms stall.
    from qgis.PyQt.QtCore import QTimer

    mirror = orders_mirror.OrdersMirror(QgsProject.instance(), lambda: None, TaskGroup(lambda *_: None))
    ran = []

    def slice_of_work():
        ran.append("map")
        time.sleep(0.012)  # longer than the GUI's timer below
        mirror.tick_full = True  # one slice a tick, as a write step

    mirror.task = object()  # a run under way: the mirror keeps ticking
    mirror.steps.extend([slice_of_work] * 12)
    gui_timer = QTimer()
    gui_timer.timeout.connect(lambda: ran.append("gui"))
    gui_timer.start(10)
    mirror._start_ticks()
    try:
        qtbot.waitUntil(lambda: not mirror.steps, timeout=5000)
    finally:
        gui_timer.stop()
        mirror.shutdown()
    steps = "".join("m" if what == "map" else "g" for what in ran)
    assert steps.count("m") == 12 and "mm" not in steps, steps
