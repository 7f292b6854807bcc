"""Bench: the Orders panel loading, refreshing and mapping 10,000 orders from a sandbox: its time against the raw HTTP of
the same pages, the GUI thread's longest block, and where the time goes (HTTP, parse, table model, layer writes)."""

from __future__ import annotations

import functools
import gc
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from tests import plugin_package  # noqa: E402

# Before any `core`/`ui` import, so they are the plugin's own modules (satellite_tasking.*) and not a second copy.
plugin_package.install()

from heartbeat import TICK_MS, quiet_offscreen, run_events, summary  # noqa: E402
from qgis.core import QgsApplication, QgsProject  # noqa: E402
from qgis.PyQt.QtCore import QCoreApplication, QEvent, qInstallMessageHandler  # noqa: E402

from core.services.planet_tasking.client import TaskingClient  # noqa: E402
from tests.sandbox_server import SandboxServer  # noqa: E402 - a sandbox without loading pytest into the QGIS measured
from ui.orders.panel import OrdersPanel  # noqa: E402

ORDERS = 10_000
# Issue #18's targets: the GUI thread never blocked over 33 ms; a load within 2x the raw HTTP of its pages; a
# refresh that finds nothing changed within 1.2x the "anything changed?" requests.
TARGET_STALL_MS = 33.0
TARGET_LOAD_RATIO = 2.0
TARGET_REFRESH_RATIO = 1.2
# ... and the plugin's resident memory growth per 10,000 features (orders and captures) at most this.
TARGET_MB_PER_10K = 25.0
PAGE = 100  # orders per page, the table's and the map's
# Quiet refreshes (and raw "anything changed?" pairs, alternating with them) per run, their medians compared: one
# ~20 ms sample is noise; a median of 7 still moved a run's ratio by 0.2-0.3, one of 15 by ~0.1 (1.06-1.25 for
# the same code on one day).
REFRESHES = 31
CAPTURE_IDS = 100  # order ids per captures request, as the map asks
RUNS = int(os.environ.get("BENCH_RUNS", "3"))
# BENCH_PROFILE=1: say what ran during each GUI-thread gap over PROFILE_GAP_MS (see Profiler).
PROFILE = bool(os.environ.get("BENCH_PROFILE"))
PROFILE_GAP_MS = 30.0
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


class Breakdown:
    """Seconds spent in each kind of work, summed over every thread (so they overlap each other and the wall
    time): HTTP (the requests, bodies read), JSON, parse (JSON to orders, captures, rows), features built in
    the workers, the table model (main thread), layer writes and making layers (main thread)."""

    KINDS = ("HTTP", "JSON", "parse", "features (workers)", "table model (main)", "layer writes (main)",
             "layers made (main)")

    def __init__(self):
        self.seconds = Counter()
        self.lock = threading.Lock()

    def wrap(self, owner, name, kind, classmethod_=False):
        original = getattr(owner, name)
        seconds, lock = self.seconds, self.lock

        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                spent = time.perf_counter() - started
                with lock:
                    seconds[kind] += spent

        functools.update_wrapper(timed, original)
        setattr(owner, name, classmethod(lambda cls, *a, **k: timed(*a, **k)) if classmethod_ else timed)

    def install(self):
        from core import http, layers
        from core.app import orders_mirror, orders_refresh
        from core.services.planet_tasking import models
        from ui.orders import model
        self.wrap(http.QgisSession, "request", "HTTP")
        self.wrap(http.HttpTransport, "_decode", "JSON")
        self.wrap(models.Order, "from_json", "parse", classmethod_=True)
        self.wrap(models.Capture, "from_json", "parse", classmethod_=True)
        self.wrap(orders_refresh, "pack_compact_orders", "parse")
        self.wrap(orders_refresh, "pack_orders", "parse")
        self.wrap(layers.PreparedFeatures, "build_features", "features (workers)")
        self.wrap(layers.PreparedFeatures, "build_geometries", "features (workers)")
        for name in ("append_page", "apply_refresh"):
            self.wrap(model.OrdersTableModel, name, "table model (main)")
        for name in ("_write_some", "_remove_orders", "_commit"):
            self.wrap(orders_mirror.OrdersMirror, name, "layer writes (main)")
        for name in ("ensure_layers", "_take_opened"):
            self.wrap(orders_mirror.OrdersMirror, name, "layers made (main)")

    def take(self):
        taken = dict(self.seconds)
        self.seconds.clear()
        # Full collections of the cycle collector since the last take: each holds the GIL 30-50 ms here.
        full = gc.get_stats()[2]["collections"]
        taken["full collections"], self.full = full - getattr(self, "full", full), full
        return taken


