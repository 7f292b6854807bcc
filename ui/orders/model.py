"""Server-backed table model of tasking orders: filtered and sorted by the API, loaded page by page as the view scrolls."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Callable, Dict, List, Optional, Sequence

from qgis.PyQt.QtCore import QAbstractTableModel, QModelIndex, Qt, pyqtSignal
from qgis.PyQt.QtGui import QBrush, QColor

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
)
TIME_ATTRIBUTES = frozenset(c.attribute for c in COLUMNS if c.attribute.endswith("_time"))


ORDER_ID_ROLE = Qt.ItemDataRole.UserRole + 1
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


class OrdersTableModel(QAbstractTableModel):
    """Rows are the orders the server returned for the query, in its order; more are fetched on demand.

    Pages are requested through `start_page` (a QgsTask in the panel); a page that arrives after the
    query changed is dropped. Ids already shown are never added twice: if the listing shifted between
    pages (orders created meanwhile), the duplicates are skipped and `listingShifted` asks for a refresh.
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

    # -- Qt model interface -----------------------------------------------------------------------

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.orders)

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
        if not index.isValid() or index.row() >= len(self.orders):
            return None
        order = self.orders[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return _display(getattr(order, COLUMNS[index.column()].attribute, None))
        if role == ORDER_ID_ROLE:
            return order.id
        if role == ORDER_ROLE:
            return order
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
        self.reload()

    def reload(self) -> None:
        self._forget_rows()
        self._request(0)

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
        if fresh:
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

    # -- refresh --------------------------------------------------------------------------------------

    def order_by_id(self) -> Dict[str, Order]:
        return {order.id: order for order in self.orders}

    def apply_refresh(self, orders: Sequence[Order], total: int, changes: ChangeSet) -> bool:
        """Show a fresh listing of the loaded window; rows that changed are marked. True if rows were reset."""
        self.changes.update(changes.changed)
        for order_id in changes.removed:
            self.changes.pop(order_id, None)
        same_rows = [o.id for o in orders] == [o.id for o in self.orders]
        if same_rows:
            self.orders = list(orders)
            for order_id in changes.changed:
                row = self.row_of.get(order_id)
                if row is not None:
                    self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        else:
            self.beginResetModel()
            self.orders = list(orders)
            self.row_of = {order.id: row for row, order in enumerate(self.orders)}
            self.endResetModel()
        if total != self.total:
            self.total = total
            self.totalChanged.emit(total)
        return not same_rows

    def replace_order(self, order: Order) -> None:
        """One order read again (after an edit or cancel) in place."""
        row = self.row_of.get(order.id)
        if row is None:
            return
        self.orders[row] = order
        self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def clear_mark(self, order_id: str) -> None:
        if self.changes.pop(order_id, None) is not None:
            row = self.row_of.get(order_id)
            if row is not None:
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))

    def order_at(self, row: int) -> Optional[Order]:
        return self.orders[row] if 0 <= row < len(self.orders) else None
