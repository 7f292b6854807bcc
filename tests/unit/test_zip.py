"""`make zip` gives an installable plugin: the right files under satellite_tasking/, and it loads."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from qgis.PyQt.QtCore import QCoreApplication, QEvent

REPO_ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN_PARTS = {"tests", "bench", ".venv", "__pycache__", ".ci", "scripts", ".git", ".pytest_cache", ".ruff_cache"}
FORBIDDEN_NAMES = {"Makefile", "requirements-dev.txt", "pb_tool.cfg", "ruff.toml", "pytest.ini", ".gitignore"}


@pytest.fixture(scope="module")
def built_zip(tmp_path_factory) -> Path:
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(["make", "-s", "zip", f"DIST={out}"], cwd=REPO_ROOT, check=True, capture_output=True, text=True)
    zips = list(out.glob("satellite_tasking-*.zip"))
    assert len(zips) == 1, zips
    return zips[0]


@pytest.fixture(scope="module")
def plugins_dir(built_zip, tmp_path_factory) -> Path:
    """A profile's python/plugins folder with the zip unpacked, as "Install from ZIP" does."""
    plugins = tmp_path_factory.mktemp("profile") / "python" / "plugins"
    plugins.mkdir(parents=True)
    with zipfile.ZipFile(built_zip) as archive:
        archive.extractall(plugins)
    return plugins


def test_zip_holds_the_plugin_and_nothing_for_developers(built_zip):
    version = next(
        line.split("=", 1)[1].strip() for line in (REPO_ROOT / "metadata.txt").read_text().splitlines()
        if line.startswith("version=")
    )
    assert built_zip.name == f"satellite_tasking-{version}.zip"
    names = zipfile.ZipFile(built_zip).namelist()
    assert all(name.startswith("satellite_tasking/") for name in names)
    for required in ("__init__.py", "plugin.py", "metadata.txt", "core/settings.py", "ui/dock.py",
                     "resources/icons/satellite_tasking.svg", "sandbox/__init__.py"):
        assert f"satellite_tasking/{required}" in names
    for name in names:
        parts = Path(name).parts
        assert not FORBIDDEN_PARTS.intersection(parts), name
        assert parts[-1] not in FORBIDDEN_NAMES, name
        assert not name.endswith((".pyc", ".zip")), name


def test_files_git_does_not_track_are_left_out_of_the_zip(tmp_path):
    # A scratch file or a sandbox database left in a plugin folder must never reach users.
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(REPO_ROOT), str(clone)], check=True, capture_output=True)
    shutil.copy2(REPO_ROOT / "scripts" / "package.py", clone / "scripts" / "package.py")  # the one under test
    (clone / "core" / "scratch.sqlite").write_bytes(b"not for users")
    (clone / "sandbox" / "notes.py").write_text("# untracked\n")
    done = subprocess.run([sys.executable, "scripts/package.py", "zip", "--out", str(tmp_path / "dist")],
                          cwd=clone, check=True, capture_output=True, text=True)
    names = zipfile.ZipFile(next((tmp_path / "dist").glob("*.zip"))).namelist()
    assert "satellite_tasking/core/services/planet_tasking/models.py" in names
    assert not [n for n in names if n.endswith(("scratch.sqlite", "sandbox/notes.py"))]
    assert "core/scratch.sqlite" in done.stderr and "sandbox/notes.py" in done.stderr


def test_every_module_imports_from_the_plugins_folder_alone(plugins_dir, tmp_path):
    # A fresh interpreter with only the plugins folder added, as inside QGIS: an absolute import of the
    # plugin's own packages (`from core.x import`) would work in the repository but fail here.
    # The sandbox is a separate program (run as `python3 -m sandbox` in the plugin folder), checked below.
    plugin = plugins_dir / "satellite_tasking"
    modules = sorted(
        "satellite_tasking." + ".".join(path.relative_to(plugin).with_suffix("").parts).replace(".__init__", "")
        for path in plugin.rglob("*.py")
        if path.name != "__main__.py" and path.relative_to(plugin).parts[0] != "sandbox"
    )
    script = "import sys\nsys.path.insert(0, sys.argv[1])\nfor name in sys.argv[2:]:\n    __import__(name)\n"
    run = subprocess.run(
        ["/usr/bin/python3", "-c", script, str(plugins_dir), *modules],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert run.returncode == 0, run.stderr


def test_sandbox_runs_from_the_unpacked_plugin(plugins_dir):
    # Users without an account start it from the installed plugin folder; it needs only the standard library.
    run = subprocess.run(
        ["/usr/bin/python3", "-m", "sandbox", "--help"],
        cwd=plugins_dir / "satellite_tasking", capture_output=True, text=True, timeout=60,
    )
    assert run.returncode == 0 and "--port" in run.stdout, run.stderr


def test_unpacked_plugin_loads_and_unloads(plugins_dir, qgis_iface):
    # Imported under its own name, so it cannot be confused with the repository's copy the tests use.
    name = "satellite_tasking_from_zip"
    root = plugins_dir / "satellite_tasking"
    spec = importlib.util.spec_from_file_location(name, root / "__init__.py", submodule_search_locations=[str(root)])
    package = importlib.util.module_from_spec(spec)
    sys.modules[name] = package
    try:
        spec.loader.exec_module(package)
        plugin = package.classFactory(qgis_iface)
        assert Path(sys.modules[f"{name}.plugin"].__file__).is_relative_to(root)
        plugin.initGui()
        assert plugin.dock is not None and plugin.dock_action in plugin.actions and plugin.settings_action in plugin.actions
        plugin.unload()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        assert plugin.dock is None and plugin.actions == []
    finally:
        for module in [m for m in sys.modules if m == name or m.startswith(name + ".")]:
            del sys.modules[module]
