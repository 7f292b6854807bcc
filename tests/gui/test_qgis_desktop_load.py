"""The real QGIS desktop under Xvfb: the plugin, deployed into a fresh profile and enabled, loads cleanly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
STARTUP_CHECK = Path(__file__).with_name("qgis_startup_check.py")
ERROR_TRAP = Path(__file__).with_name("qgis_error_trap.py")
# Where the screenshot and report stay after the run, for a human to look at (ignored by git).
OUTPUT_DIR = REPO_ROOT / "test-output"
TIMEOUT = 240

pytestmark = pytest.mark.skipif(
    shutil.which("qgis") is None or shutil.which("xvfb-run") is None,
    reason="the qgis desktop binary or xvfb-run is not installed (make test installs both)",
)


def make_profile(profiles_path: Path, profile: str) -> None:
    """The same throwaway profile `make demo` uses: plugin deployed and enabled."""
    subprocess.run(
        ["/usr/bin/python3", str(REPO_ROOT / "scripts" / "package.py"), "profile",
         "--profiles-path", str(profiles_path), "--profile", profile],
        check=True, capture_output=True, text=True,
    )


def run_qgis(profiles_path: Path, result: Path, screenshot: Path, errors: Path) -> subprocess.CompletedProcess:
    env = dict(
        os.environ, ST_RESULT=str(result), ST_SCREENSHOT=str(screenshot), ST_ERRORS=str(errors),
        PYQGIS_STARTUP=str(ERROR_TRAP),
    )
    # The desktop needs a (virtual) display, not the offscreen platform the widget tests use.
    env.pop("QT_QPA_PLATFORM", None)
    command = [
        "xvfb-run", "-a", "-s", "-screen 0 1280x800x24",
        "qgis", "--profiles-path", str(profiles_path), "--profile", "test",
        "--nologo", "--noversioncheck", "--code", str(STARTUP_CHECK),
    ]
    # A new session, so that on timeout the whole group (xvfb-run, Xvfb, qgis) can be ended together.
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    try:
        output, _ = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        output, _ = process.communicate()
        pytest.fail(f"QGIS did not finish within {TIMEOUT}s; its output:\n{output}")
    return subprocess.CompletedProcess(command, process.returncode, output, None)


def test_plugin_loads_unloads_and_reloads_in_qgis_desktop(tmp_path):
    profiles = tmp_path / "profiles-root"
    make_profile(profiles, "test")
    deployed = profiles / "profiles" / "test" / "python" / "plugins" / "satellite_tasking"
    assert (deployed / "metadata.txt").is_file() and not (deployed / "tests").exists()

    OUTPUT_DIR.mkdir(exist_ok=True)
    result_file = tmp_path / "result.json"
    screenshot = OUTPUT_DIR / "qgis_desktop_load.png"
    screenshot.unlink(missing_ok=True)
    errors = tmp_path / "python_errors.txt"
    run = run_qgis(profiles, result_file, screenshot, errors)
    assert result_file.exists(), f"QGIS exited ({run.returncode}) without a report:\n{run.stdout}"
    report = json.loads(result_file.read_text())
    shutil.copy(result_file, OUTPUT_DIR / "qgis_desktop_load.json")
    sys.stdout.write(f"screenshot: {screenshot}\n")

    checks = report["checks"]
    assert not errors.exists(), "Python errors in QGIS:\n" + errors.read_text()
    assert report["errors"] == [], report["errors"][0]
    assert checks["qgis_version"].startswith("3.")
    assert checks["loaded"], run.stdout
    assert checks["python_errors"] == "", checks["python_errors"]
    nothing = {"web_submenu": False, "toolbar": False, "dock": False, "actions": []}
    everything = dict(checks["after_load"])
    # Later features add actions of their own; these two are always there.
    assert {"SatelliteTaskingDockAction", "SatelliteTaskingSettingsAction"} <= set(everything.pop("actions"))
    assert everything == {"web_submenu": True, "toolbar": True, "dock": True}
    everything["actions"] = checks["after_load"]["actions"]
    assert checks["dock_visible"] and "Not configured" in checks["dock_status"]
    assert checks["unloaded"] and checks["after_unload"] == nothing
    assert checks["reloaded"] and checks["after_reload"] == everything
    assert checks["unloaded_again"] and checks["after_second_unload"] == nothing
    # Logging reached QGIS's message log, in the plugin's own tab.
    assert "Satellite Tasking loaded" in checks["plugin_log"]
    assert checks["screenshot"] and screenshot.stat().st_size > 10_000
