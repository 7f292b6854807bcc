"""The bulk order dialog: a layer's features checked, priced and ordered in journaled chunks."""

from __future__ import annotations

from typing import Any, Dict, Optional

from qgis.core import Qgis, QgsExpression, QgsVectorLayer, QgsWkbTypes
from qgis.gui import QgsFieldExpressionWidget, QgsMapLayerComboBox
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core import compat, names
from ...core.app.bulk import (
    BulkJob,
    BulkJournal,
    BulkOrderWorkflow,
    BulkOutcome,
    FieldMapping,
    JournalLease,
    PricingReport,
    ValidationReport,
    clients_by_service,
    field_labels,
    mappable_fields,
    readable_error,
)
from ...core.app.bulk.resume import ClientsByService
from ...core.layers import layer_kind
from ...core.names import units_text
from ...core.tasks import ApiTask
from .common import ClientFactory, fit_columns, set_headers
from .jobs_panel import BulkJobsPanel
from .messages import push_message
from .progress import BulkProgressPanel

PREVIEW_ROWS = 10
CREATE_TOOLTIP = ("Create one order per valid feature, after your confirmation; every bulk is journaled first, so a "
                  "crash or lost network neither loses nor doubles orders.")
CREATED_TOOLTIP = "These features were ordered already; check the features again to order them once more."
VALIDATION_COLUMNS = ("Feature", "Name", "Shape", "km²", "Check", "Price")
VALIDATION_TOOLTIPS = ("The feature's id in the layer.", "The order's name.",
                       "What is tasked: a point's 5 × 5 km square, a line's 5 km-wide strip or a polygon.",
                       "The area tasked, in km².", "OK, or why the feature cannot be ordered.",
                       "The order's price, once priced.")
CHECK_COLUMN = 4
PRICE_COLUMN = 5
# Preview titles short enough for a 900 px dialog; the header's tooltip gives the field's full label.
SHORT_TITLES = {"Start time (UTC)": "Start (UTC)", "End time (UTC)": "End (UTC)", "Order type": "Type",
                "Stereo points of view": "Stereo", "Exclusivity days": "Excl. days",
                "Contract (PL number)": "Contract"}
PREVIEW_FIELDS = 6  # of the mappable fields, the first six: with the id and the check they fit the width
ASSURED_TOOLTIP = (
    "Not available for a layer yet. An assured order names one imaging window, and a window comes from an "
    "imaging-window search for that very AOI (a point or a two-point line; polygons cannot be assured), with "
    "the contract's PL number and product, at most seven days ahead, and each search takes up to five "
    "minutes at the service: a layer would need one search per feature, each waited for, and a window chosen "
    "per feature (some replacing existing orders). Order assured AOIs one at a time from the Satellite Tasking "
    "panel; bulk orders from a layer are flexible orders.")
# The plugin's own layers: ordering them again is never what a user opening this dialog means.
OWN_LAYER_NAMES = (names.CAPTURES_LAYER, names.ORDERS_LAYER, names.IMAGING_WINDOWS_LAYER)
# Fields that read as a feature's name, best first; an id-like field is the last resort.
NAME_FIELDS = ("name", "title", "label")
ID_FIELDS = ("id", "fid", "uid", "uuid", "code")


def compact_rows(table: QTableWidget) -> None:
    """Rows one line of text high (the style's default is taller): more of them show at once."""
    table.verticalHeader().setDefaultSectionSize(table.fontMetrics().height() + 8)


def is_own_layer(layer: Any) -> bool:
    """True for a layer the plugin made (marked with its kind, or named like one of its layers)."""
    return isinstance(layer, QgsVectorLayer) and (layer_kind(layer) is not None or layer.name() in OWN_LAYER_NAMES)