BREAKDOWN = Breakdown()


def raw_session(api_key: str):
    """A plain requests session sending `api_key` (the raw baselines' client)."""
    import requests

    session = requests.Session()
    session.headers["Authorization"] = f"api-key {api_key}"
    return session


def in_child(script: str, name: str, *args):
    """`name(*args)` of the bench `script`, run in a Python process of its own; its result (JSON). For what the
    bench does besides the plugin (making the orders, the raw HTTP baseline): in this process their parsed pages
    and payloads (35,000 lists and dicts a raw HTTP run) outlived the young collections into the old generation,
    and the full collections they brought on then fell in the plugin's measured load (a 59 ms gap)."""
    child = subprocess.run([sys.executable, script, "--child", name, json.dumps(args)], capture_output=True,
                           text=True, timeout=7200)
    if child.returncode != 0:
        raise RuntimeError(f"{name} failed in its process:\n{child.stderr[-3000:]}")
    return json.loads(child.stdout.strip().splitlines()[-1])


def run_child(names: dict) -> bool:
    """In a process in_child started: call what it asked for (one of `names`), print the result; else False."""
    if sys.argv[1:2] != ["--child"]:
        return False
    print(json.dumps(names[sys.argv[2]](*json.loads(sys.argv[3]))))
    return True


def fill_attached(root: str) -> float:
    """fill() on the sandbox at `root` (run by in_child)."""
    return fill(SandboxServer.attached(root))


def raw_http(server: SandboxServer, params: dict) -> dict:
    """The same pages the view reads, with a plain requests loop (raw_http_loop) in a process of its own (see
    in_child), as another client would: every order (the table's pages of PAGE) and the captures of every order
    (CAPTURE_IDS order ids a request). Seconds of each."""
    query = TaskingClient._listing_params(PAGE, 0, None, params.get("ordering"),
                                          {k: v for k, v in params.items() if k != "ordering"})
    return in_child(__file__, "raw_http_loop", server.tasking_url, server.api_key, query)


def raw_seconds(raw: dict) -> float:
    """The raw HTTP time a load is compared with: the mean of the reads just before and just after it."""
    return (raw["orders"] + raw["captures"] + raw["after"]["orders"] + raw["after"]["captures"]) / 2


def raw_http_loop(base_url: str, api_key: str, query: dict) -> dict:
    """raw_http's loop: the orders a page of PAGE at a time (`query` with its offset moved on), then their
    captures. Seconds of each."""
    session = raw_session(api_key)
    base = base_url.rstrip("/") + "/"
    timings = {}
    started = time.perf_counter()
    ids, offset = [], 0
    while True:
        page = session.get(base + "orders/", params={**query, "offset": str(offset)}, timeout=120).json()
        ids += [order["id"] for order in page["results"]]
        if not page.get("next") or not page["results"]:
            break
        offset += len(page["results"])
    timings["orders"] = time.perf_counter() - started
    started = time.perf_counter()
    for start in range(0, len(ids), CAPTURE_IDS):
        url, query = base + "captures/", {"order_id": ",".join(ids[start:start + CAPTURE_IDS]), "limit": "500"}
        while url:
            page = session.get(url, params=query, timeout=120).json()
            url, query = page.get("next"), None
    timings["captures"] = time.perf_counter() - started
    session.close()
    return timings


