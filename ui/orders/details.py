"""Details of one order: a summary, its captures and pricing, every field, and the name/start/end edits its state allows."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from qgis.gui import QgsDateTimeEdit
from qgis.PyQt.QtCore import QDateTime, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from ...core.names import units_text
from ...core.services import registry
from ...core.services.planet_tasking.models import Capture, Order, Pricing, exclusivity_end


def to_qdatetime(value: Optional[datetime]) -> QDateTime:
    if value is None:
        return QDateTime()
    return QDateTime.fromMSecsSinceEpoch(round(value.timestamp() * 1000), Qt.TimeSpec.UTC)


def from_qdatetime(value: QDateTime) -> Optional[datetime]:
    if value is None or not value.isValid():
        return None
    return datetime.fromtimestamp(value.toMSecsSinceEpoch() / 1000.0, tz=timezone.utc)


def _cell(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        import json

        text = json.dumps(value)
        return html.escape(text if len(text) < 300 else text[:300] + "…")
    return html.escape(str(value))


def _time(value: Optional[datetime]) -> Optional[str]:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M") + " UTC" if value is not None else None


def _sqkm(value: Optional[float]) -> str:
    return "—" if value is None else f"{value:,.2f} km²"


def summary_html(order: Order) -> str:
    """What a user reads first: name, status, kind, contract, imaging period, area and capture counts."""
    kind = " · ".join(v for v in (order.scheduling_type, order.order_type) if v)
    if order.order_type == "STEREO" and order.n_stereo_pov:
        kind += f" ({order.n_stereo_pov} points of view)"
    contract = " · ".join(v for v in (order.pl_number, order.product) if v)
    period = None
    if order.start_time or order.end_time:
        period = f"{_time(order.start_time) or '…'} – {_time(order.end_time) or '…'}"
    counts = None
    if any(v is not None for v in (order.capture_status_published_count, order.capture_assessment_success_count,
                                   order.capture_assessment_invalid_count)):
        counts = (f"{order.capture_status_published_count or 0} published, "
                  f"{order.capture_assessment_success_count or 0} successful, "
                  f"{order.capture_assessment_invalid_count or 0} invalid")
    if order.exclusivity_days is None:
        exclusivity = None
    elif order.exclusivity_days == 0:
        exclusivity = "none (captures go to the public archive when published)"
    else:
        exclusivity = f"{order.exclusivity_days} days"
    rows = [
        ("Status", order.status),
        ("Scheduling / type", kind or None),
        ("Contract / product", contract or None),
        ("Imaging period", period),
        ("Area", f"{_sqkm(order.requested_sqkm)} requested, {_sqkm(order.fulfilled_sqkm)} fulfilled"),
        ("Capture counts", counts),
        ("Exclusivity", exclusivity),
        ("Next planned", _time(order.next_planned_acquisition_time)),
        ("Last acquired", _time(order.last_acquired_time)),
        ("Cancellable until", _time(order.cancellable_until)),
        ("Created", _time(order.created_time)),
        ("Updated", _time(order.updated_time)),
        ("Cancelled", _time(order.cancelled_time)),
        ("Id", order.id),
    ]
    body = "".join(f"<tr><td><b>{label}</b>&nbsp;</td><td>{_cell(value)}</td></tr>"
                   for label, value in rows if value is not None or label in ("Status", "Imaging period"))
    return f"<h3>{html.escape(order.name or order.id)}</h3><table cellspacing='1'>{body}</table>"


def fields_html(order: Order) -> str:
    """Every field the service returned, by its API name (last: for reference)."""
    rows = "".join(f"<tr><td><b>{html.escape(k)}</b></td><td>{_cell(v)}</td></tr>"
                   for k, v in sorted((order.raw or {}).items()))
    return f"<h4>All fields</h4><table cellspacing='2'>{rows}</table>"


def order_html(order: Order) -> str:
    return summary_html(order) + fields_html(order)


def captures_html(captures: List[Capture], exclusivity_days: Optional[int]) -> str:
    if not captures:
        return "<h4>Captures</h4><p>No captures yet.</p>"
    head = ("<tr><th>acquired (UTC)</th><th>status</th><th>assessment</th><th>cloud</th><th>strip</th>"
            "<th>published</th><th>fulfilling</th><th>exclusivity ends</th></tr>")
    body = []
    for capture in sorted(captures, key=lambda c: c.acquired_time or datetime.max.replace(tzinfo=timezone.utc)):
        end = exclusivity_end(capture.acquired_time, exclusivity_days)
        # With no exclusive days the "end" is the acquisition itself, which reads like a bug: say so instead.
        ends = "no exclusivity" if exclusivity_days == 0 else end and end.strftime("%Y-%m-%d %H:%M")
        body.append("<tr>" + "".join(f"<td>{_cell(v)}</td>" for v in (
            capture.acquired_time and capture.acquired_time.strftime("%Y-%m-%d %H:%M:%S"), capture.status,
            capture.assessment, capture.cloud_cover, capture.strip_id,
            capture.published_time and capture.published_time.strftime("%Y-%m-%d %H:%M"),
            capture.fulfilling, ends)) + "</tr>")
    return f"<h4>Captures ({len(captures)})</h4><table border='1' cellspacing='0'>{head}{''.join(body)}</table>"


def pricing_html(pricing: Optional[Pricing], error: Optional[str] = None) -> str:
    if pricing is None:
        return f"<h4>Pricing</h4><p>{html.escape(error or 'No pricing (orders created before March 2024 have none).')}</p>"
    parts = [f"<h4>Pricing</h4><p>Estimated quota cost: <b>{_cell(pricing.estimated_quota_cost)} "
             f"{html.escape(units_text(pricing.units))}</b>, determined by <b>{_cell(pricing.determined_by)}</b></p>"]
    model = pricing.pricing_model
    if model is not None:
        multipliers = "".join(f"<li>{_cell(m.name)} × {m.value:g} ({_cell(m.description)})</li>"
                              for m in model.multipliers)
        parts.append(f"<p>Pricing model: base price {_cell(model.base_price)}</p><ul>{multipliers}</ul>")
    if pricing.replaced_orders:
        rows = "".join(f"<tr><td>{_cell(r.name)}</td><td>{_cell(r.order_id)}</td><td>{_cell(r.cost)}</td></tr>"
                       for r in pricing.replaced_orders)
        parts.append("<p>Replaced orders (their costs sum to the estimate):</p><table border='1' cellspacing='0'>"
                     f"<tr><th>name</th><th>id</th><th>cost</th></tr>{rows}</table>")
    return "".join(parts)


class StatusLabel(QLabel):
    """A message line that takes no room while it has nothing to say."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setVisible(False)

    def setText(self, text: str) -> None:  # noqa: N802 - Qt override
        super().setText(text)
        self.setVisible(bool(text))

    def clear(self) -> None:
        super().clear()
        self.setVisible(False)


