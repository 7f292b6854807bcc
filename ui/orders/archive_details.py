"""Details of one archive imagery order in the Orders tab: state, messages, error hints, products and results,
cancel, and downloading its files (stage, progress and a Cancel while the download runs)."""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import timezone
from typing import Any, Dict, Optional, Tuple

from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from ...core.app.archive_orders import can_cancel
from .details import StatusLabel
from .text_details import OrderTextDetails

# What a delivery block may hold besides a cloud destination: zip options of a direct download.
_DIRECT_DELIVERY_KEYS = frozenset({"archive_type", "single_archive", "archive_filename", "layout"})


@dataclass(frozen=True)
class DownloadVerdict:
    """Whether an archive order's files can be downloaded here, the button's words, and its tooltip (why
    not, when it cannot)."""

    allowed: bool
    label: str
    tooltip: str

    def __bool__(self) -> bool:
        return self.allowed


def _delivered_to_cloud(order: Any) -> bool:
    """The order asked Planet to deliver to a cloud bucket or to hosting: its files never come as links."""
    raw = getattr(order, "raw", None) or {}
    delivery = raw.get("delivery") if isinstance(raw.get("delivery"), dict) else {}
    return bool(raw.get("hosting")) or any(key not in _DIRECT_DELIVERY_KEYS for key in delivery)


def download_verdict(order: Any) -> DownloadVerdict:
    """What the Download button of this order does: download a finished order's files, follow an open
    one and download once it is ready, or nothing (failed, cancelled, delivered elsewhere) and why."""
    name = order.name or order.id
    cloud = ("Planet delivers this order to its cloud destination or hosting, not as download links: there is "
             "nothing to download here.")
    if order.state in ("queued", "running"):
        if _delivered_to_cloud(order):
            return DownloadVerdict(False, "Download…", cloud)
        return DownloadVerdict(True, "Download when ready…",
                               f"'{name}' is {order.state}: follow it until Planet has finished it, then download "
                               "its files into a folder you choose and add the rasters to the map.")
    if order.state in ("success", "partial"):
        files = [r for r in order.results if r.location and not r.is_manifest]
        if files:
            return DownloadVerdict(True, "Download…",
                                   f"Download the order's {len(files)} file(s) into a folder you choose (a stopped "
                                   "download resumes where it stopped) and add the rasters to the map.")
        if _delivered_to_cloud(order) or order.results:
            return DownloadVerdict(False, "Download…", cloud)
        return DownloadVerdict(False, "Download…", f"'{name}' is {order.state} but lists no files to download.")
    why = order.last_message or ""
    hints = "; ".join(order.error_hints)
    said = " — ".join(part for part in (why, hints) if part)
    return DownloadVerdict(False, "Download…", f"'{name}' is {order.state}" + (f" ({said})" if said else "")
                           + ": it has no files to download.")


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


class ArchiveOrderDetails(OrderTextDetails):
    """One archive order, read only but for Cancel (queued orders only: the tooltip says why otherwise) and
    Download (its files into a folder, with the rasters on the map). The panel runs the downloads; this
    widget shows the one of the order shown (set_download)."""

    downloadRequested = pyqtSignal(str)  # noqa: N815 - the order's id
    downloadCancelRequested = pyqtSignal(str)  # noqa: N815 - the order's id

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__("archive", parent)
        self.setObjectName("archiveOrderDetails")
        self.download_button = QPushButton("Download…", self)
        self.download_button.setObjectName("downloadArchiveOrderButton")
        self.download_button.clicked.connect(lambda: self.order is not None and not self.downloading
                                             and self.downloadRequested.emit(self.order.id))
        self.buttons.addWidget(self.download_button)
        self.buttons.addStretch(1)
        # The download of the order shown: what it does now, how far, and a Cancel (hidden while none runs).
        # Every order's, by id (running, stage, percent, error), so selecting another order and back shows it.
        self.downloading = False
        self._downloads: Dict[str, Tuple[bool, str, float, bool]] = {}
        self.download_stage = StatusLabel(self)
        self.download_stage.setObjectName("archiveDownloadStage")
        self.download_stage.setWordWrap(True)
        progress_row = QHBoxLayout()
        self.download_progress = QProgressBar(self)
        self.download_progress.setObjectName("archiveDownloadProgress")
        self.download_progress.setRange(0, 100)
        self.download_progress.setMaximumHeight(16)
        self.cancel_download_button = QPushButton("Cancel", self)
        self.cancel_download_button.setObjectName("cancelArchiveDownloadButton")
        self.cancel_download_button.setToolTip("Stop the download; the files downloaded so far are kept and the "
                                               "next Download resumes them. The order itself is not cancelled.")
        self.cancel_download_button.clicked.connect(
            lambda: self.order is not None and self.downloadCancelRequested.emit(self.order.id))
        progress_row.addWidget(self.download_progress, 1)
        progress_row.addWidget(self.cancel_download_button)
        self.body.addWidget(self.download_stage)
        self.body.addLayout(progress_row)
        self.body.addLayout(self.buttons)
        self.show_order(None)

    def show_order(self, order: Any) -> None:
        self.show_text(order, archive_html(order) if order is not None else "",
                       can_cancel(order) if order is not None else None,
                       "Cancel this order while it waits in the queue (asks first).", "Select an archive order.")
        if order is None:
            self._show_download(False, "", 0.0, False)
            return
        self._show_download(*self._downloads.get(order.id, (False, "", 0.0, False)))

    def set_download(self, order_id: str, running: bool, stage: str = "", percent: float = 0.0,
                     error: bool = False) -> None:
        """Keep what the download of `order_id` is doing (running: stage, progress, Cancel; or its last
        words) and show it when that order is the one shown."""
        self._downloads[order_id] = (running, stage, percent, error)
        if self.order is not None and self.order.id == order_id:
            self._show_download(running, stage, percent, error)

    def download_state(self, order_id: str) -> Tuple[bool, str, float, bool]:
        return self._downloads.get(order_id, (False, "", 0.0, False))

    def _show_download(self, running: bool, stage: str, percent: float, error: bool) -> None:
        self.downloading = running
        self.download_stage.setStyleSheet("color: #b00020;" if error else "")
        self.download_stage.setText(stage)
        self.download_progress.setValue(int(max(0.0, min(100.0, percent))))
        self.download_progress.setVisible(running)
        self.cancel_download_button.setVisible(running)
        self.cancel_download_button.setEnabled(running)
        self._show_download_button()

    def _show_download_button(self) -> None:
        if self.order is None:
            self.download_button.setText("Download…")
            self.download_button.setEnabled(False)
            self.download_button.setToolTip("Select an archive order.")
        elif self.downloading:
            # One download per order: the button says so and does nothing until it has ended.
            self.download_button.setText("Downloading…")
            self.download_button.setEnabled(False)
            self.download_button.setToolTip("This order is being downloaded; Cancel stops it.")
        else:
            verdict = download_verdict(self.order)
            self.download_button.setText(verdict.label)
            self.download_button.setEnabled(verdict.allowed)
            self.download_button.setToolTip(verdict.tooltip)
