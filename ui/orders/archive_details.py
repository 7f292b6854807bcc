"""Details of one archive imagery order in the Orders tab: state, messages, error hints, products and results, and cancel."""

from __future__ import annotations

import html
from datetime import timezone
from typing import Any, Optional

from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QHBoxLayout, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from ...core.app.archive_orders import can_cancel
from .details import StatusLabel


def _time(value: Any) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "—"


def _product_line(product: Any) -> str:
    if product.mosaic_name:
        quads = f"{len(product.quad_ids)} quad(s): {', '.join(product.quad_ids[:5])}" if product.quad_ids else "over an area"
        return f"Basemap {product.mosaic_name}, {quads}"
    items = ", ".join(product.item_ids[:5]) + (f" … ({len(product.item_ids)} items)" if len(product.item_ids) > 5 else "")
    return f"{product.item_type} · {product.product_bundle}: {items}"


def archive_html(order: Any) -> str:
    """What a user reads of an archive order: what it is, where it is, what the service said, what it made."""
    rows = [("Service", "Archive imagery"), ("State", order.state), ("Type", order.source_type),
            ("Created", _time(order.created_on)), ("Last modified", _time(order.last_modified)),
            ("Last message", order.last_message or "—"), ("Id", order.id)]
    parts = [f"<h3>{html.escape(order.name or order.id)}</h3><table>"]
    parts += [f"<tr><td><b>{html.escape(k)}</b>&nbsp;</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows]
    parts.append("</table>")
    if order.error_hints:
        parts.append("<p><b>Error hints</b></p><ul>")
        parts += [f"<li style='color:#b00020'>{html.escape(hint)}</li>" for hint in order.error_hints]
        parts.append("</ul>")
    if order.products:
        parts.append("<p><b>Products</b></p><ul>")
        parts += [f"<li>{html.escape(_product_line(p))}</li>" for p in order.products]
        parts.append("</ul>")
    files = [r for r in order.results if not r.is_manifest]
    if order.results:
        parts.append(f"<p><b>Results</b>: {len(files)} file(s) and {len(order.results) - len(files)} manifest</p><ul>")
        for result in order.results[:50]:
            expiry = f" (link until {_time(result.expires_at)})" if result.expires_at else ""
            parts.append(f"<li>{html.escape(result.name)}{html.escape(expiry)}</li>")
        if len(order.results) > 50:
            parts.append(f"<li>… and {len(order.results) - 50} more</li>")
        parts.append("</ul>")
    elif not order.is_finished:
        parts.append("<p>Results appear here once the service has finished the order.</p>")
    return "".join(parts)


class ArchiveOrderDetails(QWidget):
    """One archive order, read only but for Cancel (queued orders only: the tooltip says why otherwise)."""

    cancelRequested = pyqtSignal(list)  # noqa: N815 - Qt signal naming; the order's id

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("archiveOrderDetails")
        self.order: Any = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.text = QTextBrowser(self)
        self.text.setObjectName("archiveOrderText")
        self.text.setOpenLinks(False)
        self.message_label = StatusLabel(self)
        self.message_label.setObjectName("archiveOrderMessage")
        self.message_label.setWordWrap(True)
        buttons = QHBoxLayout()
        self.cancel_button = QPushButton("Cancel order…", self)
        self.cancel_button.setObjectName("cancelArchiveOrderButton")
        self.cancel_button.clicked.connect(lambda: self.order is not None and self.cancelRequested.emit([self.order.id]))
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.message_label)
        layout.addLayout(buttons)
        self.show_order(None)

    def show_order(self, order: Any) -> None:
        if order is None or self.order is None or self.order.id != order.id:
            self.message_label.clear()
        self.order = order
        if order is None:
            self.text.clear()
            self.cancel_button.setEnabled(False)
            self.cancel_button.setToolTip("Select an archive order.")
            return
        self.text.setHtml(archive_html(order))
        verdict = can_cancel(order)
        self.cancel_button.setEnabled(bool(verdict))
        self.cancel_button.setToolTip("Cancel this order while it waits in the queue (asks first)." if verdict
                                      else verdict.reason)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setStyleSheet("color: #b00020;" if error else "")
        self.message_label.setText(text)
