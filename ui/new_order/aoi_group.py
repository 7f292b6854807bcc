"""Step 1 of the New order tab: the area of interest, drawn on the map or taken from selected features."""

from __future__ import annotations

from typing import Dict, Optional

from qgis.core import QgsCoordinateReferenceSystem, QgsCoordinateTransform, QgsGeometry, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import QGridLayout, QGroupBox, QLabel, QPushButton, QSizePolicy, QToolButton, QWidget

from ...core.aoi import DEFAULT_MAX_SQKM, Aoi, AoiError, aoi_from_selection
from ..shared.map_tools import KIND_POINT, KIND_POLYGON, KIND_STRIP, TOOL_CLASSES, AoiMapTool, FootprintPreview
from .fields import ERROR_STYLE, MUTED_STYLE, FieldErrors

NO_AOI = "No AOI yet: draw one on the map or use a selected feature."

TOOL_SPECS = (
    (KIND_POINT, "&Point", "Click the map once: the service images the 5 × 5 km square around the point."),
    (KIND_STRIP, "&Strip", "Click the start and the end: a strip 5 km wide and 6–100 km long. "
                           "Esc cancels, Backspace removes the start."),
    (KIND_POLYGON, "Pol&ygon", "Click the corners; right-click, double-click or Enter closes it. "
                               "Backspace removes the last corner, Esc cancels. Flexible orders only."),
)

DRAWING_HINTS = {
    KIND_POINT: "Click the map where the point should be.",
    KIND_STRIP: "Click the strip's start, then its end (Esc cancels).",
    KIND_POLYGON: "Click the corners; right-click or double-click closes (Backspace undoes, Esc cancels).",
}


