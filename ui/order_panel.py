"""The "New order" panel: an AOI from the map, order options, a live quote, imaging windows, and placing the order."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Dict, Iterable, List, Optional

from qgis.core import (
    Qgis,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsGeometry,
    QgsProject,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QDateTime, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDoubleSpinBox,
    QFormLayout,
    QFrame,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ..core import layers, names, settings
from ..core.aoi import DEFAULT_MAX_SQKM, Aoi, AoiError, aoi_from_selection
from ..core.errors import (
    ApiError,
    Cancelled,
    ImagingWindowSearchFailed,
    OrderCreationUncertain,
    ValidationError,
)
from ..core.ordering import (
    ASSURED,
    EXCLUSIVITY_CHOICES,
    FLEXIBLE,
    GENERAL,
    IMAGE,
    STEREO,
    LatestOnly,
    LatestValue,
    OrderForm,
    confirmation_text,
    default_order_name,
    default_product,
    default_times,
    form_problems,
    order_request,
    pricing_lines,
    pricing_request,
    replaced_names,
    request_key,
    search_problems,
    search_request,
    utc_now,
    window_timing_lines,
)
from ..core.services.planet_tasking import layers as planet_layers
from ..core.services.planet_tasking.models import ImagingWindow, ImagingWindowSearch, Order, Pricing
from ..core.tasks import ApiTask, TaskFeedback, run_in_background

try:
    from qgis.PyQt import sip
except ImportError:  # pragma: no cover - older PyQt layouts
    import sip  # type: ignore[no-redef]
from .map_tools import KIND_POINT, KIND_POLYGON, KIND_STRIP, TOOL_CLASSES, AoiMapTool, FootprintPreview
from .windows_table import ImagingWindowsModel, WindowsSortProxy

QUOTE_DELAY_MS = 600
ERROR_STYLE = "color: #c0392b;"
MUTED_STYLE = "color: palette(mid);"
DATE_FORMAT = "yyyy-MM-dd HH:mm 'UTC'"

# Where each field's server message is shown: several service fields can share one label.
FIELD_ROWS = {
    "geometry": "geometry",
    "name": "name",
    "scheduling_type": "scheduling_type",
    "product": "product",
    "pl_number": "pl_number",
    "order_type": "order_type",
    "n_stereo_pov": "order_type",
    "start_time": "start_time",
    "end_time": "end_time",
    "sat_elevation_angle_min": "sat_elevation",
    "sat_elevation_angle_max": "sat_elevation",
    "exclusivity_days": "exclusivity_days",
    "imaging_window": "imaging_window",
    GENERAL: GENERAL,
}


def _qdatetime(value: datetime) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(value.timestamp()), Qt.UTC)


def _utc(edit: QDateTimeEdit) -> datetime:
    return datetime.fromtimestamp(edit.dateTime().toSecsSinceEpoch(), timezone.utc)


def _error_label(parent: QWidget, name: str) -> QLabel:
    label = QLabel(parent)
    label.setObjectName(f"{name}Error")
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setTextInteractionFlags(Qt.TextSelectableByMouse)
    label.setVisible(False)
    return label


class NewOrderPanel(QWidget):
    """From an AOI on the map to a placed order; every network call runs in a QgsTask.

    `client_factory()` returns a TaskingClient for the current settings (or None when not configured);
    it is called on the main thread, once per task, so no client is shared between threads.
    """

    orderPlaced = pyqtSignal(object)  # noqa: N815 - Qt signal naming; the created core.services.planet_tasking.models.Order

    def __init__(self, client_factory: Callable[[], Any], iface, parent: Optional[QWidget] = None,
                 max_sqkm: float = DEFAULT_MAX_SQKM):
        super().__init__(parent)
        self.setObjectName("NewOrderPanel")
        self.client_factory = client_factory
        self.iface = iface
        self.canvas = iface.mapCanvas()
        self.max_sqkm = max_sqkm
        # Replaceable by tests and scripts: (title, text) -> whether the user agreed.
        self.confirm: Callable[[str, str], bool] = self._ask_confirmation
        self.search_poll_seconds = 2.0
        # The longest wait between polls of a running search: new windows show up at most this late.
        self.search_max_poll_seconds = 5.0

        self.aoi: Optional[Aoi] = None
        self.aoi_error: Optional[AoiError] = None
        self.quote: Optional[Pricing] = None
        self.quote_key: Optional[str] = None
        self.quote_error: Optional[BaseException] = None
        self.search: Optional[ImagingWindowSearch] = None
        self.selected_window: Optional[ImagingWindow] = None
        self.last_order: Optional[Order] = None
        self.last_message_widget: Optional[QWidget] = None
        # Every "Order placed" entry pushed (a second order can come within the first one's 15 s).
        self._order_messages: List[QWidget] = []
        self.stale_answers_ignored = 0
        self.quote_task: Optional[ApiTask] = None
        self.search_task: Optional[ApiTask] = None
        self.order_task: Optional[ApiTask] = None
        self._quote_tokens = LatestOnly()
        self._search_tokens = LatestOnly()
        self._name_edited = False
        self._times_edited = False
        self._loading = True

        # Map tools and footprints put items on the canvas, so they are made when first needed.
        self._footprint: Optional[FootprintPreview] = None
        self.tools: Dict[str, AoiMapTool] = {}
        self._previous_tool = None
        self._pl_number_edited = False
        self._product_edited = False

        self._quote_timer = QTimer(self)
        self._quote_timer.setSingleShot(True)
        self._quote_timer.setInterval(QUOTE_DELAY_MS)
        self._quote_timer.timeout.connect(self.request_quote)
        # While a search runs: the running task's newest partial search, tagged with its token.
        self._partial: Optional[tuple] = None
        self._partial_version = 0
        self._partial_timer = QTimer(self)
        self._partial_timer.setInterval(300)
        self._partial_timer.timeout.connect(self._take_partial)

        self._build()
        self.reload_settings()
        self._loading = False
        self.canvas.mapToolSet.connect(self._map_tool_changed)
        self._update_mode()
        self._form_changed()

    # ------------------------------------------------------------------------------------------
    # layout
    # ------------------------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = QScrollArea(self)
        scroll.setObjectName("newOrderScroll")
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.NoFrame)
        # Fields shrink to a narrow dock; below their minimum a scroll bar beats cutting them off.
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAsNeeded)
        outer.addWidget(scroll)
        body = QWidget(scroll)
        body.setObjectName("newOrderBody")
        scroll.setWidget(body)
        self.body = body
        layout = QVBoxLayout(body)
        self.error_labels: Dict[str, QLabel] = {}

        layout.addWidget(self._build_aoi_group(body))
        layout.addWidget(self._build_options_group(body))
        layout.addWidget(self._build_quote_group(body))
        layout.addWidget(self._build_windows_group(body))
        layout.addWidget(self._build_place_group(body))
        layout.addStretch(1)

    def _build_aoi_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("1. Area of interest", parent)
        group.setObjectName("aoiGroup")
        grid = QGridLayout(group)
        self.tool_buttons: Dict[str, QToolButton] = {}
        specs = (
            (KIND_POINT, "&Point", "Click the map once: the service images the 5 × 5 km square around the point."),
            (KIND_STRIP, "&Strip", "Click the start and the end: a strip 5 km wide and 6–100 km long. "
                                   "Esc cancels, Backspace removes the start."),
            (KIND_POLYGON, "Pol&ygon", "Click the corners; right-click, double-click or Enter closes it. "
                                       "Backspace removes the last corner, Esc cancels. Flexible orders only."),
        )
        for column, (kind, text, tip) in enumerate(specs):
            button = QToolButton(group)
            button.setObjectName(f"{kind}ToolButton")
            button.setText(text)
            button.setToolTip(tip)
            button.setCheckable(True)
            button.setToolButtonStyle(Qt.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Expanding, QSizePolicy.Fixed)
            button.setFocusPolicy(Qt.StrongFocus)
            button.clicked.connect(lambda checked, k=kind: self.activate_tool(k) if checked else self.deactivate_tool())
            grid.addWidget(button, 0, column)
            self.tool_buttons[kind] = button
        self.selected_button = QPushButton("Use selected &feature", group)
        self.selected_button.setObjectName("useSelectedButton")
        self.selected_button.setToolTip("Order the selected feature of the active layer (any CRS): a point, a "
                                        "two-point line or a polygon. Several polygons that touch or overlap "
                                        "are merged into one area.")
        self.selected_button.clicked.connect(self.use_selected_features)
        grid.addWidget(self.selected_button, 1, 0, 1, 2)
        self.clear_aoi_button = QPushButton("Clear", group)
        self.clear_aoi_button.setObjectName("clearAoiButton")
        self.clear_aoi_button.setToolTip("Forget the AOI and remove its footprint from the map")
        self.clear_aoi_button.clicked.connect(self.clear_aoi)
        grid.addWidget(self.clear_aoi_button, 1, 2)
        self.aoi_summary = QLabel("No AOI yet: draw one on the map or use a selected feature.", group)
        self.aoi_summary.setObjectName("aoiSummary")
        self.aoi_summary.setWordWrap(True)
        grid.addWidget(self.aoi_summary, 2, 0, 1, 3)
        self.drawing_status = QLabel(group)
        self.drawing_status.setObjectName("drawingStatus")
        self.drawing_status.setWordWrap(True)
        self.drawing_status.setStyleSheet(MUTED_STYLE)
        self.drawing_status.setVisible(False)
        grid.addWidget(self.drawing_status, 3, 0, 1, 3)
        self.error_labels["geometry"] = _error_label(group, "geometry")
        grid.addWidget(self.error_labels["geometry"], 4, 0, 1, 3)
        return group

    def _field(self, form: QFormLayout, label: str, widget: QWidget, row: str, tip: str,
               buddy: Optional[QWidget] = None) -> None:
        holder = QWidget(form.parentWidget())
        box = QVBoxLayout(holder)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        box.addWidget(widget)
        error = _error_label(holder, row)
        box.addWidget(error)
        self.error_labels[row] = error
        widget.setToolTip(tip)
        if isinstance(widget, QComboBox):
            # Long choices must not make the whole dock wide: the combo shrinks, its popup shows all.
            widget.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
            widget.setMinimumContentsLength(8)
        caption = QLabel(label, form.parentWidget())
        # The label's mnemonic (Alt+letter) jumps to the field.
        caption.setBuddy(buddy or widget)
        caption.setToolTip(tip)
        form.addRow(caption, holder)

    def _build_options_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("2. Order", parent)
        group.setObjectName("optionsGroup")
        form = QFormLayout(group)
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        form.setFieldGrowthPolicy(QFormLayout.AllNonFixedFieldsGrow)

        self.name_edit = QLineEdit(group)
        self.name_edit.setObjectName("nameEdit")
        self.name_edit.setMaxLength(300)
        self.name_edit.textEdited.connect(self._name_typed)
        self._field(form, "&Name", self.name_edit, "name",
                    "The order's name in the order list (up to 255 characters). Filled in from the AOI until you type.")

        self.scheduling_combo = QComboBox(group)
        self.scheduling_combo.setObjectName("schedulingCombo")
        self.scheduling_combo.addItem("Flexible — imaged when possible in the time range", FLEXIBLE)
        self.scheduling_combo.addItem("Assured — one imaging window you choose", ASSURED)
        self.scheduling_combo.currentIndexChanged.connect(self._scheduling_changed)
        self._field(form, "S&cheduling", self.scheduling_combo, "scheduling_type",
                    "Flexible: the service images the AOI when it can between start and end, retrying until a "
                    "capture passes quality checks. Assured: you pick a satellite pass (point or strip only).")

        self.imaging_combo = QComboBox(group)
        self.imaging_combo.setObjectName("imagingCombo")
        self.imaging_combo.addItem("Image (one view)", (IMAGE, None))
        self.imaging_combo.addItem("Stereo, 2 points of view", (STEREO, 2))
        self.imaging_combo.addItem("Stereo, 3 points of view", (STEREO, 3))
        self.imaging_combo.currentIndexChanged.connect(self._form_changed)
        self._field(form, "&Imaging", self.imaging_combo, "order_type",
                    "Stereo takes 2 or 3 images from different angles (for elevation models); "
                    "the price is multiplied by the number of views.")

        self.start_edit = self._datetime_edit(group, "startEdit")
        self._field(form, "S&tart (UTC)", self.start_edit, "start_time",
                    "Earliest imaging time, in UTC (Planet works in UTC); a start in the past means now.")
        self.end_edit = self._datetime_edit(group, "endEdit")
        self._field(form, "&End (UTC)", self.end_edit, "end_time",
                    "Latest imaging time, in UTC. Assured: imaging windows are searched up to 7 days ahead.")

        elevation = QWidget(group)
        row = QHBoxLayout(elevation)
        row.setContentsMargins(0, 0, 0, 0)
        self.elevation_min_spin = self._angle_spin(elevation, "elevationMinSpin", 60.0)
        self.elevation_max_spin = self._angle_spin(elevation, "elevationMaxSpin", 90.0)
        row.addWidget(self.elevation_min_spin)
        row.addWidget(QLabel("to", elevation))
        row.addWidget(self.elevation_max_spin)
        self._field(form, "Satellite e&levation", elevation, "sat_elevation",
                    "The satellite's elevation above the AOI's horizon, in degrees (90° = straight overhead). "
                    "A higher minimum gives sharper images but fewer chances.", buddy=self.elevation_min_spin)
        self.elevation_min_spin.setToolTip("Lowest satellite elevation, in degrees (0–90°)")
        self.elevation_max_spin.setToolTip("Highest satellite elevation, in degrees (0–90°)")

        self.pl_number_edit = QLineEdit(group)
        self.pl_number_edit.setObjectName("plNumberEdit")
        self.pl_number_edit.setPlaceholderText("contract default (assured: required)")
        self.pl_number_edit.textChanged.connect(self._form_changed)
        self.pl_number_edit.textEdited.connect(lambda _text: setattr(self, "_pl_number_edited", True))
        self._field(form, "C&ontract", self.pl_number_edit, "pl_number",
                    "Your Planet contract number (PL-…), from the plugin's settings; empty: the key's default "
                    "for flexible orders. Imaging-window searches (assured) require it.")

        self.product_edit = QLineEdit(group)
        self.product_edit.setObjectName("productEdit")
        self.product_edit.setPlaceholderText("contract default")
        self.product_edit.textChanged.connect(self._form_changed)
        self.product_edit.textEdited.connect(lambda _text: setattr(self, "_product_edited", True))
        self._field(form, "Pro&duct", self.product_edit, "product",
                    "The tasking product, from the settings (e.g. one_time_tasking; Assured Tasking for assured).")

        self.exclusivity_combo = QComboBox(group)
        self.exclusivity_combo.setObjectName("exclusivityCombo")
        for days in EXCLUSIVITY_CHOICES:
            self.exclusivity_combo.addItem("none (0 days)" if days == 0 else f"{days} days", days)
        self.exclusivity_combo.currentIndexChanged.connect(self._exclusivity_changed)
        self._field(form, "E&xclusivity", self.exclusivity_combo, "exclusivity_days",
                    "Days the images are withheld from Planet's public archive after capture, if your contract "
                    "allows it; costs more.")
        return group

    def _datetime_edit(self, parent: QWidget, name: str) -> QDateTimeEdit:
        edit = QDateTimeEdit(parent)
        edit.setObjectName(name)
        edit.setTimeSpec(Qt.UTC)
        edit.setDisplayFormat(DATE_FORMAT)
        edit.setCalendarPopup(True)
        edit.dateTimeChanged.connect(self._time_changed)
        return edit

    def _angle_spin(self, parent: QWidget, name: str, value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(parent)
        spin.setObjectName(name)
        spin.setRange(0.0, 90.0)
        spin.setDecimals(1)
        spin.setSingleStep(1.0)
        spin.setSuffix(" °")
        spin.setValue(value)
        spin.valueChanged.connect(self._form_changed)
        return spin

    def _build_quote_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("3. Quote", parent)
        group.setObjectName("quoteGroup")
        box = QVBoxLayout(group)
        self.quote_label = QLabel(group)
        self.quote_label.setObjectName("quoteLabel")
        self.quote_label.setWordWrap(True)
        self.quote_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.quote_label.setToolTip("The service's price preview for the order as it stands; it updates by "
                                    "itself when the AOI or an option changes. Quota is counted in km².")
        box.addWidget(self.quote_label)
        self.quote_status = QLabel(group)
        self.quote_status.setObjectName("quoteStatus")
        self.quote_status.setWordWrap(True)
        self.quote_status.setStyleSheet(MUTED_STYLE)
        box.addWidget(self.quote_status)
        return group

    def _build_windows_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Imaging windows (assured)", parent)
        group.setObjectName("windowsGroup")
        self.windows_group = group
        box = QVBoxLayout(group)
        buttons = QHBoxLayout()
        self.find_button = QPushButton("Find imaging &windows", group)
        self.find_button.setObjectName("findWindowsButton")
        self.find_button.setToolTip("Search the satellite passes over the AOI between start and end "
                                    "(takes up to 5 minutes at the service; the map stays usable)")
        self.find_button.clicked.connect(self.find_windows)
        buttons.addWidget(self.find_button)
        self.cancel_search_button = QPushButton("Cancel", group)
        self.cancel_search_button.setObjectName("cancelSearchButton")
        self.cancel_search_button.setToolTip("Stop waiting for the search")
        self.cancel_search_button.setEnabled(False)
        self.cancel_search_button.clicked.connect(self.cancel_search)
        buttons.addWidget(self.cancel_search_button)
        box.addLayout(buttons)
        self.search_progress = QProgressBar(group)
        self.search_progress.setObjectName("searchProgress")
        self.search_progress.setRange(0, 100)
        self.search_progress.setFormat("Searching… %p %")
        self.search_progress.setVisible(False)
        box.addWidget(self.search_progress)
        self.replacing_check = QCheckBox("Include windows that\n&replace my orders", group)
        self.replacing_check.setObjectName("replacingCheck")
        self.replacing_check.setToolTip("Also list windows already used by your assured orders; ordering one "
                                        "replaces (cancels) those orders. They are highlighted.")
        self.replacing_check.toggled.connect(self._reread_search)
        options = QHBoxLayout()
        options.addWidget(self.replacing_check, 1)
        self.windows_map_button = QPushButton("Show on &map", group)
        self.windows_map_button.setObjectName("windowsToMapButton")
        self.windows_map_button.setToolTip("Put the listed windows in the “Imaging windows” layer: each is drawn "
                                           "as the footprint it would image, and the temporal controller plays "
                                           "them by time.")
        self.windows_map_button.setEnabled(False)
        self.windows_map_button.clicked.connect(self.show_windows_on_map)
        options.addWidget(self.windows_map_button)
        box.addLayout(options)
        self.search_status = QLabel(group)
        self.search_status.setObjectName("searchStatus")
        self.search_status.setWordWrap(True)
        box.addWidget(self.search_status)
        self.windows_model = ImagingWindowsModel(self)
        self.windows_proxy = WindowsSortProxy(self)
        self.windows_proxy.setSourceModel(self.windows_model)
        self.windows_view = QTableView(group)
        self.windows_view.setObjectName("windowsView")
        self.windows_view.setModel(self.windows_proxy)
        self.windows_view.setSortingEnabled(True)
        self.windows_view.sortByColumn(0, Qt.AscendingOrder)
        self.windows_view.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.windows_view.setSelectionMode(QAbstractItemView.SingleSelection)
        self.windows_view.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.windows_view.setAlternatingRowColors(True)
        self.windows_view.setTabKeyNavigation(False)
        self.windows_view.verticalHeader().setVisible(False)
        self.windows_view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeToContents)
        self.windows_view.setMinimumHeight(150)
        self.windows_view.setToolTip("Choose the window to order; click a header to sort")
        self.windows_view.selectionModel().selectionChanged.connect(self._window_selection_changed)
        for signal in (self.windows_model.modelReset, self.windows_model.rowsInserted, self.windows_model.rowsRemoved):
            signal.connect(self._update_windows_map_button)
        box.addWidget(self.windows_view)
        self.window_detail = QLabel(group)
        self.window_detail.setObjectName("windowDetail")
        self.window_detail.setWordWrap(True)
        self.window_detail.setTextInteractionFlags(Qt.TextSelectableByMouse)
        box.addWidget(self.window_detail)
        self.error_labels["imaging_window"] = _error_label(group, "imaging_window")
        box.addWidget(self.error_labels["imaging_window"])
        return group

    def _build_place_group(self, parent: QWidget) -> QWidget:
        holder = QWidget(parent)
        box = QVBoxLayout(holder)
        box.setContentsMargins(0, 0, 0, 0)
        self.error_labels[GENERAL] = _error_label(holder, "general")
        box.addWidget(self.error_labels[GENERAL])
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

    # ------------------------------------------------------------------------------------------
    # form state
    # ------------------------------------------------------------------------------------------

    def reload_settings(self) -> None:
        """Take contract and product from the plugin settings (the user may still change them here)."""
        loading, self._loading = self._loading, True
        # What the user typed here wins over the settings until the panel is made again.
        if not self._pl_number_edited:
            self.pl_number_edit.setText(settings.pl_number())
        if not self._product_edited:
            self.product_edit.setText(default_product(self.scheduling_type, settings.product()))
        if not self._times_edited:
            self._set_default_times()
        self._loading = loading
        self._form_changed()

    @property
    def scheduling_type(self) -> str:
        return self.scheduling_combo.currentData() or FLEXIBLE

    def _set_default_times(self) -> None:
        start, end = default_times(self.scheduling_type)
        for edit, value in ((self.start_edit, start), (self.end_edit, end)):
            edit.blockSignals(True)
            edit.setDateTime(_qdatetime(value))
            edit.blockSignals(False)
        self._update_time_tooltips()

    def _update_time_tooltips(self) -> None:
        for edit, what in ((self.start_edit, "Earliest"), (self.end_edit, "Latest")):
            local = edit.dateTime().toLocalTime().toString("yyyy-MM-dd HH:mm")
            edit.setToolTip(f"{what} imaging time in UTC; your local time: {local}")

    def form(self) -> OrderForm:
        """The form's values as they stand."""
        order_type, pov = self.imaging_combo.currentData() or (IMAGE, None)
        return OrderForm(
            name=self.name_edit.text(),
            scheduling_type=self.scheduling_type,
            order_type=order_type,
            n_stereo_pov=pov or 2,
            start_time=_utc(self.start_edit),
            end_time=_utc(self.end_edit),
            sat_elevation_angle_min=self.elevation_min_spin.value(),
            sat_elevation_angle_max=self.elevation_max_spin.value(),
            pl_number=self.pl_number_edit.text(),
            product=self.product_edit.text(),
            exclusivity_days=int(self.exclusivity_combo.currentData() or 0),
            imaging_window=self.selected_window.id if self.selected_window and self.scheduling_type == ASSURED else None,
        )

    def set_order_name(self, name: str) -> None:
        """Name the order as the user would by typing (the default name no longer replaces it)."""
        self.name_edit.setText(name)
        self._name_typed(name)

    def _name_typed(self, _text: str) -> None:
        self._name_edited = bool(self.name_edit.text().strip())
        self._form_changed()

    def _time_changed(self, *_args) -> None:
        if not self._loading:
            self._times_edited = True
        self._update_time_tooltips()
        self._form_changed()

    def _update_default_name(self) -> None:
        if self._name_edited:
            return
        form = self.form()
        self.name_edit.setText(default_order_name(self.aoi, form.scheduling_type, form.order_type))

    def _scheduling_changed(self, *_args) -> None:
        loading, self._loading = self._loading, True
        self.product_edit.setText(default_product(self.scheduling_type, self.product_edit.text()))
        if not self._times_edited:
            self._set_default_times()
        self._loading = loading
        self._update_mode()
        self._form_changed()

    def _exclusivity_changed(self, *_args) -> None:
        self._form_changed()
        if self.search is not None:
            self._reread_search()

    def _update_mode(self) -> None:
        assured = self.scheduling_type == ASSURED
        self.windows_group.setVisible(assured)
        self.tool_buttons[KIND_POLYGON].setEnabled(not assured)

    def _form_changed(self, *_args) -> None:
        """Any change: drop errors about the old values, check the new ones, and quote again soon."""
        if self._loading:
            return
        self._update_default_name()
        form = self.form()
        problems = form_problems(form, self.aoi, for_order=False)
        problems.pop("imaging_window", None)
        if self.aoi is None:
            problems.pop("geometry", None)
        self.show_errors(problems)
        if self.aoi_error is not None:
            self._show_error_at("geometry", [self.aoi_error.message])
        self.quote_status.setText("Updating the quote…" if self.aoi is not None else "")
        self._quote_timer.start()

    # ------------------------------------------------------------------------------------------
    # errors next to their fields
    # ------------------------------------------------------------------------------------------

    def show_errors(self, errors: Dict[str, Any]) -> None:
        """Show each message next to its field (the server's words), clearing the others."""
        for label in self.error_labels.values():
            label.clear()
            label.setVisible(False)
        for field, messages in errors.items():
            if isinstance(messages, str):
                messages = [messages]
            self._show_error_at(field, list(messages))

    def _show_error_at(self, field: str, messages: List[str]) -> None:
        row = FIELD_ROWS.get(field)
        if row is None:
            row = GENERAL
            messages = [f"{field}: {m}" for m in messages]
        label = self.error_labels[row]
        text = "\n".join([label.text()] + messages if label.text() else messages)
        label.setText(text)
        label.setVisible(True)

    def field_error(self, field: str) -> str:
        """The error shown for a service field ("" when none); for tests and scripts."""
        label = self.error_labels[FIELD_ROWS.get(field, GENERAL)]
        return label.text() if label.isVisible() or label.text() else ""

    def _push_message(self, title: str, text: str, level=Qgis.Warning, duration: int = 10) -> None:
        self.iface.messageBar().pushMessage(title, text, level, duration)

    def _client(self, purpose: str):
        try:
            client = self.client_factory() if self.client_factory is not None else None
        except Exception as error:  # noqa: BLE001 - e.g. the auth database is locked: say so, keep the form
            self._push_message(names.MESSAGE_TITLE, f"Cannot {purpose}: {error}", Qgis.Critical)
            return None
        if client is None:
            self._push_message(names.MESSAGE_TITLE, f"Cannot {purpose}: the plugin is not configured. Open the "
                               "settings to enter your API key, or use the local sandbox.", Qgis.Warning)
        return client

    # ------------------------------------------------------------------------------------------
    # AOI
    # ------------------------------------------------------------------------------------------

    @property
    def footprint(self) -> FootprintPreview:
        """The chosen AOI's footprint on the canvas."""
        if self._footprint is None:
            self._footprint = FootprintPreview(self.canvas, self.max_sqkm)
        return self._footprint

    def tool(self, kind: str) -> AoiMapTool:
        """The drawing tool of a kind (point, strip, polygon), made on first use."""
        if kind not in self.tools:
            tool = TOOL_CLASSES[kind](self.canvas, self.max_sqkm)
            tool.aoiDrawn.connect(self.set_aoi_geometry)
            tool.previewChanged.connect(self._show_drawing_preview)
            tool.cancelled.connect(self._tool_cancelled)
            self.tools[kind] = tool
        return self.tools[kind]

    def activate_tool(self, kind: str) -> None:
        tool = self.tool(kind)
        current = self.canvas.mapTool()
        if current not in self.tools.values():
            self._previous_tool = current
        self.canvas.setMapTool(tool)
        self.canvas.setFocus()
        self.drawing_status.setText({
            KIND_POINT: "Click the map where the point should be.",
            KIND_STRIP: "Click the strip's start, then its end (Esc cancels).",
            KIND_POLYGON: "Click the corners; right-click or double-click closes (Backspace undoes, Esc cancels).",
        }[kind])
        self.drawing_status.setVisible(True)

    def deactivate_tool(self) -> None:
        current = self.canvas.mapTool()
        if current in self.tools.values():
            if self._previous_tool is not None and self._previous_tool not in self.tools.values():
                self.canvas.setMapTool(self._previous_tool)
            else:
                self.canvas.unsetMapTool(current)
        self.drawing_status.setVisible(False)

    def _tool_cancelled(self) -> None:
        self.deactivate_tool()

    def _map_tool_changed(self, new_tool, _old_tool=None) -> None:
        for kind, button in self.tool_buttons.items():
            button.setChecked(new_tool is not None and new_tool is self.tools.get(kind))
        if new_tool not in self.tools.values():
            self.drawing_status.setVisible(False)

    def _show_drawing_preview(self, text: str, valid: bool) -> None:
        self.drawing_status.setText(("Drawing: " if valid else "") + text)
        self.drawing_status.setStyleSheet(MUTED_STYLE if valid else ERROR_STYLE)
        self.drawing_status.setVisible(True)

    def set_aoi_geometry(self, geometry: QgsGeometry, crs: QgsCoordinateReferenceSystem) -> None:
        """Use a geometry drawn (or selected) in `crs` as the AOI; an invalid one is shown red with the reason."""
        result = self.footprint.show(geometry, crs)
        self._set_aoi_result(result)

    def _set_aoi_result(self, result) -> None:
        self.drawing_status.setVisible(False)
        self.drawing_status.setStyleSheet(MUTED_STYLE)
        if isinstance(result, Aoi):
            self.aoi, self.aoi_error = result, None
            self.aoi_summary.setText(result.summary())
        else:
            self.aoi, self.aoi_error = None, result
            self.aoi_summary.setText("The AOI cannot be ordered (see below); nothing is sent until it is fixed.")
        self._aoi_changed()

    def _aoi_changed(self) -> None:
        # Windows belong to the AOI they were searched for.
        self._clear_search()
        self._form_changed()

    def clear_aoi(self) -> None:
        self.aoi = self.aoi_error = None
        if self._footprint is not None:
            self._footprint.clear()
        self.aoi_summary.setText("No AOI yet: draw one on the map or use a selected feature.")
        self._aoi_changed()

    def use_selected_features(self) -> None:
        layer = self.iface.activeLayer()
        if not isinstance(layer, QgsVectorLayer):
            self._aoi_problem("Choose a vector layer in the Layers panel and select the feature to order.")
            return
        selection = aoi_from_selection(layer, max_sqkm=self.max_sqkm)
        if selection is None:
            self._aoi_problem(f"No feature of “{layer.name()}” is selected: select the one to order "
                              "(Select Features tool), then try again.")
            return
        result, geometry = selection.result, selection.geometry
        self.footprint.show_result(result, geometry, layer.crs())
        if self.footprint.label.text and isinstance(result, AoiError) and geometry is not None:
            # Label the invalid feature where it is, in the canvas CRS.
            self.footprint.label.set_label(self.footprint.label.text, self._canvas_point(geometry, layer.crs()), False)
        self._set_aoi_result(result)
        if selection.merged:
            self.aoi_summary.setText(f"{len(selection.feature_ids)} selected polygons merged into one area. "
                                     + result.summary())

    def _canvas_point(self, geometry: QgsGeometry, crs: QgsCoordinateReferenceSystem):
        centre = geometry.boundingBox().center()
        try:
            transform = QgsCoordinateTransform(crs, self.canvas.mapSettings().destinationCrs(), QgsProject.instance())
            return transform.transform(centre)
        except Exception:  # noqa: BLE001 - only a label position
            return centre

    def _aoi_problem(self, message: str) -> None:
        self.show_errors({})
        self._show_error_at("geometry", [message])

    # ------------------------------------------------------------------------------------------
    # quote
    # ------------------------------------------------------------------------------------------

    def request_quote(self) -> None:
        """Ask the service for the price of the form as it stands (in a task; older answers are dropped)."""
        form = self.form()
        problems = form_problems(form, self.aoi, for_order=False)
        problems.pop("imaging_window", None)
        if problems:
            self._quote_tokens.invalidate()
            self.quote, self.quote_key = None, None
            self.quote_label.setText("No quote yet: " + next(iter(problems.values()))
                                     if self.aoi is not None else "No quote yet: draw an AOI first.")
            self.quote_status.setText("")
            return
        body = pricing_request(form, self.aoi)
        key = request_key(body)
        if key == self.quote_key and self.quote is not None:
            self.quote_status.setText("")
            return
        client = self._client("get a quote")
        if client is None:
            self.quote_status.setText("Not configured: no quote.")
            return
        token = self._quote_tokens.next()
        self.quote_status.setText("Updating the quote…")
        self.quote_task = run_in_background(
            names.task_description("price preview"),
            lambda feedback: client.preview_pricing(body),
            on_success=lambda pricing: self._quote_arrived(token, key, pricing),
            on_error=lambda error: self._quote_failed(token, error),
            on_cancel=lambda: self._quote_cancelled(token),
        )

    def quote_is_current(self) -> bool:
        """Whether the quote shown answers the form as it stands now."""
        if self.quote is None or self._quote_timer.isActive():
            return False
        return self.quote_key == request_key(pricing_request(self.form(), self.aoi))

    def _quote_arrived(self, token: int, key: str, pricing: Pricing) -> None:
        if not self._quote_tokens.is_current(token):
            self.stale_answers_ignored += 1
            return
        self.quote_task = None
        self.quote, self.quote_key, self.quote_error = pricing, key, None
        self.quote_label.setText("\n".join(pricing_lines(pricing)))
        self.quote_status.setText(f"Quoted at {datetime.now(timezone.utc):%H:%M:%S} UTC")

    def _quote_failed(self, token: int, error: BaseException) -> None:
        if not self._quote_tokens.is_current(token):
            self.stale_answers_ignored += 1
            return
        self.quote_task = None
        self.quote, self.quote_key, self.quote_error = None, None, error
        if isinstance(error, ValidationError) and error.field_errors:
            self.show_errors(error.field_errors)
            self.quote_label.setText("No quote: the service refused the order as it stands (see the marked fields).")
        else:
            self.quote_label.setText(f"No quote: {getattr(error, 'message', None) or error}")
        self.quote_status.setText("")

    def _quote_cancelled(self, token: int) -> bool:
        """The price preview was cancelled (e.g. from QGIS's task manager); False for an outdated one."""
        if not self._quote_tokens.is_current(token):
            return False
        self._quote_tokens.invalidate()
        self.quote_task = None
        # The price shown belongs to an older form, if any: not a quote for this one.
        self.quote, self.quote_key, self.quote_error = None, None, None
        self.quote_label.setText("No quote: the price preview was cancelled. Change the order to ask again.")
        self.quote_status.setText("Quote cancelled.")
        return True

    # ------------------------------------------------------------------------------------------
    # imaging windows
    # ------------------------------------------------------------------------------------------

    def find_windows(self) -> None:
        """Start an imaging-window search for the AOI and wait for it in a task, with progress and cancel.

        Windows are listed as the service reports them, while the search runs.
        """
        form = self.form()
        problems = search_problems(form, self.aoi)
        if self.aoi is None:
            problems["geometry"] = "Draw a point or a strip first: windows are searched for an AOI."
        if problems:
            self.show_errors(problems)
            self.search_status.setText("Fix the marked fields first; nothing was sent.")
            return
        client = self._client("search imaging windows")
        if client is None:
            return
        self._clear_search()
        self._poll_search(client, request=search_request(form, self.aoi), running=True)

    def _poll_search(self, client: Any, *, request: Optional[Dict[str, Any]] = None,
                     search_id: Optional[str] = None, running: bool) -> None:
        """Start the search (`request`) or read an existing one (`search_id`) until it is DONE or FAILED.

        Why one polling task and a holder rather than one short task per poll: the client already polls
        with backoff, honours cancel within half a second and turns FAILED into the server's error, and a
        single task keeps one entry (one progress bar, one Cancel) in QGIS's task manager for the whole
        search. run() only put()s each state read into a LatestValue; the panel picks the newest up on
        the main thread, from the task's progressChanged (queued to the main thread) and a short timer
        (progress stands still between polls and at 95 %), and merges its windows into the table by id.
        """
        replacing = self.replacing_check.isChecked()
        exclusivity = int(self.exclusivity_combo.currentData() or 0)
        poll = self.search_poll_seconds
        max_poll = max(poll, self.search_max_poll_seconds)
        token = self._search_tokens.next()
        partial: LatestValue[ImagingWindowSearch] = LatestValue()
        self._partial = (token, partial)
        self._partial_version = 0

        def search(feedback: TaskFeedback) -> ImagingWindowSearch:
            sid = search_id
            if sid is None:
                started = client.start_imaging_window_search(**request)
                partial.put(started)
                feedback.set_progress(2)
                sid = started.id
            return client.wait_imaging_window_search(
                sid, poll=poll, max_poll=max_poll, progress=feedback.set_progress,
                is_canceled=feedback.is_canceled, show_replacing_imaging_windows=replacing,
                exclusivity_days=exclusivity, on_partial=partial.put)

        self.search_progress.setVisible(running)
        if running:
            self.search_progress.setValue(0)
            self.find_button.setEnabled(False)
            self.cancel_search_button.setEnabled(True)
            count = len(self.windows_model.windows())
            self.search_status.setText(self._searching_text(count))
        else:
            self.search_status.setText("Reading the imaging windows again…")
        self.search_task = run_in_background(
            names.task_description("imaging-window search") if request is not None else names.task_description("imaging windows"),
            search,
            on_success=lambda result: self._search_done(token, result),
            on_error=lambda error: self._search_failed(token, error),
            on_cancel=lambda: self._search_cancelled(token),
        )
        self.search_task.progressChanged.connect(self._search_progress)
        self._partial_timer.start()

    @staticmethod
    def _searching_text(count: int) -> str:
        if not count:
            return "Searching imaging windows… (up to 5 minutes; you can keep working)"
        return (f"Searching… {count} window{'s' if count != 1 else ''} so far; you can choose one now "
                "or wait for more (up to 5 minutes).")

    def _search_progress(self, percent: float) -> None:
        self.search_progress.setValue(int(percent))
        self._take_partial()

    def _take_partial(self) -> None:
        """On the main thread: show the newest partial search the running task read, if not shown yet."""
        if self._partial is None:
            return
        token, holder = self._partial
        if not self._search_tokens.is_current(token):
            return
        self._partial_version, state = holder.newer_than(self._partial_version)
        if state is None or state.is_finished:
            # A finished search is shown by _search_done / _search_failed, with its final words.
            return
        self.search = state
        count = self._merge_windows(state.imaging_windows)
        if self.search_progress.isVisible():
            self.search_status.setText(self._searching_text(count))

    def _merge_windows(self, windows: List[ImagingWindow]) -> int:
        """Bring the table up to the service's list, keeping the sort and the selected window; returns the count."""
        before = self.selected_window.id if self.selected_window else None
        self.windows_model.sync_windows(windows)
        rows = self.windows_view.selectionModel().selectedRows()
        self.selected_window = self.windows_proxy.window(rows[0].row()) if rows else None
        if self.selected_window is not None and self.selected_window.id != before:
            # The selection only followed its row; it is the same window the user chose if the id matches.
            self.selected_window = None
            self.windows_view.clearSelection()
        self._show_window_detail()
        after = self.selected_window.id if self.selected_window else None
        if after != before:
            self._form_changed()
        return self.windows_model.rowCount()

    def cancel_search(self) -> None:
        if self.search_task is not None:
            try:
                self.search_task.cancel()
            except RuntimeError:  # the task finished and was deleted meanwhile
                pass
        self.cancel_search_button.setEnabled(False)

    def _search_finished_ui(self) -> None:
        self._partial_timer.stop()
        self.search_progress.setVisible(False)
        self.find_button.setEnabled(True)
        self.cancel_search_button.setEnabled(False)
        self.search_task = None

    def _search_done(self, token: int, result: ImagingWindowSearch) -> None:
        if not self._search_tokens.is_current(token):
            self.stale_answers_ignored += 1
            return
        self._search_finished_ui()
        self._show_search(result)

    def _show_search(self, result: ImagingWindowSearch) -> None:
        self.search = result
        self._partial = None
        windows = result.imaging_windows
        self._merge_windows(windows)
        self.windows_view.resizeColumnsToContents()
        replacing = sum(1 for w in windows if w.replaces_orders)
        if not windows:
            text = ("No imaging windows match: widen the time range, lower the minimum satellite elevation, "
                    "or include windows that replace your orders.")
        else:
            count = self.windows_model.rowCount()
            text = f"{count} imaging window{'s' if count != 1 else ''} found"
            if replacing:
                text += f" ({replacing} replace{'s' if replacing == 1 else ''} your orders, highlighted)"
            text += ": choose one."
        self.search_status.setText(text)

    def _search_failed(self, token: int, error: BaseException) -> None:
        if not self._search_tokens.is_current(token):
            self.stale_answers_ignored += 1
            return
        self._take_partial()
        self._partial = None
        self._search_finished_ui()
        if isinstance(error, ValidationError) and error.field_errors:
            self.show_errors(error.field_errors)
            self.search_status.setText("The service refused the search (see the marked fields).")
        elif isinstance(error, ImagingWindowSearchFailed):
            self.search_status.setText(str(error))
            self._push_message("Imaging-window search failed", str(error), Qgis.Warning)
        else:
            text = getattr(error, "message", None) or str(error)
            self.search_status.setText(f"The search did not complete: {text}")
            self._push_message("Imaging-window search", text, Qgis.Critical)

    def _search_cancelled(self, token: int) -> None:
        if not self._search_tokens.is_current(token):
            return
        # What was found before the cancel stays listed (and can be ordered); the status says it is partial.
        self._take_partial()
        self._partial = None
        self._search_finished_ui()
        count = self.windows_model.rowCount()
        if not count:
            self.search_status.setText("Search cancelled. Nothing was ordered.")
        else:
            self.search_status.setText(
                f"Search cancelled before it finished: the {count} imaging window{'s' if count != 1 else ''} "
                "found so far are listed, there may be more. Nothing was ordered.")

    def _reread_search(self, *_args) -> None:
        """Read the search again (replacing windows shown or not, prices for the exclusivity).

        A search still running (or cancelled before it finished) is polled on to DONE, filling in as before.
        """
        if self.search is None:
            return
        client = self._client("read the imaging windows")
        if client is None:
            return
        # Replaces any task polling this search with the old options; its late answers are dropped by token.
        previous = self.search_task
        if previous is not None:
            try:
                previous.cancel()
            except RuntimeError:
                pass
        self._poll_search(client, search_id=self.search.id, running=not self.search.is_finished)

    def _clear_search(self) -> None:
        self._search_tokens.invalidate()
        self._partial = None
        self._partial_timer.stop()
        if self.search_task is not None:
            try:
                self.search_task.cancel()
            except RuntimeError:
                pass
        self.search_task = None
        self.search_progress.setVisible(False)
        self.find_button.setEnabled(True)
        self.cancel_search_button.setEnabled(False)
        self.search = None
        self.selected_window = None
        self.windows_model.set_windows([])
        self.search_status.setText("")
        self.window_detail.setText("")

    def _update_windows_map_button(self, *_args) -> None:
        self.windows_map_button.setEnabled(self.windows_model.rowCount() > 0 and self.aoi is not None)

    def show_windows_on_map(self) -> Optional[QgsVectorLayer]:
        """Write the listed windows into the project's imaging-windows layer (in place by id; windows no
        longer listed leave it), drawn as the footprint the AOI tasks."""
        windows = self.windows_model.windows()
        if not windows or self.aoi is None:
            return None
        layer = layers.find_or_create_layer(QgsProject.instance(), planet_layers.IMAGING_WINDOWS, names.IMAGING_WINDOWS_LAYER)
        if layer.isEditable():
            self._push_message("Imaging windows", f"“{layer.name()}” is being edited: save or discard the edits, "
                               "then show the windows again.")
            return None
        search_id = self.search.id if self.search is not None else None
        planet_layers.upsert_imaging_windows(layer, windows, self.aoi.tasked_geometry(), search_id, remove_missing=True)
        self._push_message("Imaging windows", f"{len(windows)} window{'s' if len(windows) != 1 else ''} in "
                           f"“{layer.name()}”; the temporal controller plays them by time.", Qgis.Info, 6)
        return layer

    def select_window(self, window_id: str) -> bool:
        """Select the table row of a window by id (as a click would); False when it is not listed."""
        for row in range(self.windows_proxy.rowCount()):
            window = self.windows_proxy.window(row)
            if window is not None and window.id == window_id:
                self.windows_view.selectRow(row)
                return True
        return False

    def _window_selection_changed(self, *_args) -> None:
        rows = self.windows_view.selectionModel().selectedRows()
        self.selected_window = self.windows_proxy.window(rows[0].row()) if rows else None
        self._show_window_detail()
        self._form_changed()

    def _show_window_detail(self) -> None:
        window = self.selected_window
        if window is None:
            self.window_detail.setText("")
            return
        when, warning = window_timing_lines(window, utc_now())
        lines = [f"Window {window.start_time:%Y-%m-%d %H:%M:%S} UTC ({when}), {window.duration_seconds or 0:.0f} s",
                 f"Tier {window.assured_tasking_tier or '–'}, priority × {window.quota_priority_multiplier or 1:g}"]
        if warning:
            lines.append(warning)
        if window.pricing_details is not None:
            lines += pricing_lines(window.pricing_details)
        names = replaced_names(window)
        if names:
            lines.append("Ordering it replaces (cancels): " + ", ".join(f"“{n}”" for n in names))
        else:
            lines.append("It replaces none of your orders.")
        self.window_detail.setText("\n".join(lines))

    # ------------------------------------------------------------------------------------------
    # placing the order
    # ------------------------------------------------------------------------------------------

    def place_order(self) -> None:
        """Check the form (nothing is sent if it is wrong), confirm the cost, then create the order in a task."""
        form = self.form()
        problems = form_problems(form, self.aoi, for_order=True)
        if self.aoi is None and self.aoi_error is not None:
            problems["geometry"] = self.aoi_error.message
        self.show_errors(problems)
        if problems:
            self.place_status.setText("Fix the marked fields; nothing was sent.")
            return
        if self.quote_is_current():
            self._confirm_and_send(form, self.quote)
            return
        # The quote is outdated or missing: get one first, so the confirmation states the real cost.
        client = self._client("place the order")
        if client is None:
            return
        body = pricing_request(form, self.aoi)
        key = request_key(body)
        token = self._quote_tokens.next()
        self._quote_timer.stop()
        self.place_button.setEnabled(False)
        self.place_status.setText("Getting the price…")

        def priced(pricing: Pricing) -> None:
            self._quote_arrived(token, key, pricing)
            self.place_button.setEnabled(True)
            self._confirm_and_send(form, pricing)

        def failed(error: BaseException) -> None:
            # No price, no order: what refuses the quote would refuse the order, and the confirmation
            # must state the cost.
            self.place_button.setEnabled(True)
            self._quote_failed(token, error)
            if isinstance(error, ValidationError) and error.field_errors:
                self.place_status.setText("The service refused the order as it stands (see the marked fields); "
                                          "nothing was placed.")
            else:
                text = getattr(error, "message", None) or str(error)
                self.place_status.setText("Not placed: the price could not be obtained.")
                self._push_message("Order not placed", f"The price could not be obtained: {text}", Qgis.Critical, 0)

        def cancelled() -> None:
            self.place_button.setEnabled(True)
            if self._quote_cancelled(token):
                self.place_status.setText("Not placed: getting the price was cancelled.")

        self.quote_task = run_in_background(names.task_description("price preview"), lambda fb: client.preview_pricing(body),
                                            on_success=priced, on_error=failed, on_cancel=cancelled)

    def _confirm_and_send(self, form: OrderForm, pricing: Optional[Pricing]) -> None:
        window = self.selected_window if form.is_assured else None
        text = confirmation_text(form, self.aoi, pricing, window)
        if not self.confirm("Place order", text):
            self.place_status.setText("Not placed.")
            return
        client = self._client("place the order")
        if client is None:
            return
        body = order_request(form, self.aoi)
        replaced_ids = [r.order_id for r in (pricing.replaced_orders if pricing else [])]
        replaced_ids += [o.id for o in (window.conflicting_orders if window else []) if o.id not in replaced_ids]

        def create(feedback: TaskFeedback):
            # Cancelled before the request went out: nothing was sent, so nothing can have been ordered.
            feedback.raise_if_canceled()
            order = client.create_order(body)
            refreshed: List[Order] = []
            for order_id in replaced_ids:
                # The replaced orders change state at the service; show that too (best effort).
                try:
                    refreshed.append(client.get_order(order_id))
                except ApiError:
                    pass
            return order, refreshed

        self.place_button.setEnabled(False)
        self.place_status.setText(f"Placing “{form.name.strip()}”…")
        self.order_task = run_in_background(
            names.task_description("place order"), create,
            on_success=lambda result: self._order_placed(form, *result),
            on_error=self._order_failed,
            on_cancel=lambda: self._order_cancelled(form, self.order_task),
        )

    def _order_cancelled(self, form: OrderForm, task: Optional[ApiTask]) -> None:
        # A POST cannot be called back: if the service answered before the cancel took effect, the
        # order exists and is shown as placed rather than reported as cancelled.
        result = task.result if task is not None else None
        if result is not None:
            self._order_placed(form, *result)
            return
        if task is not None and isinstance(task.exception, Cancelled):
            self._order_ended("Placing was cancelled before the order was sent; nothing was ordered.")
            return
        self._order_ended("Placing was cancelled; check the order list before trying again.")

    def _order_ended(self, text: str) -> None:
        self.place_button.setEnabled(True)
        self.place_status.setText(text)
        self.order_task = None

    def _order_placed(self, form: OrderForm, order: Order, replaced: Iterable[Order]) -> None:
        self._order_ended(f"Placed “{order.name}” ({order.status}).")
        self.last_order = order
        self.show_errors({})
        layer = self.orders_layer()
        planet_layers.upsert_orders(layer, [order, *replaced])
        layer.triggerRepaint()
        self._announce(order, layer, list(replaced))
        self.orderPlaced.emit(order)
        # The next order gets a fresh default name; everything else stays for a similar order.
        self._name_edited = False
        if form.is_assured:
            # The window is taken now: read the search again so the table says so. The row is
            # unselected too: the table is updated in place, so a selection would otherwise stay.
            self.windows_view.clearSelection()
            self.selected_window = None
            self._reread_search()
        self._form_changed()

    def _announce(self, order: Order, layer: QgsVectorLayer, replaced: List[Order]) -> None:
        bar = self.iface.messageBar()
        text = f"“{order.name}” ({order.status}) is in the “{layer.name()}” layer."
        if replaced:
            text += " It replaces " + ", ".join(f"“{o.name}”" for o in replaced) + "."
        widget = bar.createMessage("Order placed", text)
        button = QPushButton("Zoom to order", widget)
        button.setObjectName("zoomToOrderButton")
        button.clicked.connect(lambda: self.zoom_to_order(order))
        widget.layout().addWidget(button)
        bar.pushWidget(widget, Qgis.Success, 15)
        self.last_message_widget = widget
        self._order_messages = [w for w in self._order_messages if not sip.isdeleted(w)] + [widget]

    def _order_failed(self, error: BaseException) -> None:
        self._order_ended("The order was not placed; your form is kept.")
        if isinstance(error, ValidationError) and error.field_errors:
            self.show_errors(error.field_errors)
            self.place_status.setText("The service refused the order (see the marked fields); your form is kept.")
        elif isinstance(error, OrderCreationUncertain):
            self._push_message("Order may have been placed", error.message, Qgis.Warning, 0)
        else:
            text = getattr(error, "message", None) or str(error)
            self._push_message("Order not placed", text, Qgis.Critical, 0)

    def orders_layer(self) -> QgsVectorLayer:
        """The project's orders layer (found by its kind; shared with the Orders tab), made when there is none."""
        return planet_layers.find_or_create_orders_layer(QgsProject.instance(), names.ORDERS_LAYER)

    def zoom_to_order(self, order: Order) -> None:
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
        answer = QMessageBox.question(self, title, text, QMessageBox.Yes | QMessageBox.Cancel, QMessageBox.Cancel)
        return answer == QMessageBox.Yes

    # ------------------------------------------------------------------------------------------
    # lifecycle
    # ------------------------------------------------------------------------------------------

    def shutdown(self) -> None:
        """Cancel this panel's tasks, release its map tools and take its footprints off the canvas."""
        self._quote_timer.stop()
        self._partial_timer.stop()
        self._quote_tokens.invalidate()
        self._search_tokens.invalidate()
        for task in (self.quote_task, self.search_task, self.order_task):
            if task is None:
                continue
            try:
                task.detach_callbacks()
                task.cancel()
            except RuntimeError:
                pass
        self.deactivate_tool()
        try:
            self.canvas.mapToolSet.disconnect(self._map_tool_changed)
        except (TypeError, RuntimeError):
            pass
        for tool in self.tools.values():
            tool.remove_items()
        if self._footprint is not None:
            self._footprint.remove()
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
