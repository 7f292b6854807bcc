"""QgsTask wrappers for long calls: work in run(), results and errors delivered on the main thread."""

from __future__ import annotations

import traceback
from typing import Any, Callable, Dict, List, Optional

from qgis.core import QgsApplication, QgsTask, QgsVectorLayer
from qgis.PyQt.QtCore import QThreadPool, QTimer

from .errors import Cancelled
from .layers import DEFAULT_BATCH_SIZE, PreparedFeatures, UpsertResult, apply_prepared
from .log import get_logger

try:
    from qgis.PyQt import sip
except ImportError:  # pragma: no cover - older PyQt layouts
    import sip  # type: ignore[no-redef]

# Through the plugin logger, so failures are redacted (an API key in an error text never reaches the log).
_log = get_logger("tasks")

SuccessCallback = Callable[[Any], None]
ErrorCallback = Callable[[BaseException], None]
CancelCallback = Callable[[], None]


class TaskFeedback:
    """What a task's callable sees of its task: whether it was cancelled, and a way to report progress.

    Safe to use from the worker thread: it only reads the cancel flag and sets the progress, which
    QgsTask forwards to the main thread itself.
    """

    def __init__(self, task: QgsTask):
        self._task = task

    def is_canceled(self) -> bool:
        return self._task.isCanceled()

    def set_progress(self, percent: float) -> None:
        self._task.setProgress(max(0.0, min(100.0, float(percent))))

    def raise_if_canceled(self) -> None:
        """Raise core.errors.Cancelled if the user cancelled: a one-line check for loops."""
        if self._task.isCanceled():
            raise Cancelled("Cancelled.")

    # The QgsFeedback spelling, so code written against QgsFeedback accepts this object too.
    def isCanceled(self) -> bool:
        return self.is_canceled()

    def setProgress(self, percent: float) -> None:
        self.set_progress(percent)


# Tasks handed to the task manager, kept here until finished() ran: the Python side of a running
# QgsTask must outlive the call that started it, or its run()/finished() overrides vanish mid-flight.
_ACTIVE_TASKS: Dict[int, "ApiTask"] = {}


class ApiTask(QgsTask):
    """Runs `fn(feedback)` in a worker thread; delivers its outcome on the main thread in finished().

    run() only calls `fn` and stores what it returned or raised: it touches no layer, widget or signal.
    finished() then calls exactly one of:
      - on_success(result) when fn returned and the task was not cancelled;
      - on_cancel() when the task was cancelled (whatever fn did after that, including raising
        core.errors.Cancelled) — or, without an on_cancel, on_error(Cancelled(...)), so a caller with
        only on_error still learns the call did not complete;
      - on_error(exception) when fn raised (any exception; the clients raise core.errors types).
    Without an on_error, errors go to the QGIS message log instead of vanishing. An exception raised by
    a callback is logged too (and kept in `callback_error`), never let loose in QGIS's event loop.
    """

    def __init__(
        self,
        description: str,
        fn: Callable[[TaskFeedback], Any],
        on_success: Optional[SuccessCallback] = None,
        on_error: Optional[ErrorCallback] = None,
        on_cancel: Optional[CancelCallback] = None,
        can_cancel: bool = True,
    ):
        super().__init__(description, QgsTask.Flag.CanCancel if can_cancel else QgsTask.Flags())
        self._fn = fn
        self._can_cancel = can_cancel
        self.successor: Optional["ApiTask"] = None  # the task that took over from this stranded one
        self.on_success = on_success
        self.on_error = on_error
        self.on_cancel = on_cancel
        self.result: Any = None
        self.exception: Optional[BaseException] = None
        self.error_traceback: str = ""
        self.callback_error: Optional[BaseException] = None
        self.delivered = False

    def run(self) -> bool:
        if self.isCanceled():  # cancelled before it started (e.g. a stranded task a copy took over from)
            return False
        try:
            self.result = self._fn(TaskFeedback(self))
        except BaseException as exc:  # anything escaping run() would abort QGIS
            self.exception = exc
            self.error_traceback = traceback.format_exc()
            return False
        return not self.isCanceled()

    def finished(self, ok: bool) -> None:
        try:
            if self.isCanceled():
                self._deliver_cancel()
            elif ok:
                self.deliver_success(self.result)
            else:
                # No exception and not ok happens only if the manager terminated the task unstarted.
                self._deliver_error(self.exception or RuntimeError(f"{self.description()} did not finish."))
        except BaseException as exc:  # see the class docstring
            self.callback_error = exc
            _log.error("%s: a result handler failed:\n%s", self.description(), traceback.format_exc())
        finally:
            self.delivered = True
            _ACTIVE_TASKS.pop(id(self), None)

    def deliver_success(self, result: Any) -> None:
        """Hand the result to on_success; subclasses override to post-process on the main thread first."""
        if self.on_success is not None:
            self.on_success(result)

    def _deliver_cancel(self) -> None:
        if self.on_cancel is not None:
            self.on_cancel()
        elif self.on_error is not None:
            self.on_error(self.exception if isinstance(self.exception, Cancelled) else Cancelled("Cancelled."))

    def _deliver_error(self, exc: BaseException) -> None:
        if self.on_error is not None:
            self.on_error(exc)
        else:
            _log.warning("%s failed: %s\n%s", self.description(), exc, self.error_traceback)

    def detach_callbacks(self) -> None:
        """Forget the callbacks, e.g. at plugin unload, when the widgets they would update are gone."""
        self.on_success = self.on_error = self.on_cancel = None
        if self.successor is not None and not sip.isdeleted(self.successor):
            self.successor.detach_callbacks()

    def cancel(self) -> None:  # noqa: D401 - QgsTask override
        """Cancel this task, or the task that took over from it (see `rescue_stranded_tasks`)."""
        if self.successor is not None and not sip.isdeleted(self.successor):
            self.successor.cancel()
        if not sip.isdeleted(self):  # QGIS deletes a finished (or stranded and cancelled) task soon after
            super().cancel()

    def clone(self) -> "ApiTask":
        """A new task doing the same work with the same callbacks (it takes over from a stranded one)."""
        return ApiTask(self.description(), self._fn, self.on_success, self.on_error, self.on_cancel, self._can_cancel)


