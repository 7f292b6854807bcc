"""Server-backed table model of tasking orders (filtered and sorted by the API, loaded page by page as the view
scrolls), with other services' orders (archive imagery, UP42 tasking: core.app.merged_orders) merged in by the same
ordering."""

from __future__ import annotations

from collections.abc import MutableMapping
from collections.abc import Sequence as SequenceABC
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Set

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QAbstractTableModel, QModelIndex, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtGui import QBrush, QColor, QIcon

from ...core.app.orders_refresh import (
    ChangeSet,
    OrderChange,
    pack_order,
    pack_orders,
    row_id,
    row_value,
    unpack_order,
)
from ...core.services.planet_tasking.models import Order, Page
from ...core.services.planet_tasking.query import (  # noqa: F401 - DEFAULT_ORDERING for callers
    DEFAULT_ORDERING,
    OrdersQuery,
)


@dataclass(frozen=True)
class Column:
    attribute: str
    title: str
    ordering: Optional[str]  # the API's `ordering` field; None: the service cannot sort by it
    shown: bool = True  # shown by default; the header's context menu shows or hides any column


# The columns a user reads first come first; the rarely needed ones are hidden until asked for.
COLUMNS: Sequence[Column] = (
    Column("name", "Name", "name"),
    Column("status", "Status", "status"),
    Column("scheduling_type", "Scheduling", "scheduling_type"),
    Column("start_time", "Start (UTC)", "start_time"),
    Column("end_time", "End (UTC)", "end_time"),
    Column("created_time", "Created (UTC)", "created_time"),
    Column("order_type", "Type", "order_type"),
    Column("requested_sqkm", "Requested km²", "requested_sqkm"),
    Column("fulfilled_sqkm", "Fulfilled km²", "fulfilled_sqkm"),
    Column("capture_status_published_count", "Published captures", None),
    Column("updated_time", "Updated (UTC)", "updated_time", shown=False),
    Column("last_acquired_time", "Last acquired (UTC)", "last_acquired_time", shown=False),
    Column("next_planned_acquisition_time", "Next planned (UTC)", "next_planned_acquisition_time", shown=False),
    Column("pl_number", "Contract", "pl_number", shown=False),
    Column("id", "Id", "id", shown=False),
    # Shown only while other services' orders are in the list (the view hides them otherwise): the service,
    # an archive order's results, a UP42 order's sub-status.
    Column("service", "Service", None, shown=False),
    Column("result_count", "Results", None, shown=False),
    Column("sub_status", "Sub-status", None, shown=False),
)
SOURCE_COLUMNS = frozenset({"service", "result_count", "sub_status"})
SERVICE_TASKING = "Tasking"
TIME_ATTRIBUTES = frozenset(c.attribute for c in COLUMNS if c.attribute.endswith("_time"))


ORDER_ID_ROLE = Qt.ItemDataRole.UserRole + 1
IS_ARCHIVE_ROLE = Qt.ItemDataRole.UserRole + 4
ORDER_ROLE = Qt.ItemDataRole.UserRole + 2
CHANGED_ROLE = Qt.ItemDataRole.UserRole + 3
CHANGED_BRUSH = QBrush(QColor(255, 236, 160))


# Rows freed per event-loop turn when the rows are forgotten (new filters): freeing 100,000 rows at once held the GUI
# thread ~60 ms as order objects and ~17 ms packed; 10,000 at a time take ~3 ms a turn.
DROP_ROWS = 10_000

# start_page(query params, offset, limit, on_page(Page), on_error(exception)): runs the request off the GUI thread.
PageLoader = Callable[[Dict[str, Any], int, int, Callable[[Page], None], Callable[[BaseException], None]], Any]


def _display(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, float):
        return f"{value:,.2f}"
    return str(value)


_SOURCE_ICONS: Dict[str, QIcon] = {}
# QGIS theme icons marking a merged service's orders in the Name column (where the Service column has no room).
SOURCE_ICON_NAMES = {"Archive": "/mIconRasterLayer.svg"}


