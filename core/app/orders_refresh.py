"""The orders auto-refresh: a cheap probe, an interval that backs off while nothing changes, the loaded window read
again, and the changes marked by id."""

from __future__ import annotations

import pickle
import threading
import time
from dataclasses import dataclass, field, fields, is_dataclass, replace
from datetime import datetime
from operator import attrgetter
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from ..services import registry
from .orders_background import TaskGroup, error_text

Order = Any  # any service's order (id, updated_time and the watched fields)

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
    # The service's explanation of a surprising status change (its rules' STATUS_CHANGE_NOTES), if any.
    note: Optional[str] = None

    @property
    def status_change(self) -> Optional[Tuple[Any, Any]]:
        return self.fields.get("status")

    def describe(self) -> str:
        lines = []
        status = self.status_change
        if status:
            lines.append(f"Status {status[0]} → {status[1]}")
            if self.note:
                lines.append(self.note)
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


def compare_order(old: Order, new: Order, rules: Any = None) -> Optional[OrderChange]:
    """How `new` differs from `old` in the fields the service's rules watch (None: not worth marking)."""
    rules = rules or registry.service().rules
    differences = {name: (_value(old, name), _value(new, name)) for name in rules.WATCHED_FIELDS
                   if _value(old, name) != _value(new, name)}
    if not differences:
        return None
    status = differences.get("status")
    note = rules.STATUS_CHANGE_NOTES.get(status) if status else None
    return OrderChange(new.id, differences, note)


def diff_orders(before: Mapping[str, Order], after: Iterable[Order], rules: Any = None) -> ChangeSet:
    """Changes between the orders shown (by id) and a fresh listing of the same view (orders or packed rows)."""
    rules = rules or registry.service().rules
    changes = ChangeSet()
    seen = set()
    for order in after:
        order = unpack_order(order)
        seen.add(order.id)
        previous = before.get(order.id)
        if previous is None:
            changes.added.append(order.id)
            continue
        change = compare_order(previous, order, rules)
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


# Items updated at one instant a ChangeMark keeps; with more at the newest instant it cannot say "unchanged".
MARK_ROWS = 100


@dataclass(frozen=True)
class ChangeMark:
    """The newest change of a listing (the account's orders, or captures): its updated_time, and the row shown
    of every item updated at that instant.

    The listing is unchanged since the mark when no item is newer and those at that instant show the same rows:
    one small request (unchanged_since). The rows are kept because a clock can stand still, as the sandbox's does
    between its steps, and give several changes one instant; an item changed again within that instant then
    still differs in what it shows.
    """

    latest: Optional[datetime]
    rows: frozenset


def take_mark(list_items: Callable[..., Any], row: Callable[[Any], tuple],
              fields: Optional[Sequence[str]] = None) -> Optional[ChangeMark]:
    """The ChangeMark of `list_items` (a client's list_orders or list_captures, asked for `fields`, each item
    shown as `row(item)`); None when more than MARK_ROWS items share the newest instant. Two small requests."""
    newest = list_items(limit=1, fields=["id", "updated_time"], ordering=["-updated_time"]).results
    if not newest or newest[0].updated_time is None:
        return ChangeMark(None, frozenset()) if not newest else None
    latest = newest[0].updated_time
    page = list_items(limit=MARK_ROWS, fields=fields, ordering=["-updated_time"], updated_time__gte=latest)
    rows = frozenset(row(item) for item in page.results if item.updated_time == latest)
    if page.count > MARK_ROWS or len(rows) != len(page.results):
        return None  # too many at that instant, or the listing moved meanwhile: no mark to trust
    return ChangeMark(latest, rows)


def unchanged_since(list_items: Callable[..., Any], row: Callable[[Any], tuple], mark: Optional[ChangeMark],
                    fields: Optional[Sequence[str]] = None) -> bool:
    """Whether the listing is as it was when `mark` was taken (see ChangeMark); one small request."""
    if mark is None:
        return False
    if mark.latest is None:
        return list_items(limit=1, fields=["id"]).count == 0
    # No ordering asked: whichever order they come in, all of them or one more than the mark holds says it.
    page = list_items(limit=len(mark.rows) + 1, fields=fields, updated_time__gte=mark.latest)
    return page.count == len(mark.rows) and frozenset(row(item) for item in page.results) == mark.rows


