"""A tasking service's orders read whole into the Orders tab (UP42: no paged listing of Planet's kind, no layer
schemas): status and sub-status, the product's name, cancel where the service allows it, the decision an order
waits for. One source of the list (core.app.merged_orders), described by its registry descriptor."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from ..errors import ApiError
from ..log import get_logger
from ..services import registry
from ..services.base import Capability, ServiceDescriptor
from .merged_orders import CancelOutcome, CancelVerdict, MergedFilter, MergedSource, cancel_refusable, within_times

log = get_logger("listed_orders")

# Orders asked of the service per page (its pages count from 0, newest first): few requests for a few thousand.
PAGE_SIZE = 500


def listed_services() -> List[ServiceDescriptor]:
    """The tasking services whose orders the Orders tab reads whole: those without layer schemas (their orders
    are not mapped, so not listed page by page with the map following)."""
    return [d for d in registry.services(Capability.PLACE) if d.layers is None]


class ListedTaskingSource(MergedSource):
    """One such service's orders: Status its status, a Sub-status column, the product as Type, times created and
    updated; the status filtered by the service, the name and times here (its listing has no such filters)."""

    columns = {"status": "status", "sub_status": "sub_status", "created_time": "created_at",
               "updated_time": "updated_at"}
    not_cancellable = "can no longer be cancelled"

    def __init__(self, descriptor: ServiceDescriptor):
        self.key = descriptor.id
        self.label = descriptor.title.split()[0]  # "UP42 tasking" → "UP42"
        self.noun = f"{self.label} order"
        self.states = tuple(descriptor.order_statuses)
        extras = descriptor.extras
        self.sub_statuses: Tuple[str, ...] = tuple(extras.get("sub_statuses") or ())
        self.cancellable = frozenset(extras.get("cancellable_statuses") or ())
        self.final = frozenset(extras.get("final_statuses") or ())
        self.decision_sub_statuses = frozenset(extras.get("decision_sub_statuses") or ())
        self.sub_status_meanings: Dict[str, str] = dict(extras.get("sub_status_meanings") or {})
        self.open_states = frozenset(s for s in self.states if s not in self.final)
        # Product id → its name, read with the first listing (the glossary changes rarely).
        self.product_names: Dict[str, str] = {}

    def value(self, order: Any, attribute: str) -> Any:
        if attribute == "order_type":
            return self.product(order)
        return super().value(order, attribute)

    def product(self, order: Any) -> Optional[str]:
        product_id = getattr(order, "data_product_id", None)
        return self.product_names.get(product_id, product_id) if product_id else None

    def status_text(self, order: Any) -> str:
        """Status and sub-status in one phrase ("PLACED (QUOTATION_WAITING_RESPONSE: quotation: accept or
        reject it)")."""
        status = order.status or "status not known"
        return f"{status} ({self.sub_status_text(order)})" if order.sub_status else status

    def sub_status_text(self, order: Any) -> str:
        """The sub-status with what it means ("QUOTATION_WAITING_RESPONSE: quotation: accept or reject it"), ""
        without one; a sub-status the service added since is shown as it is."""
        meaning = self.sub_status_meanings.get(order.sub_status or "")
        return f"{order.sub_status}: {meaning}" if meaning else (order.sub_status or "")

    def waits_for_decision(self, order: Any) -> bool:
        return order.status not in self.final and order.sub_status in self.decision_sub_statuses

    def tooltip(self, order: Any) -> str:
        lines = [f"{self.noun}: {self.status_text(order)}"]
        if self.product(order):
            lines.append(f"Product: {self.product(order)}")
        if self.waits_for_decision(order):
            lines.append("Waits for your decision: see the Decisions tab.")
        return "\n".join(lines)

    def keeps(self, order: Any, wanted: MergedFilter) -> bool:
        return wanted.keeps_name(order) and within_times(order, wanted, order.created_at, order.updated_at)

    def list_orders(self, client: Any, wanted: MergedFilter, is_canceled: Optional[Callable[[], bool]] = None
                    ) -> List[Any]:
        """Every order matching, newest first (pages from 0, `sort=createdAt,desc`), the status filtered by the
        service; the products' names read once."""
        if wanted.matches_nothing or (wanted.kind is not None and wanted.kind not in self.kinds):
            return []
        if not self.product_names and callable(getattr(client, "data_products", None)):
            try:
                self.product_names = {p.id: p.label for p in client.data_products(tasking_only=False)}
            except ApiError as error:  # the orders are still worth showing, with their product's id
                log.warning("%s glossary not read for the Orders tab: %s", self.label, error)
        found = []
        for order in client.iter_orders(size=PAGE_SIZE, sort="createdAt,desc",
                                         status=list(wanted.states) if wanted.states else None):
            if is_canceled is not None and is_canceled():
                break
            if self.keeps(order, wanted):
                found.append(order)
        return found

    def can_cancel(self, order: Any) -> CancelVerdict:
        if order.status in self.cancellable:
            return CancelVerdict(True)
        allowed = " or ".join(sorted(self.cancellable)) or "no status"
        return CancelVerdict(False, f"{self.label} cancels an order only while it is {allowed}; "
                                    f"'{order.name or order.id}' is {order.status}.")

    def cancel(self, client: Any, order_ids: Sequence[str]) -> Tuple[CancelOutcome, Optional[Any]]:
        """One request per order (the service has no bulk cancel); the one order read back after it."""
        outcome = CancelOutcome(self.noun)
        for order_id in order_ids:
            cancel_refusable(client, order_id, outcome)
        fresh = client.get_order(order_ids[0]) if len(order_ids) == 1 else None
        return outcome, fresh


def listed_sources() -> List[ListedTaskingSource]:
    return [ListedTaskingSource(d) for d in listed_services()]
