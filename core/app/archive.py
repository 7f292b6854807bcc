"""Ordering archive imagery: the order placed once, followed until finished, downloaded, its rasters put on the map."""

from __future__ import annotations

import errno
import os
from typing import Any, Callable, Dict, List, Optional, Tuple

from qgis.core import QgsProject
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from .. import names, rasters
from ..errors import ValidationError
from ..services import registry
from ..tasks import ApiTask, TaskFeedback, run_in_background
from .latest import LatestValue, request_key
from .orders_background import error_text
from .workflow import Workflow, cancel_task

ARCHIVE_SERVICE = "planet_orders"
NEWS_CHECK_MS = 100  # how often what the task is doing is passed on (stage text, progress)
LOAD_SLICE_SECONDS = 0.012  # rasters added per event-loop turn: what fits in 12 ms, as the orders mirror does
FINISHED_WITH_FILES = ("success", "partial")


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError(message, field_errors={field: [message]})


def download_error_text(error: BaseException, folder: str) -> str:
    """What a user reads of a failed archive order or download: a full disk or an unwritable folder in words,
    the folder checks' own message, else the service's or the client's (a checksum mismatch, an expired link)."""
    if isinstance(error, OSError):
        reason = (error.strerror or str(error)).rstrip(".")
        if error.errno == errno.ENOSPC:
            return (f"the disk holding {folder} is full ({reason}). Free some space or choose another folder, "
                    "then Download again: what arrived is kept.")
        return (f"the files cannot be written to {folder} ({reason}). Choose a folder you can write to, then "
                "Download again.")
    if isinstance(error, ValidationError) and error.field_errors:
        return " ".join(" ".join(messages) for messages in error.field_errors.values())
    return error_text(error)


def folder_problem(folder: Optional[str]) -> Optional[str]:
    """Why the files cannot be written to `folder` (None when they can); the folder is made when missing."""
    if not folder or not str(folder).strip():
        return "Choose a folder to download the imagery into."
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as error:
        return f"The folder {folder} cannot be made: {error.strerror or error}."
    if not os.path.isdir(folder):
        return f"{folder} is a file, not a folder."
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"The folder {folder} cannot be written to."
    return None


def delivered_elsewhere(order: Any) -> bool:
    """A finished order whose files the service put in a cloud bucket or a hosting collection: no links."""
    return order.state in FINISHED_WITH_FILES and not any(r.location for r in order.results)


def _state_words(order: Any) -> str:
    if order.is_finished:
        return f"Planet has finished the order ({order.state})."
    return f"Planet is preparing the order ({order.state})…"


class _News:
    """What a task is doing, its words and percent, put from its thread for the main thread to pass on
    (a task's run() emits no signal of its own)."""

    def __init__(self, latest: LatestValue, feedback: TaskFeedback, text: str):
        self.latest, self.feedback, self.text, self.percent = latest, feedback, text, 0.0

    def say(self, text: str) -> None:
        self.text = text
        self.latest.put((self.text, self.percent))

    def move(self, percent: float) -> None:
        self.percent = percent
        self.feedback.set_progress(percent)
        self.latest.put((self.text, self.percent))