# A refresh asks the account's orders "anything changed since the mark?" twice at once: for the table's window and
# for the map, whose marks are taken alike. One request answers both: the questions asked for in one turn of the main
# thread's event loop (one press of Refresh starts both) share one request (see refresh_turn). A refresh asked for in
# a later turn asks again, so a change made before it was asked for is always seen.
# Answers are forgotten this long after they were asked.
ANSWER_KEPT_S = 5.0
_turn: Optional[object] = None


def refresh_turn() -> object:
    """A token of this turn of the main thread's event loop (call it there): the same for every refresh asked for
    before the loop turns again, a new one after."""
    global _turn
    if _turn is None:
        _turn = object()
        QTimer.singleShot(0, _end_turn)
    return _turn


def _end_turn() -> None:
    global _turn
    _turn = None


class _Answer:
    """One "anything changed?" request of the account's orders: its answer once `done` is set (None: it failed)."""

    def __init__(self) -> None:
        self.asked = time.monotonic()
        self.done = threading.Event()
        self.unchanged: Optional[bool] = None


_answers: Dict[tuple, _Answer] = {}
_answers_lock = threading.Lock()


def _account(client: Any) -> tuple:
    """Who `client` asks as: its service's address and key (an unknown kind of client only itself)."""
    transport = getattr(client, "transport", None)
    base_url, key = getattr(transport, "base_url", None), getattr(transport, "_api_key", None)
    return (type(client).__name__, base_url, key) if base_url and key else (id(client),)


def orders_unchanged_since(client: Any, mark: Optional[ChangeMark], turn: object) -> bool:
    """unchanged_since for the account's orders as the table and the map show them (order_mark_row, their fields),
    one request for all asking for the same `turn` (refresh_turn(), taken when the refresh was asked for). A failed
    request is not shared: a caller that waited for it asks again itself."""
    if mark is None:
        return False
    fields = order_mark_fields()
    key = (_account(client), mark, fields, turn)
    with _answers_lock:
        now = time.monotonic()
        for old in [k for k, answer in _answers.items() if now - answer.asked > ANSWER_KEPT_S]:
            del _answers[old]
        answer = _answers.get(key)
        mine = answer is None
        if mine:
            answer = _answers[key] = _Answer()
    if not mine:
        answer.done.wait()
        if answer.unchanged is not None:
            return answer.unchanged
        return unchanged_since(client.list_orders, order_mark_row, mark, fields)
    try:
        answer.unchanged = unchanged_since(client.list_orders, order_mark_row, mark, fields)
        return answer.unchanged
    finally:
        if answer.unchanged is None:
            with _answers_lock:  # failed: nobody later takes it
                if _answers.get(key) is answer:
                    del _answers[key]
        answer.done.set()


def order_mark_row(order: Order) -> tuple:
    """An order as a ChangeMark row: its row in the orders layer (every field the layer and the table show)."""
    return registry.service().layers.order_row(order)


def order_mark_fields() -> Tuple[str, ...]:
    return tuple(name for name, _ in registry.service().layers.ORDER_FIELDS)


def reload_window(client, count: int, query: Mapping[str, Any], page_size: int = 500,
                  is_canceled: Optional[Callable[[], bool]] = None,
                  footprints: Optional[Dict[str, Optional[bytes]]] = None,
                  progress: Optional[Callable[[float], None]] = None) -> Tuple[List[Order], int]:
    """The first `count` orders of the view again (same filters and ordering), and the view's total now.

    `progress(percent)` is called after each page (a window of 10,000 orders is a hundred requests).

    With a `footprints` dict, each page is made compact and packed as it arrives (see pack_compact_orders) and
    the footprints go into the dict: the full JSON of a whole window never exists at once.
    """
    orders: List[Order] = []
    total = 0
    offset = 0
    want = max(count, 1)
    while offset < want:
        if is_canceled is not None and is_canceled():
            break
        page = client.list_orders(limit=min(page_size, want - offset), offset=offset,
                                  geometry_as_wkb=footprints is not None, **query)
        total = page.count
        if footprints is None:
            orders.extend(page.results)
        else:
            packed, prints = pack_compact_orders(page.results)
            orders.extend(packed)
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

