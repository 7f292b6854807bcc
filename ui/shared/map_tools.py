"""Map tools that draw an order's AOI (point, strip, polygon) and show the footprint the service will task."""

from __future__ import annotations

from typing import List, Optional

from qgis.core import QgsCoordinateReferenceSystem, QgsGeometry, QgsPointXY, QgsWkbTypes
from qgis.gui import QgsMapCanvas, QgsMapCanvasItem, QgsMapMouseEvent, QgsMapTool, QgsRubberBand
from qgis.PyQt.QtCore import QPointF, QRectF, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor, QFont, QFontMetricsF, QKeyEvent, QPainter, QPainterPath, QPen

from ...core.aoi import DEFAULT_MAX_SQKM, WGS84_AUTHID, Aoi, AoiError, aoi_from_geometry

# Valid footprints in the QGIS selection-like blue, invalid ones in red: colour is the first hint,
# the label's text the reason.
VALID_STROKE = QColor(30, 110, 220)
VALID_FILL = QColor(30, 110, 220, 50)
INVALID_STROKE = QColor(220, 30, 30)
INVALID_FILL = QColor(220, 30, 30, 50)
SKETCH_STROKE = QColor(60, 60, 60, 200)

KIND_POINT = "point"
KIND_STRIP = "strip"
KIND_POLYGON = "polygon"


class FootprintLabel(QgsMapCanvasItem):
    """A short text with a halo next to a map position (the footprint's size, or why it is invalid)."""

    def __init__(self, canvas: QgsMapCanvas):
        super().__init__(canvas)
        self._canvas = canvas
        self._text = ""
        self._valid = True
        self._anchor: Optional[QgsPointXY] = None
        self.setZValue(1000)

    @property
    def text(self) -> str:
        return self._text

    def set_label(self, text: str, anchor: Optional[QgsPointXY], valid: bool = True) -> None:
        self._text, self._anchor, self._valid = text, anchor, valid
        self.setVisible(bool(text) and anchor is not None)
        self.update()

    def clear(self) -> None:
        self.set_label("", None)

    def boundingRect(self) -> QRectF:  # noqa: N802 - Qt API
        # The item sits at the scene origin and paints in canvas pixels, so it spans the canvas.
        return QRectF(0, 0, max(1, self._canvas.viewport().width()), max(1, self._canvas.viewport().height()))

    def updatePosition(self) -> None:  # noqa: N802 - Qt API
        # Called on pan/zoom: the anchor is re-projected in paint(), so only a repaint is needed.
        self.setPos(0, 0)
        self.update()

    def paint(self, painter, option=None, widget=None) -> None:
        if not self._text or self._anchor is None:
            return
        pixel = self._canvas.getCoordinateTransform().transform(self._anchor)
        font = QFont(painter.font())
        font.setBold(True)
        metrics = QFontMetricsF(font)
        # Lines wrap at ~60 characters so a long reason stays on screen in a small canvas.
        lines = _wrap(self._text, 60)
        height = metrics.height()
        x, y = pixel.x() + 12, pixel.y() - 8 - height * (len(lines) - 1)
        # Kept inside the visible map: the halo and the view's frame need a few pixels too.
        right_edge = self._canvas.viewport().width() - 10
        x = min(x, max(4.0, right_edge - max(metrics.horizontalAdvance(line) for line in lines)))
        y = max(height, y)
        path = QPainterPath()
        for index, line in enumerate(lines):
            path.addText(QPointF(x, y + index * height), font, line)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setPen(QPen(QColor(255, 255, 255, 230), 3.5, Qt.PenStyle.SolidLine, Qt.PenCapStyle.RoundCap, Qt.PenJoinStyle.RoundJoin))
        painter.setBrush(Qt.BrushStyle.NoBrush)
        painter.drawPath(path)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(VALID_STROKE.darker(150) if self._valid else INVALID_STROKE)
        painter.drawPath(path)


