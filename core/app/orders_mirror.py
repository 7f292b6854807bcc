"""The orders mirror: every order matching the view's filters, and all their captures, kept in the "Tasking orders"
and "Captures" layers in place by id; listed in a QgsTask, written on the main thread in time-boxed slices."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from qgis.core import QgsFeatureRequest, QgsVectorLayer
from qgis.PyQt.QtCore import QObject, QTimer, pyqtSignal

from .. import layer_store, names
from .. import layers as layer_tools
from ..layers import PreparedFeatures, epoch_ms, wkb_to_geometry
from ..services import registry
from .orders_background import TaskGroup, error_text
from .orders_refresh import (
    footprint_wkb,
    order_mark_fields,
    order_mark_row,
    orders_unchanged_since,
    refresh_turn,
    take_mark,
    unchanged_since,
)

try:
    from qgis.PyQt import sip
except ImportError:  # pragma: no cover
    import sip  # type: ignore[no-redef]

# The main thread takes map steps for at most this long per timer tick, then lets the event loop run. While the
# listing threads parse and the sandbox serves, a step's wall time is 2-3x its CPU time. With SQLite's checkpoints
# in the slices (see layer_store._quick_commits), 7 ms halved the rebuild's gaps over 25 ms (33 -> 14 in six runs);
# with them in the worker, 10 ms and 7 ms made as few (1-3 in three runs) and 10 ms rebuilt in 3.7-3.9 s, not 4.1-4.8.
MAP_STEP_BUDGET_S = 0.010
# How long the main thread waits for more to do when a tick found nothing (after a tick that took steps: none).
IDLE_TICK_MS = 5
# Features written into a layer per step are as many as fit in what is left of the tick's budget at the
# measured cost of a written feature (a fixed count does not fit every store: 100 features took ~2 ms in a
# memory layer, 10-25 ms in a GeoPackage table on QGIS 3.22), between these bounds.
MIN_SLICE = 25
LAYER_SLICE = 500
# The cost of a feature is learned from slices that wrote at least this many: a write also costs a fixed
# part (a commit; the GIL taken back from the listing thread), which in a small slice would pass for a
# high cost per feature and shrink the next slices, each paying that fixed part again.
MEASURED_SLICE = 50
# A written feature's cost before any is measured (a GeoPackage table: ~0.1 ms; the margin is for the GIL
# the listing thread holds meanwhile).
FIRST_FEATURE_COST_S = 0.0002
# Orders removed per step, with their captures, at most; at least MIN_REMOVE (see OrdersMirror._remove_some).
REMOVE_SLICE = 100
MIN_REMOVE = 5
# A removed feature's cost before any is measured (a GeoPackage table of 100,000 features: ~0.2 ms).
FIRST_REMOVE_COST_S = 0.0002
# Held orders looked through per step for those a complete run no longer lists (~1 ms per 5,000).
GONE_SCAN_SLICE = 5000
# From this many features leaving the map (orders and their captures) in one run, a worker deletes them from the
# GeoPackage (layer_store.delete_rows) and the layers read their tables again, rather than the main thread
# removing them in slices: with 100,000 features a table, a slice took ~0.2 ms a feature, so a filter keeping 100
# of 100,000 orders took the main thread ~40 s in ~4,000 slices; the worker deletes them in ~1.5 s.
BULK_REMOVE_AT = 500
# Orders whose leaving the bookkeeping and the layers' indexes are told of per step, after a worker deleted them:
# freeing what was kept of each feature costs ~2 us (5,000 orders with their captures took 15-20 ms).
FORGET_SLICE = 1000
# Parts the listing may deliver ahead of the one being written (see OrdersMirror.refresh's deliver).
PARTS_AHEAD = 2
# Features written or removed after which a task copies the GeoPackage's log into the file (see _save_log):
# ~2.3 KB of log each, so about the 1,000 pages (4 MB) at which SQLite would copy it inside a commit.
SAVE_LOG_AFTER = 1500
# A run that first asks whether anything changed (see refresh) says it started only if still going this long after.
QUICK_RUN_SHOWN_AFTER_MS = 300
# How a run that failed while a refresh was asked ends (see ended): the refresh's run follows at once.
SUPERSEDED = "superseded"
# Orders per part handed to the main thread (and so order ids per captures request, under CAPTURE_IDS_PER_REQUEST).
MAP_PART_SIZE = 100
# Orders per request of the map listing: a service reads and orders its whole listing for each page, so big pages
# cost it less (the sandbox listed 10,000 orders with the map's fields in 1.9 s in pages of 100, 0.77 s in pages of
# 500); a page of 500 still parses in a few milliseconds of GIL.
MAP_LISTING_PAGE = 500


# The capture ids of an order, kept as one string (see OrdersMirror.__init__); no id holds this character.
ID_SEPARATOR = "\x1f"


def joined_ids(ids: Iterable[str]) -> str:
    return ID_SEPARATOR.join(ids)


def split_ids(joined: Optional[str]) -> List[str]:
    return joined.split(ID_SEPARATOR) if joined else []


def count_ids(joined: Optional[str]) -> int:
    return joined.count(ID_SEPARATOR) + 1 if joined else 0


def schemas() -> Any:
    """The active service's layer schemas (ORDERS, CAPTURES, ORDER_FIELDS, order_row, capture_row, ...)."""
    return registry.service().layers


def order_features(orders: Iterable[Any], footprints: Mapping[str, Optional[bytes]]) -> PreparedFeatures:
    """PreparedFeatures for the orders layer from compact orders and their footprints (geometries built)."""
    layers = schemas()
    prepared = PreparedFeatures(layers.ORDERS)
    for order in orders:
        prepared.put(order.id, layers.order_row(order), footprints.get(order.id))
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
    return tuple(name for name, _ in schemas().ORDER_FIELDS) + ("geometry", "original_geometry")


@dataclass
class MapPart:
    """One page of the map mirror: order rows, and every capture of the orders in `captures_for`."""

    orders: Any  # core.layers.PreparedFeatures of ORDERS
    captures: Any  # core.layers.PreparedFeatures of CAPTURES
    captures_for: List[str]
    updated: Dict[str, Optional[int]]  # order id -> updated_time (ms), recorded once the part is written
    listed: int  # orders listed so far in this run
    total: int  # orders matching the filters when the run started


