"""The Orders tab: follow, edit and cancel tasking orders, with their footprints and captures on the map, and
other services' orders in the same list: archive imagery orders (state, messages, results, cancel while queued,
the queue depth, downloading an order's files with its rasters put on the map) and the orders of a tasking
service listed whole (UP42: status and sub-status, cancel where allowed, the decision an order waits for).

The panel shows and forwards: the workflows are core.app's (orders_refresh: loading and the automatic
refresh; orders_mirror: the layers; cancel and edit; merged_orders: other services' orders, archive_orders and
listed_orders their sources), its selection both ways is ui.orders.selection's.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from qgis.core import Qgis, QgsProject, QgsVectorLayer
from qgis.gui import QgsCollapsibleGroupBox
from qgis.PyQt.QtCore import Qt, QTimer, QUrl, pyqtSignal
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...core import names, settings
from ...core.app.archive import ArchiveWorkflow, download_error_text  # noqa: F401 - also the tab's API
from ...core.app.archive_orders import ArchiveOrders, archive_service_id
from ...core.app.cancel import CancelOutcome, CancelWorkflow, cancellable, charge_question
from ...core.app.edit import EditWorkflow, edit_problems
from ...core.app.listed_orders import ListedTaskingSource
from ...core.app.merged_orders import CancelOutcome as MergedCancelOutcome
from ...core.app.merged_orders import MergedOrders, MergedSource
from ...core.app.orders_background import TaskGroup, error_text
from ...core.app.orders_details import read_details
from ...core.app.orders_mirror import OrdersMirror
from ...core.app.orders_refresh import ChangeSet, OrdersRefresh, diff_orders, pack_compact_orders, unpack_order
from ...core.errors import Cancelled, MalformedResponseError, NetworkError
from ...core.services import registry
from ...core.services.planet_tasking.models import Order
from ...core.settings import AuthStorageError
from ..bulk.messages import push_message, push_with_button
from .archive_details import ArchiveOrderDetails, download_verdict
from .details import OrderDetailsWidget, StatusLabel
from .filters import OrderFilters
from .listed_details import ListedOrderDetails
from .model import COLUMNS, OrdersQuery, OrdersTableModel
from .selection import SelectionSync
from .table import OrdersView

try:
    from qgis.PyQt import sip
except ImportError:  # pragma: no cover
    import sip  # type: ignore[no-redef]


def _connection_key(paged: bool = True, listed: Sequence[str] = ()) -> tuple:
    """What decides which account's orders the tab shows; read from QgsSettings only (no auth database): the
    paged service's address, key and contract (when it is listed), each listed service's address and account."""
    key: tuple = (settings.use_sandbox(),)
    if paged:
        key += (settings.active_base_url(), settings.auth_config_id(), settings.pl_number())
    for service_id in listed:
        key += (settings.active_base_url(service_id), settings.auth_config_id(service_id))
    return key


# Seconds before each automatic retry of a failed load: short at first (a sandbox starting, a blip), then
# capped, so a service that is down is asked every few minutes, not hammered.
RETRY_DELAYS = (5, 10, 20, 40, 80, 160, 240)
# How often the archive orders shown are read again while any of them is queued or running (the service
# moves them on by itself; the tasking refresh has its own adaptive interval).
ARCHIVE_REFRESH_SECONDS = 30
_FROM_REGISTRY = object()
# How a download of an order not finished yet follows it: the first look after 5 s, backing off to 30 s.
DOWNLOAD_POLL_SECONDS = (5.0, 30.0)


def _registry_archive_factory() -> Optional[Callable[[], Any]]:
    service_id = archive_service_id()
    return registry.client_factory(service_id) if service_id else None


def _paged_by_default() -> bool:
    """Whether the active service's orders are listed page by page and mapped (it has layer schemas)."""
    return registry.service().layers is not None