def raw_question(session, server: SandboxServer, probe_marks) -> float:
    """The "anything changed?" requests as the plugin asks them, with a plain requests loop, one after the
    other: the orders and the captures updated at or after the newest change, with the fields it compares
    (orders: the layer's; captures: all). Seconds."""
    from core.services.planet_tasking.layers import ORDER_FIELDS

    base = server.tasking_url.rstrip("/") + "/"
    orders_mark, captures_mark = probe_marks
    order_fields = ",".join(name for name, _ in ORDER_FIELDS)
    started = time.perf_counter()
    for path, mark, fields in (("orders/", orders_mark, order_fields), ("captures/", captures_mark, None)):
        query = {"limit": "2", "updated_time__gte": mark, **({"fields": fields} if fields else {})}
        assert session.get(base + path, params=query, timeout=120).json()["count"] >= 1
    return time.perf_counter() - started


def resident_mb() -> float:
    """This process's resident memory in MB (Linux's /proc; NaN where there is none). The sandbox runs in a
    process of its own, so this is QGIS with the plugin."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def cpu_seconds(pid: int) -> float:
    """CPU seconds (user and system) process `pid` has used so far (Linux's /proc; NaN where there is none): the
    sandbox's, to tell the service's share of a phase from the plugin's on this shared machine."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return float("nan")


def newest_marks(client) -> tuple:
    """The newest order and capture updated_time, as the service writes them (for the probe requests)."""
    from core.services.planet_tasking.models import format_time

    order = client.list_orders(limit=1, fields=["id", "updated_time"], ordering=["-updated_time"]).results[0]
    capture = client.list_captures(limit=1, fields=["id", "updated_time"], ordering=["-updated_time"]).results[0]
    return format_time(order.updated_time), format_time(capture.updated_time)


# Nested spans worth naming inside a gap (besides the outermost ones, the layer store's and gc's).
SHOWN = ("layers.apply_prepared", "layers._read_index", "layers.find_or_create_layer", "mirror._adopt_contents",
         "mirror._commit", "mirror._remove_orders", "layers.remove_features")


class Profiler:
    """Spans (name, start, end in perf_counter seconds) of the main-thread work that can block the GUI:
    the layer store, the mirror's steps, layer writes and cycle collections. A gap between two heartbeat
    ticks is attributed to the outermost spans inside it; what is left is "other" (Qt, the table, repaint)."""

    def __init__(self):
        self.spans = []
        self.slices = []
        self.depth = 0
        self.gc_started = None

    def wrap(self, owner, name, label=None):
        original = getattr(owner, name)
        label = label or f"{getattr(owner, '__name__', type(owner).__name__)}.{name}"
        profiler = self

        @functools.wraps(original)
        def timed(*args, **kwargs):
            profiler.depth += 1
            started, cpu = time.perf_counter(), time.thread_time()
            try:
                return original(*args, **kwargs)
            finally:
                profiler.depth -= 1
                profiler.spans.append((label, started, time.perf_counter(), profiler.depth))
                if label == "layers.apply_prepared":
                    # Features and CPU time of the slice, to tell a big slice from waiting for the GIL.
                    profiler.slices.append((started, len(args[1]), (time.thread_time() - cpu) * 1000))

        setattr(owner, name, timed)

    def wrap_worker(self, owner, name, label):
        """Spans of `name` wherever it runs (a worker's too), outside the main thread's nesting: a GeoPackage log
        copied by a worker can hold up the main thread's writes to the same file."""
        original, spans = getattr(owner, name), self.spans

        @functools.wraps(original)
        def timed(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                where = "" if threading.current_thread() is threading.main_thread() else " (worker)"
                spans.append((label + where, started, time.perf_counter(), 99))

        setattr(owner, name, timed)

    def on_gc(self, phase, info):
        # A collection holds the GIL whichever thread runs it, so a worker's stalls the GUI as much.
        where = "" if threading.current_thread() is threading.main_thread() else " (worker)"
        if phase == "start":
            self.gc_started = time.perf_counter()
        elif self.gc_started is not None:
            self.spans.append((f"gc gen{info['generation']}{where}", self.gc_started, time.perf_counter(), 99))
            self.gc_started = None

    def install(self):
        from core import layer_store, layers
        from core.app import orders_mirror
        for name in ("open_table", "_write_empty_table", "_has_table", "copy_table"):
            self.wrap(layer_store, name, f"layer_store.{name}")
        self.wrap_worker(layer_store, "checkpoint", "layer_store.checkpoint")
        for name in ("apply_prepared", "remove_features", "_read_index", "find_or_create_layer", "add_to_group",
                     "_fit_time_range", "apply_style" if hasattr(layers, "apply_style") else "create_layer"):
            self.wrap(layers, name, f"layers.{name}")
        for name in ("ensure_layers", "_adopt_contents", "_commit", "_remove_orders", "_plan", "_tick"):
            self.wrap(orders_mirror.OrdersMirror, name, f"mirror.{name}")
        gc.callbacks.append(self.on_gc)

    def attribute(self, ticks, phase):
        """ticks: perf_counter times of the heartbeat; print each long gap with what ran inside it."""
        lines = []
        totals = Counter()
        for before, after in zip(ticks, ticks[1:]):
            gap = (after - before) * 1000
            if gap <= PROFILE_GAP_MS:
                continue
            inside = Counter()
            for label, start, end, depth in self.spans:
                overlap = min(end, after) - max(start, before)
                if overlap > 0 and (depth in (0, 99) or label.startswith("layer_store") or label in SHOWN):
                    inside[label] += overlap * 1000
            desc = ", ".join(f"{label} {ms:.0f}" for label, ms in inside.most_common(6))
            writes = [(n, cpu) for start, n, cpu in self.slices if before <= start <= after]
            if writes:
                desc += "; slices (features, CPU ms): " + " ".join(f"{n}/{cpu:.0f}" for n, cpu in writes)
            lines.append(f"    {phase} gap {gap:.0f} ms: {desc}")
            totals.update({label: 1 for label in inside})
        return lines


PROFILER = Profiler() if PROFILE else None


def run_until_idle(panel, busy, scroll=False, limit=100.0, begin=None):
    """Call `begin` (what starts the phase), then process events until `busy()` is false; (seconds, tick
    gaps, longest main-thread CPU burst in ms, tick times). The heartbeat starts before `begin`, so what it
    does at once (making the layers, taking a reused table) counts as a gap like the rest."""
    def scroll_as_a_user_would():
        # As soon as a page has arrived: the view asks the model for more at the end.
        if not panel.model.loading and panel.model.canFetchMore():
            panel.view.scrollToBottom()
            panel.model.fetchMore()

    return run_events(lambda: not busy(), limit, begin, scroll_as_a_user_would if scroll else None)


def one_run(server: SandboxServer, captures: int):
    """Load 10,000 orders (table paged to the end, map mirrored meanwhile), refresh them all, then rebuild
    the map alone (its layers removed, as a user might): each phase's seconds, gaps and CPU burst."""
    panel = OrdersPanel(lambda: TaskingClient(server.tasking_url, server.api_key, timeout=120.0), None,
                        auto_refresh=False, page_size=PAGE)
    panel.resize(1100, 800)
    panel.show()
    sandbox_cpu = cpu_seconds(server.process.pid)
    raw = raw_http(server, panel.model.query.params())
    raw["sandbox CPU"] = cpu_seconds(server.process.pid) - sandbox_cpu
    marks = newest_marks(TaskingClient(server.tasking_url, server.api_key))
    BREAKDOWN.take()
    resident_before = resident_mb()
    sandbox_cpu, own_cpu = cpu_seconds(server.process.pid), time.process_time()
    load = run_until_idle(panel, lambda: panel.model.total is None or len(panel.model.orders) < panel.model.total
                          or panel.busy(), scroll=True, begin=panel.start)
    grown = resident_mb() - resident_before
    cpu = {"sandbox": cpu_seconds(server.process.pid) - sandbox_cpu, "QGIS": time.process_time() - own_cpu}
    # The raw pages again, now the load is over: the machine's pace drifts (the same loop took 3.5-6.1 s in
    # runs minutes apart), so the load is compared with the mean of one read just before and one just after it.
    raw["after"] = raw_http(server, panel.model.query.params())
    layer_features = panel.orders_layer.featureCount() + panel.captures_layer.featureCount()
    spent = {"load": BREAKDOWN.take()}
    # The plugin's quiet refreshes and the raw questions alternate, so both meet the same machine (one measured
    # before the load and one after differed by up to a fifth).
    session, refreshes, asked = raw_session(server.api_key), [], []
    raw_question(session, server, marks)  # its connection opened, as the plugin's are by the load
    for _ in range(REFRESHES):
        asked.append(raw_question(session, server, marks))
        refreshes.append(run_until_idle(panel, panel.busy, begin=panel.refresh_now))
    session.close()
    raw["probe"] = statistics.median(asked)
    refresh = (statistics.median(r[0] for r in refreshes), [gap for r in refreshes for gap in r[1]],
               max(r[2] for r in refreshes), refreshes[-1][3])  # the profiler reads one run's ticks
    spent["refresh"] = BREAKDOWN.take()
    for layer in (panel.orders_layer, panel.captures_layer):
        QgsProject.instance().removeMapLayer(layer.id())
    mirror = run_until_idle(panel, panel.busy, begin=panel.refresh_map)
    spent["map rebuild"] = BREAKDOWN.take()
    loaded = len(panel.model.orders)
    features = panel.orders_layer.featureCount()
    capture_features = panel.captures_layer.featureCount()
    panel.shutdown()
    for layer in (panel.orders_layer, panel.captures_layer):
        QgsProject.instance().removeMapLayer(layer.id())
    panel.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()
    if PROFILER is not None:
        for phase, measured in (("load", load), ("refresh", refresh), ("map rebuild", mirror)):
            for line in PROFILER.attribute(measured[3], phase):
                print(line)
        PROFILER.spans.clear()
        PROFILER.slices.clear()
    assert loaded == ORDERS and features == ORDERS and capture_features == captures, (
        loaded, features, capture_features, captures)
    return {"load": load, "refresh": refresh, "map rebuild": mirror, "raw": raw, "spent": spent,
            "MB per 10k": grown / max(layer_features, 1) * 10_000, "MB": grown, "cpu": cpu}


@contextmanager
def bench_session() -> Iterator[SandboxServer]:
    """QGIS up with the time breakdown (and, with BENCH_PROFILE, the profiler) installed, and a sandbox; both
    ended after the block. The orders-view benches start this way."""
    qInstallMessageHandler(quiet_offscreen)
    app = QgsApplication([], True)
    app.initQgis()
    BREAKDOWN.install()
    if PROFILER is not None:
        PROFILER.install()
    server = SandboxServer()
    # The real service runs elsewhere; here the sandbox shares this machine's cores, so it runs at the lowest
    # priority to keep the figures about the plugin's GUI thread rather than about the emulator's CPU use.
    os.setpriority(os.PRIO_PROCESS, server.process.pid, 19)
    print(f"{os.cpu_count()} CPU cores; the sandbox runs niced on the same machine (other work on it shows here)")
    try:
        yield server
    finally:
        server.stop()
        app.exitQgis()


def main() -> None:
    if run_child({"fill_attached": fill_attached, "raw_http_loop": raw_http_loop}):
        return
    with bench_session() as server:
        fill_seconds = in_child(__file__, "fill_attached", server.root)
        server.advance(CAPTURE_HOURS * 3600)  # acquisitions and publications: captures for the map
        client = TaskingClient(server.tasking_url, server.api_key, timeout=120.0)
        captures = client.list_captures(limit=1).count
        print(f"{ORDERS:,} orders made through the sandbox's bulk endpoint in {fill_seconds:.1f} s; "
              f"{captures:,} captures after {CAPTURE_HOURS} simulated hours")
        results = []
        for run in range(RUNS):
            result = one_run(server, captures)
            results.append(result)
            raw = result["raw"]
            print(f"run {run + 1}: raw HTTP orders {raw['orders']:.2f} s + captures {raw['captures']:.2f} s = "
                  f"{raw['orders'] + raw['captures']:.2f} s before the load, "
                  f"{raw['after']['orders'] + raw['after']['captures']:.2f} s after it (mean {raw_seconds(raw):.2f} s), "
                  f"'anything changed?' requests {raw['probe'] * 1000:.1f} ms; "
                  f"load {result['load'][0]:.2f} s, refresh {result['refresh'][0] * 1000:.1f} ms "
                  f"(median of {REFRESHES}), "
                  f"map rebuild {result['map rebuild'][0]:.2f} s; resident memory +{result['MB']:.0f} MB during the "
                  f"load ({result['MB per 10k']:.1f} MB per 10,000 features)")
            cpu = result["cpu"]
            print(f"    CPU seconds: the sandbox's {raw['sandbox CPU']:.2f} serving the raw HTTP, "
                  f"{cpu['sandbox']:.2f} serving the load; QGIS with the plugin {cpu['QGIS']:.2f} during the load "
                  f"(both on {os.cpu_count()} cores: {(cpu['sandbox'] + cpu['QGIS']) / result['load'][0]:.2f} of them busy)")
            for phase, spent in result["spent"].items():
                print(f"    {phase:11s} time spent (s, summed over threads): "
                      + ", ".join(f"{kind} {spent.get(kind, 0.0):.2f}" for kind in Breakdown.KINDS)
                      + f"; full collections {spent['full collections']}")
        print(f"With the sandbox on this machine's {os.cpu_count()} cores (other work on the machine shows in the figures):")
        for phase in ("load", "refresh", "map rebuild"):
            worst = [max(r[phase][1]) for r in results]
            bursts = [r[phase][2] for r in results]
            over = [sum(gap > TARGET_STALL_MS for gap in r[phase][1]) for r in results]
            seconds = [r[phase][0] for r in results]
            verdict = "meets" if max(worst) <= TARGET_STALL_MS else "MISSES"
            print(f"{phase:12s} ({RUNS} runs): {summary(seconds)} s; longest GUI-thread gap (ticks every {TICK_MS} ms) "
                  f"{summary(worst)} ms -> {verdict} the {TARGET_STALL_MS:.0f} ms target (gaps over it per run: "
                  f"{', '.join(map(str, over))}); longest main-thread CPU "
                  f"burst {summary(bursts)} ms")
        load_ratios = [r["load"][0] / raw_seconds(r["raw"]) for r in results]
        refresh_ratios = [r["refresh"][0] / r["raw"]["probe"] for r in results]
        for what, ratios, target in (("load / raw HTTP of its pages", load_ratios, TARGET_LOAD_RATIO),
                                     ("refresh (nothing changed) / 'anything changed?' requests", refresh_ratios,
                                      TARGET_REFRESH_RATIO)):
            verdict = "meets" if max(ratios) <= target else "MISSES"
            print(f"{what}: {summary(ratios)} (median {statistics.median(ratios):.2f}x) -> {verdict} the "
                  f"{target}x target")
        grown = [f"{r['MB per 10k']:.1f}" for r in results]
        # Neither figure is the (growth per 10,000 features over a 100,000-order load, one-time costs spread
        # thin): the first run pays what is made once, later runs reuse what the previous run freed.
        print(f"resident memory growth during the load per 10,000 features (orders and captures, table and layers), "
              f"per run: {', '.join(grown)} MB (target {TARGET_MB_PER_10K:.0f} MB, not judged here: the first run "
              f"also pays what is made once - GeoPackage driver, styles, caches - and later runs reuse what the "
              f"previous one freed)")
        print("  load: the table paged to 10,000 rows while the map mirrors all 10,000 orders and their captures; "
              "refresh: Refresh pressed with nothing changed (the table's window and the map ask whether anything "
              "changed); map rebuild: both layers removed, then made and filled again from the service. Raw HTTP: "
              "the orders once (pages of 100) and their captures, read with a plain requests loop in the same run, in "
              "a process of its own (as the orders are made: see in_child), just before and just after the load (the "
              "mean of the two).")
        print("Captures layer refresh (10,000 captures, 100 changed) vs rebuild: see bench/bench_layers.py, "
              "which measures exactly that.")


if __name__ == "__main__":
    main()
