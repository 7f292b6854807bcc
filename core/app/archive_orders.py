"""Archive orders in the Orders tab, one source of its list (core.app.merged_orders): list them, read the queue
depth, cancel queued ones one by one or in bulk, in tasks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..http import as_utc
from ..services import registry
from ..services.base import Capability
from .merged_orders import (  # noqa: F401 - CancelVerdict for callers
    CancelOutcome,
    CancelVerdict,
    MergedFilter,
    MergedOrders,
    MergedSource,
    cancel_refusable,
)
from .orders_background import TaskGroup

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


def can_cancel(order: Any) -> CancelVerdict:
    if order.state in CANCELLABLE_STATES:
        return CancelVerdict(True)
    return CancelVerdict(False, f"Only queued archive orders can be cancelled; '{order.name or order.id}' is "
                                f"{order.state}.")


@dataclass(frozen=True)
class ArchiveFilter(MergedFilter):
    """What the Orders tab's filters ask of the archive orders (`source_type`: scenes or basemaps; the tab's
    filters give it as `kind`)."""

    source_type: Optional[str] = None

    def params(self) -> Dict[str, Any]:
        return listing_params(self)


def listing_params(wanted: MergedFilter) -> Dict[str, Any]:
    """The archive listing's server-side filters (the name is filtered here: the API has no name filter)."""
    params: Dict[str, Any] = {}
    if wanted.states:
        params["state"] = list(wanted.states)
    source_type = wanted.kind or getattr(wanted, "source_type", None)
    if source_type:
        params["source_type"] = source_type
    for key, low, high in (("created_on", wanted.created_after, wanted.created_before),
                           ("last_modified", wanted.updated_after, wanted.updated_before)):
        if low is not None or high is not None:
            params[key] = f"{_stamp(low)}/{_stamp(high)}"
    return params


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


def ArchiveCancelOutcome(**kwargs: Any) -> CancelOutcome:  # noqa: N802 - the outcome's name before sources
    """A cancel's outcome for archive orders ("3 archive orders cancelled.")."""
    return CancelOutcome("archive order", **kwargs)


def list_orders(client: Any, wanted: ArchiveFilter, is_canceled: Optional[Callable[[], bool]] = None) -> List[Any]:
    """Every archive order matching (the service lists those of its last three months: a few thousand at
    most), newest first."""
    if wanted.matches_nothing:
        return []
    return [order for order in client.iter_orders(page_size=500, is_canceled=is_canceled, **listing_params(wanted))
            if wanted.keeps_name(order)]


def queue_depth(client: Any) -> QueueDepth:
    """The queue depth of the user's organisation (the user's own when the service says only that)."""
    stats = client.stats()
    counts = stats.get("organization") or stats.get("user") or {}
    if not isinstance(counts, Mapping):
        counts = {}
    return QueueDepth(int(counts.get("queued_orders") or 0), int(counts.get("running_orders") or 0))


def cancel_one(client: Any, order_id: str) -> Tuple[CancelOutcome, Optional[Any]]:
    """Cancel one order; a refusal (it is not queued any more) is the outcome, not an error. The order
    as the service answered comes back with it (None when refused)."""
    outcome = ArchiveCancelOutcome()
    _, fresh = cancel_refusable(client, order_id, outcome)
    return outcome, fresh


def cancel_many(client: Any, order_ids: Sequence[str]) -> CancelOutcome:
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


class ArchiveSource(MergedSource):
    """Planet's archive imagery orders in the Orders tab: their state as Status, scenes or basemaps as Type."""

    label = "Archive"
    noun = "archive order"
    kinds = SOURCE_TYPES
    open_states = OPEN_STATES
    columns = {"status": "state", "order_type": "source_type", "created_time": "created_on",
               "updated_time": "last_modified"}
    not_cancellable = "are not queued"
    choice = "archive"

    def __init__(self, service_id: str):
        self.key = service_id
        self.states = tuple(registry.service(service_id).order_statuses)

    def value(self, order: Any, attribute: str) -> Any:
        if attribute == "result_count":
            return sum(1 for result in order.results if not result.is_manifest)
        return super().value(order, attribute)

    def tooltip(self, order: Any) -> str:
        lines = [f"Archive order ({order.source_type}): {order.state}"]
        if order.last_message:
            lines.append(order.last_message)
        lines.extend(order.error_hints[:5])
        return "\n".join(lines)

    def list_orders(self, client: Any, wanted: MergedFilter, is_canceled: Optional[Callable[[], bool]] = None
                    ) -> List[Any]:
        return list_orders(client, wanted, is_canceled)

    def can_cancel(self, order: Any) -> CancelVerdict:
        return can_cancel(order)

    def cancel(self, client: Any, order_ids: Sequence[str]) -> Tuple[CancelOutcome, Optional[Any]]:
        """One order by its own request, several by one bulk cancel."""
        if len(order_ids) == 1:
            return cancel_one(client, order_ids[0])
        return cancel_many(client, order_ids), None


def archive_source() -> Optional[ArchiveSource]:
    """The archive service as a source of the Orders tab's list (None when none is registered)."""
    service_id = archive_service_id()
    return ArchiveSource(service_id) if service_id else None


class ArchiveOrders(MergedOrders):
    """The archive side of the Orders tab: listing and cancelling as any source, and the queue depth.

    `client_factory()` gives a client of the archive service or None (not configured).
    """

    depthRead = pyqtSignal(object)  # noqa: N815 - a QueueDepth
    depthFailed = pyqtSignal(object)  # noqa: N815

    def __init__(self, client_factory: Callable[[], Any], tasks: TaskGroup, parent: Optional[QObject] = None,
                 source: Optional[ArchiveSource] = None):
        super().__init__(source or archive_source() or ArchiveSource("planet_orders"), client_factory, tasks, parent)

    def load(self, wanted: MergedFilter) -> bool:
        """List the orders matching and read the queue depth; False when there is no client."""
        if not super().load(wanted):
            return False
        self.read_depth()
        return True

    def read_depth(self) -> None:
        client = self.client_factory()
        if client is None:
            return
        self.tasks.run("Reading the archive queue", lambda feedback: queue_depth(client), self.depthRead.emit,
                       self.depthFailed.emit)
