"""Cancel orders: once for free, then, only if the caller's `ask_charge(notices)` says yes, with the charge accepted.

The consent is the caller's: a dialog in the dock, a checkbox in the bulk dialog, a parameter in Processing.
Which orders may be cancelled is the active service's rule (its descriptor's `rules.can_cancel`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from qgis.PyQt.QtCore import QObject, pyqtSignal

from .. import names
from ..errors import ApiError, CancellationChargeRequired
from ..services import registry
from ..services.base import ServiceDescriptor
from .orders_background import error_text

AskCharge = Callable[[List["ChargeNotice"]], bool]


@dataclass
class ChargeNotice:
    """An order the service refused to cancel for free: its message and the order's quota cost, if known."""

    order_id: str
    order_name: Optional[str]
    message: str
    pricing: Optional[Any] = None  # the service's pricing of the order (estimated_quota_cost, units)

    @property
    def cost_text(self) -> str:
        if self.pricing is None or self.pricing.estimated_quota_cost is None:
            return "cost unknown"
        return f"{self.pricing.estimated_quota_cost:g} {names.units_text(self.pricing.units)}"


@dataclass
class CancelOutcome:
    """What happened to each order of one cancel request."""

    cancelled: List[str] = field(default_factory=list)
    charge_required: List[ChargeNotice] = field(default_factory=list)
    failed: Dict[str, str] = field(default_factory=dict)

    def merge(self, other: "CancelOutcome") -> None:
        self.cancelled.extend(other.cancelled)
        self.charge_required.extend(other.charge_required)
        self.failed.update(other.failed)

    def summary(self, declined: int = 0) -> str:
        """One line for the user: how many were cancelled, declined, still charged, refused."""
        parts = [f"{len(self.cancelled)} order(s) cancelled."]
        if declined:
            parts.append(f"{declined} not cancelled: the charge was not accepted.")
        if self.charge_required and not declined:
            parts.append(f"{len(self.charge_required)} still need the charge accepted.")
        if self.failed:
            parts.append("Refused: " + "; ".join(self.failed.values()))
        return " ".join(parts)


def cancel_orders(client, orders: Sequence[Any], *, accept_cancellation_charge: bool = False,
                  with_pricing: bool = True, is_canceled: Optional[Callable[[], bool]] = None,
                  progress: Optional[Callable[[float], None]] = None) -> CancelOutcome:
    """Cancel each order once. A refusal for the charge is collected (not retried): accepting it is the
    user's decision, after which the caller sends those again with accept_cancellation_charge=True."""
    outcome = CancelOutcome()
    total = max(1, len(orders))
    for done, order in enumerate(orders):
        if is_canceled is not None and is_canceled():
            break
        try:
            client.cancel_order(order.id, accept_cancellation_charge=accept_cancellation_charge)
            outcome.cancelled.append(order.id)
        except CancellationChargeRequired as refusal:
            pricing = None
            if with_pricing:
                try:
                    pricing = client.order_pricing(order.id)
                except ApiError:
                    pricing = None  # orders made before March 2024 have no pricing; the notice says so
            outcome.charge_required.append(ChargeNotice(order.id, order.name, refusal.server_detail or refusal.message,
                                                        pricing))
        except ApiError as error:
            outcome.failed[order.id] = error.server_detail or error.message
        if progress is not None:
            progress(100.0 * (done + 1) / total)
    return outcome


def charge_question(notices: Iterable[ChargeNotice]) -> str:
    """The text of the dialog asking the user to accept the cancellation charge."""
    notices = list(notices)
    lines = [f"The contract's free cancellations are used up: cancelling {len(notices)} "
             f"order{'s' if len(notices) != 1 else ''} will be charged.", ""]
    for notice in notices:
        lines.append(f"• {notice.order_name or notice.order_id}: order quota cost {notice.cost_text}")
    first = notices[0].message if notices else ""
    if first:
        lines += ["", f"The service says: {first}"]
    lines += ["", "Accept the cancellation charge and cancel?"]
    return "\n".join(lines)


def charged_again(outcome: CancelOutcome, orders: Sequence[Any]) -> List[Any]:
    """The orders refused for the charge, to send again with the charge accepted."""
    by_id = {order.id: order for order in orders}
    return [by_id[notice.order_id] for notice in outcome.charge_required if notice.order_id in by_id]


