"""The tasking dock: the plugin's main panel, with the "New order" and "Orders" tabs and the connection state."""

from __future__ import annotations

import functools
from typing import Any, Callable, Dict, Optional
from urllib.parse import urlsplit

from qgis.core import Qgis, QgsProject
from qgis.gui import QgsDockWidget, QgsMessageBarItem
from qgis.PyQt import sip
from qgis.PyQt.QtCore import Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAction,
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core import names, sandbox_process, settings
from ..core.app import decisions
from ..core.app.listed_orders import listed_services
from ..core.log import get_logger
from ..core.sandbox_process import ClockReading, SandboxProcess
from ..core.services import registry
from ..core.services.base import Capability, ServiceDescriptor
from ..core.tasks import run_in_background
from .shared.icons import icon

_log = get_logger("dock")

NOT_CONFIGURED_TEXT = (
    "<b>Not configured.</b><br>Open the settings to enter your {credentials}, "
    "or try the plugin without an account on the sandbox it ships."
)


def not_configured_text(service_id: str) -> str:
    """The dock's line while the active service has no credentials: what to enter for this service."""
    credentials = "UP42 user name and password" if service_id == settings.UP42 else "Planet API key"
    return NOT_CONFIGURED_TEXT.format(credentials=credentials)
TRY_TEXT = "Try without an account"
RESTART_TEXT = "Start the local sandbox"


def _origin(url: str) -> tuple:
    parts = urlsplit(url)
    return parts.scheme, parts.hostname, parts.port


