"""The live quote: asked once changes settle (debounced), and only the latest question's answer is shown."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Callable, Optional, Tuple

from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from .. import names
from ..errors import NetworkError, RateLimitedError, ServerError
from ..http import utc_now
from ..services.base import ServiceDescriptor
from ..tasks import ApiTask, run_in_background
from .latest import LatestOnly, LatestValue, request_key
from .workflow import Workflow, cancel_task

# How long the form must stand still before it is priced: typing a name or spinning an angle asks once.
QUOTE_DELAY_MS = 600
# After a quote failed for a passing reason (no connection, a busy or failing service), it is asked
# again by itself after these many seconds (the last repeats), until it succeeds or the form changes.
RETRY_SECONDS = (5.0, 10.0, 20.0, 40.0, 60.0)
# How often a running preview's waits (the client's retries inside the task) are looked at.
WAIT_CHECK_MS = 150


def passes(error: BaseException) -> bool:
    """Whether asking again later may succeed: the network or the service failed, not the question."""
    return isinstance(error, (NetworkError, ServerError, RateLimitedError))


class QuoteWorkflow(Workflow):
    """Prices the form as it stands, in a task; answers to older questions are dropped (and counted).

    `current()` returns (form, aoi) as the user has them now: the quote is asked for what they see when
    the delay runs out, not for what they had when they started typing.
    """

    unavailable = pyqtSignal(dict)  # the form cannot be priced as it stands: its problems by field
    unchanged = pyqtSignal()  # the quote held already answers the form; nothing was asked
    noClient = pyqtSignal()  # noqa: N815 - not configured (clientUnavailable said why)
    asking = pyqtSignal()  # a price preview was sent
    quoted = pyqtSignal(object)  # the service's pricing for the latest question
    failed = pyqtSignal(object)  # the latest question was refused or failed (the exception)
    cancelled = pyqtSignal()  # the latest price preview was cancelled (e.g. from QGIS's task manager)
    waiting = pyqtSignal(float)  # the running preview did not get an answer and tries again in N s
    retrying = pyqtSignal(float, object)  # the latest preview failed (the error); asked again in N s

    def __init__(self, current: Callable[[], Tuple[Any, Any]], client_factory: Optional[Callable[[], Any]] = None,
                 service: Optional[ServiceDescriptor] = None, parent: Optional[QObject] = None,
                 delay_ms: int = QUOTE_DELAY_MS):
        super().__init__(client_factory, service, parent)
        self.current = current
        self.quote: Optional[Any] = None
        self.quote_key: Optional[str] = None
        self.quoted_at: Optional[datetime] = None  # when the held quote's question was made
        self.quote_error: Optional[BaseException] = None
        self.task: Optional[ApiTask] = None
        self._tokens = LatestOnly()
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(delay_ms)
        self.timer.timeout.connect(self.request)
        # Asking again by itself after a passing failure; any change of the form asks at once instead.
        self.retry_seconds = RETRY_SECONDS
        self.retry_timer = QTimer(self)
        self.retry_timer.setSingleShot(True)
        self.retry_timer.timeout.connect(self.request)
        self._retries = 0
        # The client's waits inside the task (told on the worker thread), shown by the main thread.
        self._waits: LatestValue = LatestValue()
        self._wait_version = 0
        self._wait_timer = QTimer(self)
        self._wait_timer.setInterval(WAIT_CHECK_MS)
        self._wait_timer.timeout.connect(self._show_wait)

    def schedule(self) -> None:
        """The form changed: ask again once it has stood still for the delay (a newer change restarts it)."""
        self.retry_timer.stop()
        self._retries = 0
        self.timer.start()

    def pricing_body(self, form: Any, aoi: Any, now: Optional[datetime] = None) -> Any:
        """The price preview's request for the form, as it would be sent at `now` (default: this moment)."""
        return self.forms.pricing_request(form, aoi, now=now)

    def problems(self, form: Any, aoi: Any) -> dict:
        """What keeps the form from being priced (a quote needs no name and no chosen window)."""
        problems = self.forms.form_problems(form, aoi, for_order=False)
        problems.pop("imaging_window", None)
        return problems

    def request(self) -> None:
        """Ask the service for the price of the form as it stands (in a task; older answers are dropped)."""
        form, aoi = self.current()
        problems = self.problems(form, aoi)
        if problems:
            self._tokens.invalidate()
            self.quote, self.quote_key = None, None
            self.unavailable.emit(problems)
            return
        if self.answers(form, aoi):
            # Back to the form the held quote answers: an answer still on its way is for another form now.
            self._tokens.invalidate()
            self.unchanged.emit()
            return
        client = self.client("get a quote")
        if client is None:
            self.noClient.emit()
            return
        asked_at = utc_now()
        body = self.pricing_body(form, aoi, asked_at)
        key = request_key(body)
        token = self._tokens.next()
        self.retry_timer.stop()
        self._watch_waits(client)
        self.asking.emit()
        self.task = run_in_background(
            names.task_description("price preview"),
            lambda feedback: client.preview_pricing(body),
            on_success=lambda pricing: self.arrived(token, key, pricing, asked_at),
            on_error=lambda error: self.refused(token, error),
            on_cancel=lambda: self.was_cancelled(token),
        )

    def price_now(self, client: Any, form: Any, aoi: Any, *, on_priced: Callable[[Any], None],
                  on_failed: Callable[[BaseException], None], on_cancelled: Callable[[bool], None]) -> None:
        """Price `form` at once (placing needs the real cost), as the latest question.

        The quote is updated as by request(); the callbacks then run whatever became of it.
        `on_cancelled(current)` says whether this was still the latest question.
        """
        asked_at = utc_now()
        body = self.pricing_body(form, aoi, asked_at)
        key = request_key(body)
        token = self._tokens.next()
        self.timer.stop()
        self.retry_timer.stop()

        def priced(pricing: Any) -> None:
            self.arrived(token, key, pricing, asked_at)
            on_priced(pricing)

        def failed(error: BaseException) -> None:
            self.refused(token, error)
            on_failed(error)

        self.task = run_in_background(names.task_description("price preview"), lambda fb: client.preview_pricing(body),
                                      on_success=priced, on_error=failed,
                                      on_cancel=lambda: on_cancelled(self.was_cancelled(token)))

    def is_current(self) -> bool:
        """Whether the quote held answers the form as it stands now."""
        return not self.timer.isActive() and self.answers(*self.current())

    def answers(self, form: Any, aoi: Any) -> bool:
        """Whether the quote held answers `form` over `aoi`. The form is read as it would have been sent when
        the quote was asked: the clock passing a start time (the order then starts when the service receives
        it) changes no price, so that alone does not outdate a quote."""
        return self.quote is not None and self.quote_key == request_key(self.pricing_body(form, aoi, self.quoted_at))

    def arrived(self, token: int, key: str, pricing: Any, asked_at: Optional[datetime] = None) -> None:
        if not self._tokens.is_current(token):
            self.stale_answers_ignored += 1
            return
        self.task = None
        self._wait_timer.stop()
        self._retries = 0
        self.quote, self.quote_key, self.quote_error = pricing, key, None
        self.quoted_at = asked_at
        self.quoted.emit(pricing)

    def refused(self, token: int, error: BaseException) -> None:
        if not self._tokens.is_current(token):
            self.stale_answers_ignored += 1
            return
        self.task = None
        self._wait_timer.stop()
        self.quote, self.quote_key, self.quote_error = None, None, error
        self.failed.emit(error)
        if passes(error):
            seconds = self.retry_seconds[min(self._retries, len(self.retry_seconds) - 1)]
            self._retries += 1
            self.retry_timer.start(int(seconds * 1000))
            self.retrying.emit(seconds, error)

    def was_cancelled(self, token: int) -> bool:
        """The price preview was cancelled; False for an outdated one (nothing changes then)."""
        if not self._tokens.is_current(token):
            return False
        self._tokens.invalidate()
        self.task = None
        self._wait_timer.stop()
        # The price held belongs to an older form, if any: not a quote for this one.
        self.quote, self.quote_key, self.quote_error = None, None, None
        self.cancelled.emit()
        return True

    def shutdown(self) -> None:
        """Stop asking: no timer, no late answer, the running preview cancelled."""
        self.timer.stop()
        self.retry_timer.stop()
        self._wait_timer.stop()
        self._tokens.invalidate()
        cancel_task(self.task, detach=True)

    def retry_pending(self) -> bool:
        """Whether a failed quote will be asked again by itself."""
        return self.retry_timer.isActive()

    def _watch_waits(self, client: Any) -> None:
        waits: LatestValue = LatestValue()
        self._waits, self._wait_version = waits, 0
        if hasattr(client, "on_wait"):
            # Runs on the task's thread: it only stores the wait; the timer shows it.
            client.on_wait = lambda seconds, _text: waits.put(seconds)
            self._wait_timer.start()

    def _show_wait(self) -> None:
        version, seconds = self._waits.newer_than(self._wait_version)
        if seconds is not None:
            self._wait_version = version
            self.waiting.emit(float(seconds))
