"""The orders table view: columns sized from the font, a header menu to show or hide columns."""

from __future__ import annotations

from typing import Dict, Optional, Set

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QAbstractItemView, QHeaderView, QMenu, QWidget

from ..shared.views import PythonModelTableView
from .model import COLUMNS, SOURCE_COLUMNS, TIME_ATTRIBUTES

# The Name column's default width in average characters, and how far fitting the loaded names may widen it.
NAME_CHARS = 28
NAME_CHARS_MAX = 48
# In a narrow dock the Name column may shrink to this many characters before a column is given up.
NAME_CHARS_MIN = 16
# Which columns stay longest when the view is too narrow for all: the ones that decide first (name, status,
# dates); a column not named here goes before any that is.
PRIORITY = ("name", "status", "start_time", "end_time", "created_time", "scheduling_type", "order_type",
            "requested_sqkm", "fulfilled_sqkm", "capture_status_published_count")
# With other services' orders in the list, which service an order is of decides as much as its status.
ARCHIVE_PRIORITY = ("name", "status", "service", "sub_status", "created_time", "order_type", "result_count", "start_time",
                    "end_time", "scheduling_type", "requested_sqkm", "fulfilled_sqkm", "capture_status_published_count")
CORE = 6  # the first CORE of PRIORITY: Name narrows for them; for any other column, that column goes first


