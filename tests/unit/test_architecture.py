"""The design's import rules, read from the source: which room of the plugin may import which."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Iterator, List, Tuple

import pytest

from tests.plugin_package import REPO_ROOT

PACKAGE = "satellite_tasking"


def _modules(folder: str, root: Path = REPO_ROOT) -> List[Path]:
    return sorted(p for p in (root / folder).rglob("*.py") if "__pycache__" not in p.parts)


def _dotted(path: Path, root: Path = REPO_ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def imports_of(path: Path, root: Path = REPO_ROOT) -> Iterator[Tuple[int, str]]:
    """Every module `path` imports, absolute and relative alike, as a dotted name inside the plugin
    (`core.services.registry`) or as written for outside modules (`qgis.gui`); lazy imports included."""
    package_parts = _dotted(path, root).split(".")
    if path.name != "__init__.py":
        package_parts = package_parts[:-1]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package_parts[: len(package_parts) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            if module.startswith(PACKAGE + "."):
                module = module[len(PACKAGE) + 1:]
            yield node.lineno, module
            # `from ..core import settings` imports the module core.settings: count the names too.
            for alias in node.names:
                yield node.lineno, f"{module}.{alias.name}" if module else alias.name


def offences(folder: str, forbidden, root: Path = REPO_ROOT) -> List[str]:
    found = []
    for path in _modules(folder, root):
        for line, module in imports_of(path, root):
            if forbidden(module):
                found.append(f"{path.relative_to(root)}:{line} imports {module}")
    return sorted(set(found))


def _is_service_package(module: str) -> bool:
    parts = module.split(".")
    return len(parts) >= 3 and parts[:2] == ["core", "services"] and parts[2] not in ("base", "registry")


def widget_import(module: str) -> bool:
    return (module == "ui" or module.startswith("ui.") or module.startswith("qgis.gui")
            or "QtWidgets" in module.split("."))


def service_client_import(module: str) -> bool:
    return _is_service_package(module) and module.split(".")[-1] == "client"


def test_core_never_imports_widgets_or_the_ui():
    assert offences("core", widget_import) == []


def test_the_application_layer_reaches_services_only_through_the_registry():
    assert offences("core/app", _is_service_package) == []


def test_shared_plumbing_knows_no_service_and_no_workflow():
    def above_plumbing(module: str) -> bool:
        return module.startswith("core.services") or module.startswith("core.app")

    plumbing = [p for p in _modules("core") if p.parent == REPO_ROOT / "core"]
    found = [f"{p.name}:{line} imports {m}" for p in plumbing for line, m in imports_of(p) if above_plumbing(m)]
    assert found == []


def test_the_ui_never_imports_a_service_client():
    assert offences("ui", service_client_import) == []


def test_processing_reaches_services_only_through_the_workflows_and_the_registry():
    """The Processing provider calls core/app and core plumbing: no widget, no ui/, no service package."""
    def forbidden(module: str) -> bool:
        return widget_import(module) or _is_service_package(module)

    assert _modules("processing_provider") and offences("processing_provider", forbidden) == []


def test_one_service_package_never_imports_another():
    services = REPO_ROOT / "core" / "services"
    for package in (p for p in services.iterdir() if (p / "__init__.py").exists()):
        def other(module: str, own=package.name) -> bool:
            return _is_service_package(module) and module.split(".")[2] != own

        assert offences(str(package.relative_to(REPO_ROOT)), other) == []


@pytest.mark.parametrize("path, snippet, folder, forbidden", [
    ("core/aoi.py", "from qgis.gui import QgsMapCanvas\n", "core", widget_import),
    ("core/app/quote.py", "from ..services.planet_tasking import rules\n", "core/app", _is_service_package),
    ("core/app/quote.py", "from ..services.planet_tasking.rules import x\n", "core/app", _is_service_package),
    ("ui/orders/panel.py", "from ...core.services.planet_tasking.client import TaskingClient\n", "ui",
     service_client_import),
    ("ui/dock.py", "def f():\n    from ..core.services.planet_tasking import client\n", "ui", service_client_import),
])
def test_each_rule_catches_an_offending_import(tmp_path, path, snippet, folder, forbidden):
    """The checks must find a module that breaks them, relative and lazy imports included (else a rule
    could pass by reading nothing)."""
    offender = tmp_path / path
    offender.parent.mkdir(parents=True)
    offender.write_text(snippet, encoding="utf-8")
    found = offences(folder, forbidden, root=tmp_path)
    assert found and all(entry.startswith(f"{path}:") for entry in found)


def test_the_rules_read_every_module_of_the_plugin():
    assert len(_modules("core/app")) >= 1 and len(_modules("core/services")) >= 5 and len(_modules("ui")) >= 5
