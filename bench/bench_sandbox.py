"""Benchmark of the sandbox: list 10,000 orders in pages of 1,000, and create 1,000 orders through one bulk."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
KEY = "bench"
ORDERS = 10_000
PAGE = 1_000
BULK = 1_000


def call(root: str, method: str, path: str, body: Any = None, key: Optional[str] = KEY) -> tuple:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"api-key {key}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(path if path.startswith("http") else root + path, data=data, method=method,
                                     headers=headers)
    with urllib.request.urlopen(request, timeout=120) as response:
        text = response.read()
        return response.status, (json.loads(text) if text else None), dict(response.headers)


def point_payloads(count: int, prefix: str) -> list:
    return [{"name": f"{prefix} {i}", "geometry": {"type": "Point", "coordinates": [-60 + (i % 1200) * 0.1,
                                                                                    -40 + (i // 1200) * 0.5]}}
            for i in range(count)]


def wait_bulk(root: str, location: str) -> float:
    began = time.perf_counter()
    while True:
        status = call(root, "GET", location)[1]
        if status["status"] == "COMPLETE":
            return time.perf_counter() - began
        # Simulated time moves only on demand here (speed 0): 1000 payloads take 20 simulated seconds.
        call(root, "POST", "/sandbox/clock", {"advance_seconds": 5}, key=None)


def main() -> int:
    process = subprocess.Popen(
        [sys.executable, "-m", "sandbox", "--port", "0", "--db", ":memory:", "--speed", "0", "--seed", "1",
         "--api-key", KEY], cwd=str(REPO_ROOT), stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        root = process.stdout.readline().split("Sandbox listening on ", 1)[1].strip()

        # Fill: 10 bulks of 1,000 (the fast way in), then time one bulk of 1,000 on its own.
        fill_began = time.perf_counter()
        for batch in range(ORDERS // BULK - 1):
            location = call(root, "POST", "/tasking/v2/bulk/", {"order_payloads": point_payloads(BULK, f"fill{batch}")})[2]["Location"]
            wait_bulk(root, location)
        fill_seconds = time.perf_counter() - fill_began

        began = time.perf_counter()
        status, _, headers = call(root, "POST", "/tasking/v2/bulk/", {"order_payloads": point_payloads(BULK, "timed")})
        accepted = time.perf_counter() - began
        assert status == 202
        wait_bulk(root, headers["Location"])
        bulk_seconds = time.perf_counter() - began
        payloads = call(root, "GET", headers["Location"] + "payloads/?limit=1000")[1]
        assert sum("order_id" in p for p in payloads["results"]) == BULK

        began = time.perf_counter()
        url, pages, seen = f"/tasking/v2/orders/?limit={PAGE}", 0, set()
        while url:
            body = call(root, "GET", url)[1]
            seen.update(o["id"] for o in body["results"])
            url, pages = body["next"], pages + 1
        list_seconds = time.perf_counter() - began
        assert len(seen) == ORDERS == body["count"], (len(seen), body["count"])

        began = time.perf_counter()
        for i in range(100):
            call(root, "POST", "/tasking/v2/orders/", point_payloads(1, f"single {i}")[0])
        single_seconds = (time.perf_counter() - began) / 100

        print(f"list {ORDERS} orders in {pages} pages of {PAGE}: {list_seconds:.3f} s "
              f"({list_seconds / pages * 1000:.1f} ms per page, {ORDERS / list_seconds:,.0f} orders/s)")
        print(f"bulk create {BULK} orders: accepted in {accepted * 1000:.1f} ms, complete in {bulk_seconds:.3f} s "
              f"({BULK / bulk_seconds:,.0f} orders/s)")
        print(f"single create (POST /orders/, {ORDERS} orders stored): {single_seconds * 1000:.2f} ms each; "
              f"bulk is {single_seconds * BULK / bulk_seconds:.1f}x faster per order than single creates")
        print(f"(setup: {ORDERS - BULK} orders through {ORDERS // BULK - 1} bulks in {fill_seconds:.2f} s)")
    finally:
        process.terminate()
        process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