@dataclass(eq=False)
class LayersOpened:
    """The worker made the layers the run lacked (see OrdersMirror.refresh): (plan, layer) for each kind,
    captures first; a plan that found the project's layer has that layer."""

    opened: List[Tuple[Any, QgsVectorLayer]]


@dataclass
class Unchanged:
    """The run's "anything changed?" requests found nothing since the last complete run: nothing to write."""


@dataclass
class TablesEmptied:
    """The worker emptied the tables of these layers (ids) before listing (see OrdersMirror.ensure_layers)."""

    layer_ids: List[str]


def mirror_filters(params: Mapping[str, Any]) -> Dict[str, Any]:
    """The view's list_orders parameters without its ordering (the mirror uses its own)."""
    return {key: value for key, value in params.items() if key != "ordering"}


def newest_capture_time(client) -> Optional[datetime]:
    """The latest updated_time of any capture of the account (one small request), or None."""
    page = client.list_captures(limit=1, fields=["id", "updated_time"], ordering=["-updated_time"])
    return page.results[0].updated_time if page.results else None


def capture_mark_row(capture: Any) -> tuple:
    """A capture as a ChangeMark row: its row in the captures layer (its order's exclusivity aside)."""
    return schemas().capture_row(capture, None)


def take_marks(client) -> Tuple[Any, Any]:
    """The ChangeMarks of the account's orders and captures (see orders_refresh.ChangeMark)."""
    return (take_mark(client.list_orders, order_mark_row, order_mark_fields()),
            take_mark(client.list_captures, capture_mark_row))


def unchanged_since_marks(client, marks: Tuple[Any, Any], turn: object) -> bool:
    """Whether no order and no capture of the account changed since `marks` (take_marks): two small requests,
    the cheapest "anything changed?". A new order, an order leaving or joining a filter (its status changes)
    and a capture queued, acquired, published or reassessed each move an updated_time; nothing leaves the
    service without one. `turn`: orders_refresh.refresh_turn() when the refresh was asked for."""
    if marks[0] is None or marks[1] is None:
        return False
    # Both asked at once (the captures' in a thread of its own): a quiet refresh waits for one answer, not two.
    captures: List[Any] = []

    def ask_captures() -> None:
        try:
            captures.append(unchanged_since(client.list_captures, capture_mark_row, marks[1]))
        except BaseException as error:  # noqa: BLE001 - raised again by the caller's thread below
            captures.append(error)

    asking = threading.Thread(target=ask_captures, daemon=True)
    asking.start()
    try:
        orders = orders_unchanged_since(client, marks[0], turn)  # the table's same question shares it
    finally:
        asking.join()
    if isinstance(captures[0], BaseException):
        raise captures[0]
    return orders and captures[0]


def mirror_orders(client, params: Mapping[str, Any], known: Mapping[str, Optional[int]],
                  deliver: Callable[[MapPart], None], *, page_size: int = 100, part_size: Optional[int] = None,
                  is_canceled: Optional[Callable[[], bool]] = None,
                  captures_since: Optional[datetime] = None,
                  layouts: Optional[Tuple[Any, Any]] = None) -> Tuple[set, int, Optional[datetime]]:
    """List every order matching `params` (view filters) in pages of `page_size` and `deliver` them as MapParts of
    `part_size` orders (default: a page).

    Captures are read by order (CAPTURE_IDS_PER_REQUEST order ids per request) for orders that are new to
    the map or whose updated_time differs from `known` (order id -> updated_time ms when last written): the
    service touches an order when one of its captures is queued, acquired, published or reassessed. In case
    a capture changes without its order being touched, the captures updated since `captures_since` (the
    previous run's watermark) are read too, in one listing, and those of listed orders delivered last.
    Geometries are built here only for what changed; unchanged features are compared as WKB by apply_prepared.
    With `layouts` (the orders and captures layers' core.layers.WriteLayout), the features to add are made
    here too (PreparedFeatures.build_features), not on the main thread.
    Returns (ids listed, total, watermark for the next run) — complete only if not cancelled.
    """
    layers = schemas()
    ORDERS, CAPTURES, order_row, capture_row = layers.ORDERS, layers.CAPTURES, layers.order_row, layers.capture_row  # noqa: N806
    filters = mirror_filters(params)
    # Read before anything else, so a capture changed while this run lists is newer than the watermark.
    watermark = newest_capture_time(client) or captures_since
    total = client.count_orders(**filters)
    read: set = set()  # orders whose captures this run read in full
    exclusivity: Dict[str, Optional[int]] = {}
    seen: set = set()
    # Each order made compact as it arrives (its packed row and footprint WKB, updated_time, exclusivity), so the
    # parsed order and its GeoJSON die at once and what waits for the batch's captures is bytes and numbers, which
    # the cycle collector neither tracks nor counts (see layers.pack_row).
    orders = PreparedFeatures(ORDERS)
    updated: Dict[str, Optional[int]] = {}
    days: Dict[str, Optional[int]] = {}

    def flush() -> None:
        nonlocal orders, updated, days
        stale = [order_id for order_id, updated_ms in updated.items()
                 if order_id not in known or known[order_id] != updated_ms]
        exclusivity.update(days)
        read.update(stale)
        captures = PreparedFeatures(CAPTURES)
        for start in range(0, len(stale), CAPTURE_IDS_PER_REQUEST):
            chunk = stale[start:start + CAPTURE_IDS_PER_REQUEST]
            for capture in client.iter_captures(chunk, page_size=500, is_canceled=is_canceled, geometry_as_wkb=True):
                captures.put(capture.id, capture_row(capture, days.get(capture.order_id)), footprint_wkb(capture.geometry))
        if layouts is not None:  # geometries made straight into the features
            orders.build_features(layouts[0], stale)
            captures.build_features(layouts[1])
        else:
            for order_id in stale:
                orders.geometries[order_id] = _geometry(orders.sources[order_id])
            captures.build_geometries()
        deliver(MapPart(orders, captures, stale, updated, len(seen), total))
        orders, updated, days = PreparedFeatures(ORDERS), {}, {}

    for order in client.iter_orders(page_size=page_size, fields=list(mirror_fields()),
                                    ordering=list(MIRROR_ORDERING), is_canceled=is_canceled, geometry_as_wkb=True,
                                    **filters):
        if order.id in seen:
            continue  # the listing shifted under us: the order was already delivered
        seen.add(order.id)
        orders.put(order.id, order_row(order), footprint_wkb(order.geometry, order.original_geometry))
        updated[order.id] = epoch_ms(order.updated_time)
        days[order.id] = order.exclusivity_days
        del order
        if len(orders) >= (part_size or page_size):
            flush()
    if len(orders):
        flush()
    if captures_since is not None:
        changed = PreparedFeatures(CAPTURES)
        for capture in client.iter_captures(None, page_size=500, is_canceled=is_canceled, geometry_as_wkb=True,
                                            updated_time__gte=captures_since):
            if capture.order_id in seen and capture.order_id not in read:
                changed.put(capture.id, capture_row(capture, exclusivity.get(capture.order_id)),
                            footprint_wkb(capture.geometry))
        if changed.rows:
            changed.build_geometries()
            if layouts is not None:
                changed.build_features(layouts[1])
            deliver(MapPart(PreparedFeatures(ORDERS), changed, [], {}, len(seen), total))
    return seen, total, watermark


