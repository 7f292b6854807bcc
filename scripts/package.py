"""Builds the installable zip, deploys the plugin into a QGIS profile, or makes a throwaway profile for it."""

from __future__ import annotations

import argparse
import configparser
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Iterator, Optional, Set

REPO_ROOT = Path(__file__).resolve().parent.parent
PLUGIN = "satellite_tasking"
# What a user's QGIS needs: the code, its resources and the sandbox (users without an account run it).
# Listed rather than excluded, so nothing new (tests, benchmarks, tooling) slips into the zip unnoticed.
TOP_FILES = ("__init__.py", "plugin.py", "metadata.txt", "README.md", "LICENSE")
TOP_DIRS = ("core", "ui", "processing_provider", "resources", "sandbox")
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".orig", ".rej", ".swp", "~")


def version() -> str:
    meta = configparser.ConfigParser()
    meta.read(REPO_ROOT / "metadata.txt", encoding="utf-8")
    return meta["general"]["version"]


def _tracked_files() -> Optional[Set[Path]]:
    """The files git tracks (committed or added), or None outside a git checkout."""
    try:
        listing = subprocess.run(
            ["git", "ls-files", "--cached", "-z"], cwd=REPO_ROOT, capture_output=True, check=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return {Path(name) for name in listing.decode("utf-8").split("\0") if name}


def plugin_files() -> Iterator[Path]:
    """Paths (relative to the repository root) that make up the installed plugin."""
    # In a checkout, only what git tracks: a scratch file or a sandbox database left in core/ or
    # sandbox/ must not ship to users.
    tracked = _tracked_files()
    for name in TOP_FILES:
        if (REPO_ROOT / name).is_file():
            yield Path(name)
    for top in TOP_DIRS:
        for folder, dirs, files in os.walk(REPO_ROOT / top):
            dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
            for name in sorted(files):
                path = (Path(folder) / name).relative_to(REPO_ROOT)
                if name.endswith(SKIP_SUFFIXES) or name.startswith("."):
                    continue
                if tracked is None or path in tracked:
                    yield path
                else:
                    print(f"not packaged (not in git; `git add` it if it belongs to the plugin): {path}",
                          file=sys.stderr)


def build_zip(out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{PLUGIN}-{version()}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for rel in plugin_files():
            archive.write(REPO_ROOT / rel, f"{PLUGIN}/{rel.as_posix()}")
    return target


def default_profile_dir() -> Path:
    """The default profile of QGIS 3 for this user (Linux, macOS, Windows)."""
    if sys.platform == "win32":
        base = Path(os.environ["APPDATA"]) / "QGIS" / "QGIS3"
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support" / "QGIS" / "QGIS3"
    else:
        # An empty XDG_DATA_HOME counts as unset, as the XDG spec says.
        base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "QGIS" / "QGIS3"
    return base / "profiles" / "default"


def deploy(profile_dir: Path) -> Path:
    """Copy the plugin into <profile>/python/plugins/satellite_tasking, replacing an older copy."""
    target = profile_dir / "python" / "plugins" / PLUGIN
    if target.is_symlink() or target.is_file():
        target.unlink()
    elif target.exists():
        shutil.rmtree(target)
    for rel in plugin_files():
        (target / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / rel, target / rel)
    return target


def write_profile_settings(profile_dir: Path, sandbox_port: Optional[int]) -> Path:
    """Enable the plugin in the profile's QGIS3.ini (and point it at the sandbox when a port is given).

    Written with QSettings, in the format QGIS reads, so values keep their types."""
    from qgis.PyQt.QtCore import QSettings

    ini = profile_dir / "QGIS" / "QGIS3.ini"
    ini.parent.mkdir(parents=True, exist_ok=True)
    qsettings = QSettings(str(ini), QSettings.Format.IniFormat)
    qsettings.setValue(f"PythonPlugins/{PLUGIN}", True)
    # No "what's new", tips or version check dialogs covering the window in a throwaway profile.
    qsettings.setValue("qgis/checkVersion", False)
    qsettings.setValue("qgis/showTips322", False)
    qsettings.setValue("qgis/showTips", False)
    qsettings.setValue("core/NewsFeed/https%3A%2F%2Ffeed.qgis.org/disabled", True)
    if sandbox_port is not None:
        sys.path.insert(0, str(REPO_ROOT))
        from core.settings import sandbox_profile_values  # the plugin's own key names

        for key, value in sandbox_profile_values(sandbox_port).items():
            qsettings.setValue(key, value)
    qsettings.sync()
    return ini


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    zip_cmd = commands.add_parser("zip", help="build dist/satellite_tasking-<version>.zip")
    zip_cmd.add_argument("--out", type=Path, default=REPO_ROOT / "dist")
    deploy_cmd = commands.add_parser("deploy", help="copy the plugin into a QGIS profile (default: yours)")
    deploy_cmd.add_argument("--profile-dir", type=Path, default=None)
    profile_cmd = commands.add_parser("profile", help="make a throwaway profile with the plugin enabled")
    profile_cmd.add_argument("--profiles-path", type=Path, required=True)
    profile_cmd.add_argument("--profile", default="satellite_tasking")
    profile_cmd.add_argument("--sandbox-port", type=int, default=None)
    commands.add_parser("files", help="list what goes into the zip")
    args = parser.parse_args(argv)

    if args.command == "zip":
        print(build_zip(args.out))
    elif args.command == "deploy":
        profile_dir = args.profile_dir or default_profile_dir()
        print(f"Deployed to {deploy(profile_dir)}")
        print("Restart QGIS (or use Plugin Reloader), then enable 'Satellite Tasking' in Plugins > Manage.")
    elif args.command == "profile":
        profile_dir = args.profiles_path / "profiles" / args.profile
        deploy(profile_dir)
        print(write_profile_settings(profile_dir, args.sandbox_port))
    elif args.command == "files":
        for rel in plugin_files():
            print(rel.as_posix())
    return 0


if __name__ == "__main__":
    sys.exit(main())