class LayerUpsertTask(ApiTask):
    """Converts results to plain features in run(), then writes them into a layer in finished().

    `prepare(feedback)` runs in the worker thread and returns PreparedFeatures (e.g. it lists captures
    through the client, then calls core.layers.prepare_captures(..., build_geometries=True)); only
    plain data is made there. finished() writes them into `layer` with core.layers.apply_prepared, in
    batches of `batch_size`, and on_success receives the UpsertResult. The layer is the task's dependent
    layer, so removing it from the project cancels the task (on_cancel); a layer in edit mode, or one
    deleted some other way, gives on_error.
    """

    def __init__(
        self,
        description: str,
        layer: QgsVectorLayer,
        prepare: Callable[[TaskFeedback], PreparedFeatures],
        on_success: Optional[Callable[[UpsertResult], None]] = None,
        on_error: Optional[ErrorCallback] = None,
        on_cancel: Optional[CancelCallback] = None,
        *,
        remove_missing: bool = False,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ):
        super().__init__(description, prepare, on_success, on_error, on_cancel)
        self._prepare = prepare
        self.layer = layer
        self.setDependentLayers([layer])
        self.remove_missing = remove_missing
        self.batch_size = batch_size
        self.upsert_result: Optional[UpsertResult] = None

    def deliver_success(self, result: Any) -> None:
        if sip.isdeleted(self.layer):
            self._deliver_error(RuntimeError("The layer was removed before the results arrived."))
            return
        try:
            self.upsert_result = apply_prepared(self.layer, result, self.remove_missing, self.batch_size)
        except Exception as exc:  # reported through on_error like any failure
            self._deliver_error(exc)
            return
        super().deliver_success(self.upsert_result)

    def clone(self) -> "LayerUpsertTask":
        return LayerUpsertTask(self.description(), self.layer, self._prepare, self.on_success, self.on_error,
                               self.on_cancel, remove_missing=self.remove_missing, batch_size=self.batch_size)


def submit_task(task: ApiTask) -> ApiTask:
    """Hand `task` to QGIS's task manager, keeping it alive until its finished() ran."""
    _ACTIVE_TASKS[id(task)] = task
    if not QgsApplication.taskManager().addTask(task):
        _ACTIVE_TASKS.pop(id(task), None)
        raise RuntimeError(f"QGIS refused to start the task '{task.description()}'.")
    _watch_for_stranded_tasks()
    return task


