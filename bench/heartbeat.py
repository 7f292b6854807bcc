"""What the GUI benches share: a 10 ms heartbeat on the main thread whose gaps are how long the GUI was blocked."""

from __future__ import annotations

import statistics
import sys
import time

from qgis.PyQt.QtCore import QCoreApplication, QElapsedTimer, QEventLoop, QTimer

TICK_MS = 10


class TickRecorder:
    """A 10 ms QTimer on the main thread; the gaps between its ticks are how long the GUI thread was busy."""

    def __init__(self):
        self.clock = QElapsedTimer()
        self.last = None
        self.gaps = []
        self.ticks = []
        self.timer = QTimer()
        self.timer.setInterval(TICK_MS)
        self.timer.timeout.connect(self.tick)

    def start(self):
        self.clock.start()
        self.last = self.clock.nsecsElapsed()
        self.ticks.append(time.perf_counter())
        self.timer.start()

    def tick(self):
        now = self.clock.nsecsElapsed()
        self.gaps.append((now - self.last) / 1e6)
        self.ticks.append(time.perf_counter())
        self.last = now

    def stop(self):
        self.timer.stop()


def run_events(done, limit=120.0, begin=None, each_pass=None, settle=False):
    """Call `begin` (what starts the phase), then process events until `done()`; (seconds, tick gaps in ms,
    longest main-thread CPU burst in ms, tick times). The heartbeat starts before `begin`, so what it does at
    once counts as a gap like the rest. `each_pass` runs after every pass (a user scrolling, say); `settle`
    adds one more pass once done, for what the finished work hands on in the next events."""
    recorder = TickRecorder()
    recorder.start()
    started = time.perf_counter()
    busiest = 0.0  # the main thread's own CPU time in one pass of the event loop (all callbacks in it)
    if begin is not None:
        cpu = time.thread_time()
        begin()
        busiest = time.thread_time() - cpu
    while not done():
        cpu = time.thread_time()
        # Waits for the next event, as QGIS's own loop does (the heartbeat's tick comes within TICK_MS): 1 ms sleeps
        # between passes instead put up to a millisecond between a task's end and the main thread taking it.
        QCoreApplication.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        busiest = max(busiest, time.thread_time() - cpu)
        if each_pass is not None:
            each_pass()
        if time.perf_counter() - started > limit:
            raise RuntimeError(f"took more than {limit:.0f} s")
    if settle:
        QCoreApplication.processEvents()
    recorder.stop()
    recorder.ticks.append(time.perf_counter())
    return time.perf_counter() - started, recorder.gaps, busiest * 1000, recorder.ticks


def summary(values):
    return f"min {min(values):.1f} / median {statistics.median(values):.1f} / max {max(values):.1f}"


def quiet_offscreen(kind, context, message) -> None:
    # The offscreen platform warns once per shown window that it cannot propagate size hints: dozens of
    # identical lines between the figures. Anything else still reaches stderr.
    if "propagateSizeHints" not in message:
        sys.stderr.write(message + "\n")
