"""The sandbox as a child process: found interpreter, free port, clock control, state kept across restarts, stopped."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
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


# --- the watchdog: a sandbox the plugin started never outlives QGIS ---------------------------------

# A stand-in for QGIS: starts the sandbox exactly as the plugin does, says its pid and port, then waits to be killed.
_PARENT = """
import sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from tests import plugin_package
plugin_package.install()
from qgis.PyQt.QtCore import QCoreApplication
app = QCoreApplication([])
from core.sandbox_process import SandboxProcess
process = SandboxProcess(db_path=Path(sys.argv[2]))
assert process.start()
deadline = time.monotonic() + 30
while process.root_url is None and time.monotonic() < deadline:
    app.processEvents()
    time.sleep(0.05)
print(process.pid, process.port, flush=True)
time.sleep(600)
"""


def _alive(pid: int) -> bool:
    """Whether `pid` still runs (a zombie waiting for a reaper that never comes counts as gone)."""
    stat = Path(f"/proc/{pid}/stat")
    if stat.parent.parent.is_dir() and Path("/proc/self").exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
        except OSError:
            return False
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


# On Windows os.kill(pid, 0) would end the process it asks about; the watchdog itself needs no POSIX.
@pytest.mark.skipif(os.name == "nt", reason="looks at processes through /proc or signal 0")
def test_a_sandbox_whose_qgis_was_killed_exits_and_frees_its_port(tmp_path):
    repo = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, "-c", _PARENT, str(repo), str(tmp_path / "sandbox.sqlite3")],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, "QT_QPA_PLATFORM": "offscreen"})
    sandbox_pid = port = None
    try:
        line = parent.stdout.readline()
        assert line.strip(), parent.stderr.read()
        sandbox_pid, port = (int(part) for part in line.split())
        assert _alive(sandbox_pid) and _answers(port)
        parent.kill()  # QGIS crashes: no unload, no atexit, nothing runs in it any more
        parent.wait(10)
        deadline = time.monotonic() + 5
        while (_alive(sandbox_pid) or _answers(port)) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(sandbox_pid), "the sandbox outlived the QGIS that started it"
        assert not _answers(port), "the dead QGIS's sandbox still holds its port"
    finally:
        if parent.poll() is None:
            parent.kill()
        if sandbox_pid is not None and _alive(sandbox_pid):
            os.kill(sandbox_pid, 9)
        parent.stdout.close()
        parent.stderr.close()


def test_a_sandbox_started_by_hand_has_no_watchdog(tmp_path):
    # `make sandbox` / `python3 -m sandbox` from a script whose stdin is closed at once: it keeps serving.
    repo = Path(__file__).resolve().parents[2]
    child = subprocess.Popen([sys.executable, "-m", "sandbox", "--port", "0", "--db", ":memory:"], cwd=str(repo),
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, text=True)
    try:
        root = child.stdout.readline().split("Sandbox listening on ", 1)[1].strip()
        time.sleep(1.0)  # five times the interval the watchdog would have stopped it in
        assert child.poll() is None
        assert sandbox_process.read_clock(root).speed == 60.0
    finally:
        child.terminate()
        child.wait(10)
        child.stdout.close()


def test_stop_closes_the_childs_stdin_and_it_stops_by_itself(qtbot, tmp_path):
    process = SandboxProcess(db_path=tmp_path / "sandbox.sqlite3")
    _start(qtbot, process)
    child = process._process
    began = time.monotonic()
    process.stop()
    # Stopped through its watchdog (exit code 0, within the grace period), not terminated or killed.
    assert child.returncode == 0 and time.monotonic() - began < sandbox_process.GRACEFUL_STOP_S
