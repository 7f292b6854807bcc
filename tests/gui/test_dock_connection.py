"""The dock when the configured service cannot be reached: said once with the fix, and what it read of the
service (the sandbox's contract) is read again when it comes up."""

from __future__ import annotations

import socket

import pytest
from qgis.PyQt.QtCore import QCoreApplication, QEvent
from qgis.PyQt.QtWidgets import QPushButton

from core import settings
from tests.conftest import SandboxServer

pytestmark = pytest.mark.usefixtures("clean_settings")
WAIT_MS = 60_000


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def unreachable_entries(iface) -> list:
    return [item for item in iface.messageBar().items()
            if isinstance(item.widget(), QPushButton)
            and item.widget().objectName() == "startSandboxFromMessageButton"]


@pytest.fixture
def dock_on_port(qgis_iface, qtbot):
    """A dock configured for the local sandbox on a port where nothing runs yet, its Orders tab shown."""
    from satellite_tasking.ui.dock import TaskingDock

    port = free_port()
    settings.set_sandbox_port(port)
    settings.set_use_sandbox(True)
    qgis_iface.messageBar().clearWidgets()
    dock = TaskingDock(iface=qgis_iface)
    qtbot.addWidget(dock)
    dock.show()
    dock.tabs.setCurrentWidget(dock.orders_panel)
    yield dock, port
    dock.shutdown()
    dock.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_an_unreachable_sandbox_is_said_once_and_its_contract_is_read_when_it_comes_up(dock_on_port, qgis_iface,
                                                                                       qtbot):
    dock, port = dock_on_port
    panel = dock.orders_panel
    assert settings.pl_number() == ""

    # Nothing answers: one entry, however many calls fail (the orders tab's list, map, checks, its retries).
    qtbot.waitUntil(lambda: len(unreachable_entries(qgis_iface)) == 1, timeout=WAIT_MS)
    entry = unreachable_entries(qgis_iface)[0]
    assert "does not answer" in entry.text() and "not running" in entry.text()
    assert entry.widget().text() == "Start the local sandbox"
    qtbot.waitUntil(lambda: panel.retry_pending() is not None, timeout=WAIT_MS)
    dock.refresh()
    panel.refresh_button.click()
    qtbot.wait(1500)
    assert len(unreachable_entries(qgis_iface)) == 1

    # The sandbox comes up on that port (started from a terminal): the retry gets through, the entry goes
    # and the contract assured searches need is read now.
    server = SandboxServer(extra_args=["--port", str(port)])
    try:
        contract = next(a for a in server.control("GET", "accounts")["accounts"]
                        if a["api_key"] == settings.SANDBOX_API_KEY)["default_pl_number"]
        qtbot.waitUntil(lambda: settings.pl_number() == contract, timeout=WAIT_MS)
        assert unreachable_entries(qgis_iface) == []
        qtbot.waitUntil(lambda: panel.model.total is not None, timeout=WAIT_MS)
    finally:
        server.stop()

    # Gone again after it was reachable: said again, once.
    panel.refresh_button.click()
    qtbot.waitUntil(lambda: len(unreachable_entries(qgis_iface)) == 1, timeout=WAIT_MS)
    panel.refresh_button.click()
    qtbot.wait(1500)
    assert len(unreachable_entries(qgis_iface)) == 1

    # Its button starts the sandbox the plugin ships: the dock uses it, with its contract.
    unreachable_entries(qgis_iface)[0].widget().click()
    assert unreachable_entries(qgis_iface) == []
    qtbot.waitUntil(lambda: dock.sandbox.is_running(), timeout=WAIT_MS)
    assert settings.sandbox_port() == dock.sandbox.port
    qtbot.waitUntil(lambda: settings.pl_number() != "", timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.model.total is not None and not panel.busy(), timeout=WAIT_MS)
    assert unreachable_entries(qgis_iface) == []