class TaskingDock(QgsDockWidget):
    """The plugin's dock; `client_factory` builds the API client from the current settings when needed."""

    # The dock cannot open the settings dialog itself (the plugin owns it), so it asks.
    settingsRequested = pyqtSignal()  # noqa: N815 - Qt signal naming

    def __init__(self, client_factory: Optional[Callable[[], Any]] = None, parent: Optional[QWidget] = None,
                 iface: Optional[Any] = None, service: Optional[ServiceDescriptor] = None,
                 sandbox: Optional[SandboxProcess] = None):
        super().__init__(names.PLUGIN_TITLE, parent)
        # The plugin owns the sandbox it starts (it stops it on unload); a dock made alone owns its own.
        self._owns_sandbox = sandbox is None
        self.sandbox = sandbox if sandbox is not None else SandboxProcess()
        self._clock: Optional[ClockReading] = None
        # Whether the configured service answered last time (None: not known yet), and the message-bar entry
        # saying it cannot be reached: said once, again only after it was reachable in between.
        self._reachable: Optional[bool] = None
        self.unreachable_message: Optional[QgsMessageBarItem] = None
        self.setObjectName("SatelliteTaskingDock")
        self.setWindowIcon(icon("dock.svg"))
        self.setAllowedAreas(Qt.DockWidgetArea.LeftDockWidgetArea | Qt.DockWidgetArea.RightDockWidgetArea)
        self.client_factory = client_factory

        body = QWidget(self)
        layout = QVBoxLayout(body)

        self.status_label = QLabel(body)
        self.status_label.setObjectName("statusLabel")
        self.status_label.setWordWrap(True)
        self.status_label.setTextFormat(Qt.TextFormat.RichText)
        layout.addWidget(self.status_label)

        buttons = QHBoxLayout()
        self.settings_button = QPushButton(icon("settings.svg"), "Open settings…", body)
        self.settings_button.setObjectName("openSettingsButton")
        self.sandbox_button = QPushButton(TRY_TEXT, body)
        self.sandbox_button.setObjectName("useSandboxButton")
        self.sandbox_button.setToolTip(
            "Start the sandbox shipped with the plugin on this computer and use it: an emulated tasking "
            "service with its own simulated clock. No account, no terminal; its orders are kept in your "
            "QGIS profile."
        )
        # Also for a toolbar or menu (the plugin may add it): the selected features of the Captures layer.
        self.order_imagery_action = QAction("Order imagery of the selected captures…", self)
        self.order_imagery_action.setObjectName("orderImageryAction")
        self.order_imagery_action.setIconText("Order imagery…")  # what the dock's button shows
        self.order_imagery_action.setToolTip(
            "Order the archive imagery of the published captures selected in the Captures layer: bundle, clip "
            "to the tasking area or any polygon, delivery; downloaded and added to the map.")
        self.order_imagery_button = QToolButton(body)
        self.order_imagery_button.setObjectName("orderImageryDockButton")
        self.order_imagery_button.setDefaultAction(self.order_imagery_action)
        self.order_imagery_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        buttons.addWidget(self.settings_button)
        buttons.addWidget(self.sandbox_button)
        buttons.addWidget(self.order_imagery_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        # The Order imagery dialog (one, non-modal, kept while its order runs) and how its workflow is made.
        self.imagery_dialog: Optional[QWidget] = None
        # None: ArchiveWorkflow (not a bound method stored on self: that cycle would keep the dock's wrapper alive)
        self.archive_workflow_factory: Optional[Callable[[], Any]] = None

        # The sandbox the plugin started: that it runs, its simulated clock, the clock's speed, Reset.
        self.sandbox_controls = QWidget(body)
        self.sandbox_controls.setObjectName("sandboxControls")
        sandbox_row = QHBoxLayout(self.sandbox_controls)
        sandbox_row.setContentsMargins(0, 0, 0, 0)
        self.sandbox_status_label = QLabel(self.sandbox_controls)
        self.sandbox_status_label.setObjectName("sandboxStatusLabel")
        self.sandbox_status_label.setWordWrap(True)
        self.sandbox_speed_combo = QComboBox(self.sandbox_controls)
        self.sandbox_speed_combo.setObjectName("sandboxSpeedCombo")
        self.sandbox_speed_combo.setToolTip("How fast the sandbox's simulated clock runs: orders are "
                                            "scheduled, imaged and published on that clock.")
        for label, speed in sandbox_process.SPEEDS:
            self.sandbox_speed_combo.addItem(label, speed)
        self.sandbox_reset_button = QPushButton("Reset", self.sandbox_controls)
        self.sandbox_reset_button.setObjectName("sandboxResetButton")
        self.sandbox_reset_button.setToolTip("Empty the sandbox (its orders, captures and searches) and set "
                                             "its clock back to its start.")
        sandbox_row.addWidget(self.sandbox_status_label, 1)
        sandbox_row.addWidget(self.sandbox_speed_combo)
        sandbox_row.addWidget(self.sandbox_reset_button)
        layout.addWidget(self.sandbox_controls)
        self.sandbox_controls.setVisible(False)
        # Ticks the shown simulated time from the last reading; asks the sandbox nothing.
        self._clock_timer = QTimer(self)
        self._clock_timer.setInterval(1000)
        self._clock_timer.timeout.connect(self._show_sandbox_state)

        # The feature panels (New order, Orders) go here as tabs; disabled until a service is configured.
        self.content = QWidget(body)
        self.content.setObjectName("taskingContent")
        self.content_layout = QVBoxLayout(self.content)
        self.content_layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.content, 1)
        self.tabs: Optional[QTabWidget] = None
        # The tabs follow what the active service can do (see _build_panels); a dock given its service keeps it.
        self._fixed_service = service is not None
        self.service = service or registry.service()
        self.iface = iface
        self._build_panels()
        self.setWidget(body)
        self.order_imagery_action.triggered.connect(self.order_imagery_of_selection)

        # Both connections are to this dock's own children, so they go away with it.
        self.settings_button.clicked.connect(self.settingsRequested)
        self.sandbox_button.clicked.connect(self.use_sandbox)
        self.sandbox_speed_combo.activated.connect(self._sandbox_speed_chosen)
        self.sandbox_reset_button.clicked.connect(self.reset_sandbox)
        self.sandbox.started.connect(self._sandbox_started)
        self.sandbox.failed.connect(self._sandbox_failed)
        self.sandbox.stopped.connect(self._sandbox_stopped)
        self.refresh()
        if self.sandbox.is_running() or self.sandbox.is_starting():
            self._show_sandbox_state()

    def _build_panels(self) -> None:
        """The tabs for self.service: a service that cannot place orders gets no New order tab, one whose order
        form comes from a JSON Schema (UP42) its generated form, one with decisions to take a Decisions tab."""
        iface = self.iface
        placing = self.service.can(Capability.PLACE)
        self.new_order_panel = self._add_new_order_panel(iface) if placing else None
        # The Orders tab: a service with layer schemas has its orders listed page by page and mapped; a tasking
        # service without them (UP42) has its orders read whole into the same list, as a table only.
        self.orders_panel = self._add_orders_panel(iface)
        self.decisions_panel = self._add_decisions_panel(iface) if decisions.offered_for(self.service) else None
        if self.orders_panel is not None:
            self.orders_panel.serviceReachable.connect(self.service_reachable)
            self.orders_panel.details.imageryRequested.connect(self.order_imagery_of_order)
            self.orders_panel.decisionsRequested.connect(self.show_decisions)
            self._follow_orders_of_listed_service()

    def _shutdown_panels(self) -> None:
        for panel in (self.new_order_panel, getattr(self, "orders_panel", None), getattr(self, "decisions_panel", None)):
            if panel is not None:
                panel.shutdown()

    def _follow_active_service(self) -> None:
        """Another service chosen in the settings: its tabs replace the old service's (whose work is stopped)."""
        if self._fixed_service or registry.active_service_id() == self.service.id:
            return
        self._shutdown_panels()
        if self.tabs is not None:
            while self.tabs.count():
                widget = self.tabs.widget(0)
                self.tabs.removeTab(0)
                widget.deleteLater()
        self.service = registry.service()
        self._build_panels()

    def is_configured(self) -> bool:
        return settings.is_configured(self.service.id)

    def refresh(self) -> None:
        """Re-read the settings and show whether the plugin can talk to a service."""
        self._follow_active_service()
        configured = self.is_configured()
        if configured:
            where = settings.active_base_url(self.service.id)
            suffix = " (local sandbox)" if settings.use_sandbox() else ""
            self.status_label.setText(f"Using <tt>{where}</tt>{suffix}.")
        else:
            self.status_label.setText(not_configured_text(self.service.id))
        # Also offered when the settings point at a sandbox that does not answer and the plugin's own does not
        # run (after a restart of QGIS): one click brings it back, with the orders it kept. A sandbox the user
        # runs on that port answers, and then nothing is offered.
        ours = self.sandbox.is_running() or self.sandbox.is_starting()
        self.sandbox_button.setText(TRY_TEXT if not configured else RESTART_TEXT)
        self.sandbox_button.setVisible(not configured)
        if configured and settings.use_sandbox() and not ours:
            port = settings.sandbox_port()
            run_in_background(names.task_description("check the local sandbox"),
                              lambda feedback: settings.sandbox_answers(port),
                              on_success=lambda answers: self._sandbox_probed(port, answers))
        self.content.setEnabled(configured)
        self.order_imagery_action.setEnabled(configured)
        if getattr(self, "new_order_panel", None) is not None:
            self.new_order_panel.reload_settings()
        if getattr(self, "orders_panel", None) is not None:
            self.orders_panel.reload_settings()
        if getattr(self, "decisions_panel", None) is not None:
            self.decisions_panel.reload_settings()

    def _sandbox_probed(self, port: int, answers: bool) -> None:
        if sip.isdeleted(self.sandbox_button):  # the dock went away meanwhile
            return
        ours = self.sandbox.is_running() or self.sandbox.is_starting()
        still = settings.use_sandbox() and settings.sandbox_port() == port and not ours
        self.sandbox_button.setVisible(still and not answers)
        if still:
            self.service_reachable(answers, "" if answers else f"nothing answers on port {port}")

    # --- whether the service can be reached ---------------------------------------------------------

    def service_reachable(self, reachable: bool, detail: str = "", url: str = "") -> None:
        """A call to the configured service got through, or could not reach it (from the panels and probes).

        Unreachable: the message bar says the likely cause and the fix, once (not per failed task), again
        only after it was reachable in between; for the local sandbox with a button that starts it.
        Reachable again: that entry goes, and what is read from the service once (the sandbox's contract)
        is read now: it may not have been up when the dock started.
        """
        if not reachable and url and _origin(url) != _origin(settings.active_base_url(self.service.id)):
            return  # a late failure of a call to the service configured before, or to another service
        was, self._reachable = self._reachable, reachable
        if reachable:
            if was is not True:
                self._remove_unreachable_message()
                self._read_sandbox_contract()
            return
        if was is False or sip.isdeleted(self.sandbox_button):
            return
        self._push_unreachable_message(detail)

    def _push_unreachable_message(self, detail: str) -> None:
        from qgis import utils

        iface = self.iface or utils.iface
        if iface is None:
            return
        bar = iface.messageBar()
        where = settings.active_base_url()
        if settings.use_sandbox():
            text = (f"The local sandbox at {where} does not answer: it is not running (it stops when QGIS quits). "
                    "Start it here; its orders are kept.")
        else:
            text = (f"Cannot reach {where} ({detail}). Check the network connection, QGIS's proxy settings "
                    "(Settings ▸ Options ▸ Network) and the service URL in the plugin's settings.")
        self._remove_unreachable_message()
        item = QgsMessageBarItem(names.MESSAGE_TITLE, text, Qgis.MessageLevel.Warning, 0, bar)
        if settings.use_sandbox():
            button = QPushButton(RESTART_TEXT, item)
            button.setObjectName("startSandboxFromMessageButton")
            button.setToolTip("Start the sandbox shipped with the plugin on this computer and use it.")
            item.setWidget(button)
            button.clicked.connect(lambda *_: self._start_sandbox_from_message())
        bar.pushItem(item)
        self.unreachable_message = item
        _log.warning("The configured service cannot be reached: %s", detail or where)

    def _start_sandbox_from_message(self) -> None:
        self._remove_unreachable_message()
        self.use_sandbox()

    def _remove_unreachable_message(self) -> None:
        item, self.unreachable_message = self.unreachable_message, None
        if item is None:
            return
        from qgis import utils

        iface = self.iface or utils.iface
        try:
            if iface is not None and not sip.isdeleted(item) and item in iface.messageBar().items():
                iface.messageBar().popWidget(item)
        except (AttributeError, RuntimeError):  # closed by the user already, or QGIS closing
            pass

    def use_sandbox(self) -> None:
        """Start the sandbox the plugin ships (no account, no terminal); the settings follow it once it runs."""
        if self.sandbox.is_running():
            self._sandbox_started(self.sandbox.root_url or "")
            return
        self.sandbox_button.setEnabled(False)
        self._clock = None
        if self.sandbox.start():
            self._show_sandbox_state()

    def _sandbox_started(self, root_url: str) -> None:
        self.sandbox_button.setEnabled(True)
        if self.sandbox.port is not None:
            settings.set_sandbox_port(self.sandbox.port)
        self._use_sandbox_settings()
        self._show_sandbox_state()
        self._clock_timer.start()
        self._sandbox_call("read the local sandbox's clock", sandbox_process.read_clock)

    def _sandbox_failed(self, reason: str) -> None:
        self.sandbox_button.setEnabled(True)
        self._clock_timer.stop()
        self.sandbox_controls.setVisible(True)
        self.sandbox_speed_combo.setEnabled(False)
        self.sandbox_reset_button.setEnabled(False)
        self.sandbox_status_label.setText(f"<span style='color:#b00020'>{reason}</span>")
        self.refresh()

    def _sandbox_stopped(self) -> None:
        self._clock_timer.stop()
        self._clock = None
        self.sandbox_controls.setVisible(False)
        self.refresh()

    def _use_sandbox_settings(self) -> None:
        settings.set_use_sandbox(True)
        _log.info("Using the local sandbox at %s", settings.active_base_url())
        self.refresh()
        self._read_sandbox_contract()

    def _read_sandbox_contract(self) -> None:
        """Assured searches need a contract; the sandbox says which is its own (in a task: even a loopback
        request must not freeze the dock). Read whenever the sandbox comes up and none is set."""
        if not settings.use_sandbox() or settings.pl_number():
            return
        port = settings.sandbox_port()
        run_in_background(names.task_description("read the local sandbox's contract"),
                          lambda feedback: settings.sandbox_contract(port),
                          on_success=self._sandbox_contract_read)

    def _sandbox_contract_read(self, contract: Optional[str]) -> None:
        if contract and settings.use_sandbox() and not settings.pl_number():
            settings.set_pl_number(contract)
            self.refresh()

    # --- the sandbox's clock ------------------------------------------------------------------------

    def _sandbox_call(self, what: str, call: Callable[..., ClockReading], *args: Any,
                      then: Optional[Callable[[ClockReading], None]] = None) -> None:
        """A control request to the running sandbox, in a task (even loopback must not hold the GUI)."""
        root = self.sandbox.root_url
        if root is None:
            return
        self.sandbox_speed_combo.setEnabled(False)
        self.sandbox_reset_button.setEnabled(False)
        run_in_background(names.task_description(what), lambda feedback: call(root, *args),
                          on_success=then or self._clock_read, on_error=self._clock_failed)

    def _clock_read(self, reading: ClockReading) -> None:
        self._clock = reading
        self._show_sandbox_state()

    def _clock_failed(self, error: Any) -> None:
        _log.warning("The local sandbox's clock could not be read or set: %s", error)
        self._show_sandbox_state()

    def _sandbox_speed_chosen(self, index: int) -> None:
        speed = self.sandbox_speed_combo.itemData(index)
        self._sandbox_call("set the local sandbox's clock", sandbox_process.set_clock_speed, float(speed))

    def reset_sandbox(self) -> None:
        """Empty the sandbox and set its clock back to its start (then the lists re-read it)."""
        self._sandbox_call("reset the local sandbox", sandbox_process.reset_sandbox, then=self._sandbox_was_reset)

    def _sandbox_was_reset(self, reading: ClockReading) -> None:
        self._clock_read(reading)
        self.refresh()  # the panels re-read the now empty sandbox

    def _show_sandbox_state(self) -> None:
        running, starting = self.sandbox.is_running(), self.sandbox.is_starting()
        self.sandbox_controls.setVisible(running or starting)
        self.sandbox_speed_combo.setEnabled(running and self._clock is not None)
        self.sandbox_reset_button.setEnabled(running and self._clock is not None)
        if starting:
            self.sandbox_status_label.setText("Starting the local sandbox…")
        elif running:
            text = f"Local sandbox running on port {self.sandbox.port}"
            if self._clock is not None:
                text += f" · simulated time {self._clock.current():%Y-%m-%d %H:%M:%S} UTC"
                index = self.sandbox_speed_combo.findData(self._clock.speed)
                if index >= 0:
                    self.sandbox_speed_combo.setCurrentIndex(index)
            self.sandbox_status_label.setText(text + ".")

    def client(self) -> Optional[Any]:
        """A client for the current settings, or None when there is no factory or nothing is configured."""
        if self.client_factory is None or not self.is_configured():
            return None
        return self.client_factory()

    def add_tab(self, widget: QWidget, title: str) -> int:
        """Add a feature panel as a tab of the content (the tab bar is made on first use); returns its index."""
        if self.tabs is None:
            self.tabs = QTabWidget(self.content)
            self.tabs.setObjectName("taskingTabs")
            self.content_layout.addWidget(self.tabs)
        return self.tabs.addTab(widget, title)

    def _add_new_order_panel(self, iface: Optional[Any]):
        """The "New order" tab: draw or pick an AOI, see the quote, place the order. A service whose order form
        comes from each product's JSON Schema (UP42) gets the panel that generates it."""
        if self.service.can(Capability.SCHEMA_FORM):
            from .up42.order_panel import SchemaOrderPanel

            return self._add_panel(SchemaOrderPanel, "New order", iface)
        from .new_order.panel import NewOrderPanel

        return self._add_panel(NewOrderPanel, "New order", iface)

    def _add_orders_panel(self, iface: Optional[Any]):
        """The "Orders" tab: follow, edit and cancel orders. The active service's orders page by page with their
        map layers where it has layer schemas; besides them (or instead, for UP42) the orders of every tasking
        service listed whole whose account is set up, and with Planet its archive orders. None when the active
        service lists no orders."""
        from .orders.panel import OrdersPanel

        paged = self.service.layers is not None
        listed = {d.id: registry.client_factory(d.id) for d in listed_services()}
        if self.service.id in listed and self.client_factory is not None:
            listed[self.service.id] = self.client
        if not paged and self.service.id not in listed:
            return None
        options: Dict[str, Any] = {"paged": paged, "listed_client_factories": listed}
        if not paged:
            options["archive_client_factory"] = None  # Planet's archive orders go with Planet's tasking list
        return self._add_panel(functools.partial(OrdersPanel, **options), "Orders", iface)

    def _follow_orders_of_listed_service(self) -> None:
        """A tasking service listed whole (UP42) is read again when an order is placed or decided here: its list is
        re-read by itself only while an order shown still moves, so a new order would wait for a Refresh."""
        if self.service.id not in self.orders_panel.merged:
            return
        service_id, panel = self.service.id, self.orders_panel
        placing = getattr(self.new_order_panel, "placing", None)
        if placing is not None and hasattr(placing, "placed"):
            placing.placed.connect(lambda *_: panel.refresh_merged(service_id, restart=True))
        if self.decisions_panel is not None:
            self.decisions_panel.workflow.decided.connect(lambda *_: panel.refresh_merged(service_id, restart=True))

    def show_decisions(self, *_: Any) -> None:
        """Bring the Decisions tab forward (an order in the Orders tab waits for a decision there)."""
        if self.tabs is not None and getattr(self, "decisions_panel", None) is not None:
            self.tabs.setCurrentWidget(self.decisions_panel)

    def _add_decisions_panel(self, iface: Optional[Any]):
        """The "Decisions" tab (UP42): feasibility options and quotations, accepted or rejected after a confirmation."""
        from .decisions.panel import DecisionsPanel

        return self._add_panel(DecisionsPanel, "Decisions", iface)

    def _add_panel(self, panel_class: Callable[..., QWidget], title: str, iface: Optional[Any]):
        """A feature panel as a tab; panels need QGIS's interface (its map canvas), so without one there is none."""
        from qgis import utils

        iface = iface or utils.iface
        if iface is None or iface.mapCanvas() is None:
            return None
        # Without an injected factory the panel builds clients from the settings itself.
        factory = self.client if self.client_factory is not None else registry.client_factory()
        panel = panel_class(factory, iface, self.content)
        self.add_tab(panel, title)
        return panel

    # --- ordering imagery of captures ---------------------------------------------------------------

    def _archive_workflow(self) -> Any:
        from ..core.app.archive import ArchiveWorkflow

        return ArchiveWorkflow()

    def order_imagery_of_selection(self) -> Optional[QWidget]:
        """Open the Order imagery dialog for the published captures selected in the plugin's Captures layer."""
        from .archive.sources import captures_layer, selected_captures, tasking_aoi

        active = self.iface.activeLayer() if self.iface is not None else None
        captures, skipped = selected_captures(captures_layer(QgsProject.instance(), active))
        return self.open_imagery_dialog(captures, tasking_aoi([c.order_id for c in captures]), skipped)

    def order_imagery_of_order(self, order: Any, captures: list) -> Optional[QWidget]:
        """Open the Order imagery dialog for an order's published captures, clipped to its area by default."""
        from .archive.sources import order_aoi, published_from_models

        published = published_from_models(captures)
        return self.open_imagery_dialog(published, order_aoi(order), 0)

    def open_imagery_dialog(self, captures: list, aoi: Any, skipped: int) -> Optional[QWidget]:
        """Show the one Order imagery dialog with these captures (while its order runs it keeps its own)."""
        from .archive.dialog import OrderImageryDialog

        dialog = self.imagery_dialog
        if dialog is None or sip.isdeleted(dialog):
            try:
                workflow = (self.archive_workflow_factory or self._archive_workflow)()
            except Exception as error:  # noqa: BLE001 - e.g. no archive service configured: say so, keep the dock
                _log.warning("Archive imagery cannot be ordered: %s", error)
                self._push_message(f"Archive imagery cannot be ordered: {error}", Qgis.MessageLevel.Warning)
                return None
            parent = self.iface.mainWindow() if self.iface is not None else None
            dialog = OrderImageryDialog(workflow, self.iface, parent, captures=captures, tasking_aoi=aoi,
                                        skipped=skipped)
            if workflow.parent() is None:
                workflow.setParent(dialog)  # the workflow lives as long as its dialog
            self.imagery_dialog = dialog
        elif not dialog.placing:
            dialog.set_captures(captures, aoi, skipped)
        dialog.show()
        dialog.raise_()
        dialog.activateWindow()
        return dialog

    def _push_message(self, text: str, level: Any) -> None:
        from qgis import utils

        iface = self.iface or utils.iface
        if iface is not None:
            iface.messageBar().pushMessage(names.MESSAGE_TITLE, text, level, 8)

    def shutdown(self) -> None:
        """Stop everything the dock's panels started (tasks, timers, map tools) before the plugin unloads."""
        self._clock_timer.stop()
        dialog, self.imagery_dialog = self.imagery_dialog, None
        if dialog is not None and not sip.isdeleted(dialog):
            if dialog.placing:
                dialog.workflow.cancel()
            dialog.close()
            dialog.deleteLater()
        self._remove_unreachable_message()  # its button calls this dock
        for signal, slot in ((self.sandbox.started, self._sandbox_started), (self.sandbox.failed, self._sandbox_failed),
                             (self.sandbox.stopped, self._sandbox_stopped)):
            try:
                signal.disconnect(slot)
            except (TypeError, RuntimeError):
                pass
        if self._owns_sandbox:
            self.sandbox.stop()
        self._shutdown_panels()
