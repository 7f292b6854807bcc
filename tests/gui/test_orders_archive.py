"""Archive imagery orders in the Orders tab, against the sandbox: one list with the tasking orders (merged by
creation time across pages, the service and type shown), their details, cancel while queued (and why not
otherwise), bulk cancel with a confirmation, and the queue depth."""

from __future__ import annotations

import pytest
from qgis.PyQt.QtCore import Qt

from core.services.planet_orders.client import OrdersClient
from core.services.planet_orders.forms import scenes_request
from tests.integration.order_states import make_client, point
from ui.orders.filters import ARCHIVE, TASKING
from ui.orders.model import COLUMNS

pytestmark = pytest.mark.usefixtures("no_leftover_tasks")

WAIT_MS = 60_000
ITEM_A = "20220304_093300_37_2430"
ITEM_B = "20220305_093440_25_2429"
FAILING = "20220628_101531_25_2262_failing"


def column(attribute):
    return next(i for i, c in enumerate(COLUMNS) if c.attribute == attribute)


def cell(panel, row, attribute, role=Qt.ItemDataRole.DisplayRole):
    return panel.model.data(panel.model.index(row, column(attribute)), role)


def settle(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.busy(), timeout=WAIT_MS)


def load_all(qtbot, panel):
    settle(qtbot, panel)
    while panel.model.canFetchMore():
        panel.model.fetchMore()
        settle(qtbot, panel)


def archive_client(sandbox):
    return OrdersClient(sandbox.root + "/compute/ops/", sandbox.api_key, timeout=30.0, sleep=sandbox.sleep,
                        lookup_patience=0.0)


@pytest.fixture
def make_panel(make_orders_panel, sandbox):
    """An Orders panel on the sandbox that lists archive orders beside the tasking ones."""

    def make(**kwargs):
        return make_orders_panel(sandbox, archive_client_factory=lambda: archive_client(sandbox), **kwargs)

    return make


def select_ids(qtbot, panel, ids):
    panel.select_orders(ids)
    qtbot.waitUntil(lambda: {panel.model.rows[i.row()].id for i in panel.view.selectionModel().selectedRows()}
                    == set(ids), timeout=5000)


def cancels(sandbox):
    """The cancel requests the sandbox's Orders API received."""
    return [r for r in sandbox.requests_seen() if (r["method"], r["path"]) == ("POST", "/compute/ops/bulk/orders/v2/cancel")
            or (r["method"] == "PUT" and r["path"].startswith("/compute/ops/orders/v2/"))]


def test_archive_orders_are_merged_into_the_paged_tasking_list_by_creation_time(sandbox, make_panel, qtbot):
    tasking, orders = make_client(sandbox), archive_client(sandbox)
    made = []  # (created, id, service) in the order made, a few seconds apart on the sandbox's clock
    for n in range(7):
        order = tasking.create_order({"name": f"tasking {n}", "geometry": point(n)})
        made.append((order.created_time, order.id, "Tasking"))
        sandbox.advance(3)
        if n % 2:
            archived = orders.create_order(scenes_request(f"archive {n}", [ITEM_A]))
            made.append((archived.created_on, archived.id, "Archive"))
            sandbox.advance(3)
    panel = make_panel(page_size=3)
    panel.view.hide()  # pages come as asked below, not as the view fills its height
    panel.start()
    settle(qtbot, panel)
    # After each page: the rows are every order down to the last tasking order loaded (an archive order
    # older than it waits for the next page), then all of them once the tasking listing is complete.
    newest_first = [i for _, i, _ in sorted(made, reverse=True)]
    pages = 1
    while True:
        last_tasking = panel.model.orders[-1].id
        more = panel.model.canFetchMore()
        expected = newest_first[:newest_first.index(last_tasking) + 1] if more else newest_first
        assert [o.id for o in panel.model.rows] == expected, pages
        if not more:
            break
        panel.model.fetchMore()
        settle(qtbot, panel)
        pages += 1
    assert pages == 3  # 3, 3 and 1 tasking orders
    panel.view.show()
    services = {i: s for _, i, s in made}
    assert [cell(panel, row, "service") for row in range(len(newest_first))] == [services[i] for i in newest_first]
    archive_row = panel.model.row_of[next(i for i in newest_first if services[i] == "Archive")]
    assert cell(panel, archive_row, "status") == "queued" and cell(panel, archive_row, "order_type") == "scenes"
    assert "Preparing order" in cell(panel, archive_row, "name", Qt.ItemDataRole.ToolTipRole)
    assert "10 of 10 orders loaded (3 archive)" in panel.count_label.text()
    for attribute in ("service", "result_count"):
        assert not panel.view.isColumnHidden(column(attribute))

    # Oldest first: the same list the other way round, paged the same way.
    panel.view.sortByColumn(column("created_time"), Qt.SortOrder.AscendingOrder)
    load_all(qtbot, panel)
    assert [o.id for o in panel.model.rows] == newest_first[::-1]
    # By name: the archive orders ("archive …") before the tasking ones ("tasking …"), each in name order.
    panel.view.sortByColumn(column("name"), Qt.SortOrder.AscendingOrder)
    load_all(qtbot, panel)
    names = [o.name for o in panel.model.rows]
    assert names == sorted(names) and len(names) == len(made) and names[0].startswith("archive")

    # The Service filter: one service or the other, and the archive columns only with archive orders.
    panel.filters.set_service(TASKING)
    load_all(qtbot, panel)
    assert [o.id for o in panel.model.rows] == [i for i in newest_first[::-1] if services[i] == "Tasking"]
    assert panel.view.isColumnHidden(column("service")) and not panel.queue_label.isVisible()
    asked_tasking = len([r for r in sandbox.requests_seen() if r["path"].startswith("/tasking/")])
    panel.filters.set_service(ARCHIVE)
    load_all(qtbot, panel)
    assert [o.id for o in panel.model.rows] == [i for i in newest_first[::-1] if services[i] == "Archive"]
    assert len([r for r in sandbox.requests_seen() if r["path"].startswith("/tasking/")]) == asked_tasking
    assert "3 of 3 orders loaded (3 archive)" in panel.count_label.text()
    # A state only archive orders have, with both services listed: only archive orders match.
    sandbox.advance(40)  # the first archive orders start running
    panel.filters.set_service("all")
    panel.set_statuses(["running"])
    load_all(qtbot, panel)
    running = [o.id for o in orders.iter_orders(state="running")]
    assert running and sorted(o.id for o in panel.model.rows) == sorted(running)
    assert panel.filters_box.title() == "Filters (1 active)"


