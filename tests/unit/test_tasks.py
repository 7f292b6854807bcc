"""ApiTask, LayerUpsertTask and cancel_all_tasks run through QGIS's real task manager."""

from __future__ import annotations

import threading
import time

import pytest
from qgis.core import QgsApplication, QgsProject, QgsTask
from qgis.PyQt.QtCore import QCoreApplication, QThread

from core import log, tasks
from core.errors import Cancelled, NotFoundError
from core.services.planet_tasking.layers import create_captures_layer, prepare_captures
from core.services.planet_tasking.models import Capture
from core.tasks import ApiTask, LayerUpsertTask, active_tasks, cancel_all_tasks, run_in_background, submit_task


def wait_until(predicate, timeout: float = 10.0) -> None:
    """Process Qt events until predicate() holds: finished() arrives through the event loop."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for the task")
        QgsApplication.processEvents()
        time.sleep(0.005)


def on_main_thread() -> bool:
    return QThread.currentThread() == QCoreApplication.instance().thread()


class Outcome:
    """Records which callback ran, with what, and on which thread."""

    def __init__(self):
        self.events = []

    def success(self, result):
        self.events.append(("success", result, on_main_thread()))

    def error(self, exc):
        self.events.append(("error", exc, on_main_thread()))

    def cancel(self):
        self.events.append(("cancel", None, on_main_thread()))


@pytest.fixture(autouse=True)
def no_leftover_tasks(qgis_app):
    yield
    cancel_all_tasks()
    wait_until(lambda: not active_tasks())


def test_result_delivered_in_finished_on_the_main_thread():
    outcome = Outcome()
    worker_threads = []

    def work(feedback):
        worker_threads.append(on_main_thread())
        return {"orders": 3}

    task = run_in_background("List orders", work, outcome.success, outcome.error)
    assert task in active_tasks()
    wait_until(lambda: outcome.events)
    assert outcome.events == [("success", {"orders": 3}, True)]
    assert worker_threads == [False]
    assert task not in active_tasks()


def test_exception_delivered_to_on_error():
    outcome = Outcome()

    def work(feedback):
        raise NotFoundError("Order 42 does not exist.")

    run_in_background("Get order", work, outcome.success, outcome.error)
    wait_until(lambda: outcome.events)
    kind, exc, main = outcome.events[0]
    assert (kind, main) == ("error", True)
    assert isinstance(exc, NotFoundError) and "Order 42" in str(exc)


def test_error_without_handler_is_logged_not_raised(qgis_app):
    messages = []
    message_log = QgsApplication.messageLog()
    message_log.messageReceived.connect(lambda message, tag, level: messages.append((tag, message)))
    log.setup_logging()  # what the plugin's initGui does
    try:
        task = run_in_background("Doomed", lambda feedback: 1 / 0)
        wait_until(lambda: task.delivered)
    finally:
        log.teardown_logging()
    assert any(tag == log.MESSAGE_LOG_TAB and "ZeroDivisionError" in message for tag, message in messages)


def test_a_failed_tasks_log_line_never_shows_the_api_key(qgis_app):
    messages = []
    message_log = QgsApplication.messageLog()
    message_log.messageReceived.connect(lambda message, tag, level: messages.append(message))
    log.setup_logging()
    log.register_secret("PLAK-0123456789abcdef")
    try:
        task = run_in_background("Leaky", lambda feedback: (_ for _ in ()).throw(
            RuntimeError("refused for key PLAK-0123456789abcdef")))
        wait_until(lambda: task.delivered)
    finally:
        log.teardown_logging()
    failure = [m for m in messages if "Leaky failed" in m]
    assert failure and "refused for key" in failure[0]
    assert not any("PLAK-0123456789abcdef" in m for m in messages)


def test_callback_exception_is_contained():
    def broken(result):
        raise ValueError("handler bug")

    task = run_in_background("Fine", lambda feedback: 1, broken)
    wait_until(lambda: task.delivered)
    assert isinstance(task.callback_error, ValueError)


def test_cancel_honoured_by_fn_checking_is_canceled():
    outcome = Outcome()
    started = threading.Event()
    loops = []

    def work(feedback):
        started.set()
        while not feedback.is_canceled():
            loops.append(1)
            time.sleep(0.01)
        return "stopped early"

    task = run_in_background("Poll search", work, outcome.success, outcome.error, outcome.cancel)
    assert started.wait(5)
    task.cancel()
    wait_until(lambda: outcome.events)
    assert outcome.events == [("cancel", None, True)]


def test_cancel_without_on_cancel_gives_cancelled_error():
    outcome = Outcome()
    started = threading.Event()

    def work(feedback):
        started.set()
        while True:
            feedback.raise_if_canceled()
            time.sleep(0.01)

    task = run_in_background("Poll bulk", work, outcome.success, outcome.error)
    assert started.wait(5)
    task.cancel()
    wait_until(lambda: outcome.events)
    kind, exc, main = outcome.events[0]
    assert (kind, main) == ("error", True) and isinstance(exc, Cancelled)


def test_progress_reported():
    seen = []
    release = threading.Event()

    def work(feedback):
        for percent in (10, 50, 100):
            feedback.set_progress(percent)
        release.wait(5)
        return None

    task = ApiTask("Page through captures", work)
    task.progressChanged.connect(seen.append)
    submit_task(task)
    wait_until(lambda: 100.0 in seen)
    release.set()
    wait_until(lambda: task.delivered)
    assert [p for p in seen if p in (10.0, 50.0, 100.0)] == [10.0, 50.0, 100.0]


def test_cancel_all_tasks_at_unload_cancels_and_detaches():
    outcome = Outcome()
    started = threading.Barrier(3, timeout=5)

    def work(feedback):
        started.wait()
        while not feedback.is_canceled():
            time.sleep(0.01)
        return "late"

    running = [run_in_background(f"Long {n}", work, outcome.success, outcome.error, outcome.cancel) for n in range(2)]
    started.wait()
    assert set(running) <= set(active_tasks())
    assert cancel_all_tasks() == 2
    wait_until(lambda: not active_tasks())
    assert all(task.status() == QgsTask.TaskStatus.Terminated for task in running if not tasks.sip.isdeleted(task))
    # The widgets behind the callbacks are gone at unload: nothing may be called.
    assert outcome.events == []


def test_queued_task_cancelled_before_it_starts_still_finishes():
    outcome = Outcome()
    task = ApiTask("Never runs", lambda feedback: "ran", outcome.success, outcome.error, outcome.cancel)
    # Held tasks stay queued, so cancel reaches it before run().
    task.hold()
    submit_task(task)
    task.cancel()
    wait_until(lambda: outcome.events)
    assert outcome.events == [("cancel", None, True)]


def strand(task: ApiTask) -> ApiTask:
    """Leave `task` as QGIS's task manager leaves one whose pool job it lost (qgis/QGIS#53806): submitted by
    the plugin, queued, and never started. (The real loss needs a freed address to be reused at the right
    moment; this state is what the user is then left with.)"""
    tasks._ACTIVE_TASKS[id(task)] = task
    tasks._watch_for_stranded_tasks()
    return task


def test_a_task_stranded_in_qgis_queue_runs_once_as_a_new_task():
    outcome = Outcome()
    runs = []

    def work(feedback):
        runs.append(on_main_thread())
        return "counted"

    stranded = strand(ApiTask("Counting today's cancellations", work, outcome.success, outcome.error, outcome.cancel))
    wait_until(lambda: outcome.events, timeout=10)
    assert outcome.events == [("success", "counted", True)]
    assert runs == [False]  # once, in a worker
    assert stranded.status() == QgsTask.TaskStatus.Terminated and stranded not in active_tasks()
    tasks.rescue_stranded_tasks()
    QgsApplication.processEvents()
    assert runs == [False] and len(outcome.events) == 1


def test_cancelling_a_stranded_task_cancels_the_task_that_took_over():
    outcome = Outcome()
    started = threading.Event()

    def work(feedback):
        started.set()
        while not feedback.is_canceled():
            time.sleep(0.01)
        raise Cancelled("stopped")

    stranded = strand(ApiTask("Loading orders", work, outcome.success, outcome.error, outcome.cancel))
    wait_until(started.is_set, timeout=10)
    stranded.cancel()  # what the panel holds is the stranded task
    wait_until(lambda: outcome.events)
    assert outcome.events == [("cancel", None, True)]


def test_tasks_waiting_for_a_busy_pool_are_not_copied():
    outcome = Outcome()
    release = threading.Event()
    runs = []
    pool = tasks._task_pool()

    def blocking(feedback):
        release.wait(20)
        return "blocked"

    def counted(n):
        def work(feedback):
            runs.append(n)
            return n
        return work

    blockers = [run_in_background(f"Blocker {n}", blocking, outcome.success) for n in range(pool.maxThreadCount())]
    waiting = [run_in_background(f"Waiting {n}", counted(n), outcome.success) for n in range(3)]
    wait_until(lambda: all(task.status() == QgsTask.TaskStatus.Running for task in blockers))
    deadline = time.monotonic() + 2.5 * tasks.STRANDED_CHECK_MS / 1000
    while time.monotonic() < deadline:  # long enough for two looks of the rescue
        QgsApplication.processEvents()
        time.sleep(0.01)
    assert all(task.status() == QgsTask.TaskStatus.Queued and task.successor is None for task in waiting)
    release.set()
    wait_until(lambda: len(outcome.events) == len(blockers) + 3)
    assert sorted(runs) == [0, 1, 2]


def capture(capture_id: str, status: str = "QUEUED") -> Capture:
    ring = [[10.0, 50.0], [10.1, 50.0], [10.1, 50.1], [10.0, 50.0]]
    return Capture.from_json({
        "id": capture_id, "order_id": "o1", "status": status, "acquired_time": "2024-05-01T10:00:00Z",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
    })


def test_layer_upsert_task_prepares_in_run_and_writes_in_finished(qgis_new_project):
    layer = create_captures_layer("Captures", [capture("c1")], {"o1": 7})
    QgsProject.instance().addMapLayer(layer)
    prepare_threads = []
    results = []

    def prepare(feedback):
        prepare_threads.append(on_main_thread())
        return prepare_captures([capture("c1", "PUBLISHED"), capture("c2")], {"o1": 7}, build_geometries=True)

    task = submit_task(LayerUpsertTask("Refresh captures", layer, prepare, on_success=results.append))
    wait_until(lambda: task.delivered)
    assert prepare_threads == [False]
    assert (results[0].added, results[0].updated) == (1, 1)
    assert layer.featureCount() == 2
    assert sorted(f["status"] for f in layer.getFeatures()) == ["PUBLISHED", "QUEUED"]


def test_layer_upsert_task_is_cancelled_when_its_layer_is_removed(qgis_new_project):
    layer = create_captures_layer("Captures")
    QgsProject.instance().addMapLayer(layer)
    release = threading.Event()
    outcome = Outcome()

    def prepare(feedback):
        release.wait(5)
        return prepare_captures([capture("c1")])

    task = submit_task(LayerUpsertTask("Refresh captures", layer, prepare, outcome.success, outcome.error,
                                       outcome.cancel))
    QgsProject.instance().removeMapLayer(layer.id())
    release.set()
    wait_until(lambda: task.delivered)
    assert outcome.events == [("cancel", None, True)]


def test_layer_upsert_task_reports_a_layer_in_edit_mode(qgis_new_project):
    layer = create_captures_layer("Captures")
    QgsProject.instance().addMapLayer(layer)
    layer.startEditing()
    outcome = Outcome()
    task = submit_task(LayerUpsertTask("Refresh captures", layer, lambda feedback: prepare_captures([capture("c1")]),
                                       outcome.success, outcome.error))
    wait_until(lambda: task.delivered)
    layer.rollBack()
    kind, exc, _ = outcome.events[0]
    assert kind == "error" and "being edited" in str(exc)
