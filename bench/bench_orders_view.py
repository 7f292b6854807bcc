"""Bench: how long the GUI thread is blocked while the Orders panel loads, refreshes and maps 10,000 orders from a sandbox."""

from __future__ import annotations

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from qgis.core import QgsApplication, QgsProject  # noqa: E402
from qgis.PyQt.QtCore import QCoreApplication, QElapsedTimer, QEvent, QTimer, qInstallMessageHandler  # noqa: E402

from core.services.planet_tasking.client import TaskingClient  # noqa: E402
from tests.conftest import SandboxServer  # noqa: E402 - also makes the repository importable as satellite_tasking
from ui.orders.panel import OrdersPanel  # noqa: E402

ORDERS = 10_000
TICK_MS = 10
TARGET_STALL_MS = 50.0
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
CAPTURE_HOURS = 30


def point(n: int) -> dict:
    return {"type": "Point", "coordinates": [round(-170 + (n * 7.3) % 340, 5), round(-60 + (n * 3.1) % 120, 5)]}


def fill(server: SandboxServer) -> float:
    """10,000 orders through POST /bulk/ (1000 per bulk), on the sandbox's simulated clock."""
    client = TaskingClient(server.tasking_url, server.api_key, timeout=120.0)
    started = time.perf_counter()
    for start in range(0, ORDERS, 1000):
        payloads = [{"name": f"bench {n:05d}", "geometry": point(n)} for n in range(start, start + 1000)]
        bulk_id = client.create_bulk(payloads, "CREATE", str(uuid.uuid4()))
        server.advance(30)
        status = client.get_bulk(bulk_id)
        assert status.is_complete and status.successful_payload_count == 1000, status
    assert client.list_orders(limit=1).count == ORDERS
    return time.perf_counter() - started


class TickRecorder:
    """A 10 ms QTimer on the main thread; the gaps between its ticks are how long the GUI thread was busy."""

    def __init__(self):
        self.clock = QElapsedTimer()
        self.last = None
        self.gaps = []
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)

    def start(self):
        self.clock.start()
        self.last = self.clock.nsecsElapsed()
        self.timer.start()

    def tick(self):
        now = self.clock.nsecsElapsed()
        self.gaps.append((now - self.last) / 1e6)
        self.last = now

    def stop(self):
        self.timer.stop()


def run_until_idle(panel, busy, scroll=False, limit=100.0):
    """Process events until `busy()` is false; (seconds, tick gaps, longest main-thread CPU burst in ms)."""
    recorder = TickRecorder()
    recorder.start()
    started = time.perf_counter()
    busiest = 0.0  # the main thread's own CPU time in one pass of the event loop (all callbacks in it)
    while busy():
        cpu = time.thread_time()
        QCoreApplication.processEvents()
        busiest = max(busiest, time.thread_time() - cpu)
        # Scroll as a user would, as soon as a page has arrived: the view asks the model for more at the end.
        if scroll and not panel.model.loading and panel.model.canFetchMore():
            panel.view.scrollToBottom()
            panel.model.fetchMore()
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"took more than {limit:.0f} s")
        time.sleep(0.001)
    recorder.stop()
    return time.perf_counter() - started, recorder.gaps, busiest * 1000


def one_run(server: SandboxServer, captures: int):
    """Load 10,000 orders (table paged to the end, map mirrored meanwhile), refresh them all, then rebuild
    the map alone (its layers removed, as a user might): each phase's seconds, gaps and CPU burst."""
    panel = OrdersPanel(lambda: TaskingClient(server.tasking_url, server.api_key, timeout=120.0), None,
                        auto_refresh=False, page_size=100)
    panel.resize(1100, 800)
    panel.show()
    panel.start()
    load = run_until_idle(panel, lambda: panel.model.total is None or len(panel.model.orders) < panel.model.total
                          or panel.busy(), scroll=True)
    panel.refresh_now()
    refresh = run_until_idle(panel, panel.busy)
    for layer in (panel.orders_layer, panel.captures_layer):
        QgsProject.instance().removeMapLayer(layer.id())
    panel.refresh_map()
    mirror = run_until_idle(panel, panel.busy)
    loaded = len(panel.model.orders)
    features = panel.orders_layer.featureCount()
    capture_features = panel.captures_layer.featureCount()
    panel.shutdown()
    for layer in (panel.orders_layer, panel.captures_layer):
        QgsProject.instance().removeMapLayer(layer.id())
    panel.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    assert loaded == ORDERS and features == ORDERS and capture_features == captures, (
        loaded, features, capture_features, captures)
    return {"load": load, "refresh": refresh, "map rebuild": mirror}


def summary(values):
    return f"min {min(values):.1f} / median {statistics.median(values):.1f} / max {max(values):.1f}"


def _quiet_offscreen(kind, context, message) -> None:
    # The offscreen platform warns once per shown window that it cannot propagate size hints: dozens of
    # identical lines between the figures. Anything else still reaches stderr.
    if "propagateSizeHints" not in message:
        sys.stderr.write(message + "\n")


def main() -> None:
    qInstallMessageHandler(_quiet_offscreen)
    app = QgsApplication([], True)
    app.initQgis()
    server = SandboxServer()
    # The real service runs elsewhere; here the sandbox shares this machine's cores, so it runs at the lowest
    # priority to keep the figures about the plugin's GUI thread rather than about the emulator's CPU use.
    os.setpriority(os.PRIO_PROCESS, server.process.pid, 19)
    print(f"{os.cpu_count()} CPU cores; the sandbox runs niced on the same machine")
    try:
        fill_seconds = fill(server)
        server.advance(CAPTURE_HOURS * 3600)  # acquisitions and publications: captures for the map
        client = TaskingClient(server.tasking_url, server.api_key, timeout=120.0)
        captures = client.list_captures(limit=1).count
        print(f"{ORDERS:,} orders made through the sandbox's bulk endpoint in {fill_seconds:.1f} s; "
              f"{captures:,} captures after {CAPTURE_HOURS} simulated hours")
        results = [one_run(server, captures) for _ in range(RUNS)]
        for phase in ("load", "refresh", "map rebuild"):
            worst = [max(r[phase][1]) for r in results]
            bursts = [r[phase][2] for r in results]
            seconds = [r[phase][0] for r in results]
            verdict = "meets" if max(worst) <= TARGET_STALL_MS else "MISSES"
            print(f"{phase:12s} ({RUNS} runs): {summary(seconds)} s; longest GUI-thread gap (ticks every {TICK_MS} ms) "
                  f"{summary(worst)} ms -> {verdict} the {TARGET_STALL_MS:.0f} ms target; longest main-thread CPU "
                  f"burst {summary(bursts)} ms")
        print("  load: the table paged to 10,000 rows while the map mirrors all 10,000 orders and their captures; "
              "refresh: the loaded window and the map read again (nothing changed); map rebuild: both layers "
              "removed, then made and filled again from the service.")
        print("Captures layer refresh (10,000 captures, 100 changed) vs rebuild: see bench/bench_layers.py, "
              "which measures exactly that.")
    finally:
        server.stop()
        app.exitQgis()


if __name__ == "__main__":
    main()
