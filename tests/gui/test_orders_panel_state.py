"""The Orders tab tells the truth: errors clear when the service answers again, a failed load retries by itself."""

from __future__ import annotations

import socket
import time
from datetime import datetime, timedelta, timezone

import pytest
from qgis.core import QgsProject
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QMessageBox, QWidget

from core.services.planet_tasking.client import TaskingClient
from tests.integration.order_states import make_client, point, sim_now
from ui.orders.model import COLUMNS
from ui.orders.panel import OrdersPanel
from ui.orders.table import PRIORITY

WAIT_MS = 60_000


def settle(qtbot, panel, timeout=WAIT_MS):
    qtbot.waitUntil(lambda: not panel.busy(), timeout=timeout)


def dead_url() -> str:
    """A loopback URL where nothing listens (connection refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/tasking/v2"


@pytest.fixture
def switchable_panel(request, qgis_app, qgis_iface, qtbot, sandbox):
    """A panel whose service can be made unreachable and reachable again: `target["url"]`; shown by the test
    (a shown panel starts loading by itself). Either it lists tasking orders only, or Planet's archive orders
    too, from an Orders API that answers all along (another API: its answers say nothing of the tasking one)."""
    from core.services.planet_orders.client import OrdersClient

    target = {"url": dead_url()}
    archive = None
    if getattr(request, "param", "tasking only") == "archive answering":
        archive = lambda: OrdersClient(sandbox.root + "/compute/ops/", sandbox.api_key, timeout=10.0)  # noqa: E731
    panel = OrdersPanel(lambda: TaskingClient(target["url"], sandbox.api_key, timeout=10.0, max_retries=0), qgis_iface,
                        auto_refresh=False, now=lambda: sim_now(sandbox), archive_client_factory=archive)
    qtbot.addWidget(panel)
    panel.resize(900, 700)
    yield panel, target
    panel.shutdown()
    for layer in (panel.orders_layer, panel.captures_layer):
        if layer is not None and QgsProject.instance().mapLayer(layer.id()) is not None:
            QgsProject.instance().removeMapLayer(layer.id())


@pytest.mark.parametrize("switchable_panel", ["tasking only", "archive answering"], indirect=True)
def test_a_failed_load_says_when_it_retries_retries_by_itself_and_the_error_clears(sandbox, switchable_panel,
                                                                                   qtbot):
    client = make_client(sandbox)
    for n in range(3):
        client.create_order({"name": f"state {n}", "geometry": point(n)})
    total = client.list_orders(limit=1).count
    panel, target = switchable_panel

    panel.show()  # loads when first shown
    qtbot.waitUntil(lambda: panel.retry_pending() is not None, timeout=WAIT_MS)
    text = panel.message_label.text()
    assert panel.message_label.isVisible() and "Loading orders failed" in text and "Trying again in 5 s" in text
    due = (panel.retry_pending() - datetime.now(timezone.utc)).total_seconds()
    assert 2 < due <= 5.5
    assert f"(at {panel.retry_pending().astimezone():%H:%M:%S})" in text

    # The service comes up: the next try (by itself, no Refresh) loads, and the red line goes.
    target["url"] = sandbox.tasking_url
    started = time.monotonic()
    qtbot.waitUntil(lambda: panel.model.total == total, timeout=WAIT_MS)
    assert time.monotonic() - started < 8
    settle(qtbot, panel)
    assert panel.count_label.text().startswith(f"{total} of {total} orders loaded")
    assert panel.message_label.isHidden() and panel.message_label.text() == ""
    assert panel.retry_pending() is None

    # Down again: each failed try waits longer; Refresh tries at once, and clears everything when it works.
    target["url"] = dead_url()
    panel.apply_filters()
    qtbot.waitUntil(lambda: panel.retry_pending() is not None, timeout=WAIT_MS)
    assert "Trying again in 5 s" in panel.message_label.text()
    panel.refresh_button.click()
    qtbot.waitUntil(lambda: "Trying again in 10 s" in panel.message_label.text(), timeout=WAIT_MS)
    target["url"] = sandbox.tasking_url
    started = time.monotonic()
    panel.refresh_button.click()
    qtbot.waitUntil(lambda: panel.model.total == total, timeout=WAIT_MS)
    assert time.monotonic() - started < 5  # not after the 10 s the retry would have waited
    settle(qtbot, panel)
    assert panel.message_label.isHidden() and panel.retry_pending() is None, panel.message_label.text()

    # A closed panel stops retrying.
    target["url"] = dead_url()
    panel.apply_filters()
    qtbot.waitUntil(lambda: panel.retry_pending() is not None, timeout=WAIT_MS)
    panel.shutdown()
    assert panel.retry_pending() is None and not panel._retry_timer.isActive()


def test_saved_does_not_stay_after_the_order_is_cancelled(sandbox, switchable_panel, qtbot, monkeypatch):
    client = make_client(sandbox)
    order = client.create_order({"name": "saved then cancelled", "geometry": point(40),
                                 "start_time": (sim_now(sandbox) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")})
    panel, target = switchable_panel
    target["url"] = sandbox.tasking_url
    panel.name_filter.setText("saved then cancelled")
    panel.show()
    panel.start()
    settle(qtbot, panel)
    panel.select_orders([order.id])
    qtbot.waitUntil(lambda: panel.details.order is not None and panel.details.order.id == order.id, timeout=WAIT_MS)
    settle(qtbot, panel)
    panel.details.name_edit.setText("saved then cancelled, renamed")
    with qtbot.waitSignal(panel.orderSaved, timeout=WAIT_MS):
        panel.details.save_button.click()
    settle(qtbot, panel)
    assert panel.details.message_label.text() == "Saved."

    monkeypatch.setattr(QMessageBox, "question", lambda *args: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(panel.cancelFinished, timeout=WAIT_MS):
        panel.details.cancel_button.click()
    settle(qtbot, panel)
    assert client.get_order(order.id).status in ("PENDING_CANCELLATION", "CANCELLED")
    assert "Saved." not in panel.details.message_label.text()
    assert "cancelled" in panel.message_label.text()


def test_the_orders_tab_is_usable_400_px_wide(sandbox, switchable_panel, qtbot):
    client = make_client(sandbox)
    for n in range(30):
        client.create_order({"name": f"Narrow dock order with a longish name {n:02d}", "geometry": point(100 + n)})
    panel, target = switchable_panel
    target["url"] = sandbox.tasking_url
    panel.resize(400, 800)
    panel.show()
    panel.start()
    settle(qtbot, panel)
    # Nothing in the tab makes it wider (neither the filters unfolded nor the details).
    panel.filters_box.setCollapsed(False)
    assert panel.minimumSizeHint().width() <= 400, [(w.objectName() or type(w).__name__, w.minimumSizeHint().width())
                                                    for w in panel.findChildren(QWidget) if w.isVisible() and w.minimumSizeHint().width() > 300]
    panel.filters_box.setCollapsed(True)
    panel.resize(400, 800)
    qtbot.waitUntil(lambda: panel.width() == 400, timeout=5000)

    view = panel.view
    assert panel.model.rowCount() >= 20, (panel.message_label.text(), panel.count_label.text())
    assert not view.horizontalScrollBar().isVisible(), "the orders table scrolls sideways at 400 px"
    header = view.horizontalHeader()
    shown = [panel.model.headerData(c, Qt.Orientation.Horizontal) for c in range(header.count())
             if not header.isSectionHidden(c)]
    # The deciding columns stay (name and status, then the dates as far as there is room); the others go first.
    assert shown[:2] == ["Name", "Status"], shown
    by_priority = [COLUMNS[c].title for c in sorted(range(len(COLUMNS)), key=lambda c: PRIORITY.index(
        COLUMNS[c].attribute) if COLUMNS[c].attribute in PRIORITY else len(PRIORITY)) if COLUMNS[c].shown]
    assert sorted(shown) == sorted(by_priority[:len(shown)]), shown
    name_column = next(i for i, c in enumerate(COLUMNS) if c.attribute == "name")
    assert view.columnWidth(name_column) >= 10 * view.fontMetrics().averageCharWidth()
    # The status lines and the folded filters leave the table room for more than a handful of rows.
    rows = view.viewport().height() // view.verticalHeader().defaultSectionSize()
    assert rows >= 7, f"only {rows} rows visible"
    assert panel.filters_box.isCollapsed()
    panel.name_filter.setText("Narrow dock")
    assert panel.filters_box.title() == "Filters (1 active)"
    settle(qtbot, panel)
    assert not view.horizontalScrollBar().isVisible()

    # Wider again: the columns left out for room come back.
    panel.resize(1200, 800)
    qtbot.waitUntil(lambda: panel.width() == 1200, timeout=5000)
    wide = [COLUMNS[c].title for c in range(header.count()) if not header.isSectionHidden(c)]
    assert wide[:6] == ["Name", "Status", "Scheduling", "Start (UTC)", "End (UTC)", "Created (UTC)"], wide
    assert not view.horizontalScrollBar().isVisible()
