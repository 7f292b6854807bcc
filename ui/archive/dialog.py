"""The "Order imagery" dialog: what to order, bundle, clip and tools, delivery; placed once, followed to the map."""

from __future__ import annotations

import html
from datetime import datetime, timezone
from typing import Any, List, Optional, Sequence, Tuple

from qgis.core import Qgis, QgsCoordinateReferenceSystem, QgsGeometry, QgsVectorLayer
from qgis.gui import QgsCollapsibleGroupBox, QgsMapLayerComboBox, QgsProjectionSelectionWidget
from qgis.PyQt.QtCore import Qt, QTimer
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core import compat
from ...core.aoi import AoiError, aoi_from_selection
from ...core.app.archive import download_error_text
from ...core.errors import ValidationError
from ...core.log import get_logger
from ...core.services.planet_orders import credentials
from ...core.services.planet_orders.forms import (
    CAPTURE_ITEM_TYPE,
    FILE_FORMATS,
    ITEM_TYPE_BUNDLES,
    ITEM_TYPES,
    MOSAICS,
    basemap_request,
    clip_geojson,
    item_ids_from_text,
    other_tools,
    scenes_request,
    with_options,
)
from ..bulk.messages import push_message
from .delivery_group import DeliveryGroup
from .fields import ERROR_STYLE, FieldErrors, PageStack, error_label
from .sources import PublishedCapture

_log = get_logger("archive_dialog")

CAPTURES, ITEM_IDS, BASEMAP = "captures", "item_ids", "basemap"
NO_CLIP, CLIP_TASKING, CLIP_LAYER = "none", "tasking", "layer"
WGS84 = "EPSG:4326"


def polygon_layer_combo(parent: QWidget, name: str, tip: str) -> QgsMapLayerComboBox:
    combo = QgsMapLayerComboBox(parent)
    combo.setObjectName(name)
    combo.setFilters(compat.vector_layer_filter(points=False, lines=False))
    combo.setAllowEmptyLayer(True)
    combo.setToolTip(tip)
    return combo


def selection_geometry(combo: QgsMapLayerComboBox, field: str, what: str) -> Tuple[QgsGeometry, Any]:
    """The merged selected polygons of the combo's layer and its CRS; ValidationError at `field` otherwise."""
    layer = combo.currentLayer()
    if not isinstance(layer, QgsVectorLayer):
        raise ValidationError("no layer", field_errors={field: [f"Choose the polygon layer whose selected features {what}."]})
    selection = aoi_from_selection(layer, max_sqkm=None)
    if selection is None:
        raise ValidationError("no selection", field_errors={
            field: [f"Select the features of “{layer.name()}” that {what} (none is selected)."]})
    if isinstance(selection.result, AoiError):
        raise ValidationError("bad selection", field_errors={field: [selection.result.message]})
    return selection.geometry, layer.crs()


