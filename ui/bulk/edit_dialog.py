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

from ...core.app.bulk import BulkEditWorkflow, BulkJob, BulkJournal, BulkOutcome, JournalLease
from ...core.services import registry
from ...core.tasks import ApiTask
from .common import ClientFactory
from .messages import push_message
from .progress import BulkProgressPanel

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


NAMED_ORDERS = 4  # the selection's first names in the dialog's line; all of them in its tooltip


def order_label(order_id: str, known: Any, name: Optional[str] = None) -> str:
    """An order as the user knows it: its name (from the view's Order or the layer), else its id and status."""
    name = getattr(known, "name", None) or name
    if name:
        return str(name)
    return f"{order_id} ({known})" if isinstance(known, str) and known else order_id


def selected_names_in_layer(project: QgsProject, active_layer: Any) -> Dict[str, str]:
    """Order id -> name of the features selected in the orders layer the selection came from (if any)."""
    layer = registry.service().layers.selection_orders_layer(project, active_layer)
    if layer is None:
        return {}
    id_column, name_column = layer.fields().indexOf("id"), layer.fields().indexOf("name")
    if id_column < 0 or name_column < 0:
        return {}
    return {str(feature.attribute(id_column)): str(feature.attribute(name_column))
            for feature in layer.getSelectedFeatures()
            if feature.attribute(name_column) not in (None, "") and feature.attribute(id_column) not in (None, "")}


def selection_text(order_ids: Sequence[str], known: Dict[str, Any], names: Optional[Dict[str, str]] = None) -> str:
    """"3 orders selected: A, B, C." — the first few by name, then how many more."""
    if not order_ids:
        return "No orders selected."
    names = names or {}
    named = [order_label(i, known.get(i), names.get(i)) for i in order_ids[:NAMED_ORDERS]]
    more = len(order_ids) - len(named)
    count = f"{len(order_ids)} order{'s' if len(order_ids) != 1 else ''} selected"
    return f"{count}: " + ", ".join(f"“{n}”" for n in named) + (f" and {more} more." if more else ".")