def _wrap(text: str, width: int) -> List[str]:
    lines: List[str] = []
    for paragraph in text.splitlines() or [""]:
        line = ""
        for word in paragraph.split():
            if line and len(line) + 1 + len(word) > width:
                lines.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        lines.append(line)
    return lines


class FootprintPreview:
    """Rubber bands and a label on a canvas showing a drawn shape and what the service would task for it.

    `show(geometry, crs)` validates with core.aoi and draws the tasked polygon (blue, with its size) or
    the shape itself with the reason it cannot be ordered (red). Owned by a map tool while drawing and by
    the order panel for the chosen AOI.
    """

    def __init__(self, canvas: QgsMapCanvas, max_sqkm: Optional[float] = DEFAULT_MAX_SQKM):
        self.canvas = canvas
        self.max_sqkm = max_sqkm
        self.footprint = QgsRubberBand(canvas, QgsWkbTypes.GeometryType.PolygonGeometry)
        self.footprint.setWidth(2)
        self.sketch = QgsRubberBand(canvas, QgsWkbTypes.GeometryType.LineGeometry)
        self.sketch.setColor(SKETCH_STROKE)
        self.sketch.setWidth(1)
        self.sketch.setLineStyle(Qt.PenStyle.DashLine)
        self.label = FootprintLabel(canvas)
        self.label.setVisible(False)
        self.aoi: Optional[Aoi] = None
        self.error: Optional[AoiError] = None

    def _style(self, valid: bool) -> None:
        self.footprint.setStrokeColor(VALID_STROKE if valid else INVALID_STROKE)
        self.footprint.setFillColor(VALID_FILL if valid else INVALID_FILL)

    def show(self, geometry: QgsGeometry, crs: QgsCoordinateReferenceSystem, sketch: Optional[QgsGeometry] = None,
             label_anchor: Optional[QgsPointXY] = None):
        """Validate and draw; returns the Aoi or the AoiError."""
        try:
            self.aoi = aoi_from_geometry(geometry, crs, max_sqkm=self.max_sqkm)
            self.error = None
        except AoiError as error:
            self.aoi, self.error = None, error
        self.show_result(self.aoi or self.error, geometry, crs, sketch, label_anchor)
        return self.aoi or self.error

    def show_result(self, result, geometry: Optional[QgsGeometry], crs: QgsCoordinateReferenceSystem,
                    sketch: Optional[QgsGeometry] = None, label_anchor: Optional[QgsPointXY] = None) -> None:
        """Draw an already validated result (an Aoi, or an AoiError for `geometry` in `crs`)."""
        self.aoi = result if isinstance(result, Aoi) else None
        self.error = result if isinstance(result, AoiError) else None
        wgs84 = QgsCoordinateReferenceSystem(WGS84_AUTHID)
        self.sketch.reset(QgsWkbTypes.GeometryType.LineGeometry)
        if sketch is not None and not sketch.isEmpty():
            self.sketch.setToGeometry(sketch, crs)
        if self.aoi is not None:
            self._style(True)
            tasked = self.aoi.tasked_geometry()
            self.footprint.setToGeometry(tasked, wgs84)
            anchor = label_anchor or self._to_canvas(tasked.boundingBox().center(), wgs84)
            self.label.set_label(self.aoi.summary(), anchor, True)
        else:
            self._style(False)
            self.footprint.reset(QgsWkbTypes.GeometryType.PolygonGeometry)
            if geometry is not None and not geometry.isEmpty():
                if geometry.type() == QgsWkbTypes.GeometryType.PolygonGeometry:
                    self.footprint.setToGeometry(geometry, crs)
                else:
                    # A point or line has no fill: draw it as the sketch line, in red.
                    self.sketch.setToGeometry(geometry, crs)
                    self.sketch.setColor(INVALID_STROKE)
            anchor = label_anchor
            if anchor is None and geometry is not None and not geometry.isEmpty():
                anchor = geometry.boundingBox().center()
            message = self.error.message if self.error else ""
            self.label.set_label(f"Cannot be ordered: {message}" if message else "", anchor, False)
        if self.aoi is not None:
            self.sketch.setColor(SKETCH_STROKE)

    def _to_canvas(self, point: QgsPointXY, crs: QgsCoordinateReferenceSystem) -> QgsPointXY:
        from qgis.core import QgsCoordinateTransform, QgsProject

        target = self.canvas.mapSettings().destinationCrs()
        if target == crs:
            return point
        try:
            return QgsCoordinateTransform(crs, target, QgsProject.instance()).transform(point)
        except Exception:  # noqa: BLE001 - a label position is not worth an error
            return point

    def clear(self) -> None:
        self.aoi = self.error = None
        self.footprint.reset(QgsWkbTypes.GeometryType.PolygonGeometry)
        self.sketch.reset(QgsWkbTypes.GeometryType.LineGeometry)
        self.label.clear()

    def remove(self) -> None:
        """Take the items off the canvas for good (the owner is going away)."""
        scene = self.canvas.scene()
        for item in (self.footprint, self.sketch, self.label):
            if item.scene() is not None:
                scene.removeItem(item)


