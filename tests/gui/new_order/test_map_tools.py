"""The AOI map tools on a real QgsMapCanvas, driven by mouse and key events sent to the canvas."""

from __future__ import annotations

import math
import re

import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QApplication

from ui.shared.map_tools import INVALID_STROKE, VALID_STROKE, PointTool, PolygonTool, StripTool

from ..canvas_input import (
    BERLIN,
    WGS84,
    click,
    double_click,
    key,
    move,
    offset,
    pixel,
    release_canvas,
    show_canvas_around,
    to_canvas_crs,
)


@pytest.fixture
def canvas(qgis_canvas, qgis_parent):
    """The session canvas, shown at 800 × 600 px in Web Mercator over ~80 km around Berlin."""
    yield show_canvas_around(qgis_canvas, qgis_parent)
    release_canvas(qgis_canvas, qgis_parent)


class Recorder:
    def __init__(self, tool):
        self.drawn = []
        self.previews = []
        self.cancelled = 0
        tool.aoiDrawn.connect(lambda geometry, crs: self.drawn.append((geometry, crs)))
        tool.previewChanged.connect(lambda text, valid: self.previews.append((text, valid)))
        tool.cancelled.connect(self._cancelled)

    def _cancelled(self):
        self.cancelled += 1


def footprint_size_km(tool):
    """Width and height of the footprint rubber band in km (its vertices are in the canvas CRS)."""
    geometry = tool.preview.footprint.asGeometry()
    transform = QgsCoordinateTransform(tool.canvas.mapSettings().destinationCrs(), WGS84, QgsProject.instance())
    geometry.transform(transform)
    box = geometry.boundingBox()
    lat = math.radians(box.center().y())
    return box.width() * 111.32 * math.cos(lat), box.height() * 110.57


def test_point_tool_previews_the_5_km_square_under_the_cursor_and_emits_the_clicked_point(canvas):
    tool = PointTool(canvas)
    record = Recorder(tool)
    canvas.setMapTool(tool)
    move(canvas, pixel(canvas, *BERLIN))
    assert tool.preview_text == "Point: 5 × 5 km square = 25.0 km²"
    assert record.previews[-1] == ("Point: 5 × 5 km square = 25.0 km²", True)
    assert tool.preview.footprint.strokeColor() == VALID_STROKE
    width, height = footprint_size_km(tool)
    assert width == pytest.approx(5.0, rel=0.02) and height == pytest.approx(5.0, rel=0.02)
    assert tool.preview.label.isVisible()

    click(canvas, pixel(canvas, *BERLIN))
    assert len(record.drawn) == 1
    geometry, crs = record.drawn[0]
    assert crs.authid() == "EPSG:3857"
    assert geometry.type() == QgsWkbTypes.GeometryType.PointGeometry
    drawn = QgsCoordinateTransform(crs, WGS84, QgsProject.instance()).transform(geometry.asPoint())
    assert drawn.x() == pytest.approx(BERLIN[0], abs=0.002) and drawn.y() == pytest.approx(BERLIN[1], abs=0.002)
    # Finished: the drawing preview is gone until the mouse moves again.
    assert tool.preview.footprint.numberOfVertices() == 0


def test_strip_tool_shows_the_5_km_wide_strip_with_its_length_and_finishes_on_the_second_click(canvas):
    tool = StripTool(canvas)
    record = Recorder(tool)
    canvas.setMapTool(tool)
    start = BERLIN
    end = offset(*BERLIN, north_km=20.0)
    click(canvas, pixel(canvas, *start))
    assert record.drawn == []
    move(canvas, pixel(canvas, *end))
    match = re.fullmatch(r"Strip: ([\d.]+) km × 5 km = ([\d.]+) km²", tool.preview_text)
    assert match, tool.preview_text
    length, area = float(match.group(1)), float(match.group(2))
    # The label rounds the length to 0.1 km and the area to 0.1 km², so 5 × length is off by ≤ 0.25 + 0.05.
    assert length == pytest.approx(20.0, rel=0.03) and area == pytest.approx(5 * length, abs=0.3)
    width, height = footprint_size_km(tool)
    assert width == pytest.approx(5.0, rel=0.05)
    assert height == pytest.approx(20.0, rel=0.03)
    click(canvas, pixel(canvas, *end))
    assert len(record.drawn) == 1
    geometry, _crs = record.drawn[0]
    assert geometry.type() == QgsWkbTypes.GeometryType.LineGeometry and len(geometry.asPolyline()) == 2


@pytest.mark.parametrize("length_km, reason", [(3.0, "strips must be 6–100 km long"),
                                                 (120.0, "strips must be 6–100 km long")])
