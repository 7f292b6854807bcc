"""What the details of another service's order (archive imagery, UP42) share: the order as rich text, a message
line, and a row of buttons that starts with Cancel (enabled by the service's verdict, its reason as tooltip)."""

from __future__ import annotations

from typing import Any, Optional

from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QHBoxLayout, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from .details import StatusLabel


class OrderTextDetails(QWidget):
    """One order as text with a message line and Cancel; a subclass adds its rows and buttons (`buttons`, a
    layout ended by a stretch) and fills the text. `prefix` names its widgets (archiveOrderText, …)."""

    cancelRequested = pyqtSignal(list)  # noqa: N815 - Qt signal naming; the order's id

    def __init__(self, prefix: str, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.order: Any = None
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(0, 0, 0, 0)
        self.text = QTextBrowser(self)
        self.text.setObjectName(f"{prefix}OrderText")
        self.text.setOpenLinks(False)
        self.message_label = StatusLabel(self)
        self.message_label.setObjectName(f"{prefix}OrderMessage")
        self.message_label.setWordWrap(True)
        self.buttons = QHBoxLayout()
        self.cancel_button = QPushButton("Cancel order…", self)
        self.cancel_button.setObjectName(f"cancel{prefix[:1].upper()}{prefix[1:]}OrderButton")
        self.cancel_button.clicked.connect(lambda: self.order is not None and self.cancelRequested.emit([self.order.id]))
        self.buttons.addWidget(self.cancel_button)
        self.body.addWidget(self.text, 1)
        self.body.addWidget(self.message_label)

    def show_text(self, order: Any, html_text: str, verdict: Any, allowed_tip: str, none_tip: str) -> None:
        """Show `order` (None: nothing, Cancel off with `none_tip`); a message about another order goes."""
        if order is None or self.order is None or self.order.id != order.id:
            self.message_label.clear()
        self.order = order
        if order is None:
            self.text.clear()
            self.cancel_button.setEnabled(False)
            self.cancel_button.setToolTip(none_tip)
            return
        self.text.setHtml(html_text)
        self.cancel_button.setEnabled(bool(verdict))
        self.cancel_button.setToolTip(allowed_tip if verdict else verdict.reason)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setStyleSheet("color: #b00020;" if error else "")
        self.message_label.setText(text)
