"""Bench: how long the GUI thread is blocked while the New order tab runs an imaging-window search on the shipped sandbox."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from qgis_profile import start_qgis, throwaway_profile

PROFILE = throwaway_profile("bench-window-search-")  # the bench must not read or write the user's settings

from heartbeat import TICK_MS, TickRecorder, quiet_offscreen, run_events, summary  # noqa: E402
from qgis.core import QgsCoordinateReferenceSystem, QgsGeometry, QgsPointXY  # noqa: E402
from qgis.gui import QgsMapCanvas  # noqa: E402
from qgis.PyQt.QtCore import QCoreApplication, QEvent, qInstallMessageHandler  # noqa: E402
from qgis.PyQt.QtWidgets import QMainWindow  # noqa: E402

from core import sandbox_process  # noqa: E402
from core.sandbox_process import SandboxProcess  # noqa: E402
from core.services.planet_tasking.client import TaskingClient  # noqa: E402
from core.services.planet_tasking.forms import ASSURED  # noqa: E402

# The issue: the GUI never stalls while the sandbox works; 50 ms is what every other GUI bench holds to.
TARGET_STALL_MS = 50.0
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
BERLIN = (13.405, 52.52)
API_KEY = "sandbox"  # the key the plugin's "Use local sandbox" stores


def run_until(done, limit: float = 120.0):
    """Process events until `done()`, and one more pass for what the finished search hands on (table,
    timeline); (seconds, tick gaps in ms, longest main-thread CPU burst in ms)."""
    return run_events(done, limit, settle=True)[:3]


def start_sandbox(db_path: Path) -> SandboxProcess:
    """The sandbox started exactly as the plugin's "Start the local sandbox" does (its clock at 1 min/s)."""
    process = SandboxProcess(db_path=db_path)
    if not process.start():
        raise RuntimeError("the sandbox could not be started")
    run_until(lambda: process.root_url is not None or not process.is_starting(), limit=60)
    if process.root_url is None:
        raise RuntimeError("the sandbox did not announce its port")
    return process


def new_order_panel(root: str, iface):
    from ui.new_order.panel import NewOrderPanel

    contract = sandbox_process._control(root, "GET", "accounts")["accounts"][0]["default_pl_number"]
    panel = NewOrderPanel(lambda: TaskingClient(root + "/tasking/v2/", API_KEY), iface)
    panel.resize(400, 1000)  # the dock width the issue asks the main flows to work at
    panel.show()
    panel.scheduling_combo.setCurrentIndex(panel.scheduling_combo.findData(ASSURED))
    panel.pl_number_edit.setText(contract)
    panel.set_aoi_geometry(QgsGeometry.fromPointXY(QgsPointXY(*BERLIN)), QgsCoordinateReferenceSystem("EPSG:4326"))
    return panel


def one_search(panel):
    """Click "Find imaging windows" and wait for the search to finish, its windows listed in the table."""
    if panel.aoi is None:
        raise RuntimeError("the AOI was not accepted")
    recorder = TickRecorder()
    recorder.start()
    began = time.perf_counter()
    panel.find_button.click()  # the click itself runs on the GUI thread: it is measured too
    click = (time.perf_counter() - began) * 1000
    seconds, gaps, burst = run_until(lambda: panel.search_task is None)
    recorder.stop()
    windows = panel.windows_proxy.rowCount()
    if panel.search is None or not panel.search.is_finished or windows == 0:
        raise RuntimeError(f"the search did not finish with windows: {panel.search_status.text()}")
    return seconds, max(gaps + recorder.gaps), burst, click, windows


def main() -> int:
    from pytest_qgis.mock_qgis_classes import MockMessageBar
    from pytest_qgis.qgis_interface import QgisInterface

    qInstallMessageHandler(quiet_offscreen)
    app = start_qgis(PROFILE, gui=True)
    window = QMainWindow()
    canvas = QgsMapCanvas(window)
    iface = QgisInterface(canvas, MockMessageBar(), window)
    process = start_sandbox(Path(PROFILE) / "sandbox.sqlite3")
    print(f"{os.cpu_count()} CPU cores; the sandbox runs as the plugin starts it (child process, clock at "
          f"{process.speed:g} simulated s per s) at {process.root_url}")
    panel = None
    try:
        panel = new_order_panel(process.root_url, iface)
        # The same loop with nothing to do, as long as a search: what this machine's load alone costs the
        # heartbeat (two cores shared with the sandbox and anything else running), to read the figures against.
        until = time.perf_counter() + 4.0
        idle = run_until(lambda: time.perf_counter() > until)
        runs = [one_search(panel) for _ in range(RUNS)]
        worst = [r[1] for r in runs]
        verdict = "meets" if max(worst) <= TARGET_STALL_MS else "MISSES"
        print(f"assured imaging-window search, 7 days at Berlin ({RUNS} runs, {summary([r[4] for r in runs])} "
              f"windows): {summary([r[0] for r in runs])} s until done")
        print(f"  longest GUI-thread gap (ticks every {TICK_MS} ms) {summary(worst)} ms -> {verdict} the "
              f"{TARGET_STALL_MS:.0f} ms target; longest main-thread CPU burst {summary([r[2] for r in runs])} ms; "
              f"the Find click itself {summary([r[3] for r in runs])} ms")
        print(f"  idle baseline (the same loop for 4 s, no search): longest gap {max(idle[1]):.1f} ms, longest "
              f"CPU burst {idle[2]:.1f} ms")
    finally:
        if panel is not None:
            panel.shutdown()
            run_until(lambda: panel.search_task is None, limit=10)
        process.stop()
        # The widgets go before QGIS does: deleted after exitQgis (when Python ends) they crashed the process.
        for widget in (panel, window):
            if widget is not None:
                widget.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
