"""The journal's bulk jobs: follow an unfinished one again, show a job's results, or dismiss it."""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from qgis.core import QgsVectorLayer
from qgis.PyQt.QtCore import QTimer
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ...core.app.bulk import (
    JOB_FINISHED,
    JOB_OPEN,
    BulkFollowWorkflow,
    BulkJournal,
    BulkOutcome,
    JobSummary,
)
from ...core.app.bulk.resume import ClientsByService
from ...core.tasks import ApiTask
from .common import add_result_layer
from .messages import announce_outcome

JOB_COLUMNS = ("Created (UTC)", "Service", "Job", "Parts sent / complete", "Created", "Failed", "State")


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
    or dismiss it (no longer followed or listed; what is at the service goes on there).

    A job is followed by a client of the service it was sent to: `clients(service_id)`, as at start-up.
    """

    def __init__(self, journal: Callable[[], BulkJournal], clients: ClientsByService, iface: Any,
                 parent: Optional[QWidget] = None, *, poll_seconds: float = 2.0, watch_seconds: float = 2.0):
        super().__init__(parent)
        self.setObjectName("bulkJobsPanel")
        self._journal = journal
        self.clients = clients
        self.iface = iface
        self.poll_seconds = poll_seconds
        self.summaries: List[JobSummary] = []
        self.follower = BulkFollowWorkflow(clients, journal, poll_seconds, self)
        self.follower.refused.connect(self._show_status)
        self.follower.followed.connect(self._followed)
        self.follower.failed.connect(self._follow_failed)
        self.follower.stopped.connect(self._follow_stopped)
        self._following_title = ""
        self.outcome: Optional[BulkOutcome] = None
        self.result: Optional[QgsVectorLayer] = None
        layout = QVBoxLayout(self)
        intro = QLabel("Bulk jobs in the journal, newest first. Unfinished ones are followed at every "
                       "start of QGIS until they finish or are dismissed.", self)
        intro.setWordWrap(True)  # one long line would make the whole dialog wider than its default
        layout.addWidget(intro)
        self.table = QTableWidget(0, len(JOB_COLUMNS), self)
        self.table.setObjectName("jobsTable")
        self.table.setToolTip("The bulk jobs: when each was sent, to which service, its parts sent and finished, "
                              "orders created and failed. Select one to follow it again, show its results or "
                              "dismiss it.")
        self.table.setHorizontalHeaderLabels(JOB_COLUMNS)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.verticalHeader().setVisible(False)
        self.table.horizontalHeader().setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        layout.addWidget(self.table, 1)
        row = QHBoxLayout()
        self.refresh_button = QPushButton("Refresh", self)
        self.refresh_button.setObjectName("refreshJobsButton")
        self.refresh_button.setToolTip("Read the list of jobs from the bulk journal again (it also follows by itself "
                                       "while shown).")
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
        return QMessageBox.question(self, "Dismiss bulk job", text) == QMessageBox.StandardButton.Yes

    # What the follower holds, read by the dialog and the tests.
    task: Optional[ApiTask] = property(lambda self: self.follower.task)
    following: Optional[str] = property(lambda self: self.follower.following)

    def _show_status(self, text: str) -> None:
        self.status_label.setText(text)

    def follow_selected(self) -> None:
        job = self.selected()
        if job is None or not self.follower.follow(job):
            return
        self._following_title = job.title or job.operation
        self.status_label.setText(f"Following “{self._following_title}”…")
        self.refresh()

    def _followed(self, outcome: BulkOutcome) -> None:
        self.outcome = outcome
        self.status_label.setText(outcome.summary())
        announce_outcome(self.iface, self.follower.job.journal, outcome, f"“{self._following_title}”: ")
        self.refresh()

    def _follow_failed(self, error: BaseException) -> None:
        text = getattr(error, "message", None) or str(error)
        self.status_label.setText(f"Following the job failed: {text} It stays in the journal.")
        self.refresh()

    def _follow_stopped(self) -> None:
        self.status_label.setText("Stopped following; the job stays in the journal.")
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

