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
    else:
        from satellite_tasking.core import settings

        # Imaging-window searches require the contract (pl_number): take the sandbox's, as ticking
        # "Use the local sandbox" in the settings dialog does.
        if settings.use_sandbox() and not settings.pl_number():
            settings.set_pl_number(settings.sandbox_contract())
            plugin.dock.refresh()
        if not plugin.dock.isVisible():
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
