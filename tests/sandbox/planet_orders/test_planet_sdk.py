"""Planet's `planet` SDK 3.7 works unchanged against the sandbox: create, cancel, stats, wait, download, list, bulk.

The SDK needs httpx, cryptography and a newer `requests` than QGIS runs with, so it lives in its own
interpreter: set PLANET_SDK_PYTHON to a Python that has `planet==3.7.0` (e.g. a venv made for it).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

SDK_PYTHON = os.environ.get("PLANET_SDK_PYTHON")


@pytest.mark.skipif(not SDK_PYTHON, reason="PLANET_SDK_PYTHON (a Python with planet==3.7.0) is not set")
def test_the_planet_sdks_own_flow_passes(sandbox, tmp_path):
    script = Path(__file__).with_name("sdk_flow.py")
    # The SDK waits in real seconds: simulated time runs 30x for this test only (queued for 1 s, then ~4 s).
    sandbox.control("POST", "clock", {"speed": 30})
    try:
        finished = subprocess.run([SDK_PYTHON, str(script), sandbox.root, sandbox.api_key, str(tmp_path)],
                                  capture_output=True, text=True, timeout=120)
    finally:
        sandbox.control("POST", "clock", {"speed": 0})
    assert finished.returncode == 0, finished.stderr
    seen = json.loads(finished.stdout)
    order_id = seen["order_id"]
    assert seen["created"] == "queued" and seen["cancelled"] == "cancelled"
    assert seen["stats"]["user"]["queued_orders"] == 1
    assert seen["waited"] == "success"
    assert f"{order_id}/PSScene/20220304_093300_37_2430_3B_AnalyticMS_clip.tif" in seen["downloaded"]
    assert f"{order_id}/manifest.json" in seen["downloaded"]
    assert seen["checksums"] == "ok"
    assert seen["listed"] == ["sdk order", "to cancel"]
    assert seen["bulk_by_id"] == {"result": {"succeeded": {"count": 1}, "failed": {"count": 0, "failures": []}}}
    from qgis.core import QgsRasterLayer

    raster = tmp_path / order_id / "PSScene" / "20220305_093440_25_2429_3B_AnalyticMS_clip.tif"
    assert QgsRasterLayer(str(raster), "sdk").isValid()