def is_orderable_layer(layer: Any) -> bool:
    """A point, line or polygon vector layer of the user's own (not the plugin's)."""
    if not isinstance(layer, QgsVectorLayer):
        return False
    if layer.geometryType() not in (QgsWkbTypes.GeometryType.PointGeometry, QgsWkbTypes.GeometryType.LineGeometry,
                                    QgsWkbTypes.GeometryType.PolygonGeometry):
        return False
    return not is_own_layer(layer)


def name_expression(layer: QgsVectorLayer) -> Optional[str]:
    """An expression naming each order after the layer's obvious name field, or None when it has none.

    name / Name / NAME, then title, then label (text fields first); an id-like field last, prefixed with the
    layer's name so the orders still read as "<layer> <id>".
    """
    fields = {field.name().lower(): field for field in layer.fields()}
    for wanted in NAME_FIELDS:
        field = fields.get(wanted)
        if field is not None:
            return QgsExpression.quotedColumnRef(field.name())
    for wanted in ID_FIELDS:
        field = fields.get(wanted)
        if field is not None:
            return (f"concat({QgsExpression.quotedString(layer.name())}, ' ', "
                    f"{QgsExpression.quotedColumnRef(field.name())})")
    return None


class BulkOrderDialog(QDialog):
    """Order every feature (or the selection) of a point, line or polygon layer in one go.

    Steps: choose the layer and map the order fields → check every feature → price → create (journaled,
    in chunks of ≤ 1000) → a result layer with `order_id` / `error` per feature and a summary. The steps
    are a BulkOrderWorkflow's (core.app.bulk); the dialog shows them and forwards the user's clicks.
    `clients(service_id)` gives the jobs tab a client of the service a job was sent to (by default
    `client_factory` for the active service, the registry's for any other).
    """

    # The ids of orders a job created (its outcome is in): the orders view refreshes, so they show
    # without a manual Refresh (the plugin connects it).
    ordersCreated = pyqtSignal(list)  # noqa: N815 - Qt signal naming

    def __init__(self, client_factory: ClientFactory, iface: Any, parent: Optional[QWidget] = None, *,
                 journal: Optional[BulkJournal] = None, poll_seconds: float = 2.0,
                 clients: Optional[ClientsByService] = None):
        super().__init__(parent if parent is not None else (iface.mainWindow() if iface is not None else None))
        self.setObjectName("BulkOrderDialog")
        self.setWindowTitle("Bulk order from layer")
        self.client_factory = client_factory
        self.iface = iface
        self.poll_seconds = poll_seconds
        self._journal = JournalLease(journal)
        self.clients = clients or clients_by_service(client_factory)
        self.workflow = BulkOrderWorkflow(client_factory, self._journal, poll_seconds, self)
        self._build()
        self._connect_workflow()
        self._preselect_layer()
        self._layer_changed(self.layer_combo.currentLayer())
        self.finished.connect(self.release_journal)

    # What the workflow holds, read by the plugin and the tests.
    report: Optional[ValidationReport] = property(lambda self: self.workflow.report)
    pricing: Optional[PricingReport] = property(lambda self: self.workflow.pricing)
    outcome: Optional[BulkOutcome] = property(lambda self: self.workflow.outcome)
    result: Optional[QgsVectorLayer] = property(lambda self: self.workflow.result)
    job: Optional[BulkJob] = property(lambda self: self.workflow.job)
    task: Optional[ApiTask] = property(lambda self: self.workflow.task)
    journal: Optional[BulkJournal] = property(lambda self: self._journal.journal)

    def _connect_workflow(self) -> None:
        workflow = self.workflow
        workflow.busyChanged.connect(self._update_buttons)
        workflow.progressChanged.connect(self.task_progress.setValue)
        workflow.busyChanged.connect(lambda busy: self.task_progress.setVisible(True) if busy else None)
        workflow.checked.connect(self.show_validation)
        workflow.checkRefused.connect(self._check_refused)
        workflow.priced.connect(self.show_pricing)
        workflow.chunksJournaled.connect(self._sending)
        workflow.chunkProgress.connect(self.progress_panel.show_states)
        workflow.outcomeReady.connect(self.show_outcome)
        workflow.failed.connect(self.on_task_error)
        workflow.cancelled.connect(lambda what: push_message(self.iface, f"{what}: cancelled.", Qgis.MessageLevel.Info))

    # -- building ----------------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("bulkTabs")
        page = QWidget(self.tabs)
        layout = QVBoxLayout(page)
        self.tabs.addTab(page, "Order from layer")
        self.jobs_panel = BulkJobsPanel(self._journal, self.clients, self.iface, self.tabs,
                                        poll_seconds=self.poll_seconds)
        self.tabs.addTab(self.jobs_panel, "Bulk jobs")
        # The list is read when shown: cheap, and always what the journal says now.
        self.tabs.currentChanged.connect(lambda index: self.jobs_panel.refresh() if index == 1 else None)
        outer.addWidget(self.tabs, 1)

        source = QGroupBox("Layer", self)
        source_layout = QHBoxLayout(source)
        self.layer_combo = QgsMapLayerComboBox(source)
        self.layer_combo.setObjectName("layerCombo")
        self.layer_combo.setFilters(compat.vector_layer_filter())
        self.layer_combo.setToolTip("The point, line or polygon layer (any CRS) whose features become orders: a point "
                                    "is a 5 × 5 km square, a two-point line a 5 km-wide strip, a polygon its area.")
        self.selected_only = QCheckBox("Selected features only", source)
        self.selected_only.setObjectName("selectedOnlyCheck")
        self.selected_only.setToolTip("Order only the features selected in the layer; unticked: every feature.")
        # Flexible orders only: shown, disabled, so the user learns why assured orders are not offered here.
        # Beside the layer, not in the row of check buttons: there it made the dialog wider than 900 px.
        self.assured_check = QCheckBox("Assured (a window per feature)", source)
        self.assured_check.setObjectName("assuredCheck")
        self.assured_check.setEnabled(False)
        self.assured_check.setToolTip(ASSURED_TOOLTIP)
        source_layout.addWidget(self.layer_combo, 1)
        source_layout.addWidget(self.selected_only)
        source_layout.addWidget(self.assured_check)
        layout.addWidget(source)

        mapping = QGroupBox("Order fields (attributes or expressions; empty: the service's default)", self)
        grid = QGridLayout(mapping)
        self.field_widgets: Dict[str, QgsFieldExpressionWidget] = {}
        # Two columns of label + expression: eight fields in four rows leave room for the tables.
        labels = field_labels()
        for index, name in enumerate(mappable_fields()):
            widget = QgsFieldExpressionWidget(mapping)
            widget.setObjectName(f"{name}Expression")
            widget.setAllowEmptyFieldName(True)
            widget.setToolTip(f"{labels[name]} of each order: a field of the layer or an expression (ε); "
                              "empty: the service's default.")
            widget.fieldChanged.connect(self._mapping_changed)
            row, column = index % 4, (index // 4) * 2
            grid.addWidget(QLabel(labels[name], mapping), row, column)
            grid.addWidget(widget, row, column + 1)
            self.field_widgets[name] = widget
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        layout.addWidget(mapping)

        self.preview_table = QTableWidget(0, 0, self)
        self.preview_table.setObjectName("previewTable")
        self.preview_table.setToolTip("What the first features would send, or why they could not be ordered.")
        self.preview_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview_table.verticalHeader().setVisible(False)
        compact_rows(self.preview_table)

        checks = QHBoxLayout()
        self.validate_button = QPushButton("Check all features", self)
        self.validate_button.setObjectName("validateButton")
        self.validate_button.setToolTip("Check every feature (geometry, area, times, fields) before anything is sent.")
        self.validate_button.clicked.connect(self.start_validation)
        self.skip_invalid = QRadioButton("Skip invalid features", self)
        self.skip_invalid.setObjectName("skipInvalidRadio")
        self.skip_invalid.setToolTip("Order the valid features and leave the invalid ones out (listed with the reason).")
        self.skip_invalid.setChecked(True)
        self.stop_on_invalid = QRadioButton("Stop if any feature is invalid", self)
        self.stop_on_invalid.setObjectName("stopOnInvalidRadio")
        self.stop_on_invalid.setToolTip("Order nothing until every feature is valid.")
        group = QButtonGroup(self)
        group.addButton(self.skip_invalid)
        group.addButton(self.stop_on_invalid)
        self.skip_invalid.toggled.connect(self._update_buttons)
        checks.addWidget(self.validate_button)
        checks.addWidget(self.skip_invalid)
        checks.addWidget(self.stop_on_invalid)
        checks.addStretch(1)
        layout.addLayout(checks)

        self.validation_label = QLabel("", self)
        self.validation_label.setObjectName("validationLabel")
        self.validation_label.setWordWrap(True)
        layout.addWidget(self.validation_label)
        self.validation_table = QTableWidget(0, len(VALIDATION_COLUMNS), self)
        self.validation_table.setObjectName("validationTable")
        self.validation_table.setToolTip("Each feature's check: the area tasked, OK or the reason, and its price.")
        set_headers(self.validation_table, list(zip(VALIDATION_COLUMNS, VALIDATION_TOOLTIPS)))
        self.validation_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        fit_columns(self.validation_table, CHECK_COLUMN)
        self.validation_table.verticalHeader().setVisible(False)
        compact_rows(self.validation_table)
        # The preview and the check as two tabs of one tall table area: stacked, each showed three rows
        # at 900 × 820. The check's tab comes forward when a check is done, the preview's on any change.
        self.feature_tabs = QTabWidget(self)
        self.feature_tabs.setObjectName("featureTabs")
        self.feature_tabs.addTab(self.preview_table, f"Preview: the first {PREVIEW_ROWS} features")
        self.feature_tabs.addTab(self.validation_table, "Check: every feature")
        self.feature_tabs.setTabToolTip(0, self.preview_table.toolTip())
        self.feature_tabs.setTabToolTip(1, self.validation_table.toolTip())
        self.feature_tabs.setMinimumHeight(180)
        for button in self.feature_tabs.tabBar().findChildren(QToolButton):  # Qt's own, shown when narrow
            button.setToolTip("Scroll the tabs")
        layout.addWidget(self.feature_tabs, 1)

        actions = QHBoxLayout()
        self.price_button = QPushButton("Price", self)
        self.price_button.setObjectName("priceButton")
        self.price_button.setToolTip("Ask the service for the price of every valid feature; nothing is ordered.")
        self.price_button.clicked.connect(self.start_pricing)
        self.price_label = QLabel("", self)
        self.price_label.setObjectName("priceLabel")
        self.create_button = QPushButton("Create orders", self)
        self.create_button.setObjectName("createButton")
        self.create_button.clicked.connect(self.start_creation)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancelTaskButton")
        self.cancel_button.setToolTip("Stop the check, pricing or sending under way; orders already created stay.")
        self.cancel_button.clicked.connect(self.cancel_task)
        actions.addWidget(self.price_button)
        actions.addWidget(self.price_label, 1)
        actions.addWidget(self.create_button)
        actions.addWidget(self.cancel_button)
        layout.addLayout(actions)

        self.task_progress = QProgressBar(self)
        self.task_progress.setObjectName("taskProgress")
        self.task_progress.setRange(0, 100)
        self.task_progress.setToolTip("How far the check, pricing or sending under way is.")
        # Shown once a step runs, saying which: a bare 0 % bar before anything started tells nothing.
        self.task_progress.hide()
        layout.addWidget(self.task_progress)
        # One bar per part only when a job has several parts; one part's progress is the bar above.
        self.progress_panel = BulkProgressPanel(self, single_part_bar=False)
        # Five thousand features make five parts: the bars scroll rather than push the tables away.
        # Hidden until a job is sent, then as tall as its lines (no empty band above them).
        self.parts_scroller = QScrollArea(self)
        self.parts_scroller.setObjectName("partsScroller")
        self.parts_scroller.setWidgetResizable(True)
        self.parts_scroller.setWidget(self.progress_panel)
        self.parts_scroller.setFrameShape(QScrollArea.Shape.NoFrame)
        # No band of another grey behind the lines (setWidget turned the panel's fill on).
        self.parts_scroller.viewport().setAutoFillBackground(False)
        self.progress_panel.setAutoFillBackground(False)
        self.parts_scroller.hide()
        layout.addWidget(self.parts_scroller)
        self.summary_label = QLabel("", self)
        self.summary_label.setObjectName("summaryLabel")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.summary_label)

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip(
            "Close the dialog; a bulk being sent goes on and is followed in the Bulk jobs tab.")
        buttons.rejected.connect(self.reject)
        outer.addWidget(buttons)

        self.layer_combo.layerChanged.connect(self._layer_changed)
        self.selected_only.toggled.connect(self._mapping_changed)
        self.resize(900, 820)

    # -- state ---------------------------------------------------------------------------------------

    def layer(self) -> Optional[QgsVectorLayer]:
        layer = self.layer_combo.currentLayer()
        return layer if isinstance(layer, QgsVectorLayer) else None

    def mapping(self) -> FieldMapping:
        return FieldMapping(expressions={name: widget.expression() for name, widget in self.field_widgets.items()
                                         if widget.expression().strip()})

    def set_expression(self, field: str, expression: str) -> None:
        """Map one order field (a field name or any QGIS expression)."""
        self.field_widgets[field].setExpression(expression)

    def _update_buttons(self, *_args: Any) -> None:
        workflow, stop = self.workflow, self.stop_on_invalid.isChecked()
        self.validate_button.setEnabled(self.layer() is not None and not workflow.busy)
        self.price_button.setEnabled(workflow.can_price(stop))
        self.create_button.setEnabled(workflow.can_create(stop))
        self.create_button.setToolTip(CREATED_TOOLTIP if workflow.ordered else CREATE_TOOLTIP)
        self.cancel_button.setEnabled(workflow.busy)
        if workflow.blocked(stop):
            self.validation_label.setText(
                f"{len(self.report.invalid)} of {len(self.report.checks)} features are invalid and “Stop” is chosen: "
                "fix them (reasons below) or choose to skip them.")

    def _preselect_layer(self) -> None:
        """Start on the active layer when the user could order it, else on the first layer that is theirs.

        The combo's own first pick is alphabetical, which is often the plugin's Captures layer.
        """
        active = self.iface.activeLayer() if self.iface is not None else None
        candidates = [active] + [self.layer_combo.layer(row) for row in range(self.layer_combo.count())]
        for layer in candidates:
            if is_orderable_layer(layer):
                self.layer_combo.setLayer(layer)
                return

    def _layer_changed(self, layer: Any) -> None:
        layer = layer if isinstance(layer, QgsVectorLayer) else None
        for widget in self.field_widgets.values():
            widget.setLayer(layer)
        if layer is not None:
            defaults = FieldMapping.for_layer(layer).expressions
            obvious_name = name_expression(layer)
            if obvious_name:  # for_layer knows only a field called "name"; title, label or an id do too
                defaults["name"] = obvious_name
            for name, widget in self.field_widgets.items():
                widget.setExpression(defaults.get(name, ""))
            self.selected_only.setChecked(layer.selectedFeatureCount() > 0)
        self._mapping_changed()

    def _mapping_changed(self, *_args: Any) -> None:
        self.workflow.forget()
        self.validation_table.setRowCount(0)
        self.feature_tabs.setTabText(1, "Check: every feature")
        self.feature_tabs.setCurrentWidget(self.preview_table)
        self.validation_label.setText("")
        self.price_label.setText("")
        self.refresh_preview()
        self._update_buttons()

    def refresh_preview(self) -> None:
        """The first rows as payloads (or their problem): cheap, so it runs right here on each change."""
        layer = self.layer()
        self.preview_table.clear()
        labels = [field_labels()[name] for name in mappable_fields()[:PREVIEW_FIELDS]]
        set_headers(self.preview_table, [("Feature", VALIDATION_TOOLTIPS[0])]
                    + [(SHORT_TITLES.get(label, label), label) for label in labels]
                    + [("Check", VALIDATION_TOOLTIPS[CHECK_COLUMN])])
        self.preview_table.setRowCount(0)
        check_column = len(labels) + 1
        if layer is None:
            fit_columns(self.preview_table, check_column)
            return
        report, problem = self.workflow.preview(layer, self.selected_only.isChecked(), self.mapping(), PREVIEW_ROWS)
        if report is None:  # the mapping does not parse, or the layer as a whole is unusable (no CRS, invalid)
            self.validation_label.setText(problem)
            fit_columns(self.preview_table, check_column)
            return
        self.preview_table.setRowCount(len(report.checks))
        for row, check in enumerate(report.checks):
            payload = check.payload or {}
            values = [str(check.feature_id)] + [
                "" if payload.get(name) is None else str(payload.get(name))
                for name in mappable_fields()[:PREVIEW_FIELDS]
            ] + ["OK" if check.ok else check.reason or ""]
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)  # a long name or reason is elided in its cell
                self.preview_table.setItem(row, column, item)
        fit_columns(self.preview_table, check_column)

    def _step_done(self) -> None:
        """A step that finished says 100 %: the task's last progress report may come before it ends."""
        self.task_progress.setValue(self.task_progress.maximum())

    # -- validation ------------------------------------------------------------------------------------

    def on_task_error(self, description: str, error: BaseException) -> None:
        text = getattr(error, "message", None) or str(error) or type(error).__name__
        self.summary_label.setText(f"{description} failed: {text}")
        push_message(self.iface, f"{description} failed: {text}", Qgis.MessageLevel.Warning, 0)

    def cancel_task(self) -> None:
        self.workflow.cancel()

    def start_validation(self) -> None:
        layer = self.layer()
        if layer is None or self.workflow.busy:
            return
        if self.workflow.check(layer, self.selected_only.isChecked(), self.mapping()):
            self.task_progress.setFormat("Checking the features: %p%")
            self.validation_label.setText("Checking every feature…")

    def _check_refused(self, why: str) -> None:
        self.validation_table.setRowCount(0)
        self.validation_label.setText(why)
        self._update_buttons()

    def show_validation(self, report: ValidationReport) -> None:
        self._step_done()
        table = self.validation_table
        table.setUpdatesEnabled(False)
        table.setRowCount(len(report.checks))
        for row, check in enumerate(report.checks):
            values = [str(check.feature_id), (check.payload or {}).get("name", ""), check.kind or "",
                      "" if check.tasked_sqkm is None else f"{check.tasked_sqkm:,.1f}",
                      "OK" if check.ok else check.reason or check.code or "", ""]
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column == CHECK_COLUMN and not check.ok:
                    item.setForeground(Qt.GlobalColor.red)
                item.setToolTip(value)
                table.setItem(row, column, item)
        fit_columns(table, CHECK_COLUMN)
        table.setUpdatesEnabled(True)
        self.feature_tabs.setTabText(1, f"Check: every feature ({len(report.checks)})")
        self.feature_tabs.setCurrentWidget(table)
        invalid = len(report.invalid)
        text = f"{len(report.valid)} of {len(report.checks)} features can be ordered"
        if invalid:
            top = "; ".join(f"{count} × {code}" for code, count in report.reasons().most_common(4))
            text += f"; {invalid} {'is' if invalid == 1 else 'are'} invalid ({top})"
        self.validation_label.setText(text + ".")
        self._update_buttons()

    # -- pricing -----------------------------------------------------------------------------------

    def start_pricing(self) -> None:
        if self.workflow.price():
            self.task_progress.setFormat("Pricing: %p%")
            self.price_label.setText(f"Pricing {len(self.report.pairs())} orders…")

    def show_pricing(self, pricing: PricingReport) -> None:
        self._step_done()
        rows = {self.validation_table.item(r, 0).text(): r for r in range(self.validation_table.rowCount())}
        for fid, price in pricing.prices.items():
            row = rows.get(str(fid))
            if row is not None:
                self.validation_table.setItem(row, PRICE_COLUMN,
                                              QTableWidgetItem(f"{price.estimated_quota_cost:,.3f}"))
        for fid, error in pricing.failures.items():
            row = rows.get(str(fid))
            if row is not None:
                item = QTableWidgetItem(f"not priced: {readable_error(error)}")
                item.setForeground(Qt.GlobalColor.red)
                item.setToolTip(item.text())
                self.validation_table.setItem(row, PRICE_COLUMN, item)
        # The same words as the New order tab's quote: "km² of quota", never the API's "SQKM".
        units = units_text(pricing.units)
        self.validation_table.horizontalHeaderItem(PRICE_COLUMN).setText(f"Price ({units})")
        self.validation_table.horizontalHeaderItem(PRICE_COLUMN).setToolTip(f"The order's price, in {units}.")
        fit_columns(self.validation_table, CHECK_COLUMN)
        text = (f"Total {pricing.total:,.3f} {units} for {len(pricing.prices)} orders "
                f"({pricing.requests} request{'s' if pricing.requests != 1 else ''})")
        if pricing.failures:
            text += f"; {len(pricing.failures)} could not be priced and are left out of the total"
        self.price_label.setText(text + ".")

    # -- creation ----------------------------------------------------------------------------------------

    def confirm(self, text: str) -> bool:
        """Ask before ordering (tests replace this)."""
        return QMessageBox.question(self, "Create orders", text) == QMessageBox.StandardButton.Yes

    def release_journal(self, *_args: Any) -> None:
        """Close the journal file this dialog opened (the dialog was closed, or the plugin unloads).

        A task of the dialog still running keeps it open until it is done; used again afterwards, the
        dialog opens the journal anew.
        """
        self._journal.release([self.workflow.task, self.jobs_panel.task])

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.tabs.currentIndex() == 1:  # shown again on the jobs tab: what the journal says now
            self.jobs_panel.refresh()

    def start_creation(self) -> None:
        self.workflow.create(self.confirm)

    def _sending(self, sizes: list) -> None:
        self.task_progress.setFormat(f"Sending {sum(sizes)} orders: %p%")
        self.progress_panel.reset(sizes)
        # As tall as the parts' lines, up to about three parts; more scroll.
        self.parts_scroller.setFixedHeight(min(self.progress_panel.sizeHint().height(), 140))
        self.parts_scroller.setVisible(bool(sizes))
        self.summary_label.setText("Sending…")

    def show_outcome(self, outcome: BulkOutcome, result: Optional[QgsVectorLayer] = None,
                     stopped: bool = False) -> None:
        if not outcome.pending:
            self._step_done()
        summary = outcome.summary()  # with the invalid features not sent, from the journal
        self.summary_label.setText(summary)
        level = Qgis.MessageLevel.Success if not outcome.failed and not outcome.pending else Qgis.MessageLevel.Warning
        push_message(self.iface, summary, level, 0 if outcome.failed else 10)
        if stopped and outcome.pending:
            push_message(self.iface, f"Stopped following the bulk order; {len(outcome.pending)} orders are still being "
                                     "processed by the service. They stay in the bulk journal and are followed again "
                                     "the next time QGIS starts.", Qgis.MessageLevel.Warning, 0)
        if self.isVisible():  # a closed dialog's list is read again when it is shown (showEvent)
            self.jobs_panel.refresh()
        created = [item.order_id for item in outcome.succeeded if item.order_id]
        if created:
            self.ordersCreated.emit(created)
