"""An in-memory tasking service for the New order workflows' tests: prices, imaging-window searches, orders."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Dict, List, Mapping, Optional

from core.errors import Cancelled
from core.services.planet_tasking.models import ImagingWindow, ImagingWindowSearch, Order, Pricing

T0 = datetime(2026, 1, 5, 12, 0, tzinfo=timezone.utc)


def window(number: int) -> ImagingWindow:
    start = T0 + timedelta(hours=number)
    return ImagingWindow(id=f"w-{number}", start_time=start, end_time=start + timedelta(seconds=30))


class FakeNewOrderClient:
    """Prices by order type, searches that report windows in steps, orders that are created at once.

    `hold_pricing` (an order type) keeps that type's price preview waiting until `release_pricing()`;
    `search_steps` are the partial states a search reports, each listing every window found so far,
    and `hold_search` keeps the search polling after its last step until `release_search()`.
    Records what it was asked: `pricing_bodies`, `created`.
    """

    def __init__(self, search_steps: int = 3):
        self.pricing_bodies: List[Dict[str, Any]] = []
        self.created: List[Dict[str, Any]] = []
        self.hold_pricing: Optional[str] = None
        self._pricing_gate = threading.Event()
        self.search_steps = search_steps
        self.hold_search = False
        self._search_gate = threading.Event()
        self._lock = threading.Lock()

    # -- quote ---------------------------------------------------------------------------------------

    def preview_pricing(self, payload: Mapping[str, Any]) -> Pricing:
        with self._lock:
            self.pricing_bodies.append(dict(payload))
        if payload.get("order_type") == self.hold_pricing:
            self._pricing_gate.wait(20)
        views = int(payload.get("n_stereo_pov", 1)) if payload.get("order_type") == "STEREO" else 1
        return Pricing(units="SQKM", estimated_quota_cost=25.0 * views)

    def release_pricing(self) -> None:
        self._pricing_gate.set()

    # -- imaging windows -----------------------------------------------------------------------------

    def start_imaging_window_search(self, **request: Any) -> ImagingWindowSearch:
        return ImagingWindowSearch(id="search-1", status="CREATED")

    def wait_imaging_window_search(self, search_id: str, *, on_partial: Callable[[Any], None],
                                   is_canceled: Callable[[], bool], **_options: Any) -> ImagingWindowSearch:
        found: List[ImagingWindow] = []
        for number in range(1, self.search_steps + 1):
            found.append(window(number))
            on_partial(ImagingWindowSearch(id=search_id, status="IN_PROGRESS", imaging_windows=list(found)))
        while self.hold_search and not self._search_gate.wait(0.05):
            if is_canceled():
                raise Cancelled("The search was cancelled.")
        found.append(window(self.search_steps + 1))
        return ImagingWindowSearch(id=search_id, status="DONE", imaging_windows=found)

    def release_search(self) -> None:
        self._search_gate.set()

    def get_imaging_window_search(self, search_id: str, **_options: Any) -> ImagingWindowSearch:
        return ImagingWindowSearch(id=search_id, status="DONE")

    # -- orders --------------------------------------------------------------------------------------

    def create_order(self, payload: Mapping[str, Any], **_options: Any) -> Order:
        self.created.append(dict(payload))
        return Order(id=f"order-{len(self.created)}", name=payload.get("name"), status="RECEIVED")

    def get_order(self, order_id: str) -> Order:
        return Order(id=order_id, name=order_id, status="PENDING")
