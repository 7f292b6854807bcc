"""UP42 orders in the Orders tab, in real QGIS against the sandbox: a placed order listed with its status,
sub-status and product, moving on by itself as the simulated time runs, the status filter sent to UP42, cancel
(asked first; a refusal's reason shown), the pointer to the Decisions tab, and the dock's Orders tab with UP42
active or beside Planet."""

from __future__ import annotations

from urllib.parse import parse_qs

import pytest
from qgis.PyQt.QtCore import QCoreApplication, QEvent, Qt

from tests.integration.up42.test_up42_client import WORLDVIEW, order_request, square
from ui.orders.filters import ALL_SERVICES
from ui.orders.model import COLUMNS

pytestmark = pytest.mark.usefixtures("no_leftover_tasks")

WAIT_MS = 30_000


def column(attribute):
    return next(i for i, c in enumerate(COLUMNS) if c.attribute == attribute)


def cell(panel, order_id, attribute, role=Qt.ItemDataRole.DisplayRole):
    """The order's cell, None while the order is not in the list (e.g. being read again after a settings change)."""
    if order_id not in panel.model.row_of:
        return None
    return panel.model.data(panel.model.index(panel.model.row_of[order_id], column(attribute)), role)


def settle(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.busy(), timeout=WAIT_MS)


def select_ids(qtbot, panel, ids):
    panel.select_orders(ids)
    qtbot.waitUntil(lambda: {panel.model.rows[i.row()].id for i in panel.view.selectionModel().selectedRows()}
                    == set(ids), timeout=5000)


def order_listings(sandbox):
    return [parse_qs(r["query"] or "") for r in sandbox.requests_seen()
            if r["method"] == "GET" and r["path"] == "/v2/orders"]


@pytest.fixture
def up42_panel(make_orders_panel, make_up42_client, sandbox):
    """An Orders panel listing the sandbox account's UP42 orders only (UP42 the active service: no paged listing,
    no map layers)."""

    def make(**kwargs):
        return make_orders_panel(sandbox, paged=False, archive_client_factory=None,
                                 listed_client_factories={"up42": make_up42_client}, **kwargs)

    return make


def test_a_placed_up42_order_is_listed_with_status_and_sub_status_and_moves_on_by_itself(
        sandbox, up42_panel, make_up42_client, qtbot):
    client = make_up42_client()
    older = client.create_order(order_request(sandbox, name="Pléiades Potsdam", geometries=[square(13.05, 52.39)]))
    sandbox.advance(5)
    placed = client.create_order(order_request(sandbox, name="Pléiades Berlin"))
    panel = up42_panel(auto_refresh=True)
    panel.merged_timers["up42"].setInterval(300)  # 30 s in use; the sandbox's clock is moved instead of waited for
    panel.start()
    settle(qtbot, panel)
    # Newest first, as UP42 lists them; the table only: the tab says there are no map layers.
    assert [o.id for o in panel.model.rows] == [placed.id, older.id]
    assert cell(panel, placed.id, "name") == "Pléiades Berlin"
    assert cell(panel, placed.id, "service") == "UP42"
    assert cell(panel, placed.id, "status") == "CREATED"
    assert "Pléiades" in cell(panel, placed.id, "order_type")  # the product's name, not its id
    assert cell(panel, placed.id, "created_time") == placed.created_at.strftime("%Y-%m-%d %H:%M")
    assert "no map layers" in panel.map_label.text() and panel.orders_layer is None
    assert not panel.save_button.isVisible()
    assert "2 of 2 orders loaded (2 UP42)" in panel.count_label.text()
    for attribute in ("service", "sub_status"):
        assert not panel.view.isColumnHidden(column(attribute)), attribute
    assert panel.view.isColumnHidden(column("result_count"))
    listing = order_listings(sandbox)[-1]
    assert listing["page"] == ["0"] and listing["sort"] == ["createdAt,desc"]

    # Placed by the simulated service: read again by itself (Refresh never pressed), sub-status and all.
    sandbox.advance(30 + 90)
    qtbot.waitUntil(lambda: cell(panel, placed.id, "status") == "PLACED", timeout=WAIT_MS)
    assert cell(panel, placed.id, "sub_status") == "QUOTATION_WAITING_UPLOAD"
    sandbox.advance(2 * 3600)
    qtbot.waitUntil(lambda: cell(panel, placed.id, "sub_status") == "QUOTATION_WAITING_RESPONSE", timeout=WAIT_MS)

    # Its details: product, status, sub-status, times, the area, and the way to the Decisions tab.
    select_ids(qtbot, panel, [placed.id])
    details = panel.merged_details["up42"]
    assert details.isVisible() and not panel.details.isVisible()
    text = details.text.toPlainText()
    for expected in (placed.id, "PLACED", "QUOTATION_WAITING_RESPONSE: quotation: accept or reject it", "Pléiades",
                     "Polygon, lon 13.", "Decisions tab"):
        assert expected in text, expected
    assert details.decisions_button.isVisible()
    with qtbot.waitSignal(panel.decisionsRequested, timeout=2000) as asked:
        details.decisions_button.click()
    assert asked.args == [placed.id]
    # Placed, it can no longer be cancelled: the button says why.
    assert not details.cancel_button.isEnabled() and "is PLACED" in details.cancel_button.toolTip()
    assert not panel.cancel_button.isEnabled()


