"""Archive orders in the Orders tab: list them, read the queue depth, cancel queued ones one by one or in bulk, in tasks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..errors import ApiError
from ..http import as_utc
from ..services import registry
from ..services.base import Capability
from .orders_background import TaskGroup, error_text

# An archive order can be cancelled only while it waits in the queue: the Orders API refuses any other
# (its document, and the sandbox, say so). Once running, it is processed to its end.
CANCELLABLE_STATES = frozenset({"queued"})
# What an archive order orders: archive scenes or basemap quads (the listing's `source_type`).
SOURCE_TYPES = ("scenes", "basemaps")
# States the service still moves on from (the tab reads them again while any is shown).
OPEN_STATES = frozenset({"queued", "running"})


def archive_service_id() -> Optional[str]:
    """The registered service that orders archive imagery (None when none is registered)."""
    found = registry.services(Capability.ARCHIVE_ORDER)
    return found[0].id if found else None


def archive_states() -> Tuple[str, ...]:
    """The states an archive order may be in, as its service names them (for the status filter)."""
    service_id = archive_service_id()
    return tuple(registry.service(service_id).order_statuses) if service_id else ()


@dataclass(frozen=True)
class CancelVerdict:
    """Whether an archive order may be cancelled now, and if not, why (a tooltip, a message)."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def can_cancel(order: Any) -> CancelVerdict:
    if order.state in CANCELLABLE_STATES:
        return CancelVerdict(True)
    return CancelVerdict(False, f"Only queued archive orders can be cancelled; '{order.name or order.id}' is "
                                f"{order.state}.")


@dataclass(frozen=True)
class ArchiveFilter:
    """What the Orders tab's filters ask of the archive orders. `states` None: any state; an empty tuple:
    none (the ticked states are all tasking ones). Times are inclusive bounds (UTC)."""

    states: Optional[Tuple[str, ...]] = None
    source_type: Optional[str] = None
    name_contains: str = ""
    created_after: Optional[datetime] = None
    created_before: Optional[datetime] = None
    updated_after: Optional[datetime] = None
    updated_before: Optional[datetime] = None
    nothing: bool = False  # a tasking-only filter is set (scheduling, tasking type): no archive order matches

    @property
    def matches_nothing(self) -> bool:
        return self.nothing or self.states == ()

    def params(self) -> Dict[str, Any]:
        """The listing's server-side filters (the name is filtered here: the API has no name filter)."""
        params: Dict[str, Any] = {}
        if self.states:
            params["state"] = list(self.states)
        if self.source_type:
            params["source_type"] = self.source_type
        for key, low, high in (("created_on", self.created_after, self.created_before),
                               ("last_modified", self.updated_after, self.updated_before)):
            if low is not None or high is not None:
                params[key] = f"{_stamp(low)}/{_stamp(high)}"
        return params

    def keeps(self, order: Any) -> bool:
        return not self.name_contains or self.name_contains.casefold() in (order.name or "").casefold()


def _stamp(moment: Optional[datetime]) -> str:
    if moment is None:
        return ".."
    return as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class QueueDepth:
    """How many archive orders wait and how many are being processed (the service's stats)."""

    queued: int
    running: int

    def summary(self) -> str:
        return f"Archive queue: {self.queued:,} queued, {self.running:,} running."


@dataclass
class ArchiveCancelOutcome:
    """What one cancel or bulk cancel did: the orders cancelled, and each refusal with the service's words."""

    cancelled: List[str] = field(default_factory=list)
    refused: Dict[str, str] = field(default_factory=dict)
    cancelled_count: Optional[int] = None  # a bulk cancel says how many, not which

    @property
    def count(self) -> int:
        return self.cancelled_count if self.cancelled_count is not None else len(self.cancelled)

    def summary(self) -> str:
        parts = [f"{self.count} archive order{'' if self.count == 1 else 's'} cancelled."]
        if self.refused:
            parts.append("Refused: " + "; ".join(self.refused.values()))
        return " ".join(parts)


def list_orders(client: Any, wanted: ArchiveFilter, is_canceled: Optional[Callable[[], bool]] = None) -> List[Any]:
    """Every archive order matching (the service lists those of its last three months: a few thousand at
    most), newest first."""
    if wanted.matches_nothing:
        return []
    return [order for order in client.iter_orders(page_size=500, is_canceled=is_canceled, **wanted.params())
            if wanted.keeps(order)]


