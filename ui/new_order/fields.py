"""Pieces the New order tab's groups share: styles, UTC date-times, each field's error label, the scrolling body."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List

from qgis.PyQt.QtCore import QDateTime, Qt
from qgis.PyQt.QtWidgets import QDateTimeEdit, QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from ...core.services.planet_tasking.forms import GENERAL

ERROR_STYLE = "color: #c0392b;"
MUTED_STYLE = "color: palette(mid);"
DATE_FORMAT = "yyyy-MM-dd HH:mm 'UTC'"

# Where each field's server message is shown: several service fields can share one label.
FIELD_ROWS = {
    "geometry": "geometry",
    "name": "name",
    "scheduling_type": "scheduling_type",
    "product": "product",
    "pl_number": "pl_number",
    "order_type": "order_type",
    "n_stereo_pov": "order_type",
    "start_time": "start_time",
    "end_time": "end_time",
    "sat_elevation_angle_min": "sat_elevation",
    "sat_elevation_angle_max": "sat_elevation",
    "exclusivity_days": "exclusivity_days",
    "imaging_window": "imaging_window",
    GENERAL: GENERAL,
}


def scrolling_body(panel: QWidget, scroll_name: str) -> QWidget:
    """The widget an order panel lays its groups out in, inside a frameless scroll area that fills `panel`
    (named `scroll_name`): fields shrink to a narrow dock, and below their minimum a scroll bar beats cutting
    them off. Planet's New order tab and UP42's order panel are built on it."""
    outer = QVBoxLayout(panel)
    outer.setContentsMargins(0, 0, 0, 0)
    scroll = QScrollArea(panel)
    scroll.setObjectName(scroll_name)
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.Shape.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAsNeeded)
    outer.addWidget(scroll)
    body = QWidget(scroll)
    scroll.setWidget(body)
    return body


def qdatetime(value: datetime) -> QDateTime:
    return QDateTime.fromSecsSinceEpoch(int(value.timestamp()), Qt.TimeSpec.UTC)


def utc(edit: QDateTimeEdit) -> datetime:
    return datetime.fromtimestamp(edit.dateTime().toSecsSinceEpoch(), timezone.utc)


class FieldErrors:
    """One error label per form row; messages (the server's words) go next to their field."""

    def __init__(self) -> None:
        self.labels: Dict[str, QLabel] = {}

    def label(self, parent: QWidget, row: str, name: str = "") -> QLabel:
        """Make the error label of `row` (its objectName is `<name or row>Error`)."""
        label = QLabel(parent)
        label.setObjectName(f"{name or row}Error")
        label.setWordWrap(True)
        label.setStyleSheet(ERROR_STYLE)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        label.setVisible(False)
        self.labels[row] = label
        return label

    def show(self, errors: Dict[str, Any]) -> None:
        """Show each message next to its field, clearing the others."""
        for label in self.labels.values():
            label.clear()
            label.setVisible(False)
        for field, messages in errors.items():
            if isinstance(messages, str):
                messages = [messages]
            self.add(field, list(messages))

    def add(self, field: str, messages: List[str]) -> None:
        row = FIELD_ROWS.get(field)
        if row is None:
            row = GENERAL
            messages = [f"{field}: {m}" for m in messages]
        label = self.labels[row]
        text = "\n".join([label.text()] + messages if label.text() else messages)
        label.setText(text)
        label.setVisible(True)

    def text(self, field: str) -> str:
        """The error shown for a service field ("" when none)."""
        label = self.labels[FIELD_ROWS.get(field, GENERAL)]
        return label.text() if label.isVisible() or label.text() else ""
