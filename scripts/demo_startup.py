"""Run inside QGIS by `make demo` (`qgis --code`): opens the Satellite Tasking dock; headless, screenshots and quits."""

# Later issues extend this to walk through the whole workflow against the sandbox.
import os

import qgis.utils
from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QTimer

HEADLESS = os.environ.get("ST_DEMO_HEADLESS") == "1"


def open_dock():
    plugin = qgis.utils.plugins.get("satellite_tasking")
    if plugin is None:
        qgis.utils.iface.messageBar().pushCritical("Satellite Tasking", "The plugin did not load; see the Log Messages panel.")
    elif not plugin.dock.isVisible():
        plugin.dock_action.trigger()
    window = qgis.utils.iface.mainWindow()
    # Xvfb has no window manager to maximize a window, so fill the screen by hand.
    window.setGeometry(QgsApplication.primaryScreen().availableGeometry())
    window.showMaximized()
    if HEADLESS:
        # Give the window a moment to lay out and paint before the picture is taken.
        QTimer.singleShot(2000, screenshot_and_quit)


def screenshot_and_quit():
    qgis.utils.iface.mainWindow().grab().save(os.environ["ST_SCREENSHOT"])
    QgsApplication.exit(0)


QTimer.singleShot(1000, open_dock)
