"""The Orders tab's filter row: service (tasking, archive, UP42 or all), status, name, scheduling, type and the
created/updated time ranges."""

from __future__ import annotations

from datetime import datetime
from typing import Any, List, Optional, Sequence, Tuple

from qgis.gui import QgsCheckableComboBox, QgsDateTimeEdit
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QGridLayout, QLabel, QLineEdit, QWidget

from ...core.app.merged_orders import MergedFilter
from ...core.services.planet_tasking.models import ORDER_TYPES, SCHEDULING_TYPES
from ...core.services.registry import service
from .details import from_qdatetime
from .model import OrdersQuery

# The Service filter's choices: every service, the paged tasking listing, or one merged source (its `choice`).
ALL_SERVICES = "all"
TASKING = "tasking"
ARCHIVE = "archive"


class OrderFilters(QWidget):
    """The filter widgets; `changed` fires on any edit (the panel waits a moment, then reloads).

    With other services' orders merged into the list (`set_sources`: archive imagery, UP42), the Service filter
    offers each service or all in one list; the status and type filters then offer those services' states and
    types as well, and each filter narrows the orders it applies to (an order matches when its state is ticked:
    ticking only tasking states leaves no archive order, and the other way round).
    """

    changed = pyqtSignal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        filters = QGridLayout(self)
        filters.setContentsMargins(0, 0, 0, 0)
        self.tasking_states: Tuple[str, ...] = tuple(service().order_statuses)
        self.paged = True  # the tasking service's paged listing is in the list
        self.sources: Tuple[Any, ...] = ()  # the merged sources (core.app.merged_orders.MergedSource)
        self.service_label = QLabel("Service", self)
        self.service_filter = QComboBox(self)
        self.service_filter.setObjectName("serviceFilter")
        self.service_filter.setToolTip("Which orders the list holds: tasking orders, archive imagery orders, or "
                                       "both in one list ordered as the list is sorted.")
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

    # -- the services listed ------------------------------------------------------------------------------

    def set_sources(self, paged: bool, sources: Sequence[Any]) -> None:
        """Which orders the list can hold: the tasking service's paged listing (`paged`) and other services'
        orders merged in (`sources`); the Service filter offers a choice when there is more than one."""
        self.paged = paged
        if not paged:
            self.tasking_states = ()
        self.sources = tuple(sources)
        self.service_filter.blockSignals(True)
        try:
            self.service_filter.clear()
            archive_only = [s.choice for s in self.sources] == [ARCHIVE]
            self.service_filter.addItem("Tasking and archive" if archive_only and paged else "All services",
                                        ALL_SERVICES)
            if paged:
                self.service_filter.addItem("Tasking", TASKING)
            for source in self.sources:
                self.service_filter.addItem("Archive imagery" if source.choice == ARCHIVE else source.label,
                                            source.choice)
        finally:
            self.service_filter.blockSignals(False)
        shown = paged + len(self.sources) > 1
        self.service_label.setVisible(shown)
        self.service_filter.setVisible(shown)
        self.scheduling_filter.setVisible(paged)
        self._fill_choices()

    @property
    def archive_states(self) -> Tuple[str, ...]:
        """Every merged service's states (those not the tasking listing's)."""
        return tuple(state for source in self.sources for state in source.states)

    def _choices_shown(self) -> bool:
        return self.paged + len(self.sources) > 1

    def service_choice(self) -> str:
        if self._choices_shown():
            return self.service_filter.currentData()
        return TASKING if self.paged or not self.sources else self.sources[0].choice

    def set_service(self, choice: str) -> None:
        self.service_filter.setCurrentIndex(self.service_filter.findData(choice))

    def _service_changed(self, *_) -> None:
        self._fill_choices()
        self.changed.emit()

    def _wanted_sources(self) -> List[Any]:
        choice = self.service_choice()
        return [s for s in self.sources if choice in (ALL_SERVICES, s.choice)]

    def _fill_choices(self) -> None:
        """The states and types of the services listed; what was ticked and is still offered stays."""
        choice = self.service_choice()
        states: List[str] = []
        types: List[str] = []
        tasking = self.paged and choice in (ALL_SERVICES, TASKING)
        if tasking:
            states += self.tasking_states
            types += ORDER_TYPES
        for source in self._wanted_sources():
            states += [s for s in source.states if s not in states]  # a status two services share is offered once
            types += [t for t in source.kinds if t not in types]
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
        self.order_type_filter.setVisible(bool(types))
        self.scheduling_filter.setEnabled(tasking)
        self.scheduling_filter.setToolTip("Archive orders are not scheduled: this filter is for tasking orders."
                                          if not tasking else
                                          "Show only orders scheduled this way: flexible, assured or monitoring "
                                          "(other services' orders are not scheduled, so none shows with it set).")
        self.order_type_filter.setToolTip("Show only orders of this type: single image or stereo (tasking), scenes "
                                          "or basemaps (archive)." if self.sources else
                                          "Show only orders of this type (single image or stereo).")

    def tasking_wanted(self) -> bool:
        """Whether any tasking order can match the filters (else the list asks the tasking service nothing)."""
        if not self.paged or self.service_choice() not in (ALL_SERVICES, TASKING):
            return False
        ticked = [s for s in self.status_filter.checkedItems() if s]
        if ticked and not any(s in self.tasking_states for s in ticked):
            return False
        kind = self.order_type_filter.currentData()
        return kind is None or kind in ORDER_TYPES

    def source_wanted(self, source: Any) -> bool:
        return source in self._wanted_sources()

    def source_filter(self, source: Any) -> MergedFilter:
        """The filters as one merged source's listing."""
        def moment(edit: QgsDateTimeEdit) -> Optional[datetime]:
            return None if edit.isNull() else from_qdatetime(edit.dateTime())

        ticked = [s for s in self.status_filter.checkedItems() if s]
        kind = self.order_type_filter.currentData()
        return MergedFilter(
            states=tuple(s for s in ticked if s in source.states) if ticked else None,
            kind=kind if kind in source.kinds else None,
            name_contains=self.name_filter.text(),
            created_after=moment(self.created_from), created_before=moment(self.created_to),
            updated_after=moment(self.updated_from), updated_before=moment(self.updated_to),
            # Filters only tasking orders have: no other service's order is scheduled, or of a tasking type.
            nothing=self.scheduling_filter.currentData() is not None or (kind is not None and kind not in source.kinds),
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
            statuses=[s for s in self.status_filter.checkedItems() if s and s in self.tasking_states],
            name_contains=self.name_filter.text(),
            created_after=moment(self.created_from),
            created_before=moment(self.created_to),
            updated_after=moment(self.updated_from),
            updated_before=moment(self.updated_to),
            scheduling_type=self.scheduling_filter.currentData(),
            order_type=kind if kind in ORDER_TYPES else None,
            ordering=ordering,
        )

    def active_count(self) -> int:
        """How many filters narrow the list (said in the title of the folded filters)."""
        edits = (self.created_from, self.created_to, self.updated_from, self.updated_to)
        return (bool([s for s in self.status_filter.checkedItems() if s]) + bool(self.name_filter.text())
                + (self.service_choice() != ALL_SERVICES and self._choices_shown())
                + (self.scheduling_filter.currentData() is not None) + (self.order_type_filter.currentData() is not None)
                + sum(not edit.isNull() for edit in edits))

    def set_statuses(self, statuses: Sequence[str]) -> None:
        self.status_filter.deselectAllOptions()
        self.status_filter.setCheckedItems(list(statuses))
