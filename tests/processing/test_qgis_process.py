"""The provider through the real `qgis_process` binary: the plugin installed in a throw-away profile, the sandbox
URL from that profile's settings, `list` showing the provider and `run` writing a priced layer."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from qgis.core import QgsVectorLayer

from tests.plugin_package import REPO_ROOT

# The binary itself: /usr/bin/qgis_process is a wrapper script that adds Debian's QGIS_OPTS (--noversioncheck,
# an option of the desktop application that qgis_process refuses).
BINARY = shutil.which("qgis_process.bin") or shutil.which("qgis_process")

pytestmark = pytest.mark.skipif(BINARY is None, reason="qgis_process is not installed")


@pytest.fixture
def profile(tmp_path, sandbox):
    """A QGIS configuration folder whose default profile has the plugin enabled and the local sandbox switched on
    (its port: the test sandbox's), and a plugin folder holding `satellite_tasking` (a link to this tree)."""
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    (plugins / "satellite_tasking").symlink_to(REPO_ROOT, target_is_directory=True)
    config = tmp_path / "config"
    ini = config / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True)
    port = int(sandbox.root.rsplit(":", 1)[1])
    contract = next(a["default_pl_number"] for a in sandbox.control("GET", "accounts")["accounts"]
                    if a["api_key"] == sandbox.api_key)
    ini.write_text("[PythonPlugins]\nsatellite_tasking=true\n\n"
                   f"[satellite_tasking]\nuse_sandbox=true\nsandbox_port={port}\npl_number={contract}\n",
                   encoding="utf-8")
    env = {key: value for key, value in os.environ.items() if not key.startswith("QGIS_")}
    env.update(QT_QPA_PLATFORM="offscreen", QGIS_CUSTOM_CONFIG_PATH=str(config), QGIS_PLUGINPATH=str(plugins),
               SATELLITE_TASKING_BULK_JOURNAL=str(tmp_path / "journal.sqlite"))
    return env


def qgis_process(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([BINARY, *args], env=env, capture_output=True, text=True, timeout=300)


@contextmanager
def clock_running(sandbox):
    """The sandbox's clock at a simulated hour a second while qgis_process waits in real time; frozen again after."""
    sandbox.control("POST", "clock", {"speed": 3600})
    try:
        yield
    finally:
        sandbox.control("POST", "clock", {"speed": 0})


def killed_while_following(command: list, env: dict, sent, nothing_sent: str) -> subprocess.Popen:
    """`command` started with `env` and killed (SIGKILL) a second after `sent()` says its request reached the
    sandbox, so that it dies following it; the killed process. Fails with `nothing_sent` if the request never came."""
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not sent() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.2)
        assert sent(), process.communicate(timeout=30)[0] if process.poll() is not None else nothing_sent
        time.sleep(1.0)  # following it now
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
    return process


def json_answer(stdout: str) -> dict:
    """The JSON document qgis_process --json prints (QGIS may print lines of its own before it)."""
    return json.loads(stdout[stdout.index("{"):])


def strips_geojson(path: Path) -> None:
    """Two 20 km strips and a 1 km stub near Munich, in EPSG:4326 (GeoJSON's CRS)."""
    def line(name: str, lat: float, length_deg: float) -> dict:
        return {"type": "Feature", "properties": {"site": name},
                "geometry": {"type": "LineString", "coordinates": [[11.5, lat], [11.5 + length_deg, lat]]}}

    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        line("north strip", 48.3, 0.27), line("stub", 48.1, 0.013), line("east strip", 47.9, 0.3)]}),
        encoding="utf-8")


def test_qgis_process_lists_the_provider_and_prices_a_file_against_the_sandbox(profile, sandbox, tmp_path):
    listed = qgis_process(profile, "list")
    assert listed.returncode == 0, listed.stderr
    section = listed.stdout.split("Satellite Tasking", 1)
    assert len(section) == 2, listed.stdout
    for algorithm in ("price_aois", "create_orders_from_layer", "search_windows", "load_orders", "load_captures",
                      "edit_orders", "cancel_orders"):
        assert f"satellite_tasking:{algorithm}" in section[1]

    helped = qgis_process(profile, "help", "satellite_tasking:price_aois")
    assert helped.returncode == 0 and "1,000" in helped.stdout and "Example" in helped.stdout

    source, output = tmp_path / "strips.geojson", tmp_path / "priced.geojson"
    strips_geojson(source)
    sandbox.reset()
    ran = qgis_process(profile, "--json", "run", "satellite_tasking:price_aois", "--",
                       f"INPUT={source}", "NAME=\"site\"", f"OUTPUT={output}")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    results = json_answer(ran.stdout)["results"]
    assert results["PRICED"] == 2 and results["FAILED"] == 1
    priced = QgsVectorLayer(str(output), "priced", "ogr")
    rows = {f["site"]: f for f in priced.getFeatures()}
    assert rows["north strip"]["price"] > 0 and rows["east strip"]["price"] > 0
    assert rows["stub"]["price_error"] and not rows["stub"]["price"]
    # The settings' sandbox answered: one list-pricing request for the two valid strips.
    assert len([r for r in sandbox.requests_seen() if r["path"].endswith("/pricing/")]) == 1


def bulk_posts(sandbox) -> list:
    return [r for r in sandbox.requests_seen() if r["method"] == "POST" and r["path"].endswith("/bulk/")]


