"""The "New order" panel: lays out the steps, shows what the quote, search and place workflows report, forwards clicks."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Callable, Dict, List, Optional

from qgis.core import Qgis, QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import QGroupBox, QLabel, QMessageBox, QPushButton, QVBoxLayout, QWidget

from ...core import layers, names, settings
from ...core.aoi import DEFAULT_MAX_SQKM, Aoi
from ...core.app.place import PlaceOrderWorkflow
from ...core.app.quote import QuoteWorkflow
from ...core.app.window_search import WindowSearchWorkflow
from ...core.errors import ImagingWindowSearchFailed, OrderCreationUncertain, ValidationError
from ...core.services import registry
from ...core.services.base import ServiceDescriptor
from ...core.services.planet_tasking.forms import ASSURED, GENERAL, OrderForm
from ...core.tasks import ApiTask, run_in_background
from ..shared.map_tools import FootprintPreview
from .aoi_group import AoiGroup
from .fields import MUTED_STYLE, FieldErrors, scrolling_body
from .options_group import OptionsGroup
from .texts import confirmation_text, pricing_lines
from .windows_group import WindowsGroup

try:
    from qgis.PyQt import sip
except ImportError:  # pragma: no cover - older PyQt layouts
    import sip  # type: ignore[no-redef]


GETTING_QUOTE = "Getting a quote…"


def _whole(seconds: float) -> int:
    """Seconds as said to the user: a wait of 0.3 s is "1 s", never "0 s"."""
    return max(1, math.ceil(seconds))


class NewOrderPanel(QWidget):
    """From an AOI on the map to a placed order; the workflows in core.app run every network call in a QgsTask.

    `client_factory()` returns a client for the current settings (or None when not configured); the
    workflows call it on the main thread, once per task, so no client is shared between threads.
    """

    orderPlaced = pyqtSignal(object)  # noqa: N815 - Qt signal naming; the created order

    def __init__(self, client_factory: Callable[[], Any], iface, parent: Optional[QWidget] = None,
                 max_sqkm: float = DEFAULT_MAX_SQKM, service: Optional[ServiceDescriptor] = None):
        super().__init__(parent)
        self.setObjectName("NewOrderPanel")
        self.client_factory = client_factory
        self.iface = iface
        self.canvas = iface.mapCanvas()
        self.max_sqkm = max_sqkm
        self.service = service or registry.service()
        # Replaceable by tests and scripts: (title, text) -> whether the user agreed.
        self.confirm: Callable[[str, str], bool] = self._ask_confirmation
        self.last_order: Optional[Any] = None
        self.last_message_widget: Optional[QWidget] = None
        # Every "Order placed" entry pushed (a second order can come within the first one's 15 s).
        self._order_messages: List[QWidget] = []
        # Imaging-windows layers whose map selection chooses the window here; set while the panel selects.
        self._followed_window_layers: set = set()
        self._selecting_on_map = False

        factory = client_factory if client_factory is not None else (lambda: None)
        self.quoting = QuoteWorkflow(lambda: (self.form(), self.aoi), factory, self.service, self)
        self.searching = WindowSearchWorkflow(factory, self.service, self)
        self.placing = PlaceOrderWorkflow(self.quoting, self._confirm_order, factory, self.service, self)
        self._build()
        self._connect()
        self.reload_settings()
        self.options.loading = False
        self._update_mode()
        self._form_changed()

    # -- layout --------------------------------------------------------------------------------------

    def _build(self) -> None:
        self.body = body = scrolling_body(self, "newOrderScroll")
        body.setObjectName("newOrderBody")
        layout = QVBoxLayout(body)
        self.errors = FieldErrors()
        self.error_labels = self.errors.labels

        self.aoi_group = AoiGroup(self.iface, self.errors, body, self.max_sqkm)
        self.options = OptionsGroup(self.errors, body)
        self.windows_group = WindowsGroup(self.errors, lambda: self.aoi is not None, body)
        layout.addWidget(self.aoi_group)
        layout.addWidget(self.options)
        layout.addWidget(self._build_quote_group(body))
        layout.addWidget(self.windows_group)
        layout.addWidget(self._build_place_group(body))
        layout.addStretch(1)
        # The widgets tests and scripts reach by name on the panel.
        for group, attributes in (
            (self.aoi_group, ("tool_buttons", "selected_button", "clear_aoi_button", "aoi_summary", "drawing_status",
                              "tools", "tool", "activate_tool", "deactivate_tool", "set_aoi_geometry",
                              "use_selected_features")),
            (self.options, ("name_edit", "scheduling_combo", "imaging_combo", "start_edit", "end_edit",
                            "elevation_min_spin", "elevation_max_spin", "pl_number_edit", "product_edit",
                            "exclusivity_combo", "set_order_name")),
            (self.windows_group, ("find_button", "cancel_search_button", "search_progress", "replacing_check",
                                  "windows_map_button", "search_status", "windows_model", "windows_proxy",
                                  "windows_view", "windows_timeline", "window_detail", "select_window")),
        ):
            for attribute in attributes:
                setattr(self, attribute, getattr(group, attribute))

    def _build_quote_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("3. Quote", parent)
        group.setObjectName("quoteGroup")
        box = QVBoxLayout(group)
        # Said from the start (the first check runs once the form has stood still), not an empty box.
        self.quote_label = QLabel("No quote yet: draw an AOI first.", group)
        self.quote_label.setObjectName("quoteLabel")
        self.quote_label.setWordWrap(True)
        self.quote_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.quote_label.setToolTip("The service's price preview for the order as it stands; it updates by "
                                    "itself when the AOI or an option changes. Quota is counted in km².")
        box.addWidget(self.quote_label)
        self.quote_status = QLabel(group)
        self.quote_status.setObjectName("quoteStatus")
        self.quote_status.setWordWrap(True)
        self.quote_status.setStyleSheet(MUTED_STYLE)
        box.addWidget(self.quote_status)
        return group

    def _build_place_group(self, parent: QWidget) -> QWidget:
        holder = QWidget(parent)
        box = QVBoxLayout(holder)
        box.setContentsMargins(0, 0, 0, 0)
        box.addWidget(self.errors.label(holder, GENERAL, "general"))
        self.place_button = QPushButton("Place &order…", holder)
        self.place_button.setObjectName("placeOrderButton")
        self.place_button.setToolTip("Check the form, show the cost and place the order after you confirm")
        self.place_button.setDefault(True)
        self.place_button.clicked.connect(self.place_order)
        box.addWidget(self.place_button)
        self.place_status = QLabel(holder)
        self.place_status.setObjectName("placeStatus")
        self.place_status.setWordWrap(True)
        box.addWidget(self.place_status)
        return holder

    def _connect(self) -> None:
        self.aoi_group.aoiChanged.connect(self._aoi_changed)
        self.aoi_group.problem.connect(self._aoi_problem)
        self.options.changed.connect(self._form_changed)
        self.options.schedulingChanged.connect(self._scheduling_changed)
        self.options.exclusivityChanged.connect(self._exclusivity_changed)
        self.windows_group.windowChanged.connect(self._form_changed)
        self.windows_group.windowChanged.connect(self._select_window_on_map)
        self.windows_group.find_button.clicked.connect(self.find_windows)
        self.windows_group.cancel_search_button.clicked.connect(self.cancel_search)
        self.windows_group.replacing_check.toggled.connect(self._reread_search)
        self.windows_group.windows_map_button.clicked.connect(self.show_windows_on_map)
        for flow in (self.quoting, self.searching, self.placing):
            flow.clientUnavailable.connect(self._client_unavailable)
        quoting, searching, placing = self.quoting, self.searching, self.placing
        quoting.unavailable.connect(self._quote_unavailable)
        quoting.unchanged.connect(lambda: self.quote_status.setText(""))
        quoting.noClient.connect(lambda: self.quote_status.setText("Not configured: no quote."))
        quoting.asking.connect(self._quote_asked)
        quoting.waiting.connect(self._quote_waiting)
        quoting.retrying.connect(self._quote_retrying)
        quoting.quoted.connect(self._quote_arrived)
        quoting.failed.connect(self._quote_failed)
        quoting.cancelled.connect(self._quote_cancelled)
        searching.refused.connect(self._search_refused)
        searching.cleared.connect(self.windows_group.clear)
        searching.started.connect(self.windows_group.show_started)
        searching.progress.connect(self.windows_group.show_progress)
        searching.partial.connect(self.windows_group.show_partial)
        searching.done.connect(self.windows_group.show_done)
        searching.failed.connect(self._search_failed)
        searching.cancelled.connect(self.windows_group.show_cancelled)
        placing.checked.connect(self._place_checked)
        placing.busy.connect(lambda busy: self.place_button.setEnabled(not busy))
        placing.pricing.connect(lambda: self.place_status.setText("Getting the price…"))
        placing.priceFailed.connect(self._price_failed)
        placing.priceCancelled.connect(
            lambda: self.place_status.setText("Not placed: getting the price was cancelled."))
        placing.declined.connect(lambda: self.place_status.setText("Not placed."))
        placing.sending.connect(lambda form: self.place_status.setText(f"Placing “{form.name.strip()}”…"))
        placing.waiting.connect(lambda text: self.place_status.setText(f"Placing: {text}…"))
        placing.placed.connect(self._order_placed)
        placing.failed.connect(self._order_failed)
        placing.cancelled.connect(self._order_cancelled)

    # -- state the tests and scripts read ------------------------------------------------------------

    aoi = property(lambda self: self.aoi_group.aoi)
    aoi_error = property(lambda self: self.aoi_group.aoi_error)
    footprint: FootprintPreview = property(lambda self: self.aoi_group.footprint)
    selected_window = property(lambda self: self.windows_group.selected_window)
    quote = property(lambda self: self.quoting.quote)
    quote_key = property(lambda self: self.quoting.quote_key)
    quote_error = property(lambda self: self.quoting.quote_error)
    quote_task: Optional[ApiTask] = property(lambda self: self.quoting.task)
    search = property(lambda self: self.searching.search)
    search_task: Optional[ApiTask] = property(lambda self: self.searching.task)
    order_task: Optional[ApiTask] = property(lambda self: self.placing.task)
    _quote_timer: QTimer = property(lambda self: self.quoting.timer)

    @property
    def stale_answers_ignored(self) -> int:
        return self.quoting.stale_answers_ignored + self.searching.stale_answers_ignored

    @property
    def search_poll_seconds(self) -> float:
        return self.searching.poll_seconds

    @search_poll_seconds.setter
    def search_poll_seconds(self, value: float) -> None:
        self.searching.poll_seconds = value

    @property
    def search_max_poll_seconds(self) -> float:
        return self.searching.max_poll_seconds

    @search_max_poll_seconds.setter
    def search_max_poll_seconds(self, value: float) -> None:
        self.searching.max_poll_seconds = value

    @property
    def scheduling_type(self) -> str:
        return self.options.scheduling_type

    def form(self) -> OrderForm:
        """The form's values as they stand."""
        return self.options.form(self.selected_window)

    # -- form state ----------------------------------------------------------------------------------

    def reload_settings(self) -> None:
        """Take contract and product from the plugin settings (the user may still change them here)."""
        self.options.reload_settings(settings.pl_number(), settings.product())
        self._form_changed()
        self._read_area_limit()

    def _read_area_limit(self) -> None:
        """The contract's area limit where the service tells it (the local sandbox), else the plugin's bound."""
        contract, port = settings.pl_number(), settings.sandbox_port()
        if not (settings.use_sandbox() and contract):
            self.aoi_group.set_max_sqkm(self.max_sqkm)
            return
        run_in_background(names.task_description("read the sandbox contract's area limit"),
                          lambda feedback: settings.sandbox_area_limit(contract, port),
                          on_success=lambda limit: self._area_limit_read(contract, limit))

    def _area_limit_read(self, contract: str, limit: Optional[float]) -> None:
        if not sip.isdeleted(self) and contract == settings.pl_number():
            self.aoi_group.set_max_sqkm(limit if limit is not None else self.max_sqkm)

    def _scheduling_changed(self) -> None:
        self._update_mode()
        self._form_changed()

    def _exclusivity_changed(self) -> None:
        self._form_changed()
        if self.search is not None:
            self._reread_search()

    def _update_mode(self) -> None:
        assured = self.scheduling_type == ASSURED
        self.windows_group.setVisible(assured)
        self.aoi_group.allow_polygons(not assured)

    def _form_changed(self, *_args) -> None:
        """Any change: drop errors about the old values, check the new ones, and quote again soon."""
        if self.options.loading:
            return
        self.options.update_default_name(self.aoi)
        problems = self.quoting.problems(self.form(), self.aoi)
        if self.aoi is None:
            problems.pop("geometry", None)
        self.show_errors(problems)
        if self.aoi_error is not None:
            self.errors.add("geometry", [self.aoi_error.message])
        self.quote_status.setText("Updating the quote…" if self.aoi is not None else "")
        if self.aoi is not None and not problems and self.quoting.quote is None:
            # Not "draw an AOI first" (or an old error) while the quote for this AOI is on its way.
            self.quote_label.setText(GETTING_QUOTE)
        self.quoting.schedule()

    def show_errors(self, errors: Dict[str, Any]) -> None:
        """Show each message next to its field (the server's words), clearing the others."""
        self.errors.show(errors)
        self.options.reveal_errors()

    def field_error(self, field: str) -> str:
        """The error shown for a service field ("" when none); for tests and scripts."""
        return self.errors.text(field)

    def _push_message(self, title: str, text: str, level=Qgis.MessageLevel.Warning, duration: int = 10) -> None:
        self.iface.messageBar().pushMessage(title, text, level, duration)

    def _client_unavailable(self, purpose: str, error: object) -> None:
        if error is not None:
            self._push_message(names.MESSAGE_TITLE, f"Cannot {purpose}: {error}", Qgis.MessageLevel.Critical)
        else:
            self._push_message(names.MESSAGE_TITLE, f"Cannot {purpose}: the plugin is not configured. Open the "
                               "settings to enter your API key, or use the local sandbox.", Qgis.MessageLevel.Warning)

    # -- AOI -----------------------------------------------------------------------------------------

    def _aoi_changed(self) -> None:
        # Windows belong to the AOI they were searched for.
        self.searching.clear()
        self._form_changed()

    def _aoi_problem(self, message: str) -> None:
        self.show_errors({})
        self.errors.add("geometry", [message])

    def clear_aoi(self) -> None:
        self.aoi_group.clear_aoi()

    # -- quote, windows, placing: forwarded to the workflows -----------------------------------------

    def request_quote(self) -> None:
        """Ask the service for the price of the form as it stands (in a task; older answers are dropped)."""
        self.quoting.request()

    def quote_is_current(self) -> bool:
        """Whether the quote shown answers the form as it stands now."""
        return self.quoting.is_current()

    def find_windows(self) -> None:
        """Start an imaging-window search for the AOI; windows are listed as the service reports them."""
        self.searching.start(self.form(), self.aoi, replacing=self.replacing_check.isChecked(),
                             exclusivity_days=self.options.exclusivity_days)

    def cancel_search(self) -> None:
        self.searching.cancel()
        self.cancel_search_button.setEnabled(False)

    def _reread_search(self, *_args) -> None:
        self.searching.reread(replacing=self.replacing_check.isChecked(),
                              exclusivity_days=self.options.exclusivity_days)

    def show_windows_on_map(self) -> Optional[QgsVectorLayer]:
        """Write the listed windows into the project's imaging-windows layer (in place by id; windows no
        longer listed leave it), drawn as the footprint the AOI tasks."""
        windows = self.windows_model.windows()
        if not windows or self.aoi is None:
            return None
        layer = self.searching.windows_layer()
        if layer.isEditable():
            self._push_message("Imaging windows", f"“{layer.name()}” is being edited: save or discard the edits, "
                               "then show the windows again.")
            return None
        self.searching.write_windows(layer, windows, self.aoi.tasked_geometry())
        if layer.id() not in self._followed_window_layers:
            # A window selected on the map is chosen in the table (and the timeline), as a click there.
            layer.selectionChanged.connect(self._map_selection_changed)
            self._followed_window_layers.add(layer.id())
        self._select_window_on_map()
        self._push_message("Imaging windows", f"{len(windows)} window{'s' if len(windows) != 1 else ''} in "
                           f"“{layer.name()}”; the temporal controller plays them by time.", Qgis.MessageLevel.Info, 6)
        return layer

    def _select_window_on_map(self) -> None:
        """Select the chosen window in the project's imaging-windows layers (none chosen: none selected)."""
        window = self.selected_window
        self._selecting_on_map = True
        try:
            for layer in layers.layers_of_kind(QgsProject.instance(), self.service.layers.IMAGING_WINDOWS):
                fids = layers.feature_ids_of(layer, [window.id]) if window is not None else []
                if set(fids) != set(layer.selectedFeatureIds()):
                    layer.selectByIds(fids)
        finally:
            self._selecting_on_map = False

    def _map_selection_changed(self, *_args) -> None:
        layer = self.sender()
        if self._selecting_on_map or not isinstance(layer, QgsVectorLayer) or layer.selectedFeatureCount() != 1:
            return
        window_id = next(layer.getSelectedFeatures())["id"]
        if self.selected_window is None or self.selected_window.id != window_id:
            self.select_window(str(window_id))

    def _quote_unavailable(self, problems: Dict[str, str]) -> None:
        if self.aoi is not None:
            text = "No quote yet: " + next(iter(problems.values()))
        elif self.aoi_error is not None:  # something is drawn, but it cannot be ordered: say that, not "draw"
            text = "No quote: the area drawn cannot be ordered (see above)."
        else:
            text = "No quote yet: draw an AOI first."
        self.quote_label.setText(text)
        self.quote_status.setText("")

    def _quote_asked(self) -> None:
        if self.quoting.quote is None:
            self.quote_label.setText(GETTING_QUOTE)
        self.quote_status.setText("Updating the quote…")

    def _quote_waiting(self, seconds: float) -> None:
        if self.quoting.quote is None:
            self.quote_label.setText(GETTING_QUOTE)
        self.quote_status.setText(f"{GETTING_QUOTE} the service did not answer, trying again in {_whole(seconds)} s")

    def _quote_retrying(self, seconds: float, _error: BaseException) -> None:
        # The error stays in the quote box until a quote succeeds; this says that it is being dealt with.
        self.quote_status.setText(f"Trying again by itself in {_whole(seconds)} s (or change the order to ask now).")

    def _quote_arrived(self, pricing: Any) -> None:
        self.quote_label.setText("\n".join(pricing_lines(pricing)))
        self.quote_status.setText(f"Quoted at {datetime.now(timezone.utc):%H:%M:%S} UTC")

    def _quote_failed(self, error: BaseException) -> None:
        if isinstance(error, ValidationError) and error.field_errors:
            self.show_errors(error.field_errors)
            self.quote_label.setText("No quote: the service refused the order as it stands (see the marked fields).")
        else:
            self.quote_label.setText(f"No quote: {getattr(error, 'message', None) or error}")
        self.quote_status.setText("")

    def _quote_cancelled(self) -> None:
        self.quote_label.setText("No quote: the price preview was cancelled. Change the order to ask again.")
        self.quote_status.setText("Quote cancelled.")

    def _search_refused(self, problems: Dict[str, str]) -> None:
        self.show_errors(problems)
        self.search_status.setText("Fix the marked fields first; nothing was sent.")

    def _search_failed(self, error: BaseException) -> None:
        self.windows_group.show_finished()
        if isinstance(error, ValidationError) and error.field_errors:
            self.show_errors(error.field_errors)
            self.search_status.setText("The service refused the search (see the marked fields).")
        elif isinstance(error, ImagingWindowSearchFailed):
            self.search_status.setText(str(error))
            self._push_message("Imaging-window search failed", str(error), Qgis.MessageLevel.Warning)
        else:
            text = getattr(error, "message", None) or str(error)
            self.search_status.setText(f"The search did not complete: {text}")
            self._push_message("Imaging-window search", text, Qgis.MessageLevel.Critical)

    def place_order(self) -> None:
        """Check the form (nothing is sent if it is wrong), confirm the cost, then create the order in a task."""
        self.placing.place(self.form(), self.aoi, self.selected_window, self.aoi_error)

    def _confirm_order(self, form: OrderForm, aoi: Optional[Aoi], pricing: Any, window: Any) -> bool:
        return self.confirm("Place order", confirmation_text(form, aoi, pricing, window))

    def _place_checked(self, problems: Dict[str, str]) -> None:
        self.show_errors(problems)
        if problems:
            self.place_status.setText("Fix the marked fields; nothing was sent.")

    def _price_failed(self, error: BaseException) -> None:
        if isinstance(error, ValidationError) and error.field_errors:
            self.place_status.setText("The service refused the order as it stands (see the marked fields); "
                                      "nothing was placed.")
        else:
            text = getattr(error, "message", None) or str(error)
            self.place_status.setText("Not placed: the price could not be obtained.")
            self._push_message("Order not placed", f"The price could not be obtained: {text}", Qgis.MessageLevel.Critical, 0)

    def _order_placed(self, form: OrderForm, order: Any, replaced: List[Any], layer: QgsVectorLayer) -> None:
        self.place_status.setText(f"Placed “{order.name}” ({order.status}).")
        self.last_order = order
        self.show_errors({})
        self._announce(order, layer, replaced)
        self.orderPlaced.emit(order)
        # The next order gets a fresh default name; everything else stays for a similar order.
        self.options.forget_name()
        if form.is_assured:
            # The window is taken now: read the search again so the table says so.
            self.windows_group.unselect()
            self._reread_search()
        self._form_changed()

    def _announce(self, order: Any, layer: QgsVectorLayer, replaced: List[Any]) -> None:
        bar = self.iface.messageBar()
        text = f"“{order.name}” ({order.status}) is in the “{layer.name()}” layer."
        if replaced:
            text += " It replaces " + ", ".join(f"“{o.name}”" for o in replaced) + "."
        widget = bar.createMessage("Order placed", text)
        button = QPushButton("Zoom to order", widget)
        button.setObjectName("zoomToOrderButton")
        button.clicked.connect(lambda: self.zoom_to_order(order))
        widget.layout().addWidget(button)
        bar.pushWidget(widget, Qgis.MessageLevel.Success, 15)
        self.last_message_widget = widget
        self._order_messages = [w for w in self._order_messages if not sip.isdeleted(w)] + [widget]

    def _order_failed(self, error: BaseException) -> None:
        self.place_status.setText("The order was not placed; your form is kept.")
        if isinstance(error, ValidationError) and error.field_errors:
            self.show_errors(error.field_errors)
            self.place_status.setText("The service refused the order (see the marked fields); your form is kept.")
        elif isinstance(error, OrderCreationUncertain):
            self._push_message("Order may have been placed", error.message, Qgis.MessageLevel.Warning, 0)
        else:
            text = getattr(error, "message", None) or str(error)
            self._push_message("Order not placed", text, Qgis.MessageLevel.Critical, 0)

    def _order_cancelled(self, nothing_sent: bool) -> None:
        self.place_status.setText("Placing was cancelled before the order was sent; nothing was ordered."
                                  if nothing_sent else
                                  "Placing was cancelled; check the order list before trying again.")

    def orders_layer(self) -> QgsVectorLayer:
        """The project's orders layer (found by its kind; shared with the Orders tab), made when there is none."""
        return self.placing.orders_layer()

    def zoom_to_order(self, order: Any) -> None:
        geometry = layers.geojson_to_geometry(order.geometry or order.original_geometry)
        if geometry.isNull():
            return
        transform = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                           self.canvas.mapSettings().destinationCrs(), QgsProject.instance())
        try:
            box = transform.transformBoundingBox(geometry.boundingBox())
        except Exception:  # noqa: BLE001 - nothing to zoom to in this CRS
            return
        box.scale(1.5)
        self.canvas.setExtent(box)
        self.canvas.refresh()
        layer = self.orders_layer()
        # By feature id, not an expression pasted together from the order id (quotes would break it).
        layer.selectByIds(layers.feature_ids_of(layer, [order.id]))

    def _ask_confirmation(self, title: str, text: str) -> bool:
        answer = QMessageBox.question(self, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Cancel)
        return answer == QMessageBox.StandardButton.Yes

    # -- lifecycle -----------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Cancel this panel's tasks, release its map tools and take its footprints off the canvas."""
        for flow in (self.quoting, self.searching, self.placing):
            flow.shutdown()
        self.aoi_group.shutdown()
        self._remove_order_messages()

    def _remove_order_messages(self) -> None:
        # Their "Zoom to order" buttons call this panel, which is gone once the plugin is unloaded.
        widgets, self._order_messages = self._order_messages, []
        self.last_message_widget = None
        for widget in widgets:
            if sip.isdeleted(widget):  # closed by the user or timed out
                continue
            try:
                bar = self.iface.messageBar()
                if widget in bar.items():
                    bar.popWidget(widget)
            except (AttributeError, RuntimeError):  # QGIS is closing and the bar went first
                pass
