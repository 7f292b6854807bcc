"""Listing 10,000 archive orders through OrdersClient.iter_orders vs. a plain requests loop, as a ratio."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

# Run as `python bench/bench_archive_listing.py` from anywhere: the repository root holds `core` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import plugin_package  # noqa: E402

plugin_package.install()  # before any `core` import: the plugin's own modules, not a second copy

import requests  # noqa: E402
from ratios import alternate, print_ratio  # noqa: E402

from core.http import ProxyConfig, QgisSession  # noqa: E402
from core.services.planet_orders.client import OrdersClient  # noqa: E402
from tests.sandbox_server import SandboxServer  # noqa: E402

ORDER_COUNT = 10_000
PAGE_SIZE = 500  # the largest page the Orders API hands out (the sandbox's MAX_PAGE_SIZE)
TARGET_RATIO = 1.2
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "9"))  # alternating rounds of the two ways (bench/ratios.py)
PROFILE = bool(os.environ.get("BENCH_PROFILE"))  # BENCH_PROFILE=1: cProfile of one listing through the client
ITEMS = ["20220304_093300_37_2430", "20220305_093440_25_2429", "20220304_093257_90_2430"]


def fill(sandbox: SandboxServer) -> None:
    """10,000 orders the way a user makes them, one POST each (the Orders API has no bulk create), then an
    hour of simulated time so that they have finished and carry their results' links, as a real list does."""
    with requests.Session() as session:
        session.trust_env = False
        session.headers["Authorization"] = f"api-key {sandbox.api_key}"
        for n in range(ORDER_COUNT):
            body = {"name": f"bench archive {n:05d}",
                    "products": [{"item_ids": [ITEMS[n % 3]], "item_type": "PSScene",
                                  "product_bundle": "analytic_udm2" if n % 2 else "visual"}]}
            if n % 4 == 0:
                body["tools"] = [{"clip": {"aoi": {"type": "Polygon", "coordinates": [[
                    [6.33, 45.817], [6.341, 45.817], [6.341, 45.827], [6.33, 45.827], [6.33, 45.817]]]}}}]
            response = session.post(sandbox.root + "/compute/ops/orders/v2", json=body, timeout=60)
            if response.status_code != 202:
                raise SystemExit(f"bench setup: order {n} was refused: {response.text}")
    sandbox.advance(3600)


def plain_loop(url: str, api_key: str) -> int:
    """What the client is measured against: requests, the JSON of each page, follow `_links.next`."""
    listed = 0
    with requests.Session() as session:
        session.trust_env = False
        session.headers["Authorization"] = f"api-key {api_key}"
        next_url = f"{url}orders/v2?page_size={PAGE_SIZE}"
        while next_url:
            response = session.get(next_url, timeout=60)
            response.raise_for_status()
            page = response.json()
            listed += len(page["orders"])
            next_url = page["_links"].get("next")
    return listed


def through_client(url: str, api_key: str) -> int:
    # A session without a proxy, like the plain loop's: the comparison is of the client's own work.
    client = OrdersClient(url, api_key, session=QgisSession(ProxyConfig(), timeout=60))
    return sum(1 for _ in client.iter_orders(page_size=PAGE_SIZE))


def main() -> int:
    sandbox = SandboxServer()
    url = sandbox.root + "/compute/ops/"
    try:
        started = time.perf_counter()
        fill(sandbox)
        print(f"setup: {ORDER_COUNT} archive orders, one POST each, finished, in {time.perf_counter() - started:.1f} s")
        plain_loop(url, sandbox.api_key)  # warm both paths (imports, server caches)
        through_client(url, sandbox.api_key)
        if PROFILE:
            import cProfile
            import pstats
            profiler = cProfile.Profile()
            profiler.enable()
            through_client(url, sandbox.api_key)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("tottime").print_stats(20)
        rounds = alternate(plain_loop, through_client, (url, sandbox.api_key), rounds=ROUNDS, expected=ORDER_COUNT)
    finally:
        sandbox.stop()
    print(f"plain requests loop: {rounds.plain_best:.3f} s for {ORDER_COUNT} archive orders "
          f"({ORDER_COUNT // PAGE_SIZE} pages of {PAGE_SIZE}; best of {ROUNDS}, median {rounds.plain_median:.3f} s)")
    print(f"OrdersClient.iter_orders (typed ArchiveOrder objects, UTC datetimes, results): {rounds.client_best:.3f} s "
          f"(best of {ROUNDS}, median {rounds.client_median:.3f} s)")
    return print_ratio(rounds, TARGET_RATIO)


if __name__ == "__main__":
    sys.exit(main())
