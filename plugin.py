"""Plugin lifecycle: the Satellite Tasking menu under Web, a toolbar, the tasking dock and the settings dialog."""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Tuple

from qgis.core import Qgis, QgsApplication
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import QAction

from .core import names
from .core.log import get_logger, setup_logging, teardown_logging
from .ui.shared.icons import icon as shared_icon

MENU = "&Satellite Tasking"


class SatelliteTaskingPlugin:
    """What QGIS loads. initGui and unload are mirror images: unload undoes each step of initGui."""

    def __init__(self, iface):
        self.iface = iface
        self.toolbar = None
        self.dock = None
        self.settings_dialog = None
        self.dock_action: Optional[QAction] = None
        self.settings_action: Optional[QAction] = None
        self.bulk_action: Optional[QAction] = None
        self.bulk_edit_action: Optional[QAction] = None
        self.help_action: Optional[QAction] = None
        # The dock's "Order imagery of the selected captures…", also in the menu and the toolbar (the dock owns it).
        self.order_imagery_action: Optional[QAction] = None
        self.bulk_dialog = None
        self.bulk_edit_dialog = None
        # The local sandbox the plugin starts for "Try without an account" (a child process of QGIS).
        self.sandbox = None
        # Whether ui.bulk was imported: only then can its message-bar entries exist for unload to remove.
        self._bulk_ui_loaded = False
        # The first-run hint in the message bar (its button calls this plugin: unload takes it off).
        self.first_run_message = None
        self.actions: List[QAction] = []
        # Every signal connection the plugin makes, so unload can undo exactly those.
        self._connections: List[Tuple[Any, Callable]] = []
        # The Processing provider (Toolbox, models, qgis_process), registered by initProcessing.
        self.provider = None
        self._log = get_logger("plugin")

    def _connect(self, signal, slot) -> None:
        signal.connect(slot)
        self._connections.append((signal, slot))

    def _add_action(self, icon: str, text: str, object_name: str, slot: Callable, checkable: bool = False) -> QAction:
        action = QAction(shared_icon(icon), text, self.iface.mainWindow())
        action.setObjectName(object_name)
        action.setCheckable(checkable)
        self._connect(action.triggered, slot)
        self.iface.addPluginToWebMenu(MENU, action)
        self.toolbar.addAction(action)
        self.actions.append(action)
        return action

    def _add_dock_action(self, action: QAction) -> QAction:
        """A dock's own action in the menu and the toolbar too: one action, so its enabled state and text are the
        dock's wherever it shows. Listed in `actions` (menu order); unload takes it out before the dock goes."""
        if action.icon().isNull():
            action.setIcon(QgsApplication.getThemeIcon("/mActionAddRasterLayer.svg"))
        self.iface.addPluginToWebMenu(MENU, action)
        self.toolbar.addAction(action)
        self.actions.append(action)
        return action

    def _remove_dock_action(self, action: Optional[QAction]) -> None:
        """The mirror of _add_dock_action: out of the menu, the toolbar and `actions`; the dock deletes it."""
        if action is None or action not in self.actions:
            return
        self.iface.removePluginWebMenu(MENU, action)
        if self.toolbar is not None:
            self.toolbar.removeAction(action)
        self.actions.remove(action)

    # --- lifecycle ------------------------------------------------------------------------------

    def initProcessing(self) -> None:  # noqa: N802 - the name QGIS (and qgis_process, without a GUI) calls
        """Register the Processing provider once; unload removes it."""
        if self.provider is not None:
            return
        from .processing_provider.provider import SatelliteTaskingProvider

        provider = SatelliteTaskingProvider()
        if QgsApplication.processingRegistry().addProvider(provider):
            self.provider = provider
        else:  # another copy of the plugin has it: unload must not remove that one
            self._log.warning("A Processing provider named satellite_tasking is registered already")

    def initGui(self) -> None:  # noqa: N802 - the name QGIS calls
        setup_logging()
        self.initProcessing()
        self.toolbar = self.iface.addToolBar(names.PLUGIN_TITLE)
        self.toolbar.setObjectName("SatelliteTaskingToolbar")
        self.dock_action = self._add_action(
            "satellite_tasking.svg", "Satellite Tasking", "SatelliteTaskingDockAction", self.toggle_dock, checkable=True
        )
        self.dock_action.setToolTip("Show or hide the Satellite Tasking panel")
        self.settings_action = self._add_action(
            "settings.svg", "Settings…", "SatelliteTaskingSettingsAction", self.show_settings
        )
        self.bulk_action = self._add_action(
            "bulk_order.svg", "Bulk order from layer…", "SatelliteTaskingBulkAction", self.show_bulk_dialog
        )
        self.bulk_edit_action = self._add_action(
            "bulk_edit.svg", "Edit or cancel selected orders…", "SatelliteTaskingBulkEditAction",
            self.show_bulk_edit_dialog
        )
        self._create_sandbox()
        self._create_dock()
        self.order_imagery_action = self._add_dock_action(self.dock.order_imagery_action)
        self.help_action = self._add_action("help.svg", "Help", "SatelliteTaskingHelpAction", self.show_help)
        self.help_action.setToolTip("Open the Satellite Tasking user guide")
        # After start-up, not inside initGui: resuming may have to unlock the key, and a master-password
        # prompt must not appear before QGIS's main window does.
        QTimer.singleShot(0, self._resume_bulks)
        QTimer.singleShot(0, self._first_run_hint)
        self._log.info("Satellite Tasking loaded")

    def _create_sandbox(self) -> None:
        from .core.sandbox_process import SandboxProcess

        self.sandbox = SandboxProcess()
        # QGIS quitting may not unload plugins first; the child must not outlive it either way.
        self._connect(QgsApplication.instance().aboutToQuit, self.sandbox.stop)

    def _create_dock(self) -> None:
        # Imported here so QGIS's plugin scan (which imports __init__ only) stays cheap.
        from .core.services import registry
        from .ui.dock import TaskingDock

        self.dock = TaskingDock(client_factory=registry.client_factory(), parent=self.iface.mainWindow(), iface=self.iface,
                                sandbox=self.sandbox)
        self.iface.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, self.dock)
        # Hidden until asked for; QGIS restores it afterwards if it was open in the last session.
        self.dock.hide()
        self._connect(self.dock.visibilityChanged, self.dock_action.setChecked)
        self._connect(self.dock.settingsRequested, self.show_settings)

    def unload(self) -> None:
        """Undo initGui in reverse order; afterwards nothing of the plugin is left in QGIS."""
        self._stop_work()
        self._remove_first_run_hint()
        # "Show results" entries in the message bar call into this plugin's code, which is going away.
        if self._bulk_ui_loaded:
            from .ui.bulk import messages as bulk_messages

            bulk_messages.remove_button_messages(self.iface)
            self._bulk_ui_loaded = False
        for signal, slot in reversed(self._connections):
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):  # already gone with its (deleted) sender
                pass
        self._connections.clear()

        if self.settings_dialog is not None:
            self.settings_dialog.close()
            self.settings_dialog.deleteLater()
            self.settings_dialog = None

        for dialog in (self.bulk_dialog, self.bulk_edit_dialog):
            if dialog is not None:
                dialog.close()
                # Closing a hidden dialog does not finish it: release its journal file explicitly (a task
                # still winding down keeps it until done), or every plugin reload leaks a handle.
                dialog.release_journal()
                dialog.deleteLater()
        self.bulk_dialog = self.bulk_edit_dialog = None

        self._remove_dock_action(self.order_imagery_action)
        self.order_imagery_action = None
        if self.dock is not None:
            self.iface.removeDockWidget(self.dock)
            self.dock.close()
            self.dock.deleteLater()
            self.dock = None

        if self.sandbox is not None:
            self.sandbox.stop()
            self.sandbox.deleteLater()
            self.sandbox = None

        for action in reversed(self.actions):
            self.iface.removePluginWebMenu(MENU, action)
            if self.toolbar is not None:
                self.toolbar.removeAction(action)
            action.deleteLater()
        self.actions.clear()
        self.dock_action = self.settings_action = self.bulk_action = self.bulk_edit_action = self.help_action = None

        if self.toolbar is not None:
            self.iface.mainWindow().removeToolBar(self.toolbar)
            self.toolbar.deleteLater()
            self.toolbar = None

        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None

        from .core.http import close_shared_connections

        close_shared_connections()
        self._log.info("Satellite Tasking unloaded")
        teardown_logging()

    def _stop_work(self) -> None:
        """Cancel our background tasks and release our map tool before the widgets go."""
        from .core.tasks import cancel_all_tasks

        # Callbacks first: a task finishing after unload must not call into deleted dialogs and panels.
        cancel_all_tasks(detach_callbacks=True)
        if self.dock is not None:
            self.dock.shutdown()
        package = __package__ or ""
        for task in QgsApplication.taskManager().activeTasks():
            if task.description().startswith(names.TASK_PREFIX) or type(task).__module__.startswith(package + "."):
                task.cancel()
        canvas = self.iface.mapCanvas()
        tool = canvas.mapTool() if canvas is not None else None
        if tool is not None and type(tool).__module__.startswith(package + "."):
            canvas.unsetMapTool(tool)

    # --- actions ----------------------------------------------------------------------------------

    def toggle_dock(self, visible: Optional[bool] = None) -> None:
        if self.dock is None:
            return
        show = (not self.dock.isVisible()) if visible is None else bool(visible)
        self.dock.setVisible(show)
        if show:
            self.dock.refresh()
            self.dock.raise_()

    def show_help(self, *_args) -> None:
        """Open the user guide shipped with the plugin (resources/help) in the browser."""
        from .ui.shared.help import open_help

        open_help()

    def show_settings(self, *_args):
        """Open the settings dialog (not blocking); returns it so callers and tests can drive it."""
        from .ui.settings.dialog import SettingsDialog

        if self.settings_dialog is None:
            self.settings_dialog = SettingsDialog(self.iface.mainWindow())
            # Only an accepted dialog changed anything; a cancelled one must not reload the orders.
            self._connect(self.settings_dialog.accepted, self._settings_saved)
        self.settings_dialog.load()
        self.settings_dialog.open()
        return self.settings_dialog

    def show_bulk_dialog(self, *_args):
        """Open the bulk order dialog (not blocking); returns it."""
        from .ui.bulk import BulkOrderDialog, default_client_factory

        self._bulk_ui_loaded = True
        if self.bulk_dialog is None:
            self.bulk_dialog = BulkOrderDialog(default_client_factory, self.iface, self.iface.mainWindow())
            # Orders it creates show in the orders view and "Tasking orders" without a manual Refresh.
            self._connect(self.bulk_dialog.ordersCreated, self._bulk_orders_created)
        self.bulk_dialog.show()
        self.bulk_dialog.raise_()
        return self.bulk_dialog

    def show_bulk_edit_dialog(self, *_args):
        """Edit or cancel in bulk the orders selected in the orders view or an orders layer (found by kind)."""
        from .ui.bulk import BulkEditDialog, default_client_factory, selected_order_ids_from

        self._bulk_ui_loaded = True
        # The orders view inside the dock, else an orders layer's selection (the active layer first).
        ids, statuses = selected_order_ids_from(self.dock, active_layer=self.iface.activeLayer())
        if not ids:
            self.iface.messageBar().pushMessage(
                names.PLUGIN_TITLE, "Select orders in the orders view or an orders layer (“Tasking orders”) first.", Qgis.MessageLevel.Warning, 6)
            return None
        if self.bulk_edit_dialog is not None:
            if getattr(self.bulk_edit_dialog, "task", None) is not None:
                # Replacing it would drop a running edit/cancel (and its charge question) on the floor.
                self.iface.messageBar().pushMessage(
                    names.PLUGIN_TITLE, "A bulk edit or cancellation is still running: wait for it to finish first.",
                    Qgis.MessageLevel.Warning, 6)
                self.bulk_edit_dialog.show()
                self.bulk_edit_dialog.raise_()
                return self.bulk_edit_dialog
            self.bulk_edit_dialog.close()
            self.bulk_edit_dialog.release_journal()
            self.bulk_edit_dialog.deleteLater()
        self.bulk_edit_dialog = BulkEditDialog(default_client_factory, self.iface, ids, statuses=statuses)
        self.bulk_edit_dialog.show()
        return self.bulk_edit_dialog

    def _first_run_hint(self) -> None:
        """Once per QGIS profile, after the plugin is first enabled: how to start, and a button to the panel."""
        from qgis.gui import QgsMessageBarItem
        from qgis.PyQt.QtWidgets import QPushButton

        from .core import settings

        if self.toolbar is None or not settings.first_run():  # unloaded meanwhile, or not the first start
            return
        bar = self.iface.messageBar()
        text = ("To start, open the Satellite Tasking panel (Web ▸ Satellite Tasking, or its toolbar button) and "
                "click “Try without an account” to use the sandbox it ships, or enter your API key in its settings.")
        item = QgsMessageBarItem(names.MESSAGE_TITLE, text, Qgis.MessageLevel.Info, 0, bar)
        button = QPushButton("Open the panel", item)
        button.setObjectName("firstRunOpenDockButton")
        item.setWidget(button)
        button.clicked.connect(lambda *_: self._open_dock_from_hint())
        bar.pushItem(item)
        self.first_run_message = item

    def _open_dock_from_hint(self) -> None:
        self.toggle_dock(True)
        self._remove_first_run_hint()

    def _remove_first_run_hint(self) -> None:
        item, self.first_run_message = self.first_run_message, None
        if item is None:
            return
        try:
            bar = self.iface.messageBar()
            if item in bar.items():
                bar.popWidget(item)
        except (AttributeError, RuntimeError):  # closed by the user already, or QGIS closing
            pass

    def _resume_bulks(self) -> None:
        """Follow the bulk orders a previous session left unfinished (journal in the QGIS profile)."""
        if self.toolbar is None:  # unloaded before the event loop came round
            return
        try:
            from .ui.bulk import resume_unfinished_bulks

            self._bulk_ui_loaded = True
            # Each unfinished job is followed by a client of the service it was journaled under (the registry's).
            resume_unfinished_bulks(None, self.iface)
        except Exception:  # noqa: BLE001 - a broken journal must never stop the plugin from loading
            self._log.exception("could not resume unfinished bulk orders")

    def _bulk_orders_created(self, order_ids: list) -> None:
        """A bulk job created orders: the orders view (and its map layers) reads them now."""
        panel = getattr(self.dock, "orders_panel", None) if self.dock is not None else None
        if panel is not None:
            self._log.info("Bulk job created %d orders: refreshing the orders view", len(order_ids))
            panel.refresh_now()

    def _settings_saved(self) -> None:
        if self.dock is not None:
            self.dock.refresh()
