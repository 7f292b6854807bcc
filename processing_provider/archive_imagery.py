"""Order archive imagery: captures or item ids ordered once from the Orders API, downloaded to a folder, loaded."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Tuple

from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeatureRequest,
    QgsGeometry,
    QgsJsonUtils,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputMultipleLayers,
    QgsProcessingOutputString,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterFolderDestination,
    QgsProcessingParameterString,
)

from ..core import rasters
from ..core.app.headless import ArchiveImageryOutcome, order_archive_imagery
from ..core.errors import Cancelled, ServiceError, ValidationError
from ..core.layers import python_value
from ..core.services import registry
from .common import (
    SERVICE_URL,
    TaskingAlgorithm,
    canceled_of,
    make_client,
    progress_of,
    service_failure,
    service_url_parameter,
)

ARCHIVE_SERVICE = "planet_orders"
TASKING_SERVICE = "planet_tasking"
CAPTURES = "CAPTURES"
ID_FIELD = "ID_FIELD"
ITEM_IDS = "ITEM_IDS"
ITEM_TYPE = "ITEM_TYPE"
PRODUCT_BUNDLE = "PRODUCT_BUNDLE"
CLIP = "CLIP"
CLIP_LAYER = "CLIP_LAYER"
NAME = "NAME"
OUTPUT_FOLDER = "OUTPUT_FOLDER"
FOOTPRINTS = "FOOTPRINTS"
RASTERS = "RASTERS"
ORDER_ID = "ORDER_ID"
ORDER_STATE = "ORDER_STATE"

NO_CLIP, CLIP_TASKING, CLIP_POLYGONS = 0, 1, 2
CLIP_CHOICES = ["No clip (whole items)", "The captures' tasking order areas", "A polygon layer"]
WGS84 = "EPSG:4326"
PUBLISHED = "PUBLISHED"
# How the order is followed: real sleeps in the Processing thread, first look soon, backing off.
POLL_SECONDS, MAX_POLL_SECONDS = 2.0, 30.0


@dataclass(frozen=True)
class _Items:
    """What the inputs order, read on the main thread: item ids, footprints (EPSG:4326) and tasking order ids."""

    ids: Tuple[str, ...]
    footprints: Tuple[QgsGeometry, ...]
    tasking_order_ids: Tuple[str, ...]


def _forms() -> Any:
    return registry.service(ARCHIVE_SERVICE).forms


def _refused(error: ValidationError) -> QgsProcessingException:
    """A form's refusal as Processing's error, naming the parameter (nothing was sent)."""
    parts = [f"{field}: {'; '.join(messages)}" for field, messages in (error.field_errors or {}).items()]
    return QgsProcessingException("Nothing was ordered. " + (" ".join(parts) or str(error)))


def geometry_from_geojson(value: Any) -> Optional[QgsGeometry]:
    """A GeoJSON geometry (dict) as a QgsGeometry (EPSG:4326), or None."""
    if not value:
        return None
    features = QgsJsonUtils.stringToFeatureList(json.dumps({"type": "Feature", "properties": {}, "geometry": value}))
    geometry = features[0].geometry() if features else None
    return None if geometry is None or geometry.isNull() or geometry.isEmpty() else geometry


class OrderArchiveImageryAlgorithm(TaskingAlgorithm):
    """core.app.headless.order_archive_imagery over the captures of a layer and/or typed item ids."""

    ID = "order_archive_imagery"
    NAME = "Order archive imagery"
    GROUP = "Archive imagery"
    GROUP_ID = "archive_imagery"

    def __init__(self) -> None:
        super().__init__()
        self.tasking_client: Any = None
        self.items: Optional[_Items] = None
        self.request: Any = None
        self.clip_choice = NO_CLIP
        self.name_text = ""
        self.item_type = ""
        self.bundle = ""
        self.folder = ""
        self.outcome: Optional[ArchiveImageryOutcome] = None

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802 - QGIS's name
        forms = _forms()
        self.item_types = list(forms.ITEM_TYPES)
        self.bundles = list(forms.BUNDLES)
        self.addParameter(QgsProcessingParameterFeatureSource(
            CAPTURES, "Captures (the Captures layer or any layer with an item id field)",
            [QgsProcessing.SourceType.TypeVectorAnyGeometry], optional=True))
        self.addParameter(QgsProcessingParameterField(ID_FIELD, "Item id field", defaultValue="strip_id",
                                                      parentLayerParameterName=CAPTURES, optional=True))
        self.addParameter(QgsProcessingParameterString(ITEM_IDS, "Item ids (comma, space or line separated)",
                                                       multiLine=True, optional=True))
        # Named by their values (PRODUCT_BUNDLE=visual), as Planet names them, rather than by a position.
        self.addParameter(QgsProcessingParameterEnum(ITEM_TYPE, "Item type", self.item_types,
                                                     defaultValue=forms.CAPTURE_ITEM_TYPE, usesStaticStrings=True))
        self.addParameter(QgsProcessingParameterEnum(PRODUCT_BUNDLE, "Product bundle", self.bundles,
                                                     defaultValue="visual", usesStaticStrings=True))
        self.addParameter(QgsProcessingParameterEnum(CLIP, "Clip", CLIP_CHOICES, defaultValue=NO_CLIP))
        self.addParameter(QgsProcessingParameterFeatureSource(
            CLIP_LAYER, "Clip layer (for Clip = A polygon layer)", [QgsProcessing.SourceType.TypeVectorPolygon],
            optional=True))
        self.addParameter(QgsProcessingParameterString(NAME, "Order name (empty: after the first item)",
                                                       optional=True))
        self.addParameter(service_url_parameter())
        self.addParameter(QgsProcessingParameterFolderDestination(OUTPUT_FOLDER, "Output folder"))
        self.addOutput(QgsProcessingOutputVectorLayer(FOOTPRINTS, "Footprints", QgsProcessing.SourceType.TypeVectorPolygon))
        self.addOutput(QgsProcessingOutputMultipleLayers(RASTERS, "Rasters"))
        self.addOutput(QgsProcessingOutputString(ORDER_ID, "Archive order id"))
        self.addOutput(QgsProcessingOutputString(ORDER_STATE, "Archive order state"))

    # -- main thread: read and check everything, send nothing ------------------------------------------

    def prepareAlgorithm(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> bool:  # noqa: N802
        forms = _forms()
        self.items = self._read_items(parameters, context, feedback)
        self.item_type = self.parameterAsEnumString(parameters, ITEM_TYPE, context)
        self.bundle = self.parameterAsEnumString(parameters, PRODUCT_BUNDLE, context)
        self.clip_choice = self.parameterAsEnum(parameters, CLIP, context)
        ids = list(self.items.ids)
        self.name_text = (self.parameterAsString(parameters, NAME, context) or "").strip() or (
            f"Imagery of {ids[0]}" + (f" and {len(ids) - 1} more" if len(ids) > 1 else "") if ids else "")
        clip = None
        if self.clip_choice == CLIP_POLYGONS:
            clip = self._clip_from_layer(parameters, context)
        elif self.clip_choice == CLIP_TASKING and not self.items.tasking_order_ids:
            raise QgsProcessingException("Nothing was ordered. Clip to the captures' tasking order areas needs "
                                         "captures with an order_id field (or choose another clip).")
        try:
            # Every id, the type and the bundle checked now: a bad input fails before any request.
            self.request = forms.scenes_request(self.name_text, ids, item_type=self.item_type,
                                                product_bundle=self.bundle, clip=clip)
        except ValidationError as error:
            raise _refused(error) from None
        self.folder = self.parameterAsString(parameters, OUTPUT_FOLDER, context)
        self.client = make_client(self.parameterAsString(parameters, SERVICE_URL, context) or "", ARCHIVE_SERVICE)
        if self.clip_choice == CLIP_TASKING:
            # The tasking orders' areas are read in processAlgorithm (network). Planet Tasking's: its captures are
            # the ones orderable from Planet's archive, whichever tasking service the dock works with now.
            self.tasking_client = make_client("", TASKING_SERVICE)
        return True

    def _read_items(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> _Items:
        ids: List[str] = []
        footprints: List[QgsGeometry] = []
        order_ids: List[str] = []
        source = self.parameterAsSource(parameters, CAPTURES, context) if parameters.get(CAPTURES) else None
        if source is not None:
            fields = source.fields()
            id_field = (self.parameterAsString(parameters, ID_FIELD, context) or "strip_id").strip()
            id_column = fields.lookupField(id_field)
            if id_column < 0:
                raise QgsProcessingException(f"Nothing was ordered. The captures layer has no field “{id_field}”; "
                                             "choose the field holding the item ids (Item id field).")
            status_column, order_column = fields.lookupField("status"), fields.lookupField("order_id")
            to_wgs84 = None
            if source.sourceCrs().isValid() and source.sourceCrs().authid() != WGS84:
                to_wgs84 = QgsCoordinateTransform(source.sourceCrs(), QgsCoordinateReferenceSystem(WGS84),
                                                  context.transformContext())
            skipped = total = 0
            for feature in source.getFeatures(QgsFeatureRequest()):
                total += 1
                item = python_value(feature.attribute(id_column))
                status = python_value(feature.attribute(status_column)) if status_column >= 0 else PUBLISHED
                if not item or status != PUBLISHED:
                    skipped += 1
                    continue
                if str(item) in ids:
                    continue
                ids.append(str(item))
                if feature.hasGeometry():
                    footprint = QgsGeometry(feature.geometry())
                    if to_wgs84 is not None:
                        footprint.transform(to_wgs84)
                    footprints.append(footprint)
                order = python_value(feature.attribute(order_column)) if order_column >= 0 else None
                if order and str(order) not in order_ids:
                    order_ids.append(str(order))
            if skipped:
                feedback.pushWarning(f"{skipped} of {total} captures are left out: not published yet (no imagery) or "
                                     "without an item id.")
            if not ids and not (self.parameterAsString(parameters, ITEM_IDS, context) or "").strip():
                raise QgsProcessingException(
                    f"Nothing was ordered. None of the {total} captures given is published with an item id "
                    "(captures still processing have no imagery yet).")
        for item in _forms().item_ids_from_text(self.parameterAsString(parameters, ITEM_IDS, context) or ""):
            if item not in ids:
                ids.append(item)
        if not ids:
            raise QgsProcessingException("Nothing was ordered. Give a captures layer with published captures, or "
                                         "item ids.")
        return _Items(tuple(ids), tuple(footprints), tuple(order_ids))

    def _clip_from_layer(self, parameters: Dict[str, Any], context: Any) -> Dict[str, Any]:
        source = self.parameterAsSource(parameters, CLIP_LAYER, context) if parameters.get(CLIP_LAYER) else None
        if source is None:
            raise QgsProcessingException("Nothing was ordered. Clip = A polygon layer needs the Clip layer.")
        parts = [QgsGeometry(f.geometry()) for f in source.getFeatures() if f.hasGeometry()]
        if not parts:
            raise QgsProcessingException("Nothing was ordered. The clip layer has no polygon to clip to.")
        try:
            return _forms().clip_geojson(QgsGeometry.unaryUnion(parts), source.sourceCrs(), list(self.items.footprints))
        except ValidationError as error:
            raise _refused(error) from None

    # -- the Processing thread: the tasking areas, then the order's run ----------------------------------

    def _tasking_clip(self, feedback: Any) -> Dict[str, Any]:
        parts = []
        for order_id in self.items.tasking_order_ids:
            if feedback.isCanceled():
                raise Cancelled("Cancelled before the order was placed: nothing was ordered.")
            geometry = geometry_from_geojson(self.tasking_client.get_order(order_id).geometry)
            if geometry is not None:
                parts.append(geometry)
        if not parts:
            raise QgsProcessingException("Nothing was ordered. The captures' tasking orders have no area to clip to.")
        try:
            return _forms().clip_geojson(QgsGeometry.unaryUnion(parts), QgsCoordinateReferenceSystem(WGS84),
                                         list(self.items.footprints))
        except ValidationError as error:
            raise _refused(error) from None

    def processAlgorithm(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> Dict[str, Any]:  # noqa: N802
        forms = _forms()
        try:
            request = self.request
            if self.clip_choice == CLIP_TASKING:
                feedback.pushInfo(f"Reading the area of {len(self.items.tasking_order_ids)} tasking order(s) to clip to…")
                request = forms.scenes_request(self.name_text, list(self.items.ids), item_type=self.item_type,
                                               product_bundle=self.bundle, clip=self._tasking_clip(feedback))
            feedback.pushInfo(f"Ordering {len(self.items.ids)} {self.item_type} item(s) as {self.bundle}: "
                              f"{', '.join(self.items.ids[:5])}{'…' if len(self.items.ids) > 5 else ''}")
            self.outcome = order_archive_imagery(
                self.client, request, self.folder, progress=progress_of(feedback), is_canceled=canceled_of(feedback),
                on_stage=feedback.pushInfo, poll=POLL_SECONDS, max_poll=MAX_POLL_SECONDS)
        except Cancelled:
            raise QgsProcessingException(
                "Cancelled. An order already placed goes on at Planet and partly downloaded files are kept: run the "
                "algorithm again with the same inputs and output folder to follow it and resume the download "
                "(it is not ordered twice).") from None
        except ValidationError as error:
            raise _refused(error) from None
        except (ServiceError, RuntimeError, OSError) as error:
            raise service_failure("Ordering the archive imagery", error) from None
        outcome = self.outcome
        feedback.pushInfo(("Placed" if outcome.placed else "Followed the order an earlier run placed:")
                          + f" archive order {outcome.order.id} ({outcome.order.state}); "
                          f"{len(outcome.report.files)} files in {self.folder} ({outcome.report.skipped} already "
                          f"there, {outcome.report.resumed} resumed), {len(outcome.imagery.rasters)} rasters.")
        return {OUTPUT_FOLDER: self.folder, FOOTPRINTS: outcome.imagery.footprints_path or "",
                RASTERS: [plan.path for plan in outcome.imagery.rasters], ORDER_ID: outcome.order.id,
                ORDER_STATE: outcome.order.state}

    def postProcessAlgorithm(self, context: Any, feedback: Any) -> Dict[str, Any]:  # noqa: N802 - QGIS's name
        # Main thread: the rasters styled in "Archive imagery" / <order> as the dialog adds them; qgis_process has
        # no map to show them on, so it leaves just the files.
        outcome = self.outcome
        if outcome is None or context.project() is None or QgsApplication.instance().platform() == "qgis_process":
            return {}
        layers = rasters.add_order_imagery(context.project(), outcome.imagery)
        feedback.pushInfo(f"{len(layers)} rasters of order {outcome.order.id} are on the map.")
        return {}
