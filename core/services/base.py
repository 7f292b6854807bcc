"""What a service adapter is: its capabilities, the Protocols its client meets, and its descriptor."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Callable, FrozenSet, Iterable, Iterator, Mapping, Optional, Protocol, Sequence, Tuple


class Capability(str, enum.Enum):
    """What a service can do; the dock, the bulk dialogs and Processing offer only what the active one can."""

    QUOTE = "quote"  # price an order before placing it
    PLACE = "place"  # place one order
    WINDOW_SEARCH = "window_search"  # search imaging windows for an assured order
    EDIT = "edit"  # change an order's name or times
    CANCEL = "cancel"  # cancel an order
    CHARGED_CANCELLATION = "charged_cancellation"  # a cancel may cost; the user must consent
    CAPTURES = "captures"  # list what was captured for an order
    BULK = "bulk"  # create, edit or cancel many orders in one asynchronous job
    ARCHIVE_ORDER = "archive_order"  # order imagery that already exists
    DOWNLOAD = "download"  # download delivered imagery
    SCHEMA_FORM = "schema_form"  # the order form comes from a product's JSON Schema
    DECISIONS = "decisions"  # orders wait for the user's choice of a feasibility option or a quotation


class OrderLike(Protocol):
    """The little the workflows need of any service's order: who it is and what state it is in."""

    id: str
    name: Optional[str]
    status: Optional[str]


class PageLike(Protocol):
    """One page of a listing: its items, the total count and whether there is more."""

    results: Sequence[Any]
    count: Optional[int]


class OrderReader(Protocol):
    """Read orders: one, a page, or all of them. The map's listings pass `geometry_as_wkb=True` to iter_orders and
    iter_captures: geometries may then come as WKB bytes (a client may also keep them GeoJSON)."""

    def get_order(self, order_id: str) -> Any: ...

    def list_orders(self, **params: Any) -> PageLike: ...

    def iter_orders(self, **params: Any) -> Iterator[Any]: ...


class Quoting(Protocol):
    """Price an order payload before it is placed (answers may arrive out of order; see core.app.quote)."""

    def preview_pricing(self, payload: Mapping[str, Any]) -> Any: ...


class Placing(Protocol):
    """Place one order; the client never places it twice (a lost answer is looked up before a re-send)."""

    def create_order(self, payload: Mapping[str, Any], *, is_canceled: Any = None) -> OrderLike: ...


class Editing(Protocol):
    def edit_order(self, order_id: str, **changes: Any) -> Any: ...


class Cancelling(Protocol):
    """Cancel one order; raises core.errors.CancellationChargeRequired until the charge is accepted."""

    def cancel_order(self, order_id: str, *, accept_cancellation_charge: bool = False) -> None: ...


class WindowSearching(Protocol):
    """Search imaging windows asynchronously: start, read its state, or wait (polling) until it is done."""

    def start_imaging_window_search(self, geometry: Mapping[str, Any], **search: Any) -> Any: ...

    def get_imaging_window_search(self, search_id: str, **kwargs: Any) -> Any: ...

    def wait_imaging_window_search(self, search_id: str, **kwargs: Any) -> Any: ...


class CaptureReader(Protocol):
    def iter_captures(self, order_ids: Any = None, **params: Any) -> Iterator[Any]: ...


class BulkSending(Protocol):
    def create_bulk(self, payloads: Iterable[Mapping[str, Any]], operation_type: str = "CREATE", **kwargs: Any) -> Any: ...

    def get_bulk(self, bulk_id: str) -> Any: ...

    def iter_bulk_payloads(self, bulk_id: str, **kwargs: Any) -> Iterator[Any]: ...


class ArchiveOrdering(Protocol):
    """Order imagery that already exists, and follow the order until the service has finished it."""

    def create_order(self, request: Any, *, is_canceled: Any = None) -> OrderLike: ...

    def get_order(self, order_id: str) -> Any: ...

    def wait_for(self, order: Any, *, is_canceled: Any = None, on_progress: Any = None, **kwargs: Any) -> Any: ...


class Downloading(Protocol):
    """Download a finished order's files into a folder, resuming what an earlier try left (`.part` files)."""

    def download_results(self, order: Any, folder: Any, *, is_canceled: Any = None, progress: Any = None) -> Any: ...


# Which Protocol a client must meet for each capability (checked by the adapter tests).
PROTOCOLS = {
    Capability.QUOTE: Quoting,
    Capability.PLACE: Placing,
    Capability.WINDOW_SEARCH: WindowSearching,
    Capability.EDIT: Editing,
    Capability.CANCEL: Cancelling,
    Capability.CHARGED_CANCELLATION: Cancelling,
    Capability.CAPTURES: CaptureReader,
    Capability.BULK: BulkSending,
    Capability.ARCHIVE_ORDER: ArchiveOrdering,
    Capability.DOWNLOAD: Downloading,
}


@dataclass(frozen=True)
class ServiceDescriptor:
    """One service as the rest of the plugin sees it: a name, what it can do, and how to connect.

    `connect(base_url, api_key)` makes a client (one per thread: give each task its own). `rules` is the
    module holding the service's order rules (what may be edited or cancelled in which state), `layers`
    the module holding its layer schemas, `forms` the module turning an order form into the service's
    requests: workflows reach all three only through here, never by importing the service's package.
    """

    id: str
    title: str
    capabilities: FrozenSet[Capability]
    connect: Callable[[str, str], Any]
    rules: Any = None
    layers: Any = None
    forms: Any = None
    order_statuses: Tuple[str, ...] = ()
    extras: Mapping[str, Any] = field(default_factory=dict)

    def can(self, capability: Capability) -> bool:
        return capability in self.capabilities


def missing_methods(client: Any, capabilities: Iterable[Capability]) -> Tuple[str, ...]:
    """The methods `client` lacks for the capabilities it claims (empty when it meets them all)."""
    missing = []
    for capability in capabilities:
        protocol = PROTOCOLS.get(capability)
        if protocol is None:
            continue
        for name in dir(protocol):
            if not name.startswith("_") and callable(getattr(protocol, name, None)) and not callable(getattr(client, name, None)):
                missing.append(f"{capability.value}: {name}")
    return tuple(sorted(set(missing)))

