"""Mouse and key input for a real QgsMapCanvas, in WGS84 positions: what a user's hand does in the GUI tests."""

from __future__ import annotations

import math

from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsPointXY, QgsProject, QgsRectangle
from qgis.PyQt.QtCore import QEvent, QPoint, QPointF, Qt
from qgis.PyQt.QtGui import QKeyEvent, QMouseEvent
from qgis.PyQt.QtWidgets import QApplication

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
WEB_MERCATOR = QgsCoordinateReferenceSystem("EPSG:3857")
BERLIN = (13.40, 52.52)


def show_canvas_around(canvas, parent, lon_lat=BERLIN, half_width_m: float = 65_000):
    """Show the canvas at ~800 × 600 px in Web Mercator, centred on lon_lat (65 km ≈ 40 km on the ground at 52.5° N)."""
    # The canvas is a child of pytest-qgis's main window: it only gets its size once that is shown.
    parent.resize(820, 620)
    parent.show()
    canvas.resize(800, 600)
    canvas.show()
    QApplication.processEvents()
    assert canvas.mapSettings().outputSize().width() > 700
    canvas.setDestinationCrs(WEB_MERCATOR)
    centre = to_canvas_crs(canvas, QgsPointXY(*lon_lat))
    half = half_width_m
    canvas.setExtent(QgsRectangle(centre.x() - half, centre.y() - half, centre.x() + half, centre.y() + half))
    canvas.refresh()
    QApplication.processEvents()
    return canvas


def release_canvas(canvas, parent) -> None:
    tool = canvas.mapTool()
    if tool is not None:
        canvas.unsetMapTool(tool)
    parent.hide()


def to_canvas_crs(canvas, lon_lat: QgsPointXY) -> QgsPointXY:
    transform = QgsCoordinateTransform(WGS84, canvas.mapSettings().destinationCrs(), QgsProject.instance())
    return transform.transform(lon_lat)


def pixel(canvas, lon: float, lat: float) -> QPoint:
    """The canvas pixel of a WGS84 position."""
    point = canvas.getCoordinateTransform().transform(to_canvas_crs(canvas, QgsPointXY(lon, lat)))
    return QPoint(int(round(point.x())), int(round(point.y())))


def offset(lon: float, lat: float, east_km: float = 0.0, north_km: float = 0.0):
    """A position some km east/north of (lon, lat), with the WGS84 length of a degree at that latitude."""
    phi = math.radians(lat)
    km_per_degree_lat = 111.132954 - 0.559822 * math.cos(2 * phi) + 0.001175 * math.cos(4 * phi)
    km_per_degree_lon = 111.412877 * math.cos(phi) - 0.093503 * math.cos(3 * phi)
    return (lon + east_km / km_per_degree_lon, lat + north_km / km_per_degree_lat)


def send_mouse(canvas, kind, where: QPoint, button=Qt.MouseButton.LeftButton) -> None:
    pressed = button if kind in (QEvent.Type.MouseButtonPress, QEvent.Type.MouseButtonDblClick) else Qt.MouseButton.NoButton
    event = QMouseEvent(kind, QPointF(where), Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else button, pressed,
                        Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(canvas.viewport(), event)


def move(canvas, where: QPoint) -> None:
    send_mouse(canvas, QEvent.Type.MouseMove, where)


def click(canvas, where: QPoint, button=Qt.MouseButton.LeftButton) -> None:
    move(canvas, where)
    send_mouse(canvas, QEvent.Type.MouseButtonPress, where, button)
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, where, button)


def double_click(canvas, where: QPoint) -> None:
    # What Qt delivers for a double click: press, release, double-click, release.
    click(canvas, where)
    send_mouse(canvas, QEvent.Type.MouseButtonDblClick, where)
    send_mouse(canvas, QEvent.Type.MouseButtonRelease, where)


def key(canvas, qt_key) -> None:
    QApplication.sendEvent(canvas, QKeyEvent(QEvent.Type.KeyPress, qt_key, Qt.KeyboardModifier.NoModifier))
