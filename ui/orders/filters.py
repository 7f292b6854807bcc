"""The Orders tab's filter row: status, name, scheduling, type and the created/updated time ranges."""

from __future__ import annotations

from datetime import datetime
from typing import Optional, Sequence

from qgis.gui import QgsCheckableComboBox, QgsDateTimeEdit
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QComboBox, QGridLayout, QLabel, QLineEdit, QWidget

from ...core.services.planet_tasking.models import ORDER_TYPES, SCHEDULING_TYPES
from ...core.services.registry import service
from .details import from_qdatetime
from .model import OrdersQuery


class OrderFilters(QWidget):
    """The filter widgets; `changed` fires on any edit (the panel waits a moment, then reloads)."""

    changed = pyqtSignal()

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        filters = QGridLayout(self)
        filters.setContentsMargins(0, 0, 0, 0)
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
        filters.addWidget(self.status_filter, 0, 0)
        filters.addWidget(self.name_filter, 0, 1)
        filters.addWidget(self.scheduling_filter, 1, 0)
        filters.addWidget(self.order_type_filter, 1, 1)
        for row, (label, edit) in enumerate((("Created from", self.created_from), ("Created before", self.created_to),
                                             ("Updated from", self.updated_from), ("Updated before", self.updated_to)),
                                            start=2):
            filters.addWidget(QLabel(label, self), row, 0)
            filters.addWidget(edit, row, 1)
        filters.setColumnStretch(1, 1)

        # Combos sized by a few characters, not by their longest item, so the filters fit a narrow dock.
        for combo in (self.status_filter, self.scheduling_filter, self.order_type_filter):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(8)

        self.status_filter.checkedItemsChanged.connect(lambda *_: self.changed.emit())
        self.name_filter.textChanged.connect(lambda *_: self.changed.emit())
        self.scheduling_filter.currentIndexChanged.connect(lambda *_: self.changed.emit())
        self.order_type_filter.currentIndexChanged.connect(lambda *_: self.changed.emit())
        for edit in (self.created_from, self.created_to, self.updated_from, self.updated_to):
            edit.valueChanged.connect(lambda *_: self.changed.emit())

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

        return OrdersQuery(
            statuses=[s for s in self.status_filter.checkedItems() if s],
            name_contains=self.name_filter.text(),
            created_after=moment(self.created_from),
            created_before=moment(self.created_to),
            updated_after=moment(self.updated_from),
            updated_before=moment(self.updated_to),
            scheduling_type=self.scheduling_filter.currentData(),
            order_type=self.order_type_filter.currentData(),
            ordering=ordering,
        )

    def active_count(self) -> int:
        """How many filters narrow the list (said in the title of the folded filters)."""
        edits = (self.created_from, self.created_to, self.updated_from, self.updated_to)
        return (bool([s for s in self.status_filter.checkedItems() if s]) + bool(self.name_filter.text())
                + (self.scheduling_filter.currentData() is not None) + (self.order_type_filter.currentData() is not None)
                + sum(not edit.isNull() for edit in edits))

    def set_statuses(self, statuses: Sequence[str]) -> None:
        self.status_filter.deselectAllOptions()
        self.status_filter.setCheckedItems(list(statuses))
