"""The sandbox shipped with the plugin, run as a child process of QGIS: start, stop, and its simulated clock."""

from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import weakref
from collections import deque
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Deque, Dict, List, Optional

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from .log import get_logger

_log = get_logger("sandbox")

# The plugin folder: the sandbox package ships inside it (scripts/package.py puts `sandbox/` in the ZIP).
PLUGIN_DIR = Path(__file__).resolve().parent.parent
LISTENING = re.compile(r"Sandbox listening on (http://(\S+):(\d+))")
# The clock speeds the dock offers, in simulated seconds per real second (the sandbox's `speed`).
SPEEDS = (("Real time", 1.0), ("1 min/s", 60.0), ("1 h/s", 3600.0))
DEFAULT_SPEED = 60.0
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0
# How long a child is given to stop by itself once its stdin is closed (it checks every 0.2 s).
GRACEFUL_STOP_S = 1.0


def sandbox_available(plugin_dir: Path = PLUGIN_DIR) -> bool:
    """Whether the sandbox was shipped with this copy of the plugin."""
    return (plugin_dir / "sandbox" / "__main__.py").is_file()


def _looks_like_python(path: Path) -> bool:
    return path.name.lower().startswith("python") and path.is_file()


def python_interpreter() -> Optional[str]:
    """The Python QGIS runs, as a program that can run `-m sandbox`.

    Inside QGIS `sys.executable` is the qgis binary itself, so look where each platform keeps the
    interpreter QGIS embeds: Windows (OSGeo4W, the standalone installer) `apps/Python3x/python.exe`,
    which is `sys.exec_prefix`; macOS and Linux `<exec_prefix>/bin/python3.x`; Debian `/usr/bin/python3`.
    """
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    prefix = Path(sys.exec_prefix)
    candidates: List[Path] = [Path(sys.executable)]
    base = getattr(sys, "_base_executable", None)
    if base:
        candidates.append(Path(base))
    if os.name == "nt":
        candidates += [prefix / "python.exe", prefix / "python3.exe"]
    else:
        candidates += [prefix / "bin" / f"python{version}", prefix / "bin" / "python3"]
    for name in (f"python{version}", "python3", "python"):
        found = shutil.which(name)
        if found:
            candidates.append(Path(found))
    for candidate in candidates:
        if _looks_like_python(candidate):
            return str(candidate)
    return None


def default_db_path() -> Path:
    """The sandbox's database in the QGIS profile, so its orders survive a restart of QGIS."""
    return Path(QgsApplication.qgisSettingsDirPath()) / "satellite_tasking" / "sandbox.sqlite3"


# --- the control endpoints (loopback only; never through a proxy) ----------------------------------

