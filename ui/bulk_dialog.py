"""Bulk order dialogs: a layer's features checked, priced and ordered in journaled chunks; bulk edit/cancel of selected orders."""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from qgis.core import Qgis, QgsMapLayerProxyModel, QgsProject, QgsVectorLayer
from qgis.gui import QgsDateTimeEdit, QgsFieldExpressionWidget, QgsMapLayerComboBox, QgsMessageBarItem
from qgis.PyQt.QtCore import QDateTime, QObject, Qt, QTimer
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLayout,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..core import names
from ..core.aoi import AoiError
from ..core.bulk import (
    MAPPABLE_FIELDS,
    BulkJob,
    BulkOutcome,
    FieldMapping,
    LayerSnapshot,
    PricingReport,
    ValidationReport,
    cancel_pairs,
    charge_refused_ids,
    edit_pairs,
    job_source,
    journal_features,
    journal_result_layer,
    price_payloads,
    readable_error,
    result_layer,
    results_by_feature,
    resume_jobs,
    validate_layer,
)
from ..core.bulk_journal import JOB_FINISHED, JOB_OPEN, BulkJournal, JobSummary
from ..core.log import get_logger
from ..core.services.planet_tasking.layers import selected_order_ids, selection_orders_layer
from ..core.tasks import ApiTask, run_in_background

try:
    from qgis.PyQt import sip
except ImportError:  # pragma: no cover - older PyQt layouts
    import sip  # type: ignore[no-redef]

_log = get_logger("bulk_dialog")

# How often the chunk progress bars read a running job's chunk states (on the GUI thread).
CHUNK_POLL_MS = 200
PREVIEW_ROWS = 10
FIELD_LABELS = {
    "name": "Name", "start_time": "Start time (UTC)", "end_time": "End time (UTC)", "order_type": "Order type",
    "n_stereo_pov": "Stereo points of view", "exclusivity_days": "Exclusivity days", "pl_number": "Contract (PL number)",
    "product": "Product",
}
VALIDATION_COLUMNS = ("Feature", "Name", "Shape", "km²", "Check", "Price")
JOB_COLUMNS = ("Created (UTC)", "Service", "Job", "Parts sent / complete", "Created", "Failed", "State")
ASSURED_TOOLTIP = (
    "Not available for a layer yet. An assured order names one imaging window, and a window comes from an "
    "imaging-window search for that very AOI (a point or a two-point line; polygons cannot be assured), with "
    "the contract's PL number and product, at most seven days ahead, and each search takes up to five "
    "minutes at the service: a layer would need one search per feature, each waited for, and a window chosen "
    "per feature (some replacing existing orders). Order assured AOIs one at a time from the Satellite Tasking "
    "panel; bulk orders from a layer are flexible orders.")

ClientFactory = Callable[[], Any]


def default_client_factory() -> Any:
    """A TaskingClient for the service the settings name (sandbox or real); an error when there is none."""
    from ..core.services import registry

    client = registry.client_for()
    if client is None:
        raise RuntimeError("The plugin has no API key yet: enter it in the Satellite Tasking settings.")
    return client


def _message(iface: Any, text: str, level: int = Qgis.Info, duration: int = 8) -> None:
    if iface is None:
        return
    try:
        iface.messageBar().pushMessage(names.MESSAGE_TITLE, text, level, duration)
    except (AttributeError, RuntimeError):  # no message bar (tests with a bare stub), or QGIS closing
        _log.info("%s", text)


def _message_with_button(iface: Any, text: str, level: int, duration: int, button_text: str,
                         on_click: Callable[[], Any]) -> Optional[QgsMessageBarItem]:
    """A message-bar entry with one button (e.g. "Show results"); None when there is no message bar."""
    try:
        bar = iface.messageBar()
    except (AttributeError, RuntimeError):
        _log.info("%s", text)
        return None
    # Parented to the bar, and the button to the item: Qt owns both, so they outlive this function.
    item = QgsMessageBarItem(names.MESSAGE_TITLE, text, level, duration, bar)
    button = QPushButton(button_text, item)
    button.setObjectName("messageBarButton")
    item.setWidget(button)
    button.clicked.connect(lambda *_: on_click())
    bar.pushItem(item)
    _BUTTON_MESSAGES.append(item)
    return item


# Message-bar entries whose button calls into this plugin: unload removes them (their code is going away).
_BUTTON_MESSAGES: List[Any] = []


def remove_button_messages(iface: Any) -> int:
    """Take this plugin's "Show results" entries off the message bar (plugin unload); how many were there."""
    removed = 0
    while _BUTTON_MESSAGES:
        item = _BUTTON_MESSAGES.pop()
        try:
            if item in iface.messageBar().items():
                iface.messageBar().popWidget(item)
                removed += 1
        except (AttributeError, RuntimeError):  # already closed by the user, or QGIS closing
            pass
    return removed


def add_result_layer(journal: BulkJournal, job_id: str) -> Optional[QgsVectorLayer]:
    """Rebuild a CREATE job's result layer from the journal and add it to the project.

    A journal closed meanwhile (its dialog or the start-up task is done with it) is opened again from its
    file for just this, so a "Show results" button works however long after the job it is clicked.
    """
    if journal.closed:
        with BulkJournal(journal.path) as reopened:
            layer = journal_result_layer(reopened, job_id)
    else:
        layer = journal_result_layer(journal, job_id)
    if layer is not None:
        QgsProject.instance().addMapLayer(layer)
    return layer


def close_when_done(journal: BulkJournal, tasks: Sequence[Optional[ApiTask]]) -> bool:
    """Close `journal` now or, while one of `tasks` still runs (and may write to it), once the last has
    finished and delivered its result; whether it was closed now."""
    running = [task for task in tasks if task is not None and not sip.isdeleted(task) and not task.delivered]
    if not running:
        journal.close()
        return True
    left = {id(task) for task in running}

    def one_done(key: int) -> None:
        left.discard(key)
        if not left:
            journal.close()

    for task in running:
        # Emitted on the GUI thread after finished(): the task's callbacks have used the journal by then.
        # Connected even when callbacks were detached (plugin unload): the file is released all the same.
        task.taskCompleted.connect(partial(one_done, id(task)))
        task.taskTerminated.connect(partial(one_done, id(task)))
    return False


def announce_outcome(iface: Any, journal: BulkJournal, outcome: BulkOutcome, prefix: str = "") -> Optional[QgsMessageBarItem]:
    """The summary in the message bar; for a CREATE job with a "Show results" button adding its result layer."""
    text = prefix + outcome.summary()
    trouble = bool(outcome.failed or outcome.pending)
    level = Qgis.Warning if trouble else Qgis.Success
    if outcome.operation != "CREATE":
        _message(iface, text, level, 0 if trouble else 10)
        return None
    # Stays until closed: the results are one click away, and there is no other place they appear by themselves.
    return _message_with_button(iface, text, level, 0, "Show results",
                                lambda: add_result_layer(journal, outcome.job_id))


