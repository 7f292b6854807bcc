"""The orders refresh loop's logic: an interval that backs off while nothing changes, and change detection by id."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from .models import Order

# Fields whose change is worth marking a row for; updated_time alone moves with every internal touch.
WATCHED_FIELDS = (
    "status", "name", "start_time", "end_time", "is_cancellable", "fulfilled_sqkm", "capture_status_published_count",
    "capture_assessment_success_count", "capture_assessment_invalid_count", "next_planned_acquisition_time",
    "last_acquired_time", "cancelled_time",
)

# The documented surprises (planet-tasking-api.txt, "Edge cases"), explained in the changed row's tooltip.
EDGE_CASE_NOTES: Dict[Tuple[str, str], str] = {
    ("EXPIRED", "FULFILLED"): "The order expired before its fulfilling capture was published; when the capture "
                              "was published the order became FULFILLED (documented edge case).",
    ("FULFILLED", "IN_PROGRESS"): "A capture was manually reassessed as INVALID, so the order is being tasked "
                                  "again (documented edge case).",
    ("FULFILLED", "EXPIRED"): "A capture was manually reassessed as INVALID after the order's end time "
                              "(documented edge case).",
    ("FULFILLED", "FAILED"): "The assured order's capture was manually reassessed as INVALID.",
    ("IN_PROGRESS", "FULFILLED"): "A capture was assessed (or manually reassessed) as SUCCESS.",
}


class AdaptiveInterval:
    """Seconds until the next automatic refresh: short after a change, growing by `factor` while quiet.

    Orders change on the scale of minutes to hours (acceptance, acquisition, publication), so polling
    every few seconds only costs requests; right after a change more is likely to follow (a capture
    publishes, then the order fulfils), so the interval drops back to the minimum.
    """

    def __init__(self, minimum: float = 20.0, maximum: float = 300.0, factor: float = 1.6):
        if not 0 < minimum <= maximum or factor < 1:
            raise ValueError("need 0 < minimum <= maximum and factor >= 1")
        self.minimum = minimum
        self.maximum = maximum
        self.factor = factor
        self.current = minimum

    def after_refresh(self, changed: bool) -> float:
        """The interval to wait after a refresh that did (or did not) find changes."""
        self.current = self.minimum if changed else min(self.maximum, self.current * self.factor)
        return self.current

    def reset(self) -> float:
        """Back to the minimum (the user acted: edited, cancelled, changed filters)."""
        self.current = self.minimum
        return self.current


def _value(order: Order, name: str) -> Any:
    return getattr(order, name, None)


@dataclass
class OrderChange:
    """How one order differs from what the view showed before."""

    order_id: str
    fields: Dict[str, Tuple[Any, Any]]

    @property
    def status_change(self) -> Optional[Tuple[Any, Any]]:
        return self.fields.get("status")

    def describe(self) -> str:
        lines = []
        status = self.status_change
        if status:
            lines.append(f"Status {status[0]} → {status[1]}")
            note = EDGE_CASE_NOTES.get((status[0], status[1]))
            if note:
                lines.append(note)
        for name, (old, new) in self.fields.items():
            if name != "status":
                lines.append(f"{name}: {_text(old)} → {_text(new)}")
        return "\n".join(lines)


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return "—" if value is None else str(value)


@dataclass
class ChangeSet:
    """What a refresh found, compared with the orders shown before it."""

    changed: Dict[str, OrderChange] = field(default_factory=dict)
    added: List[str] = field(default_factory=list)
    removed: List[str] = field(default_factory=list)

    @property
    def any(self) -> bool:
        return bool(self.changed or self.added or self.removed)


def compare_order(old: Order, new: Order, watched: Iterable[str] = WATCHED_FIELDS) -> Optional[OrderChange]:
    differences = {name: (_value(old, name), _value(new, name)) for name in watched
                   if _value(old, name) != _value(new, name)}
    return OrderChange(new.id, differences) if differences else None


def diff_orders(before: Mapping[str, Order], after: Iterable[Order],
                watched: Iterable[str] = WATCHED_FIELDS) -> ChangeSet:
    """Changes between the orders shown (by id) and a fresh listing of the same view."""
    watched = tuple(watched)
    changes = ChangeSet()
    seen = set()
    for order in after:
        seen.add(order.id)
        previous = before.get(order.id)
        if previous is None:
            changes.added.append(order.id)
            continue
        change = compare_order(previous, order, watched)
        if change is not None:
            changes.changed[order.id] = change
    changes.removed = [order_id for order_id in before if order_id not in seen]
    return changes


@dataclass
class Probe:
    """The cheapest "did anything change?" answer: orders updated after the watermark (no view filters)."""

    count: int
    latest: Optional[datetime]


def probe_changes(client, watermark: Optional[datetime]) -> Probe:
    """One small request: how many of the account's orders were updated after `watermark`, and the newest
    updated_time. No view filter is applied, so an order that left the view's filter is seen too."""
    filters: Dict[str, Any] = {}
    if watermark is not None:
        filters["updated_time__gt"] = watermark
    page = client.list_orders(limit=1, fields=["id", "updated_time"], ordering=["-updated_time"], **filters)
    latest = page.results[0].updated_time if page.results else None
    return Probe(page.count, latest or watermark)


