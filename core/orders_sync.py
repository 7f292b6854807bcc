"""The orders refresh loop's logic: an interval that backs off while nothing changes, and change detection by id."""

from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, Iterator, List, Mapping, Optional, Tuple

from .services.planet_tasking.models import Order

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
                  footprints: Optional[Dict[str, Optional[bytes]]] = None,
                  progress: Optional[Callable[[float], None]] = None) -> Tuple[List[Order], int]:
    """The first `count` orders of the view again (same filters and ordering), and the view's total now.

    `progress(percent)` is called after each page (a window of 10,000 orders is a hundred requests).

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
        if progress is not None:
            progress(100.0 * min(offset + len(page.results), want) / want)
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
    from .layers import PreparedFeatures
    from .services.planet_tasking.layers import ORDERS, order_row

    prepared = PreparedFeatures(ORDERS)
    for order in orders:
        prepared.rows[order.id] = order_row(order)
        prepared.sources[order.id] = footprints.get(order.id)
    return prepared.build_geometries()


def capture_features(captures: Iterable[Any], footprints: Mapping[str, Optional[bytes]],
                     exclusivity_days: Mapping[str, Optional[int]]):
    """PreparedFeatures for the captures layer (exclusivity_end from each order's exclusivity_days)."""
    from .layers import PreparedFeatures
    from .services.planet_tasking.layers import CAPTURES, capture_row

    prepared = PreparedFeatures(CAPTURES)
    for capture in captures:
        prepared.rows[capture.id] = capture_row(capture, exclusivity_days.get(capture.order_id))
        prepared.sources[capture.id] = footprints.get(capture.id)
    return prepared.build_geometries()


# -- the map mirror: every order matching the filters, and all their captures -------------------------------
# The table loads pages as the user scrolls; the map shows everything the filters match. A background
# listing streams parts (one page of orders and the captures of those that changed) to the main thread,
# which writes each into the layers in slices.

# Order ids per GET /captures/?order_id=a,b,...: 100 uuids keep the URL near 3,700 characters, well under
# the 8 KB many proxies and servers allow.
CAPTURE_IDS_PER_REQUEST = 100
# Stable under orders being created meanwhile (they sort last), so offset pages neither skip nor repeat them.
MIRROR_ORDERING = ("created_time", "id")


def mirror_fields() -> Tuple[str, ...]:
    """The order fields the orders layer shows, plus the footprints: the listing asks for nothing else."""
    from .services.planet_tasking.layers import ORDER_FIELDS

    return tuple(name for name, _ in ORDER_FIELDS) + ("geometry", "original_geometry")


@dataclass
class MapPart:
    """One page of the map mirror: order rows, and every capture of the orders in `captures_for`."""

    orders: Any  # core.layers.PreparedFeatures of ORDERS
    captures: Any  # core.layers.PreparedFeatures of CAPTURES
    captures_for: List[str]
    updated: Dict[str, Optional[int]]  # order id -> updated_time (ms), recorded once the part is written
    listed: int  # orders listed so far in this run
    total: int  # orders matching the filters when the run started


def mirror_filters(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The view's list_orders parameters without its ordering (the mirror uses its own)."""
    return {key: value for key, value in params.items() if key != "ordering"}


def newest_capture_time(client) -> Optional[datetime]:
    """The latest updated_time of any capture of the account (one small request), or None."""
    page = client.list_captures(limit=1, fields=["id", "updated_time"], ordering=["-updated_time"])
    return page.results[0].updated_time if page.results else None


def mirror_orders(client, params: Mapping[str, Any], known: Mapping[str, Optional[int]],
                  deliver: Callable[[MapPart], None], *, page_size: int = 100,
                  is_canceled: Optional[Callable[[], bool]] = None,
                  captures_since: Optional[datetime] = None) -> Tuple[set, int, Optional[datetime]]:
    """List every order matching `params` (view filters) page by page and `deliver` each page as a MapPart.

    Captures are read by order (CAPTURE_IDS_PER_REQUEST order ids per request) for orders that are new to
    the map or whose updated_time differs from `known` (order id -> updated_time ms when last written): the
    service touches an order when one of its captures is queued, acquired, published or reassessed. In case
    a capture changes without its order being touched, the captures updated since `captures_since` (the
    previous run's watermark) are read too, in one listing, and those of listed orders delivered last.
    Geometries are built here only for what changed; unchanged features are compared as WKB by apply_prepared.
    Returns (ids listed, total, watermark for the next run) — complete only if not cancelled.
    """
    from .layers import PreparedFeatures, epoch_ms
    from .services.planet_tasking.layers import CAPTURES, ORDERS, capture_row, order_row

    filters = mirror_filters(params)
    # Read before anything else, so a capture changed while this run lists is newer than the watermark.
    watermark = newest_capture_time(client) or captures_since
    total = client.count_orders(**filters)
    read: set = set()  # orders whose captures this run read in full
    exclusivity: Dict[str, Optional[int]] = {}
    seen: set = set()
    batch: List[Order] = []

    def flush() -> None:
        orders = PreparedFeatures(ORDERS)
        updated: Dict[str, Optional[int]] = {}
        days: Dict[str, Optional[int]] = {}
        stale: List[str] = []
        for order in batch:
            row = order_row(order)
            orders.rows[order.id] = row
            orders.sources[order.id] = _footprint_wkb(order.geometry, order.original_geometry)
            updated[order.id] = epoch_ms(order.updated_time)
            days[order.id] = order.exclusivity_days
            if order.id not in known or known[order.id] != updated[order.id]:
                stale.append(order.id)
        exclusivity.update(days)
        read.update(stale)
        batch.clear()
        for order_id in stale:
            orders.geometries[order_id] = _geometry(orders.sources[order_id])
        captures = PreparedFeatures(CAPTURES)
        for start in range(0, len(stale), CAPTURE_IDS_PER_REQUEST):
            chunk = stale[start:start + CAPTURE_IDS_PER_REQUEST]
            for capture in client.iter_captures(chunk, page_size=500, is_canceled=is_canceled):
                captures.rows[capture.id] = capture_row(capture, days.get(capture.order_id))
                captures.sources[capture.id] = _footprint_wkb(capture.geometry)
        captures.build_geometries()
        deliver(MapPart(orders, captures, stale, updated, len(seen), total))

    for order in client.iter_orders(page_size=page_size, fields=list(mirror_fields()),
                                    ordering=list(MIRROR_ORDERING), is_canceled=is_canceled, **filters):
        if order.id in seen:
            continue  # the listing shifted under us: the order was already delivered
        seen.add(order.id)
        batch.append(order)
        if len(batch) >= page_size:
            flush()
    if batch:
        flush()
    if captures_since is not None:
        changed = PreparedFeatures(CAPTURES)
        for capture in client.iter_captures(None, page_size=500, is_canceled=is_canceled,
                                            updated_time__gte=captures_since):
            if capture.order_id in seen and capture.order_id not in read:
                changed.rows[capture.id] = capture_row(capture, exclusivity.get(capture.order_id))
                changed.sources[capture.id] = _footprint_wkb(capture.geometry)
        if changed.rows:
            deliver(MapPart(PreparedFeatures(ORDERS), changed.build_geometries(), [], {}, len(seen), total))
    return seen, total, watermark


def _geometry(wkb: Optional[bytes]):
    from .layers import wkb_to_geometry

    return wkb_to_geometry(wkb)


# -- the cycle collector during background loads ---------------------------------------------------------
# Measured (bench/bench_orders_view.py, gc.callbacks): the GUI stalls over 50 ms are full (generation 2)
# collections, 30-40 ms each with the GIL held, run by whichever thread allocates when one is due, plus
# the main thread's own work around them. A full collection walks every tracked object of the process:
# ~92,000 with 10,000 orders loaded, ~70,000 of them QGIS's, PyQt's and the plugins' (modules, classes,
# functions). They are due this often because each young collection during a load promotes the page
# being parsed (JSON dicts and lists of ~100 orders) to the old generation, where it counts towards the
# next full collection although it dies a moment later: 1-4 full collections per load of 10,000 orders.
# Without any collector setting the bench's longest GUI gap was 38-54 ms (load), 55-68 ms (refresh) and
# 49-82 ms (map rebuild).
#
# So while a load runs, what existed when it started is frozen (gc.freeze) and unfrozen (gc.unfreeze)
# as soon as the last running load ends, on every path (finished, failed, cancelled, unloaded: the
# context manager's finally). Full collections during a load then walk only what the load made. This is
# process-wide state, acceptable because it is temporary and changes no object's fate: a frozen object
# is still freed by reference counting; only a reference cycle that becomes garbage while frozen waits
# until the load ends, when the next full collection frees it. Nested loads (several threads) share one
# freeze: the first to start freezes, the last to end unfreezes; if something else froze objects first,
# this leaves the collector alone rather than undo that freeze later. The thresholds stay QGIS's, and nothing
# stays frozen between loads (a permanent gc.freeze() would keep every plugin's cycles made before it
# from ever being collected). Measured, 5 runs each: longest GUI gap 21-23 ms (load), 20-35 ms (refresh),
# 21-22 ms (map rebuild); the permanent freeze plus a young threshold of 5,000 it replaces gave 23-27,
# 23-44 and 23-25 ms.
_quiet_lock = threading.Lock()
_quiet_users = 0
_froze = False  # whether this module froze (someone else's freeze is left alone: unfreezing would undo it)


@contextmanager
def quiet_collector() -> Iterator[None]:
    """Keep the objects that existed before a background load out of full collections while it runs."""
    global _quiet_users, _froze
    with _quiet_lock:
        if _quiet_users == 0 and gc.get_freeze_count() == 0:
            gc.freeze()
            _froze = True
        _quiet_users += 1
    try:
        yield
    finally:
        with _quiet_lock:
            _quiet_users -= 1
            if _quiet_users == 0 and _froze:
                gc.unfreeze()
                _froze = False