def footprint_wkb(*geometries: Union[dict, bytes, None]) -> Optional[bytes]:
    """The first polygonal one of `geometries` (GeoJSON, or WKB as geometry_as_wkb listings give) as WKB."""
    from ..layers import POLYGONAL_TYPES, geojson_to_wkb, is_polygonal_wkb

    for geometry in geometries:
        if isinstance(geometry, bytes) and is_polygonal_wkb(geometry):
            return geometry
        if isinstance(geometry, dict) and geometry.get("type") in POLYGONAL_TYPES:
            return geojson_to_wkb(geometry)
    return None


def pack_compact_orders(orders: Iterable[Order]) -> Tuple[List[Any], Dict[str, Optional[bytes]]]:
    """The orders as the view keeps them, packed (pack_order) without `raw` and geometries, and {order id:
    footprint WKB} (the polygon the service tasks). Each order's values are taken once, with no compact copy
    made and dropped (a page's worth of those was a tenth of a listing worker's time, with the GIL held); an
    order of a class that cannot be packed, or with a value pickle cannot write, is kept as such a copy."""
    packed, footprints = [], {}
    for order in orders:
        footprints[order.id] = footprint_wkb(order.geometry, order.original_geometry)
        kind = _kind(type(order))
        row = None
        if kind is not None:
            values = _GETTERS[kind](order)
            blanks = _GEOMETRY_POSITIONS[kind]
            if blanks and any(values[position] is not None for position in blanks):
                values = list(values)
                for position in blanks:
                    values[position] = None
                values = tuple(values)
            row = _dumped((kind,) + values)
        packed.append(row if row is not None else replace(order, geometry=None, original_geometry=None, raw={}))
    return packed, footprints


# -- packed rows ----------------------------------------------------------------------------------------------
# The table keeps each loaded order as the pickled tuple of its field values (str, int, float, bool, datetime,
# None), not as an order object: bytes, which the cycle collector does not track, so full collections do not walk
# the loaded orders (at 10,000 orders a full collection took 22 ms with order objects, 11 ms without). They were
# exact tuples before, untracked at the first collection that saw them; but a tuple counts towards the next young
# collection from birth, so the 10,000 rows of a load brought ~14 young collections, every tenth of which moved
# what was in flight then (~500 objects: pages, requests, pending steps) into the old generation, bringing full
# collections (20-40 ms of GIL here, whichever thread runs them) sooner. Pickled, a row is also a third of the
# memory (~320 bytes against ~900 with its values).
# An order object is made from its row only when one is asked for (details, selection, an edit), and freed after;
# the table reads a field from the row's values, unpickled once for the cells of a row (_values).
# A packed row is (kind, value of each field...): `kind` numbers the order class, an empty trailing `raw` is
# left out (its class's default makes it).

_KINDS: List[type] = []
_KIND_OF: Dict[type, int] = {}
_FIELD_INDEX: List[Dict[str, int]] = []
_GETTERS: List[Callable[[Any], tuple]] = []
_RAW_LAST: List[bool] = []
# The places of the geometry fields in _GETTERS' tuples (a compact order has none: see pack_compact_orders).
_GEOMETRY_POSITIONS: List[Tuple[int, ...]] = []
_GEOMETRY_FIELDS = ("geometry", "original_geometry")
_kinds_lock = threading.Lock()


def _kind(cls: type) -> Optional[int]:
    """The number of a packable order class (a dataclass whose fields all go to __init__), else None."""
    kind = _KIND_OF.get(cls)
    if kind is not None or cls in _KIND_OF:
        return kind
    with _kinds_lock:  # workers pack pages at once: one number per class, its lists appended together
        return _KIND_OF[cls] if cls in _KIND_OF else _new_kind(cls)


def _new_kind(cls: type) -> Optional[int]:
    names = [f.name for f in fields(cls) if f.init] if is_dataclass(cls) else []
    if not names or len(names) != len(fields(cls)):
        _KIND_OF[cls] = None  # type: ignore[assignment] - left as objects
        return None
    raw_last = names[-1] == "raw"
    kept = names[:-1] if raw_last else names
    kind = len(_KINDS)
    _KINDS.append(cls)
    _FIELD_INDEX.append({name: position for position, name in enumerate(names, 1)})
    getter = attrgetter(*kept)
    _GETTERS.append(getter if len(kept) > 1 else (lambda order, get=getter: (get(order),)))
    _RAW_LAST.append(raw_last)
    _GEOMETRY_POSITIONS.append(tuple(position for position, name in enumerate(kept) if name in _GEOMETRY_FIELDS))
    _KIND_OF[cls] = kind
    return kind


