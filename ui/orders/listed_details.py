"""Details of one order of a tasking service listed whole in the Orders tab (UP42): product, status and sub-status,
times, the area ordered, Cancel while the service allows it, and a way to the Decisions tab when it waits there."""

from __future__ import annotations

import html
from datetime import timezone
from typing import Any, List, Optional, Tuple

from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QPushButton, QWidget

from .text_details import OrderTextDetails


def _time(value: Any) -> str:
    return value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "—"


def _points(coordinates: Any) -> List[Tuple[float, float]]:
    """Every position in GeoJSON coordinates, however nested."""
    if isinstance(coordinates, (list, tuple)) and len(coordinates) >= 2 and all(
            isinstance(c, (int, float)) for c in coordinates[:2]):
        return [(float(coordinates[0]), float(coordinates[1]))]
    found: List[Tuple[float, float]] = []
    for part in coordinates if isinstance(coordinates, (list, tuple)) else ():
        found += _points(part)
    return found


def area_summary(geometry: Any) -> str:
    """The area ordered in a few words: its kind and bounds in degrees ("Polygon, lon 13.30–13.40, lat 52.46–52.56")."""
    if not isinstance(geometry, dict):
        return "—"
    points = _points(geometry.get("coordinates"))
    if not points:
        return str(geometry.get("type") or "—")
    lons, lats = [p[0] for p in points], [p[1] for p in points]
    if len(points) == 1:
        return f"{geometry.get('type')}, lon {lons[0]:.4f}, lat {lats[0]:.4f}"
    return (f"{geometry.get('type')}, lon {min(lons):.4f}–{max(lons):.4f}, "
            f"lat {min(lats):.4f}–{max(lats):.4f}")


def listed_html(source: Any, order: Any) -> str:
    rows = [("Service", source.label), ("Status", order.status or "—"), ("Sub-status", source.sub_status_text(order) or "—"),
            ("Product", source.product(order) or "—"), ("Created", _time(order.created_at)),
            ("Updated", _time(order.updated_at)), ("Area", area_summary(order.geometry)), ("Id", order.id)]
    parts = [f"<h3>{html.escape(order.name or order.id)}</h3><table>"]
    parts += [f"<tr><td><b>{html.escape(k)}</b>&nbsp;</td><td>{html.escape(str(v))}</td></tr>" for k, v in rows]
    parts.append("</table>")
    if source.waits_for_decision(order):
        parts.append(f"<p><b>Waits for your decision</b> ({html.escape(order.sub_status)}): accept or reject it in "
                     "the Decisions tab.</p>")
    return "".join(parts)


class ListedOrderDetails(OrderTextDetails):
    """One order of a listed tasking service (`source`: core.app.listed_orders.ListedTaskingSource), read only
    but for Cancel (where the service allows it: the tooltip says why not) and, when it waits for a decision,
    a button that opens the Decisions tab."""

    decisionsRequested = pyqtSignal(str)  # noqa: N815 - Qt signal naming; the order's id

    def __init__(self, source: Any, parent: Optional[QWidget] = None):
        super().__init__("listed", parent)
        self.source = source
        self.setObjectName(f"{source.key}OrderDetails")
        self.decisions_button = QPushButton("Decisions tab", self)
        self.decisions_button.setObjectName("openDecisionsButton")
        self.decisions_button.setToolTip("This order waits for your choice of a feasibility option or your answer to "
                                         "a quotation: open the Decisions tab to see its terms and decide.")
        self.decisions_button.clicked.connect(
            lambda: self.order is not None and self.decisionsRequested.emit(self.order.id))
        self.buttons.addWidget(self.decisions_button)
        self.buttons.addStretch(1)
        self.body.addLayout(self.buttons)
        self.show_order(None)

    def show_order(self, order: Any) -> None:
        self.show_text(order, listed_html(self.source, order) if order is not None else "",
                       self.source.can_cancel(order) if order is not None else None,
                       "Cancel this order (asks first).", f"Select a {self.source.noun}.")
        self.decisions_button.setVisible(order is not None and self.source.waits_for_decision(order))
