"""The plugin's SVG icons by file name, from resources/icons."""

from __future__ import annotations

from pathlib import Path

from qgis.PyQt.QtGui import QIcon

ICONS_DIR = Path(__file__).resolve().parents[2] / "resources" / "icons"


def icon(name: str) -> QIcon:
    """The icon resources/icons/<name> (e.g. "settings.svg")."""
    return QIcon(str(ICONS_DIR / name))