def queue_depth(client: Any) -> QueueDepth:
    """The queue depth of the user's organisation (the user's own when the service says only that)."""
    stats = client.stats()
    counts = stats.get("organization") or stats.get("user") or {}
    if not isinstance(counts, Mapping):
        counts = {}
    return QueueDepth(int(counts.get("queued_orders") or 0), int(counts.get("running_orders") or 0))


def cancel_one(client: Any, order_id: str) -> Tuple[ArchiveCancelOutcome, Optional[Any]]:
    """Cancel one order; a refusal (it is not queued any more) is the outcome, not an error. The order
    as the service answered comes back with it (None when refused)."""
    outcome = ArchiveCancelOutcome()
    try:
        fresh = client.cancel_order(order_id)
    except ApiError as refusal:
        if refusal.status is None or refusal.status >= 500:
            raise  # the service did not answer: that is a failure, not its refusal
        outcome.refused[order_id] = error_text(refusal)
        return outcome, None
    outcome.cancelled.append(order_id)
    return outcome, fresh


def cancel_many(client: Any, order_ids: Sequence[str]) -> ArchiveCancelOutcome:
    """One bulk cancel of these orders; the service counts those cancelled and names each it refused."""
    answer = client.bulk_cancel(list(order_ids))
    result = answer.get("result") if isinstance(answer.get("result"), Mapping) else answer
    succeeded = result.get("succeeded") if isinstance(result.get("succeeded"), Mapping) else {}
    failed = result.get("failed") if isinstance(result.get("failed"), Mapping) else {}
    outcome = ArchiveCancelOutcome(cancelled_count=int(succeeded.get("count") or 0))
    for failure in failed.get("failures") or ():
        if isinstance(failure, Mapping):
            order_id = str(failure.get("order_id") or "")
            outcome.refused[order_id] = str(failure.get("message") or "refused")
    refused = set(outcome.refused)
    outcome.cancelled = [i for i in order_ids if i not in refused]
    return outcome


class ArchiveOrders(QObject):
    """The archive side of the Orders tab, each call in a QgsTask of the tab's TaskGroup.

    `client_factory()` gives a client of the archive service or None (not configured). A listing that
    arrives after a newer one was asked for is dropped.
    """

    listed = pyqtSignal(list)  # noqa: N815 - Qt signal naming; the orders, newest first
    listFailed = pyqtSignal(object)  # noqa: N815 - the error
    depthRead = pyqtSignal(object)  # noqa: N815 - a QueueDepth
    depthFailed = pyqtSignal(object)  # noqa: N815
    cancelFinished = pyqtSignal(object, object)  # noqa: N815 - ArchiveCancelOutcome, the fresh order or None
    cancelFailed = pyqtSignal(object)  # noqa: N815

    def __init__(self, client_factory: Callable[[], Any], tasks: TaskGroup, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.client_factory = client_factory
        self.tasks = tasks
        self.generation = 0
        self.loading = False
        self.cancelling = False

    def busy(self) -> bool:
        return self.loading or self.cancelling

    def load(self, wanted: ArchiveFilter) -> bool:
        """List the orders matching and read the queue depth; False when there is no client."""
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

        self.tasks.run("Loading archive orders", lambda feedback: list_orders(client, wanted, feedback.is_canceled),
                       done, failed)
        self.read_depth()
        return True

    def forget(self) -> None:
        """Drop any listing still on its way (the archive orders are not shown any more)."""
        self.generation += 1
        self.loading = False

    def read_depth(self) -> None:
        client = self.client_factory()
        if client is None:
            return
        self.tasks.run("Reading the archive queue", lambda feedback: queue_depth(client), self.depthRead.emit,
                       self.depthFailed.emit)

    def cancel(self, order_ids: Sequence[str]) -> bool:
        """Cancel one order (its own request) or several (one bulk cancel); False when there is no client."""
        client = self.client_factory()
        if client is None or not order_ids:
            return False
        ids = list(order_ids)
        self.cancelling = True

        def work(feedback):
            if len(ids) == 1:
                return cancel_one(client, ids[0])
            return cancel_many(client, ids), None

        def done(result) -> None:
            self.cancelling = False
            self.cancelFinished.emit(*result)

        def failed(error: BaseException) -> None:
            self.cancelling = False
            self.cancelFailed.emit(error)

        self.tasks.run("Cancelling archive orders" if len(ids) > 1 else "Cancelling an archive order", work, done,
                       failed)
        return True
