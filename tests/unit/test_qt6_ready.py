"""Ready for QGIS 4 (Qt 6): no Qt 5-only API anywhere in the project (tests/qt6_scan.py), and the scan finds it when it is there."""

from __future__ import annotations

import configparser

import pytest

from tests import qt6_scan
from tests.plugin_package import REPO_ROOT


def test_the_project_uses_no_qt5_only_api():
    findings = qt6_scan.scan()
    assert [str(f) for f in findings] == []


def test_the_scan_reads_the_plugin_its_tests_and_scripts():
    scanned = {str(p.relative_to(REPO_ROOT)).split("/")[0] for p in qt6_scan.python_files()}
    assert {"core", "ui", "tests", "plugin.py", "scripts", "bench"} <= scanned
    assert "sandbox" not in scanned


@pytest.mark.parametrize("source, expected", [
    ("from qgis.PyQt.QtCore import Qt\nx = Qt.AlignLeft\n", "unscoped enum Qt.AlignLeft: write Qt.AlignmentFlag.AlignLeft"),
    ("from qgis.core import QgsWkbTypes\nx = QgsWkbTypes.PolygonGeometry\n", "unscoped enum QgsWkbTypes.PolygonGeometry"),
    ("from qgis.PyQt import QtWidgets\nx = QtWidgets.QDialogButtonBox.Save\n", "QDialogButtonBox.StandardButton.Save"),
    ("from qgis.PyQt.QtCore import QVariant\nt = QVariant.String\n", "QVariant types are removed in Qt 6"),
    ("def f(dialog):\n    dialog.exec_()\n", "exec_() is removed in Qt 6"),
    ("from qgis.PyQt.QtCore import QRegExp\n", "QRegExp is removed in Qt 6"),
    ("from PyQt5.QtCore import Qt\n", "use qgis.PyQt"),
    ("def f(combo, slot):\n    combo.activated[str].connect(slot)\n", "activated[str] is removed in Qt 6"),
    ("def f(widget):\n    metrics = widget.fontMetrics()\n    return metrics.width('x')\n", "horizontalAdvance"),
    ("from qgis.PyQt.QtWidgets import qApp\n", "qApp is removed in Qt 6"),
])
def test_the_scan_finds_each_kind_of_qt5_only_use(tmp_path, source, expected):
    module = tmp_path / "probe.py"
    module.write_text(source, encoding="utf-8")
    messages = [f.message for f in qt6_scan.scan([module])]
    assert any(expected in message for message in messages), messages


def test_scoped_enums_and_qt6_spellings_pass(tmp_path):
    module = tmp_path / "fine.py"
    module.write_text(
        "from qgis.PyQt.QtCore import Qt\nfrom qgis.core import Qgis, QgsWkbTypes\n"
        "a = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop\n"
        "b = QgsWkbTypes.GeometryType.PolygonGeometry\nc = Qgis.MessageLevel.Warning\n"
        "def f(menu, point):\n    return menu.exec(point)\n", encoding="utf-8")
    assert qt6_scan.scan([module]) == []


def test_the_fix_scopes_an_enum_in_place(tmp_path, monkeypatch):
    monkeypatch.setattr(qt6_scan, "REPO_ROOT", tmp_path)
    module = tmp_path / "probe.py"
    module.write_text("from qgis.PyQt.QtCore import Qt\nx = (Qt.AlignLeft | Qt.AlignTop, 'é', Qt.UserRole + 1)\n",
                      encoding="utf-8")
    assert qt6_scan.fix_enums(qt6_scan.scan([module])) == 3
    assert module.read_text(encoding="utf-8").splitlines()[1] == (
        "x = (Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop, 'é', Qt.ItemDataRole.UserRole + 1)")


def test_metadata_declares_the_tested_range_and_qt6_support():
    metadata = configparser.ConfigParser()
    metadata.read(REPO_ROOT / "metadata.txt", encoding="utf-8")
    general = metadata["general"]
    assert general["qgisMinimumVersion"] == "3.22"
    assert general["qgisMaximumVersion"].startswith("4.")
    assert general["supportsQt6"] == "True"