def _control(root: str, method: str, path: str, body: Optional[Dict[str, Any]] = None,
             timeout: float = 5.0) -> Dict[str, Any]:
    data = json.dumps(body).encode("utf-8") if body is not None else None
    request = urllib.request.Request(f"{root.rstrip('/')}/sandbox/{path}", data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(request, timeout=timeout) as response:
        return json.loads(response.read().decode("utf-8"))


def parse_clock(answer: Dict[str, Any]) -> "ClockReading":
    now = datetime.fromisoformat(str(answer["now"]).replace("Z", "+00:00"))
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    return ClockReading(now, float(answer["speed"]))


class ClockReading:
    """The sandbox's simulated time when it was read, and how fast it runs: enough to show it ticking
    without asking the sandbox again every second."""

    def __init__(self, now: datetime, speed: float, read_at: Optional[float] = None):
        self.now = now
        self.speed = speed
        self.read_at = time.monotonic() if read_at is None else read_at

    def current(self) -> datetime:
        return self.now + timedelta(seconds=(time.monotonic() - self.read_at) * self.speed)


def read_clock(root: str, timeout: float = 5.0) -> ClockReading:
    """GET /sandbox/clock (blocking: call it in a task)."""
    return parse_clock(_control(root, "GET", "clock", timeout=timeout))


def set_clock_speed(root: str, speed: float, timeout: float = 5.0) -> ClockReading:
    """POST /sandbox/clock with a new speed (simulated seconds per real second); blocking."""
    return parse_clock(_control(root, "POST", "clock", {"speed": float(speed)}, timeout=timeout))


def reset_sandbox(root: str, timeout: float = 10.0) -> ClockReading:
    """POST /sandbox/reset: no orders, captures or searches, the clock back to its start; blocking."""
    return parse_clock(_control(root, "POST", "reset", {}, timeout=timeout))


# --- the child process ------------------------------------------------------------------------------

def _close_quietly(stream: Any) -> None:
    if stream is None:
        return
    try:
        stream.close()
    except OSError:  # the child already gone: the pipe is broken
        pass


# Every sandbox this session started, so an interpreter exit that skipped unload still ends them.
_LIVE: "weakref.WeakSet[SandboxProcess]" = weakref.WeakSet()


@atexit.register
def _stop_all_at_exit() -> None:
    for process in list(_LIVE):
        process.stop()


class SandboxProcess(QObject):
    """One local sandbox run as a child process on a free port.

    `start()` returns at once: a reader thread waits for the "Sandbox listening on …" line and a timer
    on the main thread hands it over, so the GUI never waits for the child. Signals (main thread only):
    `started(root_url)`, `failed(reason)`, `stopped()`.
    """

    started = pyqtSignal(str)
    failed = pyqtSignal(str)
    stopped = pyqtSignal()

    def __init__(self, db_path: Optional[Path] = None, speed: float = DEFAULT_SPEED,
                 plugin_dir: Path = PLUGIN_DIR, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.db_path = db_path
        self.speed = speed
        self.plugin_dir = plugin_dir
        self.root_url: Optional[str] = None
        self.port: Optional[int] = None
        self._process: Optional[subprocess.Popen] = None
        self._output: Deque[str] = deque(maxlen=20)
        self._announced: Optional[str] = None
        self._started_at = 0.0
        self._reported = False
        # Polls what the reader thread saw; signals are emitted here, on the main thread.
        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._poll)

    # state

    def is_running(self) -> bool:
        """Started and announced its port, and still alive."""
        return self.root_url is not None and self._process is not None and self._process.poll() is None

    def is_starting(self) -> bool:
        return self._process is not None and self.root_url is None and self._process.poll() is None

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process is not None else None

    # start / stop

    def command(self) -> List[str]:
        python = python_interpreter()
        if python is None:
            raise RuntimeError("No Python interpreter found to run the sandbox with.")
        db = self.db_path or default_db_path()
        db.parent.mkdir(parents=True, exist_ok=True)
        # -B: never write bytecode into the installed plugin's folder. --exit-on-stdin-eof: the watchdog;
        # we hold the child's stdin open, so when QGIS is gone (even killed) it reads EOF and exits.
        return [python, "-B", "-m", "sandbox", "--port", "0", "--host", "127.0.0.1",
                "--db", str(db), "--speed", repr(float(self.speed)), "--exit-on-stdin-eof"]

    def start(self) -> bool:
        """Start the sandbox unless it runs or is starting; False when it cannot be started (`failed` says why)."""
        if self.is_running() or self.is_starting():
            return True
        self._reset_state()
        if not sandbox_available(self.plugin_dir):
            self._fail(f"The sandbox is not shipped in {self.plugin_dir}.")
            return False
        try:
            command = self.command()
            env = dict(os.environ)
            env["PYTHONUNBUFFERED"] = "1"
            flags = getattr(subprocess, "CREATE_NO_WINDOW", 0) if os.name == "nt" else 0
            self._process = subprocess.Popen(
                command, cwd=str(self.plugin_dir), env=env, stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, encoding="utf-8",
                errors="replace", creationflags=flags,
            )
        except (OSError, RuntimeError) as error:
            self._fail(f"The sandbox could not be started: {error}")
            return False
        _log.info("Starting the local sandbox: %s", " ".join(command))
        _LIVE.add(self)
        self._started_at = time.monotonic()
        threading.Thread(target=self._read_output, args=(self._process,), name="sandbox-output",
                         daemon=True).start()
        self._timer.start()
        return True

    def stop(self, timeout: float = STOP_TIMEOUT_S) -> None:
        """Close the child's stdin (its watchdog stops it cleanly, on any OS), terminate it if it has not
        stopped after a second, kill it if it has not after `timeout` s more."""
        process, self._process = self._process, None
        self._timer.stop()
        was_known = self.root_url is not None
        self.root_url = self.port = None
        _LIVE.discard(self)
        if process is None:
            return
        _close_quietly(process.stdin)
        if process.poll() is None:
            try:
                process.wait(GRACEFUL_STOP_S)
            except subprocess.TimeoutExpired:
                # Why terminate too: a child that never got as far as starting its watchdog.
                process.terminate()
                try:
                    process.wait(timeout)
                except subprocess.TimeoutExpired:
                    _log.warning("The local sandbox did not stop in %s s; killing it", timeout)
                    process.kill()
                    process.wait(timeout)
        _log.info("Local sandbox stopped (exit code %s)", process.returncode)
        if was_known:
            try:
                self.stopped.emit()
            except RuntimeError:  # the QObject is already gone (interpreter exit)
                pass

    # internals

    def _reset_state(self) -> None:
        self.root_url = self.port = None
        self._announced = None
        self._output.clear()
        self._reported = False

    def _read_output(self, process: subprocess.Popen) -> None:
        """Reader thread: remember the announced URL and the last lines (for an error message); reads to
        the end so the child never blocks on a full pipe."""
        stream = process.stdout
        if stream is None:
            return
        try:
            for line in stream:
                line = line.rstrip()
                self._output.append(line)
                match = LISTENING.search(line)
                if match and self._announced is None:
                    self._announced = match.group(1)
        except (OSError, ValueError):
            pass
        finally:
            stream.close()

    def _poll(self) -> None:
        process = self._process
        if process is None:
            self._timer.stop()
            return
        if self.root_url is None and self._announced is not None:
            self.root_url = self._announced
            self.port = int(self._announced.rsplit(":", 1)[1])
            _log.info("Local sandbox running at %s", self.root_url)
            self.started.emit(self.root_url)
            return
        code = process.poll()
        if code is not None:
            _close_quietly(process.stdin)
            self._process = None
            self._timer.stop()
            _LIVE.discard(self)
            was_running = self.root_url is not None
            self.root_url = self.port = None
            output = " / ".join(line for line in self._output if line)[-500:]
            self._fail(f"The local sandbox exited (code {code}){': ' + output if output else ''}.")
            if was_running:
                self.stopped.emit()
            return
        if self.root_url is None and time.monotonic() - self._started_at > START_TIMEOUT_S:
            self.stop()
            self._fail(f"The local sandbox did not start within {START_TIMEOUT_S:.0f} s.")

    def _fail(self, reason: str) -> None:
        _log.warning("%s", reason)
        self.failed.emit(reason)