def source_icon(source: Any) -> Optional[QIcon]:
    """The mark of a merged service's orders in the Name column: an archive order QGIS's raster icon (it orders
    imagery); None for a source without one."""
    name = SOURCE_ICON_NAMES.get(source.label)
    if name is None:
        return None
    if name not in _SOURCE_ICONS:
        _SOURCE_ICONS[name] = QgsApplication.getThemeIcon(name)
    return _SOURCE_ICONS[name]


def _sort_key(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


class OrderRows(SequenceABC):
    """The model's rows as orders: packed rows (core.app.orders_refresh.pack_order) are made into order objects
    as each is read; merged services' orders are as they are. A live view of the model's list, not a copy."""

    __slots__ = ("packed",)

    def __init__(self, packed: List[Any]):
        self.packed = packed

    def __len__(self) -> int:
        return len(self.packed)

    def __getitem__(self, position):
        if isinstance(position, slice):
            return [unpack_order(row) for row in self.packed[position]]
        return unpack_order(self.packed[position])

    def __iter__(self) -> Iterator[Any]:
        return (unpack_order(row) for row in self.packed)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (list, tuple, OrderRows)):
            return len(self) == len(other) and list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment] - compared by value, as the list it stands for

    def __repr__(self) -> str:
        return f"OrderRows({len(self.packed)} rows)"


class OrdersById(MutableMapping):
    """{order id: order} of the packed rows it was made from (a snapshot, the caller's to change): an order object
    made on each read. The index is built when first used, so taking the snapshot on the GUI thread costs a list
    copy (a refresh hands it to its worker, which uses it only when something changed)."""

    __slots__ = ("_rows", "_packed")

    def __init__(self, rows: List[Any]):
        self._rows: Optional[List[Any]] = rows
        self._packed: Dict[str, Any] = {}

    @property
    def packed(self) -> Dict[str, Any]:
        if self._rows is not None:
            self._packed = {row_id(row): row for row in self._rows}
            self._rows = None
        return self._packed

    def __getitem__(self, order_id: str) -> Any:
        return unpack_order(self.packed[order_id])

    def __setitem__(self, order_id: str, order: Any) -> None:
        self.packed[order_id] = order

    def __delitem__(self, order_id: str) -> None:
        del self.packed[order_id]

    def __contains__(self, order_id: object) -> bool:
        return order_id in self.packed

    def __iter__(self) -> Iterator[str]:
        return iter(self.packed)

    def __len__(self) -> int:
        return len(self.packed)


