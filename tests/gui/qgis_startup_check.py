"""Run inside the real QGIS (`qgis --code`): checks the plugin loaded, its menu and dock, unload and reload."""

# QGIS runs this file with exec() once its main window is up; it reports through a JSON file named in
# ST_RESULT and a screenshot in ST_SCREENSHOT, then quits QGIS. Everything is read from the live
# application, the way a user would find it.
import json
import os
import traceback

import qgis.utils
from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QCoreApplication, QEvent, QTimer
from qgis.PyQt.QtWidgets import QAction, QDockWidget, QTabWidget, QToolBar

PLUGIN = "satellite_tasking"
RESULT = os.environ["ST_RESULT"]
SCREENSHOT = os.environ["ST_SCREENSHOT"]
result = {"checks": {}, "errors": []}


def settle():
    for _ in range(5):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        QCoreApplication.processEvents()


def message_log_tabs():
    """Text of every tab of QGIS's own Log Messages panel, by tab name."""
    tabs = {}
    dock = qgis.utils.iface.mainWindow().findChild(QDockWidget, "MessageLog")
    for tab_widget in dock.findChildren(QTabWidget) if dock is not None else []:
        for index in range(tab_widget.count()):
            widget = tab_widget.widget(index)
            text = widget.toPlainText() if hasattr(widget, "toPlainText") else ""
            tabs[tab_widget.tabText(index)] = text
    return tabs


def plugin_objects():
    window = qgis.utils.iface.mainWindow()
    web = qgis.utils.iface.webMenu()
    submenus = [a.text() for a in (web.actions() if web else []) if a.menu() is not None]
    return {
        "web_submenu": "&Satellite Tasking" in submenus,
        "toolbar": window.findChild(QToolBar, "SatelliteTaskingToolbar") is not None,
        "dock": window.findChild(QDockWidget, "SatelliteTaskingDock") is not None,
        "actions": sorted(a.objectName() for a in window.findChildren(QAction) if a.objectName().startswith("SatelliteTasking")),
    }


def check(name, value):
    result["checks"][name] = value


def run():
    try:
        check("qgis_version", qgis.core.Qgis.QGIS_VERSION)
        check("loaded", PLUGIN in qgis.utils.plugins and PLUGIN in qgis.utils.active_plugins)
        check("after_load", plugin_objects())

        plugin = qgis.utils.plugins[PLUGIN]
        plugin.dock_action.trigger()
        # Xvfb has no window manager to maximize a window, so fill the screen by hand.
        qgis.utils.iface.mainWindow().setGeometry(QgsApplication.primaryScreen().availableGeometry())
        settle()
        check("dock_visible", plugin.dock.isVisible())
        check("dock_status", plugin.dock.status_label.text())
        qgis.utils.iface.mainWindow().grab().save(SCREENSHOT)
        check("screenshot", os.path.exists(SCREENSHOT))

        check("unloaded", qgis.utils.unloadPlugin(PLUGIN))
        settle()
        check("after_unload", plugin_objects())

        check("reloaded", qgis.utils.loadPlugin(PLUGIN) and qgis.utils.startPlugin(PLUGIN))
        check("after_reload", plugin_objects())
        check("unloaded_again", qgis.utils.unloadPlugin(PLUGIN))
        settle()
        check("after_second_unload", plugin_objects())

        tabs = message_log_tabs()
        check("log_tabs", sorted(tabs))
        check("plugin_log", tabs.get("Satellite Tasking", ""))
        check("python_errors", tabs.get("Python error", ""))
    except Exception:  # noqa: BLE001 - everything goes into the report the test reads
        result["errors"].append(traceback.format_exc())
    with open(RESULT, "w", encoding="utf-8") as out:
        json.dump(result, out, indent=2)
    QgsApplication.exit(0)


# Let QGIS finish starting (restore docks, process queued events) before looking around.
QTimer.singleShot(1500, run)
