"""The imaging-window search: started, polled with its partial results shown as they come, cancelled, read again."""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, Tuple

from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from .. import layers, names
from ..services.base import ServiceDescriptor
from ..tasks import ApiTask, TaskFeedback, run_in_background
from .latest import LatestOnly, LatestValue
from .workflow import Workflow, cancel_task

# A running search's newest state is looked at this often between the task's progress reports.
PARTIAL_CHECK_MS = 300


class WindowSearchWorkflow(Workflow):
    """One search at a time; what a replaced, cleared or finished search answers late is dropped.

    Why one polling task and a holder rather than one short task per poll: the client already polls
    with backoff, honours cancel within half a second and turns FAILED into the server's error, and a
    single task keeps one entry (one progress bar, one Cancel) in QGIS's task manager for the whole
    search. run() only put()s each state read into a LatestValue; the workflow picks the newest up on
    the main thread, from the task's progressChanged (queued to the main thread) and a short timer
    (progress stands still between polls and at 95 %), and hands it on as `partial`: each state lists
    every window found so far, so the caller brings its list up to it by window id.
    """

    refused = pyqtSignal(dict)  # the form cannot be searched as it stands: problems by field; nothing sent
    cleared = pyqtSignal()  # the search and its windows are forgotten
    started = pyqtSignal(bool)  # polling began: True for a running search, False for re-reading a finished one
    progress = pyqtSignal(float)  # percent, as the service reports it
    partial = pyqtSignal(object)  # a newer state of the running search (not finished)
    done = pyqtSignal(object)  # the finished search
    failed = pyqtSignal(object)  # the search failed or was refused (the exception)
    cancelled = pyqtSignal()  # stopped before it finished; the windows found so far stay

    def __init__(self, client_factory: Optional[Callable[[], Any]] = None,
                 service: Optional[ServiceDescriptor] = None, parent: Optional[QObject] = None,
                 poll_seconds: float = 2.0, max_poll_seconds: float = 5.0):
        super().__init__(client_factory, service, parent)
        self.poll_seconds = poll_seconds
        # The longest wait between polls of a running search: new windows show up at most this late.
        self.max_poll_seconds = max_poll_seconds
        self.search: Optional[Any] = None
        self.task: Optional[ApiTask] = None
        self._tokens = LatestOnly()
        # While a search runs: the running task's newest partial search, tagged with its token.
        self._partial: Optional[Tuple[int, LatestValue]] = None
        self._partial_version = 0
        self._partial_timer = QTimer(self)
        self._partial_timer.setInterval(PARTIAL_CHECK_MS)
        self._partial_timer.timeout.connect(self.take_partial)

    @property
    def running(self) -> bool:
        return self.task is not None

    def problems(self, form: Any, aoi: Any) -> Dict[str, str]:
        problems = self.forms.search_problems(form, aoi)
        if aoi is None:
            problems["geometry"] = "Draw a point or a strip first: windows are searched for an AOI."
        return problems

    def start(self, form: Any, aoi: Any, *, replacing: bool, exclusivity_days: int) -> bool:
        """Start a search for the form's AOI and times; False (and `refused`) when it cannot be sent."""
        problems = self.problems(form, aoi)
        if problems:
            self.refused.emit(problems)
            return False
        client = self.client("search imaging windows")
        if client is None:
            return False
        self.clear()
        self._poll(client, request=self.forms.search_request(form, aoi), running=True,
                   replacing=replacing, exclusivity_days=exclusivity_days)
        return True

    def reread(self, *, replacing: bool, exclusivity_days: int) -> None:
        """Read the search again (replacing windows shown or not, prices for the exclusivity).

        A search still running (or cancelled before it finished) is polled on to DONE, filling in as before.
        """
        if self.search is None:
            return
        client = self.client("read the imaging windows")
        if client is None:
            return
        # Replaces any task polling this search with the old options; its late answers are dropped by token.
        cancel_task(self.task)
        self._poll(client, search_id=self.search.id, running=not self.search.is_finished,
                   replacing=replacing, exclusivity_days=exclusivity_days)

    def _poll(self, client: Any, *, request: Optional[Dict[str, Any]] = None, search_id: Optional[str] = None,
              running: bool, replacing: bool, exclusivity_days: int) -> None:
        """Start the search (`request`) or read an existing one (`search_id`) until it is DONE or FAILED."""
        poll = self.poll_seconds
        max_poll = max(poll, self.max_poll_seconds)
        token = self._tokens.next()
        holder: LatestValue = LatestValue()
        self._partial = (token, holder)
        self._partial_version = 0

        def search(feedback: TaskFeedback) -> Any:
            sid = search_id
            if sid is None:
                started = client.start_imaging_window_search(**request)
                holder.put(started)
                feedback.set_progress(2)
                sid = started.id
            return client.wait_imaging_window_search(
                sid, poll=poll, max_poll=max_poll, progress=feedback.set_progress,
                is_canceled=feedback.is_canceled, show_replacing_imaging_windows=replacing,
                exclusivity_days=exclusivity_days, on_partial=holder.put)

        self.started.emit(running)
        self.task = run_in_background(
            names.task_description("imaging-window search" if request is not None else "imaging windows"),
            search,
            on_success=lambda result: self._done(token, result),
            on_error=lambda error: self._failed(token, error),
            on_cancel=lambda: self._cancelled(token),
        )
        self.task.progressChanged.connect(self._progress)
        self._partial_timer.start()

    def _progress(self, percent: float) -> None:
        self.progress.emit(percent)
        self.take_partial()

    def take_partial(self) -> None:
        """On the main thread: hand on the newest partial search the running task read, if not handed on yet."""
        if self._partial is None:
            return
        token, holder = self._partial
        if not self._tokens.is_current(token):
            return
        self._partial_version, state = holder.newer_than(self._partial_version)
        if state is None or state.is_finished:
            # A finished search is handed on by done / failed, with its final words.
            return
        self.search = state
        self.partial.emit(state)

    def _finished(self) -> None:
        self._partial_timer.stop()
        self._partial = None
        self.task = None

    def _done(self, token: int, result: Any) -> None:
        if not self._tokens.is_current(token):
            self.stale_answers_ignored += 1
            return
        self._finished()
        self.search = result
        self.done.emit(result)

    def _failed(self, token: int, error: BaseException) -> None:
        if not self._tokens.is_current(token):
            self.stale_answers_ignored += 1
            return
        self.take_partial()
        self._finished()
        self.failed.emit(error)

    def _cancelled(self, token: int) -> None:
        if not self._tokens.is_current(token):
            return
        # What was found before the cancel stays (and can be ordered).
        self.take_partial()
        self._finished()
        self.cancelled.emit()

    def cancel(self) -> None:
        """Stop waiting for the running search; what it found so far stays."""
        cancel_task(self.task)

    def clear(self) -> None:
        """Forget the search (its AOI or options are gone); a running one is cancelled and its answers dropped."""
        self._tokens.invalidate()
        self._partial = None
        self._partial_timer.stop()
        cancel_task(self.task)
        self.task = None
        self.search = None
        self.cleared.emit()

    def windows_layer(self) -> QgsVectorLayer:
        """The project's imaging-windows layer (found by its kind), made when there is none."""
        schemas = self.service.layers
        return layers.find_or_create_layer(QgsProject.instance(), schemas.IMAGING_WINDOWS, names.IMAGING_WINDOWS_LAYER)

    def write_windows(self, layer: QgsVectorLayer, windows: Sequence[Any], tasked_geometry: Any) -> None:
        """Put `windows` in `layer` in place by id (windows no longer listed leave it), drawn as the footprint
        the AOI tasks."""
        search_id = self.search.id if self.search is not None else None
        self.service.layers.upsert_imaging_windows(layer, list(windows), tasked_geometry, search_id,
                                                   remove_missing=True)

    def shutdown(self) -> None:
        self._partial_timer.stop()
        self._tokens.invalidate()
        cancel_task(self.task, detach=True)

