"""A timeline of the imaging windows found: a bar per window over the days searched, coloured by cloud forecast."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import List, Optional, Sequence, Tuple

from qgis.PyQt.QtCore import QEvent, QPoint, QRect, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QPainter, QPalette, QPen
from qgis.PyQt.QtWidgets import QSizePolicy, QToolTip, QWidget

from ...core.names import units_text
from .windows_table import window_price

# Cloud forecast (percent) up to which a bar gets each colour: clear skies stand out, overcast fades.
CLOUD_COLOURS: Sequence[Tuple[float, str]] = (
    (20.0, "#2e9d3a"),  # clear: green
    (50.0, "#e0a526"),  # some cloud: amber
    (100.0, "#8c8c99"),  # mostly cloudy: grey
)
NO_FORECAST_COLOUR = "#c8c8d0"
SELECTED_COLOUR = "#1f5fbf"
# A window lasts seconds; over days that is less than a pixel, so every bar is at least this wide.
MIN_BAR_PX = 4
# A click this close to a bar (in pixels) picks it: thin bars are hard to hit exactly.
PICK_SLACK_PX = 3
HINT = "Imaging windows over the days searched; colour: cloud forecast (green clear, amber some, grey cloudy). " \
       "Hover a bar for its details, click it to choose the window."


@dataclass(frozen=True)
class TimelineBar:
    """Where one window is drawn: its x range in pixels, its colour, and what hovering it says."""

    window_id: str
    left: int
    width: int
    colour: str
    tooltip: str

    def contains(self, x: int, slack: int = 0) -> bool:
        return self.left - slack <= x < self.left + self.width + slack


def cloud_colour(cloud: Optional[float]) -> str:
    """The bar colour for a cloud forecast in percent (None: no forecast)."""
    if cloud is None:
        return NO_FORECAST_COLOUR
    for upper, colour in CLOUD_COLOURS:
        if cloud <= upper:
            return colour
    return CLOUD_COLOURS[-1][1]


def timeline_span(windows: Sequence[object]) -> Optional[Tuple[datetime, datetime]]:
    """Whole days from the first window's day to the last window's end (None without dated windows)."""
    starts = [w.start_time for w in windows if getattr(w, "start_time", None) is not None]
    if not starts:
        return None
    ends = [w.end_time or w.start_time for w in windows if w.start_time is not None]
    first = min(starts).replace(hour=0, minute=0, second=0, microsecond=0)
    last = max(ends)
    days = max(1, -(-(last - first) // timedelta(days=1)))  # rounded up: the last day is shown whole
    return first, first + timedelta(days=days)


def bar_tooltip(window: object) -> str:
    """What hovering a window's bar says: when, cloud forecast, off-nadir angle and price."""
    cloud = window.latest_cloud_forecast
    low, high = window.off_nadir_angle_min, window.off_nadir_angle_max
    if low is None and high is None:
        off_nadir = "–"
    elif low is None or high is None or round(low, 1) == round(high, 1):
        off_nadir = f"{(low if low is not None else high):.1f}°"
    else:
        off_nadir = f"{low:.1f}–{high:.1f}°"
    price = window_price(window)
    units = window.pricing_details.units if window.pricing_details is not None else None
    lines = [
        f"{window.start_time:%Y-%m-%d %H:%M:%S} UTC",
        "Cloud forecast: " + ("–" if cloud is None else f"{cloud:.0f} %"),
        f"Off-nadir: {off_nadir}",
        "Price: " + ("–" if price is None else f"{price:,.2f} {units_text(units)}"),
    ]
    if window.replaces_orders:
        lines.append(f"Replaces {len(window.conflicting_orders)} of your orders")
    return "\n".join(lines)


def timeline_bars(windows: Sequence[object], width: int,
                  span: Optional[Tuple[datetime, datetime]] = None) -> List[TimelineBar]:
    """The bars for `windows` across `width` pixels over `span` (default: timeline_span), in time order."""
    span = span or timeline_span(windows)
    if span is None or width <= 0:
        return []
    first, last = span
    seconds = max((last - first).total_seconds(), 1.0)
    bars = []
    for window in sorted((w for w in windows if w.start_time is not None), key=lambda w: w.start_time):
        left = int((window.start_time - first).total_seconds() / seconds * width)
        right = int(((window.end_time or window.start_time) - first).total_seconds() / seconds * width)
        bar_width = max(MIN_BAR_PX, right - left)
        left = min(max(0, left), max(0, width - bar_width))
        bars.append(TimelineBar(window.id, left, bar_width, cloud_colour(window.latest_cloud_forecast),
                                bar_tooltip(window)))
    return bars


