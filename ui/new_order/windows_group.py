"""The New order tab's imaging windows (assured): search buttons, progress, the table and the chosen window."""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ...core.services.planet_tasking.forms import utc_now
from ..shared.views import PythonModelTableView
from .fields import FieldErrors
from .texts import pricing_lines, replaced_names, search_found_text, searching_text, window_timing_lines
from .windows_table import COLUMNS, PRICE_COLUMN, SHOWN_COLUMNS, ImagingWindowsModel, WindowsSortProxy
from .windows_timeline import WindowsTimeline


class WindowsGroup(QGroupBox):
    """Shows a search as it runs and what it found; the chosen window is `selected_window`."""

    windowChanged = pyqtSignal()  # noqa: N815 - another window (or none) is chosen

    def __init__(self, errors: FieldErrors, has_aoi: Callable[[], bool], parent: Optional[QWidget] = None):
        super().__init__("Imaging windows (assured)", parent)
        self.setObjectName("windowsGroup")
        self.has_aoi = has_aoi
        self.selected_window: Optional[Any] = None
        self._build(errors)

    def _build(self, errors: FieldErrors) -> None:
        box = QVBoxLayout(self)
        buttons = QHBoxLayout()
        self.find_button = QPushButton("Find imaging &windows", self)
        self.find_button.setObjectName("findWindowsButton")
        self.find_button.setToolTip("Search the satellite passes over the AOI between start and end "
                                    "(takes up to 5 minutes at the service; the map stays usable)")
        buttons.addWidget(self.find_button)
        self.cancel_search_button = QPushButton("Cancel", self)
        self.cancel_search_button.setObjectName("cancelSearchButton")
        self.cancel_search_button.setToolTip("Stop waiting for the search")
        self.cancel_search_button.setEnabled(False)
        buttons.addWidget(self.cancel_search_button)
        box.addLayout(buttons)
        self.search_progress = QProgressBar(self)
        self.search_progress.setObjectName("searchProgress")
        self.search_progress.setRange(0, 100)
        self.search_progress.setFormat("Searching… %p %")
        self.search_progress.setVisible(False)
        box.addWidget(self.search_progress)
        self.replacing_check = QCheckBox("Include windows that\n&replace my orders", self)
        self.replacing_check.setObjectName("replacingCheck")
        self.replacing_check.setToolTip("Also list windows already used by your assured orders; ordering one "
                                        "replaces (cancels) those orders. They are highlighted.")
        options = QHBoxLayout()
        options.addWidget(self.replacing_check, 1)
        self.windows_map_button = QPushButton("Show on &map", self)
        self.windows_map_button.setObjectName("windowsToMapButton")
        self.windows_map_button.setToolTip("Put the listed windows in the “Imaging windows” layer: each is drawn "
                                           "as the footprint it would image, and the temporal controller plays "
                                           "them by time.")
        self.windows_map_button.setEnabled(False)
        options.addWidget(self.windows_map_button)
        box.addLayout(options)
        self.search_status = QLabel(self)
        self.search_status.setObjectName("searchStatus")
        self.search_status.setWordWrap(True)
        box.addWidget(self.search_status)
        self.windows_timeline = WindowsTimeline(self)
        self.windows_timeline.windowClicked.connect(self.select_window)
        box.addWidget(self.windows_timeline)
        self.windows_model = ImagingWindowsModel(self)
        self.windows_proxy = WindowsSortProxy(self)
        self.windows_proxy.setSourceModel(self.windows_model)
        self.windows_view = view = PythonModelTableView(self)
        view.setObjectName("windowsView")
        view.setModel(self.windows_proxy)
        view.setSortingEnabled(True)
        view.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        view.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        view.setAlternatingRowColors(True)
        view.setTabKeyNavigation(False)
        view.verticalHeader().setVisible(False)
        header = view.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        # A narrow dock shows what decides (start, cloud, price), the price taking the room left; every
        # other column is in each row's tooltip, so the table never needs sideways scrolling.
        header.setSectionResizeMode(PRICE_COLUMN, QHeaderView.ResizeMode.Stretch)
        for column in range(len(COLUMNS)):
            view.setColumnHidden(column, column not in SHOWN_COLUMNS)
        for visual, column in enumerate(SHOWN_COLUMNS):
            header.moveSection(header.visualIndex(column), visual)
        view.setMinimumHeight(150)
        view.setToolTip("Choose the window to order; click a header to sort. Hover a row for its off-nadir "
                        "angle, elevations, tier and the orders it replaces.")
        view.selectionModel().selectionChanged.connect(self._selection_changed)
        for signal in (self.windows_model.modelReset, self.windows_model.rowsInserted, self.windows_model.rowsRemoved):
            signal.connect(self._update_map_button)
            signal.connect(self._update_timeline)
        self.windows_model.dataChanged.connect(self._update_timeline)
        box.addWidget(view)
        self.window_detail = QLabel(self)
        self.window_detail.setObjectName("windowDetail")
        self.window_detail.setWordWrap(True)
        self.window_detail.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.addWidget(self.window_detail)
        box.addWidget(errors.label(self, "imaging_window"))

    def windows(self) -> List[Any]:
        return self.windows_model.windows()

    def _update_timeline(self, *_args) -> None:
        self.windows_timeline.set_windows(self.windows_model.windows())

    def _update_map_button(self, *_args) -> None:
        self.windows_map_button.setEnabled(self.windows_model.rowCount() > 0 and self.has_aoi())

    # -- a search as it runs -----------------------------------------------------------------------

    def show_started(self, running: bool) -> None:
        self.search_progress.setVisible(running)
        if running:
            self.search_progress.setValue(0)
            self.find_button.setEnabled(False)
            self.cancel_search_button.setEnabled(True)
            self.search_status.setText(searching_text(len(self.windows_model.windows())))
        else:
            self.search_status.setText("Reading the imaging windows again…")

    def show_progress(self, percent: float) -> None:
        self.search_progress.setValue(int(percent))

    def show_partial(self, search: Any) -> None:
        count = self.merge_windows(search.imaging_windows)
        if self.search_progress.isVisible():
            self.search_status.setText(searching_text(count))

    def show_finished(self) -> None:
        self.search_progress.setVisible(False)
        self.find_button.setEnabled(True)
        self.cancel_search_button.setEnabled(False)

    def show_done(self, search: Any) -> None:
        self.show_finished()
        windows = search.imaging_windows
        self.merge_windows(windows)
        self.windows_view.resizeColumnsToContents()
        self.search_status.setText(search_found_text(windows, self.windows_model.rowCount()))

    def show_cancelled(self) -> None:
        self.show_finished()
        count = self.windows_model.rowCount()
        if not count:
            self.search_status.setText("Search cancelled. Nothing was ordered.")
        else:
            self.search_status.setText(
                f"Search cancelled before it finished: the {count} imaging window{'s' if count != 1 else ''} "
                "found so far are listed, there may be more. Nothing was ordered.")

    def clear(self) -> None:
        self.show_finished()
        self.selected_window = None
        self.windows_timeline.set_selected(None)
        self.windows_model.set_windows([])
        self.search_status.setText("")
        self.window_detail.setText("")

    def merge_windows(self, windows: List[Any]) -> int:
        """Bring the table up to the service's list, keeping the sort and the selected window; returns the count."""
        before = self.selected_window.id if self.selected_window else None
        self.windows_model.sync_windows(windows)
        rows = self.windows_view.selectionModel().selectedRows()
        self.selected_window = self.windows_proxy.window(rows[0].row()) if rows else None
        if self.selected_window is not None and self.selected_window.id != before:
            # The selection only followed its row; it is the same window the user chose if the id matches.
            self.selected_window = None
            self.windows_view.clearSelection()
        self.show_window_detail()
        after = self.selected_window.id if self.selected_window else None
        if after != before:
            self.windowChanged.emit()
        return self.windows_model.rowCount()

    # -- the chosen window -------------------------------------------------------------------------

    def select_window(self, window_id: str) -> bool:
        """Select the table row of a window by id (as a click would); False when it is not listed."""
        for row in range(self.windows_proxy.rowCount()):
            window = self.windows_proxy.window(row)
            if window is not None and window.id == window_id:
                self.windows_view.selectRow(row)
                return True
        return False

    def unselect(self) -> None:
        # The table is updated in place, so a selection would otherwise stay on the taken window's row.
        self.windows_view.clearSelection()
        self.selected_window = None

    def _selection_changed(self, *_args) -> None:
        rows = self.windows_view.selectionModel().selectedRows()
        self.selected_window = self.windows_proxy.window(rows[0].row()) if rows else None
        self.show_window_detail()
        self.windowChanged.emit()

    def show_window_detail(self) -> None:
        window = self.selected_window
        # The timeline marks the window the detail describes.
        self.windows_timeline.set_selected(window.id if window else None)
        if window is None:
            self.window_detail.setText("")
            return
        when, warning = window_timing_lines(window, utc_now())
        lines = [f"Window {window.start_time:%Y-%m-%d %H:%M:%S} UTC ({when}), {window.duration_seconds or 0:.0f} s",
                 f"Tier {window.assured_tasking_tier or '–'}, priority × {window.quota_priority_multiplier or 1:g}"]
        if warning:
            lines.append(warning)
        if window.pricing_details is not None:
            lines += pricing_lines(window.pricing_details)
        names = replaced_names(window)
        if names:
            lines.append("Ordering it replaces (cancels): " + ", ".join(f"“{n}”" for n in names))
        else:
            lines.append("It replaces none of your orders.")
        self.window_detail.setText("\n".join(lines))
