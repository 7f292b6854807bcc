"""The orders table view: columns sized from the font, a header menu to show or hide columns."""

from __future__ import annotations

from typing import Optional

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QTableView, QWidget

from .model import COLUMNS, TIME_ATTRIBUTES

# The Name column's default width in average characters, and how far fitting the loaded names may widen it.
NAME_CHARS = 28
NAME_CHARS_MAX = 48


class OrdersView(QTableView):
    """Rows of orders, selected whole; the header sorts (where the service can) and hides columns."""

    def __init__(self, model, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("ordersView")
        self.setModel(model)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setWordWrap(False)
        self.verticalHeader().setVisible(False)
        # Fixed row heights and interactive widths: sizing to contents would read every row on each page.
        self.verticalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Fixed)
        header = self.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.setSortIndicatorShown(True)
        header.setSectionsClickable(True)
        header.setSectionsMovable(True)
        header.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header.customContextMenuRequested.connect(self._column_menu)
        header.setToolTip("Right-click to show or hide columns; drag a header to move its column.")
        self._name_width_fitted = False
        self.default_column_widths()

    def default_column_widths(self) -> None:
        """Widths from the font, not from the rows (which page in): dates fit, the name has room for a usual one."""
        header = self.horizontalHeader()
        metrics = self.fontMetrics()
        padding = 2 * metrics.averageCharWidth() + 8
        for column, spec in enumerate(COLUMNS):
            if spec.attribute == "name":
                width = metrics.averageCharWidth() * NAME_CHARS + padding
            elif spec.attribute in TIME_ATTRIBUTES:
                width = metrics.horizontalAdvance("2026-12-31 23:59") + padding
            elif spec.attribute == "id":
                width = metrics.horizontalAdvance("0" * 36) + padding
            else:
                width = metrics.horizontalAdvance("IN_PROGRESS") + padding  # longer statuses show a tooltip
            self.setColumnWidth(column, max(width, header.sectionSizeHint(column)))
            self.setColumnHidden(column, not spec.shown)

    def fit_name_column(self, orders) -> None:
        """Once, when the first rows arrive: widen Name to the loaded names, up to a cap (never narrower)."""
        if self._name_width_fitted or not orders:
            return
        self._name_width_fitted = True
        metrics = self.fontMetrics()
        cap = metrics.averageCharWidth() * NAME_CHARS_MAX
        widest = max(metrics.horizontalAdvance(order.name or "") for order in orders[:200])
        wanted = min(widest + 2 * metrics.averageCharWidth() + 8, cap)
        if wanted > self.columnWidth(0):
            self.setColumnWidth(0, wanted)

    def _column_menu(self, position) -> None:
        """The header's context menu: show or hide each column (as QGIS's attribute table does)."""
        menu = self.column_menu()
        menu.exec(self.horizontalHeader().mapToGlobal(position))

    def column_menu(self) -> QMenu:
        menu = QMenu(self)
        shown = [c for c in range(len(COLUMNS)) if not self.isColumnHidden(c)]
        for column, spec in enumerate(COLUMNS):
            action = menu.addAction(spec.title)
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(column))
            action.setEnabled(shown != [column])  # the last shown column stays
            action.toggled.connect(lambda checked, c=column: self.setColumnHidden(c, not checked))
        return menu
