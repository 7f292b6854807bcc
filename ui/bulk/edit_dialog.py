"""Edit the times of, or cancel, the orders selected in the orders view or an orders layer, in bulk."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple

from qgis.core import Qgis, QgsProject
from qgis.gui import QgsDateTimeEdit
from qgis.PyQt.QtCore import QDateTime, Qt
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ...core import names
from ...core.app.bulk import (
    BulkJob,
    BulkJournal,
    BulkOutcome,
    cancel_pairs,
    cancellations_today,
    charge_refused_ids,
    edit_pairs,
)
from ...core.services import registry
from ...core.tasks import ApiTask, run_in_background
from .common import ClientFactory, close_when_done
from .messages import push_message
from .progress import BulkProgressPanel, ChunkWatcher

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
                _, statuses = _layer_selection(project, active_layer)
                known = {i: s for i, s in statuses.items() if i in ids}
            return ids, known
    return _layer_selection(project, active_layer)


def _layer_selection(project: QgsProject, active_layer: Any) -> Tuple[List[str], Dict[str, Any]]:
    """The orders selected in the active service's orders layer (found by its kind, whatever its name)."""
    layers = registry.service().layers
    return layers.selected_order_ids(layers.selection_orders_layer(project, active_layer))


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
        self._chunks = ChunkWatcher(self.progress_panel, self)
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
        """Show the assured cancellations already used today (the service's documented count)."""
        if not cancelling or self._count_task is not None or self.cancellations is not None:
            return
        try:
            client = self.client_factory()
        except Exception:  # noqa: BLE001 - the count is a hint; sending will say what is wrong
            return
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
            push_message(self.iface, f"{verb} orders failed: {text}", Qgis.Warning, 0)

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
        push_message(self.iface, text, Qgis.Success if not outcome.failed else Qgis.Warning, 10)