class AoiMapTool(QgsMapTool):
    """Base of the drawing tools: Esc cancels, Backspace undoes the last vertex, a preview follows the mouse.

    Emits `aoiDrawn(geometry, crs)` with the shape in the canvas CRS once it is finished (whether valid
    or not: the receiver validates it again and says why), `previewChanged(text, valid)` as the mouse
    moves, and `cancelled()` on Esc.
    """

    kind = ""
    aoiDrawn = pyqtSignal(QgsGeometry, QgsCoordinateReferenceSystem)  # noqa: N815 - Qt signal naming
    previewChanged = pyqtSignal(str, bool)  # noqa: N815
    cancelled = pyqtSignal()

    def __init__(self, canvas: QgsMapCanvas, max_sqkm: Optional[float] = DEFAULT_MAX_SQKM):
        super().__init__(canvas)
        self.canvas = canvas
        self.preview = FootprintPreview(canvas, max_sqkm)
        self.vertices: List[QgsPointXY] = []
        self.setCursor(Qt.CursorShape.CrossCursor)

    # -- subclass hooks ---------------------------------------------------------------------------

    def shape(self, vertices: List[QgsPointXY]) -> Optional[QgsGeometry]:
        """The geometry the vertices (the cursor included, last) make, or None when too few."""
        raise NotImplementedError

    def is_complete(self) -> bool:
        """Whether the fixed vertices already make the finished shape."""
        raise NotImplementedError

    # -- common behaviour -------------------------------------------------------------------------

    @property
    def crs(self) -> QgsCoordinateReferenceSystem:
        return self.canvas.mapSettings().destinationCrs()

    @property
    def preview_text(self) -> str:
        return self.preview.label.text

    def update_preview(self, cursor: Optional[QgsPointXY]) -> None:
        vertices = list(self.vertices) + ([cursor] if cursor is not None else [])
        geometry = self.shape(vertices)
        if geometry is None:
            self.preview.clear()
            if len(vertices) >= 1:
                self.preview.sketch.setToGeometry(QgsGeometry.fromPolylineXY(vertices), self.crs)
            return
        sketch = QgsGeometry.fromPolylineXY(vertices) if len(vertices) > 1 else None
        result = self.preview.show(geometry, self.crs, sketch, cursor)
        valid = isinstance(result, Aoi)
        self.previewChanged.emit(result.summary() if valid else f"Cannot be ordered: {result.message}", valid)

    def finish(self) -> None:
        geometry = self.shape(self.vertices)
        if geometry is None:
            return
        crs = self.crs
        self.reset()
        self.aoiDrawn.emit(geometry, crs)

    def reset(self) -> None:
        self.vertices = []
        self.preview.clear()

    def undo_vertex(self) -> None:
        if self.vertices:
            self.vertices.pop()
            self.update_preview(None if not self.vertices else self.vertices[-1])

    def add_vertex(self, point: QgsPointXY) -> None:
        # A double click delivers the same position twice; one vertex is meant.
        if self.vertices and self.vertices[-1] == point:
            return
        self.vertices.append(QgsPointXY(point))

    def canvasMoveEvent(self, event: QgsMapMouseEvent) -> None:  # noqa: N802 - Qt API
        self.update_preview(event.mapPoint())

    def canvasReleaseEvent(self, event: QgsMapMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() != Qt.MouseButton.LeftButton:
            return
        self.add_vertex(event.mapPoint())
        if self.is_complete():
            self.finish()
        else:
            self.update_preview(event.mapPoint())

    def keyPressEvent(self, event: QKeyEvent) -> None:  # noqa: N802 - Qt API
        if event.key() == Qt.Key.Key_Escape:
            self.reset()
            self.cancelled.emit()
            event.accept()
        elif event.key() in (Qt.Key.Key_Backspace, Qt.Key.Key_Delete):
            self.undo_vertex()
            event.accept()
        elif event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self.finish()
            event.accept()
        else:
            event.ignore()

    def deactivate(self) -> None:
        self.reset()
        super().deactivate()

    def remove_items(self) -> None:
        self.preview.remove()


class PointTool(AoiMapTool):
    """One click: a point order, previewed as the 5 × 5 km square under the cursor."""

    kind = KIND_POINT

    def shape(self, vertices: List[QgsPointXY]) -> Optional[QgsGeometry]:
        return QgsGeometry.fromPointXY(vertices[-1]) if vertices else None

    def is_complete(self) -> bool:
        return len(self.vertices) >= 1


class StripTool(AoiMapTool):
    """Two clicks, start and end: a strip order, previewed as the 5 km-wide strip with its length."""

    kind = KIND_STRIP

    def shape(self, vertices: List[QgsPointXY]) -> Optional[QgsGeometry]:
        if len(vertices) < 2:
            return None
        return QgsGeometry.fromPolylineXY(vertices[:2])

    def is_complete(self) -> bool:
        return len(self.vertices) >= 2


class PolygonTool(AoiMapTool):
    """Clicks add corners; right-click, double-click or Enter closes the polygon (at least 3 corners)."""

    kind = KIND_POLYGON

    def __init__(self, canvas: QgsMapCanvas, max_sqkm: Optional[float] = DEFAULT_MAX_SQKM):
        super().__init__(canvas, max_sqkm)
        self._ignore_next_release = False

    def shape(self, vertices: List[QgsPointXY]) -> Optional[QgsGeometry]:
        if len(vertices) < 3:
            return None
        return QgsGeometry.fromPolygonXY([list(vertices) + [vertices[0]]])

    def is_complete(self) -> bool:
        return False

    def canvasReleaseEvent(self, event: QgsMapMouseEvent) -> None:  # noqa: N802 - Qt API
        if self._ignore_next_release:
            self._ignore_next_release = False
            return
        if event.button() == Qt.MouseButton.RightButton:
            self.finish()
            return
        super().canvasReleaseEvent(event)

    def canvasDoubleClickEvent(self, event: QgsMapMouseEvent) -> None:  # noqa: N802 - Qt API
        if event.button() != Qt.MouseButton.LeftButton:
            return
        # Qt sends press, release, double-click, release: the first release added the corner already.
        self.add_vertex(event.mapPoint())
        self._ignore_next_release = True
        self.finish()

    def finish(self) -> None:
        if len(self.vertices) < 3:
            self.previewChanged.emit("A polygon needs at least 3 corners: click more corners first.", False)
            return
        super().finish()


TOOL_CLASSES = {KIND_POINT: PointTool, KIND_STRIP: StripTool, KIND_POLYGON: PolygonTool}
