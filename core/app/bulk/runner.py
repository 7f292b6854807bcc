"""What the bulk workflows share: one task at a time, its progress, and a running job's chunk states."""

from __future__ import annotations

from typing import Any, Callable, List, Optional, Sequence, Tuple, Union

from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from ... import names
from ...tasks import ApiTask, TaskFeedback, run_in_background
from .job import BulkJob, BulkOutcome
from .journal import BulkJournal
from .lease import JournalLease
from .resume import registry_client

try:
    from qgis.PyQt import sip
except ImportError:  # pragma: no cover - older PyQt layouts
    import sip  # type: ignore[no-redef]

ClientFactory = Callable[[], Any]

# How often a running job's chunk states are read (on the main thread) for chunkProgress.
CHUNK_POLL_MS = 200


def active_client() -> Any:
    """A client for the active service as the settings say now; RuntimeError while it is not configured."""
    from ...services import registry

    return registry_client(registry.active_service_id())


class BulkTaskRunner(QObject):
    """Runs a bulk workflow's steps one at a time in QgsTasks and reports on them with signals.

    The job run by a task only records its chunk states (BulkJob.chunk_states); a timer reads them here on
    the main thread and emits chunkProgress, so nothing from the worker thread reaches a signal or widget.
    Deleted with its parent mid-run (a dialog closed at plugin unload), it emits nothing more: the task
    goes on to the end and the journal keeps what it did.
    """

    busyChanged = pyqtSignal(bool)  # noqa: N815 - Qt signal naming
    progressChanged = pyqtSignal(int)  # noqa: N815 - the running task's percent
    chunksJournaled = pyqtSignal(list)  # noqa: N815 - a job's chunk sizes: written to the journal, nothing sent yet
    chunkProgress = pyqtSignal(list)  # noqa: N815 - the running job's ChunkStates, read on the main thread

    def __init__(self, client_factory: Optional[ClientFactory] = None,
                 journal: Union[JournalLease, BulkJournal, None] = None, poll_seconds: float = 2.0,
                 parent: Optional[QObject] = None):
        super().__init__(parent)
        self.client_factory = client_factory if client_factory is not None else active_client
        self.journal = journal if isinstance(journal, JournalLease) else JournalLease(journal)
        self.poll_seconds = poll_seconds
        self.task: Optional[ApiTask] = None
        self.job: Optional[BulkJob] = None
        self._watched: Optional[BulkJob] = None
        self._timer = QTimer(self)
        self._timer.setInterval(CHUNK_POLL_MS)
        self._timer.timeout.connect(self._show_chunks)

    @property
    def busy(self) -> bool:
        return self.task is not None

    def client(self) -> Any:
        """A fresh client for one task; an error saying why there is none."""
        client = self.client_factory()
        if client is None:
            raise RuntimeError("The plugin has no API key yet: enter it in the Satellite Tasking settings.")
        return client

    def cancel(self) -> None:
        """Cancel the running step (a job being followed goes on at the service and stays in the journal)."""
        if self.task is not None:
            self.task.cancel()

    def _alive(self) -> bool:
        return not sip.isdeleted(self)

    def _run(self, description: str, fn: Callable[[TaskFeedback], Any], on_success: Callable[[Any], None],
             on_error: Callable[[BaseException], None], on_cancel: Callable[[], None]) -> None:
        def done(then: Callable[[], None]) -> None:
            self.task = None
            if not self._alive():  # deleted with its dialog: the journal has the result
                return
            self._stop_watching()
            then()
            self.busyChanged.emit(False)

        self.progressChanged.emit(0)
        self.task = run_in_background(names.task_description(description), fn,
                                      lambda result: done(lambda: on_success(result)),
                                      lambda error: done(lambda: on_error(error)),
                                      lambda: done(on_cancel))
        self.task.progressChanged.connect(self._task_progress)
        self.busyChanged.emit(True)

    def _task_progress(self, value: float) -> None:
        if self._alive():
            self.progressChanged.emit(int(value))

    def _start_job(self, operation: str, pairs: Sequence[Tuple[Any, Any]], client: Any, **options: Any) -> BulkJob:
        """Write the whole job to the journal (raises if it cannot be written: then nothing is sent)."""
        job = BulkJob.start(self.journal(), operation, pairs, client.base_url, **options)
        self.job = job
        self.chunksJournaled.emit([chunk.size for chunk in job.job(with_items=False).chunks])
        return job

    def _run_job(self, description: str, job: BulkJob, client: Any, on_outcome: Callable[[BulkOutcome], None],
                 on_error: Callable[[BaseException], None], on_cancel: Callable[[], None]) -> None:
        poll = self.poll_seconds
        self._run(description,
                  lambda feedback: job.run(client, progress=feedback.set_progress, is_canceled=feedback.is_canceled,
                                           poll=poll),
                  on_outcome, on_error, on_cancel)
        self._watched = job
        self._timer.start()

    def _show_chunks(self) -> None:
        if self._watched is not None:
            self.chunkProgress.emit(list(self._watched.chunk_states()))

    def _stop_watching(self) -> None:
        """The task is done: its last chunk states, then no more reading."""
        self._timer.stop()
        self._show_chunks()
        self._watched = None


def reasons_text(reasons: List[str]) -> str:
    """`n × why` per distinct reason, in the order first seen."""
    counts: dict = {}
    for why in reasons:
        counts[why] = counts.get(why, 0) + 1
    return "; ".join(f"{n} × {why}" for why, n in counts.items())
