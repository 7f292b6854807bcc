"""up42-py 4.3 works unchanged against the sandbox: login, glossary, schema, estimate, place, read, list,
cancel, feasibility, quotations accepted and rejected, track to FULFILLED.

up42-py needs Python 3.11+ and a newer `requests` than QGIS runs with, so it lives in its own interpreter:
UP42_SDK_PYTHON names a Python that has it (`make test` makes `.venv-up42` from requirements-up42.txt).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.sandbox.up42.helpers import PLEIADES

SDK_PYTHON = os.environ.get("UP42_SDK_PYTHON")


@pytest.mark.skipif(not SDK_PYTHON or not Path(SDK_PYTHON).exists(),
                    reason="UP42_SDK_PYTHON (a Python with up42-py==4.3.0) is not set or does not exist")
def test_up42_py_runs_its_own_flow_against_the_sandbox(sandbox):
    accounts = sandbox.control("GET", "up42/accounts")["accounts"]
    mine = next(a for a in accounts if a["password"] == sandbox.api_key)
    script = Path(__file__).with_name("sdk_flow.py")
    try:
        finished = subprocess.run([SDK_PYTHON, str(script), sandbox.root, mine["username"], mine["password"]],
                                  capture_output=True, text=True, timeout=120)
    finally:
        sandbox.control("POST", "clock", {"speed": 0})  # the flow speeds the clock up for track()
    assert finished.returncode == 0, finished.stderr
    seen = json.loads(finished.stdout)
    assert seen["workspace"] == mine["workspace_id"]
    assert seen["tasking_products"] >= 5
    assert "acquisitionStart" in seen["schema_required"]
    assert seen["estimate"]["unit"] == "SQ_KM" and seen["estimate"]["credits"] == round(seen["estimate"]["size"] * 1000)
    assert seen["placed"]["status"] == "CREATED" and seen["placed"]["workspace"] == mine["workspace_id"]
    assert seen["read_back"] == "sdk order"
    assert seen["bad_estimate"] == ["params.cloudCoverage: 150 is greater than the maximum of 100"]
    assert seen["bad_place"]["index"] == 0 and "params.cloudCoverage" in seen["bad_place"]["message"]
    assert seen["cancelled"] == "CANCELED"
    assert seen["listed"] == [["to cancel", "CANCELED", None],
                              ["to reject", "PLACED", "QUOTATION_WAITING_RESPONSE"],
                              ["sdk order", "PLACED", "QUOTATION_WAITING_RESPONSE"]]
    assert seen["quotation_before"] == {"decision": "NOT_DECIDED", "decided_at": None,
                                        "credits": seen["estimate"]["credits"]}
    assert seen["quotation_after"] == {"decision": "ACCEPTED", "decided": True}
    assert seen["rejected_order"] == "FAILED_PERMANENTLY"
    assert seen["study"] == {"decision": "ACCEPTED", "option": True}
    assert seen["neo"] == "QUOTATION_WAITING_RESPONSE"
    assert seen["tracked"] == "FULFILLED"
    reads = [r["status"] for r in sandbox.requests_seen() if r["path"] == f"/v2/orders/{seen['placed']['id']}"]
    assert reads[:3] == [200, 503, 200]  # placed and read; the fault, then the SDK's retry
    assert any(r["path"] == f"/orders/schema/{PLEIADES}" for r in sandbox.requests_seen())