def test_strip_tool_shows_a_too_short_or_too_long_strip_in_red_with_the_reason(canvas, length_km, reason):
    canvas.zoomScale(canvas.scale() * (3 if length_km > 100 else 1))
    tool = StripTool(canvas)
    record = Recorder(tool)
    canvas.setMapTool(tool)
    click(canvas, pixel(canvas, *BERLIN))
    move(canvas, pixel(canvas, *offset(*BERLIN, east_km=length_km)))
    text, valid = record.previews[-1]
    assert not valid and reason in text and text.startswith("Cannot be ordered: The strip is")
    assert tool.preview.label.text == text
    assert tool.preview.sketch.strokeColor() == INVALID_STROKE or tool.preview.footprint.strokeColor() == INVALID_STROKE


def test_polygon_tool_adds_corners_undoes_with_backspace_and_closes_on_right_click(canvas):
    tool = PolygonTool(canvas)
    record = Recorder(tool)
    canvas.setMapTool(tool)
    corners = [offset(*BERLIN, east_km=e, north_km=n) for e, n in ((0, 0), (10, 0), (10, 8), (0, 8))]
    for corner in corners[:3]:
        click(canvas, pixel(canvas, *corner))
    stray = offset(*BERLIN, east_km=20, north_km=20)
    click(canvas, pixel(canvas, *stray))
    assert len(tool.vertices) == 4
    key(canvas, Qt.Key.Key_Backspace)
    assert len(tool.vertices) == 3
    click(canvas, pixel(canvas, *corners[3]))
    move(canvas, pixel(canvas, *corners[3]))
    assert tool.preview_text.startswith("Area: 8") and tool.preview_text.endswith("km²")
    click(canvas, pixel(canvas, *corners[3]), Qt.MouseButton.RightButton)
    assert len(record.drawn) == 1
    geometry, _ = record.drawn[0]
    assert geometry.type() == QgsWkbTypes.GeometryType.PolygonGeometry
    assert len(geometry.asPolygon()[0]) == 5  # four corners, closed


def test_polygon_tool_closes_on_double_click_without_a_duplicate_corner(canvas):
    tool = PolygonTool(canvas)
    record = Recorder(tool)
    canvas.setMapTool(tool)
    corners = [offset(*BERLIN, east_km=e, north_km=n) for e, n in ((0, 0), (6, 0), (3, 6))]
    for corner in corners[:2]:
        click(canvas, pixel(canvas, *corner))
    double_click(canvas, pixel(canvas, *corners[2]))
    assert len(record.drawn) == 1
    assert len(record.drawn[0][0].asPolygon()[0]) == 4
    assert tool.vertices == []


def test_polygon_tool_shows_a_crossing_polygon_invalid_and_right_click_needs_three_corners(canvas):
    tool = PolygonTool(canvas)
    record = Recorder(tool)
    canvas.setMapTool(tool)
    click(canvas, pixel(canvas, *BERLIN))
    click(canvas, pixel(canvas, *offset(*BERLIN, east_km=8)), Qt.MouseButton.RightButton)  # 1 corner + right-click
    assert record.drawn == [] and "at least 3 corners" in record.previews[-1][0]
    # A bow tie: its edges cross.
    for east, north in ((8, 8), (8, 0), (0, 8)):
        click(canvas, pixel(canvas, *offset(*BERLIN, east_km=east, north_km=north)))
    move(canvas, pixel(canvas, *offset(*BERLIN, east_km=0, north_km=8)))
    text, valid = record.previews[-1]
    assert not valid and "crosses itself" in text
    assert tool.preview.footprint.strokeColor() == INVALID_STROKE


def test_escape_cancels_a_drawing_and_emits_nothing(canvas):
    tool = StripTool(canvas)
    record = Recorder(tool)
    canvas.setMapTool(tool)
    click(canvas, pixel(canvas, *BERLIN))
    move(canvas, pixel(canvas, *offset(*BERLIN, north_km=15)))
    assert tool.preview.footprint.numberOfVertices() > 0
    key(canvas, Qt.Key.Key_Escape)
    assert record.cancelled == 1 and tool.vertices == []
    assert tool.preview.footprint.numberOfVertices() == 0 and not tool.preview.label.isVisible()
    click(canvas, pixel(canvas, *offset(*BERLIN, north_km=15)))
    assert record.drawn == []  # that click started a new strip


def test_tools_draw_in_any_canvas_crs(canvas):
    canvas.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:32633"))
    centre = to_canvas_crs(canvas, QgsPointXY(*BERLIN))
    canvas.setExtent(QgsRectangle(centre.x() - 30_000, centre.y() - 30_000, centre.x() + 30_000, centre.y() + 30_000))
    QApplication.processEvents()
    tool = PointTool(canvas)
    record = Recorder(tool)
    canvas.setMapTool(tool)
    click(canvas, pixel(canvas, *BERLIN))
    assert record.drawn[0][1].authid() == "EPSG:32633"
    move(canvas, pixel(canvas, *BERLIN))
    width, height = footprint_size_km(tool)
    assert width == pytest.approx(5.0, rel=0.02) and height == pytest.approx(5.0, rel=0.02)