def test_the_status_filter_is_sent_to_up42_and_the_name_filter_applies(sandbox, up42_panel, make_up42_client, qtbot):
    client = make_up42_client()
    cancelled = client.create_order(order_request(sandbox, name="cancelled at once"))
    client.cancel_order(cancelled.id)
    waiting = client.create_order(order_request(sandbox, name="still waiting", geometries=[square(13.05, 52.39)]))
    panel = up42_panel()
    panel.start()
    settle(qtbot, panel)
    assert sorted(o.id for o in panel.model.rows) == sorted([cancelled.id, waiting.id])
    offered = [panel.status_filter.itemText(i) for i in range(panel.status_filter.count())]
    assert offered[:2] == ["CREATED", "BEING_PLACED"] and "CANCELED" in offered and "RECEIVED" not in offered
    panel.filters_box.setCollapsed(False)  # the filters unfolded: UP42 alone needs no Service or scheduling choice
    assert panel.status_filter.isVisible() and panel.name_filter.isVisible()
    assert not panel.scheduling_filter.isVisible() and not panel.service_filter.isVisible()

    panel.set_statuses(["CANCELED"])
    qtbot.waitUntil(lambda: [o.id for o in panel.model.rows] == [cancelled.id], timeout=WAIT_MS)
    settle(qtbot, panel)
    assert order_listings(sandbox)[-1]["status"] == ["CANCELED"]  # filtered by UP42, not here
    assert cell(panel, cancelled.id, "status") == "CANCELED"

    panel.set_statuses([])
    panel.name_filter.setText("waiting")
    qtbot.waitUntil(lambda: [o.id for o in panel.model.rows] == [waiting.id], timeout=WAIT_MS)
    settle(qtbot, panel)


def test_cancel_asks_first_then_cancels_and_a_refusal_says_why(sandbox, up42_panel, make_up42_client, qtbot,
                                                               monkeypatch):
    client = make_up42_client()
    first = client.create_order(order_request(sandbox, name="to cancel"))
    second = client.create_order(order_request(sandbox, name="placed meanwhile", geometries=[square(13.05, 52.39)]))
    panel = up42_panel()
    answers = [False, True, True]
    questions = []
    monkeypatch.setattr(panel, "ask", lambda title, text: questions.append((title, text)) or answers.pop(0))
    panel.start()
    settle(qtbot, panel)

    select_ids(qtbot, panel, [first.id])
    details = panel.merged_details["up42"]
    assert details.cancel_button.isEnabled() and panel.cancel_button.isEnabled()
    details.cancel_button.click()  # declined: nothing is sent
    title, text = questions[-1]
    assert title == "Cancel UP42 orders" and text.startswith("Cancel 1 UP42 order?") and "to cancel (CREATED)" in text
    settle(qtbot, panel)
    assert not [r for r in sandbox.requests_seen() if r["path"].endswith("/cancellation")]
    assert client.get_order(first.id).status == "CREATED"

    details.cancel_button.click()
    settle(qtbot, panel)
    assert client.get_order(first.id).status == "CANCELED"
    assert "1 UP42 order cancelled." in panel.message_label.text()
    assert cell(panel, first.id, "status") == "CANCELED"
    assert not details.cancel_button.isEnabled()

    # The list still says CREATED; UP42 has started placing it meanwhile: its refusal is shown.
    select_ids(qtbot, panel, [second.id])
    sandbox.advance(40)
    panel.cancel_button.click()
    settle(qtbot, panel)
    assert client.get_order(second.id).status == "BEING_PLACED"
    assert "Refused" in panel.message_label.text() and "cannot be canceled" in panel.message_label.text()
    assert "cannot be canceled" in details.message_label.text()
    assert cell(panel, second.id, "status") == "BEING_PLACED"  # read again after the refusal