class OrdersPanel(SelectionSync, QWidget):
    """Server-backed orders view with filters, sorting, paging, automatic refresh, details, edit and cancel.

    `client_factory()` returns a client for the current settings (or None when not configured);
    each background task gets its own. `iface` gives the map canvas (zoom) and message bar; may be None.
    `archive_client_factory()` does the same for the archive imagery service (by default the registry's
    service that has archive ordering; None: tasking orders only). `listed_client_factories` maps the id of
    each tasking service whose orders are read whole (UP42) to its client factory (none by default; the dock
    gives every one, and those whose factory makes a client, i.e. configured, are offered). `paged`: whether the list holds the active tasking service's paged listing
    (with its map layers); by default when that service has layer schemas (not UP42).
    Public for other panels (bulk operations): selected_order_ids() (tasking orders) and the
    selectedOrdersChanged signal; selected_archive_orders() (every other service's orders selected).
    """

    selectedOrdersChanged = pyqtSignal(list)  # noqa: N815 - Qt signal naming
    refreshed = pyqtSignal(object)  # noqa: N815 - the ChangeSet of a finished refresh
    layersUpdated = pyqtSignal()  # noqa: N815
    cancellationsCounted = pyqtSignal(object)  # noqa: N815 - the service's count of today's cancellations
    cancelFinished = pyqtSignal(object)  # noqa: N815 - a core.app.cancel.CancelOutcome
    orderSaved = pyqtSignal(object)  # noqa: N815 - the order read back after an edit
    detailsLoaded = pyqtSignal(str)  # noqa: N815
    decisionsRequested = pyqtSignal(str)  # noqa: N815 - a listed order waiting for a decision: its id
    # Whether the service answered (True) or could not be reached (False, what failed): the dock says the
    # likely cause once and re-reads what it knows of the service when it comes back.
    # The third value is the URL of the request that failed ("" when not known), so a late failure of a call
    # to a service configured before is not taken for the current one.
    serviceReachable = pyqtSignal(bool, str, str)  # noqa: N815

    def __init__(self, client_factory: Callable[[], Any], iface: Any = None, parent: Optional[QWidget] = None, *,
                 auto_refresh: bool = True, page_size: int = 100, now: Optional[Callable[[], datetime]] = None,
                 project: Optional[QgsProject] = None, archive_client_factory: Any = _FROM_REGISTRY,
                 listed_client_factories: Optional[Dict[str, Callable[[], Any]]] = None,
                 paged: Optional[bool] = None):
        super().__init__(parent)
        self.client_factory = client_factory
        self.archive_client_factory = (_registry_archive_factory() if archive_client_factory is _FROM_REGISTRY
                                       else archive_client_factory)
        self.paged = _paged_by_default() if paged is None else paged
        self.iface = iface
        self.now = now or (lambda: datetime.now(timezone.utc))
        self.project = project or QgsProject.instance()
        # Footprints as WKB bytes by order id: the rows keep no geometry (see core.app.orders_refresh).
        self.order_footprints: Dict[str, Optional[bytes]] = {}
        self.tasks = TaskGroup(self._task_failed)
        self.model = OrdersTableModel(self._start_page, page_size=page_size, parent=self)
        self.refresher = OrdersRefresh(self.model, self._client, self.tasks, auto=auto_refresh, parent=self)
        self.mirror = OrdersMirror(self.project, self._client, self.tasks, parent=self)
        self.canceller = CancelWorkflow(self._client, self.tasks.run, parent=self)
        self.editor = EditWorkflow(self._client, self.tasks.run, parent=self)
        self.archive = ArchiveOrders(self._archive_client, self.tasks, parent=self)
        # Every other service whose orders the list merges in, by its id: the archive service's (when it can be
        # configured) and each listed tasking service's (UP42), with its own refresh timer and details.
        self.merged: Dict[str, MergedOrders] = {}
        self.merged_timers: Dict[str, QTimer] = {}
        self.merged_errors: Dict[str, str] = {}  # each listing's failure shown in the message line
        self.showing: List[str] = []  # the ids of the sources whose orders are in the list now
        self.listed_client_factories = dict(listed_client_factories or {})        # The downloads of archive orders running now, one workflow per order (one download per order).
        self.downloads: Dict[str, ArchiveWorkflow] = {}
        self.download_poll = DOWNLOAD_POLL_SECONDS
        self.auto_refresh = auto_refresh
        # (object, signal, slot) connected to objects that outlive the panel (the layers stay in the project
        # at unload): disconnected in shutdown() and before other layers are taken, or a selection after a
        # plugin reload would call a deleted panel and keep the old module alive.
        self._layer_connections: List[tuple] = []
        self._syncing_selection = False
        self._zoom_on_select = True
        # Orders picked on the map that the list had not loaded: pages are read until they are shown.
        self._map_picked: List[str] = []
        self._map_picked_generation = -1
        self._started = False
        self._loaded_for: Optional[tuple] = None  # the _connection_key() of what is shown

        self._build_widgets()
        self._connect()

        self._filter_timer = QTimer(self)
        self._filter_timer.setSingleShot(True)
        self._filter_timer.setInterval(400)
        self._filter_timer.timeout.connect(self.apply_filters)

        # A failed load tries again by itself, waiting longer each time (RETRY_DELAYS, then the last one).
        self._call_error_shown = False  # the message line shows a failed call: the next success clears it
        self._retries = 0
        self._retry_at: Optional[datetime] = None
        self._retry_timer = QTimer(self)
        self._retry_timer.setSingleShot(True)
        self._retry_timer.timeout.connect(self._retry_load)

    # -- what tests and other panels read -------------------------------------------------------------------

    @property
    def orders_layer(self) -> Optional[QgsVectorLayer]:
        return self.mirror.orders_layer

    @property
    def captures_layer(self) -> Optional[QgsVectorLayer]:
        return self.mirror.captures_layer

    @property
    def _closed(self) -> bool:
        return self.tasks.closed

    # -- widgets ------------------------------------------------------------------------------------------

    def _build_widgets(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # The filters fold away (folded at first): in a narrow dock the rows need the height more.
        self.filters_box = QgsCollapsibleGroupBox("Filters", self)
        self.filters_box.setObjectName("ordersFiltersBox")
        self.filters_box.setSaveCollapsedState(False)
        self.filters_box.setToolTip("Filter the orders by status, name, scheduling, type and time; click the title "
                                    "to show or hide the filters.")
        self.filters = OrderFilters(self.filters_box)
        QVBoxLayout(self.filters_box).addWidget(self.filters)
        self.filters_box.setCollapsed(True)
        for name in ("service_filter", "status_filter", "name_filter", "scheduling_filter", "order_type_filter",
                     "created_from", "created_to", "updated_from", "updated_to"):
            setattr(self, name, getattr(self.filters, name))
        layout.addWidget(self.filters_box)

        buttons = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setObjectName("refreshOrdersButton")
        self.refresh_button.setToolTip("Read the loaded orders and the map's orders and captures again now "
                                       "(refreshes also run by themselves).")
        self.cancel_button = QPushButton("Cancel selected…", self)
        self.cancel_button.setObjectName("cancelSelectedButton")
        self.cancel_button.setEnabled(False)
        self.save_button = QPushButton("Save…", self)  # short: the row fits a dock 400 px wide
        self.save_button.setObjectName("saveGeoPackageButton")
        self.save_button.setToolTip("Save as GeoPackage: keep a copy of the 'Tasking orders' and 'Captures' "
                                    "layers in a GeoPackage file.")
        for button in (self.refresh_button, self.cancel_button, self.save_button):
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)

        self.count_label = QLabel(self)
        self.count_label.setObjectName("orderCountLabel")
        # Lines that are often empty take no room then (no blank gap above the table).
        self.cancellations_label = StatusLabel(self)
        self.cancellations_label.setObjectName("cancellationsLabel")
        self.cancellations_label.setWordWrap(True)
        self.queue_label = StatusLabel(self)
        self.queue_label.setObjectName("archiveQueueLabel")
        self.queue_label.setToolTip("Archive imagery orders of your organisation waiting in the service's queue "
                                    "and being processed (the service's stats).")
        self.refresh_label = StatusLabel(self)
        self.refresh_label.setObjectName("refreshLabel")
        self.message_label = StatusLabel(self)
        self.message_label.setObjectName("ordersMessageLabel")
        self.message_label.setWordWrap(True)
        map_row = QHBoxLayout()
        self.map_label = QLabel(self)
        self.map_label.setObjectName("mapLabel")
        self.map_label.setWordWrap(True)  # "stopped at … refresh to complete it" must not widen the dock
        self.map_label.setToolTip("The map layers hold every order matching the filters and all their captures, "
                                  "not only the rows loaded in the table.")
        self.map_progress = QProgressBar(self)
        self.map_progress.setObjectName("mapProgress")
        self.map_progress.setMaximumHeight(14)
        self.map_progress.setTextVisible(False)
        self.map_progress.hide()
        self.map_stop_button = QPushButton("Stop", self)
        self.map_stop_button.setObjectName("mapStopButton")
        self.map_stop_button.setToolTip("Stop loading the map; what is drawn stays, the next refresh completes it.")
        self.map_stop_button.hide()
        map_row.addWidget(self.map_label, 1)
        map_row.addWidget(self.map_progress, 1)
        map_row.addWidget(self.map_stop_button)
        layout.addWidget(self.count_label)
        layout.addLayout(map_row)
        layout.addWidget(self.cancellations_label)
        layout.addWidget(self.queue_label)
        layout.addWidget(self.refresh_label)
        layout.addWidget(self.message_label)

        self.splitter = splitter = QSplitter(Qt.Orientation.Vertical, self)
        splitter.setObjectName("ordersSplitter")
        splitter.setChildrenCollapsible(False)
        self.view = OrdersView(self.model, splitter)
        # A selected archive order shows its own details in the tasking details' place.
        self.details_stack = QStackedWidget(splitter)
        self.details = OrderDetailsWidget(self.details_stack)
        self.archive_details = ArchiveOrderDetails(self.details_stack)
        self.details_stack.addWidget(self.details)
        self.details_stack.addWidget(self.archive_details)
        self.merged_details: Dict[str, QWidget] = {}  # each merged source's details, by its service id
        self._add_sources()
        splitter.addWidget(self.view)
        splitter.addWidget(self.details_stack)
        # The details (summary, captures, pricing) get more room than the rows; _size_splitter sets the first sizes.
        splitter.setStretchFactor(0, 2)
        splitter.setStretchFactor(1, 3)
        self._splitter_sized = False
        layout.addWidget(splitter, 1)
        if not self.paged:
            # No paged listing, so no map layers: the list holds the listed services' orders only (UP42 has no
            # layer schemas), which the map line says rather than loading layers that would stay empty.
            self.save_button.hide()
            self.map_label.setText("Map: " + ", ".join(m.source.label for m in self.merged.values()
                                                       if m.source.key in self.listed_client_factories)
                                   + " orders are listed here only; they have no map layers.")
        self._update_count()

    def _add_sources(self) -> None:
        """The merged sources: the archive service's (with a factory) and each listed tasking service's."""
        if self.archive_client_factory is not None:
            self._add_source(self.archive, self.archive_details)
        for service_id, factory in self.listed_client_factories.items():
            source = ListedTaskingSource(registry.service(service_id))
            details = ListedOrderDetails(source, self.details_stack)
            self.details_stack.addWidget(details)
            details.cancelRequested.connect(self.cancel_orders)
            details.decisionsRequested.connect(self.decisionsRequested)
            self._add_source(MergedOrders(source, self._guarded(factory), self.tasks, parent=self), details)
        self._offered: Optional[Tuple[str, ...]] = None
        self._offer_sources()

    def _offer_sources(self) -> Tuple[str, ...]:
        """Offer (in the Service filter) the archive orders and each listed service whose account is set up now
        (its factory makes a client); the ids offered. Asked again when the settings may have changed."""
        offered = []
        for key, lister in self.merged.items():
            if lister is self.archive:
                offered.append(key)  # offered as before: a missing key is said when its orders are asked for
                continue
            probe = lister.client_factory()
            if probe is not None:
                offered.append(key)
                if callable(getattr(probe, "close", None)):
                    probe.close()  # only asked whether the service is configured
        if tuple(offered) != self._offered:
            self._offered = tuple(offered)
            self.filters.set_sources(self.paged, [self.merged[key].source for key in offered])
        return self._offered

    def _add_source(self, lister: MergedOrders, details: QWidget) -> None:
        key = lister.source.key
        self.merged[key] = lister
        self.merged_details[key] = details
        # Read again after a while as long as any order shown is in a state the service still moves on from.
        timer = QTimer(self)
        timer.setSingleShot(True)
        timer.setInterval((ARCHIVE_REFRESH_SECONDS if lister is self.archive else lister.source.refresh_seconds)
                          * 1000)
        timer.timeout.connect(lambda: self.refresh_merged(key))
        self.merged_timers[key] = timer
        lister.listed.connect(lambda orders: self._merged_listed(key, orders))
        lister.listFailed.connect(lambda error: self._merged_list_failed(key, error))
        lister.cancelFinished.connect(lambda outcome, fresh: self._merged_cancelled(key, outcome, fresh))
        lister.cancelFailed.connect(lambda error: self._merged_cancel_failed(key, error))

    def _guarded(self, factory: Callable[[], Any]) -> Callable[[], Any]:
        """A client factory that gives None where the service's secret cannot be read (said elsewhere)."""
        def make():
            try:
                return factory()
            except AuthStorageError:
                return None
        return make

    @property
    def _archive_timer(self) -> Optional[QTimer]:
        return self.merged_timers.get(self.archive.source.key)

    @property
    def showing_archive(self) -> bool:
        """Archive orders are in the list (the Service filter and a configured service)."""
        return self.archive.source.key in self.showing
    def column_menu(self) -> QMenu:
        return self.view.column_menu()

    def _title_filters(self) -> None:
        """Folded filters still say that they narrow the list."""
        active = self.filters.active_count()
        self.filters_box.setTitle(f"Filters ({active} active)" if active else "Filters")

    def _size_splitter(self) -> None:
        """First sizes once the panel has its height: two fifths for the rows, the rest for the details."""
        height = self.splitter.height()
        if self._splitter_sized or height < 200:
            return
        self._splitter_sized = True
        rows = max(self.view.verticalHeader().defaultSectionSize() * 4 + self.view.horizontalHeader().height(),
                   height * 2 // 5)
        self.splitter.setSizes([rows, height - rows])

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if self.isVisible():
            self._size_splitter()

    def _connect(self) -> None:
        self.filters.changed.connect(lambda: self._filter_timer.start())
        self.filters.changed.connect(self._title_filters)
        self.view.horizontalHeader().sortIndicatorChanged.connect(self._on_sort_indicator)
        self.view.selectionModel().selectionChanged.connect(self._on_view_selection)
        self.model.totalChanged.connect(lambda *_: self._update_count())
        self.model.rowsInserted.connect(lambda *_: self._update_count())
        self.model.modelReset.connect(self._update_count)
        self.model.loadingChanged.connect(lambda *_: self._update_count())
        self.model.loadFailed.connect(self._load_failed)
        self.model.pageLoaded.connect(self._on_page_loaded)
        self.model.listingShifted.connect(lambda: QTimer.singleShot(0, self._refresh_table))
        self.map_stop_button.clicked.connect(self.stop_map)
        self.refresh_button.clicked.connect(self.refresh_now)
        self.cancel_button.clicked.connect(lambda: self.cancel_orders(
            self.selected_order_ids() + [o.id for o in self.selected_archive_orders()]))
        self.save_button.clicked.connect(self._ask_save_geopackage)
        self.details.saveRequested.connect(self.save_order)
        self.details.cancelRequested.connect(self.cancel_orders)
        self.archive_details.cancelRequested.connect(self.cancel_orders)
        self.archive_details.downloadRequested.connect(self.download_archive_order)
        self.archive_details.downloadCancelRequested.connect(self.cancel_download)
        self.archive.depthRead.connect(lambda depth: self.queue_label.setText(depth.summary()))
        self.archive.depthFailed.connect(
            lambda error: self.queue_label.setText(f"Archive queue: not known ({error_text(error).rstrip('.')})."))
        self.refresher.changesWaiting.connect(self.refresh_now)
        self.refresher.windowRead.connect(self.apply_refreshed)
        self.refresher.footprintsRead.connect(self.order_footprints.update)
        self.refresher.failed.connect(self._refresh_failed)
        self.mirror.started.connect(self._map_started)
        self.mirror.progressed.connect(self._map_progressed)
        self.mirror.ended.connect(self._map_ended)
        self.mirror.failed.connect(self.show_call_error)
        self.mirror.layersGone.connect(
            lambda: self.map_label.setText("Map: a layer was removed; refresh to make it again."))
        self.mirror.layersTaken.connect(self._connect_layers)
        self.canceller.finished.connect(self._finish_cancel)
        self.canceller.counted.connect(self._show_cancellations)
        self.canceller.countFailed.connect(self.cancellations_label.setText)
        self.editor.saved.connect(self._saved)
        self.editor.failed.connect(self._save_failed)

    # -- background work ----------------------------------------------------------------------------------

    def _client(self):
        try:
            client = self.client_factory() if self.client_factory is not None else None
        except AuthStorageError as error:
            # Called from timers, buttons and page loads (Qt slots): an exception would reach QGIS's
            # Python error dialog, and the refresh timer would ask for the master password every tick.
            text = f"Cannot read the API key: {error} Open the settings to try again."
            self.show_message(text, error=True)
            if not self.refresher.blocked and self.iface is not None:
                self.iface.messageBar().pushMessage(names.MESSAGE_TITLE, text, Qgis.MessageLevel.Critical, 0)
            self.refresher.blocked = True
            self.refresher.stop()
            return None
        if client is None:
            self.show_message("Not configured: set an API key or use the local sandbox in the settings.", error=True)
        return client

    def _archive_client(self):
        """A client of the archive service, or None (not configured, or the key cannot be read: the tasking
        side says so, with the same key)."""
        if self.archive_client_factory is None:
            return None
        try:
            return self.archive_client_factory()
        except AuthStorageError:
            return None

    def busy(self) -> bool:
        """Whether any request or layer write of this panel is still under way (tests wait on it)."""
        return (self.tasks.busy() or self.mirror.busy() or self.model.loading or self._filter_timer.isActive()
                or any(lister.busy() for lister in self.merged.values()))

    # -- loading --------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Load the first page, once (the tab does it when first shown, so a hidden tab costs no requests)."""
        # Also reached through QTimer.singleShot, which may fire after shutdown(): a closed panel loads nothing.
        if not self._started and not self._closed:
            self._started = True
            self._loaded_for = self._connection_key()
            self.apply_filters()

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        QTimer.singleShot(0, self._size_splitter)  # laid out by then
        if not self._started:
            QTimer.singleShot(0, self.start)

    def _connection_key(self) -> tuple:
        """The accounts the tab shows the orders of, and the services offered (those set up now)."""
        return _connection_key(self.paged, tuple(self.listed_client_factories)) + (self._offer_sources(),)

    def reload_settings(self) -> None:
        """The service or key changed: everything shown may belong to another account, so load again.

        The dock calls this whenever it is shown and whenever the settings dialog closes; reloading then
        would throw away the loaded pages, the map's bookkeeping, the selection and the scroll position
        for nothing, so only a change of service, key, sandbox switch or contract reloads.
        """
        blocked, self.refresher.blocked = self.refresher.blocked, False  # the user may have unlocked the auth database
        key = self._connection_key()
        if self._started and (blocked or key != self._loaded_for):
            self._loaded_for = key
            self.refresher.watermark = None
            self.mirror.forget()
            self.apply_filters()

    def query_from_widgets(self) -> OrdersQuery:
        return self.filters.query(self.model.query.ordering)

    def set_statuses(self, statuses: Sequence[str]) -> None:
        """Check exactly these statuses in the status filter (the view reloads shortly after)."""
        self.filters.set_statuses(statuses)

    def apply_filters(self) -> None:
        self._filter_timer.stop()
        if self._closed:
            return
        self.refresher.interval.reset()
        tasking = self.filters.tasking_wanted()
        wanted = [m for m in self.merged.values() if self.filters.source_wanted(m.source)]
        self.showing = []
        unconfigured = []
        for lister in wanted:
            probe = lister.client_factory()
            if probe is None:
                unconfigured.append(lister.source)
                continue
            if callable(getattr(probe, "close", None)):
                probe.close()  # only asked whether the service is configured
            self.showing.append(lister.source.key)
        self.model.set_services(tasking, bool(self.showing))
        self.view.show_source_columns(self._source_columns())
        self.model.clear_merged()
        for key, lister in self.merged.items():
            lister.forget()
            self.merged_timers[key].stop()
        self.merged_errors.clear()
        if not self.showing_archive:
            self.queue_label.clear()
        self.model.set_query(self.query_from_widgets())
        for key in self.showing:
            self.merged[key].load(self.filters.source_filter(self.merged[key].source))
        if not tasking and not self.showing:
            # Nothing to list: say which service's account is missing (one not offered is not configured either).
            unconfigured += [m.source for key, m in self.merged.items() if key not in (self._offered or ())]
            if unconfigured:
                self.show_message(" ".join(dict.fromkeys(self._not_configured(s) for s in unconfigured)), error=True)
        if not tasking:
            self.refresher.stop()
            return
        self.refresh_map()
        self.refresher.probe_baseline()
        self.count_cancellations()

    def _source_columns(self) -> List[str]:
        """The merged services' columns the list fills now: Service, and each shown source's own."""
        if not self.showing:
            return []
        columns = ["service"]
        for key in self.showing:
            columns += ["result_count"] if self.merged[key] is self.archive else ["sub_status"]
        return columns

    @staticmethod
    def _not_configured(source: MergedSource) -> str:
        if source.choice == "archive":
            return ("Archive orders: not configured; set the Planet API key (or use the local sandbox) in the "
                    "settings.")
        return f"{source.label} orders: not configured; set its account (or use the local sandbox) in the settings."

    def _start_page(self, params: Dict[str, Any], offset: int, limit: int, on_page: Callable, on_error: Callable) -> None:
        self.refresher.load_page(params, offset, limit, on_page, on_error)

    def _on_sort_indicator(self, column: int, order) -> None:
        if 0 <= column < len(COLUMNS) and COLUMNS[column].ordering is None:
            # The service cannot sort by this column: put the indicator back where the rows are sorted.
            header = self.view.horizontalHeader()
            header.blockSignals(True)
            if self.model.sort_column is None:
                header.setSortIndicator(-1, Qt.SortOrder.AscendingOrder)
            else:
                header.setSortIndicator(self.model.sort_column, self.model.sort_order)
            header.blockSignals(False)
            self.show_message(f"The service cannot sort orders by '{COLUMNS[column].title}'.")
            return
        self.model.sort(column, order)

    def _update_count(self) -> None:
        total = self.model.total
        loaded = len(self.model.orders)
        if total is None and not self.model.archive_shown:
            text = "Loading orders…" if self.model.loading else "No orders loaded."
        elif self.model.include_archive:
            # One list: its rows of all the orders there are; other services' (all read at once) said apart.
            merged = len(self.model.archive)
            text = f"{len(self.model.rows):,} of {(total or 0) + merged:,} orders loaded"
            counts: Dict[str, int] = {}
            for order in self.model.archive:
                source = self.model.source_of[order.id]
                word = "archive" if source.choice == "archive" else source.label
                counts[word] = counts.get(word, 0) + 1
            if counts:
                text += " (" + ", ".join(f"{count:,} {word}" for word, count in counts.items()) + ")"
            if total is None:
                text += "; the tasking orders could not be read yet"  # the others show meanwhile (model.tasking_failed)
            elif loaded < total:
                text += " (scroll down for more)"
            if self.model.loading or any(m.loading for m in self.merged.values()):
                text += " — loading…"
        else:
            text = f"{loaded:,} of {total:,} orders loaded"
            if loaded < total:
                text += " (scroll down for more)"
            if self.model.loading:
                text += " — loading…"
        self.count_label.setText(text)

    def _scroll_to_order(self, order_id: str) -> None:
        if self._closed or sip.isdeleted(self.view) or order_id not in self.model.row_of:
            return
        self.view.scrollTo(self.model.index(self.model.row_of[order_id], 0))

    def _on_page_loaded(self, orders: List[Order], first: bool) -> None:
        self._call_succeeded()
        self.view.fit_name_column(self.model.orders)
        if first:
            self.refresher.schedule()
        if self._map_picked:
            if self._map_picked_generation != self.model.generation:
                self._map_picked = []  # other filters or ordering since: the pick is not looked for any more
                return
            self._syncing_selection = True
            try:
                self.select_orders(self._map_picked)
            finally:
                self._syncing_selection = False
            self._follow_map_pick()

    # -- the map mirror (core.app.orders_mirror) -------------------------------------------------------------

    def map_busy(self) -> bool:
        return self.mirror.busy()

    def refresh_map(self) -> None:
        """Mirror every order matching the filters (and all their captures) into the layers, in place by id."""
        self.mirror.refresh(self.model.query.params())

    def stop_map(self, quiet: bool = False) -> None:
        """Cancel the map mirror: what is written stays; the next refresh reads the rest."""
        self.mirror.stop(quiet)

    def ensure_layers(self) -> bool:
        """Take the project's orders and captures layers, making those that are missing; True if new ones."""
        return self.mirror.ensure_layers()

    def _connect_layers(self) -> None:
        self._disconnect_layers()  # from the layers being replaced
        self._connect_layer(self.orders_layer, self.orders_layer.selectionChanged,
                            lambda *_: self._on_layer_selection(self.orders_layer, "id"))
        self._connect_layer(self.captures_layer, self.captures_layer.selectionChanged,
                            lambda *_: self._on_layer_selection(self.captures_layer, "order_id"))

    def _connect_layer(self, owner: QgsVectorLayer, signal, slot: Callable) -> None:
        signal.connect(slot)
        self._layer_connections.append((owner, signal, slot))

    def _disconnect_layers(self) -> None:
        for owner, signal, slot in self._layer_connections:
            # A deleted layer took its connections with it; its bound signal must not be touched (it
            # would crash QGIS: the signal still points at the deleted C++ object).
            if sip.isdeleted(owner):
                continue
            try:
                signal.disconnect(slot)
            except TypeError:  # not connected any more
                pass
        self._layer_connections = []

    def _map_started(self) -> None:
        self.map_progress.setRange(0, 0)  # busy until the first page says how many there are
        self.map_progress.show()
        self.map_stop_button.show()
        self.map_label.setText("Map: loading orders…")

    def _map_progressed(self, listed: int, total: int) -> None:
        self.map_progress.setRange(0, max(total, listed, 1))
        self.map_progress.setValue(listed)
        self.map_label.setText(f"Map: {listed:,} of {max(total, listed):,} orders")

    def _map_ended(self, how: Optional[str]) -> None:
        self.map_progress.hide()
        self.map_stop_button.hide()
        captures = self.mirror.captures_count()
        if how == "stopped":
            self.map_label.setText(f"Map: stopped at {self.mirror.listed:,} of {self.mirror.total:,} orders "
                                   f"({captures:,} captures); refresh to complete it.")
        elif how is None:
            self.map_label.setText(f"Map: {len(self.mirror.written):,} orders, {captures:,} captures.")
            self._call_succeeded()
        self.layersUpdated.emit()

    def save_geopackage(self, path: str) -> Dict[str, str]:
        written = self.mirror.save_geopackage(path)
        self.show_message(f"Saved {', '.join(written)} to {path}.")
        return written

    def _ask_save_geopackage(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save orders and captures", "tasking_orders.gpkg",
                                              "GeoPackage (*.gpkg)")
        if not path:
            return
        if not path.lower().endswith(".gpkg"):
            path += ".gpkg"
        try:
            self.save_geopackage(path)
        except OSError as error:
            self.show_message(str(error), error=True)

    # -- details ----------------------------------------------------------------------------------------------

    def show_details(self, order: Order) -> None:
        self.details.show_order(order, self.now())
        client = self._client()
        if client is None:
            return

        def done(result) -> None:
            fresh, captures, pricing, pricing_error = result
            if self.details.order is None or self.details.order.id != fresh.id:
                return
            self._keep_compact(fresh)
            self.details.show_order(fresh, self.now())
            self.details.show_extras(fresh, captures, pricing, pricing_error)
            self.detailsLoaded.emit(fresh.id)

        self.tasks.run("Loading order details", lambda feedback: read_details(client, order.id, feedback), done)

    def _keep_compact(self, order: Order) -> Order:
        """Store an order read in full the way the view keeps it; the compact order."""
        (row,), footprints = pack_compact_orders([order])
        self.order_footprints.update(footprints)
        compact = unpack_order(row)
        self.model.replace_order(compact)
        return compact

    # -- edit (core.app.edit) -----------------------------------------------------------------------------------

    def save_order(self, order_id: str, changes: Dict[str, Any]) -> None:
        row = self.model.row_of.get(order_id)
        order = self.model.rows[row] if row is not None else self.details.order
        if order is None:
            return
        problems = edit_problems(order, changes, self.now())
        if problems:
            self.details.show_message(" ".join(problems), error=True)
            return
        self.editor.save(order_id, changes)

    def _saved(self, fresh: Order) -> None:
        compact = self._keep_compact(fresh)
        if self.details.order is not None and self.details.order.id == fresh.id:
            self.show_details(compact)
            self.details.show_message("Saved.")
        self.mirror.write_order(compact, self.order_footprints)
        self.refresher.interval.reset()
        self.orderSaved.emit(fresh)

    def _save_failed(self, error: BaseException) -> None:
        if isinstance(error, Cancelled):
            self.details.show_message("The edit was cancelled; refresh to see whether it was saved.", error=True)
        else:
            self.details.show_message(f"The service refused the change: {error_text(error)}", error=True)
        self.orderSaved.emit(error)

    # -- cancel (core.app.cancel) ---------------------------------------------------------------------------------

    def ask(self, title: str, text: str) -> bool:
        """A yes/no question; tests answer it by replacing QMessageBox.question."""
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def cancel_orders(self, order_ids: Sequence[str]) -> None:
        """Cancel the given orders after a confirmation; a charged cancellation needs a second, explicit yes.
        Other services' orders among them are cancelled by their service (archive orders while queued, UP42
        orders before placement starts)."""
        for key in self.merged_details:
            mine = [i for i in order_ids if self._source_key(i) == key]
            if mine:
                self.cancel_merged_orders(key, mine)
                order_ids = [i for i in order_ids if i not in mine]
        if not order_ids:
            return
        by_id = self.model.order_by_id()
        if self.details.order is not None:
            by_id.setdefault(self.details.order.id, self.details.order)
        allowed, refused = cancellable([by_id[i] for i in order_ids if i in by_id], self.now())
        if not allowed:
            self.show_message("Nothing to cancel. " + " ".join(reason for _, reason in refused[:3]), error=True)
            return
        names = "\n".join(f"• {o.name or o.id} ({o.status})" for o in allowed[:15])
        more = f"\n… and {len(allowed) - 15} more" if len(allowed) > 15 else ""
        skipped = f"\n\n{len(refused)} selected order(s) cannot be cancelled and are left alone." if refused else ""
        if not self.ask("Cancel tasking orders",
                        f"Cancel {len(allowed)} order{'s' if len(allowed) != 1 else ''}?\n\n{names}{more}{skipped}"):
            return
        self.canceller.start(allowed, lambda notices: self.ask("Cancellation will be charged", charge_question(notices)))

    def _finish_cancel(self, outcome: CancelOutcome, declined: int = 0) -> None:
        if self.details.order is not None and self.details.order.id in outcome.cancelled:
            self.details.message_label.clear()  # "Saved." was about the order before it was cancelled
        self.show_message(outcome.summary(declined), error=bool(outcome.failed))
        self.cancelFinished.emit(outcome)
        self.refresher.interval.reset()
        self.refresh_now()
        self.count_cancellations()

    # -- other services' orders (core.app.merged_orders) ---------------------------------------------------------

    def refresh_archive(self) -> None:
        """Read the archive orders and the queue depth again (same filters); rows update in place."""
        self.refresh_merged(self.archive.source.key)

    def refresh_merged(self, key: str, restart: bool = False) -> None:
        """Read one source's orders again (same filters); rows update in place. A listing under way is left to
        finish, unless `restart` (something changed since it was asked for: it is dropped and asked again)."""
        lister = self.merged.get(key)
        if self._closed or lister is None or key not in self.showing or (lister.loading and not restart):
            return
        self.merged_timers[key].stop()
        lister.load(self.filters.source_filter(lister.source))

    def _source_key(self, order_id: str) -> Optional[str]:
        """Which merged service an order is of (its row, else the details showing it); None: a tasking order."""
        source = self.model.source_of.get(order_id)
        if source is not None:
            return source.key
        return next((key for key, details in self.merged_details.items()
                     if details.order is not None and details.order.id == order_id), None)

    def _merged_listed(self, key: str, orders: List[Any]) -> None:
        lister = self.merged[key]
        selected = [o.id for o in self.selected_orders()] + [o.id for o in self.selected_archive_orders()]
        self._syncing_selection = True
        try:
            self.model.set_merged(lister.source, orders)
            self.select_orders(selected)
        finally:
            self._syncing_selection = False
        details = self.merged_details[key]
        if details.order is not None:
            fresh = next((o for o in orders if o.id == details.order.id), None)
            if fresh is not None:
                details.show_order(fresh)
        self._update_count()
        error = self.merged_errors.pop(key, "")
        if error and self.message_label.text() == error:
            self.show_message("")  # the listing works again
        if not self.paged:
            # The tab's own service answered. Beside a paged tasking list (Planet's), another API's answer (the
            # archive's, UP42's) proves nothing of the tasking list's: its failure, retry and backoff stay its
            # own (taken for "the service is back", each archive answer retried a failing list at once).
            self._call_succeeded()
        if self.auto_refresh and any(lister.source.is_open(o) for o in orders):
            self.merged_timers[key].start()

    def _speaks_for_service(self, key: str) -> bool:
        """Whether a merged source's answer or failure tells of the tab's own service (Planet's archive shares
        Planet's host; UP42 when it is the active one): UP42 beside Planet says nothing of whether Planet can be
        reached, and is not the service the dock's reachability messages are about."""
        return self.merged[key] is self.archive or not self.paged

    def _merged_list_failed(self, key: str, error: BaseException) -> None:
        if self._speaks_for_service(key):
            self._unreachable(error)
        self._update_count()
        # Not a call error of the tasking list: its next success does not clear it, this listing's does.
        self.merged_errors[key] = f"Loading {self.merged[key].source.noun}s failed: {error_text(error)}"
        self.show_message(self.merged_errors[key], error=True)
        if self.auto_refresh:
            self.merged_timers[key].start()

    def selected_archive_orders(self) -> List[Any]:
        """The selected orders of other services (archive, UP42)."""
        rows = sorted({index.row() for index in self.view.selectionModel().selectedRows()})
        return [self.model.rows[row] for row in rows
                if row < len(self.model.rows) and self.model.is_archive(self.model.rows[row])]

    def cancel_archive_orders(self, order_ids: Sequence[str]) -> None:
        self.cancel_merged_orders(self.archive.source.key, order_ids)

    def cancel_merged_orders(self, key: str, order_ids: Sequence[str]) -> None:
        """Cancel those of one source's orders its service would cancel now, after a confirmation (archive
        orders: one by its own request, several in one bulk cancel). The others are named with why, and left
        alone."""
        lister, details = self.merged[key], self.merged_details[key]
        source = lister.source
        by_id = {o.id: o for o in self.model.archive if self.model.source_of.get(o.id) is source}
        shown = details.order
        if shown is not None:
            by_id.setdefault(shown.id, shown)
        orders = [by_id[i] for i in order_ids if i in by_id]
        allowed = [o for o in orders if source.can_cancel(o)]
        refused = [source.can_cancel(o).reason for o in orders if not source.can_cancel(o)]
        if not allowed:
            text = "Nothing to cancel. " + " ".join(refused[:3])
            self.show_message(text, error=True)
            details.show_message(text, error=True)
            return
        listed = "\n".join(f"• {o.name or o.id} ({source.status(o)})" for o in allowed[:15])
        more = f"\n… and {len(allowed) - 15} more" if len(allowed) > 15 else ""
        skipped = (f"\n\n{len(refused)} selected {source.noun}(s) {source.not_cancellable} and are left alone."
                   if refused else "")
        plural = "s" if len(allowed) != 1 else ""
        if not self.ask(f"Cancel {source.noun}s",
                        f"Cancel {len(allowed)} {source.noun}{plural}?\n\n{listed}{more}{skipped}"):
            return
        lister.cancel([o.id for o in allowed])

    def _merged_cancelled(self, key: str, outcome: MergedCancelOutcome, fresh: Any) -> None:
        text = outcome.summary()
        self.show_message(text, error=bool(outcome.refused))
        details = self.merged_details[key]
        if details.order is not None:
            if fresh is not None and fresh.id == details.order.id:
                details.show_order(fresh)
            details.show_message(text, error=bool(outcome.refused))
        self.cancelFinished.emit(outcome)
        self.refresh_merged(key)

    def _merged_cancel_failed(self, key: str, error: BaseException) -> None:
        if self._speaks_for_service(key):
            self._unreachable(error)
        text = f"Cancelling failed: {error_text(error)}"
        self.show_message(text, error=True)
        details = self.merged_details[key]
        if details.order is not None:
            details.show_message(text, error=True)

    # -- downloading archive orders (core.app.archive) ---------------------------------------------------------

    def choose_download_folder(self, order: Any) -> str:
        """The folder to download an order into, asked of the user (the remembered one first); "" if none."""
        return QFileDialog.getExistingDirectory(self, f"Download “{order.name or order.id}” into",
                                                settings.archive_download_folder())

    def open_folder(self, path: str) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(path))

    def downloading(self, order_id: Optional[str] = None) -> bool:
        """Whether a download runs (of `order_id`, or of any order)."""
        if order_id is not None:
            return order_id in self.downloads
        return bool(self.downloads)

    def _archive_order(self, order_id: str) -> Any:
        shown = self.archive_details.order
        if shown is not None and shown.id == order_id:
            return shown
        return next((o for o in self.model.archive if o.id == order_id), None)

    def download_archive_order(self, order_id: str, folder: Optional[str] = None) -> bool:
        """Download an archive order's files into `folder` (asked when None) in the background, following
        the order first while Planet prepares it, resuming the .part files an earlier try left there, and
        add its rasters to the map. One download per order: asking again while it runs does nothing.
        True when it started."""
        if self._closed or order_id in self.downloads:
            return False
        order = self._archive_order(order_id)
        if order is None or self.archive_client_factory is None:
            return False
        verdict = download_verdict(order)
        if not verdict.allowed:
            self.archive_details.set_download(order_id, False, verdict.tooltip, error=True)
            return False
        if folder is None:
            folder = self.choose_download_folder(order)
            if not folder:
                return False
        name = order.name or order.id
        workflow = ArchiveWorkflow(self.archive_client_factory, parent=self, project=self.project)
        workflow.poll_seconds, workflow.max_poll_seconds = self.download_poll
        self.downloads[order_id] = workflow
        news = {"stage": "Starting the download…", "percent": 0.0, "said": False}

        def show() -> None:
            if not news["said"]:
                self.archive_details.set_download(order_id, True, news["stage"], news["percent"])

        def stage(text: str) -> None:
            news["stage"] = text
            show()

        def progress(percent: float) -> None:
            news["percent"] = percent
            show()

        def finished(fresh: Any) -> None:
            shown = self.archive_details.order
            if shown is not None and shown.id == fresh.id:
                self.archive_details.show_order(fresh)
            self.refresh_archive()  # its row says what Planet made of it

        def say(text: str, level: Any, error: bool = False) -> None:
            news["said"] = True
            self.archive_details.set_download(order_id, False, text, 100.0 if not error else news["percent"], error)
            if error:
                self.show_message(text, error=True)
            push_message(self.iface, text, level, 0 if error else 8)

        def loaded(fresh: Any, layers: list) -> None:
            where = self._order_folder(workflow, folder)
            text = (f"The imagery of “{name}” is on the map in the “Archive imagery” group ({len(layers)} raster"
                    f"{'s' if len(layers) != 1 else ''}); its files are in {where}.")
            news["said"] = True
            self.archive_details.set_download(order_id, False, text, 100.0)
            if self.iface is None or push_with_button(self.iface, text, Qgis.MessageLevel.Success, 0, "Open folder",
                                                      lambda: self.open_folder(where)) is None:
                push_message(self.iface, text, Qgis.MessageLevel.Success, 8)

        def failed(error: BaseException) -> None:
            say(f"Downloading “{name}” failed: {download_error_text(error, folder)}", Qgis.MessageLevel.Critical,
                error=True)

        def cancelled() -> None:
            say(f"The download of “{name}” was cancelled; the files that arrived are kept in {folder} and the next "
                "Download resumes them.", Qgis.MessageLevel.Info)

        def unavailable(_purpose: str, error: Any) -> None:
            why = f"the API key cannot be read ({error})" if error is not None else "the service is not configured"
            say(f"Downloading “{name}” failed: {why}.", Qgis.MessageLevel.Critical, error=True)

        workflow.stage.connect(stage)
        workflow.progress.connect(progress)
        workflow.finished.connect(finished)
        workflow.loaded.connect(loaded)
        workflow.failed.connect(failed)
        workflow.cancelled.connect(cancelled)
        workflow.clientUnavailable.connect(unavailable)
        # loaded, failed and cancelled come right after busy ends: the end is looked at once they have.
        workflow.busyChanged.connect(
            lambda busy: busy or QTimer.singleShot(0, lambda: self._download_ended(order_id, workflow, news)))
        show()
        workflow.fetch(order_id, folder)
        if workflow.busy():
            settings.set_archive_download_folder(folder)  # a folder that works is offered next time
        elif order_id in self.downloads:  # refused at once (the folder): nothing runs
            self._download_ended(order_id, workflow, news)
        return workflow.busy()

    @staticmethod
    def _order_folder(workflow: ArchiveWorkflow, folder: str) -> str:
        """Where the order's files are: the folder they share (<folder>/<order id> as the order names them)."""
        files = [str(path) for path in getattr(workflow.report, "files", None) or ()]
        try:
            return os.path.commonpath([os.path.dirname(path) for path in files]) if files else folder
        except ValueError:  # on different drives
            return folder

    def _download_ended(self, order_id: str, workflow: ArchiveWorkflow, news: Dict[str, Any]) -> None:
        if workflow.busy() or self.downloads.get(order_id) is not workflow:
            return
        del self.downloads[order_id]
        if not news["said"]:  # ended without a word: e.g. delivered to the cloud after all
            news["said"] = True
            self.archive_details.set_download(order_id, False, news["stage"], news["percent"])
        workflow.deleteLater()

    def cancel_download(self, order_id: str) -> None:
        """Stop the download of an archive order; its .part files stay for the next Download to resume."""
        workflow = self.downloads.get(order_id)
        if workflow is None:
            return
        running, stage, percent, _ = self.archive_details.download_state(order_id)
        self.archive_details.set_download(order_id, running, "Cancelling the download…", percent)
        workflow.cancel()

    def cancel_downloads(self) -> None:
        """Stop every download (the dock is closed); what arrived is kept for the next Download."""
        for order_id in list(self.downloads):
            self.cancel_download(order_id)

    def count_cancellations(self) -> None:
        if not self._closed:
            self.canceller.count(self.now())

    def _show_cancellations(self, tally) -> None:
        self.cancellations_label.setText(tally.summary())
        self.cancellationsCounted.emit(tally)

    # -- refresh (core.app.orders_refresh) --------------------------------------------------------------------------

    def _auto_refresh(self) -> None:
        self.refresher.check()

    def _refresh_table(self) -> None:
        self.refresher.refresh_window()

    def refresh_now(self) -> None:
        """Read the loaded orders again with the same filters and ordering, marking the rows that changed,
        and the map: every order matching the filters and their captures."""
        if self._closed:
            return  # a timer or a finished task's follow-up after shutdown()
        if self._retry_timer.isActive():  # a retry was waiting: this is it, now
            self._retry_timer.stop()
            self._retry_at = None
        for key in self.showing:
            self.refresh_merged(key)
        if not self.model.include_tasking:
            return
        if self.model.total is None:
            if not self.model.loading:
                self.apply_filters()
            return
        # The table's question first: it is made ready sooner than the map's, and whichever asks first asks for both.
        self._refresh_table()
        self.refresh_map()

    def apply_refreshed(self, orders: Optional[Sequence[Order]], total: int, changes=None):
        """Show a fresh listing of the loaded window and mark what changed (the map refreshes on its own); orders
        None: nothing changed, the rows shown stand (10,000 of them are not laid out again)."""
        if changes is None:
            changes = ChangeSet() if orders is None else diff_orders(self.model.order_by_id(), orders)
        # A list shown whole stays whole: orders added meanwhile push the oldest out of the refreshed window, and
        # the rest is read as scrolling would (one page), not left for the user to scroll to (a view with room to
        # spare fetches it by itself; a short dock did not).
        was_whole = self.model.total is not None and not self.model.loading and not self.model.canFetchMore()
        if orders is not None:
            selected = self.selected_order_ids()
            self._syncing_selection = True
            try:
                if self.model.apply_refresh(orders, total, changes):
                    self.select_orders(selected)
            finally:
                self._syncing_selection = False
        if was_whole and self.model.canFetchMore():
            self.model.fetchMore()
        if self.details.order is not None and self.details.order.id in changes.changed:
            fresh = self.model.order_by_id().get(self.details.order.id)
            if fresh is not None:
                self.show_details(fresh)  # read in full again: the rows keep only a compact copy
        self.refresh_label.setText(
            f"Refreshed at {datetime.now(timezone.utc):%H:%M:%S} UTC: {len(changes.changed)} changed, "
            f"{len(changes.added)} new, {len(changes.removed)} gone.")
        self._call_succeeded()
        if any(c.status_change for c in changes.changed.values()):
            self.count_cancellations()
        self.refresher.applied(changes)
        self.refreshed.emit(changes)
        return changes

    # -- misc -------------------------------------------------------------------------------------------------------

    def show_message(self, text: str, error: bool = False) -> None:
        self._call_error_shown = False
        self.message_label.setStyleSheet("color: #b00020;" if error else "")
        self.message_label.setText(text)

    def show_call_error(self, text: str, retrying: bool = False) -> None:
        """A request failed (not a refusal of something the user asked): shown until a call succeeds again.

        While a failed load waits for its retry, its line (when the next try is) stays: the map's or a
        check's failure against the same service says nothing more.
        """
        if not retrying and self.retry_pending() is not None:
            return
        self.show_message(text, error=True)
        self._call_error_shown = True

    def _call_succeeded(self) -> None:
        """The service answered: a failed call's message is not true any more ("failed" beside "8 of 8 loaded")."""
        self.serviceReachable.emit(True, "", "")
        if self.model.total is None and self._retry_timer.isActive():
            # The map (or a check) got through while the list waits for its retry: the service is back, so now.
            self._retry_timer.stop()
            QTimer.singleShot(0, self._retry_load)
        elif self.model.total is not None:
            self._retries = 0
            self._retry_at = None
            self._retry_timer.stop()
        if self._call_error_shown:
            self.show_message("")

    def _task_failed(self, what: str, error: BaseException) -> None:
        self._unreachable(error)
        self.show_call_error(f"{what} failed: {error_text(error)}")

    def _refresh_failed(self, text: str) -> None:
        if self.refresher.last_error is not None:
            self._unreachable(self.refresher.last_error)
        self.show_call_error(text)

    def _unreachable(self, error: BaseException) -> None:
        if isinstance(error, NetworkError) and not isinstance(error, MalformedResponseError):
            self.serviceReachable.emit(False, error_text(error), getattr(error, "url", None) or "")

    def _load_failed(self, error: BaseException) -> None:
        """A page of the list could not be read: say so and when the next try is, and try then by itself."""
        if self._closed:
            return
        self._unreachable(error)
        delay = RETRY_DELAYS[min(self._retries, len(RETRY_DELAYS) - 1)]
        self._retries += 1
        self._retry_at = datetime.now(timezone.utc) + timedelta(seconds=delay)
        self._retry_timer.start(delay * 1000)
        self.show_call_error(f"Loading orders failed: {error_text(error).rstrip('.')}. Trying again in {delay} s "
                             f"(at {self._retry_at.astimezone():%H:%M:%S}); Refresh tries now.", retrying=True)

    def retry_pending(self) -> Optional[datetime]:
        """When the next automatic try of a failed load is due (None: none is waiting)."""
        return self._retry_at if self._retry_timer.isActive() else None

    def _retry_load(self) -> None:
        self._retry_at = None
        if self._closed:
            return
        if self.model.total is None:
            if not self.model.loading:
                self.apply_filters()
        elif self.model.canFetchMore():
            self.model.fetchMore()  # a later page failed: that page again

    def shutdown(self) -> None:
        """Stop timers and background work (plugin unload); the layers stay in the project."""
        for workflow in self.downloads.values():
            workflow.shutdown()  # its tasks cancelled, no word of them after: the .part files stay
        self.downloads.clear()
        self.tasks.shutdown()
        self._retry_timer.stop()
        self._disconnect_layers()
        self.refresher.stop()
        self._filter_timer.stop()
        for timer in self.merged_timers.values():
            timer.stop()
        # A closed panel is a reference cycle (its signals are connected to lambdas that hold it), freed
        # only by a full collection of the cycle collector, with the GIL held. Measured in the bench: a
        # discarded panel with 10,000 rows made that collection 117 ms (60,000 objects). Without its rows
        # and the map's bookkeeping, little is left for it to free.
        self.mirror.shutdown()
        self.model.clear()
        self.order_footprints.clear()

