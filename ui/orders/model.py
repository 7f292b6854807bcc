"""Server-backed table model of tasking orders (filtered and sorted by the API, loaded page by page as the view
scrolls), with other services' orders (archive imagery, UP42 tasking: core.app.merged_orders) merged in by the same
ordering."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Sequence, Set

from qgis.core import QgsApplication
from qgis.PyQt.QtCore import QAbstractTableModel, QModelIndex, Qt, pyqtSignal
from qgis.PyQt.QtGui import QBrush, QColor, QIcon

from ...core.app.orders_refresh import ChangeSet, OrderChange
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


class OrdersTableModel(QAbstractTableModel):
    """Rows are the orders the server returned for the query, in its order; more are fetched on demand.

    Pages are requested through `start_page` (a QgsTask in the panel); a page that arrives after the
    query changed is dropped. Ids already shown are never added twice: if the listing shifted between
    pages (orders created meanwhile), the duplicates are skipped and `listingShifted` asks for a refresh.

    `orders` are the tasking orders loaded, in the server's order; `rows` what the view shows. Without
    merged orders they are one list. With them (`set_services`), other services' orders (each source's, all of
    them, a few thousand at most, given by `set_merged`; `archive` holds them all, `source_of` says whose) are
    merged into the tasking listing by the same ordering: such an order is shown once the tasking rows loaded
    reach past it (or the listing is complete), so each new page only appends rows and the tasking rows keep
    exactly the server's order. `total` stays the tasking listing's count.
    """

    loadingChanged = pyqtSignal(bool)  # noqa: N815 - Qt signal naming
    totalChanged = pyqtSignal(int)  # noqa: N815
    pageLoaded = pyqtSignal(list, bool)  # noqa: N815 - orders added, whether it was the first page
    loadFailed = pyqtSignal(object)  # noqa: N815
    listingShifted = pyqtSignal()  # noqa: N815

    def __init__(self, start_page: PageLoader, page_size: int = 200, parent=None):
        super().__init__(parent)
        self.start_page = start_page
        self.page_size = page_size
        self.query = OrdersQuery()
        self.orders: List[Order] = []
        self.row_of: Dict[str, int] = {}
        self.changes: Dict[str, OrderChange] = {}
        self.total: Optional[int] = None
        self.loading = False
        self.generation = 0
        self.sort_column: Optional[int] = None
        self.sort_order = Qt.SortOrder.AscendingOrder
        self.rows: List[Any] = self.orders
        self.include_tasking = True
        self.include_archive = False
        # Other services' orders, sorted by the query's ordering; the first `archive_shown` are in rows.
        self.archive: List[Any] = []
        self.source_of: Dict[str, Any] = {}  # merged order id → its core.app.merged_orders.MergedSource
        self.archive_ids: Set[str] = set()
        self.archive_shown = 0

    # -- Qt model interface -----------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.rows)

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
        if not index.isValid() or index.row() >= len(self.rows):
            return None
        order = self.rows[index.row()]
        if self.archive_ids and order.id in self.archive_ids:
            return self._archive_data(order, index.column(), role)
        if role == Qt.ItemDataRole.DisplayRole:
            attribute = COLUMNS[index.column()].attribute
            value = getattr(order, attribute, None)
            return SERVICE_TASKING if value is None and attribute == "service" else _display(value)
        if role == ORDER_ID_ROLE:
            return order.id
        if role == ORDER_ROLE:
            return order
        if role == IS_ARCHIVE_ROLE:
            return False
        change = self.changes.get(order.id)
        if role == CHANGED_ROLE:
            return change is not None
        if role == Qt.ItemDataRole.BackgroundRole and change is not None:
            return CHANGED_BRUSH
        if role == Qt.ItemDataRole.ToolTipRole:
            if change is not None:
                return "Changed at the last refresh:\n" + change.describe()
            return _display(getattr(order, COLUMNS[index.column()].attribute, None)) or None
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
        return len(self.orders) < self.total

    def fetchMore(self, parent: QModelIndex = QModelIndex()) -> None:  # noqa: N802, B008
        if self.canFetchMore(parent):
            self._request(len(self.orders))

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
        self.orders = []
        self.rows = [] if self.include_archive else self.orders
        self.archive_shown = 0
        self.row_of = {}
        self.changes = {}
        self.total = None
        self.endResetModel()

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
        theirs = getattr(tasking_order, field, None)
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
        if complete or not self.include_tasking:
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
        return not self.include_tasking or (self.total is not None and len(self.orders) >= self.total)

    def _rebuild_rows(self) -> None:
        """The rows again from the tasking orders and the archive orders (a reset: the caller re-selects)."""
        self.beginResetModel()
        if self.include_archive:
            shown = self._revealed(self.orders[-1] if self.orders else None,
                                   self.total is not None and self._tasking_complete())
            self.rows = self._merge(self.orders, self.archive[:shown])
            self.archive_shown = shown
        else:
            self.rows = self.orders
            self.archive_shown = 0
        self.row_of = {row.id: position for position, row in enumerate(self.rows)}
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
                self.rows[self.row_of[order.id]] = order
            if self.archive_shown:
                self.dataChanged.emit(self.index(0, 0), self.index(len(self.rows) - 1, len(COLUMNS) - 1))
            return
        self.archive = fresh
        if self.total is not None or not self.include_tasking:
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
            self._set_loading(False)
            self.loadFailed.emit(error)

        self.start_page(self.query.params(), offset, self.page_size, on_page, on_error)

    def append_page(self, page: Page, first: bool = False) -> List[Order]:
        fresh = [order for order in page.results if order.id not in self.row_of]
        # A page is a set of ids; a duplicate within it would be a service bug, still shown once.
        unique: Dict[str, Order] = {}
        for order in fresh:
            unique.setdefault(order.id, order)
        fresh = list(unique.values())
        shifted = len(fresh) != len(page.results)
        if self.include_archive:
            self._append_merged(page, fresh)
        elif fresh:
            start = len(self.orders)
            self.beginInsertRows(QModelIndex(), start, start + len(fresh) - 1)
            for position, order in enumerate(fresh, start):
                self.orders.append(order)
                self.row_of[order.id] = position
            self.endInsertRows()
        if page.count != self.total:
            self.total = page.count
            self.totalChanged.emit(page.count)
        if not page.results and len(self.orders) < (self.total or 0):
            # The listing ended early (orders went away meanwhile): the total is what was seen.
            self.total = len(self.orders)
            self.totalChanged.emit(self.total)
        self.pageLoaded.emit(fresh, first)
        if shifted:
            self.listingShifted.emit()
        return fresh

    def _append_merged(self, page: Page, fresh: List[Order]) -> None:
        """A page with archive orders in the list: its rows and the archive orders it reaches past, appended."""
        total = page.count
        if not page.results and len(self.orders) < (total or 0):
            total = len(self.orders)
        complete = len(self.orders) + len(fresh) >= (total or 0)
        last = fresh[-1] if fresh else (self.orders[-1] if self.orders else None)
        shown = self._revealed(last, complete, self.archive_shown)
        added = self._merge(fresh, self.archive[self.archive_shown:shown])
        if not added:
            return
        start = len(self.rows)
        self.beginInsertRows(QModelIndex(), start, start + len(added) - 1)
        self.orders.extend(fresh)
        self.rows.extend(added)
        for position, row in enumerate(added, start):
            self.row_of[row.id] = position
        self.archive_shown = shown
        self.endInsertRows()

    # -- refresh --------------------------------------------------------------------------------------

    def order_by_id(self) -> Dict[str, Order]:
        return {order.id: order for order in self.orders}

    def apply_refresh(self, orders: Sequence[Order], total: int, changes: ChangeSet) -> bool:
        """Show a fresh listing of the loaded window; rows that changed are marked. True if rows were reset."""
        self.changes.update(changes.changed)
        for order_id in changes.removed:
            self.changes.pop(order_id, None)
        same_rows = [o.id for o in orders] == [o.id for o in self.orders]
        previous_total, self.total = self.total, total
        if same_rows:
            if self.include_archive:
                self.orders = list(orders)
                for order in self.orders:
                    self.rows[self.row_of[order.id]] = order
            else:
                self.orders = self.rows = list(orders)
            for order_id in changes.changed:
                row = self.row_of.get(order_id)
                if row is not None:
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        else:
            self.orders = list(orders)
            self._rebuild_rows()
        if total != previous_total:
            self.totalChanged.emit(total)
        return not same_rows

    def replace_order(self, order: Order) -> None:
        """One order read again (after an edit or cancel) in place."""
        row = self.row_of.get(order.id)
        if row is None:
            return
        if self.rows is not self.orders:  # archive orders merged in: the tasking list has its own places
            self.orders = [order if o.id == order.id else o for o in self.orders]
        self.rows[row] = order
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def clear_mark(self, order_id: str) -> None:
        if self.changes.pop(order_id, None) is not None:
            row = self.row_of.get(order_id)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def order_at(self, row: int) -> Optional[Order]:
        return self.rows[row] if 0 <= row < len(self.rows) else None
