"""The Orders table at scale (issue #18): its rows stay out of the cycle collector's walk (whose full collections hold
the GUI thread) yet read as whole orders, and rows forgotten for new filters are freed a slice per event-loop turn."""

from __future__ import annotations

import gc
import sys

from qgis.PyQt.QtCore import QCoreApplication, Qt

from core.app.orders_refresh import pack_orders
from core.services.planet_tasking.models import Order, Page
from tests.integration.order_states import bulk_create, make_client, point
from ui.orders import model as orders_model

WAIT_MS = 60_000


def test_the_tables_rows_leave_the_cycle_collector_and_still_read_as_whole_orders(sandbox, make_orders_panel, qtbot):
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"packed {n:02d}", "geometry": point(300 + n)} for n in range(45)])
    panel = make_orders_panel(sandbox, page_size=20)
    panel.start()
    qtbot.waitUntil(lambda: panel.model.total == 45, timeout=WAIT_MS)
    while len(panel.model.orders) < 45:
        if not panel.model.loading:
            panel.model.fetchMore()
        qtbot.wait(20)
    qtbot.waitUntil(lambda: not panel.busy(), timeout=WAIT_MS)

    gc.collect()
    assert not any(gc.is_tracked(row) for row in panel.model.packed_orders())
    # The table shows what the service lists, and a row selected shows its order whole in the details.
    listed = {o.id: o for o in client.list_orders(limit=100).results}
    assert sorted(o.id for o in panel.model.orders) == sorted(listed)
    shown = panel.model.orders[7]
    assert panel.model.data(panel.model.index(7, 0), Qt.ItemDataRole.DisplayRole) == listed[shown.id].name
    assert isinstance(shown, Order) and shown.created_time == listed[shown.id].created_time
    panel.select_orders([shown.id])
    assert panel.selected_order_ids() == [shown.id]
    assert panel.details.order is not None and panel.details.order.name == listed[shown.id].name

    # A change read by a refresh shows in its row, marked, and the rows stay out of the collector's walk.
    client.edit_order(shown.id, name="packed, renamed")
    with qtbot.waitSignal(panel.refreshed, timeout=WAIT_MS) as refreshed:
        panel.refresh_now()
    assert shown.id in refreshed.args[0].changed
    row = panel.model.row_of[shown.id]
    assert panel.model.data(panel.model.index(row, 0), Qt.ItemDataRole.DisplayRole) == "packed, renamed"
    assert panel.model.order_by_id()[shown.id].name == "packed, renamed"
    qtbot.waitUntil(lambda: not panel.busy(), timeout=WAIT_MS)
    gc.collect()
    assert not any(gc.is_tracked(row) for row in panel.model.packed_orders())


def mapped_orders(sandbox, make_orders_panel, qtbot, name: str, count: int, first_point: int):
    """`count` orders named '<name> NN', acquired and published (captures), loaded into a panel and its map."""
    client = make_client(sandbox)
    bulk_create(sandbox, client, [{"name": f"{name} {n:02d}", "geometry": point(first_point + n)}
                                  for n in range(count)])
    sandbox.advance(40 * 3600)  # captures
    panel = make_orders_panel(sandbox)
    panel.start()
    qtbot.waitUntil(lambda: panel.model.total == count and not panel.busy(), timeout=WAIT_MS)
    return client, panel


def test_the_maps_bookkeeping_stays_out_of_the_cycle_collectors_walk(sandbox, make_orders_panel, qtbot):
    client, panel = mapped_orders(sandbox, make_orders_panel, qtbot, "kept", 30, 400)
    mirror = panel.mirror
    captures = {c.id: c.order_id for c in client.iter_captures([o.id for o in client.iter_orders()])}
    assert len(mirror.written) == panel.orders_layer.featureCount() == 30
    assert captures and panel.captures_layer.featureCount() == len(captures)
    assert {c: o for o in mirror.written for c in mirror.captures_of([o])} == captures
    assert mirror.captures_held == len(captures)  # kept as the bookkeeping changes, not counted at each refresh
    # Dicts of strings and numbers: a full collection does not visit their 100,000 entries (see OrdersMirror).
    assert not any(gc.is_tracked(kept) for kept in (mirror.written, mirror.updated, mirror.captures))
    # An order gone from the filters leaves the map with its captures, and the bookkeeping with it.
    panel.name_filter.setText("kept 0")
    qtbot.waitUntil(lambda: not panel.busy() and len(mirror.written) == 10, timeout=WAIT_MS)
    assert panel.captures_layer.featureCount() == len(mirror.captures_of(list(mirror.written))) == sum(
        1 for order_id in captures.values() if order_id in mirror.written) == mirror.captures_held
    assert not any(gc.is_tracked(kept) for kept in (mirror.written, mirror.updated, mirror.captures))


def test_a_capture_deleted_by_hand_is_back_after_a_refresh_that_finds_nothing_changed(sandbox, make_orders_panel,
                                                                                     qtbot):
    _client, panel = mapped_orders(sandbox, make_orders_panel, qtbot, "mapped", 12, 500)
    layer = panel.captures_layer
    held = {feature["id"] for feature in layer.getFeatures()}
    assert held
    gone = next(feature for feature in layer.getFeatures())
    assert layer.startEditing() and layer.deleteFeature(gone.id()) and layer.commitChanges()
    assert layer.featureCount() == len(held) - 1

    panel.refresh_now()  # the service has nothing new: the map still sees what the layer lacks
    qtbot.waitUntil(lambda: not panel.busy() and layer.featureCount() == len(held), timeout=WAIT_MS)
    assert {feature["id"] for feature in layer.getFeatures()} == held
    assert panel.mirror.captures_held == len(held)


def test_rows_forgotten_for_new_filters_are_freed_a_slice_per_turn(qgis_app, qtbot):
    requested = []
    table = orders_model.OrdersTableModel(lambda *args: requested.append(args), page_size=100)
    count = 3 * orders_model.DROP_ROWS
    rows = pack_orders(Order(id=f"order-{n:06d}", name=f"n {n}") for n in range(count))
    table.append_page(Page(count=count, next=None, previous=None, results=rows), first=True)
    first, last = rows[0], rows[-1]
    del rows
    held_first, held_last = sys.getrefcount(first), sys.getrefcount(last)

    table.set_query(table.query)
    # The view is empty at once and the new filters' first page is asked for ...
    assert table.rowCount() == 0 and len(requested) == 1
    # ... while the old rows are freed over the next turns of the event loop, not in one burst now.
    assert sys.getrefcount(first) == held_first and sys.getrefcount(last) == held_last
    # The last rows go first; the first ones only turns later.
    for _ in range(1000):
        if sys.getrefcount(last) < held_last:
            break
        QCoreApplication.processEvents()  # one turn
    assert sys.getrefcount(last) < held_last and sys.getrefcount(first) == held_first
    qtbot.waitUntil(lambda: sys.getrefcount(first) < held_first, timeout=5000)