def copy_logs(paths: Iterable[str], store_lock: Any) -> None:
    """Copy the log of each GeoPackage of `paths` into its file (layer_store.checkpoint), holding `store_lock`
    (OrdersMirror.store_lock) so the main thread writes nothing meanwhile; on a worker's thread."""
    with store_lock:
        for path in sorted(paths):
            layer_store.checkpoint(path)


def _geometry(wkb: Optional[bytes]):
    return wkb_to_geometry(wkb)


class OrdersMirror(QObject):
    """Keeps the project's orders and captures layers equal to every order matching the view's filters.

    A QgsTask lists them (mirror_orders) and hands over one page at a time through a deque; a timer
    on the main thread (see _tick) writes them in slices sized to the measured cost of a feature, at most
    MAP_STEP_BUDGET_S per tick,
    so the map fills progressively and the GUI never stalls. The bookkeeping (which orders are written,
    each one's updated_time when its captures were read, the capture ids of each order) lets a later run
    re-read only what changed and remove what left (many at once by a worker: _remove_in_bulk).
    """

    started = pyqtSignal()
    progressed = pyqtSignal(int, int)  # orders listed so far, orders matching the filters
    ended = pyqtSignal(object)  # None: written (or stopped quietly); "stopped": stopped or failed part way;
    # SUPERSEDED: failed while a refresh was asked, which runs next (nothing to say of this one)
    failed = pyqtSignal(str)  # what went wrong, for the user
    layersGone = pyqtSignal()  # noqa: N815 - the user removed a layer; the next refresh makes it again
    layersTaken = pyqtSignal()  # noqa: N815 - other layers are mirrored now (connect to their selection)

    def __init__(self, project: Any, client_factory: Callable[[], Any], tasks: TaskGroup,
                 parent: Optional[QObject] = None):
        super().__init__(parent)
        self.project = project
        self.client_factory = client_factory
        self.tasks = tasks
        self.orders_layer: Optional[QgsVectorLayer] = None
        self.captures_layer: Optional[QgsVectorLayer] = None
        # The bookkeeping of 100,000 orders is kept in dicts of strings and numbers, which the cycle collector
        # never walks (every full collection visits each entry of a set, or of a dict holding tuples: a few ms
        # per 100,000, with the GIL held). Ids written (values None), updated_time ms, and capture ids (joined).
        self.written: Dict[str, None] = {}
        self.updated: Dict[str, Optional[int]] = {}
        self.captures: Dict[str, str] = {}
        # How many capture ids `captures` holds, kept as it changes: a refresh compares it with the layer's feature
        # count (see _layers_hold_all), and counting 10,000 orders' ids took ~1 ms of the GUI thread every time.
        self.captures_held = 0
        self.task: Any = None
        self.filters: Optional[Dict[str, Any]] = None
        self.again = False
        self.inbox: deque = deque()
        self.steps: deque = deque()
        # The worker's opened layers queued in steps and not yet taken (see _discard_untaken).
        self.opened_pending: List[LayersOpened] = []
        self.total = 0
        self.listed = 0
        # The newest capture updated_time when the last complete run started (see mirror_orders), the account's
        # orders and captures then (take_marks), and the filters the layers completely hold since that run
        # (None: no run completed since the layers were made, stopped or forgotten): a refresh with the same
        # filters first asks whether anything changed since (unchanged_since_marks), and writes nothing if not.
        self.watermark: Optional[datetime] = None
        self.marks: Optional[Tuple[Any, Any]] = None
        self.complete_filters: Optional[Dict[str, Any]] = None
        # Layer id -> (GeoPackage, table) of a reused table whose old rows the next run's worker deletes.
        self.to_empty: Dict[str, Tuple[str, str]] = {}
        # Seconds a written feature costs, as measured (see _write_some), and when the current tick began.
        self.feature_cost = FIRST_FEATURE_COST_S
        self.remove_cost = FIRST_REMOVE_COST_S
        self.tick_started = 0.0
        self.tick_full = False  # a write step found no room left in this tick (see _write_some)
        # Features written or removed since the log was last copied into the GeoPackage, the task copying it, and
        # whether a run's listing task still runs (it copies the log itself, see refresh's deliver).
        self.unsaved = 0
        self.saving: Optional[Any] = None
        self.listing = False
        # Held by a tick while it writes, and by a worker while it copies the log into the file (copy_logs): a
        # slice written during a copy waited for the disk with it (at 100,000 orders, slices of 7-14 ms of CPU took
        # 20-37 ms, most GUI gaps over 30 ms), so a tick that finds a copy under way writes nothing and comes back.
        self.store_lock = threading.RLock()
        # What a complete run found gone ({order id: its capture ids joined} and how many features), and the
        # task deleting them in bulk; what follows it (reloads, bookkeeping) runs before any other step, and is
        # kept when a run is stopped or another starts (their writes must find the layers as the worker left them).
        self.gone: Dict[str, Optional[str]] = {}
        self.gone_features = 0
        self.removing: Optional[Any] = None
        self.after_removal: deque = deque()
        # A single-shot timer started again as each tick ends (see _tick); `ticking` says whether it should be.
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.timeout.connect(self._tick)
        self.ticking = False

    # -- layers --------------------------------------------------------------------------------------------

    def layer_alive(self, layer: Optional[QgsVectorLayer]) -> bool:
        # The layer's id as cached: asking the layer lets go of the GIL, and this is asked at every write step.
        return (layer is not None and not sip.isdeleted(layer)
                and self.project.mapLayer(layer_tools.cached_layer_id(layer)) is not None)

    def ensure_layers(self) -> bool:
        """Take the project's orders and captures layers (the New order tab's, a saved project's, or ours),
        making those that are missing; True if the mirror took other layers now."""
        if self.layer_alive(self.orders_layer) and self.layer_alive(self.captures_layer):
            return False
        layers = schemas()
        before = set(self.project.mapLayers())
        # A table reused for a new layer keeps its rows here (emptying 10,000 rows through the provider
        # blocked the main thread ~0.35 s): the next run's worker empties it (layer_store.empty_tables) before
        # listing, and the main thread reloads the layer before writing (_take_emptied).
        # Captures first, so a new orders layer lands above them in the Layers panel.
        self.captures_layer = layer_tools.find_or_create_layer(self.project, layers.CAPTURES, names.CAPTURES_LAYER,
                                                               keep_contents=True)
        self.orders_layer = layer_tools.find_or_create_layer(self.project, layers.ORDERS, names.ORDERS_LAYER,
                                                             keep_contents=True)
        self.to_empty = {}
        for layer in (self.orders_layer, self.captures_layer):
            path = layer_store.layer_path(layer)
            if layer.id() not in before and path is not None and layer.dataProvider().featureCount() != 0:
                self.to_empty[layer.id()] = (path, layer_tools.layer_kind(layer).name)
        self._adopt_contents()
        self.layersTaken.emit()
        return True

    def _adopt_contents(self) -> None:
        """What the layers already hold becomes the bookkeeping, so the next run removes what no longer
        matches; every order's captures are read again (nothing says they are current). A layer whose table
        is to be emptied holds nothing that counts."""
        self.written = {}
        if self.orders_layer.id() not in self.to_empty:
            request = QgsFeatureRequest().setFlags(QgsFeatureRequest.Flag.NoGeometry)
            request.setSubsetOfAttributes(["id"], self.orders_layer.fields())
            self.written = dict.fromkeys(f["id"] for f in self.orders_layer.getFeatures(request) if f["id"])
        captures: Dict[str, List[str]] = {}
        if self.captures_layer.id() not in self.to_empty:
            request = QgsFeatureRequest().setFlags(QgsFeatureRequest.Flag.NoGeometry)
            request.setSubsetOfAttributes(["id", "order_id"], self.captures_layer.fields())
            for feature in self.captures_layer.getFeatures(request):
                if feature["id"] and feature["order_id"]:
                    captures.setdefault(feature["order_id"], []).append(feature["id"])
        self.captures = {order_id: joined_ids(ids) for order_id, ids in captures.items()}
        self.captures_held = sum(len(ids) for ids in captures.values())
        self.updated = {}

    def _discard_untaken(self, inbox: deque) -> None:
        """A run's layers the worker opened and nobody will take now (the run stopped) are deleted."""
        untaken = [item for item in inbox if isinstance(item, LayersOpened)] + self.opened_pending
        self.opened_pending = []
        for item in untaken:
            layer_tools.discard_planned_layers(item.opened)

    def _take_opened(self, item: LayersOpened) -> None:
        """The layers the worker opened join the project; the mirror writes into them from now on."""
        if item in self.opened_pending:
            self.opened_pending.remove(item)
        if self.layer_alive(self.orders_layer) and self.layer_alive(self.captures_layer):
            layer_tools.discard_planned_layers(item.opened)
            return  # made meanwhile on the main thread (ensure_layers): those are written to
        layers = schemas()
        for plan, layer in item.opened:
            if plan.layer is None:
                layer_tools.finish_planned_layer(self.project, plan.kind, layer)
            if plan.kind is layers.ORDERS:
                self.orders_layer = layer
            else:
                self.captures_layer = layer
        self.to_empty = {}
        self._adopt_contents()
        self.layersTaken.emit()

    def _take_emptied(self, emptied: "TablesEmptied") -> None:
        """The worker emptied these layers' tables: the layers read them again (no longer pending)."""
        for layer_id in emptied.layer_ids:
            if self.to_empty.pop(layer_id, None) is None:
                continue
            layer = self.project.mapLayer(layer_id)
            if layer is not None:
                layer_store.reload(layer)
                layer_tools.forget_index(layer)
                layer.triggerRepaint()

    def captures_of(self, order_ids: Iterable[str]) -> List[str]:
        """The capture ids the captures layer holds for these orders."""
        return [capture_id for order_id in order_ids for capture_id in split_ids(self.captures.get(order_id))]

    def captures_count(self) -> int:
        return self.captures_layer.featureCount() if self.layer_alive(self.captures_layer) else 0

    # -- runs ----------------------------------------------------------------------------------------------

    def busy(self) -> bool:
        """A run is under way, or a bulk removal (which may outlive its run) is not done."""
        return self.task is not None or self.removing is not None or bool(self.after_removal)

    def refresh(self, params: Mapping[str, Any]) -> None:
        """Mirror every order matching the view's `params` (and all their captures), in place by id."""
        if self.tasks.closed:
            return
        filters = mirror_filters(params)
        if self.task is not None:
            if filters == self.filters:
                self.again = True  # one more run once this one is written: it may have missed the change
                return
            self.stop(quiet=True)  # other filters: what the running listing finds is not wanted
        client = self.client_factory()
        if client is None:
            return
        layers = schemas()
        plans = None
        try:
            if not (self.layer_alive(self.orders_layer) and self.layer_alive(self.captures_layer)):
                # Captures first, so a new orders layer lands above them in the Layers panel.
                plans = [layer_tools.plan_layer(self.project, layers.CAPTURES, names.CAPTURES_LAYER),
                         layer_tools.plan_layer(self.project, layers.ORDERS, names.ORDERS_LAYER)]
                if all(plan.layer is not None for plan in plans):
                    plans = None  # the project has both (another tab's, a saved project's): take them now
                    self.ensure_layers()
        except Exception as error:  # noqa: BLE001 - reported; the next refresh tries again
            self.failed.emit(f"The layers could not be made: {error}")
            return
        if plans is not None:
            # The worker opens what is missing (see open_planned_layer); what the old layers held is not
            # what the new ones hold, so every order's captures are read again.
            self.orders_layer = self.captures_layer = None
            self.written, self.updated, self.captures, self.to_empty = {}, {}, {}, {}
            self.captures_held = 0
        quick = (filters == self.complete_filters and self.marks is not None and self._layers_hold_all())
        if not quick:
            self.complete_filters = None
            if (plans is None and self.layer_alive(self.captures_layer)
                    and self.captures_layer.featureCount() != self.captures_held):
                # Captures deleted (or added) by hand: which orders lack theirs is not known, and a run reads the
                # captures of changed orders only, so every order's are read again.
                self.updated = {}
        self.filters = filters
        self.again = False
        self.total = self.listed = 0
        # A deque per run: parts a cancelled run's worker still delivers land in its own, unread deque.
        inbox: deque = deque()
        self.inbox = inbox
        self.steps = deque()
        known = dict(self.updated)  # the worker reads this snapshot, never the live dict
        since = self.watermark if known else None
        marks = self.marks
        turn = refresh_turn()
        params = dict(params)
        to_empty = dict(self.to_empty)
        # Layouts of the layers at hand are read here; those of layers the worker opens, by the worker.
        found = {plan.kind.name: layer_tools.write_layout(plan.layer, plan.kind)
                 for plan in plans or () if plan.layer is not None}
        layouts = None if plans is not None else (layer_tools.write_layout(self.orders_layer, layers.ORDERS),
                                                  layer_tools.write_layout(self.captures_layer, layers.CAPTURES))
        main_thread = self.thread()
        writer = threading.get_ident()  # the thread that writes the parts (a task run in it must not wait)
        # The GeoPackages the main thread writes into, whose log the worker copies in (see deliver).
        stores = set() if plans is not None else self._store_paths()
        store_lock = self.store_lock

        def work(feedback):
            run_layouts = layouts
            if plans is not None:
                opened = []
                for plan in plans:
                    if plan.layer is not None:
                        opened.append((plan, plan.layer))
                    else:
                        layer, found[plan.kind.name] = layer_tools.open_planned_layer(plan, main_thread)
                        opened.append((plan, layer))
                stores.update(layer_store.layer_path(layer) for _, layer in opened)  # before the main thread has them
                stores.discard(None)
                inbox.append(LayersOpened(opened))
                if inbox is not self.inbox:
                    layer_tools.discard_planned_layers(opened)  # the run was stopped: nobody will take them
                layer = opened = None  # nothing of them in this frame (an exception's traceback keeps frames)
                run_layouts = (found[layers.ORDERS.name], found[layers.CAPTURES.name])
            if to_empty:
                for path in {path for path, _ in to_empty.values()}:
                    layer_store.empty_tables(path, [table for where, table in to_empty.values() if where == path])
                inbox.append(TablesEmptied(list(to_empty)))
            def deliver(part: MapPart) -> None:
                inbox.append(part)
                feedback.set_progress(100.0 * part.listed / max(part.total, 1))
                # What the main thread wrote so far is copied from the log into the file here, a part at a time
                # (see _save_log for what is written after the listing).
                copy_logs(stores, store_lock)
                # Listing faster than the main thread writes only piles up parts: their features outlive
                # the young collections into the old generation (whose full collections, ~30-40 ms with
                # the GIL held, then stall the GUI), and the parsing meanwhile takes the GIL from the
                # writing. So the listing waits (GIL let go) while PARTS_AHEAD parts wait to be written.
                while (len(inbox) > PARTS_AHEAD and inbox is self.inbox and threading.get_ident() != writer
                       and not feedback.is_canceled()):
                    time.sleep(0.005)

            if quick and unchanged_since_marks(client, marks, turn):
                return Unchanged()
            # Taken before listing, so whatever changes while this run lists differs from the marks.
            newest = take_marks(client)
            return mirror_orders(client, params, known, deliver, page_size=MAP_LISTING_PAGE, part_size=MAP_PART_SIZE,
                                 is_canceled=feedback.is_canceled,
                                 captures_since=since, layouts=run_layouts) + (newest,)

        def done(result) -> None:
            if inbox is self.inbox:
                self.listing = False
                inbox.append(result)  # after the last part: the listing is complete, remove what left
                if self.task is not None:
                    # Taken now, not at the timer's next tick nor in the next turn of the event loop: a quiet
                    # refresh ends that much sooner (this is the main thread, as the timer's tick is).
                    self._tick()

        def failed(error: BaseException) -> None:
            if inbox is self.inbox:
                self.listing = False
                inbox.append(error)

        def cancelled() -> None:
            if inbox is self.inbox:
                self.listing = False
                inbox.append(None)

        self.listing = True

        self.task = task = self.tasks.run("Loading every tasking order and capture for the map", work, done, failed,
                                          cancelled)
        if quick:
            # A quick run mostly ends with one small answer, "nothing changed": the busy bar and "loading" are
            # shown only if it goes on to list (every auto-refresh flashed them, and drew the dock meanwhile).
            QTimer.singleShot(QUICK_RUN_SHOWN_AFTER_MS, lambda: self.task is task and self.started.emit())
        else:
            self.started.emit()
        self._start_ticks()

    def stop(self, quiet: bool = False) -> None:
        """Cancel the run: what is written stays; the next refresh reads the rest."""
        task = self.task
        if task is None:
            return
        if not sip.isdeleted(task):
            task.cancel()
        old_inbox, self.inbox = self.inbox, deque()
        self.steps.clear()
        self._discard_untaken(old_inbox)
        self._end(None if quiet else "stopped")

    def forget(self) -> None:
        """The next run reads every order's captures again (another service or key). What the layers hold
        stays known, so the run still removes whatever the new listing does not have."""
        self.stop(quiet=True)
        self.updated = {}
        self.complete_filters = self.marks = None

    def _layers_hold_all(self) -> bool:
        """The layers hold what the bookkeeping says, as many features as it knows (no one deleted or added
        any by hand since), so a refresh that finds nothing changed may leave them as they are."""
        return (self.layer_alive(self.orders_layer) and self.layer_alive(self.captures_layer)
                and not self.to_empty and self.orders_layer.featureCount() == len(self.written)
                and self.captures_layer.featureCount() == self.captures_held)

    def _end(self, how: Optional[str]) -> None:
        self.task = None
        self.listing = False
        self._stop_ticks()
        self._save_log()
        self.ended.emit(how)
        if how is None and self.again:
            self.refresh(self.filters or {})

    def _start_ticks(self) -> None:
        self.ticking = True
        if not self.timer.isActive():
            self.timer.start(IDLE_TICK_MS)

    def _stop_ticks(self) -> None:
        self.ticking = False
        self.timer.stop()

    def _tick(self) -> None:
        worked = self._take_steps()
        if self.ticking and not self.timer.isActive():
            # Timed from the end of this tick, not its start: a repeating timer was already due again when a long
            # tick ended, and as often as not ran before timers that fell due meanwhile (the GUI's among them), so
            # two slices ran back to back (at 100,000 features, two 25 ms slices made a 50 ms gap).
            self.timer.start(0 if worked else IDLE_TICK_MS)

    def _take_steps(self) -> bool:
        """Take steps for at most MAP_STEP_BUDGET_S; whether any was taken. None is taken while a worker copies the
        log into the file (copy_logs): the tick comes back after IDLE_TICK_MS."""
        if not self.store_lock.acquire(blocking=False):
            return False
        try:
            return self._take_steps_holding_the_store()
        finally:
            self.store_lock.release()

    def _take_steps_holding_the_store(self) -> bool:
        started = self.tick_started = time.perf_counter()
        worked = False
        while time.perf_counter() - started < MAP_STEP_BUDGET_S:
            if self.removing is not None:
                return worked  # nothing is written while a worker deletes from the tables
            if self.after_removal:
                step = self.after_removal.popleft()
            elif self.steps:
                step = self.steps.popleft()
            elif self.inbox:
                self._plan(self.inbox.popleft())
                worked = True
                continue
            else:
                if self.task is None:
                    self._stop_ticks()  # the end of a bulk removal that outlived its run
                return worked
            self.tick_full = False
            worked = True
            try:
                step()
            except Exception as error:  # noqa: BLE001 - a layer in edit mode or removed: stop, say why
                self.failed.emit(f"The map layers could not be updated: {error}")
                self.stop(quiet=True)
                return worked
            if self.task is None or self.tick_full:
                return worked
        return worked

    def _plan(self, item: Any) -> None:
        """Turn one delivery of the worker into main-thread steps (each one short)."""
        if isinstance(item, MapPart):
            if item.orders.rows:
                self.steps.append(lambda: self._write_some("orders_layer", item.orders, list(item.orders.rows), 0))
            if item.captures.rows:
                self.steps.append(lambda: self._write_some("captures_layer", item.captures,
                                                           list(item.captures.rows), 0))
            self.steps.append(lambda: self._commit(item))
        elif isinstance(item, Unchanged):
            self.steps.append(lambda: self._end(None))
        elif isinstance(item, tuple):
            seen, _total, watermark, newest = item
            self.watermark = watermark
            # With the orders the layers hold, those whose captures alone are held (an adopted captures
            # table may have rows of orders the orders table has not). Looked for a slice at a time: with
            # 100,000 orders held, the sets' union, difference and sort took ~80 ms of the GUI thread at once.
            self.gone, self.gone_features = {}, 0
            for bookkeeping in ("written", "updated", "captures"):  # each copied in a step of its own (~4 ms)
                self.steps.append(lambda name=bookkeeping: self._find_gone(seen, list(getattr(self, name)), 0))
            self.steps.append(self._remove_gone)
            self.steps.append(lambda: self._completed(newest))
            self.steps.append(lambda: self._end(None))
        elif isinstance(item, TablesEmptied):
            self.steps.append(lambda: self._take_emptied(item))
        elif isinstance(item, LayersOpened):
            self.opened_pending.append(item)
            self.steps.append(lambda: self._take_opened(item))
        elif isinstance(item, BaseException):
            if self.again:
                # A refresh was asked while this run was under way (the service back, Refresh pressed): its
                # run, with a client made now, answers for the map; this older run's failure is not news, and
                # not a success either (None would tell the tab the service answered).
                self._end(SUPERSEDED)
                self.refresh(self.filters or {})
            else:
                self.failed.emit(f"Loading the map failed: {error_text(item)}")
                self._end("stopped")
        else:  # cancelled from QGIS's task manager
            self._end("stopped")

    def _find_gone(self, seen: set, held: List[str], start: int) -> None:
        """Orders in held[start:start + GONE_SCAN_SLICE] (ids of one bookkeeping) the run did not list, and
        still held, join `gone` (removed by _remove_gone); the rest of `held` in the next step."""
        chunk = held[start:start + GONE_SCAN_SLICE]
        for order_id in chunk:
            if order_id not in seen and order_id not in self.gone and (
                    order_id in self.written or order_id in self.updated or order_id in self.captures):
                joined = self.gone[order_id] = self.captures.get(order_id)
                self.gone_features += 1 + count_ids(joined)
                # Its captures no longer count as read: listed again before it has left the layers (the
                # filters changed back meanwhile), it is written anew.
                self.updated.pop(order_id, None)
        if start + GONE_SCAN_SLICE < len(held):
            self.steps.appendleft(lambda: self._find_gone(seen, held, start + GONE_SCAN_SLICE))

    def _remove_gone(self) -> None:
        """The orders a complete run did not list leave the map, with their captures: a few in slices on this
        thread, many (BULK_REMOVE_AT features) deleted from the GeoPackage by a worker."""
        gone, self.gone = self.gone, {}
        if not gone or self._layers_gone():
            return
        tables = [] if self.gone_features < BULK_REMOVE_AT else [
            (layer_store.layer_path(layer), layer_store.layer_table(layer))
            for layer in (self.orders_layer, self.captures_layer)]
        if not tables or not all(path and table for path, table in tables):
            self.steps.appendleft(lambda: self._remove_some(list(gone), 0))  # few, or memory layers (no tables)
            return
        for layer in (self.orders_layer, self.captures_layer):
            layer_tools.refuse_edit_mode(layer)
        self._remove_in_bulk(gone, tables)

    def _remove_in_bulk(self, gone: Dict[str, Optional[str]], tables: List[Tuple[str, str]]) -> None:
        """A worker deletes the gone orders' and captures' rows from the layers' tables; then the layers read
        their tables again and (after_removal) the bookkeeping forgets them, a slice at a time. Nothing is
        written meanwhile (see _tick). After a failure or a cancel the bookkeeping still counts every gone
        order as held: the next run, a full one, finds those the worker left and removes them again."""
        (orders_path, orders_table), (captures_path, captures_table) = tables
        order_ids = list(gone)
        joined_captures = list(gone.values())
        run_inbox = self.inbox

        def work(feedback):
            deleted = layer_store.delete_rows(orders_path, orders_table, "id", order_ids,
                                              is_canceled=feedback.is_canceled)
            feedback.set_progress(50.0)
            capture_ids = [capture_id for joined in joined_captures for capture_id in split_ids(joined)]
            deleted += layer_store.delete_rows(captures_path, captures_table, "id", capture_ids,
                                               is_canceled=feedback.is_canceled)
            for path in {orders_path, captures_path}:
                layer_store.checkpoint(path)
            return deleted

        def done(_deleted: int) -> None:
            self.removing = None
            self._reload_layers()
            self.after_removal.append(lambda: self._forget_removed(order_ids, 0))
            self._start_ticks()

        def ended_part_way(error: Optional[BaseException] = None) -> None:
            self.removing = None
            self.complete_filters = self.marks = None  # not complete: the next run is a full one
            self._reload_layers()
            if error is not None:
                self.failed.emit(f"The map layers could not be updated: {error_text(error)}")
            if self.inbox is run_inbox and self.task is not None:
                self.steps.clear()  # the run's own end: stopped, not complete
                self._end("stopped")
            self._start_ticks()

        self.removing = self.tasks.run(f"Removing {len(order_ids):,} orders that no longer match from the map",
                                       work, done, ended_part_way, ended_part_way)

    def _reload_layers(self) -> None:
        """The layers read their tables again (a worker deleted rows) and are drawn again."""
        for layer in (self.orders_layer, self.captures_layer):
            if self.layer_alive(layer):
                layer_store.reload(layer)
                layer.triggerRepaint()

    def _forget_removed(self, order_ids: List[str], start: int) -> None:
        """The bookkeeping and the layers' indexes forget order_ids[start:start + FORGET_SLICE] (deleted by a
        worker) and their captures; the rest in the next step."""
        chunk = order_ids[start:start + FORGET_SLICE]
        captures = self.captures_of(chunk)
        for layer, ids in ((self.orders_layer, chunk), (self.captures_layer, captures)):
            if self.layer_alive(layer):
                layer_tools.forget_features(layer, ids)
        for order_id in chunk:
            self.written.pop(order_id, None)
            self.updated.pop(order_id, None)
            self.captures_held -= count_ids(self.captures.pop(order_id, None))
        if start + FORGET_SLICE < len(order_ids):
            self.after_removal.appendleft(lambda: self._forget_removed(order_ids, start + FORGET_SLICE))

    def _completed(self, marks: Tuple[Any, Any]) -> None:
        """The run wrote everything its filters match: the layers are complete as of `marks`."""
        if not self._layers_gone():
            self.marks, self.complete_filters = marks, self.filters

    def _layers_gone(self) -> bool:
        if self.layer_alive(self.orders_layer) and self.layer_alive(self.captures_layer):
            return False
        # The user removed a layer: stop; the next refresh makes both again and fills them completely.
        self.stop(quiet=True)
        self.layersGone.emit()
        return True

    def slice_size(self) -> int:
        """Features the next write step takes: what fits in the rest of this tick's budget at the measured
        cost of a feature (MIN_SLICE..LAYER_SLICE)."""
        left = MAP_STEP_BUDGET_S - (time.perf_counter() - self.tick_started)
        return max(MIN_SLICE, min(LAYER_SLICE, int(left / self.feature_cost)))

    def _write_some(self, layer_name: str, prepared: PreparedFeatures, ids: List[str], start: int) -> None:
        """Write the features ids[start:start + slice_size()] of `prepared` into the layer (an attribute of
        the mirror, read now: the layers may be made again meanwhile); the rest is the next step."""
        if self._layers_gone():
            return
        spent = time.perf_counter() - self.tick_started
        if spent > 0.001 and MAP_STEP_BUDGET_S - spent < MIN_SLICE * self.feature_cost:
            # Not even the smallest slice fits in what is left of this tick: the next tick writes it (starting
            # it anyway overran the budget by a slice, 5-20 ms while a listing thread held the GIL).
            self.steps.appendleft(lambda: self._write_some(layer_name, prepared, ids, start))
            self.tick_full = True
            return
        count = self.slice_size()
        part = prepared.subset(ids[start:start + count])
        began = time.perf_counter()
        result = layer_tools.apply_prepared(getattr(self, layer_name), part)
        written = result.added + result.updated
        self._wrote(written)
        # One write per tick: a second slice in the same tick, sized to what was left of the budget, ran into the
        # listing threads' GIL turns as often as not (two slices of 5-7 ms CPU measured 26-38 ms together).
        self.tick_full = written > 0
        if written >= MEASURED_SLICE:
            # Per written feature (comparing an unchanged one costs little); a slow slice weighs in at once,
            # a fast one slowly, so a stall is not repeated.
            cost = (time.perf_counter() - began) / written
            self.feature_cost = cost if cost > self.feature_cost else 0.8 * self.feature_cost + 0.2 * cost
        if start + count < len(ids):
            self.steps.appendleft(lambda: self._write_some(layer_name, prepared, ids, start + count))

    def _commit(self, part: MapPart) -> None:
        """A part is written: remember it, and drop captures its orders no longer have."""
        if self._layers_gone():
            return
        # Orders in captures_for had all their captures read: any other they had is gone. Other captures
        # (changed since the watermark) are added to what their order is known to have.
        fresh: Dict[str, set] = {order_id: set() for order_id in part.captures_for}
        extra: Dict[str, set] = {}
        for capture_id in part.captures.rows:
            order_id = part.captures.row(capture_id)[1]  # the capture's order_id
            (fresh[order_id] if order_id in fresh else extra.setdefault(order_id, set())).add(capture_id)
        gone = [capture_id for order_id, ids in fresh.items()
                for capture_id in split_ids(self.captures.get(order_id)) if capture_id not in ids]
        if gone:
            self._wrote(layer_tools.remove_features(self.captures_layer, gone))
        touched = list(fresh) + list(extra)
        self.captures_held -= sum(count_ids(self.captures.get(order_id)) for order_id in touched)
        self.captures.update((order_id, joined_ids(ids)) for order_id, ids in fresh.items())
        for order_id, ids in extra.items():
            self.captures[order_id] = joined_ids(set(split_ids(self.captures.get(order_id))) | ids)
        self.captures_held += sum(count_ids(self.captures.get(order_id)) for order_id in touched)
        self.updated.update(part.updated)
        self.written.update(dict.fromkeys(part.orders.rows))
        self.total, self.listed = part.total, part.listed
        self.progressed.emit(part.listed, part.total)

    def _remove_some(self, order_ids: List[str], start: int) -> None:
        """Remove the orders from order_ids[start:] whose features (each order's and its captures') fit in what is
        left of this tick at the measured cost of a removed feature (MIN_REMOVE..REMOVE_SLICE orders); the rest
        is the next step. With 100,000 features per table, a GeoPackage took ~0.2 ms a feature: 100 orders and
        their captures held the GUI thread 30-45 ms."""
        if self._layers_gone():
            return
        left = MAP_STEP_BUDGET_S - (time.perf_counter() - self.tick_started)
        end, features = start, 0
        while end < len(order_ids) and end - start < REMOVE_SLICE:
            more = 1 + count_ids(self.captures.get(order_ids[end]))
            if end - start >= MIN_REMOVE and (features + more) * self.remove_cost > left:
                break
            features += more
            end += 1
        began = time.perf_counter()
        self._remove_orders(order_ids[start:end])
        if features >= MEASURED_SLICE:
            cost = (time.perf_counter() - began) / features
            self.remove_cost = cost if cost > self.remove_cost else 0.8 * self.remove_cost + 0.2 * cost
        self.tick_full = True  # one removal per tick, as for writes
        if end < len(order_ids):
            self.steps.appendleft(lambda: self._remove_some(order_ids, end))

    def _remove_orders(self, order_ids: Sequence[str]) -> None:
        """Orders no longer matching the filters leave the map, with their captures."""
        if self._layers_gone():
            return
        captures = self.captures_of(order_ids)
        self._wrote(layer_tools.remove_features(self.orders_layer, order_ids)
                    + layer_tools.remove_features(self.captures_layer, captures))
        for order_id in order_ids:
            self.written.pop(order_id, None)
            self.updated.pop(order_id, None)
            self.captures_held -= count_ids(self.captures.pop(order_id, None))

    def _wrote(self, count: int) -> None:
        """`count` features were written or removed: past SAVE_LOG_AFTER, the log is copied into the file (while
        the listing runs, its task copies it a part at a time)."""
        self.unsaved += count
        if self.unsaved >= SAVE_LOG_AFTER and not self.listing:
            self._save_log()

    def _save_log(self) -> None:
        """Copy what the layers' GeoPackage log holds into the file, in a task (layer_store.checkpoint): the store's
        connections leave that to us rather than doing it in a commit, on this thread (see
        layer_store._quick_commits). For what is written once the listing has ended (its last parts, the orders
        a run removes) and at the end of a run. One copy at a time; what is written meanwhile waits for the next.

        Not for every write: a task started every 1,500 features during a 10,000-order load made twice as many
        GUI gaps over 25 ms as the listing's own copies (each part's, with no task to start)."""
        if self.saving is not None or not self.unsaved or self.tasks.closed:
            return
        self.unsaved = 0
        paths = self._store_paths()
        if not paths:
            return  # layers of another provider: no log to copy

        def copied(_result: Any = None) -> None:
            self.saving = None
            if (self.unsaved >= SAVE_LOG_AFTER and not self.listing) or (self.unsaved and self.task is None):
                self._save_log()

        self.saving = self.tasks.run("Saving the map's layers in their GeoPackage",
                                     lambda feedback: copy_logs(paths, self.store_lock),
                                     copied, copied, copied)

    def _store_paths(self) -> set:
        """The GeoPackages the layers at hand are tables of (none for layers of another provider)."""
        return {layer_store.layer_path(layer) for layer in (self.orders_layer, self.captures_layer)
                if self.layer_alive(layer)} - {None}

    def write_order(self, order: Any, footprints: Mapping[str, Optional[bytes]]) -> None:
        """One order read again (after an edit) into the orders layer at once; its captures follow at the
        next run, which sees its new updated_time."""
        if not (self.layer_alive(self.orders_layer) and order.id in self.written):
            return
        try:
            layer_tools.apply_prepared(self.orders_layer, order_features([order], footprints))
        except Exception as error:  # noqa: BLE001 - a layer in edit mode
            self.failed.emit(f"The layers could not be updated: {error}")

    def save_geopackage(self, path: str) -> Dict[str, str]:
        """A copy of both layers in a GeoPackage; {layer name: table}."""
        self.ensure_layers()
        return layer_tools.save_layers_to_geopackage([self.orders_layer, self.captures_layer], path,
                                                     self.project.transformContext())

    def shutdown(self) -> None:
        """Stop writing and drop the bookkeeping (little is left for the cycle collector to free)."""
        self._stop_ticks()
        self.steps.clear()
        self.after_removal.clear()
        self.task = self.removing = None
        self.gone = {}
        self.updated, self.captures, self.written = {}, {}, {}
        self.captures_held = 0
        old_inbox, self.inbox = self.inbox, deque()
        self._discard_untaken(old_inbox)
