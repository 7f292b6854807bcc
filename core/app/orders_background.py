"""Background work of the Orders workflows: one group of QgsTasks per tab, and a quiet cycle collector during loads."""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterator, List, Optional

from .. import names
from ..errors import ApiError, Cancelled, ValidationError
from ..tasks import ApiTask, run_in_background


def error_text(error: BaseException) -> str:
    """What the Orders tab says of a failure: the service's field errors or message, else the exception's."""
    if isinstance(error, ValidationError) and error.field_errors:
        return "; ".join(f"{name}: {' '.join(messages)}" if name != "non_field_errors" else " ".join(messages)
                         for name, messages in error.field_errors.items())
    if isinstance(error, ApiError):
        return error.server_detail or error.message
    return str(error) or type(error).__name__


class TaskGroup:
    """The QgsTasks one tab started: each named "Satellite Tasking: <what>", forgotten when it ends, all
    cancelled at shutdown; once closed, no callback of a task reaches its caller any more.

    `report(description, error)` is told of a failure whose caller gave no on_error.
    """

    def __init__(self, report: Callable[[str, BaseException], None]):
        self.report = report
        self.running: List[ApiTask] = []
        self.closed = False

    def run(self, description: str, fn: Callable, on_success: Callable, on_error: Optional[Callable] = None,
            on_cancel: Optional[Callable] = None) -> ApiTask:
        def forget(task_holder: List[ApiTask]) -> None:
            if task_holder and task_holder[0] in self.running:
                self.running.remove(task_holder[0])
            # The task holds these callbacks and they held the task: a reference cycle that kept each
            # finished task, and the result it holds (10,000 orders after a refresh), alive until a full
            # collection of the cycle collector, which then freed them all at once with the GIL held
            # (62,000 objects, 86 ms measured, from a worker thread: the GUI stalled). Without the cycle
            # they are freed as soon as QGIS lets go of the task.
            task_holder.clear()

        holder: List[ApiTask] = []

        def success(result: Any) -> None:
            forget(holder)
            if not self.closed:
                on_success(result)

        def failure(error: BaseException) -> None:
            forget(holder)
            if self.closed:
                return
            if on_error is not None:
                on_error(error)
            else:
                self.report(description, error)

        def cancelled() -> None:
            # Cancelled from QGIS's task list: without an on_cancel the error path runs, since that is
            # where each caller clears its "running" flag (refreshing, loading) and schedules the next
            # refresh; a cancel that only forgot the task left the tab stuck as busy.
            if on_cancel is None:
                failure(Cancelled(f"{description} was cancelled."))
                return
            forget(holder)
            if not self.closed:
                on_cancel()

        task = run_in_background(names.task_description(description), fn, success, failure, cancelled)
        holder.append(task)
        self.running.append(task)
        return task

    def busy(self) -> bool:
        return bool(self.running)

    def shutdown(self) -> None:
        """Close the group and cancel what still runs (its callbacks are detached first)."""
        self.closed = True
        for task in list(self.running):
            # Even a deleted task: one that was stranded in QGIS's queue passes both on to its successor.
            task.detach_callbacks()
            task.cancel()
        self.running.clear()


# -- the cycle collector during background loads ---------------------------------------------------------
# Measured (bench/bench_orders_view.py, gc.callbacks): the GUI stalls over 50 ms are full (generation 2)
# collections, 30-40 ms each with the GIL held, run by whichever thread allocates when one is due, plus
# the main thread's own work around them. A full collection walks every tracked object of the process:
# ~92,000 with 10,000 orders loaded, ~70,000 of them QGIS's, PyQt's and the plugins' (modules, classes,
# functions). They are due this often because each young collection during a load promotes the page
# being parsed (JSON dicts and lists of ~100 orders) to the old generation, where it counts towards the
# next full collection although it dies a moment later: 1-4 full collections per load of 10,000 orders.
# Without any collector setting the bench's longest GUI gap was 38-54 ms (load), 55-68 ms (refresh) and
# 49-82 ms (map rebuild).
#
# So while a load runs, what existed when it started is frozen (gc.freeze) and unfrozen (gc.unfreeze)
# as soon as the last running load ends, on every path (finished, failed, cancelled, unloaded: the
# context manager's finally). Full collections during a load then walk only what the load made. This is
# process-wide state, acceptable because it is temporary and changes no object's fate: a frozen object
# is still freed by reference counting; only a reference cycle that becomes garbage while frozen waits
# until the load ends, when the next full collection frees it. Nested loads (several threads) share one
# freeze: the first to start freezes, the last to end unfreezes; if something else froze objects first,
# this leaves the collector alone rather than undo that freeze later. The thresholds stay QGIS's, and nothing
# stays frozen between loads (a permanent gc.freeze() would keep every plugin's cycles made before it
# from ever being collected). Measured, 5 runs each: longest GUI gap 21-23 ms (load), 20-35 ms (refresh),
# 21-22 ms (map rebuild); the permanent freeze plus a young threshold of 5,000 it replaces gave 23-27,
# 23-44 and 23-25 ms.
_quiet_lock = threading.Lock()
_quiet_users = 0
_froze = False  # whether this module froze (someone else's freeze is left alone: unfreezing would undo it)


@contextmanager
def quiet_collector() -> Iterator[None]:
    """Keep the objects that existed before a background load out of full collections while it runs."""
    global _quiet_users, _froze
    with _quiet_lock:
        if _quiet_users == 0 and gc.get_freeze_count() == 0:
            gc.freeze()
            _froze = True
        _quiet_users += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_users -= 1
            if _quiet_users == 0 and _froze:
                gc.unfreeze()
                _froze = False