def _sandbox_settings(clean_settings, sandbox, service):
    clean_settings.set_sandbox_port(int(sandbox.root.rsplit(":", 1)[1]))
    clean_settings.set_use_sandbox(True)
    clean_settings.set_active_service(service)


def _orders_tab_showing(dock, qtbot, width, order_id):
    """The dock shown `width` px wide on its Orders tab, once the tab lists `order_id` and has settled."""
    panel = dock.orders_panel
    dock.resize(width, 900)
    dock.show()
    dock.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: order_id in panel.model.row_of, timeout=WAIT_MS)
    settle(qtbot, panel)
    return panel


def _close(dock):
    dock.shutdown()
    dock.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_with_up42_active_the_dock_has_an_orders_tab_listing_up42_orders(clean_settings, sandbox, make_up42_client,
                                                                          qgis_iface, qtbot):
    from satellite_tasking.ui.dock import TaskingDock

    order = make_up42_client().create_order(order_request(sandbox, name="WorldView Berlin", product=WORLDVIEW,
                                                          acquisitionMode="mono", maxCloudCover=20,
                                                          priority="STANDARD"))
    _sandbox_settings(clean_settings, sandbox, "up42")
    dock = TaskingDock(iface=qgis_iface)
    try:
        titles = [dock.tabs.tabText(i) for i in range(dock.tabs.count())]
        assert titles == ["New order", "Orders", "Decisions"]
        panel = _orders_tab_showing(dock, qtbot, 400, order.id)
        assert cell(panel, order.id, "service") == "UP42" and cell(panel, order.id, "status") == "CREATED"
        assert "no map layers" in panel.map_label.text() and panel.orders_layer is None
        assert not panel.message_label.text()
        # 400 px: no sideways scrolling; name and status first.
        header = panel.view.horizontalHeader()
        shown = [COLUMNS[header.logicalIndex(v)].attribute for v in range(header.count())
                 if not header.isSectionHidden(header.logicalIndex(v))]
        assert shown[:2] == ["name", "status"] and not panel.view.horizontalScrollBar().isVisible(), shown
        # An order waiting for a decision: its details lead to the Decisions tab.
        sandbox.advance(120 + 4 * 3600)  # the feasibility study is there
        panel.refresh_button.click()
        qtbot.waitUntil(lambda: cell(panel, order.id, "sub_status") == "FEASIBILITY_WAITING_RESPONSE", timeout=WAIT_MS)
        select_ids(qtbot, panel, [order.id])
        panel.merged_details["up42"].decisions_button.click()
        assert dock.tabs.currentWidget() is dock.decisions_panel
        settle(qtbot, panel)
    finally:
        _close(dock)


def test_with_planet_active_the_service_filter_offers_up42_beside_tasking_and_archive(
        clean_settings, sandbox, make_up42_client, qgis_iface, qtbot):
    from satellite_tasking.ui.dock import TaskingDock

    order = make_up42_client().create_order(order_request(sandbox, name="UP42 beside Planet"))
    _sandbox_settings(clean_settings, sandbox, "planet_tasking")
    dock = TaskingDock(iface=qgis_iface)
    try:
        panel = _orders_tab_showing(dock, qtbot, 900, order.id)
        choices = [panel.service_filter.itemData(i) for i in range(panel.service_filter.count())]
        assert choices == [ALL_SERVICES, "tasking", "archive", "up42"]
        assert panel.service_filter.itemText(choices.index("up42")) == "UP42"
        assert cell(panel, order.id, "service") == "UP42"
        panel.filters.set_service("up42")
        qtbot.waitUntil(lambda: [o.id for o in panel.model.rows] == [order.id], timeout=WAIT_MS)
        settle(qtbot, panel)
        offered = [panel.status_filter.itemText(i) for i in range(panel.status_filter.count())]
        assert "PLACEMENT_FAILED" in offered and "queued" not in offered and "RECEIVED" not in offered
    finally:
        _close(dock)