def _dumped(values: tuple) -> Optional[bytes]:
    """A packed row's bytes; None if a value cannot be pickled (the order is then kept as an object)."""
    try:
        return pickle.dumps(values, pickle.HIGHEST_PROTOCOL)
    except (pickle.PicklingError, TypeError, AttributeError):
        return None


# The values of the row read last: the table asks a row for each role of each of its cells in turn.
_last_values: Tuple[Optional[bytes], tuple] = (None, ())


def _values(row: bytes) -> tuple:
    """(kind, values...) of a packed row."""
    global _last_values
    last = _last_values  # one read: another thread may set it meanwhile
    if last[0] is row:
        return last[1]
    values = pickle.loads(row)  # noqa: S301 - bytes this module pickled, never read from outside
    _last_values = (row, values)
    return values


def pack_order(order: Any) -> Any:
    """An order as a packed row (see above); an order of a class that cannot be packed, or a packed row, as it is."""
    if type(order) is bytes:
        return order
    kind = _kind(type(order))
    if kind is None:
        return order
    values = (kind,) + _GETTERS[kind](order)
    if _RAW_LAST[kind] and order.raw:
        values += (order.raw,)
    row = _dumped(values)
    return row if row is not None else order


def pack_orders(orders: Iterable[Any]) -> List[Any]:
    return [pack_order(order) for order in orders]


def unpack_order(row: Any) -> Any:
    """The order object of a packed row (a new one each call); anything else as it is."""
    if type(row) is not bytes:
        return row
    values = _values(row)
    return _KINDS[values[0]](*values[1:])


def row_value(row: Any, name: str) -> Any:
    """One field of a packed row or of an order object (None: it has no such field), without making an order."""
    if type(row) is not bytes:
        return getattr(row, name, None)
    values = _values(row)
    position = _FIELD_INDEX[values[0]].get(name)
    return values[position] if position is not None and position < len(values) else None


def row_id(row: Any) -> Any:
    if type(row) is not bytes:
        return row.id
    values = _values(row)
    return values[_FIELD_INDEX[values[0]]["id"]]


