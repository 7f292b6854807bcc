"""Listing 10,000 orders through TaskingClient vs. a plain requests loop, as a ratio; and time to give up."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Run as `python bench/bench_client.py` from anywhere: the repository root holds `core` and `tests`.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests import plugin_package  # noqa: E402

plugin_package.install()  # before any `core` import: the plugin's own modules, not a second copy

import requests  # noqa: E402
from ratios import alternate, print_ratio  # noqa: E402

from core.errors import RequestTimeoutError  # noqa: E402
from core.http import ProxyConfig, QgisSession  # noqa: E402
from core.services.planet_tasking.client import TaskingClient  # noqa: E402
from tests.sandbox_server import SandboxServer  # noqa: E402

ORDER_COUNT = 10_000
PAGE_SIZE = 1000  # the largest page the service hands out (DRF's max limit in the sandbox)
BULK_SIZE = 1000
TARGET_RATIO = 1.2
ROUNDS = 7  # alternating rounds of the two ways (bench/ratios.py)


def fill(client: TaskingClient, sandbox: SandboxServer) -> None:
    """10,000 orders through the bulk endpoint, the simulated clock advanced so they are made at once."""
    for first in range(0, ORDER_COUNT, BULK_SIZE):
        payloads = [{"name": f"bench order {n}",
                     "geometry": {"type": "Point", "coordinates": [-170 + (n % 3400) * 0.1, -60 + (n // 3400) * 20]}}
                    for n in range(first, min(first + BULK_SIZE, ORDER_COUNT))]
        bulk_id = client.create_bulk(payloads)
        status = client.wait_bulk(bulk_id, poll=10.0, max_poll=30.0, timeout=3600)
        if status.failed_payload_count:
            failed = next(p for p in client.iter_bulk_payloads(bulk_id) if not p.ok)
            raise SystemExit(f"bench setup: {status.failed_payload_count} payloads failed, e.g. {failed.error}")
    count = client.count_orders()
    if count != ORDER_COUNT:
        raise SystemExit(f"bench setup: expected {ORDER_COUNT} orders, the sandbox has {count}")


def plain_loop(url: str, api_key: str) -> int:
    """What the client is measured against: requests, the JSON of each page, follow `next`."""
    listed = 0
    with requests.Session() as session:
        session.trust_env = False
        session.headers["Authorization"] = f"api-key {api_key}"
        next_url = f"{url}orders/?limit={PAGE_SIZE}"
        while next_url:
            response = session.get(next_url, timeout=60)
            response.raise_for_status()
            page = response.json()
            listed += len(page["results"])
            next_url = page["next"]
    return listed


def through_client(url: str, api_key: str) -> int:
    # A session without a proxy, like the plain loop's: the comparison is of the client's own work.
    client = TaskingClient(url, api_key, session=QgisSession(ProxyConfig(), timeout=60))
    return sum(1 for _ in client.iter_orders(page_size=PAGE_SIZE))


# The test suite checks that a held-back request ends in a RequestTimeoutError at the client's own
# timeout; how long that takes on this machine is a figure, printed here.
GIVE_UP_TIMEOUT = 0.3
GIVE_UP_DELAY = 1.5


def give_up_seconds(sandbox: SandboxServer) -> float:
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=lambda _s: None, timeout=GIVE_UP_TIMEOUT,
                           max_retries=0)
    sandbox.fault(path=r"^/tasking/v2/orders/$", method="GET", kind="delay", delay_seconds=GIVE_UP_DELAY, count=1)
    started = time.perf_counter()
    try:
        client.list_orders(limit=1)
    except RequestTimeoutError:
        return time.perf_counter() - started
    raise SystemExit("a request held back past the timeout was answered instead of timing out")


def main() -> int:
    sandbox = SandboxServer()
    try:
        setup_client = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sandbox.advance)
        started = time.perf_counter()
        fill(setup_client, sandbox)
        print(f"setup: {ORDER_COUNT} orders through {ORDER_COUNT // BULK_SIZE} bulks in "
              f"{time.perf_counter() - started:.1f} s")
        plain_loop(sandbox.tasking_url, sandbox.api_key)  # warm both paths (imports, server caches)
        through_client(sandbox.tasking_url, sandbox.api_key)
        rounds = alternate(plain_loop, through_client, (sandbox.tasking_url, sandbox.api_key), rounds=ROUNDS,
                           expected=ORDER_COUNT)
        give_up = give_up_seconds(sandbox)
    finally:
        sandbox.stop()
    print(f"plain requests loop: {rounds.plain_best:.3f} s for {ORDER_COUNT} orders ({ORDER_COUNT // PAGE_SIZE} "
          f"pages of {PAGE_SIZE}; best of {ROUNDS}, median {rounds.plain_median:.3f} s)")
    print(f"TaskingClient.iter_orders (typed Order objects, UTC datetimes): {rounds.client_best:.3f} s "
          f"(best of {ROUNDS}, median {rounds.client_median:.3f} s)")
    status = print_ratio(rounds, TARGET_RATIO)
    print(f"gave up on a request held back {GIVE_UP_DELAY:g} s after {give_up:.2f} s "
          f"(client timeout {GIVE_UP_TIMEOUT:g} s)")
    return status


if __name__ == "__main__":
    sys.exit(main())
