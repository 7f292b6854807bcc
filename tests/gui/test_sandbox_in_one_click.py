"""Issue 14: "Try without an account" starts the sandbox the plugin ships, shows it and its clock, and unload stops it."""

from __future__ import annotations

import socket
import time

import pytest
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QComboBox, QLabel, QPushButton

from core import sandbox_process, settings
from core.services import registry
from core.tasks import active_tasks
from tests.gui.test_plugin import iface, load  # noqa: F401 - iface is a fixture

pytestmark = pytest.mark.usefixtures("clean_settings")
WAIT_MS = 30_000


@pytest.fixture
def profile_db(tmp_path, monkeypatch):
    """The sandbox's database where a fresh profile would have it, but in this test's own folder."""
    path = tmp_path / "profile" / "satellite_tasking" / "sandbox.sqlite3"
    monkeypatch.setattr(sandbox_process, "default_db_path", lambda: path)
    return path


def test_one_click_starts_the_shipped_sandbox_its_clock_is_controlled_and_unload_stops_it(iface, qtbot, profile_db):  # noqa: F811
    plugin = load(iface)
    child = None
    try:
        dock = plugin.dock
        plugin.dock_action.trigger()
        button = dock.findChild(QPushButton, "useSandboxButton")
        assert button.isVisible() and button.text() == "Try without an account"
        assert "Not configured" in dock.status_label.text() and not dock.content.isEnabled()

        clicked = time.monotonic()
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)
        # The click returns at once (the child announces its port later) and the dock says what happens.
        assert time.monotonic() - clicked < 0.5
        child = plugin.sandbox._process
        assert child is not None and child.poll() is None  # a real child process
        status = dock.findChild(QLabel, "sandboxStatusLabel")
        assert status.isVisibleTo(dock) and status.text() == "Starting the local sandbox…"
        qtbot.waitUntil(lambda: plugin.sandbox.is_running() and settings.use_sandbox(), timeout=WAIT_MS)

        port = plugin.sandbox.port
        root = plugin.sandbox.root_url
        assert settings.sandbox_port() == port
        assert f"http://127.0.0.1:{port}/tasking/v2/" in dock.status_label.text()
        assert dock.content.isEnabled() and not button.isVisible()
        qtbot.waitUntil(lambda: "simulated time" in status.text(), timeout=WAIT_MS)
        assert f"running on port {port}" in status.text()
        assert profile_db.exists()  # its orders are kept in the profile
        # The assured search's contract comes from the sandbox that was just started.
        qtbot.waitUntil(lambda: settings.pl_number().startswith("PL-"), timeout=WAIT_MS)

        # A client from the registry (what every panel uses) reaches it.
        client = registry.client_for()
        assert client is not None and client.base_url.startswith(f"{root}/")
        try:
            assert client.list_orders(limit=5) is not None
        finally:
            client.transport.session.close()

        # The speed choice sets the sandbox's clock.
        combo = dock.findChild(QComboBox, "sandboxSpeedCombo")
        assert combo.isEnabled() and combo.currentData() == sandbox_process.DEFAULT_SPEED
        fast = combo.findText("1 h/s")
        combo.setCurrentIndex(fast)
        combo.activated.emit(fast)
        qtbot.waitUntil(lambda: sandbox_process.read_clock(root).speed == 3600, timeout=WAIT_MS)
        qtbot.waitUntil(combo.isEnabled, timeout=WAIT_MS)
        qtbot.wait(300)  # a third of a second at an hour per second: twenty simulated minutes

        # Reset sets the clock back to its start.
        before = sandbox_process.read_clock(root).now
        reset = dock.findChild(QPushButton, "sandboxResetButton")
        qtbot.mouseClick(reset, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: sandbox_process.read_clock(root).now < before, timeout=WAIT_MS)
        qtbot.waitUntil(reset.isEnabled, timeout=WAIT_MS)

        real_time = combo.findText("Real time")
        combo.setCurrentIndex(real_time)
        combo.activated.emit(real_time)
        qtbot.waitUntil(lambda: sandbox_process.read_clock(root).speed == 1, timeout=WAIT_MS)
    finally:
        plugin.unload()
    # Unloading the plugin ended the child.
    assert child is not None and child.poll() is not None


def test_a_sandbox_started_elsewhere_still_works_by_url(iface, qtbot, sandbox):  # noqa: F811
    port = int(sandbox.root.rsplit(":", 1)[1])
    settings.set_sandbox_port(port)
    settings.set_use_sandbox(True)
    plugin = load(iface)
    try:
        dock = plugin.dock
        assert f"http://127.0.0.1:{port}/tasking/v2/" in dock.status_label.text() and dock.content.isEnabled()
        assert plugin.sandbox._process is None  # nothing started: the user's sandbox is used as is
        client = registry.client_for()
        assert client.base_url.startswith(f"http://127.0.0.1:{port}/")
        try:
            assert client.list_orders(limit=1) is not None
        finally:
            client.transport.session.close()
        # The user's sandbox answers: nothing else is offered.
        button = dock.findChild(QPushButton, "useSandboxButton")
        qtbot.wait(300)
        qtbot.waitUntil(lambda: not active_tasks(), timeout=WAIT_MS)
        assert not button.isVisibleTo(dock)
    finally:
        plugin.unload()


def test_a_sandbox_setting_nothing_answers_offers_to_start_the_plugins_own(iface, qtbot):  # noqa: F811
    with socket.socket() as probe:  # a port nothing listens on (QGIS restarted, the sandbox gone)
        probe.bind(("127.0.0.1", 0))
        settings.set_sandbox_port(probe.getsockname()[1])
    settings.set_use_sandbox(True)
    plugin = load(iface)
    try:
        button = plugin.dock.findChild(QPushButton, "useSandboxButton")
        qtbot.waitUntil(lambda: button.isVisibleTo(plugin.dock), timeout=WAIT_MS)
        assert button.text() == "Start the local sandbox"
    finally:
        plugin.unload()


def test_a_sandbox_that_cannot_start_says_why_and_changes_no_setting(qgis_iface, qtbot, tmp_path):
    from ui.dock import TaskingDock

    # A plugin folder without the sandbox (a broken install): the dock says so instead of a later "Task failed".
    broken = sandbox_process.SandboxProcess(db_path=tmp_path / "sandbox.sqlite3", plugin_dir=tmp_path)
    dock = TaskingDock(sandbox=broken)
    try:
        dock.sandbox_button.click()
        status = dock.findChild(QLabel, "sandboxStatusLabel")
        assert status.isVisibleTo(dock) and "not shipped" in status.text()
        assert dock.sandbox_button.isEnabled() and not settings.use_sandbox()
        assert "Not configured" in dock.status_label.text()
    finally:
        dock.shutdown()
        dock.deleteLater()