class OrdersRefresh(QObject):
    """The automatic refresh of a loaded orders view: probe, adaptive interval, the window read again.

    `view` is the table model (its total, loading, generation, orders, page_size, query.params(),
    order_by_id() and packed_orders()); `client_factory()` gives a client or None. The timer probes after the
    interval; a probe that sees updated orders emits changesWaiting (the caller refreshes list and map); a window
    read again emits windowRead(packed rows, total, changes) (rows None: nothing changed, the rows shown stand), and
    the caller calls applied(changes) once shown.
    Pages and windows are packed (pack_order) in the worker, not by the GUI thread.
    """

    changesWaiting = pyqtSignal()  # noqa: N815 - Qt signal naming
    windowRead = pyqtSignal(object, int, object)  # noqa: N815 - packed rows (or None), total, ChangeSet
    footprintsRead = pyqtSignal(object)  # noqa: N815 - {order id: footprint WKB}
    failed = pyqtSignal(str)

    def __init__(self, view: Any, client_factory: Callable[[], Any], tasks: TaskGroup, *, auto: bool = True,
                 parent: Optional[QObject] = None):
        super().__init__(parent)
        self.view = view
        self.client_factory = client_factory
        self.tasks = tasks
        self.auto = auto
        self.interval = AdaptiveInterval()
        self.watermark: Optional[datetime] = None
        # The account's orders when the view was last read in full (see ChangeMark): a refresh that finds them
        # unchanged reads nothing more. None: unknown, the next refresh reads the window.
        self.mark: Optional[ChangeMark] = None
        self.refreshing = False
        self.last_error: Optional[BaseException] = None  # what made the last `failed` (whether unreachable)
        # QGIS's auth database refused the key (locked, master password not given): automatic refreshes
        # stop, or each would ask for the master password again, until the settings are applied anew.
        self.blocked = False
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self.check)

    def schedule(self, seconds: Optional[float] = None) -> None:
        if not self.auto or self.tasks.closed or self.blocked:
            return
        self.timer.start(int(1000 * (seconds if seconds is not None else self.interval.current)))

    def probe_baseline(self) -> None:
        """Learn the account's newest updated_time, so the first check asks only for what changed after it."""
        if self.tasks.closed:
            return
        client = self.client_factory()
        if client is None:
            return

        self.mark = None

        def done(mark) -> None:
            self.mark = mark
            if mark is not None and mark.latest is not None and (self.watermark is None or mark.latest > self.watermark):
                self.watermark = mark.latest

        self.tasks.run("Checking tasking orders",
                       lambda feedback: take_mark(client.list_orders, order_mark_row, order_mark_fields()), done,
                       lambda error: None)

    def check(self) -> None:
        """The timer's probe: anything updated since the watermark means a refresh now, else wait longer."""
        if self.tasks.closed:
            return
        if self.refreshing or self.view.loading or self.view.total is None:
            self.schedule(5)
            return
        client = self.client_factory()
        if client is None:
            return
        watermark = self.watermark

        def done(probe) -> None:
            if probe.count > 0:
                self.changesWaiting.emit()
            else:
                self.schedule(self.interval.after_refresh(False))

        self.tasks.run("Checking tasking orders", lambda feedback: probe_changes(client, watermark), done,
                       lambda error: self.schedule(self.interval.after_refresh(False)))

    def refresh_window(self) -> None:
        """Read the loaded window again (same filters and ordering) and find what changed in it."""
        if self.tasks.closed or self.refreshing or self.view.total is None:
            return
        client = self.client_factory()
        if client is None:
            return
        self.refreshing = True
        self.timer.stop()
        view = self.view
        generation = view.generation
        count = len(view.orders)
        params = view.query.params()
        # Orders are replaced, never changed in place, so the worker may compare against this snapshot.
        before = view.order_by_id()
        page_size = view.page_size

        mark = self.mark
        turn = refresh_turn()  # the map's same question, asked for in the same turn, answers this one too

        def work(feedback):
            if orders_unchanged_since(client, mark, turn):
                # No order of the account changed since the window was read: it is as shown, and one small
                # request says so instead of reading every loaded page again.
                return mark, None, None, {}, ChangeSet()
            fresh_mark = take_mark(client.list_orders, order_mark_row, order_mark_fields())
            # Pages as small as the view's: parsing a big JSON page holds the GIL, and so stalls the GUI.
            footprints: Dict[str, Optional[bytes]] = {}
            packed, total = reload_window(client, count, params, page_size=page_size,
                                          is_canceled=feedback.is_canceled, footprints=footprints,
                                          progress=feedback.set_progress)
            changes = diff_orders(before, packed)
            return fresh_mark, packed, total, footprints, changes

        def done(result) -> None:
            self.refreshing = False
            fresh_mark, orders, total, footprints, changes = result
            self.footprintsRead.emit(footprints)
            self.mark = fresh_mark
            if fresh_mark is not None and fresh_mark.latest is not None:
                self.watermark = fresh_mark.latest
            if generation != view.generation:
                self.schedule()  # the filters changed: the view is being loaded afresh anyway
                return
            if orders is None:  # nothing changed: the rows shown are the window as it stands
                self.windowRead.emit(None, view.total, changes)
                return
            if len(view.orders) != count:
                # More pages arrived meanwhile: this window is not the view any more; read it again.
                QTimer.singleShot(0, self.refresh_window)
                return
            self.windowRead.emit(orders, total, changes)

        def failed(error: BaseException) -> None:
            self.refreshing = False
            self.last_error = error
            self.failed.emit(f"Refreshing orders failed: {error_text(error)}")
            self.schedule(self.interval.after_refresh(False))

        self.tasks.run("Refreshing tasking orders", work, done, failed)

    def load_page(self, params: Mapping[str, Any], offset: int, limit: int, on_page: Callable[[Any], None],
                  on_error: Callable[[BaseException], None]) -> None:
        """One page of the view (the table model's page loader), kept compact and packed; footprints go to footprintsRead."""
        client = self.client_factory()
        if client is None:
            on_error(RuntimeError("No connection to the service: see the settings."))
            return

        def work(feedback):
            page = client.list_orders(limit=limit, offset=offset, geometry_as_wkb=True, **params)
            packed, footprints = pack_compact_orders(page.results)
            return replace(page, results=packed), footprints

        def done(result) -> None:
            page, footprints = result
            self.footprintsRead.emit(footprints)
            on_page(page)

        self.tasks.run("Loading tasking orders", work, done, on_error)

    def applied(self, changes: ChangeSet) -> None:
        """The refreshed window is shown: wait short after a change, longer after none."""
        self.schedule(self.interval.after_refresh(changes.any))

    def stop(self) -> None:
        self.timer.stop()