def test_an_archive_order_shows_its_messages_error_hints_and_results(sandbox, make_panel, qtbot):
    orders = archive_client(sandbox)
    partial = orders.create_order(scenes_request("Chamonix partly", [ITEM_A, FAILING]))
    orders.wait_for(partial, poll=30.0, max_poll=60.0)
    panel = make_panel()
    panel.start()
    load_all(qtbot, panel)
    row = panel.model.row_of[partial.id]
    assert cell(panel, row, "status") == "partial"
    assert cell(panel, row, "result_count") == "3"  # the analytic image, its udm2 and metadata; not the manifest
    select_ids(qtbot, panel, [partial.id])
    details = panel.archive_details
    assert details.isVisible() and not panel.details.isVisible()
    text = details.text.toPlainText()
    assert "Manifest delivery completed" in text and FAILING in text  # the last message and the failed item's hint
    assert f"{ITEM_A}_3B_AnalyticMS.tif" in text and "manifest.json" in text
    assert not details.cancel_button.isEnabled() and "is partial" in details.cancel_button.toolTip()
    # A tasking order selected again brings the tasking details back.
    panel.view.clearSelection()
    assert panel.details.isVisible() and not details.isVisible()


def test_a_queued_archive_order_is_cancelled_and_a_running_one_is_refused_with_the_reason(
        sandbox, make_panel, qtbot, monkeypatch):
    orders = archive_client(sandbox)
    running = orders.create_order(scenes_request("already running", [ITEM_A]))
    sandbox.advance(40)
    queued = orders.create_order(scenes_request("still queued", [ITEM_B]))
    late = orders.create_order(scenes_request("soon running", [ITEM_B]))
    panel = make_panel()
    questions = []
    monkeypatch.setattr(panel, "ask", lambda title, text: questions.append(text) or True)
    panel.start()
    load_all(qtbot, panel)
    assert panel.queue_label.text() == "Archive queue: 2 queued, 1 running."

    select_ids(qtbot, panel, [running.id])
    assert not panel.cancel_button.isEnabled()
    assert "only queued archive orders can be cancelled" in panel.cancel_button.toolTip().lower()
    assert "is running" in panel.archive_details.cancel_button.toolTip()

    select_ids(qtbot, panel, [queued.id])
    assert panel.archive_details.cancel_button.isEnabled()
    panel.archive_details.cancel_button.click()
    assert questions and "still queued" in questions[-1]
    settle(qtbot, panel)
    assert orders.get_order(queued.id).state == "cancelled"
    assert "1 archive order cancelled." in panel.message_label.text()
    assert cell(panel, panel.model.row_of[queued.id], "status") == "cancelled"
    assert panel.queue_label.text() == "Archive queue: 1 queued, 1 running."
    assert not panel.archive_details.cancel_button.isEnabled()

    # The list still says queued, the service has started it meanwhile: the refusal says why.
    select_ids(qtbot, panel, [late.id])
    sandbox.advance(40)
    panel.cancel_button.click()
    settle(qtbot, panel)
    assert orders.get_order(late.id).state == "running"
    assert "only queued orders can be cancelled" in panel.message_label.text()
    assert "only queued orders can be cancelled" in panel.archive_details.message_label.text()
    assert cell(panel, panel.model.row_of[late.id], "status") == "running"  # read again after the refusal