class BulkEditDialog(QDialog):
    """Change the start/end time of, or cancel, many orders in bulk requests (journaled like creation).

    The counting and the sending are a BulkEditWorkflow's (core.app.bulk); the dialog shows them and
    forwards the user's choice, the charge consent being the checkbox's value.
    """

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
        self.poll_seconds = poll_seconds
        self._journal = JournalLease(journal)
        self.workflow = BulkEditWorkflow(self.order_ids, self.statuses, client_factory, self._journal, poll_seconds,
                                         self)
        # The last outcome shown (the workflow's own stays as it was).
        self.outcome: Optional[BulkOutcome] = None

        layout = QVBoxLayout(self)
        # Selected in an orders layer, only ids and statuses came: the layer's selected features have the names.
        names = selected_names_in_layer(QgsProject.instance(), iface.activeLayer() if iface is not None else None)
        self.selection_label = QLabel(selection_text(self.order_ids, self.statuses, names), self)
        self.selection_label.setObjectName("selectionLabel")
        self.selection_label.setWordWrap(True)
        # Every selected order, one a line: the label names only the first few.
        self.selection_label.setToolTip("\n".join(order_label(i, self.statuses.get(i), names.get(i))
                                                  for i in self.order_ids))
        layout.addWidget(self.selection_label)
        self.edit_radio = QRadioButton("Change the time of interest", self)
        self.edit_radio.setObjectName("editRadio")
        self.edit_radio.setToolTip("Give the selected orders a new start and/or end time, where their state allows.")
        self.edit_radio.setChecked(True)
        self.cancel_radio = QRadioButton("Cancel the orders", self)
        self.cancel_radio.setObjectName("cancelRadio")
        self.cancel_radio.setToolTip("Cancel the selected orders, where their state allows.")
        layout.addWidget(self.edit_radio)
        times = QFormLayout()
        self.change_start = QCheckBox("New start time (UTC)", self)
        self.change_start.setObjectName("changeStartCheck")
        self.change_start.setToolTip("Change the start of the time of interest; unticked: it stays as it is.")
        self.start_edit = QgsDateTimeEdit(self)
        self.start_edit.setObjectName("startEdit")
        self.start_edit.setToolTip("The new start time, in UTC, for every selected order.")
        self.start_edit.setTimeSpec(Qt.TimeSpec.UTC)
        self.change_end = QCheckBox("New end time (UTC)", self)
        self.change_end.setObjectName("changeEndCheck")
        self.change_end.setToolTip("Change the end of the time of interest; unticked: it stays as it is.")
        self.change_end.setChecked(True)
        self.end_edit = QgsDateTimeEdit(self)
        self.end_edit.setObjectName("endEdit")
        self.end_edit.setToolTip("The new end time, in UTC, for every selected order.")
        self.end_edit.setTimeSpec(Qt.TimeSpec.UTC)
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
        self.accept_charge.setToolTip("Past the contract's free cancellations the service charges each assured "
                                      "cancellation; without this tick those orders are left as they are.")
        layout.addWidget(self.accept_charge)
        self.cancellations_label = QLabel("", self)
        self.cancellations_label.setObjectName("cancellationsLabel")
        self.cancellations_label.setWordWrap(True)
        layout.addWidget(self.cancellations_label)
        self.cancel_radio.toggled.connect(self._cancel_mode_changed)
        self.cancel_radio.toggled.connect(self._enable_mode_widgets)
        self.change_start.toggled.connect(self._enable_mode_widgets)
        self.change_end.toggled.connect(self._enable_mode_widgets)
        self._enable_mode_widgets()
        self.run_button = QPushButton("Send", self)
        self.run_button.setObjectName("runButton")
        self.run_button.setToolTip("Send the change or cancellation for every selected order (journaled first).")
        self.run_button.clicked.connect(self.start)
        self.charge_button = QPushButton("", self)
        self.charge_button.setObjectName("acceptChargeButton")
        self.charge_button.setToolTip("Cancel again the orders the service refused to cancel for free, this time "
                                      "accepting the charge.")
        self.charge_button.hide()
        self.charge_button.clicked.connect(self.cancel_with_charge)
        self.stop_button = QPushButton("Stop waiting", self)
        self.stop_button.setObjectName("stopButton")
        self.stop_button.setToolTip("Stop following the requests; what was sent is still done by the service.")
        self.stop_button.setEnabled(False)
        self.stop_button.clicked.connect(self.workflow.cancel)
        row = QHBoxLayout()
        row.addWidget(self.run_button)
        row.addWidget(self.charge_button)
        row.addWidget(self.stop_button)
        layout.addLayout(row)
        self.progress_panel = BulkProgressPanel(self)
        layout.addWidget(self.progress_panel)
        self.summary_label = QLabel("", self)
        self.summary_label.setObjectName("summaryLabel")
        self.summary_label.setWordWrap(True)
        layout.addWidget(self.summary_label)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.button(QDialogButtonBox.StandardButton.Close).setToolTip("Close the dialog; a run goes on to its end.")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.finished.connect(self.release_journal)

        self._connect_workflow()

    # What the workflow holds, read by the plugin and the tests.
    task: Optional[ApiTask] = property(lambda self: self.workflow.task)
    job: Optional[BulkJob] = property(lambda self: self.workflow.job)
    _count_task: Optional[ApiTask] = property(lambda self: self.workflow.count_task)
    cancellations: Any = property(lambda self: self.workflow.cancellations)
    skipped: Dict[str, str] = property(lambda self: self.workflow.skipped)
    charge_refused: List[str] = property(lambda self: self.workflow.charge_refused)
    journal: Optional[BulkJournal] = property(lambda self: self._journal.journal)

    def _connect_workflow(self) -> None:
        workflow = self.workflow
        workflow.counted.connect(self._counted)
        workflow.countCleared.connect(lambda: self.cancellations_label.setText(""))
        workflow.busyChanged.connect(self._busy_changed)
        workflow.chunksJournaled.connect(self.progress_panel.reset)
        workflow.chunkProgress.connect(self.progress_panel.show_states)
        workflow.refused.connect(self.summary_label.setText)
        workflow.failed.connect(self._failed)
        workflow.outcomeReady.connect(self.show_outcome)

    def release_journal(self, *_args: Any) -> None:
        """Close the journal file this dialog opened (the dialog was closed or replaced, or the plugin
        unloads); an edit or cancellation still running keeps it open until it is done."""
        self._journal.release([self.workflow.task])

    def _enable_mode_widgets(self, *_args: Any) -> None:
        editing = not self.cancel_radio.isChecked()
        for widget in (self.change_start, self.change_end):
            widget.setEnabled(editing)
        self.start_edit.setEnabled(editing and self.change_start.isChecked())
        self.end_edit.setEnabled(editing and self.change_end.isChecked())
        self.accept_charge.setEnabled(not editing)

    def _cancel_mode_changed(self, cancelling: bool) -> None:
        """Show the assured cancellations already used today (the service's documented count)."""
        if cancelling and self.workflow.count_cancellations():
            self.cancellations_label.setText("Counting today's cancellations…")

    def _counted(self, tally: Any) -> None:
        self.cancellations_label.setText(tally.summary() + " Past the contract's free ones, each assured "
                                         "cancellation is charged and needs the acceptance above.")

    def _choice(self) -> Dict[str, Any]:
        """The user's choice as the workflow takes it: cancel (with the charge consent) or the new times."""
        return {"cancel": self.cancel_radio.isChecked(), "accept_charge": self.accept_charge.isChecked(),
                "start_time": self.start_edit.dateTime() if self.change_start.isChecked() else None,
                "end_time": self.end_edit.dateTime() if self.change_end.isChecked() else None}

    def pairs(self) -> Tuple[str, List[Tuple[None, Dict[str, Any]]], Dict[str, str]]:
        return self.workflow.payloads(**self._choice())

    def start(self) -> None:
        self.workflow.send(**self._choice())

    def cancel_with_charge(self) -> None:
        """Cancel again the orders the service refused to cancel for free, this time accepting the charge."""
        self.workflow.cancel_with_charge()

    def _busy_changed(self, busy: bool) -> None:
        self.run_button.setEnabled(not busy)
        self.stop_button.setEnabled(busy)
        if busy:
            self.charge_button.hide()

    def _failed(self, verb: str, error: BaseException) -> None:
        text = getattr(error, "message", None) or str(error)
        self.summary_label.setText(f"{verb} failed: {text}")
        push_message(self.iface, f"{verb} orders failed: {text}", Qgis.MessageLevel.Warning, 0)

    def show_outcome(self, outcome: BulkOutcome, text: str) -> None:
        self.outcome = outcome
        if self.charge_refused:
            self.charge_button.setText(f"Accept the charge and cancel these {len(self.charge_refused)}")
            self.charge_button.show()
        self.summary_label.setText(text)
        push_message(self.iface, text, Qgis.MessageLevel.Success if not outcome.failed else Qgis.MessageLevel.Warning, 10)
