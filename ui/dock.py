"""The tasking dock: the plugin's main panel, with the "New order" and "Orders" tabs and the connection state."""

from __future__ import annotations

from typing import Any, Callable, Optional

from qgis.gui import QgsDockWidget
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QPushButton, QTabWidget, QVBoxLayout, QWidget

from ..core import names, settings
from ..core.log import get_logger
from ..core.services import registry
from ..core.services.base import Capability, ServiceDescriptor
from ..core.tasks import run_in_background
from .shared.icons import icon

_log = get_logger("dock")

NOT_CONFIGURED_TEXT = (
    "<b>Not configured.</b><br>Open the settings to enter your Planet API key, "
    "or use the local sandbox to try the plugin without an account."
)


class TaskingDock(QgsDockWidget):
    """The plugin's dock; `client_factory` builds the API client from the current settings when needed."""

    # The dock cannot open the settings dialog itself (the plugin owns it), so it asks.
    settingsRequested = pyqtSignal()  # noqa: N815 - Qt signal naming

    def __init__(self, client_factory: Optional[Callable[[], Any]] = None, parent: Optional[QWidget] = None,
                 iface: Optional[Any] = None, service: Optional[ServiceDescriptor] = None):
        super().__init__(names.PLUGIN_TITLE, parent)
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
        self.sandbox_button = QPushButton("Use local sandbox", body)
        self.sandbox_button.setObjectName("useSandboxButton")
        self.sandbox_button.setToolTip(
            "Point the plugin at the sandbox on this computer "
            "(start it with `make sandbox` or `python3 -m sandbox`)."
        )
        buttons.addWidget(self.settings_button)
        buttons.addWidget(self.sandbox_button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        # The feature panels (New order, Orders) go here as tabs; disabled until a service is configured.
        self.content = QWidget(body)
        self.content.setObjectName("taskingContent")
        self.content_layout = QVBoxLayout(self.content)
        self.content_layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.content, 1)
        self.tabs: Optional[QTabWidget] = None
        # The tabs follow what the active service can do: a service that cannot place orders gets no New order tab.
        self.service = service or registry.service()
        placing = self.service.can(Capability.PLACE)
        self.new_order_panel = self._add_new_order_panel(iface) if placing else None
        self.orders_panel = self._add_orders_panel(iface)
        self.setWidget(body)

        # Both connections are to this dock's own children, so they go away with it.
        self.settings_button.clicked.connect(self.settingsRequested)
        self.sandbox_button.clicked.connect(self.use_sandbox)
        self.refresh()

    def is_configured(self) -> bool:
        return settings.is_configured()

    def refresh(self) -> None:
        """Re-read the settings and show whether the plugin can talk to a service."""
        configured = self.is_configured()
        if configured:
            where = settings.active_base_url()
            suffix = " (local sandbox)" if settings.use_sandbox() else ""
            self.status_label.setText(f"Using <tt>{where}</tt>{suffix}.")
        else:
            self.status_label.setText(NOT_CONFIGURED_TEXT)
        self.sandbox_button.setVisible(not configured)
        self.content.setEnabled(configured)
        if getattr(self, "new_order_panel", None) is not None:
            self.new_order_panel.reload_settings()
        if getattr(self, "orders_panel", None) is not None:
            self.orders_panel.reload_settings()

    def use_sandbox(self) -> None:
        settings.set_use_sandbox(True)
        _log.info("Using the local sandbox at %s", settings.active_base_url())
        self.refresh()
        if not settings.pl_number():
            # Assured searches need a contract; the sandbox says which is its own (in a task: even a
            # loopback request must not freeze the dock).
            port = settings.sandbox_port()
            run_in_background(names.task_description("read the local sandbox's contract"),
                              lambda feedback: settings.sandbox_contract(port),
                              on_success=self._sandbox_contract_read)

    def _sandbox_contract_read(self, contract: Optional[str]) -> None:
        if contract and settings.use_sandbox() and not settings.pl_number():
            settings.set_pl_number(contract)
            self.refresh()

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
        """The "New order" tab: draw or pick an AOI, see the quote, place the order."""
        from .new_order.panel import NewOrderPanel

        return self._add_panel(NewOrderPanel, "New order", iface)

    def _add_orders_panel(self, iface: Optional[Any]):
        """The "Orders" tab: follow, edit and cancel orders."""
        from .orders.panel import OrdersPanel

        return self._add_panel(OrdersPanel, "Orders", iface)

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

    def shutdown(self) -> None:
        """Stop everything the dock's panels started (tasks, timers, map tools) before the plugin unloads."""
        if self.new_order_panel is not None:
            self.new_order_panel.shutdown()
        if getattr(self, "orders_panel", None) is not None:
            self.orders_panel.shutdown()
