"""The Orders tab's filter row: service (tasking, archive or both), status, name, scheduling, type and the
created/updated time ranges."""

from __future__ import annotations

from datetime import datetime
from typing import List, Optional, Sequence, Tuple

from qgis.gui import QgsCheckableComboBox, QgsDateTimeEdit
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QGridLayout, QLabel, QLineEdit, QWidget

from ...core.app.archive_orders import SOURCE_TYPES, ArchiveFilter
from ...core.services.planet_tasking.models import ORDER_TYPES, SCHEDULING_TYPES
from ...core.services.registry import service
from .details import from_qdatetime
from .model import OrdersQuery

# The Service filter's choices.
ALL_SERVICES = "all"
TASKING = "tasking"
ARCHIVE = "archive"


class OrderFilters(QWidget):
    """The filter widgets; `changed` fires on any edit (the panel waits a moment, then reloads).

    With archive states given (`set_archive_states`), the Service filter offers tasking orders, archive
    imagery orders or both in one list; the status and type filters then offer the archive orders' states
    and types as well, and each filter narrows the orders it applies to (an order matches when its state is
    ticked: ticking only tasking states leaves no archive order, and the other way round).
    """

    changed = pyqtSignal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        filters = QGridLayout(self)
        filters.setContentsMargins(0, 0, 0, 0)
        self.tasking_states: Tuple[str, ...] = tuple(service().order_statuses)
        self.archive_states: Tuple[str, ...] = ()
        self.service_label = QLabel("Service", self)
        self.service_filter = QComboBox(self)
        self.service_filter.setObjectName("serviceFilter")
        self.service_filter.setToolTip("Which orders the list holds: tasking orders, archive imagery orders, or "
                                       "both in one list ordered as the list is sorted.")
        self.service_filter.addItem("Tasking and archive", ALL_SERVICES)
        self.service_filter.addItem("Tasking", TASKING)
        self.service_filter.addItem("Archive imagery", ARCHIVE)
        self.status_filter = QgsCheckableComboBox(self)
        self.status_filter.setObjectName("statusFilter")
        self.status_filter.addItems(list(service().order_statuses))
        self.status_filter.setDefaultText("Any status")
        self.status_filter.setToolTip("Show only orders in the ticked states; none ticked: every state.")
        self.name_filter = QLineEdit(self)
        self.name_filter.setObjectName("nameFilter")
        self.name_filter.setPlaceholderText("Name contains…")
        self.name_filter.setClearButtonEnabled(True)
        self.name_filter.setToolTip("Show only orders whose name contains this text.")
        self.scheduling_filter = QComboBox(self)
        self.scheduling_filter.setObjectName("schedulingFilter")
        self.scheduling_filter.setToolTip("Show only orders scheduled this way: flexible, assured or monitoring.")
        self.scheduling_filter.addItem("Any scheduling", None)
        for value in SCHEDULING_TYPES:
            self.scheduling_filter.addItem(value, value)
        self.order_type_filter = QComboBox(self)
        self.order_type_filter.setObjectName("orderTypeFilter")
        self.order_type_filter.setToolTip("Show only orders of this type (single image or stereo).")
        self.order_type_filter.addItem("Any type", None)
        for value in ORDER_TYPES:
            self.order_type_filter.addItem(value, value)
        self.created_from = self._time_filter("createdFrom", "Show only orders created at or after this time (UTC); clear it for any.")
        self.created_to = self._time_filter("createdTo", "Show only orders created before this time (UTC); clear it for any.")
        self.updated_from = self._time_filter("updatedFrom", "Show only orders changed at or after this time (UTC); clear it for any.")
        self.updated_to = self._time_filter("updatedTo", "Show only orders changed before this time (UTC); clear it for any.")
        # Two columns (each time bound on its own row, after its label): the filters fit a dock 400 px wide.
        filters.addWidget(self.service_label, 0, 0)
        filters.addWidget(self.service_filter, 0, 1)
        filters.addWidget(self.status_filter, 1, 0)
        filters.addWidget(self.name_filter, 1, 1)
        filters.addWidget(self.scheduling_filter, 2, 0)
        filters.addWidget(self.order_type_filter, 2, 1)
        for row, (label, edit) in enumerate((("Created from", self.created_from), ("Created before", self.created_to),
                                             ("Updated from", self.updated_from), ("Updated before", self.updated_to)),
                                            start=3):
            filters.addWidget(QLabel(label, self), row, 0)
            filters.addWidget(edit, row, 1)
        filters.setColumnStretch(1, 1)

        # Combos sized by a few characters, not by their longest item, so the filters fit a narrow dock.
        for combo in (self.status_filter, self.scheduling_filter, self.order_type_filter, self.service_filter):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)

        self.service_label.hide()
        self.service_filter.hide()  # until there is an archive service to choose
        self.service_filter.currentIndexChanged.connect(self._service_changed)
        self.status_filter.checkedItemsChanged.connect(lambda *_: self.changed.emit())
        self.name_filter.textChanged.connect(lambda *_: self.changed.emit())
        self.scheduling_filter.currentIndexChanged.connect(lambda *_: self.changed.emit())
        self.order_type_filter.currentIndexChanged.connect(lambda *_: self.changed.emit())
        for edit in (self.created_from, self.created_to, self.updated_from, self.updated_to):
            edit.valueChanged.connect(lambda *_: self.changed.emit())

    # -- tasking and archive orders ------------------------------------------------------------------------

    def set_archive_states(self, states: Sequence[str]) -> None:
        """Archive orders can be listed (their service's states); empty: tasking orders only."""
        self.archive_states = tuple(states)
        shown = bool(self.archive_states)
        self.service_label.setVisible(shown)
        self.service_filter.setVisible(shown)
        self._fill_choices()

    def service_choice(self) -> str:
        return self.service_filter.currentData() if self.archive_states else TASKING

    def set_service(self, choice: str) -> None:
        self.service_filter.setCurrentIndex(self.service_filter.findData(choice))

    def _service_changed(self, *_) -> None:
        self._fill_choices()
        self.changed.emit()

    def _fill_choices(self) -> None:
        """The states and types of the services listed; what was ticked and is still offered stays."""
        choice = self.service_choice()
        states: List[str] = []
        types: List[str] = []
        if choice in (ALL_SERVICES, TASKING):
            states += self.tasking_states
            types += ORDER_TYPES
        if choice in (ALL_SERVICES, ARCHIVE):
            states += self.archive_states
            types += SOURCE_TYPES
        ticked = [s for s in self.status_filter.checkedItems() if s in states]
        kind = self.order_type_filter.currentData()
        for widget in (self.status_filter, self.order_type_filter):
            widget.blockSignals(True)
        try:
            if [self.status_filter.itemText(i) for i in range(self.status_filter.count())] != states:
                self.status_filter.clear()
                self.status_filter.addItems(states)
                self.status_filter.setCheckedItems(ticked)
            self.order_type_filter.clear()
            self.order_type_filter.addItem("Any type", None)
            for value in types:
                self.order_type_filter.addItem(value, value)
            self.order_type_filter.setCurrentIndex(max(0, self.order_type_filter.findData(kind)) if kind else 0)
        finally:
            for widget in (self.status_filter, self.order_type_filter):
                widget.blockSignals(False)
        archive_only = choice == ARCHIVE
        self.scheduling_filter.setEnabled(not archive_only)
        self.scheduling_filter.setToolTip("Archive orders are not scheduled: this filter is for tasking orders."
                                          if archive_only else
                                          "Show only orders scheduled this way: flexible, assured or monitoring "
                                          "(archive orders are not scheduled, so none shows with it set).")
        self.order_type_filter.setToolTip("Show only orders of this type: single image or stereo (tasking), scenes "
                                          "or basemaps (archive)." if self.archive_states else
                                          "Show only orders of this type (single image or stereo).")

    def tasking_wanted(self) -> bool:
        """Whether any tasking order can match the filters (else the list asks the tasking service nothing)."""
        if self.service_choice() == ARCHIVE:
            return False
        ticked = [s for s in self.status_filter.checkedItems() if s]
        if ticked and not any(s in self.tasking_states for s in ticked):
            return False
        return self.order_type_filter.currentData() not in SOURCE_TYPES

    def archive_wanted(self) -> bool:
        return bool(self.archive_states) and self.service_choice() in (ALL_SERVICES, ARCHIVE)

    def archive_filter(self) -> ArchiveFilter:
        """The filters as the archive listing's."""
        def moment(edit: QgsDateTimeEdit) -> Optional[datetime]:
            return None if edit.isNull() else from_qdatetime(edit.dateTime())

        ticked = [s for s in self.status_filter.checkedItems() if s]
        kind = self.order_type_filter.currentData()
        return ArchiveFilter(
            states=tuple(s for s in ticked if s in self.archive_states) if ticked else None,
            source_type=kind if kind in SOURCE_TYPES else None,
            name_contains=self.name_filter.text(),
            created_after=moment(self.created_from), created_before=moment(self.created_to),
            updated_after=moment(self.updated_from), updated_before=moment(self.updated_to),
            # Filters only tasking orders have: no archive order is scheduled, or of a tasking type.
            nothing=self.scheduling_filter.currentData() is not None or (kind is not None and kind not in SOURCE_TYPES),
        )

    def _time_filter(self, name: str, tip: str) -> QgsDateTimeEdit:
        edit = QgsDateTimeEdit(self)
        edit.setObjectName(name)
        edit.setAllowNull(True)
        edit.setNullRepresentation("any")
        edit.setTimeSpec(Qt.TimeSpec.UTC)
        edit.setDisplayFormat("yyyy-MM-dd HH:mm")
        edit.setToolTip(tip)
        edit.clear()
        return edit

    def query(self, ordering: Sequence[str]) -> OrdersQuery:
        """The filters as the service's query, sorted by `ordering` (the view's)."""
        def moment(edit: QgsDateTimeEdit) -> Optional[datetime]:
            return None if edit.isNull() else from_qdatetime(edit.dateTime())

        kind = self.order_type_filter.currentData()
        return OrdersQuery(
            statuses=[s for s in self.status_filter.checkedItems() if s and s not in self.archive_states],
            name_contains=self.name_filter.text(),
            created_after=moment(self.created_from),
            created_before=moment(self.created_to),
            updated_after=moment(self.updated_from),
            updated_before=moment(self.updated_to),
            scheduling_type=self.scheduling_filter.currentData(),
            order_type=None if kind in SOURCE_TYPES else kind,
            ordering=ordering,
        )

    def active_count(self) -> int:
        """How many filters narrow the list (said in the title of the folded filters)."""
        edits = (self.created_from, self.created_to, self.updated_from, self.updated_to)
        return (bool([s for s in self.status_filter.checkedItems() if s]) + bool(self.name_filter.text())
                + (self.service_choice() != ALL_SERVICES and bool(self.archive_states))
                + (self.scheduling_filter.currentData() is not None) + (self.order_type_filter.currentData() is not None)
                + sum(not edit.isNull() for edit in edits))

    def set_statuses(self, statuses: Sequence[str]) -> None:
        self.status_filter.deselectAllOptions()
        self.status_filter.setCheckedItems(list(statuses))
