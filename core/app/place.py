"""Placing one order: checked, priced if the quote is not current, confirmed by the caller, created once."""

from __future__ import annotations

from typing import Any, Callable, Dict, Iterable, List, Optional

from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from .. import names
from ..errors import ApiError, Cancelled
from ..services.base import ServiceDescriptor
from ..tasks import ApiTask, TaskFeedback, run_in_background
from .latest import LatestValue
from .quote import QuoteWorkflow
from .workflow import Workflow, cancel_task

# A wait this long while placing is said in the panel (shorter back-offs pass unnoticed); checked this often.
LONG_WAIT_SECONDS = 5.0
WAIT_CHECK_MS = 250

# (form, aoi, pricing or None, imaging window or None) -> whether the user agreed to place the order.
Confirm = Callable[[Any, Any, Optional[Any], Optional[Any]], bool]


class PlaceOrderWorkflow(Workflow):
    """Check the form (nothing is sent if it is wrong), make sure the cost is known, ask `confirm`, then
    create the order in a task and put it, and the orders it replaces, in the project's orders layer."""

    checked = pyqtSignal(dict)  # the form's problems by field (empty: fine), before anything is sent
    busy = pyqtSignal(bool)  # a price or an order is on its way (the caller disables placing)
    pricing = pyqtSignal()  # the quote was not current: getting the price first
    priceFailed = pyqtSignal(object)  # noqa: N815 - no price, no order (the exception)
    priceCancelled = pyqtSignal()  # noqa: N815 - getting the price was cancelled; nothing placed
    declined = pyqtSignal()  # the user did not confirm; nothing placed
    sending = pyqtSignal(object)  # the form whose order is being created
    placed = pyqtSignal(object, object, list, object)  # form, created order, replaced orders read again, orders layer
    failed = pyqtSignal(object)  # the order was not placed, or may have been (OrderCreationUncertain)
    cancelled = pyqtSignal(bool)  # cancelled; True when the request had not gone out (nothing ordered)
    waiting = pyqtSignal(str)  # a long wait while placing ("waiting 30 s as the service asked (...)")

    def __init__(self, quote: QuoteWorkflow, confirm: Confirm, client_factory: Optional[Callable[[], Any]] = None,
                 service: Optional[ServiceDescriptor] = None, parent: Optional[QObject] = None):
        super().__init__(client_factory, service, parent)
        self.quote = quote
        self.confirm = confirm
        self.task: Optional[ApiTask] = None
        # The client tells of each wait from the task's thread; the main thread reads the newest on a timer
        # (no signal is emitted from a task's run()) and says so when it is long enough to be noticed.
        self._waits: LatestValue = LatestValue()
        self._wait_version = 0
        self._wait_timer = QTimer(self)
        self._wait_timer.setInterval(WAIT_CHECK_MS)
        self._wait_timer.timeout.connect(self._show_wait)

    def problems(self, form: Any, aoi: Any, aoi_error: Any = None) -> Dict[str, str]:
        problems = self.forms.form_problems(form, aoi, for_order=True)
        if aoi is None and aoi_error is not None:
            problems["geometry"] = aoi_error.message
        return problems

    def place(self, form: Any, aoi: Any, window: Any = None, aoi_error: Any = None) -> None:
        """Place the order the form describes (for an assured one, in `window`)."""
        problems = self.problems(form, aoi, aoi_error)
        self.checked.emit(problems)
        if problems:
            return
        if self.quote.is_current():
            self._confirm_and_send(form, aoi, window, self.quote.quote)
            return
        # The quote is outdated or missing: get one first, so the confirmation states the real cost.
        client = self.client("place the order")
        if client is None:
            return
        self.busy.emit(True)
        self.pricing.emit()

        def priced(pricing: Any) -> None:
            self.busy.emit(False)
            self._confirm_and_send(form, aoi, window, pricing)

        def failed(error: BaseException) -> None:
            # No price, no order: what refuses the quote would refuse the order, and the confirmation
            # must state the cost.
            self.busy.emit(False)
            self.priceFailed.emit(error)

        def cancelled(current: bool) -> None:
            self.busy.emit(False)
            if current:
                self.priceCancelled.emit()

        self.quote.price_now(client, form, aoi, on_priced=priced, on_failed=failed, on_cancelled=cancelled)

    def _confirm_and_send(self, form: Any, aoi: Any, window: Any, pricing: Optional[Any]) -> None:
        window = window if form.is_assured else None
        if not self.confirm(form, aoi, pricing, window):
            self.declined.emit()
            return
        client = self.client("place the order")
        if client is None:
            return
        body = self.forms.order_request(form, aoi)
        replaced_ids = [r.order_id for r in (pricing.replaced_orders if pricing else [])]
        replaced_ids += [o.id for o in (window.conflicting_orders if window else []) if o.id not in replaced_ids]

        waits: LatestValue = LatestValue()
        self._waits, self._wait_version = waits, 0
        if hasattr(client, "on_wait"):
            client.on_wait = lambda seconds, text: waits.put(text) if seconds >= LONG_WAIT_SECONDS else None

        def create(feedback: TaskFeedback):
            # Cancelled before the request went out: nothing was sent, so nothing can have been ordered.
            feedback.raise_if_canceled()
            order = client.create_order(body, is_canceled=feedback.is_canceled)
            refreshed: List[Any] = []
            for order_id in replaced_ids:
                # The replaced orders change state at the service; show that too (best effort).
                try:
                    refreshed.append(client.get_order(order_id))
                except ApiError:
                    pass
            return order, refreshed

        self.busy.emit(True)
        self.sending.emit(form)
        self._wait_timer.start()
        self.task = run_in_background(
            names.task_description("place order"), create,
            on_success=lambda result: self._placed(form, *result),
            on_error=self._failed,
            on_cancel=lambda: self._cancelled(form, self.task),
        )

    def _cancelled(self, form: Any, task: Optional[ApiTask]) -> None:
        # A POST cannot be called back: if the service answered before the cancel took effect, the
        # order exists and is shown as placed rather than reported as cancelled.
        result = task.result if task is not None else None
        if result is not None:
            self._placed(form, *result)
            return
        self._ended()
        self.cancelled.emit(task is not None and isinstance(task.exception, Cancelled))

    def _show_wait(self) -> None:
        version, text = self._waits.newer_than(self._wait_version)
        if text is not None:
            self._wait_version = version
            self.waiting.emit(text)

    def _ended(self) -> None:
        self._wait_timer.stop()
        self.task = None
        self.busy.emit(False)

    def _placed(self, form: Any, order: Any, replaced: Iterable[Any]) -> None:
        self._ended()
        replaced = list(replaced)
        layer = self.orders_layer()
        self.service.layers.upsert_orders(layer, [order, *replaced])
        layer.triggerRepaint()
        self.placed.emit(form, order, replaced, layer)

    def _failed(self, error: BaseException) -> None:
        self._ended()
        self.failed.emit(error)

    def orders_layer(self) -> QgsVectorLayer:
        """The project's orders layer (found by its kind; shared with the Orders tab), made when there is none."""
        return self.service.layers.find_or_create_orders_layer(QgsProject.instance(), names.ORDERS_LAYER)

    def shutdown(self) -> None:
        cancel_task(self.task, detach=True)
