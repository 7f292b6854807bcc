"""The sandbox as a child process: found interpreter, free port, clock control, state kept across restarts, stopped."""

from __future__ import annotations

import json
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from core import sandbox_process
from core.sandbox_process import SandboxProcess

pytestmark = pytest.mark.usefixtures("qgis_app")
WAIT_MS = 30_000


def _start(qtbot, process: SandboxProcess) -> str:
    with qtbot.waitSignal(process.started, timeout=WAIT_MS) as started:
        assert process.start()
        assert process.is_starting()  # start() returned before the child announced its port
    return started.args[0]


def test_the_interpreter_found_is_a_python_that_runs_code():
    import subprocess

    python = sandbox_process.python_interpreter()
    assert python is not None and Path(python).name.lower().startswith("python")
    out = subprocess.run([python, "-c", "print(6 * 7)"], capture_output=True, text=True, timeout=30)
    assert out.stdout.strip() == "42"


def test_the_sandbox_ships_in_the_plugin_folder():
    assert sandbox_process.sandbox_available()


def test_its_database_is_in_the_qgis_profile():
    from qgis.core import QgsApplication

    assert sandbox_process.default_db_path().is_relative_to(Path(QgsApplication.qgisSettingsDirPath()))


def test_started_on_a_free_port_its_clock_is_controlled_and_stop_ends_the_process(qtbot, tmp_path):
    process = SandboxProcess(db_path=tmp_path / "sandbox.sqlite3")
    try:
        root = _start(qtbot, process)
        assert process.is_running() and root == f"http://127.0.0.1:{process.port}" and process.port != 8765
        clock = sandbox_process.read_clock(root)
        assert clock.speed == sandbox_process.DEFAULT_SPEED
        assert sandbox_process.set_clock_speed(root, 3600).speed == 3600
        time.sleep(0.3)
        # An hour per second: a third of a second moves the simulated clock by about twenty minutes.
        assert sandbox_process.read_clock(root).now - clock.now > timedelta(minutes=10)
        assert sandbox_process.set_clock_speed(root, 1).speed == 1
        moved = sandbox_process.read_clock(root).now
        reset = sandbox_process.reset_sandbox(root)
        assert reset.now < moved and reset.speed == 1
    finally:
        pid_process = process._process
        process.stop()
    assert pid_process is not None and pid_process.poll() is not None
    assert not process.is_running() and process.root_url is None


def _orders(root: str, method: str = "GET", body=None) -> dict:
    data = json.dumps(body).encode("utf-8") if body is not None else None
    request = urllib.request.Request(f"{root}/tasking/v2/orders/", data=data, method=method, headers={
        "Authorization": "api-key sandbox", "Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=10) as response:
        return json.loads(response.read().decode("utf-8"))


def test_orders_and_simulated_time_survive_a_restart(qtbot, tmp_path):
    db = tmp_path / "sandbox.sqlite3"
    process = SandboxProcess(db_path=db, speed=0)
    try:
        root = _start(qtbot, process)
        first = sandbox_process.read_clock(root).now
        created = _orders(root, "POST", {"name": "kept across restarts",
                                         "geometry": {"type": "Point", "coordinates": [10.0, 50.0]}})
        later = sandbox_process._control(root, "POST", "clock", {"advance_seconds": 86400})
        assert sandbox_process.parse_clock(later).now - first >= timedelta(days=1)
        process.stop()
        root = _start(qtbot, process)  # a new child (a new port), the same database
        assert sandbox_process.read_clock(root).now - first >= timedelta(days=1)
        assert created["id"] in [order["id"] for order in _orders(root)["results"]]
    finally:
        process.stop()


def test_a_plugin_folder_without_the_sandbox_fails_with_a_reason(qtbot, tmp_path):
    process = SandboxProcess(db_path=tmp_path / "sandbox.sqlite3", plugin_dir=tmp_path)
    with qtbot.waitSignal(process.failed, timeout=1000) as failed:
        assert not process.start()
    assert "not shipped" in failed.args[0] and not process.is_running()


def test_a_sandbox_that_exits_at_once_says_why(qtbot, tmp_path):
    # A database path that is a folder: the child cannot open it and exits; its last lines are the reason.
    folder = tmp_path / "db-is-a-folder"
    folder.mkdir()
    process = SandboxProcess(db_path=folder)
    with qtbot.waitSignal(process.failed, timeout=WAIT_MS) as failed:
        process.start()
    assert "exited" in failed.args[0] and not process.is_running()