class _ChunkWatcher(QObject):
    """Shows a running BulkJob's chunk states in a progress panel, read on the GUI thread by a timer.

    The job only records its chunk states (BulkJob.chunk_states); nothing from the task's worker thread
    reaches a widget or a signal, so a dialog deleted mid-run (plugin unload) cannot break the job.
    """

    def __init__(self, panel: "BulkProgressPanel", parent: QObject):
        super().__init__(parent)
        self.panel = panel
        self.job: Optional[BulkJob] = None
        self.timer = QTimer(self)
        self.timer.setInterval(CHUNK_POLL_MS)
        self.timer.timeout.connect(self.show)

    def follow(self, job: BulkJob) -> None:
        self.job = job
        self.timer.start()

    def show(self) -> None:
        if self.job is None:
            return
        for state in self.job.chunk_states():
            self.panel.update_chunk(state.seq, state.count, state.state, state.done, state.size)

    def stop(self) -> None:
        """The task is done: show its last chunk states and stop reading."""
        self.timer.stop()
        self.show()


class BulkProgressPanel(QWidget):
    """One progress bar per chunk, labelled with its bulk state (PENDING / RUNNING / COMPLETE)."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("bulkProgressPanel")
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        # Never squeezed below its bars: inside a scroll area it scrolls instead.
        self._layout.setSizeConstraint(QLayout.SetMinimumSize)
        self.bars: List[QProgressBar] = []
        self.labels: List[QLabel] = []

    def reset(self, sizes: Sequence[int]) -> None:
        for widget in self.bars + self.labels:
            self._layout.removeWidget(widget)
            widget.deleteLater()
        self.bars, self.labels = [], []
        for index, size in enumerate(sizes):
            label = QLabel(f"Part {index + 1} of {len(sizes)} ({size} orders): written to the journal", self)
            bar = QProgressBar(self)
            bar.setObjectName(f"chunkProgress{index}")
            bar.setRange(0, max(1, size))
            bar.setValue(0)
            self._layout.addWidget(label)
            self._layout.addWidget(bar)
            self.labels.append(label)
            self.bars.append(bar)

    def update_chunk(self, index: int, count: int, state: str, done: int, size: int) -> None:
        if not 0 <= index < len(self.bars):
            return
        self.bars[index].setRange(0, max(1, size))
        self.bars[index].setValue(done)
        self.labels[index].setText(f"Part {index + 1} of {count} ({size} orders): {state} — {done}/{size}")

    def states(self) -> List[str]:
        return [label.text() for label in self.labels]


def _job_state_text(summary: JobSummary, following: bool) -> str:
    if following:
        return "following…"
    if summary.state == JOB_OPEN:
        waiting = summary.chunks - summary.chunks_complete
        return f"unfinished ({waiting} part{'s' if waiting != 1 else ''} to follow)"
    if summary.state == JOB_FINISHED:
        return "finished" + (f", {summary.skipped} invalid not sent" if summary.skipped else "")
    return summary.state.lower()


class BulkJobsPanel(QWidget):
    """The journal's unfinished and recent bulk jobs: follow an unfinished one again, show a job's results,
    or dismiss it (no longer followed or listed; what is at the service goes on there)."""

    def __init__(self, journal: Callable[[], BulkJournal], client_factory: ClientFactory, iface: Any,
                 parent: Optional[QWidget] = None, *, poll_seconds: float = 2.0, watch_seconds: float = 2.0):
        super().__init__(parent)
        self.setObjectName("bulkJobsPanel")
        self._journal = journal
        self.client_factory = client_factory
        self.iface = iface
        self.poll_seconds = poll_seconds
        self.summaries: List[JobSummary] = []
        self.task: Optional[ApiTask] = None
        self.following: Optional[str] = None
        self.outcome: Optional[BulkOutcome] = None
        self.result: Optional[QgsVectorLayer] = None
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Bulk jobs in the journal, newest first. Unfinished ones are followed at every "
                                "start of QGIS until they finish or are dismissed.", self))
        self.table = QTableWidget(0, len(JOB_COLUMNS), self)
        self.table.setObjectName("jobsTable")
        self.table.setHorizontalHeaderLabels(JOB_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setObjectName("refreshJobsButton")
        self.refresh_button.clicked.connect(self.refresh)
        self.follow_button = QPushButton("Follow again", self)
        self.follow_button.setObjectName("followJobButton")
        self.follow_button.setToolTip("Ask the service about this job's parts now and read back their results.")
        self.follow_button.clicked.connect(self.follow_selected)
        self.results_button = QPushButton("Show results", self)
        self.results_button.setObjectName("jobResultsButton")
        self.results_button.setToolTip("Add the job's result layer (order_id or error per feature) to the project.")
        self.results_button.clicked.connect(self.show_selected_results)
        self.dismiss_button = QPushButton("Dismiss", self)
        self.dismiss_button.setObjectName("dismissJobButton")
        self.dismiss_button.setToolTip("Stop following and listing this job; parts already at the service go on "
                                       "there and their orders appear in the orders view.")
        self.dismiss_button.clicked.connect(self.dismiss_selected)
        for button in (self.refresh_button, self.follow_button, self.results_button, self.dismiss_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
        self.status_label = QLabel("", self)
        self.status_label.setObjectName("jobsStatusLabel")
        self.status_label.setWordWrap(True)
        layout.addWidget(self.status_label)
        self._update_buttons()
        # While the list is on screen it follows the journal by itself: jobs resumed at start-up, or sent
        # from the edit/cancel dialog, move on meanwhile. A cheap fingerprint is read every tick; the list
        # only when it changed.
        self._marker: Optional[tuple] = None
        self.watch_timer = QTimer(self)
        self.watch_timer.setInterval(int(watch_seconds * 1000))
        self.watch_timer.timeout.connect(self._watch_journal)

    def showEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().showEvent(event)
        self.watch_timer.start()

    def hideEvent(self, event) -> None:  # noqa: N802 - Qt override
        self.watch_timer.stop()
        super().hideEvent(event)

    def _watch_journal(self) -> None:
        try:
            marker = self._journal().change_marker()
        except Exception:  # noqa: BLE001 - an unreadable journal is reported by refresh() itself
            marker = None
        if marker is None or marker != self._marker:
            self.refresh()

    def refresh(self, *_args: Any) -> None:
        """Read the jobs list again from the journal (unfinished and finished; dismissed ones are gone)."""
        try:
            self._marker = self._journal().change_marker()
            self.summaries = self._journal().job_summaries(states=[JOB_OPEN, JOB_FINISHED])
        except Exception as error:  # noqa: BLE001 - an unreadable journal: say so in the panel
            self.summaries = []
            self.status_label.setText(f"The bulk journal could not be read: {error}")
        selected = self.selected()
        self.table.setRowCount(len(self.summaries))
        for row, job in enumerate(self.summaries):
            values = [job.created_at[:19].replace("T", " "), job.base_url, job.title or job.operation,
                      f"{job.chunks_sent} / {job.chunks_complete} of {job.chunks}", str(job.succeeded),
                      str(job.failed), _job_state_text(job, job.job_id == self.following)]
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(value)
                self.table.setItem(row, column, item)
        if selected is not None:
            for row, job in enumerate(self.summaries):
                if job.job_id == selected.job_id:
                    self.table.selectRow(row)
        self._update_buttons()

    def selected(self) -> Optional[JobSummary]:
        rows = {index.row() for index in self.table.selectionModel().selectedRows()} if self.table.selectionModel() else set()
        row = min(rows) if rows else -1
        return self.summaries[row] if 0 <= row < len(self.summaries) else None

    def select_job(self, job_id: str) -> None:
        for row, job in enumerate(self.summaries):
            if job.job_id == job_id:
                self.table.selectRow(row)

    def _update_buttons(self) -> None:
        job = self.selected()
        self.follow_button.setEnabled(job is not None and job.is_open and self.task is None)
        self.results_button.setEnabled(job is not None and job.operation == "CREATE" and job.payloads > 0)
        self.dismiss_button.setEnabled(job is not None and job.job_id != self.following)

    def confirm(self, text: str) -> bool:
        """Ask before dismissing an unfinished job (tests replace this)."""
        return QMessageBox.question(self, "Dismiss bulk job", text) == QMessageBox.Yes

    def follow_selected(self) -> None:
        job = self.selected()
        if job is None or not job.is_open or self.task is not None:
            return
        try:
            client = self.client_factory()
        except Exception as error:  # noqa: BLE001 - not configured: say so
            self.status_label.setText(str(error))
            return
        journal, job_id, poll = self._journal(), job.job_id, self.poll_seconds
        bulk = BulkJob.resume(journal, job_id)
        self.following = job_id
        self.status_label.setText(f"Following “{job.title or job.operation}”…")

        def done(outcome: BulkOutcome) -> None:
            self.task, self.following, self.outcome = None, None, outcome
            self.status_label.setText(outcome.summary())
            announce_outcome(self.iface, journal, outcome, f"“{job.title or job.operation}”: ")
            self.refresh()

        def failed(error: BaseException) -> None:
            self.task, self.following = None, None
            text = getattr(error, "message", None) or str(error)
            self.status_label.setText(f"Following the job failed: {text} It stays in the journal.")
            self.refresh()

        def stopped() -> None:
            self.task, self.following = None, None
            self.status_label.setText("Stopped following; the job stays in the journal.")
            self.refresh()

        self.task = run_in_background(
            names.task_description("following a bulk job"),
            lambda feedback: bulk.run(client, progress=feedback.set_progress, is_canceled=feedback.is_canceled,
                                      poll=poll),
            done, failed, stopped)
        self.refresh()

    def show_selected_results(self) -> Optional[QgsVectorLayer]:
        job = self.selected()
        if job is None:
            return None
        self.result = add_result_layer(self._journal(), job.job_id)
        if self.result is not None:
            self.status_label.setText(f"Added the layer “{self.result.name()}” ({self.result.featureCount()} "
                                      "features).")
        return self.result

    def dismiss_selected(self) -> None:
        job = self.selected()
        if job is None or job.job_id == self.following:
            return
        if job.is_open and not self.confirm(
                f"Stop following “{job.title or job.operation}”? Its {job.pending} orders still being processed go "
                "on at the service; their results will not be read back into a result layer."):
            return
        self._journal().dismiss_job(job.job_id)
        self.status_label.setText(f"Dismissed “{job.title or job.operation}”.")
        self.refresh()


class BulkOrderDialog(QDialog):
    """Order every feature (or the selection) of a point, line or polygon layer in one go.

    Steps: choose the layer and map the order fields → check every feature → price → create (journaled,
    in chunks of ≤ 1000) → a result layer with `order_id` / `error` per feature and a summary. Every call
    to the service runs in a QgsTask; the dialog never waits on the network.
    """

    def __init__(self, client_factory: ClientFactory, iface: Any, parent: Optional[QWidget] = None, *,
                 journal: Optional[BulkJournal] = None, poll_seconds: float = 2.0):
        super().__init__(parent if parent is not None else (iface.mainWindow() if iface is not None else None))
        self.setObjectName("BulkOrderDialog")
        self.setWindowTitle("Bulk order from layer")
        self.client_factory = client_factory
        self.iface = iface
        self.journal = journal
        # Only a journal this dialog opened is closed by it; one handed in belongs to the caller.
        self._owns_journal = journal is None
        self.poll_seconds = poll_seconds
        self.report: Optional[ValidationReport] = None
        self.pricing: Optional[PricingReport] = None
        self.outcome: Optional[BulkOutcome] = None
        self.job: Optional[BulkJob] = None
        self.result: Optional[QgsVectorLayer] = None
        self.task: Optional[ApiTask] = None
        self._snapshot_layer: Optional[QgsVectorLayer] = None
        # The check whose features were sent: ordering the same check twice would double every order.
        self._ordered_report: Optional[ValidationReport] = None
        self._build()
        self._chunks = _ChunkWatcher(self.progress_panel, self)
        self._layer_changed(self.layer_combo.currentLayer())
        self.finished.connect(self.release_journal)

    # -- building ----------------------------------------------------------------------------------

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        self.tabs = QTabWidget(self)
        self.tabs.setObjectName("bulkTabs")
        page = QWidget(self.tabs)
        layout = QVBoxLayout(page)
        self.tabs.addTab(page, "Order from layer")
        self.jobs_panel = BulkJobsPanel(self._journal, self.client_factory, self.iface, self.tabs,
                                        poll_seconds=self.poll_seconds)
        self.tabs.addTab(self.jobs_panel, "Bulk jobs")
        # The list is read when shown: cheap, and always what the journal says now.
        self.tabs.currentChanged.connect(lambda index: self.jobs_panel.refresh() if index == 1 else None)
        outer.addWidget(self.tabs, 1)

        source = QGroupBox("Layer", self)
        source_layout = QHBoxLayout(source)
        self.layer_combo = QgsMapLayerComboBox(source)
        self.layer_combo.setObjectName("layerCombo")
        self.layer_combo.setFilters(QgsMapLayerProxyModel.PointLayer | QgsMapLayerProxyModel.LineLayer
                                    | QgsMapLayerProxyModel.PolygonLayer)
        self.selected_only = QCheckBox("Selected features only", source)
        self.selected_only.setObjectName("selectedOnlyCheck")
        source_layout.addWidget(self.layer_combo, 1)
        source_layout.addWidget(self.selected_only)
        layout.addWidget(source)

        mapping = QGroupBox("Order fields (attributes or expressions; empty: the service's default)", self)
        grid = QGridLayout(mapping)
        self.field_widgets: Dict[str, QgsFieldExpressionWidget] = {}
        # Two columns of label + expression: eight fields in four rows leave room for the tables.
        for index, name in enumerate(MAPPABLE_FIELDS):
            widget = QgsFieldExpressionWidget(mapping)
            widget.setObjectName(f"{name}Expression")
            widget.setAllowEmptyFieldName(True)
            widget.fieldChanged.connect(self._mapping_changed)
            row, column = index % 4, (index // 4) * 2
            grid.addWidget(QLabel(FIELD_LABELS[name], mapping), row, column)
            grid.addWidget(widget, row, column + 1)
            self.field_widgets[name] = widget
        grid.setColumnStretch(1, 1)
        grid.setColumnStretch(3, 1)
        layout.addWidget(mapping)

        self.preview_table = QTableWidget(0, 0, self)
        self.preview_table.setObjectName("previewTable")
        self.preview_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.preview_table.verticalHeader().setVisible(False)
        self.preview_table.setMinimumHeight(120)
        layout.addWidget(QLabel(f"Preview of the first {PREVIEW_ROWS} features:", self))
        layout.addWidget(self.preview_table)

        checks = QHBoxLayout()
        self.validate_button = QPushButton("Check all features", self)
        self.validate_button.setObjectName("validateButton")
        self.validate_button.clicked.connect(self.start_validation)
        self.skip_invalid = QRadioButton("Skip invalid features", self)
        self.skip_invalid.setObjectName("skipInvalidRadio")
        self.skip_invalid.setChecked(True)
        self.stop_on_invalid = QRadioButton("Stop if any feature is invalid", self)
        self.stop_on_invalid.setObjectName("stopOnInvalidRadio")
        group = QButtonGroup(self)
        group.addButton(self.skip_invalid)
        group.addButton(self.stop_on_invalid)
        self.skip_invalid.toggled.connect(self._update_buttons)
        checks.addWidget(self.validate_button)
        checks.addWidget(self.skip_invalid)
        checks.addWidget(self.stop_on_invalid)
        checks.addStretch(1)
        # Flexible orders only: shown, disabled, so the user learns why assured orders are not offered here.
        self.assured_check = QCheckBox("Assured: search and take the best window per feature", self)
        self.assured_check.setObjectName("assuredCheck")
        self.assured_check.setEnabled(False)
        self.assured_check.setToolTip(ASSURED_TOOLTIP)
        checks.addWidget(self.assured_check)
        layout.addLayout(checks)

        self.validation_label = QLabel("", self)
        self.validation_label.setObjectName("validationLabel")
        self.validation_label.setWordWrap(True)
        layout.addWidget(self.validation_label)
        self.validation_table = QTableWidget(0, len(VALIDATION_COLUMNS), self)
        self.validation_table.setObjectName("validationTable")
        self.validation_table.setHorizontalHeaderLabels(VALIDATION_COLUMNS)
        self.validation_table.setEditTriggers(QAbstractItemView.NoEditTriggers)
        self.validation_table.horizontalHeader().setSectionResizeMode(4, QHeaderView.Stretch)
        self.validation_table.verticalHeader().setVisible(False)
        self.validation_table.setMinimumHeight(160)
        layout.addWidget(self.validation_table, 1)

        actions = QHBoxLayout()
        self.price_button = QPushButton("Price", self)
        self.price_button.setObjectName("priceButton")
        self.price_button.clicked.connect(self.start_pricing)
        self.price_label = QLabel("", self)
        self.price_label.setObjectName("priceLabel")
        self.create_button = QPushButton("Create orders", self)
        self.create_button.setObjectName("createButton")
        self.create_button.clicked.connect(self.start_creation)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.setObjectName("cancelTaskButton")
        self.cancel_button.clicked.connect(self.cancel_task)
        actions.addWidget(self.price_button)
        actions.addWidget(self.price_label, 1)
        actions.addWidget(self.create_button)
        actions.addWidget(self.cancel_button)
        layout.addLayout(actions)

        self.task_progress = QProgressBar(self)
        self.task_progress.setObjectName("taskProgress")
        self.task_progress.setRange(0, 100)
        layout.addWidget(self.task_progress)
        self.progress_panel = BulkProgressPanel(self)
        # Five thousand features make five parts: the bars scroll rather than push the tables away.
        scroller = QScrollArea(self)
        scroller.setWidgetResizable(True)
        scroller.setWidget(self.progress_panel)
        scroller.setMinimumHeight(110)
        scroller.setMaximumHeight(140)
        scroller.setFrameShape(QScrollArea.NoFrame)
        layout.addWidget(scroller)
        self.summary_label = QLabel("", self)
        self.summary_label.setObjectName("summaryLabel")
        self.summary_label.setWordWrap(True)
        self.summary_label.setTextInteractionFlags(Qt.TextSelectableByMouse)
        layout.addWidget(self.summary_label)

        buttons = QDialogButtonBox(QDialogButtonBox.Close, self)
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

    def _busy(self) -> bool:
        return self.task is not None

    def _update_buttons(self, *_args: Any) -> None:
        busy = self._busy()
        has_layer = self.layer() is not None
        valid = self.report.valid if self.report is not None else []
        blocked = self.report is not None and self.stop_on_invalid.isChecked() and bool(self.report.invalid)
        self.validate_button.setEnabled(has_layer and not busy)
        self.price_button.setEnabled(bool(valid) and not blocked and not busy)
        ordered = self.report is not None and self.report is self._ordered_report
        self.create_button.setEnabled(bool(valid) and not blocked and not busy and not ordered)
        self.create_button.setToolTip("These features were ordered already; check the features again to order "
                                      "them once more." if ordered else "")
        self.cancel_button.setEnabled(busy)
        if blocked:
            self.validation_label.setText(
                f"{len(self.report.invalid)} of {len(self.report.checks)} features are invalid and “Stop” is chosen: "
                "fix them (reasons below) or choose to skip them.")

    def _layer_changed(self, layer: Any) -> None:
        layer = layer if isinstance(layer, QgsVectorLayer) else None
        for widget in self.field_widgets.values():
            widget.setLayer(layer)
        if layer is not None:
            defaults = FieldMapping.for_layer(layer).expressions
            for name, widget in self.field_widgets.items():
                widget.setExpression(defaults.get(name, ""))
            self.selected_only.setChecked(layer.selectedFeatureCount() > 0)
        self._mapping_changed()

    def _mapping_changed(self, *_args: Any) -> None:
        self.report = None
        self.pricing = None
        self.validation_table.setRowCount(0)
        self.validation_label.setText("")
        self.price_label.setText("")
        self.refresh_preview()
        self._update_buttons()

    def refresh_preview(self) -> None:
        """The first rows as payloads (or their problem): cheap, so it runs right here on each change."""
        layer = self.layer()
        self.preview_table.clear()
        columns = ["Feature"] + [FIELD_LABELS[name] for name in MAPPABLE_FIELDS[:6]] + ["Check"]
        self.preview_table.setColumnCount(len(columns))
        self.preview_table.setHorizontalHeaderLabels(columns)
        self.preview_table.setRowCount(0)
        if layer is None:
            return
        mapping = self.mapping()
        problems = mapping.parse_errors()
        if problems:
            field, problem = next(iter(problems.items()))
            self.validation_label.setText(f"The expression for {FIELD_LABELS[field]} does not parse: {problem}")
            return
        try:
            snapshot = LayerSnapshot(layer, self.selected_only.isChecked())
        except AoiError as error:  # the layer as a whole is unusable (no CRS, invalid): say so where the user looks
            self.validation_label.setText(error.message)
            return
        report = validate_layer(snapshot, mapping, limit=PREVIEW_ROWS)
        self.preview_table.setRowCount(len(report.checks))
        for row, check in enumerate(report.checks):
            payload = check.payload or {}
            values = [str(check.feature_id)] + [
                "" if payload.get(name) is None else str(payload.get(name)) for name in MAPPABLE_FIELDS[:6]
            ] + ["OK" if check.ok else check.reason or ""]
            for column, value in enumerate(values):
                self.preview_table.setItem(row, column, QTableWidgetItem(value))

    # -- validation ------------------------------------------------------------------------------------

    def _start(self, description: str, fn: Callable, on_success: Callable, on_cancel: Optional[Callable] = None) -> None:
        self.task_progress.setValue(0)

        def failed(error: BaseException) -> None:
            self.task = None
            self._chunks.stop()
            self._update_buttons()
            self.on_task_error(description, error)

        def cancelled() -> None:
            self.task = None
            self._chunks.stop()
            self._update_buttons()
            if on_cancel is not None:
                on_cancel()
            else:
                _message(self.iface, f"{description}: cancelled.", Qgis.Info)

        def succeeded(result: Any) -> None:
            self.task = None
            self._chunks.stop()
            on_success(result)
            self._update_buttons()

        self.task = run_in_background(names.task_description(description), fn, succeeded, failed, cancelled)
        self.task.progressChanged.connect(lambda value: self.task_progress.setValue(int(value)))
        self._update_buttons()

    def on_task_error(self, description: str, error: BaseException) -> None:
        text = getattr(error, "message", None) or str(error) or type(error).__name__
        self.summary_label.setText(f"{description} failed: {text}")
        _message(self.iface, f"{description} failed: {text}", Qgis.Warning, 0)

    def cancel_task(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def start_validation(self) -> None:
        layer = self.layer()
        if layer is None or self._busy():
            return
        problems = self.mapping().parse_errors()
        if problems:
            field, problem = next(iter(problems.items()))
            self.validation_label.setText(f"The expression for {FIELD_LABELS[field]} does not parse: {problem}")
            return
        try:
            snapshot = LayerSnapshot(layer, self.selected_only.isChecked())
        except AoiError as error:  # no CRS, not a valid layer: nothing to check, nothing to send
            self.report = None
            self.validation_table.setRowCount(0)
            self.validation_label.setText(error.message)
            self._update_buttons()
            return
        self._snapshot_layer = layer
        mapping = self.mapping()
        now = datetime.now(timezone.utc)
        self.validation_label.setText("Checking every feature…")
        self._start("Checking features",
                    lambda feedback: validate_layer(snapshot, mapping, now=now, progress=feedback.set_progress,
                                                    is_canceled=feedback.is_canceled),
                    self.show_validation)

    def show_validation(self, report: ValidationReport) -> None:
        self.report = report
        self.pricing = None
        table = self.validation_table
        table.setUpdatesEnabled(False)
        table.setRowCount(len(report.checks))
        for row, check in enumerate(report.checks):
            values = [str(check.feature_id), (check.payload or {}).get("name", ""), check.kind or "",
                      "" if check.tasked_sqkm is None else f"{check.tasked_sqkm:,.1f}",
                      "OK" if check.ok else check.reason or check.code or "", ""]
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                if column == 4 and not check.ok:
                    item.setForeground(Qt.red)
                    item.setToolTip(value)
                table.setItem(row, column, item)
        table.setUpdatesEnabled(True)
        invalid = len(report.invalid)
        text = f"{len(report.valid)} of {len(report.checks)} features can be ordered"
        if invalid:
            top = "; ".join(f"{count} × {code}" for code, count in report.reasons().most_common(4))
            text += f"; {invalid} {'is' if invalid == 1 else 'are'} invalid ({top})"
        self.validation_label.setText(text + ".")
        self._update_buttons()

    # -- pricing -----------------------------------------------------------------------------------

    def _client(self) -> Any:
        return self.client_factory()

    def start_pricing(self) -> None:
        if self.report is None or self._busy():
            return
        try:
            client = self._client()
        except Exception as error:  # noqa: BLE001 - not configured: say so, do nothing else
            self.on_task_error("Pricing", error)
            return
        pairs = self.report.pairs()
        self.price_label.setText(f"Pricing {len(pairs)} orders…")
        self._start("Pricing",
                    lambda feedback: price_payloads(client, pairs, progress=feedback.set_progress,
                                                    is_canceled=feedback.is_canceled),
                    self.show_pricing)

    def show_pricing(self, pricing: PricingReport) -> None:
        self.pricing = pricing
        rows = {self.validation_table.item(r, 0).text(): r for r in range(self.validation_table.rowCount())}
        for fid, price in pricing.prices.items():
            row = rows.get(str(fid))
            if row is not None:
                self.validation_table.setItem(row, 5, QTableWidgetItem(f"{price.estimated_quota_cost:,.3f}"))
        for fid, error in pricing.failures.items():
            row = rows.get(str(fid))
            if row is not None:
                item = QTableWidgetItem(f"not priced: {readable_error(error)}")
                item.setForeground(Qt.red)
                self.validation_table.setItem(row, 5, item)
        units = pricing.units or "units"
        text = (f"Total {pricing.total:,.3f} {units} for {len(pricing.prices)} orders "
                f"({pricing.requests} request{'s' if pricing.requests != 1 else ''})")
        if pricing.failures:
            text += f"; {len(pricing.failures)} could not be priced and are left out of the total"
        self.price_label.setText(text + ".")

    # -- creation ----------------------------------------------------------------------------------------

    def confirm(self, text: str) -> bool:
        """Ask before ordering (tests replace this)."""
        return QMessageBox.question(self, "Create orders", text) == QMessageBox.Yes

    def _journal(self) -> BulkJournal:
        if self.journal is None:
            self.journal = BulkJournal()
            self._owns_journal = True
        return self.journal

    def release_journal(self, *_args: Any) -> None:
        """Close the journal file this dialog opened (the dialog was closed, or the plugin unloads).

        A task of the dialog still running keeps it open until it is done; used again afterwards, the
        dialog opens the journal anew.
        """
        journal = self.journal
        if journal is None or not self._owns_journal:
            return
        self.journal = None
        close_when_done(journal, [self.task, self.jobs_panel.task])

    def showEvent(self, event: Any) -> None:  # noqa: N802 - Qt's name
        super().showEvent(event)
        if self.tabs.currentIndex() == 1:  # shown again on the jobs tab: what the journal says now
            self.jobs_panel.refresh()

    def start_creation(self) -> None:
        if self.report is None or self._busy():
            return
        pairs = self.report.pairs()
        if not pairs:
            return
        price = f" for an estimated {self.pricing.total:,.3f} {self.pricing.units or ''}" if self.pricing else ""
        skipped = len(self.report.invalid)
        question = f"Create {len(pairs)} tasking orders{price}?"
        if skipped:
            question += f" {skipped} invalid features will be skipped."
        if not self.confirm(question):
            return
        try:
            client = self._client()
        except Exception as error:  # noqa: BLE001
            self.on_task_error("Creating orders", error)
            return
        layer = self._snapshot_layer or self.layer()
        # The journal gets the whole job (UUIDs, payloads, feature ids) before anything is sent; if it
        # cannot be written, nothing is sent.
        try:
            self.job = BulkJob.start(self._journal(), "CREATE", pairs, client.base_url,
                                     title=f"{len(pairs)} orders from “{layer.name() if layer else ''}”",
                                     source=job_source(self.report, self.pricing),
                                     features=journal_features(self.report, self.pricing))
        except Exception as error:  # noqa: BLE001 - sqlite3/OS errors: report, send nothing
            self.on_task_error("Writing the bulk journal (nothing was sent)", error)
            return
        self._ordered_report = self.report
        self.progress_panel.reset([c.size for c in self.job.job(with_items=False).chunks])
        self.summary_label.setText("Sending…")
        job, poll = self.job, self.poll_seconds
        # The worker only records chunk states in the job; the watcher shows them from the GUI thread.
        self._start("Creating orders",
                    lambda feedback: job.run(client, progress=feedback.set_progress,
                                             is_canceled=feedback.is_canceled, poll=poll),
                    self.show_outcome, on_cancel=self._creation_cancelled)
        self._chunks.follow(job)

    def _creation_cancelled(self) -> None:
        if self.job is None:
            return
        outcome = self.job.outcome()
        self.show_outcome(outcome)
        if outcome.pending:
            _message(self.iface, f"Stopped following the bulk order; {len(outcome.pending)} orders are still being "
                                 "processed by the service. They stay in the bulk journal and are followed again "
                                 "the next time QGIS starts.", Qgis.Warning, 0)

    def show_outcome(self, outcome: BulkOutcome) -> None:
        self.outcome = outcome
        summary = outcome.summary()  # with the invalid features not sent, from the journal
        self.summary_label.setText(summary)
        # From the journal, like a job resumed after a restart: the same layer either way, even if the
        # source layer was removed meanwhile.
        self.result = self.job.result_layer() if self.job is not None else None
        if self.result is None:
            layer = self._snapshot_layer or self.layer()
            if layer is not None and QgsProject.instance().mapLayer(layer.id()) is not None:
                prices = {fid: p.estimated_quota_cost for fid, p in self.pricing.prices.items()} if self.pricing else None
                self.result = result_layer(layer, results_by_feature(self.report, outcome), prices=prices)
        if self.result is not None:
            QgsProject.instance().addMapLayer(self.result)
        level = Qgis.Success if not outcome.failed and not outcome.pending else Qgis.Warning
        _message(self.iface, summary, level, 0 if outcome.failed else 10)
        if self.isVisible():  # a closed dialog's list is read again when it is shown (showEvent)
            self.jobs_panel.refresh()


# --- bulk edit / cancel of existing orders ---------------------------------------------------------------


def _orders_view(source: Any) -> Any:
    """`source` itself or, for a dock or panel, the first child widget offering selected_order_ids()."""
    if source is None:
        return None
    if callable(getattr(source, "selected_order_ids", None)):
        return source
    if isinstance(source, QWidget):
        for child in source.findChildren(QWidget):
            if callable(getattr(child, "selected_order_ids", None)):
                return child
    return None


def selected_order_ids_from(source: Any = None, project: Optional[QgsProject] = None,
                            active_layer: Any = None) -> Tuple[List[str], Dict[str, Any]]:
    """The orders to edit or cancel, and what is known of each (the Order, or its status).

    First the orders view's selection (the issue-7 panel's selected_order_ids()/selected_orders(); `source`
    may be that view or a dock holding it), else the selected features of an orders layer, found by its
    kind whatever its name (core.layers.selection_orders_layer: `active_layer` first when it is one).
    """
    project = project or QgsProject.instance()
    view = _orders_view(source)
    if view is not None:
        ids = [str(i) for i in view.selected_order_ids() or []]
        if ids:
            known: Dict[str, Any] = {}
            if callable(getattr(view, "selected_orders", None)):
                known = {order.id: order for order in view.selected_orders() or [] if getattr(order, "id", None)}
            if not known:
                _, statuses = selected_order_ids(selection_orders_layer(project, active_layer))
                known = {i: s for i, s in statuses.items() if i in ids}
            return ids, known
    return selected_order_ids(selection_orders_layer(project, active_layer))


class BulkEditDialog(QDialog):
    """Change the start/end time of, or cancel, many orders in bulk requests (journaled like creation)."""

    def __init__(self, client_factory: ClientFactory, iface: Any, order_ids: Sequence[str], *,
                 statuses: Optional[Dict[str, Any]] = None, parent: Optional[QWidget] = None,
                 journal: Optional[BulkJournal] = None, poll_seconds: float = 2.0):
        super().__init__(parent if parent is not None else (iface.mainWindow() if iface is not None else None))
        self.setObjectName("BulkEditDialog")
        self.setWindowTitle("Edit or cancel orders in bulk")
        self.client_factory = client_factory
        self.iface = iface
        self.order_ids = list(order_ids)
        self.statuses = dict(statuses or {})
        self.journal = journal
        # Only a journal this dialog opened is closed by it; one handed in belongs to the caller.
        self._owns_journal = journal is None
        self.poll_seconds = poll_seconds
        self.task: Optional[ApiTask] = None
        self.job: Optional[BulkJob] = None
        self.outcome: Optional[BulkOutcome] = None
        self.skipped: Dict[str, str] = {}
        self.charge_refused: List[str] = []

        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{len(self.order_ids)} orders selected.", self))
        self.edit_radio = QRadioButton("Change the time of interest", self)
        self.edit_radio.setObjectName("editRadio")
        self.edit_radio.setChecked(True)
        self.cancel_radio = QRadioButton("Cancel the orders", self)
        self.cancel_radio.setObjectName("cancelRadio")
        layout.addWidget(self.edit_radio)
        times = QFormLayout()
        self.change_start = QCheckBox("New start time (UTC)", self)
        self.change_start.setObjectName("changeStartCheck")
        self.start_edit = QgsDateTimeEdit(self)
        self.start_edit.setObjectName("startEdit")
        self.start_edit.setTimeSpec(Qt.UTC)
        self.change_end = QCheckBox("New end time (UTC)", self)
        self.change_end.setObjectName("changeEndCheck")
        self.change_end.setChecked(True)
        self.end_edit = QgsDateTimeEdit(self)
        self.end_edit.setObjectName("endEdit")
        self.end_edit.setTimeSpec(Qt.UTC)
        now = QDateTime.currentDateTimeUtc()
        self.start_edit.setDateTime(now.addDays(1))
        self.end_edit.setDateTime(now.addDays(30))
        times.addRow(self.change_start, self.start_edit)
        times.addRow(self.change_end, self.end_edit)
        layout.addLayout(times)
        layout.addWidget(self.cancel_radio)
        self.accept_charge = QCheckBox("Accept cancellation charges (when the contract's free cancellations are used up)",
                                       self)
        self.accept_charge.setObjectName("acceptChargeCheck")
        layout.addWidget(self.accept_charge)
        self.cancellations_label = QLabel("", self)
        self.cancellations_label.setObjectName("cancellationsLabel")
        self.cancellations_label.setWordWrap(True)
        layout.addWidget(self.cancellations_label)
        self.cancellations = None
        self._count_task: Optional[ApiTask] = None
        self.cancel_radio.toggled.connect(self._cancel_mode_changed)
        self.cancel_radio.toggled.connect(self._enable_mode_widgets)
        self.change_start.toggled.connect(self._enable_mode_widgets)
        self.change_end.toggled.connect(self._enable_mode_widgets)
        self._enable_mode_widgets()
        self.run_button = QPushButton("Send", self)
        self.run_button.setObjectName("runButton")
        self.run_button.clicked.connect(self.start)
        self.charge_button = QPushButton("", self)
        self.charge_button.setObjectName("acceptChargeButton")
        self.charge_button.hide()
        self.charge_button.clicked.connect(self.cancel_with_charge)
        self.stop_button = QPushButton("Stop waiting", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(lambda: self.task.cancel() if self.task is not None else None)
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.charge_button)
        row.addWidget(self.stop_button)
        layout.addLayout(row)
        self.progress_panel = BulkProgressPanel(self)
        layout.addWidget(self.progress_panel)
        self._chunks = _ChunkWatcher(self.progress_panel, self)
        self.summary_label = QLabel("", self)
        self.summary_label.setObjectName("summaryLabel")
        self.summary_label.setWordWrap(True)
        layout.addWidget(self.summary_label)
        buttons = QDialogButtonBox(QDialogButtonBox.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.finished.connect(self.release_journal)

    def _journal(self) -> BulkJournal:
        if self.journal is None:
            self.journal = BulkJournal()
            self._owns_journal = True
        return self.journal

    def release_journal(self, *_args: Any) -> None:
        """Close the journal file this dialog opened (the dialog was closed or replaced, or the plugin
        unloads); an edit or cancellation still running keeps it open until it is done."""
        journal = self.journal
        if journal is None or not self._owns_journal:
            return
        self.journal = None
        close_when_done(journal, [self.task])

    def _enable_mode_widgets(self, *_args: Any) -> None:
        editing = not self.cancel_radio.isChecked()
        for widget in (self.change_start, self.change_end):
            widget.setEnabled(editing)
        self.start_edit.setEnabled(editing and self.change_start.isChecked())
        self.end_edit.setEnabled(editing and self.change_end.isChecked())
        self.accept_charge.setEnabled(not editing)

    def _cancel_mode_changed(self, cancelling: bool) -> None:
        """Show the assured cancellations already used today (core.services.planet_tasking.cancellations, the documented count)."""
        if not cancelling or self._count_task is not None or self.cancellations is not None:
            return
        try:
            client = self.client_factory()
        except Exception:  # noqa: BLE001 - the count is a hint; sending will say what is wrong
            return
        from ..core.services.planet_tasking.cancellations import cancellations_today

        self.cancellations_label.setText("Counting today's cancellations…")

        def counted(tally: Any) -> None:
            self._count_task = None
            self.cancellations = tally
            self.cancellations_label.setText(tally.summary() + " Past the contract's free ones, each assured "
                                             "cancellation is charged and needs the acceptance above.")

        def failed(error: BaseException) -> None:
            self._count_task = None
            self.cancellations_label.setText("")

        def stopped() -> None:
            # Cancelled (e.g. from QGIS's task list): not busy any more, so choosing "Cancel" again counts again.
            self._count_task = None
            self.cancellations_label.setText("")

        self._count_task = run_in_background(
            names.task_description("counting today's cancellations"),
            lambda feedback: cancellations_today(client, is_canceled=feedback.is_canceled),
            counted, failed, stopped)

    def pairs(self) -> Tuple[str, List[Tuple[None, Dict[str, Any]]], Dict[str, str]]:
        if self.cancel_radio.isChecked():
            pairs, skipped = cancel_pairs(self.order_ids, accept_cancellation_charge=self.accept_charge.isChecked(),
                                          statuses=self.statuses)
            return "CANCEL", pairs, skipped
        start = self.start_edit.dateTime() if self.change_start.isChecked() else None
        end = self.end_edit.dateTime() if self.change_end.isChecked() else None
        pairs, skipped = edit_pairs(self.order_ids, start_time=start, end_time=end, statuses=self.statuses)
        return "EDIT", pairs, skipped

    def start(self) -> None:
        if self.task is not None:
            return
        try:
            operation, pairs, self.skipped = self.pairs()
        except ValueError as error:
            self.summary_label.setText(str(error).capitalize() + ".")
            return
        self._send(operation, pairs)

    def cancel_with_charge(self) -> None:
        """Cancel again the orders the service refused to cancel for free, this time accepting the charge."""
        if self.task is not None or not self.charge_refused:
            return
        pairs, _ = cancel_pairs(self.charge_refused, accept_cancellation_charge=True)
        self._send("CANCEL", pairs)

    def _send(self, operation: str, pairs: List[Tuple[None, Dict[str, Any]]]) -> None:
        if not pairs:
            self.summary_label.setText(self._skipped_text() or "Nothing to send.")
            return
        try:
            client = self.client_factory()
        except Exception as error:  # noqa: BLE001
            self.summary_label.setText(str(error))
            return
        verb = "Cancelling" if operation == "CANCEL" else "Editing"
        try:
            self.job = BulkJob.start(self._journal(), operation, pairs, client.base_url,
                                     title=f"{verb} {len(pairs)} orders")
        except Exception as error:  # noqa: BLE001 - the journal comes first: without it, nothing is sent
            self.summary_label.setText(f"The bulk journal could not be written, so nothing was sent: {error}")
            return
        self.progress_panel.reset([c.size for c in self.job.job(with_items=False).chunks])
        self.run_button.setEnabled(False)
        self.charge_button.hide()
        self.stop_button.setEnabled(True)
        job, poll = self.job, self.poll_seconds

        def done(outcome: BulkOutcome) -> None:
            self.task = None
            self._chunks.stop()
            self.show_outcome(outcome)

        def failed(error: BaseException) -> None:
            self.task = None
            self._chunks.stop()
            self.run_button.setEnabled(True)
            self.stop_button.setEnabled(False)
            text = getattr(error, "message", None) or str(error)
            self.summary_label.setText(f"{verb} failed: {text}")
            _message(self.iface, f"{verb} orders failed: {text}", Qgis.Warning, 0)

        def cancelled() -> None:
            self.task = None
            self._chunks.stop()
            self.show_outcome(job.outcome())

        # The worker only records chunk states in the job; the watcher shows them from the GUI thread.
        self.task = run_in_background(
            names.task_description(f"{verb.lower()} orders in bulk"),
            lambda feedback: job.run(client, progress=feedback.set_progress, is_canceled=feedback.is_canceled,
                                     poll=poll),
            done, failed, cancelled)
        self._chunks.follow(job)

    def _skipped_text(self) -> str:
        if not self.skipped:
            return ""
        reasons: Dict[str, int] = {}
        for why in self.skipped.values():
            reasons[why] = reasons.get(why, 0) + 1
        return f"{len(self.skipped)} not sent: " + "; ".join(f"{n} × {why}" for why, n in reasons.items())

    def show_outcome(self, outcome: BulkOutcome) -> None:
        self.outcome = outcome
        self.run_button.setEnabled(True)
        self.stop_button.setEnabled(False)
        text = outcome.summary()
        skipped = self._skipped_text()
        if skipped:
            text += " " + skipped + "."
        self.charge_refused = charge_refused_ids(outcome) if outcome.operation == "CANCEL" else []
        if self.charge_refused:
            self.charge_button.setText(f"Accept the charge and cancel these {len(self.charge_refused)}")
            self.charge_button.show()
            text += (f" {len(self.charge_refused)} would be charged (the contract's free cancellations are used up): "
                     "accept the charge to cancel them.")
        self.summary_label.setText(text)
        _message(self.iface, text, Qgis.Success if not outcome.failed else Qgis.Warning, 10)


# --- following unfinished bulks at start-up ---------------------------------------------------------------


def resume_unfinished_bulks(client_factory: Optional[ClientFactory], iface: Any, *,
                            journal: Optional[BulkJournal] = None, poll_seconds: float = 5.0) -> Optional[ApiTask]:
    """At QGIS start: list the bulk jobs the last session left unfinished and follow them in a task.

    Only jobs sent to the service the client now calls are followed (never a sandbox job against the real
    service); the message bar says what is being resumed and, when done, how it ended.
    """
    owned = journal is None
    try:
        journal = journal or BulkJournal()
    except Exception as error:  # noqa: BLE001 - an unreadable journal must not stop the plugin loading
        _log.warning("the bulk journal could not be opened: %s", error)
        return None
    task = None
    try:
        task = _resume_in_task(journal, client_factory, iface, poll_seconds)
    finally:
        # A journal opened here is released once the task is done with it (at once when there is none);
        # "Show results" buttons open it again for themselves.
        if owned:
            close_when_done(journal, [task])
    return task


def _resume_in_task(journal: BulkJournal, client_factory: Optional[ClientFactory], iface: Any,
                    poll_seconds: float) -> Optional[ApiTask]:
    try:
        journal.prune()
    except Exception as error:  # noqa: BLE001 - pruning is housekeeping; following open jobs matters more
        _log.warning("old bulk jobs could not be pruned from the journal: %s", error)
    open_jobs = journal.unfinished_jobs()
    if not open_jobs:
        return None
    try:
        client = (client_factory or default_client_factory)()
    except Exception as error:  # noqa: BLE001
        _message(iface, f"{len(open_jobs)} bulk orders from a previous session are unfinished; they will be followed "
                        f"once the plugin is configured ({error}).", Qgis.Warning, 0)
        return None
    jobs = journal.unfinished_jobs(client.base_url)
    if not jobs:
        return None
    titles = ", ".join(job.title or job.operation for job in jobs[:3]) + ("…" if len(jobs) > 3 else "")
    _message(iface, f"Following {len(jobs)} unfinished bulk order job(s) from the last session: {titles}.", Qgis.Info)

    titles_by_id = {job.job_id: job.title or job.operation for job in jobs}

    def finished(outcomes: List[BulkOutcome]) -> None:
        # One entry per job, as at the end of an uninterrupted run: its summary and, for a CREATE, the
        # result layer one click away (rebuilt from the journal; the source layer may be gone).
        for outcome in outcomes:
            title = titles_by_id.get(outcome.job_id, outcome.operation)
            announce_outcome(iface, journal, outcome, f"Resumed bulk “{title}”: ")

    def failed(error: BaseException) -> None:
        text = getattr(error, "message", None) or str(error)
        _message(iface, f"Following the unfinished bulk orders failed ({text}); they stay in the journal and are "
                        "tried again at the next start.", Qgis.Warning, 0)

    def stopped() -> None:
        _log.info("following the unfinished bulk orders was stopped; they stay in the journal")

    return run_in_background(
        names.task_description("following unfinished bulk orders"),
        lambda feedback: resume_jobs(journal, client, is_canceled=feedback.is_canceled, progress=feedback.set_progress,
                                     poll=poll_seconds),
        finished, failed, stopped)


__all__ = ["BulkEditDialog", "BulkJobsPanel", "BulkOrderDialog", "BulkProgressPanel", "add_result_layer",
           "announce_outcome", "close_when_done", "default_client_factory", "remove_button_messages",
           "resume_unfinished_bulks", "selected_order_ids_from"]