class OrderDetailsWidget(QWidget):
    """Shows one order; emits saveRequested(order_id, {name/start_time/end_time: value}) and cancelRequested."""

    saveRequested = pyqtSignal(str, dict)  # noqa: N815 - Qt signal naming
    cancelRequested = pyqtSignal(list)  # noqa: N815
    # (the order, its captures): "Order imagery…" for the order's published captures
    imageryRequested = pyqtSignal(object, list)  # noqa: N815

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.order: Optional[Order] = None
        self.captures: List[Capture] = []  # of the order shown, once loaded
        # What the service's rules allow for the order shown (an OrderPermissions of its rules module).
        self.permissions: Optional[Any] = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)

        # A compact edit form (name, start, end; buttons) leaves the room to the details below.
        form = QGridLayout()
        form.setContentsMargins(0, 0, 0, 0)
        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("orderNameEdit")
        self.start_edit = self._datetime_edit("orderStartEdit")
        self.end_edit = self._datetime_edit("orderEndEdit")
        form.addWidget(QLabel("Name", self), 0, 0)
        form.addWidget(self.name_edit, 0, 1, 1, 3)
        # Start and end one under the other: side by side they made the dock 600 px wide.
        form.addWidget(QLabel("Start (UTC)", self), 1, 0)
        form.addWidget(self.start_edit, 1, 1, 1, 3)
        form.addWidget(QLabel("End (UTC)", self), 2, 0)
        form.addWidget(self.end_edit, 2, 1, 1, 3)
        form.setColumnStretch(1, 1)
        form.setColumnStretch(3, 1)
        layout.addLayout(form)

        buttons = QHBoxLayout()
        self.save_button = QPushButton("Save changes", self)
        self.save_button.setObjectName("saveOrderButton")
        self.cancel_button = QPushButton("Cancel order…", self)
        self.cancel_button.setObjectName("cancelOrderButton")
        self.imagery_button = QPushButton("Imagery…", self)  # short: the row fits a 400 px dock
        self.imagery_button.setObjectName("orderImageryButton")
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.imagery_button)
        self.message_label = StatusLabel(self)
        self.message_label.setWordWrap(True)
        buttons.addWidget(self.message_label, 1)
        buttons.addStretch(1)  # the buttons keep their size while there is no message
        layout.addLayout(buttons)

        self.browser = QTextBrowser(self)
        self.browser.setObjectName("orderDetailsBrowser")
        layout.addWidget(self.browser, 1)

        self.save_button.clicked.connect(self._emit_save)
        self.cancel_button.clicked.connect(lambda: self.order and self.cancelRequested.emit([self.order.id]))
        self.imagery_button.clicked.connect(self._emit_imagery)
        self.show_order(None)

    def _datetime_edit(self, name: str) -> QgsDateTimeEdit:
        edit = QgsDateTimeEdit(self)
        edit.setObjectName(name)
        edit.setTimeSpec(Qt.TimeSpec.UTC)
        edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        edit.setAllowNull(False)
        return edit

    def show_order(self, order: Optional[Order], now: Optional[datetime] = None) -> None:
        """Fill the edits and enable each only as the documented state table allows (tooltip says why not)."""
        if order is None or self.order is None or self.order.id != order.id:
            self.message_label.clear()  # a message about this order ("Saved.") stays while it is shown
        if order is None or self.order is None or self.order.id != order.id:
            self.captures = []
        self.order = order
        self._show_imagery_state()
        if order is None:
            self.permissions = None
            for widget in (self.name_edit, self.start_edit, self.end_edit, self.save_button, self.cancel_button):
                widget.setEnabled(False)
                widget.setToolTip("Select one order to see and edit it.")
            self.name_edit.clear()
            self.browser.setHtml("<p>Select an order to see its details, captures and pricing.</p>")
            return
        self.permissions = rules = registry.service().rules.permissions(order, now)
        self.name_edit.setText(order.name or "")
        self.start_edit.setDateTime(to_qdatetime(order.start_time))
        self.end_edit.setDateTime(to_qdatetime(order.end_time))
        for widget, permission, ok_tip in (
                (self.name_edit, rules.name, "The order's name (editable in this state)."),
                (self.start_edit, rules.start_time, "When imaging may start, in UTC (editable in this state)."),
                (self.end_edit, rules.end_time, "When imaging must end, in UTC (editable in this state)."),
                (self.cancel_button, rules.cancel, "Cancel this order (asks for confirmation).")):
            widget.setEnabled(permission.allowed)
            widget.setToolTip(ok_tip if permission.allowed else permission.reason)
        self.save_button.setEnabled(rules.any_edit)
        self.save_button.setToolTip("Send the changed fields to the service." if rules.any_edit else
                                    f"Nothing can be edited while the order is {order.status}.")
        self.browser.setHtml(summary_html(order) + "<p><i>Loading captures and pricing…</i></p>" + fields_html(order))

    def show_extras(self, order: Order, captures: List[Capture], pricing: Optional[Pricing],
                    pricing_error: Optional[str] = None) -> None:
        if self.order is None or self.order.id != order.id:
            return
        self.captures = list(captures)
        self._show_imagery_state()
        self.browser.setHtml(summary_html(order) + captures_html(captures, order.exclusivity_days)
                             + pricing_html(pricing, pricing_error) + fields_html(order))

    def published_captures(self) -> List[Capture]:
        """The shown order's captures whose imagery can be ordered: published, with a strip id."""
        return [c for c in self.captures if c.status == "PUBLISHED" and c.strip_id]

    def _show_imagery_state(self) -> None:
        published = self.published_captures()
        self.imagery_button.setEnabled(bool(published))
        if self.order is None:
            tip = "Select an order to order the imagery of its published captures."
        elif published:
            tip = (f"Order the archive imagery of this order's {len(published)} published capture"
                   f"{'s' if len(published) != 1 else ''} (bundle, clip to the order's area, delivery), and "
                   "load it on the map.")
        elif not self.captures:
            tip = "This order has no published capture yet (or its captures are still loading)."
        else:
            tip = "None of this order's captures is published yet; their imagery can be ordered once it is."
        self.imagery_button.setToolTip(tip)

    def _emit_imagery(self) -> None:
        if self.order is not None and self.published_captures():
            self.imageryRequested.emit(self.order, list(self.captures))

    def changes(self) -> Dict[str, Any]:
        """The edited fields that differ from the order and are allowed in its state."""
        order, rules = self.order, self.permissions
        if order is None or rules is None:
            return {}
        changes: Dict[str, Any] = {}
        if rules.name and self.name_edit.text() != (order.name or ""):
            changes["name"] = self.name_edit.text()
        start = from_qdatetime(self.start_edit.dateTime())
        end = from_qdatetime(self.end_edit.dateTime())
        # The editor keeps whole seconds: compare at that precision so an untouched time is not "changed".
        if rules.start_time and start and order.start_time and int(start.timestamp()) != int(order.start_time.timestamp()):
            changes["start_time"] = start
        if rules.end_time and end and order.end_time and int(end.timestamp()) != int(order.end_time.timestamp()):
            changes["end_time"] = end
        return changes

    def _emit_save(self) -> None:
        if self.order is None:
            return
        changes = self.changes()
        if not changes:
            self.show_message("Nothing changed.")
            return
        self.saveRequested.emit(self.order.id, changes)

    def show_message(self, text: str, error: bool = False) -> None:
        self.message_label.setStyleSheet("color: #b00020;" if error else "")
        self.message_label.setText(text)