def sites_geojson(path: Path, count: int) -> None:
    """`count` points 0.2° apart near Munich, named "killed <n>"."""
    features = [{"type": "Feature", "properties": {"site": f"killed {n}"},
                 "geometry": {"type": "Point", "coordinates": [11.0 + 0.2 * n, 48.0]}} for n in range(count)]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), encoding="utf-8")


def test_a_qgis_process_killed_mid_run_is_resumed_by_the_next_run_without_losing_or_doubling(profile, sandbox,
                                                                                             tmp_path):
    from tests.integration.order_states import make_client

    source = tmp_path / "sites.geojson"
    sites_geojson(source, 4)
    arguments = [BINARY, "run", "satellite_tasking:create_orders_from_layer", "--", f"INPUT={source}",
                 "NAME=\"site\""]
    sandbox.reset()  # the clock stands still: the bulk is received but never finishes while the first run waits
    first = killed_while_following(arguments + [f"OUTPUT={tmp_path / 'first.geojson'}"], profile,
                                   lambda: bulk_posts(sandbox), "no bulk sent")
    assert first.returncode == -signal.SIGKILL

    with clock_running(sandbox):
        second = qgis_process(profile, "--json", *arguments[1:], f"OUTPUT={tmp_path / 'second.geojson'}")
    assert second.returncode == 0, second.stdout + second.stderr
    assert len(bulk_posts(sandbox)) == 1  # the killed run's bulk was followed, never sent again
    orders = [o for o in make_client(sandbox).iter_orders(page_size=100) if (o.name or "").startswith("killed ")]
    assert sorted(o.name for o in orders) == [f"killed {n}" for n in range(4)]
    results = json_answer(second.stdout)["results"]
    assert results["CREATED"] == 4 and set(results["ORDER_IDS"].split(",")) == {o.id for o in orders}
    written = QgsVectorLayer(str(tmp_path / "second.geojson"), "second", "ogr")
    assert {f["site"]: f["order_id"] for f in written.getFeatures()} == {o.name: o.id for o in orders}


def test_every_other_algorithm_runs_in_qgis_process(profile, sandbox, tmp_path):
    """Search imaging windows, Load orders, Load captures, Edit orders and Cancel orders headless, with the
    sandbox (and contract) from the profile's settings."""
    from datetime import timedelta

    from tests.integration.order_states import make_client, point

    sandbox.reset()
    client = make_client(sandbox)
    orders = [client.create_order({"name": f"headless {n}", "geometry": point(n)}) for n in range(2)]
    sandbox.advance(2 * 86400)

    def run_json(algorithm: str, *parameters: str) -> dict:
        ran = qgis_process(profile, "--json", "run", f"satellite_tasking:{algorithm}", "--", *parameters)
        assert ran.returncode == 0, algorithm + ": " + ran.stdout + ran.stderr
        return json_answer(ran.stdout)["results"]

    loaded = run_json("load_orders", "NAME_CONTAINS=headless", f"OUTPUT={tmp_path / 'orders.geojson'}")
    layer = QgsVectorLayer(str(tmp_path / "orders.geojson"), "orders", "ogr")
    assert loaded["COUNT"] == 2 and {f["id"] for f in layer.getFeatures()} == {o.id for o in orders}
    captured = run_json("load_captures", "NAME_CONTAINS=headless", f"OUTPUT={tmp_path / 'captures.geojson'}")
    assert captured["COUNT"] == len(list(client.iter_captures([o.id for o in orders])))

    sites = tmp_path / "sites.geojson"
    sites_geojson(sites, 1)
    with clock_running(sandbox):  # the search runs while qgis_process polls it
        windows = run_json("search_windows", f"INPUT={sites}", f"OUTPUT={tmp_path / 'windows.geojson'}")
    assert windows["WINDOWS"] > 0
    assert QgsVectorLayer(str(tmp_path / "windows.geojson"), "w", "ogr").featureCount() == windows["WINDOWS"]

    # Orders fresh enough to edit and cancel (the first two are fulfilled by now), their ids read from a file.
    orders = [client.create_order({"name": f"fresh {n}", "geometry": point(10 + n)}) for n in range(2)]
    run_json("load_orders", "NAME_CONTAINS=fresh", f"OUTPUT={tmp_path / 'fresh.geojson'}")
    end = (sandbox.now() + timedelta(days=40)).strftime("%Y-%m-%dT%H:%M:%S")
    edited = run_json("edit_orders", f"ORDERS={tmp_path / 'fresh.geojson'}", "ID_FIELD=id", "NEW_NAME=renamed",
                      f"END_TIME={end}", f"OUTPUT={tmp_path / 'edited.csv'}")
    assert edited["EDITED"] == 2, (tmp_path / "edited.csv").read_text()
    assert {client.get_order(o.id).name for o in orders} == {"renamed"}
    cancelled = run_json("cancel_orders", f"ORDER_IDS={orders[0].id}", f"OUTPUT={tmp_path / 'cancelled.csv'}")
    assert cancelled["CANCELLED"] == 1
    assert client.get_order(orders[0].id).status in ("CANCELLED", "PENDING_CANCELLATION")
    assert client.get_order(orders[1].id).status not in ("CANCELLED", "PENDING_CANCELLATION")