class ArchiveWorkflow(Workflow):
    """Place an archive order (never twice), follow it until the service has finished it, download its files
    into a folder (resuming what an earlier try left) and add its rasters to the project.

    Each step is a task of its own; `run()` only talks to the service and reads files, and what it is doing
    is passed on through `stage` and `progress` by a timer on the main thread. Layers are added in the main
    thread, in "Archive imagery" / "<order name>" (core.rasters).
    """

    stage = pyqtSignal(str)  # what happens now, in words ("Downloading 3 of 7 files…")
    progress = pyqtSignal(float)  # 0-100 within the current stage
    placed = pyqtSignal(object)  # the ArchiveOrder just created
    finished = pyqtSignal(object)  # the ArchiveOrder as the service finished it (success, partial, failed, cancelled)
    delivered = pyqtSignal(object, object)  # ArchiveOrder, the client's DownloadReport
    loaded = pyqtSignal(object, list)  # ArchiveOrder, its QgsRasterLayers in the project
    failed = pyqtSignal(object)  # a typed exception (ValidationError with field errors, ApiError, ...)
    cancelled = pyqtSignal()  # the current step was cancelled (a download keeps its .part files)
    busyChanged = pyqtSignal(bool)  # noqa: N815 - Qt signal naming

    def __init__(self, client_factory: Optional[Callable[[], Any]] = None, parent: Optional[QObject] = None,
                 project: Optional[QgsProject] = None):
        super().__init__(client_factory, registry.service(ARCHIVE_SERVICE), parent)
        self.project = project
        # How the order is followed: the first look after `poll_seconds`, backing off to `max_poll_seconds`.
        self.poll_seconds = 5.0
        self.max_poll_seconds = 30.0
        self.order: Any = None  # the order being worked on, as last read
        self.report: Any = None  # the last download's report
        self.layers: List[Any] = []  # the rasters of the last order loaded
        self.folder: Optional[str] = None
        self.task: Optional[ApiTask] = None
        self._loader: Optional[rasters.OrderImageryLoader] = None  # adding the rasters, after the tasks
        # Orders this workflow placed, by request: asking again for the same order fetches it, never re-places.
        self._placed_by_request: Dict[str, str] = {}
        self._news: LatestValue = LatestValue()
        self._news_version = 0
        self._last_news: Tuple[Optional[str], Optional[float]] = (None, None)
        self._news_timer = QTimer(self)
        self._news_timer.setInterval(NEWS_CHECK_MS)
        self._news_timer.timeout.connect(self._pass_news_on)

    # -- the API ----------------------------------------------------------------------------------------

    def busy(self) -> bool:
        """Whether a step is running (start nothing else until it has ended)."""
        return self.task is not None or self._loader is not None

    def order_and_fetch(self, request: Any, folder: Optional[str]) -> None:
        """Place the order `request` describes (the service's OrderRequest, from its forms), follow it until
        finished, then, with a `folder` and files to download, download them there and load the rasters.
        Without a folder it stops once the order is finished. The same request asked for again after a
        failure or a cancel continues with the order already placed, so a retry never places it twice
        (once an order's run went all the way, the same request places a new order)."""
        self._refuse_when_busy()
        problem = self._request_problem(request) or (folder is not None and self._folder_error(folder))
        if problem:
            self.failed.emit(problem)
            return
        already = self._placed_by_request.get(request_key(request.to_json()))
        if already is not None:
            self._start_follow(already, folder)
            return
        client = self.client("place the archive order")
        if client is None:
            return
        self.folder = folder
        self.order = self.report = None
        self.layers = []
        key = request_key(request.to_json())

        def place(feedback: TaskFeedback) -> Any:
            feedback.raise_if_canceled()  # cancelled before the request went out: nothing ordered
            return client.create_order(request, is_canceled=feedback.is_canceled)

        def placed(order: Any) -> None:
            self._placed_by_request[key] = order.id
            self.order = order
            self.placed.emit(order)
            self._follow(order)

        def cancelled(task: Optional[ApiTask]) -> None:
            # A POST cannot be called back: an answer that arrived despite the cancel is an order placed.
            if task is not None and task.result is not None:
                self._placed_by_request[key] = task.result.id
                self.order = task.result
                self.placed.emit(task.result)
            self._cancelled()

        self._say("Placing the order…", 0.0)
        self._start("place archive order", place, placed, lambda: cancelled(self.task))

    def fetch(self, order_id: str, folder: str) -> None:
        """An order placed earlier: follow it if it is not finished, download its files into `folder`
        (resuming what a stopped download left there) and load its rasters."""
        self._refuse_when_busy()
        problem = (None if order_id and str(order_id).strip() else _refuse("order_id", "Give the order's id."))
        problem = problem or self._folder_error(folder)
        if problem:
            self.failed.emit(problem)
            return
        self._start_follow(str(order_id).strip(), folder)

    def cancel(self) -> None:
        """Stop the current step. The order goes on at the service; a stopped download keeps its .part
        files, which the next fetch resumes; rasters already added stay, and the next fetch adds the rest."""
        if self._loader is not None:
            self._cancelled()
            return
        cancel_task(self.task)

    def shutdown(self) -> None:
        """Stop without telling anyone (plugin unload)."""
        self._news_timer.stop()
        cancel_task(self.task, detach=True)
        self.task = None
        self._loader = None

    # -- the steps --------------------------------------------------------------------------------------

    def _start_follow(self, order_id: str, folder: Optional[str]) -> None:
        self.folder = folder
        self.report = None
        self.layers = []
        if self.order is None or self.order.id != order_id:
            self.order = None
        self._follow(order_id)

    def _follow(self, order: Any) -> None:
        client = self.client("follow the archive order")
        if client is None:
            self._end()
            return
        poll, max_poll = self.poll_seconds, self.max_poll_seconds

        def follow(feedback: TaskFeedback) -> Any:
            news = _News(self._news, feedback, "Planet is preparing the order…")
            return client.wait_for(order, is_canceled=feedback.is_canceled, on_progress=news.move,
                                   on_order=lambda current: news.say(_state_words(current)),
                                   poll=poll, max_poll=max_poll)

        self._say("Planet is preparing the order…", 0.0)
        self._start("follow archive order", follow, self._finished, self._cancelled)

    def _finished(self, order: Any) -> None:
        self.order = order
        self.finished.emit(order)
        if self.folder is None:
            self._say(f"The order is {order.state}.", 100.0)
            self._done_with(order)
            self._end()
        elif delivered_elsewhere(order):
            self._say("Planet delivered the order to its cloud destination; there is nothing to download.", 100.0)
            self._done_with(order)
            self._end()
        else:
            # A failed or cancelled order goes to the download too: the client says why it has no files.
            self._download(order)

    def _download(self, order: Any) -> None:
        client = self.client("download the archive order")
        if client is None:
            self._end()
            return
        folder = self.folder

        def download(feedback: TaskFeedback) -> Any:
            news = _News(self._news, feedback, "Downloading the files…")
            return client.download_results(
                order, folder, is_canceled=feedback.is_canceled, progress=news.move,
                on_file=lambda number, count, _name: news.say(f"Downloading {number} of {count} files…"))

        self._say("Downloading the files…", 0.0)
        self._start("download archive order", download, lambda report: self._delivered(order, report),
                    self._cancelled)

    def _delivered(self, order: Any, report: Any) -> None:
        self.report = report
        self.delivered.emit(order, report)

        def plan(feedback: TaskFeedback) -> rasters.OrderImagery:
            news = _News(self._news, feedback, "Adding the rasters to the map…")
            return rasters.plan_order_imagery(order.id, order.name, report.files, order.products,
                                              is_canceled=feedback.is_canceled, progress=news.move)

        self._say("Adding the rasters to the map…", 0.0)
        self._start("add archive rasters", plan, lambda imagery: self._load(order, imagery), self._cancelled)

    def _load(self, order: Any, imagery: rasters.OrderImagery) -> None:
        # A slice per event-loop turn: a large order's hundreds of rasters never stall the map.
        self._loader = rasters.OrderImageryLoader(self.project or QgsProject.instance(), imagery)
        self._load_step(order, self._loader)

    def _load_step(self, order: Any, loader: rasters.OrderImageryLoader) -> None:
        if loader is not self._loader:  # cancelled, shut down or started again meanwhile
            return
        try:
            finished = loader.step(LOAD_SLICE_SECONDS)
        except Exception as error:  # noqa: BLE001 - said through `failed`, never left in QGIS's event loop
            self._failed(error)
            return
        if not finished:
            self._say(None, 100.0 * loader.next / max(1, len(loader.plans)))
            QTimer.singleShot(0, lambda: self._load_step(order, loader))
            return
        self.layers = loader.layers()
        self._say(f"{len(self.layers)} rasters of the order are on the map.", 100.0)
        self._done_with(order)
        self._end()
        self.loaded.emit(order, list(self.layers))

    # -- plumbing -----------------------------------------------------------------------------------------

    def _done_with(self, order: Any) -> None:
        """The order's run went all the way: the same request asked for afterwards is a new order (a retry
        continues only an order whose run was cut short)."""
        self._placed_by_request = {key: placed for key, placed in self._placed_by_request.items()
                                   if placed != order.id}

    def _refuse_when_busy(self) -> None:
        if self.busy():
            raise RuntimeError("ArchiveWorkflow is busy: cancel the current step or wait for it to end.")

    @staticmethod
    def _request_problem(request: Any) -> Optional[ValidationError]:
        if request is None or not getattr(request, "products", None):
            return _refuse("products", "Choose what to order: captures, item ids or basemap quads.")
        return None

    @staticmethod
    def _folder_error(folder: Optional[str]) -> Optional[ValidationError]:
        problem = folder_problem(folder)
        return _refuse("folder", problem) if problem else None

    def _start(self, what: str, work: Callable[[TaskFeedback], Any], on_success: Callable[[Any], None],
               on_cancel: Callable[[], None]) -> None:
        was_busy = self.busy()
        self.task = run_in_background(names.task_description(what), work,
                                      on_success=lambda result: self._step_done(on_success, result),
                                      on_error=self._failed, on_cancel=lambda: self._step_cancelled(on_cancel))
        self._news_timer.start()
        if not was_busy:
            self.busyChanged.emit(True)

    def _step_done(self, then: Callable[[Any], None], result: Any) -> None:
        self._pass_news_on()
        then(result)

    def _step_cancelled(self, then: Callable[[], None]) -> None:
        self._pass_news_on()
        then()

    def _say(self, text: Optional[str], percent: Optional[float]) -> None:
        """Tell what happens now, from the main thread (and forget older news from the task)."""
        self._news_version, _ = self._news.newer_than(self._news_version)
        self._emit_news(text, percent)

    def _pass_news_on(self) -> None:
        version, news = self._news.newer_than(self._news_version)
        if news is not None:
            self._news_version = version
            self._emit_news(*news)

    def _emit_news(self, text: Optional[str], percent: Optional[float]) -> None:
        last_text, last_percent = self._last_news
        if text is not None and text != last_text:
            self.stage.emit(text)
            last_text = text
        if percent is not None and percent != last_percent:
            self.progress.emit(float(percent))
            last_percent = percent
        self._last_news = (last_text, last_percent)

    def _end(self) -> None:
        self._news_timer.stop()
        was_busy = self.busy()
        self.task = None
        self._loader = None
        if was_busy:
            self.busyChanged.emit(False)

    def _failed(self, error: BaseException) -> None:
        self._end()
        self.failed.emit(error)

    def _cancelled(self) -> None:
        self._end()
        self.cancelled.emit()