class OrdersTableModel(QAbstractTableModel):
    """Rows are the orders the server returned for the query, in its order; more are fetched on demand.

    Pages are requested through `start_page` (a QgsTask in the panel); a page that arrives after the
    query changed is dropped. Ids already shown are never added twice: if the listing shifted between
    pages (orders created meanwhile), the duplicates are skipped and `listingShifted` asks for a refresh.

    `orders` are the tasking orders loaded, in the server's order; `rows` what the view shows. Without
    merged orders they are one list. Tasking orders are kept as packed rows (pickled values, bytes the cycle
    collector never tracks, see core.app.orders_refresh.pack_order) and read as orders (OrderRows, order_at,
    order_by_id).
    With merged orders (`set_services`), other services' orders (each source's, all of them, a few thousand at
    most, given by `set_merged`; `archive` holds them all, `source_of` says whose) are merged into the tasking
    listing by the same ordering: such an order is shown once the tasking rows loaded reach past it (or the listing is complete), so each new page only appends rows and the tasking rows keep
    exactly the server's order. `total` stays the tasking listing's count.
    """

    loadingChanged = pyqtSignal(bool)  # noqa: N815 - Qt signal naming
    totalChanged = pyqtSignal(int)  # noqa: N815
    pageLoaded = pyqtSignal(object, bool)  # noqa: N815 - orders added (OrderRows), whether it was the first page
    loadFailed = pyqtSignal(object)  # noqa: N815
    listingShifted = pyqtSignal()  # noqa: N815

    def __init__(self, start_page: PageLoader, page_size: int = 200, parent=None):
        super().__init__(parent)
        self.start_page = start_page
        self.page_size = page_size
        self.query = OrdersQuery()
        self._orders: List[Any] = []  # packed rows
        self.row_of: Dict[str, int] = {}
        self.changes: Dict[str, OrderChange] = {}
        self.total: Optional[int] = None
        self.loading = False
        self.generation = 0
        self.sort_column: Optional[int] = None
        self.sort_order = Qt.SortOrder.AscendingOrder
        self._rows: List[Any] = self._orders  # packed tasking rows and merged orders
        self.include_tasking = True
        self.include_archive = False
        # Other services' orders, sorted by the query's ordering; the first `archive_shown` are in rows.
        self.archive: List[Any] = []
        self.source_of: Dict[str, Any] = {}  # merged order id → its core.app.merged_orders.MergedSource
        self.archive_ids: Set[str] = set()
        self.archive_shown = 0
        # The first page of the tasking list failed: the merged orders show without it until it is read.
        self.tasking_failed = False
        # Rows forgotten, still to be freed: lists and dicts emptied DROP_ROWS at a time, one turn after another.
        self._discarded: List[Any] = []

    @property
    def orders(self) -> OrderRows:
        return OrderRows(self._orders)

    @property
    def rows(self) -> OrderRows:
        return OrderRows(self._rows)

    def packed_orders(self) -> List[Any]:
        """The tasking orders loaded as packed rows (a copy of the list)."""
        return list(self._orders)

    def row_id(self, row: int) -> Optional[str]:
        """The id of the order in a row, without making the order (None: no such row)."""
        return row_id(self._rows[row]) if 0 <= row < len(self._rows) else None

    # -- Qt model interface -----------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and 0 <= section < len(COLUMNS):
            column = COLUMNS[section]
            if role == Qt.ItemDataRole.DisplayRole:
                return column.title
            if role == Qt.ItemDataRole.ToolTipRole:
                return (f"Sorted by the service on {column.ordering}" if column.ordering
                        else "The service cannot sort by this column")
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or index.row() >= len(self._rows):
            return None
        order = self._rows[index.row()]
        order_id = row_id(order)
        if self.archive_ids and order_id in self.archive_ids:
            return self._archive_data(order, index.column(), role)
        if role == Qt.ItemDataRole.DisplayRole:
            attribute = COLUMNS[index.column()].attribute
            value = row_value(order, attribute)
            return SERVICE_TASKING if value is None and attribute == "service" else _display(value)
        if role == ORDER_ID_ROLE:
            return order_id
        if role == ORDER_ROLE:
            return unpack_order(order)
        if role == IS_ARCHIVE_ROLE:
            return False
        change = self.changes.get(order_id)
        if role == CHANGED_ROLE:
            return change is not None
        if role == Qt.ItemDataRole.BackgroundRole and change is not None:
            return CHANGED_BRUSH
        if role == Qt.ItemDataRole.ToolTipRole:
            if change is not None:
                return "Changed at the last refresh:\n" + change.describe()
            return _display(row_value(order, COLUMNS[index.column()].attribute)) or None
        return None

    def _archive_data(self, order: Any, column: int, role: int):
        source = self.source_of[order.id]
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(source.value(order, COLUMNS[column].attribute))
        if role == Qt.ItemDataRole.DecorationRole and COLUMNS[column].attribute == "name":
            return source_icon(source)  # told apart from tasking orders even where the Service column has no room
        if role == ORDER_ID_ROLE:
            return order.id
        if role == ORDER_ROLE:
            return order
        if role == IS_ARCHIVE_ROLE:
            return True
        if role == Qt.ItemDataRole.ToolTipRole:
            return source.tooltip(order)
        return None

    def is_archive(self, order: Any) -> bool:
        """Whether the order is another service's, merged into the list (an archive or a UP42 order)."""
        return order is not None and order.id in self.archive_ids

    def source(self, order: Any) -> Any:
        """The merged source an order is of (None: a tasking order of the paged listing)."""
        return self.source_of.get(order.id) if order is not None else None

    def canFetchMore(self, parent: QModelIndex = QModelIndex()) -> bool:  # noqa: N802, B008
        if parent.isValid() or self.loading or self.total is None:
            return False
        return len(self._orders) < self.total

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: N802, B008
        if self.canFetchMore(parent):
            self._request(len(self._orders))

    def sort(self, column: int, order=Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS) or COLUMNS[column].ordering is None:
            return
        self.sort_column, self.sort_order = column, order
        key = COLUMNS[column].ordering
        ordering = [("-" if order == Qt.SortOrder.DescendingOrder else "") + key]
        if key != "id":
            ordering.append("id")  # a unique tie-breaker keeps offset pages from overlapping
        if tuple(ordering) == tuple(self.query.ordering):
            return  # the header and sortByColumn may both ask for the same order: load it once
        self.set_query(OrdersQuery(**{**self.query.__dict__, "ordering": tuple(ordering)}))

    # -- loading ------------------------------------------------------------------------------------

    def _forget_rows(self) -> None:
        # A new generation: pages still on their way for the old rows are dropped when they arrive.
        self.generation += 1
        self.beginResetModel()
        self._discard(self._rows, self._orders, self.row_of)
        self._orders = []
        self._rows = [] if self.include_archive else self._orders
        self.archive_shown = 0
        self.row_of = {}
        self.changes = {}
        self.total = None
        self.tasking_failed = False
        self.endResetModel()

    def _discard(self, *containers: Any) -> None:
        """Free these rows (lists, dicts) a slice per event-loop turn rather than all at once."""
        fresh = not self._discarded
        self._discarded.extend(c for c in containers if len(c) > DROP_ROWS and not any(c is d for d in self._discarded))
        if fresh and self._discarded:
            QTimer.singleShot(0, self._drop_some)

    def _drop_some(self) -> None:
        if not self._discarded:
            return
        container = self._discarded[-1]
        if isinstance(container, list):
            del container[-DROP_ROWS:]
        else:
            for _ in range(min(DROP_ROWS, len(container))):
                container.popitem()
        if not container:
            self._discarded.pop()
        if self._discarded:
            QTimer.singleShot(0, self._drop_some)

    def clear(self) -> None:
        """Forget every row without loading anything (the panel is closing)."""
        self._forget_rows()
        self._set_loading(False)

    def set_query(self, query: OrdersQuery) -> None:
        """New filters or ordering: forget every row and load the first page."""
        self.query = query
        self.archive = self._sorted_archive(self.archive)
        self.reload()

    def reload(self) -> None:
        self._forget_rows()
        if self.include_tasking:
            self._request(0)
            return
        # Archive orders only: no tasking listing, so it is complete and empty, and every archive order shows.
        self.total = 0
        self._rebuild_rows()
        self.totalChanged.emit(0)

    # -- the archive orders, merged by the listing's ordering ------------------------------------------------

    def set_services(self, tasking: bool, archive: bool) -> None:
        """Which orders the list holds; the caller reloads (set_query) after."""
        self.include_tasking, self.include_archive = tasking, archive
        if not archive:
            self.archive, self.archive_ids, self.source_of = [], set(), {}

    def _merge_field(self):
        """The ordering's field (the tasking listing's name for it) and whether it is descending."""
        first = self.query.ordering[0] if self.query.ordering else DEFAULT_ORDERING[0]
        return first.lstrip("-"), first.startswith("-")

    def _merge_value(self, order: Any, field: str) -> Any:
        """A merged order's value for the listing's ordering field (None: its service has none)."""
        source = self.source_of.get(order.id)
        return source.sort_value(order, field) if source is not None else None

    def _sorted_archive(self, orders: Sequence[Any]) -> List[Any]:
        """Merged orders in the listing's ordering; those without a value for it last (they show once the
        tasking listing is complete, after it)."""
        field, descending = self._merge_field()
        values = {o.id: self._merge_value(o, field) for o in orders}
        valued = [o for o in orders if values[o.id] is not None]
        try:
            valued.sort(key=lambda o: (_sort_key(values[o.id]), o.id), reverse=descending)
        except TypeError:  # values of different kinds across services: left in the order read
            pass
        return valued + [o for o in orders if values[o.id] is None]

    def _before(self, archive_order: Any, tasking_order: Any) -> bool:
        """Whether a merged order comes before a tasking order in the listing's ordering (ties: tasking first)."""
        field, descending = self._merge_field()
        mine = self._merge_value(archive_order, field)
        theirs = row_value(tasking_order, field)
        if mine is None:
            return False
        if theirs is None:
            return True
        mine, theirs = _sort_key(mine), _sort_key(theirs)
        try:
            return mine > theirs if descending else mine < theirs
        except TypeError:
            return False

    def _revealed(self, last_tasking: Any, complete: bool, shown: int = 0) -> int:
        """How many archive orders show when the tasking rows loaded end with `last_tasking` (at least
        `shown`: those shown already came before an earlier last row, so before this one too)."""
        if not self.include_archive:
            return 0
        if complete or not self.include_tasking or self.tasking_failed:
            return len(self.archive)
        if last_tasking is None:
            return shown
        count = shown
        for order in self.archive[shown:]:
            if not self._before(order, last_tasking):
                break
            count += 1
        return count

    def _merge(self, tasking: Sequence[Any], archive: Sequence[Any]) -> List[Any]:
        merged: List[Any] = []
        t = a = 0
        while t < len(tasking) and a < len(archive):
            if self._before(archive[a], tasking[t]):
                merged.append(archive[a])
                a += 1
            else:
                merged.append(tasking[t])
                t += 1
        return merged + list(tasking[t:]) + list(archive[a:])

    def _tasking_complete(self) -> bool:
        return not self.include_tasking or (self.total is not None and len(self._orders) >= self.total)

    def _rebuild_rows(self) -> None:
        """The rows again from the tasking orders and the archive orders (a reset: the caller re-selects)."""
        self.beginResetModel()
        if self.include_archive:
            shown = self._revealed(self._orders[-1] if self._orders else None,
                                   self.total is not None and self._tasking_complete())
            self._rows = self._merge(self._orders, self.archive[:shown])
            self.archive_shown = shown
        else:
            self._rows = self._orders
            self.archive_shown = 0
        self.row_of = {row_id(row): position for position, row in enumerate(self._rows)}
        self.endResetModel()

    def set_merged(self, source: Any, orders: Sequence[Any]) -> None:
        """One source's orders matching the filters, read afresh (the other sources' stay); rows of the same
        orders in the same places are updated in place, otherwise the rows are laid out again."""
        kept = [o for o in self.archive if self.source_of.get(o.id) is not source]
        self.source_of = {o.id: self.source_of[o.id] for o in kept}
        self.source_of.update({o.id: source for o in orders})
        fresh = self._sorted_archive(kept + list(orders))
        self.archive_ids = {o.id for o in fresh}
        if [o.id for o in fresh] == [o.id for o in self.archive]:
            self.archive = fresh
            for order in fresh[:self.archive_shown]:
                self._rows[self.row_of[order.id]] = order
            if self.archive_shown:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self._rows) - 1, len(COLUMNS) - 1))
            return
        self.archive = fresh
        if self.total is not None or not self.include_tasking or self.tasking_failed:
            self._rebuild_rows()

    def clear_merged(self) -> None:
        """No merged orders (before each source's are read again with new filters)."""
        self.archive, self.archive_ids, self.source_of = [], set(), {}
        if self.archive_shown:
            self._rebuild_rows()

    def archive_orders_shown(self) -> List[Any]:
        return self.archive[:self.archive_shown]

    def _set_loading(self, loading: bool) -> None:
        if loading != self.loading:
            self.loading = loading
            self.loadingChanged.emit(loading)

    def _request(self, offset: int) -> None:
        generation = self.generation
        self._set_loading(True)

        def on_page(page: Page) -> None:
            if generation != self.generation:
                return
            self._set_loading(False)
            self.append_page(page, first=offset == 0)

        def on_error(error: BaseException) -> None:
            if generation != self.generation:
                return
            if offset == 0 and self.include_archive:
                # The tasking list could not be read at all: the other services' orders show meanwhile, rather
                # than waiting for a list they are merged into (the retry, a reload, lays the rows out again).
                # Laid out before loading ends, so whoever counts the rows on loadingChanged counts these.
                self.tasking_failed = True
                self._rebuild_rows()
            self._set_loading(False)
            self.loadFailed.emit(error)

        self.start_page(self.query.params(), offset, self.page_size, on_page, on_error)

    def append_page(self, page: Page, first: bool = False) -> OrderRows:
        """A page's orders (order objects or packed rows: the page loader packs them) appended; those added."""
        row_of = self.row_of
        # A page is a set of ids; a duplicate within it would be a service bug, still shown once.
        unique: Dict[str, Any] = {}
        for order in page.results:
            order = pack_order(order)
            order_id = row_id(order)
            if order_id not in row_of:
                unique.setdefault(order_id, order)
        fresh = list(unique.values())
        shifted = len(fresh) != len(page.results)
        if self.include_archive:
            self._append_merged(page, fresh)
        elif fresh:
            start = len(self._orders)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            self._orders.extend(fresh)
            for position, order_id in enumerate(unique, start):
                row_of[order_id] = position
            self.endInsertRows()
        if page.count != self.total:
            self.total = page.count
            self.totalChanged.emit(page.count)
        if not page.results and len(self._orders) < (self.total or 0):
            # The listing ended early (orders went away meanwhile): the total is what was seen.
            self.total = len(self._orders)
            self.totalChanged.emit(self.total)
        added = OrderRows(fresh)
        self.pageLoaded.emit(added, first)
        if shifted:
            self.listingShifted.emit()
        return added

    def _append_merged(self, page: Page, fresh: List[Any]) -> None:
        """A page with archive orders in the list: its rows and the archive orders it reaches past, appended."""
        total = page.count
        if not page.results and len(self._orders) < (total or 0):
            total = len(self._orders)
        complete = len(self._orders) + len(fresh) >= (total or 0)
        last = fresh[-1] if fresh else (self._orders[-1] if self._orders else None)
        shown = self._revealed(last, complete, self.archive_shown)
        added = self._merge(fresh, self.archive[self.archive_shown:shown])
        if not added:
            return
        start = len(self._rows)
        self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
        self._orders.extend(fresh)
        self._rows.extend(added)
        for position, row in enumerate(added, start):
            self.row_of[row_id(row)] = position
        self.archive_shown = shown
        self.endInsertRows()

    # -- refresh --------------------------------------------------------------------------------------

    def order_by_id(self) -> OrdersById:
        """{id: order} of the tasking orders loaded now (a snapshot; each order made as it is read)."""
        return OrdersById(list(self._orders))

    def apply_refresh(self, orders: Sequence[Any], total: int, changes: ChangeSet) -> bool:
        """Show a fresh listing of the loaded window (orders or packed rows); rows that changed are marked. True
        if rows were reset."""
        self.changes.update(changes.changed)
        for order_id in changes.removed:
            self.changes.pop(order_id, None)
        orders = pack_orders(orders)
        # The same rows (a refresh that found nothing changed hands back the rows shown): one C-level comparison
        # by identity; else the ids of each, in order.
        same_rows = orders == self._orders or [row_id(o) for o in orders] == [row_id(o) for o in self._orders]
        previous_total, self.total = self.total, total
        self._discard(self._orders)  # the rows read before: those not read again are freed a slice at a time
        if same_rows:
            if self.include_archive:
                self._orders = orders
                for order in orders:
                    self._rows[self.row_of[row_id(order)]] = order
            else:
                self._orders = self._rows = orders
            for order_id in changes.changed:
                row = self.row_of.get(order_id)
                if row is not None:
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        else:
            self._orders = orders
            self._rebuild_rows()
        if total != previous_total:
            self.totalChanged.emit(total)
        return not same_rows

    def replace_order(self, order: Order) -> None:
        """One order read again (after an edit or cancel) in place."""
        row = self.row_of.get(order.id)
        if row is None:
            return
        packed = pack_order(order)
        if self._rows is not self._orders:  # archive orders merged in: the tasking list has its own places
            self._orders = [packed if row_id(o) == order.id else o for o in self._orders]
        self._rows[row] = packed
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def clear_mark(self, order_id: str) -> None:
        if self.changes.pop(order_id, None) is not None:
            row = self.row_of.get(order_id)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def order_at(self, row: int) -> Optional[Order]:
        return unpack_order(self._rows[row]) if 0 <= row < len(self._rows) else None