def cancel_with_consent(client, orders: Sequence[Any], ask_charge: AskCharge, **options: Any) -> Tuple[CancelOutcome, int]:
    """Cancel `orders` in one go (no event loop: Processing, scripts): (outcome, how many were declined).

    Charged ones are sent again, with the charge accepted, only if `ask_charge(notices)` returns True.
    """
    outcome = cancel_orders(client, orders, **options)
    if not outcome.charge_required:
        return outcome, 0
    if not ask_charge(list(outcome.charge_required)):
        return outcome, len(outcome.charge_required)
    accepted = CancelOutcome(cancelled=list(outcome.cancelled), failed=dict(outcome.failed))
    options = {key: value for key, value in options.items() if key != "with_pricing"}
    accepted.merge(cancel_orders(client, charged_again(outcome, orders), accept_cancellation_charge=True,
                                 with_pricing=False, **options))
    return accepted, 0


def cancellable(orders: Sequence[Any], now: datetime) -> Tuple[List[Any], List[Tuple[Any, str]]]:
    """The orders the service's rules allow cancelling now, and the others with the reason."""
    can_cancel = registry.service().rules.can_cancel
    allowed, refused = [], []
    for order in orders:
        verdict = can_cancel(order, now)
        if verdict:
            allowed.append(order)
        else:
            refused.append((order, verdict.reason))
    return allowed, refused


def can_cancel(order: Any, now: datetime):
    """The service's verdict on cancelling one order now (truthy, or falsy with a `reason`)."""
    return registry.service().rules.can_cancel(order, now)


class CancelWorkflow(QObject):
    """Cancel orders in the background, asking `ask_charge(notices)` on the main thread between the free
    attempt and the charged one. `finished(outcome, declined)` says how it ended.

    `run(description, fn, on_success, on_error=None)` starts a QgsTask (a core.app.orders_background.TaskGroup's
    run); `client_factory()` gives a client or None (then nothing starts).
    """

    finished = pyqtSignal(object, int)  # CancelOutcome, orders whose charge was declined
    counted = pyqtSignal(object)  # the service's tally of today's cancellations (has summary())
    countFailed = pyqtSignal(str)  # noqa: N815 - Qt signal naming

    def __init__(self, client_factory: Callable[[], Any], run: Callable, parent: Optional[QObject] = None, *,
                 count_today: Optional[Callable[..., Any]] = None, service: Optional[ServiceDescriptor] = None):
        super().__init__(parent)
        self.client_factory = client_factory
        self.run = run
        # The service's count of today's cancellations (a service rule: Planet's counts assured ones
        # by cancelled_time), called as count_today(client, now=..., is_canceled=...); None: not counted.
        # Default: the service's own counter, when its cancellations are counted (charged past a free number).
        self.count_today = count_today or (service or registry.service()).extras.get("cancellations_today")

    def count(self, now: datetime) -> None:
        """Count today's cancellations in the background: counted(tally) or countFailed(text)."""
        if self.count_today is None:
            return
        client = self.client_factory()
        if client is None:
            return
        count_today = self.count_today
        self.run("Counting today's cancellations",
                 lambda feedback: count_today(client, now=now, is_canceled=feedback.is_canceled), self.counted.emit,
                 lambda error: self.countFailed.emit(
                     f"Today's cancellations could not be counted: {error_text(error)}"))

    def start(self, orders: Sequence[Any], ask_charge: AskCharge) -> None:
        client = self.client_factory()
        if client is None:
            return
        self.run("Cancelling tasking orders",
                 lambda feedback: cancel_orders(client, orders, is_canceled=feedback.is_canceled,
                                                progress=feedback.set_progress),
                 lambda outcome: self._after_free_attempt(outcome, orders, ask_charge),
                 lambda error: self.finished.emit(CancelOutcome(failed={"": error_text(error)}), 0))

    def _after_free_attempt(self, outcome: CancelOutcome, orders: Sequence[Any], ask_charge: AskCharge) -> None:
        if not outcome.charge_required:
            self.finished.emit(outcome, 0)
            return
        if not ask_charge(list(outcome.charge_required)):
            self.finished.emit(outcome, len(outcome.charge_required))
            return
        charged = charged_again(outcome, orders)
        client = self.client_factory()
        if client is None:
            return
        accepted = CancelOutcome(cancelled=list(outcome.cancelled), failed=dict(outcome.failed))

        def done(second: CancelOutcome) -> None:
            accepted.merge(second)
            self.finished.emit(accepted, 0)

        self.run("Cancelling tasking orders (charge accepted)",
                 lambda feedback: cancel_orders(client, charged, accept_cancellation_charge=True, with_pricing=False,
                                                is_canceled=feedback.is_canceled, progress=feedback.set_progress),
                 done)
