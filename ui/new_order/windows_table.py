"""Table model of imaging windows: one row per window, numbers sortable as numbers, replacing windows marked."""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple

from qgis.PyQt.QtCore import QAbstractTableModel, QModelIndex, QSortFilterProxyModel, Qt
from qgis.PyQt.QtGui import QBrush, QColor

from ...core.names import units_text
from ...core.services.planet_tasking.models import ImagingWindow

SORT_ROLE = Qt.ItemDataRole.UserRole + 1
WINDOW_ROLE = Qt.ItemDataRole.UserRole + 2
REPLACING_BACKGROUND = QColor(255, 236, 200)


def _number(value: Optional[float], fmt: str, unit: str) -> str:
    return "–" if value is None else f"{value:{fmt}}{unit}"


def _range(low: Optional[float], high: Optional[float], unit: str) -> str:
    if low is None and high is None:
        return "–"
    if low is None or high is None or round(low, 1) == round(high, 1):
        return _number(low if low is not None else high, ".1f", unit)
    return f"{low:.1f}–{high:.1f}{unit}"


def window_price(window: ImagingWindow) -> Optional[float]:
    """The window's estimated quota cost (None when the service did not price it)."""
    pricing = window.pricing_details
    return pricing.estimated_quota_cost if pricing is not None and pricing.ok else None


def _price_text(window: ImagingWindow) -> str:
    price = window_price(window)
    if price is None:
        return "–"
    units = window.pricing_details.units if window.pricing_details else None
    # The number alone in the narrow column: its header says "km²" (of quota, said in full in the tooltip
    # and the detail); a price in other units carries them.
    return f"{price:,.2f}" if (units or "").upper() == "SQKM" else f"{price:,.2f} {units_text(units)}"


def _conflicts_text(window: ImagingWindow) -> str:
    if not window.conflicting_orders:
        return "none"
    names = ", ".join(o.name or o.id for o in window.conflicting_orders)
    return f"replaces {len(window.conflicting_orders)}: {names}"


# (header, tooltip, display text, sort value) per column.
Column = Tuple[str, str, Callable[[ImagingWindow], str], Callable[[ImagingWindow], Any]]
COLUMNS: Sequence[Column] = (
    ("Start (UTC)", "When the satellite starts imaging the AOI, in UTC",
     # Short enough for a narrow dock, with the weekday the timeline shows; seconds are in the tooltip.
     lambda w: "–" if w.start_time is None else f"{w.start_time:%a %d %H:%M}",
     lambda w: w.start_time.timestamp() if w.start_time else 0.0),
    ("Duration", "How long the satellite images the AOI, in seconds",
     lambda w: _number(w.duration_seconds, ".0f", " s"), lambda w: w.duration_seconds or 0.0),
    ("Off-nadir", "Off-nadir angle (0° looks straight down), lowest–highest during the window",
     lambda w: _range(w.off_nadir_angle_min, w.off_nadir_angle_max, "°"),
     lambda w: w.off_nadir_angle_min if w.off_nadir_angle_min is not None else 99.0),
    ("Sat. elevation", "Satellite elevation above the horizon seen from the AOI, lowest–highest",
     lambda w: _range(w.sat_elevation_angle_min, w.sat_elevation_angle_max, "°"),
     lambda w: w.sat_elevation_angle_max if w.sat_elevation_angle_max is not None else -1.0),
    ("Sun elevation", "Sun elevation above the horizon at the AOI (low light below about 10°)",
     lambda w: _range(w.sun_elevation_angle_min, w.sun_elevation_angle_max, "°"),
     lambda w: w.sun_elevation_angle_max if w.sun_elevation_angle_max is not None else -99.0),
    ("GSD", "Ground sample distance: the size of a pixel on the ground, in metres",
     lambda w: _number(w.ground_sample_distance, ".2f", " m"), lambda w: w.ground_sample_distance or 99.0),
    ("Cloud forecast", "Forecast cloud cover at the window's time, latest forecast, in percent",
     lambda w: _number(w.latest_cloud_forecast, ".0f", " %"),
     lambda w: w.latest_cloud_forecast if w.latest_cloud_forecast is not None else 101.0),
    ("Tier", "Assured tasking tier: EXPRESS windows (soon) cost more than STANDARD ones",
     lambda w: w.assured_tasking_tier or "–", lambda w: w.assured_tasking_tier or ""),
    ("Priority ×", "Quota priority multiplier of this window (× the order's price)",
     lambda w: _number(w.quota_priority_multiplier, "g", " ×"), lambda w: w.quota_priority_multiplier or 0.0),
    ("Conflicting orders", "Your existing assured orders this window would replace (cancel) if you order it",
     _conflicts_text, lambda w: len(w.conflicting_orders)),
    ("Price (km² of quota)", "Estimated cost of ordering this window, in km² of quota (with the order's options)",
     _price_text, lambda w: window_price(w) if window_price(w) is not None else float("inf")),
)
START_COLUMN, CLOUD_COLUMN, TIER_COLUMN, CONFLICTS_COLUMN, PRICE_COLUMN = 0, 6, 7, 9, 10
# What decides a window, shown in a narrow dock; the other columns are in each row's tooltip.
SHOWN_COLUMNS = (START_COLUMN, CLOUD_COLUMN, PRICE_COLUMN)
# Header words short enough for a narrow table (the full ones are the model's, and the header's tooltip).
SHORT_HEADERS = {CLOUD_COLUMN: "Cloud", PRICE_COLUMN: "Price (km²)"}


