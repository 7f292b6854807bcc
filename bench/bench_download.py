"""Downloading a 200 MB archive order through OrdersClient vs. curl on the same links: throughput ratio, memory."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run as `python bench/bench_download.py` from anywhere: the repository root holds `core` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import plugin_package  # noqa: E402

plugin_package.install()  # before any `core` import: the plugin's own modules, not a second copy

from core.http import ProxyConfig, QgisSession  # noqa: E402
from core.services.planet_orders.client import OrdersClient  # noqa: E402
from core.services.planet_orders.models import ArchiveOrder  # noqa: E402
from tests.sandbox_server import SandboxServer  # noqa: E402

# Two PSScene items of the analytic_udm2 bundle at 3170 x 1981 pixels: per item a 4-band 16-bit raster and
# an 8-band mask of 50 MB each, their metadata and the manifest; 201 MB in five files of any size.
ITEMS = ["20220304_093300_37_2430", "20220305_093440_25_2429"]
PIXELS = 3170
TARGET_RATIO = 0.9           # client throughput / curl's, at least
TARGET_GROWTH_MB = 50.0      # the client process's peak memory growth while downloading, at most
# Rounds alternate between the two ways so that a slow moment of the machine (the disk flushing what the
# last round wrote) hits both alike; the ratio is of the best round of each, the medians printed beside it.
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
PROFILE = bool(os.environ.get("BENCH_PROFILE"))  # BENCH_PROFILE=1: cProfile of one client download


def status_kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def make_order(sandbox: SandboxServer, client: OrdersClient) -> ArchiveOrder:
    sandbox.control("POST", "orders/raster-size", {"pixels": PIXELS})
    order = client.create_order({"name": "bench 200 MB", "products": [
        {"item_ids": ITEMS, "item_type": "PSScene", "product_bundle": "analytic_udm2"}]})
    sandbox.advance(3600)
    done = client.get_order(order.id)
    if done.state != "success":
        raise SystemExit(f"bench setup: the order ended {done.state}: {done.last_message}")
    return done


def through_client(client: OrdersClient, order: ArchiveOrder, folder: Path) -> int:
    report = client.download_results(order, folder)
    if report.verified != len(report.files) - 1:  # every file but the manifest checked against it
        raise SystemExit(f"the client verified {report.verified} of {len(report.files)} files")
    return sum(path.stat().st_size for path in report.files)


def through_curl(order: ArchiveOrder, folder: Path) -> int:
    """What the client is measured against: `curl -s -o file` per link, one after another."""
    written = 0
    for result in order.results:
        target = folder.joinpath(*result.name.split("/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(["curl", "-s", "-f", "--noproxy", "*", "-o", str(target), result.location], check=True)
        written += target.stat().st_size
    return written


def timed(function, *args) -> tuple:
    folder = Path(tempfile.mkdtemp(prefix="bench-download-"))
    try:
        started = time.perf_counter()
        written = function(*args, folder)
        return time.perf_counter() - started, written
    finally:
        shutil.rmtree(folder)


def main() -> int:
    if shutil.which("curl") is None:
        print("curl is not installed; skipped")
        return 0
    sandbox = SandboxServer()
    try:
        # A session without a proxy, like curl's --noproxy: the comparison is of the client's own work.
        client = OrdersClient(sandbox.root + "/compute/ops/", sandbox.api_key,
                              session=QgisSession(ProxyConfig(), timeout=60), sleep=sandbox.advance)
        order = make_order(sandbox, client)
        started = time.perf_counter()
        timed(through_client, client, order)  # the sandbox makes its files on the first download; not timed
        print(f"setup: the sandbox made the order's files in {time.perf_counter() - started:.1f} s")

        # Memory: the peak (VmHWM) is reset to what is in use now, then read after one whole download.
        growth_mb = None
        if Path("/proc/self/clear_refs").exists():
            Path("/proc/self/clear_refs").write_text("5")
            before_kb = status_kb("VmRSS")
            timed(through_client, client, client.get_order(order.id))
            growth_mb = (status_kb("VmHWM") - before_kb) / 1024

        if PROFILE:
            import cProfile
            import pstats
            profiler = cProfile.Profile()
            profiler.enable()
            timed(through_client, client, client.get_order(order.id))
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

        curl_s, client_s, size = [], [], 0
        for _ in range(ROUNDS):
            fresh = client.get_order(order.id)  # the same fresh links for both
            seconds, size = timed(through_curl, fresh)
            curl_s.append(seconds)
            seconds, written = timed(through_client, client, fresh)
            client_s.append(seconds)
            if written != size:
                raise SystemExit(f"the client wrote {written} bytes, curl {size}")
    finally:
        sandbox.stop()
    mb = size / 1e6
    curl_rate, client_rate = mb / min(curl_s), mb / min(client_s)
    ratio = client_rate / curl_rate
    median_ratio = statistics.median(curl_s) / statistics.median(client_s)
    print(f"curl -s -o, file by file: {curl_rate:.0f} MB/s ({mb:.0f} MB in {min(curl_s):.2f} s; best of {ROUNDS}, "
          f"median {statistics.median(curl_s):.2f} s)")
    print(f"OrdersClient.download_results (.part files, checked against the manifest as they arrive, renamed when whole): "
          f"{client_rate:.0f} MB/s ({min(client_s):.2f} s; median {statistics.median(client_s):.2f} s)")
    verdict = "OK" if ratio >= TARGET_RATIO else "UNDER TARGET"
    print(f"throughput client/curl: {ratio:.2f}x (target >= {TARGET_RATIO}x) {verdict}; ratio of medians "
          f"{median_ratio:.2f}x")
    memory_ok = growth_mb is None or growth_mb < TARGET_GROWTH_MB
    if growth_mb is None:
        print("client peak memory growth: not measured (it is read from Linux's /proc)")
    else:
        print(f"client peak memory growth during a {mb:.0f} MB download: {growth_mb:.1f} MB "
              f"(target < {TARGET_GROWTH_MB:g} MB) {'OK' if memory_ok else 'OVER TARGET'}")
    return 0 if ratio >= TARGET_RATIO and memory_ok else 1


if __name__ == "__main__":
    sys.exit(main())