def bar_at(bars: Sequence[TimelineBar], x: int) -> Optional[TimelineBar]:
    """The bar under x (None: none): windows close in time overlap, so the one whose middle is nearest wins,
    and of equally near ones the later, which is drawn on top; a few pixels off still hits a thin bar."""
    near = [(abs(bar.left + bar.width / 2 - x), -index, bar) for index, bar in enumerate(bars)
            if bar.contains(x, PICK_SLACK_PX)]
    return min(near, key=lambda item: item[:2])[2] if near else None


class WindowsTimeline(QWidget):
    """Paints `timeline_bars`; a click on a bar emits its window id, the selected window's bar is marked."""

    windowClicked = pyqtSignal(str)  # noqa: N815 - the id of the window whose bar was clicked

    MARGIN = 2

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("windowsTimeline")
        self.setMouseTracking(True)
        # Room under the bars for one line of day labels in the widget's font.
        self.axis_height = self.fontMetrics().height() + 2
        self.track_height = 26
        self.setMinimumHeight(self._height())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setToolTip(HINT)
        self._windows: List[object] = []
        self.selected_id: Optional[str] = None

    def sizeHint(self):  # noqa: N802 - Qt API
        hint = super().sizeHint()
        hint.setHeight(self._height())
        hint.setWidth(200)
        return hint

    def minimumSizeHint(self):  # noqa: N802 - Qt API
        hint = super().minimumSizeHint()
        hint.setWidth(100)
        hint.setHeight(self._height())
        return hint

    def _height(self) -> int:
        return self.track_height + self.axis_height + 2 * self.MARGIN

    def set_windows(self, windows: Sequence[object]) -> None:
        self._windows = list(windows)
        self.update()

    def set_selected(self, window_id: Optional[str]) -> None:
        self.selected_id = window_id
        self.update()

    def _track(self) -> QRect:
        return self.rect().adjusted(self.MARGIN, self.MARGIN, -self.MARGIN, -self.MARGIN - self.axis_height)

    def bars(self) -> List[TimelineBar]:
        """The bars as drawn now, x relative to the widget."""
        track = self._track()
        return [TimelineBar(b.window_id, b.left + track.left(), b.width, b.colour, b.tooltip)
                for b in timeline_bars(self._windows, track.width())]

    def bar_centre(self, window_id: str) -> Optional[QPoint]:
        """Where a window's bar is (for tests and scripts); None when it is not drawn."""
        track = self._track()
        for bar in self.bars():
            if bar.window_id == window_id:
                return QPoint(bar.left + bar.width // 2, track.center().y())
        return None

    def tooltip_at(self, x: int) -> str:
        """What hovering at x says: the bar's window, or how to read the timeline."""
        bar = bar_at(self.bars(), x)
        return bar.tooltip if bar is not None else HINT

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ToolTip:
            # The tooltip of the bar under the pointer, not one text for the whole widget.
            QToolTip.showText(event.globalPos(), self.tooltip_at(event.pos().x()), self)
            return True
        return super().event(event)

    def mousePressEvent(self, event) -> None:  # noqa: N802 - Qt API
        bar = bar_at(self.bars(), event.pos().x()) if event.button() == Qt.MouseButton.LeftButton else None
        if bar is not None:
            self.windowClicked.emit(bar.window_id)
        super().mousePressEvent(event)

    def paintEvent(self, _event) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        track = self._track()
        painter.fillRect(track, self.palette().base())
        span = timeline_span(self._windows)
        if span is not None:
            self._paint_days(painter, track, span)
        for bar in self.bars():
            selected = bar.window_id == self.selected_id
            rect = QRect(bar.left, track.top() + (0 if selected else 4), bar.width,
                         track.height() - (0 if selected else 8))
            painter.fillRect(rect, QColor(bar.colour))
            if selected:
                painter.setPen(QPen(QColor(SELECTED_COLOUR), 2))
                painter.drawRect(rect.adjusted(-1, -1, 1, 1))
        painter.end()

    def _paint_days(self, painter: QPainter, track: QRect, span: Tuple[datetime, datetime]) -> None:
        first, last = span
        days = max(1, round((last - first) / timedelta(days=1)))
        painter.setPen(self.palette().color(QPalette.ColorRole.Mid))
        step = track.width() / days
        for day in range(days + 1):
            x = int(track.left() + day * step)
            painter.drawLine(x, track.top(), x, track.bottom() + 3)
            if day < days and step > 18:
                # As much of the date as the day's width holds: "Mon 07", "Mon", or "07".
                date = first + timedelta(days=day)
                label = next((text for text in (f"{date:%a %d}", f"{date:%a}", f"{date:%d}")
                              if painter.fontMetrics().horizontalAdvance(text) + 4 <= step), "")
                painter.drawText(QRect(x + 2, track.bottom() + 2, int(step) - 2, self.axis_height),
                                 int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop), label)
