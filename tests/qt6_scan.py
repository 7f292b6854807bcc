"""Finds the Qt 5-only API that QGIS 4 (Qt 6) removes, in the project's Python: what QGIS's pyqt5_to_pyqt6 looks for.

`python -m tests.qt6_scan` lists what it finds; `--fix` scopes enums in place (the one finding a machine can fix
safely). The test suite runs the scan (tests/unit/test_qt6_ready.py).
"""

from __future__ import annotations

import argparse
import ast
import enum
import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional

REPO_ROOT = Path(__file__).resolve().parent.parent
# The plugin, its tests, benchmarks and scripts; the sandbox is plain standard-library Python.
SCANNED = ("__init__.py", "plugin.py", "core", "ui", "tests", "bench", "scripts")
# Modules whose classes carry Qt or QGIS enums.
ENUM_MODULES = ("qgis.PyQt.QtCore", "qgis.PyQt.QtGui", "qgis.PyQt.QtWidgets", "qgis.PyQt.QtNetwork", "qgis.core",
                "qgis.gui")
REMOVED_IMPORTS = {
    "QRegExp": "QRegExp is removed in Qt 6: use QRegularExpression",
    "QRegExpValidator": "QRegExpValidator is removed in Qt 6: use QRegularExpressionValidator",
    "resources_rc": "compiled resources are removed in Qt 6: load icons by file path",
    "QDesktopWidget": "QDesktopWidget is removed in Qt 6: use QScreen",
    "qApp": "qApp is removed in Qt 6: use QApplication.instance()",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    column: int
    message: str
    # For an unscoped enum: where to insert the enum's name, and what (".AlignmentFlag").
    insert_at: Optional[int] = None
    insert: str = ""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.column + 1}: {self.message}"


def python_files(root: Path = REPO_ROOT) -> List[Path]:
    files: List[Path] = []
    for name in SCANNED:
        path = root / name
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            files += [p for p in path.rglob("*.py") if "__pycache__" not in p.parts]
    return sorted(files)


def _enum_type(owner: Any, value: Any) -> Optional[str]:
    """The name under which `owner` holds the enum type of `value`, when `value` is one of its enum members."""
    kind = type(value)
    if kind in (int, bool, float, str, type(None)) or isinstance(value, type):
        return None
    is_enum = isinstance(value, enum.Enum) or type(kind).__name__ in ("enumtype", "EnumType") or hasattr(kind, "__members__")
    if not is_enum:
        return None
    name = kind.__name__
    if getattr(owner, name, None) is kind:
        return name
    # A QGIS enum moved into Qgis keeps an alias in its old class under the same name.
    for attribute in dir(owner):
        if attribute[:1].isupper() and getattr(owner, attribute, None) is kind:
            return attribute
    return None


def _member_name(kind: Any, value: Any) -> str:
    name = getattr(value, "name", None)
    if isinstance(name, str):
        return name
    for attribute in dir(kind):
        if not attribute.startswith("_") and getattr(kind, attribute, None) is value:
            return attribute
    for attribute in dir(kind):
        member = getattr(kind, attribute, None)
        if not attribute.startswith("_") and type(member) is kind and member == value:
            return attribute
    return "?"


