"""Other services' orders merged into the Orders tab's list (archive imagery, UP42 tasking): what a source lists,
shows and may cancel, and listing and cancelling its orders in tasks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, FrozenSet, List, Mapping, Optional, Sequence, Tuple

from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..errors import ApiError
from ..http import as_utc
from .orders_background import TaskGroup, error_text


@dataclass(frozen=True)
class CancelVerdict:
    """Whether an order may be cancelled now, and if not, why (a tooltip, a message)."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


@dataclass(frozen=True)
class MergedFilter:
    """What the Orders tab's filters ask of one source's orders. `states` None: any state; an empty tuple:
    none (the ticked states are all another service's). Times are inclusive bounds (UTC)."""

    states: Optional[Tuple[str, ...]] = None
    kind: Optional[str] = None
    name_contains: str = ""
    created_after: Optional[datetime] = None
    created_before: Optional[datetime] = None
    updated_after: Optional[datetime] = None
    updated_before: Optional[datetime] = None
    nothing: bool = False  # a filter only another service's orders have is set: none of this source's matches

    @property
    def matches_nothing(self) -> bool:
        return self.nothing or self.states == ()

    def keeps_name(self, order: Any) -> bool:
        return not self.name_contains or self.name_contains.casefold() in (order.name or "").casefold()


def _within(moment: Optional[datetime], low: Optional[datetime], high: Optional[datetime]) -> bool:
    if low is None and high is None:
        return True
    if moment is None:
        return False
    moment = as_utc(moment)
    return (low is None or moment >= as_utc(low)) and (high is None or moment <= as_utc(high))


@dataclass
class CancelOutcome:
    """What one cancel or bulk cancel did: the orders cancelled, and each refusal with the service's words."""

    noun: str = "order"
    cancelled: List[str] = field(default_factory=list)
    refused: Dict[str, str] = field(default_factory=dict)
    cancelled_count: Optional[int] = None  # a bulk cancel says how many, not which

    @property
    def count(self) -> int:
        return self.cancelled_count if self.cancelled_count is not None else len(self.cancelled)

    def summary(self) -> str:
        parts = [f"{self.count} {self.noun}{'' if self.count == 1 else 's'} cancelled."]
        if self.refused:
            parts.append("Refused: " + "; ".join(self.refused.values()))
        return " ".join(parts)


class MergedSource:
    """One service whose orders the Orders tab reads whole and merges into its list by the list's ordering.

    A subclass says how its orders are listed and cancelled, which of the list's columns they fill (`columns`:
    the list's attribute → the order's), their states and kinds (for the filters), the states the service still
    moves on from (the tab reads the orders again while any shown is in one) and when one may be cancelled.
    """

    key = ""  # the service's id
    label = ""  # its name in the Service column and filter
    noun = "order"  # "archive order", "UP42 order"
    states: Tuple[str, ...] = ()
    kinds: Tuple[str, ...] = ()
    open_states: FrozenSet[str] = frozenset()
    columns: Mapping[str, str] = {}
    refresh_seconds = 30
    # How the cancel question names the selected orders that cannot be cancelled ("are not queued").
    not_cancellable = "cannot be cancelled"

    @property
    def choice(self) -> str:
        """Its entry's value in the Service filter."""
        return self.key

    def status(self, order: Any) -> Optional[str]:
        return getattr(order, self.columns.get("status", "status"), None)

    def value(self, order: Any, attribute: str) -> Any:
        """The order's value for a column of the list (None: the column says nothing of it)."""
        if attribute == "service":
            return self.label
        if attribute in self.columns or attribute in ("name", "id"):
            return getattr(order, self.columns.get(attribute, attribute), None)
        return None

    def sort_value(self, order: Any, field_name: str) -> Any:
        """The order's value for the listing's ordering field (the tasking listing's name for it)."""
        return self.value(order, field_name) if field_name != "service" else None

    def is_open(self, order: Any) -> bool:
        return self.status(order) in self.open_states

    def tooltip(self, order: Any) -> str:
        return f"{self.label}: {self.status(order) or 'status not known'}"

    def keeps(self, order: Any, wanted: MergedFilter) -> bool:
        """Whether an order the service listed matches what its listing could not filter (the name, by default)."""
        return wanted.keeps_name(order)

    def list_orders(self, client: Any, wanted: MergedFilter, is_canceled: Optional[Callable[[], bool]] = None
                    ) -> List[Any]:
        raise NotImplementedError

    def can_cancel(self, order: Any) -> CancelVerdict:
        raise NotImplementedError

    def cancel(self, client: Any, order_ids: Sequence[str]) -> Tuple[CancelOutcome, Optional[Any]]:
        """Cancel these orders; the outcome, and the one order as the service answered (None when several or
        refused)."""
        raise NotImplementedError


