"""Errors shown at the field they are about: a red line under each control, the first one scrolled to."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

from qgis.PyQt.QtWidgets import QLabel, QScrollArea, QVBoxLayout, QWidget

ERROR_STYLE = "color: #b00020;"


def error_label(parent: QWidget, name: str) -> QLabel:
    """A wrapped red label that takes no room while it is empty."""
    label = QLabel(parent)
    label.setObjectName(name)
    label.setWordWrap(True)
    label.setStyleSheet(ERROR_STYLE)
    label.setVisible(False)
    return label


class PageStack(QWidget):
    """One page shown at a time, as tall as that page (a QStackedWidget is as tall as its tallest page,
    leaving a gap under a short one)."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self._layout = QVBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._pages: List[QWidget] = []
        self._current = -1

    def addWidget(self, page: QWidget) -> int:  # noqa: N802 - as QStackedWidget names it
        self._pages.append(page)
        self._layout.addWidget(page)
        page.setVisible(len(self._pages) - 1 == max(self._current, 0))
        if self._current < 0:
            self._current = 0
        return len(self._pages) - 1

    def setCurrentIndex(self, index: int) -> None:  # noqa: N802
        self._current = index
        for i, page in enumerate(self._pages):
            page.setVisible(i == index)

    def currentIndex(self) -> int:  # noqa: N802
        return self._current

    def currentWidget(self) -> Optional[QWidget]:  # noqa: N802
        return self._pages[self._current] if 0 <= self._current < len(self._pages) else None

    def indexOf(self, page: QWidget) -> int:  # noqa: N802
        return self._pages.index(page) if page in self._pages else -1


class FieldErrors:
    """Field name (the form's ValidationError key) -> the control it is about and the label that says it."""

    def __init__(self, scroll: Optional[QScrollArea] = None):
        self.scroll = scroll
        self._fields: Dict[str, Tuple[QWidget, QLabel]] = {}
        self._fallback: Optional[QLabel] = None

    def add(self, names: Sequence[str], widget: QWidget, label: QLabel) -> None:
        for name in names:
            self._fields[name] = (widget, label)

    def set_fallback(self, label: QLabel) -> None:
        """Where an error about no known field goes (the dialog's general message line)."""
        self._fallback = label

    def clear(self) -> None:
        for _, label in self._fields.values():
            label.clear()
            label.setVisible(False)

    def show(self, field_errors: Mapping[str, Sequence[str]]) -> List[QLabel]:
        """Put each message at its field (unknown fields at the fallback); focus and scroll to the first."""
        self.clear()
        shown: List[QLabel] = []
        first: Optional[QWidget] = None
        for name, messages in field_errors.items():
            widget, label = self._fields.get(name, (None, self._fallback))
            if label is None:
                continue
            text = " ".join(str(m) for m in messages)
            label.setText(f"{label.text()} {text}".strip() if label in shown else text)
            label.setVisible(True)
            shown.append(label)
            if first is None and widget is not None:
                first = widget
        if first is not None:
            if self.scroll is not None:
                self.scroll.ensureWidgetVisible(first)
            first.setFocus()
        return shown

    def text(self, name: str) -> str:
        """The error shown at a field ("" when none): what a test or a screen reader reads."""
        entry = self._fields.get(name)
        return entry[1].text() if entry is not None and not entry[1].isHidden() else ""