def test_bulk_cancel_of_the_selected_queued_archive_orders_asks_first(sandbox, make_panel, qtbot, monkeypatch):
    orders, tasking = archive_client(sandbox), make_client(sandbox)
    running = orders.create_order(scenes_request("running", [ITEM_A]))
    sandbox.advance(40)
    queued = [orders.create_order(scenes_request(f"queued {n}", [ITEM_B])) for n in range(3)]
    other = orders.create_order(scenes_request("not selected", [ITEM_B]))
    tasking.create_order({"name": "a tasking order", "geometry": point(1)})
    panel = make_panel()
    answers = [False, True]
    questions = []
    monkeypatch.setattr(panel, "ask", lambda title, text: questions.append((title, text)) or answers.pop(0))
    panel.start()
    load_all(qtbot, panel)
    select_ids(qtbot, panel, [o.id for o in queued] + [running.id])
    assert panel.cancel_button.isEnabled()

    panel.cancel_button.click()  # declined: nothing is sent
    title, text = questions[-1]
    assert title == "Cancel archive orders" and text.startswith("Cancel 3 archive orders?")
    assert "1 selected archive order(s) are not queued" in text
    settle(qtbot, panel)
    assert not cancels(sandbox)

    panel.cancel_button.click()
    settle(qtbot, panel)
    assert [r["path"] for r in cancels(sandbox)] == ["/compute/ops/bulk/orders/v2/cancel"]  # one request for the three
    assert {orders.get_order(o.id).state for o in queued} == {"cancelled"}
    assert orders.get_order(other.id).state == "queued" and orders.get_order(running.id).state == "running"
    assert "3 archive orders cancelled." in panel.message_label.text()
    assert panel.queue_label.text() == "Archive queue: 1 queued, 1 running."
    assert [cell(panel, panel.model.row_of[o.id], "status") for o in queued] == ["cancelled"] * 3


def test_a_failed_archive_listing_is_said_in_the_tab_and_the_tasking_orders_still_show(sandbox, make_panel, qtbot):
    tasking, orders = make_client(sandbox), archive_client(sandbox)
    kept = tasking.create_order({"name": "a tasking order", "geometry": point(2)})
    archived = orders.create_order(scenes_request("an archive order", [ITEM_A]))
    # More failures than the client's retries: the listing fails for good this time.
    sandbox.fault(path="^/compute/ops/orders/v2$", method="GET", kind="status", status=500, count=20)
    panel = make_panel()
    panel.start()
    load_all(qtbot, panel)
    assert [o.id for o in panel.model.rows] == [kept.id]
    assert "Loading archive orders failed" in panel.message_label.text()
    sandbox.clear_faults()
    panel.refresh_button.click()
    load_all(qtbot, panel)
    assert sorted(o.id for o in panel.model.rows) == sorted([kept.id, archived.id])
    assert panel.message_label.text() == ""  # the error went as soon as the listing succeeded


def test_open_archive_orders_are_read_again_by_themselves_and_fit_a_narrow_tab(sandbox, make_panel, qtbot):
    orders = archive_client(sandbox)
    waiting = orders.create_order(scenes_request("waiting in the queue", [ITEM_A]))
    panel = make_panel(auto_refresh=True)
    panel._archive_timer.setInterval(300)  # 30 s in use; the sandbox's clock is moved instead of waited for
    panel.start()
    load_all(qtbot, panel)
    assert cell(panel, panel.model.row_of[waiting.id], "status") == "queued"
    sandbox.advance(40)
    qtbot.waitUntil(lambda: cell(panel, panel.model.row_of[waiting.id], "status") == "running", timeout=WAIT_MS)
    # The stats come in a request of their own, which may answer after the listing.
    qtbot.waitUntil(lambda: panel.queue_label.text() == "Archive queue: 0 queued, 1 running.", timeout=WAIT_MS)

    header = panel.view.horizontalHeader()

    def shown():
        return [COLUMNS[header.logicalIndex(v)].title for v in range(header.count())
                if not header.isSectionHidden(header.logicalIndex(v))]

    assert shown()[:3] == ["Name", "Status", "Service"] and "Results" in shown(), shown()
    # 400 px: no sideways scrolling; where Service has no room, the archive order's name carries its mark.
    panel.resize(400, 800)
    qtbot.waitUntil(lambda: panel.width() == 400, timeout=5000)
    assert shown()[:2] == ["Name", "Status"] and not panel.view.horizontalScrollBar().isVisible()
    icon = cell(panel, panel.model.row_of[waiting.id], "name", Qt.ItemDataRole.DecorationRole)
    assert icon is not None and not icon.isNull()
    tasking = make_client(sandbox).create_order({"name": "a tasking order", "geometry": point(3)})
    panel.refresh_button.click()
    load_all(qtbot, panel)
    assert cell(panel, panel.model.row_of[tasking.id], "name", Qt.ItemDataRole.DecorationRole) is None
