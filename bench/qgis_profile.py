"""What the benches that start QGIS share: a throwaway QGIS profile, so that no bench reads or writes the user's
settings, and the plugin importable as QGIS loads it."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def throwaway_profile(prefix: str) -> str:
    """A new profile folder QGIS is told to use (call it before QGIS starts), offscreen unless asked otherwise; the
    repository root importable and the plugin installed as its package. The folder's path."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    sys.path.insert(0, str(REPO_ROOT))
    profile = tempfile.mkdtemp(prefix=prefix)
    os.environ["QGIS_CUSTOM_CONFIG_PATH"] = profile
    from tests import plugin_package

    plugin_package.install()
    return profile


def start_qgis(profile: str, gui: bool):
    """QGIS started with its settings in `profile` (with a GUI when `gui`); the QgsApplication, to exitQgis()."""
    from qgis.core import QgsApplication
    from qgis.PyQt.QtCore import QSettings

    QSettings.setDefaultFormat(QSettings.Format.IniFormat)
    QSettings.setPath(QSettings.Format.IniFormat, QSettings.Scope.UserScope, profile)
    app = QgsApplication([], gui)
    app.initQgis()
    return app