class OrderImageryDialog(QDialog):
    """Non-modal: order archive imagery through an ArchiveWorkflow and follow it (stage, progress, Cancel).

    `captures` are the published captures to order (empty: typed item ids); `tasking_aoi` their tasking
    order's area (EPSG:4326) for "clip to the tasking AOI"; `skipped` how many selected captures were not
    published. The workflow's order_and_fetch is called at most once per placement.
    """

    def __init__(self, workflow: Any, iface: Any = None, parent: Optional[QWidget] = None,
                 captures: Sequence[PublishedCapture] = (), tasking_aoi: Optional[QgsGeometry] = None,
                 skipped: int = 0):
        super().__init__(parent)
        self.setObjectName("orderImageryDialog")
        self.setWindowTitle("Order imagery")
        self.setModal(False)
        self.workflow = workflow
        self.iface = iface
        self.captures: List[PublishedCapture] = []
        self.tasking_aoi: Optional[QgsGeometry] = None
        self.placing = False
        self.download_folder: Optional[str] = None  # where the order being followed is downloaded to
        self.last_order: Any = None
        self.loaded_layers: List[Any] = []

        outer = QVBoxLayout(self)
        self.scroll = QScrollArea(self)
        self.scroll.setWidgetResizable(True)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        body = QWidget(self.scroll)
        layout = QVBoxLayout(body)
        layout.setContentsMargins(0, 0, 4, 0)
        self.errors = FieldErrors(self.scroll)

        name_form = QFormLayout()
        self.name_edit = QLineEdit(body)
        self.name_edit.setObjectName("orderNameEdit")
        self.name_edit.setToolTip("The order's name, as the orders list and Planet show it.")
        name_form.addRow("Name", self.name_edit)
        name_error = error_label(body, "nameError")
        name_form.addRow(name_error)
        self.errors.add(["name"], self.name_edit, name_error)
        layout.addLayout(name_form)

        layout.addWidget(self._source_group(body))
        layout.addWidget(self._product_group(body))
        layout.addWidget(self._tools_group(body))
        self.delivery = DeliveryGroup(self.errors, body)
        self.delivery.setObjectName("deliveryGroup")
        layout.addWidget(self.delivery)
        layout.addStretch(1)
        self.scroll.setWidget(body)
        outer.addWidget(self.scroll, 1)

        self.message_label = QLabel(self)
        self.message_label.setObjectName("messageLabel")
        self.message_label.setWordWrap(True)
        self.message_label.setVisible(False)
        self.message_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.errors.set_fallback(self.message_label)
        outer.addWidget(self.message_label)
        self.stage_label = QLabel(self)
        self.stage_label.setObjectName("stageLabel")
        self.stage_label.setWordWrap(True)
        self.stage_label.setVisible(False)
        outer.addWidget(self.stage_label)
        self.progress_bar = QProgressBar(self)
        self.progress_bar.setObjectName("progressBar")
        self.progress_bar.setRange(0, 100)
        self.progress_bar.setToolTip("How far the order has come: placed, processed by Planet, downloaded, loaded.")
        self.progress_bar.setVisible(False)
        outer.addWidget(self.progress_bar)

        buttons = QHBoxLayout()
        self.order_button = QPushButton("Order…", self)
        self.order_button.setObjectName("orderButton")
        self.order_button.setDefault(True)
        self.order_button.setToolTip("Check the form, say what will be ordered and ask to confirm, then place "
                                     "the order once and follow it until its imagery is on the map.")
        self.cancel_button = QPushButton("Cancel order", self)
        self.cancel_button.setObjectName("cancelButton")
        self.cancel_button.setToolTip("Stop here: Planet goes on with a placed order (cancel it from the Orders tab "
                                      "while it is queued); a stopped download resumes where it stopped when the "
                                      "same order is asked for again.")
        self.cancel_button.setEnabled(False)
        self.close_button = QPushButton("Close", self)
        self.close_button.setObjectName("closeButton")
        self.close_button.setToolTip("Close this window; an order under way goes on, and its imagery still "
                                     "comes to the map.")
        buttons.addWidget(self.order_button)
        buttons.addWidget(self.cancel_button)
        buttons.addStretch(1)
        buttons.addWidget(self.close_button)
        outer.addLayout(buttons)

        self.order_button.clicked.connect(self.place)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        for signal, slot in ((workflow.stage, self._stage), (workflow.progress, self._progress),
                             (workflow.placed, self._placed), (workflow.delivered, self._delivered),
                             (workflow.loaded, self._loaded), (workflow.failed, self._failed),
                             (workflow.cancelled, self._cancelled)):
            signal.connect(slot)
        # An order delivered to the cloud or hosted ends when Planet has finished it: no delivered/loaded follows.
        if hasattr(workflow, "finished"):
            workflow.finished.connect(self._finished)
        if hasattr(workflow, "busyChanged"):
            workflow.busyChanged.connect(self._busy_changed)
        self._fit_narrow()
        self.resize(460, 640)
        self.set_captures(captures, tasking_aoi, skipped)

    # --- building the form ----------------------------------------------------------------------------------

    def _fit_narrow(self) -> None:
        """Fit 400 px: a label too long for its row goes above its field, and combos size to a short text
        rather than their longest item (a mosaic or layer name shows whole in the open list)."""
        for form in self.findChildren(QFormLayout):
            form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
            form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        for combo in self.findChildren(QComboBox):
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(12)

    def _source_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("What to order", parent)
        layout = QVBoxLayout(group)
        self.source_combo = QComboBox(group)
        self.source_combo.setObjectName("sourceCombo")
        self.source_combo.setToolTip("Order the imagery of published tasking captures, of archive items by id, "
                                     "or a basemap mosaic.")
        self.source_combo.addItem("Selected captures", CAPTURES)
        self.source_combo.addItem("Item ids", ITEM_IDS)
        self.source_combo.addItem("Basemap mosaic", BASEMAP)
        layout.addWidget(self.source_combo)
        self.source_stack = PageStack(group)
        layout.addWidget(self.source_stack)

        page = QWidget(self.source_stack)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.captures_label = QLabel(page)
        self.captures_label.setObjectName("capturesLabel")
        self.captures_label.setWordWrap(True)
        self.captures_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.captures_label.setToolTip("The strip ids of the published captures selected in the Captures layer or "
                                       "the order's details; each is one archive item.")
        form.addRow(self.captures_label)
        self.capture_type_combo = QComboBox(page)
        self.capture_type_combo.setObjectName("captureItemTypeCombo")
        self.capture_type_combo.addItems([CAPTURE_ITEM_TYPE] + [t for t in ITEM_TYPES if t.startswith("SkySat") and t != CAPTURE_ITEM_TYPE])
        self.capture_type_combo.setToolTip("A tasking capture is ordered as a SkySat collect (the whole strip, "
                                           "orthorectified) or as its scenes.")
        form.addRow("Item type", self.capture_type_combo)
        captures_error = error_label(page, "capturesError")
        form.addRow(captures_error)
        self.source_stack.addWidget(page)

        page = QWidget(self.source_stack)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.item_ids_edit = QPlainTextEdit(page)
        self.item_ids_edit.setObjectName("itemIdsEdit")
        self.item_ids_edit.setPlaceholderText("20220304_093300_37_2430\n20220305_093440_25_2429")
        self.item_ids_edit.setToolTip("Archive item ids, one per line or separated by commas or spaces "
                                      "(e.g. copied from Planet Explorer).")
        self.item_ids_edit.setMaximumHeight(80)
        form.addRow(self.item_ids_edit)
        self.item_type_combo = QComboBox(page)
        self.item_type_combo.setObjectName("itemTypeCombo")
        self.item_type_combo.addItems(list(ITEM_TYPES))
        self.item_type_combo.setToolTip("The item type of all the ids above (one order, one item type).")
        form.addRow("Item type", self.item_type_combo)
        ids_error = error_label(page, "itemIdsError")
        form.addRow(ids_error)
        self.source_stack.addWidget(page)

        page = QWidget(self.source_stack)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.mosaic_combo = QComboBox(page)
        self.mosaic_combo.setObjectName("mosaicCombo")
        self.mosaic_combo.setEditable(True)
        self.mosaic_combo.addItems(list(MOSAICS))
        self.mosaic_combo.setToolTip("The basemap mosaic's name, e.g. global_monthly_2022_01_mosaic.")
        form.addRow("Mosaic", self.mosaic_combo)
        self.quads_radio = QRadioButton("Quads", page)
        self.quads_radio.setObjectName("quadsRadio")
        self.quads_radio.setChecked(True)
        self.quads_radio.setToolTip("Order these quads of the mosaic.")
        self.quads_edit = QLineEdit(page)
        self.quads_edit.setObjectName("quadsEdit")
        self.quads_edit.setPlaceholderText("1050-1374, 1050-1375")
        self.quads_edit.setToolTip("Quad ids, \"column-row\", separated by commas or spaces.")
        form.addRow(self.quads_radio, self.quads_edit)
        self.area_radio = QRadioButton("Area", page)
        self.area_radio.setObjectName("areaRadio")
        self.area_radio.setToolTip("Order the quads covering the selected features of a polygon layer.")
        self.area_layer_combo = polygon_layer_combo(page, "areaLayerCombo", "The polygon layer whose selected "
                                                    "features outline the basemap area (any CRS).")
        form.addRow(self.area_radio, self.area_layer_combo)
        basemap_error = error_label(page, "basemapError")
        form.addRow(basemap_error)
        self.source_stack.addWidget(page)

        self.errors.add(["captures"], self.captures_label, captures_error)
        self.errors.add(["item_ids", "item_type"], self.item_ids_edit, ids_error)
        self.errors.add(["mosaic_name", "quad_ids", "area"], self.quads_edit, basemap_error)
        self.source_combo.currentIndexChanged.connect(self._source_changed)
        self.item_type_combo.currentIndexChanged.connect(self._fill_bundles)
        self.capture_type_combo.currentIndexChanged.connect(self._fill_bundles)
        return group

    def _product_group(self, parent: QWidget) -> QGroupBox:
        group = QGroupBox("Product", parent)
        form = QFormLayout(group)
        self.bundle_combo = QComboBox(group)
        self.bundle_combo.setObjectName("bundleCombo")
        self.bundle_combo.setToolTip("The product bundle: visual is true-colour RGB ready to look at; analytic "
                                     "bundles carry the radiance (or surface reflectance, _sr) bands and the "
                                     "usable-data mask (udm2).")
        form.addRow("Bundle", self.bundle_combo)
        bundle_error = error_label(group, "bundleError")
        form.addRow(bundle_error)
        self.errors.add(["product_bundle"], self.bundle_combo, bundle_error)

        self.clip_combo = QComboBox(group)
        self.clip_combo.setObjectName("clipCombo")
        self.clip_combo.setToolTip("Clip the imagery to an area: smaller files, and only what you need. An "
                                   "area that misses every item is refused before anything is sent.")
        self.clip_combo.addItem("No clip (whole items)", NO_CLIP)
        self.clip_combo.addItem("The tasking order's area", CLIP_TASKING)
        self.clip_combo.addItem("Selected features of a layer", CLIP_LAYER)
        form.addRow("Clip to", self.clip_combo)
        self.clip_layer_combo = polygon_layer_combo(group, "clipLayerCombo", "The polygon layer whose selected "
                                                    "features (merged, in any CRS) the imagery is clipped to.")
        form.addRow("Layer", self.clip_layer_combo)
        clip_error = error_label(group, "clipError")
        form.addRow(clip_error)
        self.errors.add(["clip"], self.clip_combo, clip_error)
        self.clip_combo.currentIndexChanged.connect(self._clip_changed)
        return group

    def _tools_group(self, parent: QWidget) -> QgsCollapsibleGroupBox:
        group = QgsCollapsibleGroupBox("More tools", parent)
        group.setObjectName("toolsGroup")
        group.setCollapsed(True)
        group.setToolTip("Processing Planet applies before delivery, besides the clip.")
        form = QFormLayout(group)
        self.composite_check = QCheckBox("Composite into one raster", group)
        self.composite_check.setObjectName("compositeCheck")
        self.composite_check.setToolTip("Merge all items into one image (composite tool).")
        form.addRow(self.composite_check)
        self.harmonize_check = QCheckBox("Harmonize to Sentinel-2", group)
        self.harmonize_check.setObjectName("harmonizeCheck")
        self.harmonize_check.setToolTip("Radiometrically harmonize the bands to Sentinel-2 (harmonize tool).")
        form.addRow(self.harmonize_check)
        self.toar_check = QCheckBox("Reflectance (TOAR) ×", group)
        self.toar_check.setObjectName("toarCheck")
        self.toar_check.setToolTip("Convert analytic radiance to reflectance (toar tool), multiplied by the scale.")
        self.toar_spin = QSpinBox(group)
        self.toar_spin.setObjectName("toarSpin")
        self.toar_spin.setRange(1, 100000)
        self.toar_spin.setValue(10000)
        self.toar_spin.setToolTip("Reflectance is stored as an integer times this factor (Planet's default 10000).")
        form.addRow(self.toar_check, self.toar_spin)
        self.reproject_check = QCheckBox("Reproject to", group)
        self.reproject_check.setObjectName("reprojectCheck")
        self.reproject_check.setToolTip("Reproject the imagery to this coordinate reference system (reproject tool).")
        self.reproject_widget = QgsProjectionSelectionWidget(group)
        self.reproject_widget.setObjectName("reprojectWidget")
        self.reproject_widget.setCrs(QgsCoordinateReferenceSystem(WGS84))
        self.reproject_widget.setToolTip("The CRS to reproject to (an EPSG code).")
        form.addRow(self.reproject_check)
        form.addRow(self.reproject_widget)
        self.format_combo = QComboBox(group)
        self.format_combo.setObjectName("fileFormatCombo")
        self.format_combo.addItem("GeoTIFF (unchanged)", None)
        for file_format in FILE_FORMATS:
            self.format_combo.addItem("Cloud-optimized GeoTIFF" if file_format == "COG" else "NITF", file_format)
        self.format_combo.setToolTip("The raster file format (file_format tool).")
        form.addRow("File format", self.format_combo)
        self.anchor_edit = QLineEdit(group)
        self.anchor_edit.setObjectName("anchorEdit")
        self.anchor_edit.setPlaceholderText("optional item id")
        self.anchor_edit.setToolTip("Co-register the items to this item (coregister tool); empty: no co-registration.")
        form.addRow("Co-register to", self.anchor_edit)
        # a parameter is editable only while its tool is chosen
        for check, editor in ((self.toar_check, self.toar_spin), (self.reproject_check, self.reproject_widget)):
            editor.setEnabled(False)
            check.toggled.connect(editor.setEnabled)
        tools_error = error_label(group, "toolsError")
        form.addRow(tools_error)
        self.errors.add(["reproject", "file_format", "toar", "coregister", "composite", "harmonize"],
                        group, tools_error)
        self.tools_group = group
        return group

    # --- the source -----------------------------------------------------------------------------------------

    def set_captures(self, captures: Sequence[PublishedCapture], tasking_aoi: Optional[QgsGeometry] = None,
                     skipped: int = 0) -> None:
        """Order these published captures (the selection changed, or the dialog is opened again)."""
        self.captures = list(captures)
        self.tasking_aoi = tasking_aoi
        ids = [c.strip_id for c in self.captures]
        if ids:
            shown = ", ".join(ids[:6]) + (f" and {len(ids) - 6} more" if len(ids) > 6 else "")
            text = f"{len(ids)} published capture{'s' if len(ids) != 1 else ''}: {shown}"
        else:
            text = "No published capture is selected."
        if skipped:
            text += f" ({skipped} selected not published yet, left out)"
        self.captures_label.setText(text)
        self.source_combo.setItemText(0, f"Selected captures ({len(ids)})")
        self.source_combo.setCurrentIndex(0 if ids or not self.item_ids_edit.toPlainText().strip() else 1)
        if ids and not self.name_edit.text().strip():
            self.name_edit.setText(f"Imagery of {ids[0]}" + (f" and {len(ids) - 1} more" if len(ids) > 1 else ""))
            self.name_edit.setCursorPosition(0)
        elif not self.name_edit.text().strip():
            self.name_edit.setText(f"Archive imagery {datetime.now(timezone.utc):%Y-%m-%d %H:%M}")
        self._source_changed()
        if ids and tasking_aoi is not None:
            self.clip_combo.setCurrentIndex(self.clip_combo.findData(CLIP_TASKING))

    def source(self) -> str:
        return self.source_combo.currentData()

    def item_type(self) -> str:
        return self.capture_type_combo.currentText() if self.source() == CAPTURES else self.item_type_combo.currentText()

    def _source_changed(self, *_: Any) -> None:
        self.source_stack.setCurrentIndex(self.source_combo.currentIndex())
        self.bundle_combo.setEnabled(self.source() != BASEMAP)
        tasking = self.clip_combo.model().item(self.clip_combo.findData(CLIP_TASKING))
        can_clip_tasking = self.source() == CAPTURES and self.tasking_aoi is not None
        tasking.setEnabled(can_clip_tasking)
        tasking.setToolTip("" if can_clip_tasking else "Only for captures whose tasking order's area is known.")
        if not can_clip_tasking and self.clip_combo.currentData() == CLIP_TASKING:
            self.clip_combo.setCurrentIndex(self.clip_combo.findData(NO_CLIP))
        self._fill_bundles()
        self._clip_changed()

    def _fill_bundles(self, *_: Any) -> None:
        current = self.bundle_combo.currentText()
        bundles = ITEM_TYPE_BUNDLES.get(self.item_type(), ())
        self.bundle_combo.blockSignals(True)
        self.bundle_combo.clear()
        self.bundle_combo.addItems(list(bundles))
        preferred = current if current in bundles else ("visual" if self.source() == CAPTURES else "analytic_udm2")
        self.bundle_combo.setCurrentIndex(max(0, self.bundle_combo.findText(preferred)))
        self.bundle_combo.blockSignals(False)

    def _clip_changed(self, *_: Any) -> None:
        self.clip_layer_combo.setEnabled(self.clip_combo.currentData() == CLIP_LAYER)

    # --- the request ----------------------------------------------------------------------------------------

    def _clip(self) -> Optional[dict]:
        choice = self.clip_combo.currentData()
        if choice == NO_CLIP:
            return None
        footprints = [c.footprint for c in self.captures if c.footprint is not None] if self.source() == CAPTURES else []
        if choice == CLIP_TASKING:
            if self.tasking_aoi is None:
                raise ValidationError("no AOI", field_errors={"clip": ["The tasking order's area is not known here."]})
            return clip_geojson(self.tasking_aoi, WGS84, footprints)
        geometry, crs = selection_geometry(self.clip_layer_combo, "clip", "the imagery is clipped to")
        return clip_geojson(geometry, crs, footprints)

    def _tools(self) -> Tuple[dict, ...]:
        projection = None
        if self.reproject_check.isChecked():
            crs = self.reproject_widget.crs()
            projection = crs.authid() if crs.isValid() else ""
        return other_tools(composite=self.composite_check.isChecked(), harmonize=self.harmonize_check.isChecked(),
                           toar_scale=self.toar_spin.value() if self.toar_check.isChecked() else None,
                           reproject=projection, file_format=self.format_combo.currentData(),
                           coregister_anchor=self.anchor_edit.text() if self.anchor_edit.text().strip() else None)

    def build_request(self) -> Tuple[Any, Optional[str], str]:
        """(the OrderRequest, the folder to download into or None, what it is in words); ValidationError with
        every problem found, keyed by field, so each shows at its control."""
        problems: dict = {}

        def attempt(call):
            try:
                return call()
            except ValidationError as error:
                for key, messages in error.field_errors.items():
                    problems.setdefault(key, list(messages))
                return None

        name = self.name_edit.text()
        source = self.source()
        if source == CAPTURES and not self.captures:
            problems["captures"] = ["Select at least one published capture in the Captures layer or in an order's "
                                    "details (captures still processing have no imagery yet), or order by item id."]
        clip = attempt(self._clip)
        tools = attempt(self._tools)
        choice = attempt(self.delivery.choice)
        request = None
        if source == BASEMAP:
            quads: List[str] = []
            geometry = None
            if self.quads_radio.isChecked():
                quads = item_ids_from_text(self.quads_edit.text())
                if not quads:
                    problems.setdefault("quad_ids", ["Type the quad ids to order (\"column-row\", e.g. 1050-1374)."])
            else:
                area = attempt(lambda: selection_geometry(self.area_layer_combo, "area", "outline the basemap area"))
                if area is not None:
                    geometry = attempt(lambda: clip_geojson(area[0], area[1]))
                    if geometry is None and "clip" in problems and "area" not in problems:
                        problems["area"] = [m.replace("clip area", "basemap area") for m in problems.pop("clip")]
            if "quad_ids" not in problems and "area" not in problems:
                request = attempt(lambda: basemap_request(name, self.mosaic_combo.currentText().strip(),
                                                          quad_ids=quads, geometry=geometry, clip=clip))
            what = f"{len(quads)} quad(s) of {self.mosaic_combo.currentText()}" if quads else \
                f"the basemap {self.mosaic_combo.currentText()} over the selected area"
        else:
            ids = [c.strip_id for c in self.captures] if source == CAPTURES else \
                item_ids_from_text(self.item_ids_edit.toPlainText())
            if source == CAPTURES and not ids:
                ids = ["-"]  # the selection's error is said already; the rest of the form is still checked
            request = attempt(lambda: scenes_request(name, ids, item_type=self.item_type(),
                                                     product_bundle=self.bundle_combo.currentText(), clip=clip))
            what = f"{len([i for i in ids if i != '-'])} {self.item_type()} item(s) as {self.bundle_combo.currentText()}"
        if source == CAPTURES and not self.captures:
            problems.pop("item_ids", None)
        if problems or request is None or choice is None or tools is None:
            raise ValidationError("The form has errors.", field_errors=problems or {"name": ["Check the form."]})
        full = attempt(lambda: with_options(request, tools=tools, delivery=choice.delivery, hosting=choice.hosting,
                                            notifications=choice.notifications))
        if full is None:
            raise ValidationError("The form has errors.", field_errors=problems)
        clipped = {NO_CLIP: "", CLIP_TASKING: ", clipped to the tasking order's area",
                   CLIP_LAYER: ", clipped to the selected features"}[self.clip_combo.currentData()]
        tool_names = [next(iter(t)) for t in tools]
        described = f"{what}{clipped}" + (f", with {', '.join(tool_names)}" if tool_names else "")
        return full, choice.folder, f"{described}, {choice.description}"

    # --- placing and following ------------------------------------------------------------------------------

    def confirm(self, text: str) -> bool:
        """Ask before placing (tests replace this)."""
        answer = QMessageBox.question(self, "Order imagery", text,
                                      QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                                      QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def place(self) -> bool:
        """Check the form, confirm, then hand the request to the workflow, once; whether it was handed over."""
        if self.placing or self.workflow.busy():
            return False
        self.order_button.setEnabled(False)  # a second click of a double-click lands on a disabled button
        try:
            return self._place()
        finally:
            if not self.placing:
                self.order_button.setEnabled(True)

    def _place(self) -> bool:
        self.errors.clear()
        self._say("")
        try:
            request, folder, described = self.build_request()
        except ValidationError as error:
            self.errors.show(error.field_errors)
            return False
        text = (f"Order “{request.name}”: {described}.\n\nPlanet charges archive orders to your account's quota.")
        if not self.confirm(text):
            return False
        try:
            self.delivery.keep_credentials()
        except credentials.CredentialsUnavailable as error:
            self._say(f"{error} The order was not placed.", error=True)
            return False
        self.delivery.remember_folder()
        self.placing = True
        self._show_running(True)
        self.stage_label.setText("Placing the order…")
        self.progress_bar.setValue(0)
        _log.info("Placing archive order %r (%s)", request.name, described)
        self.download_folder = folder
        self.workflow.order_and_fetch(request, folder)
        return True

    def cancel(self) -> None:
        if self.placing:
            self.cancel_button.setEnabled(False)
            self.stage_label.setText("Cancelling…")
            self.workflow.cancel()

    def _show_running(self, running: bool) -> None:
        self.order_button.setEnabled(not running)
        self.cancel_button.setEnabled(running)
        self.stage_label.setVisible(True)
        self.progress_bar.setVisible(running)

    def _finish(self) -> None:
        self.placing = False
        self._show_running(False)

    def _say(self, text: str, error: bool = False) -> None:
        self.message_label.setStyleSheet(ERROR_STYLE if error else "")
        self.message_label.setText(text)
        self.message_label.setVisible(bool(text))

    def _stage(self, text: str) -> None:
        self.stage_label.setVisible(True)
        self.stage_label.setText(text)

    def _progress(self, value: float) -> None:
        self.progress_bar.setValue(int(max(0.0, min(100.0, float(value)))))

    def _placed(self, order: Any) -> None:
        self.last_order = order
        self._say(f"Order “{html.escape(getattr(order, 'name', '') or '')}” placed ({getattr(order, 'id', '')}).")

    def _delivered(self, order: Any, report: Any) -> None:
        self.last_order = order
        files = getattr(report, "files", None)
        count = len(files) if isinstance(files, (list, tuple)) else None
        self._say(f"Order “{getattr(order, 'name', '')}” delivered" + (f": {count} file(s)." if count is not None else "."))
        if not self._still_busy():
            self._done(f"Order “{getattr(order, 'name', '')}” is {getattr(order, 'state', 'delivered')}.",
                       Qgis.MessageLevel.Success)

    def _loaded(self, order: Any, layers: list) -> None:
        self.loaded_layers = list(layers)
        self._done(f"The imagery of “{getattr(order, 'name', '')}” is on the map ({len(layers)} raster"
                   f"{'s' if len(layers) != 1 else ''}).", Qgis.MessageLevel.Success)

    def _finished(self, order: Any) -> None:
        self.last_order = order

    def _busy_changed(self, busy: bool) -> None:
        """The workflow stopped: unless failed, cancelled or loaded says more right after, say how the order ended."""
        if not busy and self.placing:
            QTimer.singleShot(0, self._ended_quietly)

    def _ended_quietly(self) -> None:
        if not self.placing or self._still_busy():
            return
        order = self.last_order
        state = getattr(order, "state", "")
        good = state in ("success", "partial")
        text = f"Order “{getattr(order, 'name', '')}” is {state or 'placed'}."
        if good and self.delivery.mode() != "download":
            text += " Planet delivered it to " + ("Sentinel Hub." if self.delivery.mode() == "sentinel_hub"
                                                  else "the cloud destination.")
        self._done(text, Qgis.MessageLevel.Success if good else Qgis.MessageLevel.Warning)

    def _failed(self, error: Any) -> None:
        text = download_error_text(error, self.download_folder or "")
        if isinstance(error, OSError):  # the order was placed; only writing its files failed
            text = f"Downloading the imagery failed: {text} Download is in the order's details in the Orders tab."
        self._finish()
        self.stage_label.setText("The order did not complete.")
        field_errors = getattr(error, "field_errors", None)
        if field_errors:
            self.errors.show(field_errors)  # e.g. the folder, at its field; the service's own at the message line
        self._say(text, error=True)
        push_message(self.iface, f"Order imagery: {text}", Qgis.MessageLevel.Critical, 0)

    def _cancelled(self) -> None:
        self._finish()
        self.stage_label.setText("Cancelled.")
        push_message(self.iface, "Order imagery cancelled.", Qgis.MessageLevel.Info, 5)

    def _done(self, text: str, level: int) -> None:
        self._finish()
        self.progress_bar.setValue(100)
        self.stage_label.setText("Done.")
        self._say(text)
        push_message(self.iface, text, level, 10)

    def _still_busy(self) -> bool:
        try:
            return bool(self.workflow.busy())
        except RuntimeError:
            return False