class _Scanner(ast.NodeVisitor):
    def __init__(self, path: Path, text: str, modules: Dict[str, Any]):
        self.path = str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)
        self.lines = text.splitlines(keepends=True)
        self.names: Dict[str, Any] = {}
        self.modules = modules
        self.findings: List[Finding] = []
        self.font_metrics: set = set()

    def report(self, node: ast.AST, message: str, **extra: Any) -> None:
        self.findings.append(Finding(self.path, node.lineno, node.col_offset, message, **extra))

    # -- names ------------------------------------------------------------------------------------------

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:  # noqa: N802 - ast's name
        module = node.module or ""
        if module.startswith("PyQt5") or module.startswith("PyQt6"):
            self.report(node, f"import from {module}: use qgis.PyQt, which is PyQt5 or PyQt6 as QGIS runs")
        if module == "qgis.PyQt.Qt":
            self.report(node, "qgis.PyQt.Qt is removed in Qt 6: import Qt from qgis.PyQt.QtCore")
        for alias in node.names:
            if alias.name in REMOVED_IMPORTS:
                self.report(node, REMOVED_IMPORTS[alias.name])
            source = self.modules.get(module)
            if source is not None and hasattr(source, alias.name):
                self.names[alias.asname or alias.name] = getattr(source, alias.name)
            elif f"{module}.{alias.name}" in self.modules:  # from qgis.PyQt import QtWidgets
                self.names[alias.asname or alias.name] = self.modules[f"{module}.{alias.name}"]
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:  # noqa: N802
        for alias in node.names:
            if alias.name.startswith("PyQt5") or alias.name.startswith("PyQt6"):
                self.report(node, f"import {alias.name}: use qgis.PyQt")
            if alias.name in self.modules and alias.asname:
                self.names[alias.asname] = self.modules[alias.name]
        self.generic_visit(node)

    def resolve(self, node: ast.AST) -> Any:
        if isinstance(node, ast.Name):
            return self.names.get(node.id)
        if isinstance(node, ast.Attribute):
            owner = self.resolve(node.value)
            return getattr(owner, node.attr, None) if owner is not None else None
        return None

    # -- findings ---------------------------------------------------------------------------------------

    def visit_Attribute(self, node: ast.Attribute) -> None:  # noqa: N802
        owner = self.resolve(node.value)
        if owner is not None and isinstance(owner, type):
            if getattr(owner, "__name__", "") == "QVariant" and node.attr[:1].isupper() and node.attr != "Type":
                self.report(node, f"QVariant.{node.attr}: QVariant types are removed in Qt 6 (QMetaType, through "
                                  "core/compat.py)")
            elif not hasattr(owner, node.attr):
                # core/compat.py names the newer API behind a version check: that is its job.
                if isinstance(node.ctx, ast.Load) and not self.path.endswith("core/compat.py"):
                    self.report(node, f"{ast.unparse(node)} does not exist in this QGIS")
            else:
                value = getattr(owner, node.attr, None)
                enum_name = _enum_type(owner, value) if value is not None else None
                if enum_name is not None and enum_name != node.attr:
                    scoped = f"{ast.unparse(node.value)}.{enum_name}.{node.attr}"
                    if hasattr(getattr(owner, enum_name), node.attr):
                        self.report(node, f"unscoped enum {ast.unparse(node)}: write {scoped}",
                                    insert_at=node.value.end_col_offset, insert=f".{enum_name}")
                    else:  # an alias QGIS kept where the enum moved (e.g. into Qgis): name the new place
                        kind = type(value)
                        self.report(node, f"unscoped enum {ast.unparse(node)}: write {kind.__qualname__}."
                                          f"{_member_name(kind, value)}")
        if node.attr == "exec_":
            self.report(node, "exec_() is removed in Qt 6: call exec()")
        if node.attr == "width" and self._is_font_metrics(node.value):
            self.report(node, "QFontMetrics.width() is removed in Qt 6: use horizontalAdvance()")
        self.generic_visit(node)

    def _is_font_metrics(self, node: ast.AST) -> bool:
        if isinstance(node, ast.Name):
            return node.id in self.font_metrics
        if isinstance(node, ast.Call):
            func = node.func
            return ((isinstance(func, ast.Attribute) and func.attr == "fontMetrics")
                    or (isinstance(func, ast.Name) and func.id in ("QFontMetrics", "QFontMetricsF")))
        return False

    def visit_Assign(self, node: ast.Assign) -> None:  # noqa: N802
        if self._is_font_metrics(node.value):
            self.font_metrics.update(t.id for t in node.targets if isinstance(t, ast.Name))
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:  # noqa: N802
        if node.name == "exec_":
            self.report(node, "a method named exec_: Qt 6 calls exec()")
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:  # noqa: N802
        value = node.value
        if (isinstance(value, ast.Attribute) and value.attr in ("activated", "currentIndexChanged", "highlighted")
                and isinstance(node.slice, ast.Name) and node.slice.id == "str"):
            self.report(node, f"{value.attr}[str] is removed in Qt 6: use the signal without an overload "
                              "(textActivated / currentTextChanged)")
        self.generic_visit(node)

    def visit_Name(self, node: ast.Name) -> None:  # noqa: N802
        if node.id == "qApp":
            self.report(node, REMOVED_IMPORTS["qApp"])


def _modules() -> Dict[str, Any]:
    modules: Dict[str, Any] = {}
    for name in ENUM_MODULES:
        try:
            modules[name] = importlib.import_module(name)
        except ImportError:  # pragma: no cover - a QGIS without one of them
            continue
    return modules


def scan(paths: Optional[Iterable[Path]] = None) -> List[Finding]:
    """Every Qt 5-only use in `paths` (default: the whole project but the sandbox)."""
    modules = _modules()
    findings: List[Finding] = []
    for path in paths if paths is not None else python_files():
        text = path.read_text(encoding="utf-8")
        scanner = _Scanner(path, text, modules)
        scanner.visit(ast.parse(text, str(path)))
        findings += scanner.findings
    return findings


def fix_enums(findings: Iterable[Finding]) -> int:
    """Write each unscoped enum found as its scoped form, in place; returns how many were changed."""
    by_file: Dict[str, List[Finding]] = {}
    for finding in findings:
        if finding.insert_at is not None:
            by_file.setdefault(finding.path, []).append(finding)
    changed = 0
    for relative, found in by_file.items():
        path = REPO_ROOT / relative
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        # From the end of each line backwards, so earlier columns stay valid.
        for finding in sorted(found, key=lambda f: (f.line, f.insert_at), reverse=True):
            line = lines[finding.line - 1]
            # ast columns count UTF-8 bytes.
            raw = line.encode("utf-8")
            lines[finding.line - 1] = (raw[:finding.insert_at] + finding.insert.encode() + raw[finding.insert_at:]
                                       ).decode("utf-8")
            changed += 1
        path.write_text("".join(lines), encoding="utf-8")
    return changed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--fix", action="store_true", help="scope the unscoped enums in place")
    args = parser.parse_args()
    findings = scan()
    if args.fix:
        print(f"scoped {fix_enums(findings)} enums")
        findings = scan()
    for finding in findings:
        print(finding)
    print(f"{len(findings)} findings")


if __name__ == "__main__":
    main()