class OrdersView(PythonModelTableView):
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
        # Widths the columns want, hidden by the user (the header menu), shown by the user on purpose (never
        # given up for room), and given up for room (shown again when the view is wide enough).
        self._wanted: Dict[int, int] = {}
        self._user_hidden: Set[int] = set()
        self._user_shown: Set[int] = set()
        self.dropped_for_room: Set[int] = set()
        # The merged services' columns (Service, Results, Sub-status) are out of the list while it holds none of
        # their orders.
        self._archive_columns = {c for c, spec in enumerate(COLUMNS) if spec.attribute in SOURCE_COLUMNS}
        self._mode_hidden: Set[int] = set(self._archive_columns)
        self._priority = PRIORITY
        self._fitting = False
        header.sectionResized.connect(self._section_resized)
        # Service right after Status on screen (the model keeps its columns' numbers).
        service = next(c for c, spec in enumerate(COLUMNS) if spec.attribute == "service")
        status = next(c for c, spec in enumerate(COLUMNS) if spec.attribute == "status")
        header.moveSection(header.visualIndex(service), header.visualIndex(status) + 1)
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
            elif spec.attribute in ("service", "result_count"):  # "Tasking" / "Archive", a count: titles are wider
                width = metrics.horizontalAdvance("Archive") + padding
            else:
                width = metrics.horizontalAdvance("IN_PROGRESS") + padding  # longer statuses show a tooltip
            self._wanted[column] = max(width, header.sectionSizeHint(column))
            if not spec.shown and column not in self._archive_columns:
                self._user_hidden.add(column)
        self.fit_width()

    def fit_name_column(self, orders) -> None:
        """Once, when the first rows arrive: widen Name to the loaded names, up to a cap (never narrower)."""
        if self._name_width_fitted or not orders:
            return
        self._name_width_fitted = True
        metrics = self.fontMetrics()
        cap = metrics.averageCharWidth() * NAME_CHARS_MAX
        widest = max(metrics.horizontalAdvance(order.name or "") for order in orders[:200])
        wanted = min(widest + 2 * metrics.averageCharWidth() + 8, cap)
        if wanted > self._wanted[0]:
            self._wanted[0] = wanted
            self.fit_width()

    # -- fitting the width: no sideways scrolling --------------------------------------------------------

    def _room(self) -> int:
        """The width the columns may take; room for a vertical scroll bar is kept (rows page in)."""
        return self.width() - 2 * self.frameWidth() - self.verticalScrollBar().sizeHint().width()

    def fit_width(self) -> None:
        """Show the columns the user wants as far as they fit, the deciding ones first; Name gives way first.

        A dock 400 px wide must not need sideways scrolling: the least important columns are left out
        for room (the header menu still shows any of them on purpose), and come back when the view widens.
        """
        room = self._room()
        priority = self._priority
        order = sorted(range(len(COLUMNS)), key=lambda c: priority.index(COLUMNS[c].attribute)
                       if COLUMNS[c].attribute in priority else len(priority))
        wanted = [c for c in order if c not in self._user_hidden and c not in self._mode_hidden]
        name = next((c for c in wanted if COLUMNS[c].attribute == "name"), None)
        name_min = self.fontMetrics().averageCharWidth() * NAME_CHARS_MIN if name is not None else 0

        def needed(columns) -> int:
            # Name keeps its full width before a column beyond the deciding ones; only for those it shrinks.
            extras = any(COLUMNS[c].attribute not in priority[:CORE] for c in columns)
            name_width = 0 if name not in columns else self._wanted[name] if extras else min(name_min,
                                                                                             self._wanted[name])
            return sum(self._wanted[c] for c in columns if c != name) + name_width

        kept = list(wanted)
        while len(kept) > 1 and needed(kept) > room:
            droppable = [c for c in kept if c not in self._user_shown and c != name]
            if not droppable:
                break
            kept.remove(droppable[-1])
        self._fitting = True
        try:
            for column in range(len(COLUMNS)):
                self.setColumnHidden(column, column not in kept)
                if column in kept and column != name:
                    self.setColumnWidth(column, self._wanted[column])
            if name in kept:
                others = sum(self._wanted[c] for c in kept if c != name)
                self.setColumnWidth(name, max(min(self._wanted[name], room - others), min(name_min, self._wanted[name])))
        finally:
            self._fitting = False
        self.dropped_for_room = set(wanted) - set(kept)

    def show_source_columns(self, attributes) -> None:
        """Which merged services' columns the list's orders fill (shown as room allows): none without merged
        orders; Service and Results with archive orders, Service and Sub-status with UP42 orders."""
        attributes = set(attributes)
        self._mode_hidden = {c for c in self._archive_columns if COLUMNS[c].attribute not in attributes}
        self._priority = ARCHIVE_PRIORITY if attributes else PRIORITY
        self.fit_width()

    def set_column_shown(self, column: int, shown: bool) -> None:
        """The user's choice from the header menu: a column shown on purpose is not given up for room."""
        (self._user_hidden.discard if shown else self._user_hidden.add)(column)
        (self._user_shown.add if shown else self._user_shown.discard)(column)
        self.fit_width()

    def _section_resized(self, column: int, _old: int, new: int) -> None:
        if not self._fitting and new > 0:
            self._wanted[column] = new  # the user dragged it: that is the width it wants

    def resizeEvent(self, event) -> None:  # noqa: N802 - Qt override
        super().resizeEvent(event)
        if event.size().width() != event.oldSize().width():
            self.fit_width()

    def _column_menu(self, position) -> None:
        """The header's context menu: show or hide each column (as QGIS's attribute table does)."""
        menu = self.column_menu()
        menu.exec(self.horizontalHeader().mapToGlobal(position))

    def column_menu(self) -> QMenu:
        menu = QMenu(self)
        shown = [c for c in range(len(COLUMNS)) if not self.isColumnHidden(c)]
        for column, spec in enumerate(COLUMNS):
            if column in self._mode_hidden:
                continue  # a column for archive orders, which the list does not hold now
            action = menu.addAction(spec.title)
            action.setCheckable(True)
            action.setChecked(not self.isColumnHidden(column))
            action.setEnabled(shown != [column])  # the last shown column stays
            if column in self.dropped_for_room:
                action.setToolTip("Left out for room: the panel is too narrow; tick it to show it anyway.")
            action.toggled.connect(lambda checked, c=column: self.set_column_shown(c, checked))
        return menu
