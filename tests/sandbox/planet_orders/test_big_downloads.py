"""Big result files (the download benchmark's): served from disk in constant memory, whole and as the manifest says."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
import requests

from tests.conftest import SandboxServer
from tests.sandbox.planet_orders.test_orders_api import ITEM_A, Orders

PIXELS = 4500  # a 4500 x 2812 visual GeoTIFF: 38 MB


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


@pytest.fixture
def own_sandbox():
    """A sandbox of its own, so its memory is this test's alone."""
    server = SandboxServer()
    yield server
    server.stop()


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux's /proc to read peak memory")
def test_a_big_file_downloads_whole_as_the_manifest_says_without_the_sandbox_holding_it_in_memory(own_sandbox):
    sandbox = own_sandbox
    orders = Orders(sandbox.root, sandbox.api_key)
    sandbox.control("POST", "orders/raster-size", {"pixels": PIXELS})
    order = orders.create(products=[{"item_ids": [ITEM_A], "item_type": "PSScene", "product_bundle": "visual"}])
    sandbox.advance(3600)
    results = orders.get(order["id"])["_links"]["results"]
    tif = next(r for r in results if r["name"].endswith(".tif"))
    manifest_link = next(r for r in results if r["name"].endswith("manifest.json"))["location"]

    pid = sandbox.process.pid
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # the peak (VmHWM) starts again from what is in use now
    before_kb = _status_kb(pid, "VmRSS")
    digest, size = hashlib.md5(), 0
    with requests.get(tif["location"], stream=True, timeout=120) as download:
        assert download.status_code == 200
        announced = int(download.headers["Content-Length"])
        for chunk in download.iter_content(1 << 20):
            digest.update(chunk)
            size += len(chunk)
    manifest = requests.get(manifest_link, timeout=120).json()
    growth_mb = (_status_kb(pid, "VmHWM") - before_kb) / 1024

    assert size == announced > PIXELS * 2812 * 3  # the pixels and the header
    entry = next(f for f in manifest["files"] if tif["name"].endswith(f["path"]))
    assert entry["size"] == size and entry["digests"]["md5"] == digest.hexdigest()
    assert download.headers["ETag"] == f'"{digest.hexdigest()}"'
    print(f"sandbox peak growth {growth_mb:.1f} MB")
    assert growth_mb < 20, f"the sandbox grew by {growth_mb:.0f} MB serving a {size / 1e6:.0f} MB file"

    tail = requests.get(tif["location"], headers={"Range": f"bytes={size - 1000}-"}, timeout=60)
    assert tail.status_code == 206 and len(tail.content) == 1000
    assert tail.headers["Content-Range"] == f"bytes {size - 1000}-{size - 1}/{size}"
