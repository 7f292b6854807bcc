"""An in-memory orders service for the Orders workflows' tests: orders, captures, cancels (some charged), edits."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator, List, Optional, Sequence

from core.errors import CancellationChargeRequired, NotFoundError
from core.services.planet_tasking.models import Capture, Order, Page, Pricing

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)


def square(x: float, y: float = 0.0, size: float = 0.01) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


class FakeOrdersClient:
    """Orders by id; `charged` ids refuse a free cancel (CancellationChargeRequired) until the charge is accepted.

    Records what it was asked: `cancel_calls` [(order id, accept_cancellation_charge)], `edits`.
    """

    def __init__(self, orders: Sequence[Order] = (), captures: Sequence[Capture] = (), charged: Sequence[str] = ()):
        self.orders: Dict[str, Order] = {order.id: order for order in orders}
        self.captures: Dict[str, Capture] = {capture.id: capture for capture in captures}
        self.charged = set(charged)
        self.cancel_calls: List[tuple] = []
        self.edits: List[tuple] = []

    # -- reading ---------------------------------------------------------------------------------------------

    def get_order(self, order_id: str) -> Order:
        if order_id not in self.orders:
            raise NotFoundError("No such order.", status=404)
        return self.orders[order_id]

    def _sorted(self) -> List[Order]:
        return sorted(self.orders.values(), key=lambda order: (order.created_time or T0, order.id))

    def list_orders(self, *, limit: Optional[int] = None, offset: Optional[int] = None, **_: Any) -> Page:
        everything = self._sorted()
        start = offset or 0
        end = start + (limit or len(everything))
        more = "next" if end < len(everything) else None
        return Page(count=len(everything), next=more, previous=None, results=everything[start:end])

    def iter_orders(self, **_: Any) -> Iterator[Order]:
        return iter(self._sorted())

    def count_orders(self, **_: Any) -> int:
        return len(self.orders)

    def list_captures(self, *_: Any, **__: Any) -> Page:
        newest = sorted(self.captures.values(), key=lambda capture: capture.updated_time or T0, reverse=True)
        return Page(count=len(newest), next=None, previous=None, results=newest[:1])

    def iter_captures(self, order_ids: Any = None, **filters: Any) -> Iterator[Capture]:
        wanted = None if order_ids is None else ({order_ids} if isinstance(order_ids, str) else set(order_ids))
        since = filters.get("updated_time__gte")
        for capture in self.captures.values():
            if wanted is not None and capture.order_id not in wanted:
                continue
            if since is not None and (capture.updated_time or T0) < since:
                continue
            yield capture

    def order_pricing(self, order_id: str) -> Pricing:
        return Pricing(estimated_quota_cost=12.0, units="SQKM")

    # -- changing --------------------------------------------------------------------------------------------

    def cancel_order(self, order_id: str, *, accept_cancellation_charge: bool = False) -> None:
        self.cancel_calls.append((order_id, accept_cancellation_charge))
        if order_id in self.charged and not accept_cancellation_charge:
            raise CancellationChargeRequired(status=400, body={"detail": "Cancellation will be charged."})
        self.orders[order_id] = replace(self.orders[order_id], status="CANCELLED")

    def edit_order(self, order_id: str, **changes: Any) -> None:
        self.edits.append((order_id, changes))
        order = self.orders[order_id]
        self.orders[order_id] = replace(order, updated_time=(order.updated_time or T0) + timedelta(minutes=1),
                                        **changes)

    def cancelled(self) -> List[str]:
        return sorted(order_id for order_id, order in self.orders.items() if order.status == "CANCELLED")


def make_order(n: int, status: str = "RECEIVED", **fields: Any) -> Order:
    data = {"id": f"order-{n:04d}", "name": f"order {n}", "status": status, "scheduling_type": "FLEXIBLE",
            "created_time": (T0 + timedelta(minutes=n)).isoformat(), "updated_time": T0.isoformat(),
            "start_time": (T0 + timedelta(days=1)).isoformat(), "end_time": (T0 + timedelta(days=8)).isoformat(),
            "is_cancellable": True, "geometry": square(n * 0.1)}
    data.update(fields)
    return Order.from_json(data)


def make_capture(n: int, order_id: str) -> Capture:
    return Capture.from_json({"id": f"capture-{n:04d}", "order_id": order_id, "status": "PUBLISHED",
                              "acquired_time": T0.isoformat(), "updated_time": T0.isoformat(),
                              "geometry": square(n * 0.1, 1.0)})


class SyncTasks:
    """A core.app.orders_background.TaskGroup stand-in that runs each task at once, on the calling thread."""

    class Feedback:
        def is_canceled(self) -> bool:
            return False

        def set_progress(self, percent: float) -> None:
            pass

    def __init__(self):
        self.closed = False
        self.started: List[str] = []

    def run(self, description, fn, on_success, on_error=None, on_cancel=None):
        self.started.append(description)
        try:
            result = fn(self.Feedback())
        except Exception as error:  # noqa: BLE001 - handed to the caller as a task would
            if on_error is None:
                raise
            on_error(error)
            return "task"
        on_success(result)
        return "task"

    def busy(self) -> bool:
        return False