# -- stranded tasks ---------------------------------------------------------------------------------------
# QGIS's task manager can lose the thread-pool job of a queued task (qgis/QGIS#53806, fixed by
# qgis/QGIS#67040 in 2026, so in every release this plugin supports): it keeps the address of a finished
# task's job after the pool freed it, and when a new task's job is allocated at that address while it waits
# in the pool's queue, cleaning up the finished task takes the new job out of the queue and deletes it. The
# new task then says "Queued" for ever: seen here as an Orders tab busy for a minute with nothing running
# (a count of today's cancellations, queued, the pool idle). Such a task is noticed (still queued on two
# looks a second apart while the pool has a free thread, which a healthy queued task never is) and a copy
# of it, with the same work and callbacks, takes over; the stranded one is cancelled with its callbacks
# detached, and cancelling it later cancels the copy. Nothing has run yet, so nothing is done twice.
STRANDED_CHECK_MS = 1000
_stranded_timer: Optional[QTimer] = None
_suspects: set = set()  # ids of the tasks seen queued with room in the pool at the last look


def _task_pool() -> QThreadPool:
    # QGIS 3.34 and later run tasks in a pool of their own; earlier releases in Qt's global pool.
    own_pool = getattr(QgsApplication.taskManager(), "threadPool", None)
    return own_pool() if own_pool is not None else QThreadPool.globalInstance()


def _pool_has_room() -> bool:
    pool = _task_pool()
    return pool.activeThreadCount() < pool.maxThreadCount()


def _watch_for_stranded_tasks() -> None:
    global _stranded_timer
    if _stranded_timer is None:
        _stranded_timer = QTimer()
        _stranded_timer.setInterval(STRANDED_CHECK_MS)
        _stranded_timer.timeout.connect(rescue_stranded_tasks)
    if not _stranded_timer.isActive():
        _stranded_timer.start()


def stop_watching_for_stranded_tasks() -> None:
    """Stop the look for stranded tasks (plugin unload: no timer of the plugin outlives it)."""
    global _stranded_timer
    if _stranded_timer is not None:
        _stranded_timer.stop()
        _stranded_timer.deleteLater()
        _stranded_timer = None
    _suspects.clear()


def rescue_stranded_tasks() -> List[ApiTask]:
    """Hand every stranded task's work to a new task (see above); returns the new tasks."""
    tasks = active_tasks()
    if not tasks:
        if _stranded_timer is not None:
            _stranded_timer.stop()
        _suspects.clear()
        return []
    queued = {id(task): task for task in tasks
              if task.successor is None and task.status() == QgsTask.TaskStatus.Queued and not task.isCanceled()}
    if not queued or not _pool_has_room():
        _suspects.clear()
        return []
    rescued = []
    for key, task in queued.items():
        if key not in _suspects:
            continue  # first look: it may be just about to start
        successor = task.clone()
        callbacks = task.on_success, task.on_error, task.on_cancel
        task.on_success = task.on_error = task.on_cancel = None
        QgsTask.cancel(task)  # this task only; a queued task is terminated at once and never runs its work
        if task.status() != QgsTask.TaskStatus.Terminated:
            # It started after all, in the moment between the look and the cancel: it learns of the cancel.
            task.on_success, task.on_error, task.on_cancel = callbacks
            continue
        _log.warning("%s was stranded in QGIS's task queue; it runs as a new task.", task.description())
        task.successor = successor
        _ACTIVE_TASKS.pop(key, None)  # a task the manager lost may never see finished()
        submit_task(successor)
        rescued.append(successor)
    _suspects.clear()
    _suspects.update(key for key in queued if key not in {id(t) for t in rescued})
    return rescued


def run_in_background(
    description: str,
    fn: Callable[[TaskFeedback], Any],
    on_success: Optional[SuccessCallback] = None,
    on_error: Optional[ErrorCallback] = None,
    on_cancel: Optional[CancelCallback] = None,
) -> ApiTask:
    """Start `fn(feedback)` as an ApiTask in QGIS's task manager (it shows in the status bar)."""
    return submit_task(ApiTask(description, fn, on_success, on_error, on_cancel))


def active_tasks() -> List[ApiTask]:
    """Tasks started through this module whose finished() has not run yet."""
    return [task for task in _ACTIVE_TASKS.values() if not sip.isdeleted(task)]


def cancel_all_tasks(detach_callbacks: bool = True) -> int:
    """Cancel every task this module started (plugin unload); returns how many were cancelled.

    With `detach_callbacks`, their callbacks are dropped first, so a task finishing after the plugin's
    widgets are gone calls nothing. The tasks stay registered until QGIS calls their finished().
    """
    cancelled = 0
    for key, task in list(_ACTIVE_TASKS.items()):
        if sip.isdeleted(task):
            _ACTIVE_TASKS.pop(key, None)
            continue
        if detach_callbacks:
            task.detach_callbacks()
        task.cancel()
        cancelled += 1
    stop_watching_for_stranded_tasks()  # a cancelled task is not rescued; the next submit_task looks again
    return cancelled