def cancel_refusable(client: Any, order_id: str, outcome: CancelOutcome) -> Tuple[bool, Optional[Any]]:
    """Cancel one order into `outcome`; a refusal (the order moved on) is recorded, not raised. The order as
    the service answered comes back (None when refused or when the service answers nothing)."""
    try:
        fresh = client.cancel_order(order_id)
    except ApiError as refusal:
        if refusal.status is None or refusal.status >= 500:
            raise  # the service did not answer: that is a failure, not its refusal
        outcome.refused[order_id] = error_text(refusal)
        return False, None
    outcome.cancelled.append(order_id)
    return True, fresh


def within_times(order: Any, wanted: MergedFilter, created: Optional[datetime], updated: Optional[datetime]) -> bool:
    """The filter's created and updated bounds, checked here for a service whose listing has no such filter."""
    return (_within(created, wanted.created_after, wanted.created_before)
            and _within(updated, wanted.updated_after, wanted.updated_before))


class MergedOrders(QObject):
    """One source's side of the Orders tab, each call in a QgsTask of the tab's TaskGroup.

    `client_factory()` gives a client of the source's service or None (not configured). A listing that
    arrives after a newer one was asked for is dropped.
    """

    listed = pyqtSignal(list)  # noqa: N815 - Qt signal naming; the orders
    listFailed = pyqtSignal(object)  # noqa: N815 - the error
    cancelFinished = pyqtSignal(object, object)  # noqa: N815 - CancelOutcome, the fresh order or None
    cancelFailed = pyqtSignal(object)  # noqa: N815

    def __init__(self, source: MergedSource, client_factory: Callable[[], Any], tasks: TaskGroup,
                 parent: Optional[QObject] = None):
        super().__init__(parent)
        self.source = source
        self.client_factory = client_factory
        self.tasks = tasks
        self.generation = 0
        self.loading = False
        self.cancelling = False

    def busy(self) -> bool:
        return self.loading or self.cancelling

    def load(self, wanted: MergedFilter) -> bool:
        """List the orders matching; False when there is no client."""
        self.generation += 1
        generation = self.generation
        client = self.client_factory()
        if client is None:
            self.loading = False
            return False
        self.loading = True

        def done(orders: List[Any]) -> None:
            if generation == self.generation:
                self.loading = False
                self.listed.emit(orders)

        def failed(error: BaseException) -> None:
            if generation == self.generation:
                self.loading = False
                self.listFailed.emit(error)

        self.tasks.run(f"Loading {self.source.noun}s",
                       lambda feedback: self.source.list_orders(client, wanted, feedback.is_canceled), done, failed)
        return True

    def forget(self) -> None:
        """Drop any listing still on its way (the orders are not shown any more)."""
        self.generation += 1
        self.loading = False

    def cancel(self, order_ids: Sequence[str]) -> bool:
        """Cancel these orders (the source decides how: one by one, or one bulk cancel); False without a client."""
        client = self.client_factory()
        if client is None or not order_ids:
            return False
        ids = list(order_ids)
        self.cancelling = True

        def done(result) -> None:
            self.cancelling = False
            self.cancelFinished.emit(*result)

        def failed(error: BaseException) -> None:
            self.cancelling = False
            self.cancelFailed.emit(error)

        article = "an" if self.source.noun[:1] in "aeio" else "a"
        what = f"Cancelling {self.source.noun}s" if len(ids) > 1 else f"Cancelling {article} {self.source.noun}"
        self.tasks.run(what, lambda feedback: self.source.cancel(client, ids), done, failed)
        return True