class AoiGroup(QGroupBox):
    """The drawing tools, "Use selected feature", the AOI's summary and its footprint on the canvas."""

    aoiChanged = pyqtSignal()  # noqa: N815 - a new AOI, an invalid one, or none
    problem = pyqtSignal(str)  # a message for the geometry row (e.g. nothing selected); the AOI stays

    def __init__(self, iface, errors: FieldErrors, parent: Optional[QWidget] = None,
                 max_sqkm: Optional[float] = DEFAULT_MAX_SQKM):
        super().__init__("1. Area of interest", parent)
        self.setObjectName("aoiGroup")
        self.iface = iface
        self.canvas = iface.mapCanvas()
        self.max_sqkm = max_sqkm
        self.aoi: Optional[Aoi] = None
        self.aoi_error: Optional[AoiError] = None
        self._drawn: Optional[tuple] = None  # the last drawn (geometry, crs), checked again on a new limit
        # Map tools and footprints put items on the canvas, so they are made when first needed.
        self._footprint: Optional[FootprintPreview] = None
        self.tools: Dict[str, AoiMapTool] = {}
        self._previous_tool = None
        self._build(errors)
        self.canvas.mapToolSet.connect(self._map_tool_changed)

    def _build(self, errors: FieldErrors) -> None:
        grid = QGridLayout(self)
        self.tool_buttons: Dict[str, QToolButton] = {}
        for column, (kind, text, tip) in enumerate(TOOL_SPECS):
            button = QToolButton(self)
            button.setObjectName(f"{kind}ToolButton")
            button.setText(text)
            button.setToolTip(tip)
            button.setCheckable(True)
            button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
            button.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            button.clicked.connect(lambda checked, k=kind: self.activate_tool(k) if checked else self.deactivate_tool())
            grid.addWidget(button, 0, column)
            self.tool_buttons[kind] = button
        self.selected_button = QPushButton("Use selected &feature", self)
        self.selected_button.setObjectName("useSelectedButton")
        self.selected_button.setToolTip("Order the selected feature of the active layer (any CRS): a point, a "
                                        "two-point line or a polygon. Several polygons that touch or overlap "
                                        "are merged into one area.")
        self.selected_button.clicked.connect(self.use_selected_features)
        grid.addWidget(self.selected_button, 1, 0, 1, 2)
        self.clear_aoi_button = QPushButton("Clear", self)
        self.clear_aoi_button.setObjectName("clearAoiButton")
        self.clear_aoi_button.setToolTip("Forget the AOI and remove its footprint from the map")
        self.clear_aoi_button.clicked.connect(self.clear_aoi)
        grid.addWidget(self.clear_aoi_button, 1, 2)
        self.aoi_summary = QLabel(NO_AOI, self)
        self.aoi_summary.setObjectName("aoiSummary")
        self.aoi_summary.setWordWrap(True)
        grid.addWidget(self.aoi_summary, 2, 0, 1, 3)
        self.drawing_status = QLabel(self)
        self.drawing_status.setObjectName("drawingStatus")
        self.drawing_status.setWordWrap(True)
        self.drawing_status.setStyleSheet(MUTED_STYLE)
        self.drawing_status.setVisible(False)
        grid.addWidget(self.drawing_status, 3, 0, 1, 3)
        grid.addWidget(errors.label(self, "geometry"), 4, 0, 1, 3)

    def allow_polygons(self, allowed: bool) -> None:
        self.tool_buttons[KIND_POLYGON].setEnabled(allowed)

    @property
    def footprint(self) -> FootprintPreview:
        """The chosen AOI's footprint on the canvas."""
        if self._footprint is None:
            self._footprint = FootprintPreview(self.canvas, self.max_sqkm)
        return self._footprint

    def set_max_sqkm(self, max_sqkm: Optional[float]) -> None:
        """Use the contract's area limit once the service has told it (None: unknown); the current AOI is
        checked again against it, so a limit read after drawing still counts."""
        self.max_sqkm = max_sqkm
        for owner in [*self.tools.values(), self._footprint]:
            preview = getattr(owner, "preview", owner)
            if preview is not None:
                preview.max_sqkm = max_sqkm
        # Checked again only when the new limit can change the verdict: an AOI within it stays as it is
        # (re-setting it would clear the imaging windows found and restart the quote for nothing).
        within = self.aoi is not None and max_sqkm is not None and self.aoi.tasked_sqkm <= max_sqkm
        if self._drawn is not None and not within:
            self.set_aoi_geometry(*self._drawn)

    def tool(self, kind: str) -> AoiMapTool:
        """The drawing tool of a kind (point, strip, polygon), made on first use."""
        if kind not in self.tools:
            tool = TOOL_CLASSES[kind](self.canvas, self.max_sqkm)
            tool.aoiDrawn.connect(self.set_aoi_geometry)
            tool.previewChanged.connect(self._show_drawing_preview)
            tool.cancelled.connect(self.deactivate_tool)
            self.tools[kind] = tool
        return self.tools[kind]

    def activate_tool(self, kind: str) -> None:
        tool = self.tool(kind)
        current = self.canvas.mapTool()
        if current not in self.tools.values():
            self._previous_tool = current
        self.canvas.setMapTool(tool)
        self.canvas.setFocus()
        self.drawing_status.setText(DRAWING_HINTS[kind])
        self.drawing_status.setVisible(True)

    def deactivate_tool(self) -> None:
        current = self.canvas.mapTool()
        if current in self.tools.values():
            if self._previous_tool is not None and self._previous_tool not in self.tools.values():
                self.canvas.setMapTool(self._previous_tool)
            else:
                self.canvas.unsetMapTool(current)
        self.drawing_status.setVisible(False)

    def _map_tool_changed(self, new_tool, _old_tool=None) -> None:
        for kind, button in self.tool_buttons.items():
            button.setChecked(new_tool is not None and new_tool is self.tools.get(kind))
        if new_tool not in self.tools.values():
            self.drawing_status.setVisible(False)

    def _show_drawing_preview(self, text: str, valid: bool) -> None:
        self.drawing_status.setText(("Drawing: " if valid else "") + text)
        self.drawing_status.setStyleSheet(MUTED_STYLE if valid else ERROR_STYLE)
        self.drawing_status.setVisible(True)

    def set_aoi_geometry(self, geometry: QgsGeometry, crs: QgsCoordinateReferenceSystem) -> None:
        """Use a geometry drawn (or selected) in `crs` as the AOI; an invalid one is shown red with the reason."""
        self._drawn = (QgsGeometry(geometry), QgsCoordinateReferenceSystem(crs))
        self._set_result(self.footprint.show(geometry, crs))

    def _set_result(self, result) -> None:
        self.drawing_status.setVisible(False)
        self.drawing_status.setStyleSheet(MUTED_STYLE)
        if isinstance(result, Aoi):
            self.aoi, self.aoi_error = result, None
            # What the plugin changed in the shape (e.g. filled sliver holes) is said, never done silently.
            self.aoi_summary.setText(" ".join((result.summary(), *result.repairs)))
        else:
            self.aoi, self.aoi_error = None, result
            self.aoi_summary.setText("The AOI cannot be ordered (see below); nothing is sent until it is fixed.")
        self.aoiChanged.emit()

    def clear_aoi(self) -> None:
        self.aoi = self.aoi_error = self._drawn = None
        if self._footprint is not None:
            self._footprint.clear()
        self.aoi_summary.setText(NO_AOI)
        self.aoiChanged.emit()

    def use_selected_features(self) -> None:
        layer = self.iface.activeLayer()
        if not isinstance(layer, QgsVectorLayer):
            self.problem.emit("Choose a vector layer in the Layers panel and select the feature to order.")
            return
        self._drawn = None
        selection = aoi_from_selection(layer, max_sqkm=self.max_sqkm)
        if selection is None:
            self.problem.emit(f"No feature of “{layer.name()}” is selected: select the one to order "
                              "(Select Features tool), then try again.")
            return
        result, geometry = selection.result, selection.geometry
        self.footprint.show_result(result, geometry, layer.crs())
        if self.footprint.label.text and isinstance(result, AoiError) and geometry is not None:
            # Label the invalid feature where it is, in the canvas CRS.
            self.footprint.label.set_label(self.footprint.label.text, self._canvas_point(geometry, layer.crs()), False)
        self._set_result(result)
        if selection.merged:
            self.aoi_summary.setText(f"{len(selection.feature_ids)} selected polygons merged into one area. "
                                     + result.summary())

    def _canvas_point(self, geometry: QgsGeometry, crs: QgsCoordinateReferenceSystem):
        centre = geometry.boundingBox().center()
        try:
            transform = QgsCoordinateTransform(crs, self.canvas.mapSettings().destinationCrs(), QgsProject.instance())
            return transform.transform(centre)
        except Exception:  # noqa: BLE001 - only a label position
            return centre

    def shutdown(self) -> None:
        """Release the map tools and take the footprints off the canvas."""
        self.deactivate_tool()
        try:
            self.canvas.mapToolSet.disconnect(self._map_tool_changed)
        except (TypeError, RuntimeError):
            pass
        for tool in self.tools.values():
            tool.remove_items()
        if self._footprint is not None:
            self._footprint.remove()
