"""The UP42 algorithms through the real `qgis_process` binary: listed with their help, an estimate written to a file,
and a place run killed while its first create waits for an answer, then run again: nothing lost, nothing doubled.
The profile has the local sandbox switched on, so UP42's login is the sandbox's own (never a parameter)."""

from __future__ import annotations

import json
import signal
import subprocess
import time
from pathlib import Path

from qgis.core import QgsVectorLayer

from tests.processing import test_qgis_process
from tests.processing.test_qgis_process import (
    BINARY,
    json_answer,
    profile,  # noqa: F401 - the throw-away profile fixture, shared
    qgis_process,
)
from tests.processing.test_up42_orders import creates, estimates, pleiades_params

pytestmark = test_qgis_process.pytestmark  # skipped where qgis_process is not installed


def sites_geojson(path: Path, names: list) -> None:
    """One point per name, 0.2° apart near Munich (EPSG:4326)."""
    features = [{"type": "Feature", "properties": {"site": name},
                 "geometry": {"type": "Point", "coordinates": [11.0 + 0.2 * n, 48.0]}} for n, name in enumerate(names)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")


def test_qgis_process_lists_the_up42_algorithms_and_estimates_a_file(profile, sandbox, tmp_path):  # noqa: F811
    listed = qgis_process(profile, "list")
    assert listed.returncode == 0, listed.stderr
    section = listed.stdout.split("Satellite Tasking", 1)[1]
    assert "satellite_tasking:up42_estimate_orders" in section and "satellite_tasking:up42_place_orders" in section
    helped = qgis_process(profile, "help", "satellite_tasking:up42_place_orders")
    assert helped.returncode == 0 and "Maximum credits" in helped.stdout and "Example" in helped.stdout
    assert "MAX_CREDITS" in helped.stdout and "PARAMS" in helped.stdout

    source, output = tmp_path / "sites.geojson", tmp_path / "estimated.geojson"
    sites_geojson(source, ["a", "b"])
    sandbox.reset()
    ran = qgis_process(profile, "--json", "run", "satellite_tasking:up42_estimate_orders", "--", f"INPUT={source}",
                       "PRODUCT=pleiades-analytic-tasking", f"PARAMS={json.dumps(pleiades_params(sandbox))}",
                       "NAME=\"site\"", f"OUTPUT={output}")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    results = json_answer(ran.stdout)["results"]
    written = QgsVectorLayer(str(output), "estimated", "ogr")
    credits = {f["site"]: f["credits"] for f in written.getFeatures()}
    assert results["ESTIMATED"] == 2 and credits["a"] > 0 and results["TOTAL_CREDITS"] == credits["a"] + credits["b"]
    assert len(estimates(sandbox)) == 1 and creates(sandbox) == []

    refused = qgis_process(profile, "run", "satellite_tasking:up42_estimate_orders", "--", f"INPUT={source}",
                           "PRODUCT=pleiades-analytic-tasking", "PARAMS={\"cloudCoverage\": ",
                           f"OUTPUT={tmp_path / 'never.geojson'}")
    assert refused.returncode != 0 and "not valid JSON" in refused.stdout + refused.stderr


def test_a_place_run_killed_mid_create_is_resumed_without_losing_or_doubling_an_order(profile, sandbox, tmp_path,  # noqa: F811
                                                                                      make_up42_client):
    source = tmp_path / "sites.geojson"
    names = [f"killed {n}" for n in range(4)]
    sites_geojson(source, names)
    sandbox.reset()
    params = json.dumps(pleiades_params(sandbox))
    arguments = [BINARY, "run", "satellite_tasking:up42_place_orders", "--", f"INPUT={source}",
                 "PRODUCT=pleiades-analytic-tasking", f"PARAMS={params}", "NAME=\"site\"", "MAX_CREDITS=10000000"]
    # The first create is made at once, its answer held back 30 s: the run is killed while it waits for it.
    sandbox.fault(path="^/v2/orders$", method="POST", kind="delay", delay_seconds=30, when="after", count=1)
    client = make_up42_client()

    def made() -> list:
        return [o for o in client.iter_orders(size=200) if (o.name or "").startswith("killed ")]

    process = subprocess.Popen(arguments + [f"OUTPUT={tmp_path / 'first.geojson'}"], env=profile,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not made() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert made(), process.communicate(timeout=30)[0] if process.poll() is not None else "no order made"
        time.sleep(1.0)
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    first = made()
    assert [o.name for o in first] == ["killed 0"]

    second = qgis_process(profile, "--json", *arguments[1:], f"OUTPUT={tmp_path / 'second.geojson'}")
    assert second.returncode == 0, second.stdout + second.stderr
    orders = made()
    assert sorted(o.name for o in orders) == names  # each once: the killed run's order was found, not sent again
    results = json_answer(second.stdout)["results"]
    assert results["PLACED"] == 4 and set(results["ORDER_IDS"].split(",")) == {o.id for o in orders}
    assert first[0].id in results["ORDER_IDS"].split(",")
    written = QgsVectorLayer(str(tmp_path / "second.geojson"), "second", "ogr")
    assert {f["site"]: f["order_id"] for f in written.getFeatures()} == {o.name: o.id for o in orders}
    assert "found after it was interrupted" in second.stdout