def window_summary(window: ImagingWindow) -> str:
    """Every column of a window, one per line (the row's tooltip: the hidden columns are a hover away)."""
    lines = [f"{header}: {text(window)}" for header, _tip, text, _sort in COLUMNS[1:]]
    if window.start_time is not None:
        lines.insert(0, f"Start: {window.start_time:%Y-%m-%d %H:%M:%S} UTC")
    if window.replaces_orders:
        lines.insert(0, "Ordering this window replaces (cancels) your order(s): "
                     + ", ".join(f"“{o.name or o.id}”" for o in window.conflicting_orders))
    return "\n".join(lines)


class ImagingWindowsModel(QAbstractTableModel):
    """Imaging windows of one search; `WINDOW_ROLE` gives the ImagingWindow of a row."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self._windows: List[ImagingWindow] = []

    def set_windows(self, windows: Sequence[ImagingWindow]) -> None:
        self.beginResetModel()
        self._windows = list(windows)
        self.endResetModel()

    def sync_windows(self, windows: Sequence[ImagingWindow]) -> int:
        """Make the rows the given windows, by id, without a reset; returns how many rows were added.

        A search's results arrive gradually, so the table is brought up to date in place: rows are
        updated, inserted and removed one by one instead of reset, which keeps the view's sort, its
        selection (persistent indexes follow moved rows) and scroll position. A window listed twice
        is shown once.
        """
        wanted: Dict[str, ImagingWindow] = {}
        for window in windows:
            wanted.setdefault(window.id, window)
        for row in reversed(range(len(self._windows))):
            if self._windows[row].id not in wanted:
                self.beginRemoveRows(QModelIndex(), row, row)
                del self._windows[row]
                self.endRemoveRows()
        rows = {window.id: row for row, window in enumerate(self._windows)}
        for window_id, row in rows.items():
            fresh = wanted[window_id]
            if fresh is not self._windows[row]:
                # Conflicts, multipliers and prices can change between reads of the same window.
                self._windows[row] = fresh
                self.dataChanged.emit(self.index(row, 0), self.index(row, len(COLUMNS) - 1))
        added = [window for window_id, window in wanted.items() if window_id not in rows]
        if added:
            first = len(self._windows)
            self.beginInsertRows(QModelIndex(), first, first + len(added) - 1)
            self._windows.extend(added)
            self.endInsertRows()
        return len(added)

    def windows(self) -> List[ImagingWindow]:
        return list(self._windows)

    def window(self, row: int) -> Optional[ImagingWindow]:
        return self._windows[row] if 0 <= row < len(self._windows) else None

    def rowCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(self._windows)

    def columnCount(self, parent: QModelIndex = QModelIndex()) -> int:  # noqa: N802, B008 - Qt API
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if orientation != Qt.Orientation.Horizontal or not 0 <= section < len(COLUMNS):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0]
        if role == Qt.ItemDataRole.ToolTipRole:
            return COLUMNS[section][1]
        return None

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        window = self._windows[index.row()]
        header, _tip, text, sort_value = COLUMNS[index.column()]
        if role == Qt.ItemDataRole.DisplayRole:
            return text(window)
        if role == SORT_ROLE:
            return sort_value(window)
        if role == WINDOW_ROLE:
            return window
        if role == Qt.ItemDataRole.BackgroundRole and window.replaces_orders:
            return QBrush(REPLACING_BACKGROUND)
        if role == Qt.ItemDataRole.ToolTipRole:
            return window_summary(window)
        if role == Qt.ItemDataRole.TextAlignmentRole and index.column() not in (START_COLUMN, TIER_COLUMN,
                                                                              CONFLICTS_COLUMN):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class WindowsSortProxy(QSortFilterProxyModel):
    """Sorts by each column's value (numbers as numbers, times as times), not by the displayed text."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setSortRole(SORT_ROLE)

    def headerData(self, section: int, orientation, role: int = Qt.ItemDataRole.DisplayRole) -> Any:  # noqa: N802
        if (role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal
                and section in SHORT_HEADERS):
            return SHORT_HEADERS[section]
        return super().headerData(section, orientation, role)

    def window(self, row: int) -> Optional[ImagingWindow]:
        index = self.index(row, 0)
        return index.data(WINDOW_ROLE) if index.isValid() else None