def reload_window(client, count: int, query: Mapping[str, Any], page_size: int = 500,
                  is_canceled: Optional[Callable[[], bool]] = None,
                  footprints: Optional[Dict[str, Optional[bytes]]] = None) -> Tuple[List[Order], int]:
    """The first `count` orders of the view again (same filters and ordering), and the view's total now.

    With a `footprints` dict, each page is made compact as it arrives (see compact_orders) and the
    footprints go into the dict: the full JSON of a whole window never exists at once.
    """
    orders: List[Order] = []
    total = 0
    offset = 0
    want = max(count, 1)
    while offset < want:
        if is_canceled is not None and is_canceled():
            break
        page = client.list_orders(limit=min(page_size, want - offset), offset=offset, **query)
        total = page.count
        if footprints is None:
            orders.extend(page.results)
        else:
            compact, prints = compact_orders(page.results)
            orders.extend(compact)
            footprints.update(prints)
        if not page.results or page.next is None:
            break
        offset += len(page.results)
    return orders, total


# -- compact copies ---------------------------------------------------------------------------------------
# A view of 10,000 orders kept as parsed JSON holds ~140,000 lists and dicts (coordinates, `raw`), which
# Python's cycle collector scans on every full collection: 70-200 ms with the GIL held, a visible stall.
# The view keeps orders without `raw` and geometries, and footprints as WKB bytes (not scanned).

def _footprint_wkb(*geometries: Optional[dict]) -> Optional[bytes]:
    from .layers import POLYGONAL_TYPES, geojson_to_wkb

    for geometry in geometries:
        if isinstance(geometry, dict) and geometry.get("type") in POLYGONAL_TYPES:
            return geojson_to_wkb(geometry)
    return None


def compact_orders(orders: Iterable[Order]) -> Tuple[List[Order], Dict[str, Optional[bytes]]]:
    """Orders without `raw`/geometries, and {order id: footprint WKB} (the polygon the service tasks)."""
    compact, footprints = [], {}
    for order in orders:
        footprints[order.id] = _footprint_wkb(order.geometry, order.original_geometry)
        compact.append(replace(order, geometry=None, original_geometry=None, raw={}))
    return compact, footprints


def compact_captures(captures: Iterable[Any]) -> Tuple[List[Any], Dict[str, Optional[bytes]]]:
    """Captures without `raw`/geometry, and {capture id: footprint WKB}."""
    compact, footprints = [], {}
    for capture in captures:
        footprints[capture.id] = _footprint_wkb(capture.geometry)
        compact.append(replace(capture, geometry=None, raw={}))
    return compact, footprints


def order_features(orders: Iterable[Order], footprints: Mapping[str, Optional[bytes]]):
    """PreparedFeatures for the orders layer from compact orders and their footprints (geometries built)."""
    from .layers import ORDERS, PreparedFeatures, order_row

    prepared = PreparedFeatures(ORDERS)
    for order in orders:
        prepared.rows[order.id] = order_row(order)
        prepared.sources[order.id] = footprints.get(order.id)
    return prepared.build_geometries()


def capture_features(captures: Iterable[Any], footprints: Mapping[str, Optional[bytes]],
                     exclusivity_days: Mapping[str, Optional[int]]):
    """PreparedFeatures for the captures layer (exclusivity_end from each order's exclusivity_days)."""
    from .layers import CAPTURES, PreparedFeatures, capture_row

    prepared = PreparedFeatures(CAPTURES)
    for capture in captures:
        prepared.rows[capture.id] = capture_row(capture, exclusivity_days.get(capture.order_id))
        prepared.sources[capture.id] = footprints.get(capture.id)
    return prepared.build_geometries()
