"""Background work of the Orders workflows: one group of QgsTasks per tab, and how their failures read."""

from __future__ import annotations

from typing import Any, Callable, List, Optional

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
