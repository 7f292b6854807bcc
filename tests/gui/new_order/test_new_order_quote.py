"""The quote box while the service fails: it says what is happening, asks again by itself, and clears on success."""

# ruff: noqa: F811 - the fixtures imported from test_order_panel are the tests' parameters
from __future__ import annotations

import re
import socket

import pytest

from core.services.planet_tasking.client import TaskingClient
from ui.new_order.panel import NewOrderPanel

from .test_order_panel import (  # noqa: F401 - fixtures
    WAIT_MS,
    Confirmations,
    api_requests,
    canvas,
    client_factory,
    draw_point,
    panel,
)

pytestmark = pytest.mark.usefixtures("clean_settings")


def test_while_the_service_asks_to_wait_the_quote_box_says_it_is_trying_again(panel, qtbot, sandbox):
    # One 503 with Retry-After: the client waits 2 s in the task and asks again (max_retries=1).
    sandbox.fault(path="pricing", kind="status", status=503, retry_after=2, count=1)
    # What the quote box says each time the panel is told of a wait (read right after the panel showed it).
    shown = []
    panel.quoting.waiting.connect(lambda _seconds: shown.append((panel.quote_label.text(), panel.quote_status.text())))
    draw_point(panel)
    assert panel.quote_label.text() == "Getting a quote…"
    settled(qtbot, panel)
    assert len(shown) == 1, (shown, api_requests(sandbox, "POST", "pricing"))
    label, status = shown[0]
    assert label == "Getting a quote…"
    assert re.fullmatch(r"Getting a quote… the service did not answer, trying again in [23] s", status), status
    assert "Estimated cost: 25.00 km² of quota" in panel.quote_label.text()
    assert panel.quote_status.text().startswith("Quoted at ")
    assert len(api_requests(sandbox, "POST", "pricing")) == 2


def settled(qtbot, panel) -> None:
    """Wait for the quote of the form as it stands; on a time-out, say what the quote box showed."""
    try:
        qtbot.waitUntil(panel.quote_is_current, timeout=WAIT_MS)
    except qtbot.TimeoutError:
        pytest.fail(f"no quote: label {panel.quote_label.text()!r}, status {panel.quote_status.text()!r}, "
                    f"error {panel.quote_error!r}, task {panel.quote_task!r}")


def test_a_failed_quote_is_asked_again_by_itself_and_its_error_clears_when_it_succeeds(panel, qtbot, sandbox):
    panel.quoting.retry_seconds = (0.5,)
    # Both tries of the first preview fail (the client retries once); the next, asked by itself, succeeds.
    sandbox.fault(path="pricing", kind="status", status=500, count=2)
    draw_point(panel)
    qtbot.waitUntil(lambda: panel.quote_error is not None, timeout=WAIT_MS)
    assert panel.quote_label.text().startswith("No quote: ")
    assert panel.quote_status.text() == "Trying again by itself in 1 s (or change the order to ask now)."
    settled(qtbot, panel)
    assert panel.quote_error is None and "No quote" not in panel.quote_label.text()
    assert "Estimated cost: 25.00 km² of quota" in panel.quote_label.text()
    assert len(api_requests(sandbox, "POST", "pricing")) == 3


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_could_not_connect_clears_as_soon_as_the_service_answers_without_an_edit(
        qgis_iface, qgis_new_project, canvas, qtbot, sandbox):
    # The service is not up at first (nothing listens on the URL), then it is.
    where = {"url": f"http://127.0.0.1:{_closed_port()}/tasking/v2/"}
    panel = NewOrderPanel(lambda: TaskingClient(where["url"], sandbox.api_key, max_retries=0), qgis_iface)
    qtbot.addWidget(panel)
    panel.confirm = Confirmations()
    panel.quoting.retry_seconds = (0.5, 2.0)
    panel.show()
    try:
        draw_point(panel)
        qtbot.waitUntil(lambda: "Could not connect" in panel.quote_label.text(), timeout=WAIT_MS)
        assert "Trying again by itself in 1 s" in panel.quote_status.text()
        # Still down at the next try: the error stays and the next wait is longer.
        qtbot.waitUntil(lambda: "Trying again by itself in 2 s" in panel.quote_status.text(), timeout=WAIT_MS)
        assert "Could not connect" in panel.quote_label.text()
        where["url"] = sandbox.tasking_url
        settled(qtbot, panel)
        assert "Could not connect" not in panel.quote_label.text()
        assert "Estimated cost: 25.00 km² of quota" in panel.quote_label.text() and panel.quote_error is None
        assert not panel.quoting.retry_pending()
    finally:
        panel.shutdown()
        qtbot.waitUntil(lambda: panel.quote_task is None or panel.quote_task.delivered, timeout=WAIT_MS)
