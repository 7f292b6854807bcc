"""Makes the repository importable as the `satellite_tasking` package, with `core`/`ui` as the same modules."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "satellite_tasking"
# Top-level names tests may use for the plugin's own packages (`from core import settings`).
ALIASED = ("core", "ui")


class _Alias(importlib.abc.Loader):
    """Hands out the already imported `satellite_tasking.<name>` module instead of a second copy."""

    def __init__(self, target: str):
        self.target = target

    def create_module(self, spec):
        module = importlib.import_module(self.target)
        self.real_spec = module.__spec__
        return module

    def exec_module(self, module) -> None:
        # The import system has just set the alias's spec on the real module; give the module its own back,
        # or its relative imports warn (Python 3.12+: __package__ != __spec__.parent) and resolve oddly.
        module.__spec__ = self.real_spec


class PluginPackageFinder(importlib.abc.MetaPathFinder):
    """Inside QGIS the repository root is the package `satellite_tasking` and its modules import each
    other relatively (`from ..core import settings`). Tests see the same: `satellite_tasking` is the root
    folder, and `core.x`/`ui.x` are aliases of `satellite_tasking.core.x`, never separate copies (two copies
    would mean two settings modules, two sets of exception classes that do not catch each other)."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == PACKAGE:
            return importlib.util.spec_from_file_location(
                PACKAGE, REPO_ROOT / "__init__.py", submodule_search_locations=[str(REPO_ROOT)]
            )
        if fullname.split(".", 1)[0] in ALIASED:
            return importlib.util.spec_from_loader(fullname, _Alias(f"{PACKAGE}.{fullname}"))
        return None


def install() -> None:
    """Put the finder first, so it wins over the plain `core/` folder on sys.path; idempotent."""
    if not any(isinstance(finder, PluginPackageFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, PluginPackageFinder())