def test_up42_is_offered_once_its_account_is_set_up_without_reopening_the_tab(
        sandbox, make_orders_panel, make_up42_client, qtbot):
    order = make_up42_client().create_order(order_request(sandbox, name="set up later"))
    account = {"set up": False}

    def up42_client():
        return make_up42_client() if account["set up"] else None

    panel = make_orders_panel(sandbox, archive_client_factory=None, listed_client_factories={"up42": up42_client})
    panel.filters_box.setCollapsed(False)
    panel.start()
    settle(qtbot, panel)
    assert not panel.service_filter.isVisible() and order.id not in panel.model.row_of
    account["set up"] = True  # the settings dialog saved a UP42 account
    panel.reload_settings()  # what the dock does when the settings close
    qtbot.waitUntil(lambda: order.id in panel.model.row_of, timeout=WAIT_MS)
    settle(qtbot, panel)
    assert panel.service_filter.isVisible()
    assert [panel.service_filter.itemData(i) for i in range(panel.service_filter.count())] == [
        ALL_SERVICES, "tasking", "up42"]
    assert cell(panel, order.id, "service") == "UP42"


def test_with_up42_active_and_no_account_the_tab_says_what_is_missing(sandbox, make_orders_panel, qtbot):
    panel = make_orders_panel(sandbox, paged=False, archive_client_factory=None,
                              listed_client_factories={"up42": lambda: None})
    panel.start()
    settle(qtbot, panel)
    assert panel.model.rows == []
    assert "UP42 orders: not configured" in panel.message_label.text()
    assert not [r for r in sandbox.requests_seen() if r["path"].startswith("/v2/")]


def test_up42_answering_beside_planet_does_not_hide_that_planet_cannot_be_reached(
        sandbox, make_up42_client, qgis_iface, qtbot):
    from core.services.planet_tasking.client import TaskingClient
    from tests.gui.test_orders_panel_state import dead_url
    from tests.integration.order_states import sim_now
    from ui.orders.panel import OrdersPanel

    order = make_up42_client().create_order(order_request(sandbox, name="UP42 still answers"))
    planet_url = dead_url()
    panel = OrdersPanel(lambda: TaskingClient(planet_url, sandbox.api_key, timeout=10.0, max_retries=0), qgis_iface,
                        auto_refresh=False, now=lambda: sim_now(sandbox), archive_client_factory=None,
                        listed_client_factories={"up42": make_up42_client})
    qtbot.addWidget(panel)
    said = []
    panel.serviceReachable.connect(lambda reachable, *_: said.append(reachable))
    try:
        panel.resize(900, 700)
        panel.show()
        # UP42's orders show although Planet's list, which they are merged into, could not be read; Planet's
        # failure and its retry in 5 s are still said, and Planet is not taken for reachable again.
        qtbot.waitUntil(lambda: order.id in panel.model.row_of and panel.retry_pending() is not None,
                        timeout=WAIT_MS)
        qtbot.waitUntil(lambda: not panel.merged["up42"].busy(), timeout=WAIT_MS)
        assert cell(panel, order.id, "name") == "UP42 still answers" and cell(panel, order.id, "service") == "UP42"
        assert "Loading orders failed" in panel.message_label.text() and panel.retry_pending() is not None
        assert True not in said
        assert panel.count_label.text() == ("1 of 1 orders loaded (1 UP42); the tasking orders could not be read "
                                            "yet"), panel.count_label.text()
    finally:
        panel.shutdown()


def test_an_order_placed_in_the_dock_shows_in_its_orders_tab_without_a_refresh(clean_settings, sandbox, qgis_iface,
                                                                               qtbot):
    from satellite_tasking.ui.dock import TaskingDock
    from tests.gui.confirmations import Confirmations
    from tests.gui.test_up42_new_order import fill_valid_order

    _sandbox_settings(clean_settings, sandbox, "up42")
    dock = TaskingDock(iface=qgis_iface)
    try:
        panel = dock.orders_panel
        dock.resize(400, 900)
        dock.show()
        dock.tabs.setCurrentWidget(panel)
        qtbot.waitUntil(lambda: panel.model.total == 0, timeout=WAIT_MS)
        settle(qtbot, panel)
        assert panel.model.rows == []  # nothing that still moves: the list is not read again by itself
        new_order = dock.new_order_panel
        new_order.confirm = Confirmations()
        qtbot.waitUntil(lambda: new_order.product_combo.count() > 1, timeout=WAIT_MS)
        fill_valid_order(new_order, qtbot, sandbox, "Placed from the dock")
        new_order.place_order()
        qtbot.waitUntil(lambda: new_order.last_order is not None, timeout=WAIT_MS)
        placed = new_order.last_order
        qtbot.waitUntil(lambda: placed.id in panel.model.row_of, timeout=WAIT_MS)
        assert cell(panel, placed.id, "name") == "Placed from the dock"
        settle(qtbot, panel)
    finally:
        _close(dock)
