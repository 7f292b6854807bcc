"""Planet Tasking's layer schemas: the fields, rows and styles of its orders, captures and imaging-windows layers."""

from __future__ import annotations

import os
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple, Union

from qgis.core import QgsGeometry, QgsMapLayer, QgsVectorLayer, QgsWkbTypes

from ... import compat, names
from ...layers import (
    POLYGONAL_TYPES,
    STYLES_DIR,
    LayerKind,
    PreparedFeatures,
    UpsertResult,
    apply_prepared,
    create_layer,
    epoch_ms,
    find_or_create_layer,
    geojson_to_wkb,
    joined,
    layer_kind,
    layers_of_kind,
    polygonal,
    python_value,
    register_kind,
)
from .models import Capture, ImagingWindow, Order, exclusivity_end

ORDERS_STYLE = os.path.join(STYLES_DIR, "orders.qml")
CAPTURES_STYLE = os.path.join(STYLES_DIR, "captures.qml")
IMAGING_WINDOWS_STYLE = os.path.join(STYLES_DIR, "imaging_windows.qml")

# Field name and QVariant type, in layer order. `id` is always first: refreshes match features on it.
ORDER_FIELDS: Tuple[Tuple[str, int], ...] = (
    ("id", compat.STRING),
    ("name", compat.STRING),
    ("status", compat.STRING),
    ("order_type", compat.STRING),
    ("scheduling_type", compat.STRING),
    ("product", compat.STRING),
    ("pl_number", compat.STRING),
    ("start_time", compat.DATETIME),
    ("end_time", compat.DATETIME),
    ("created_time", compat.DATETIME),
    ("updated_time", compat.DATETIME),
    ("cancelled_time", compat.DATETIME),
    ("is_cancellable", compat.BOOL),
    ("cancellable_until", compat.DATETIME),
    ("requested_sqkm", compat.DOUBLE),
    ("fulfilled_sqkm", compat.DOUBLE),
    ("sat_elevation_angle_min", compat.DOUBLE),
    ("sat_elevation_angle_max", compat.DOUBLE),
    ("n_stereo_pov", compat.INT),
    ("exclusivity_days", compat.INT),
    ("capture_status_published_count", compat.INT),
    ("capture_assessment_success_count", compat.INT),
    ("capture_assessment_invalid_count", compat.INT),
    ("next_planned_acquisition_time", compat.DATETIME),
    ("last_acquired_time", compat.DATETIME),
    ("imaging_window", compat.STRING),
    ("rrule", compat.STRING),
    ("created_by", compat.STRING),
)

CAPTURE_FIELDS: Tuple[Tuple[str, int], ...] = (
    ("id", compat.STRING),
    ("order_id", compat.STRING),
    ("status", compat.STRING),
    ("status_description", compat.STRING),
    ("assessment", compat.STRING),
    ("acquired_time", compat.DATETIME),
    ("published_time", compat.DATETIME),
    ("updated_time", compat.DATETIME),
    ("strip_id", compat.STRING),
    ("cloud_cover", compat.DOUBLE),
    ("item_types", compat.STRING),
    ("fulfilling", compat.BOOL),
    ("exclusivity_days", compat.INT),
    ("exclusivity_end", compat.DATETIME),
)

IMAGING_WINDOW_FIELDS: Tuple[Tuple[str, int], ...] = (
    ("id", compat.STRING),
    ("search_id", compat.STRING),
    ("start_time", compat.DATETIME),
    ("end_time", compat.DATETIME),
    ("duration_s", compat.DOUBLE),
    ("off_nadir_angle_min", compat.DOUBLE),
    ("off_nadir_angle_max", compat.DOUBLE),
    ("off_nadir_angle_start", compat.DOUBLE),
    ("off_nadir_angle_end", compat.DOUBLE),
    ("sat_elevation_angle_min", compat.DOUBLE),
    ("sat_elevation_angle_max", compat.DOUBLE),
    ("sat_azimuth_angle_start", compat.DOUBLE),
    ("sat_azimuth_angle_end", compat.DOUBLE),
    ("sun_elevation_angle_min", compat.DOUBLE),
    ("sun_elevation_angle_max", compat.DOUBLE),
    ("solar_zenith_angle_min", compat.DOUBLE),
    ("solar_zenith_angle_max", compat.DOUBLE),
    ("low_light", compat.BOOL),
    ("ground_sample_distance", compat.DOUBLE),
    ("cloud_forecast", compat.DOUBLE),
    ("assured_tasking_tier", compat.STRING),
    ("satellite_type", compat.STRING),
    ("quota_priority_multiplier", compat.DOUBLE),
    ("conflicting_order_count", compat.INT),
    ("conflicting_order_ids", compat.STRING),
    ("estimated_quota_cost", compat.DOUBLE),
)



# --------------------------------------------------------------------------------------------------
# Typed results -> plain rows (date-times as epoch milliseconds, see core.layers.epoch_ms)
# --------------------------------------------------------------------------------------------------


def order_row(order: Order) -> tuple:
    """An Order as a row in ORDER_FIELDS order."""
    return (
        order.id, order.name, order.status, order.order_type, order.scheduling_type, order.product,
        order.pl_number, epoch_ms(order.start_time), epoch_ms(order.end_time), epoch_ms(order.created_time),
        epoch_ms(order.updated_time), epoch_ms(order.cancelled_time), order.is_cancellable, epoch_ms(order.cancellable_until),
        order.requested_sqkm, order.fulfilled_sqkm, order.sat_elevation_angle_min,
        order.sat_elevation_angle_max, order.n_stereo_pov, order.exclusivity_days,
        order.capture_status_published_count, order.capture_assessment_success_count,
        order.capture_assessment_invalid_count, epoch_ms(order.next_planned_acquisition_time),
        epoch_ms(order.last_acquired_time), order.imaging_window, order.rrule, order.created_by,
    )


def exclusivity_days_by_order(orders: Iterable[Order]) -> Dict[str, Optional[int]]:
    """{order id: exclusivity_days} for upsert_captures, from orders fetched with that field."""
    return {order.id: order.exclusivity_days for order in orders}


def capture_row(capture: Capture, exclusivity_days: Optional[int]) -> tuple:
    """A Capture as a row in CAPTURE_FIELDS order; `exclusivity_days` is its order's.

    exclusivity_end: see core.services.planet_tasking.models.exclusivity_end (the Orders tab's details show the same value).
    """
    return (
        capture.id, capture.order_id, capture.status, capture.status_description, capture.assessment,
        epoch_ms(capture.acquired_time), epoch_ms(capture.published_time), epoch_ms(capture.updated_time), capture.strip_id,
        capture.cloud_cover, joined(capture.item_types), capture.fulfilling, exclusivity_days,
        epoch_ms(exclusivity_end(capture.acquired_time, exclusivity_days)),
    )


def imaging_window_row(window: ImagingWindow, search_id: Optional[str] = None) -> tuple:
    """An ImagingWindow as a row in IMAGING_WINDOW_FIELDS order."""
    pricing = window.pricing_details
    return (
        window.id, search_id, epoch_ms(window.start_time), epoch_ms(window.end_time), window.duration_seconds,
        window.off_nadir_angle_min, window.off_nadir_angle_max, window.off_nadir_angle_start,
        window.off_nadir_angle_end, window.sat_elevation_angle_min, window.sat_elevation_angle_max,
        window.sat_azimuth_angle_start, window.sat_azimuth_angle_end, window.sun_elevation_angle_min,
        window.sun_elevation_angle_max, window.solar_zenith_angle_min, window.solar_zenith_angle_max,
        window.low_light, window.ground_sample_distance, window.latest_cloud_forecast,
        window.assured_tasking_tier, window.satellite_type, window.quota_priority_multiplier,
        len(window.conflicting_orders), joined(order.id for order in window.conflicting_orders),
        None if pricing is None else pricing.estimated_quota_cost,
    )



# --------------------------------------------------------------------------------------------------
# The kinds, registered with the layer engine so layer_kind() recognises their layers in a project
# --------------------------------------------------------------------------------------------------
ORDERS = register_kind(LayerKind("orders", ORDER_FIELDS, ORDERS_STYLE, "start_time", "end_time"))
CAPTURES = register_kind(LayerKind("captures", CAPTURE_FIELDS, CAPTURES_STYLE, "acquired_time"))
IMAGING_WINDOWS = register_kind(
    LayerKind("imaging_windows", IMAGING_WINDOW_FIELDS, IMAGING_WINDOWS_STYLE, "start_time", "end_time"))


def orders_layers(project: Any) -> List[QgsVectorLayer]:
    """The project's orders layers, top-most first (see layers_of_kind)."""
    return layers_of_kind(project, ORDERS)


def find_or_create_orders_layer(project: Any, name: str = names.ORDERS_LAYER) -> QgsVectorLayer:
    """The project's orders layer, made and added when there is none (see find_or_create_layer)."""
    return find_or_create_layer(project, ORDERS, name)


def selection_orders_layer(project: Any, active: Optional[QgsMapLayer] = None) -> Optional[QgsVectorLayer]:
    """The orders layer whose selection the user means: `active` (the current layer) when it is an orders
    layer with a selection, else the top-most orders layer with one, else `active` if it is an orders layer."""
    candidates = orders_layers(project)
    is_orders = isinstance(active, QgsVectorLayer) and layer_kind(active) is ORDERS
    if is_orders and active.selectedFeatureCount():
        return active
    with_selection = [layer for layer in candidates if layer.selectedFeatureCount()]
    if with_selection:
        return with_selection[0]
    return active if is_orders else None


def selected_order_ids(layer: Optional[QgsVectorLayer]) -> Tuple[List[str], Dict[str, str]]:
    """The order ids of an orders layer's selected features, and each one's status where it has one."""
    if layer is None:
        return [], {}
    ids: List[str] = []
    statuses: Dict[str, str] = {}
    id_column, status_column = layer.fields().indexOf("id"), layer.fields().indexOf("status")
    if id_column < 0:
        return [], {}
    for feature in layer.getSelectedFeatures():
        order_id = python_value(feature.attribute(id_column))
        if order_id in (None, ""):
            continue
        ids.append(str(order_id))
        status = python_value(feature.attribute(status_column)) if status_column >= 0 else None
        if status:
            statuses[str(order_id)] = str(status)
    return ids, statuses


def prepare_orders(orders: Iterable[Order], build_geometries: bool = False) -> PreparedFeatures:
    """Orders -> PreparedFeatures; an order's footprint is its `geometry` (the polygon the service tasks)."""
    prepared = PreparedFeatures(ORDERS)
    for order in orders:
        prepared.put(order.id, order_row(order), polygonal(order.geometry) or polygonal(order.original_geometry))
    return prepared.build_geometries() if build_geometries else prepared


def prepare_captures(
    captures: Iterable[Capture],
    exclusivity_days_by_order: Optional[Mapping[str, Optional[int]]] = None,
    build_geometries: bool = False,
) -> PreparedFeatures:
    """Captures -> PreparedFeatures; each capture's exclusivity comes from its order's exclusivity_days."""
    days_by_order = exclusivity_days_by_order or {}
    prepared = PreparedFeatures(CAPTURES)
    for capture in captures:
        prepared.put(capture.id, capture_row(capture, days_by_order.get(capture.order_id)), polygonal(capture.geometry))
    return prepared.build_geometries() if build_geometries else prepared


def footprint_wkb(footprint: Union[QgsGeometry, Mapping[str, Any], None]) -> Optional[bytes]:
    """A search's tasked footprint (QgsGeometry in EPSG:4326 or GeoJSON) as WKB; it must be polygonal."""
    if footprint is None:
        return None
    if isinstance(footprint, QgsGeometry):
        if footprint.isNull() or footprint.isEmpty():
            return None
        if footprint.type() != QgsWkbTypes.GeometryType.PolygonGeometry:
            raise ValueError(
                "An imaging window's footprint must be a polygon (the tasked 5 x 5 km square or strip), "
                f"not a {QgsWkbTypes.displayString(footprint.wkbType())}."
            )
        return bytes(footprint.asWkb())
    if footprint.get("type") not in POLYGONAL_TYPES:
        raise ValueError(
            "An imaging window's footprint must be a polygon (the tasked 5 x 5 km square or strip), "
            f"not a {footprint.get('type')}."
        )
    return geojson_to_wkb(footprint)


def prepare_imaging_windows(
    windows: Iterable[ImagingWindow],
    footprint: Union[QgsGeometry, Mapping[str, Any], None],
    search_id: Optional[str] = None,
    build_geometries: bool = False,
) -> PreparedFeatures:
    """Imaging windows of one search -> PreparedFeatures, each drawn as the search's tasked footprint.

    The service gives a window no geometry of its own: it images the search AOI, so the caller passes
    the footprint that AOI tasks (a polygon in EPSG:4326, e.g. the 5 x 5 km square around a point).
    """
    wkb = footprint_wkb(footprint)
    prepared = PreparedFeatures(IMAGING_WINDOWS)
    for window in windows:
        prepared.put(window.id, imaging_window_row(window, search_id), wkb)
    return prepared.build_geometries() if build_geometries else prepared


def create_orders_layer(name: str = names.ORDERS_LAYER, orders: Iterable[Order] = ()) -> QgsVectorLayer:
    """A styled orders layer (by status), temporal on start_time..end_time, holding `orders`."""
    return create_layer(ORDERS, name, prepare_orders(orders))


def create_captures_layer(
    name: str = names.CAPTURES_LAYER,
    captures: Iterable[Capture] = (),
    exclusivity_days_by_order: Optional[Mapping[str, Optional[int]]] = None,
) -> QgsVectorLayer:
    """A styled captures layer (by status and assessment), temporal on acquired_time, holding `captures`."""
    return create_layer(CAPTURES, name, prepare_captures(captures, exclusivity_days_by_order))


def create_imaging_windows_layer(
    name: str = names.IMAGING_WINDOWS_LAYER,
    windows: Iterable[ImagingWindow] = (),
    footprint: Union[QgsGeometry, Mapping[str, Any], None] = None,
    search_id: Optional[str] = None,
) -> QgsVectorLayer:
    """A styled imaging-windows layer, temporal on start_time..end_time, each window drawn as `footprint`."""
    return create_layer(IMAGING_WINDOWS, name, prepare_imaging_windows(windows, footprint, search_id))


def upsert_orders(layer: QgsVectorLayer, orders: Iterable[Order], remove_missing: bool = False) -> UpsertResult:
    """Refresh an orders layer in place by order id."""
    return apply_prepared(layer, prepare_orders(orders), remove_missing)


def upsert_captures(
    layer: QgsVectorLayer,
    captures: Iterable[Capture],
    exclusivity_days_by_order: Optional[Mapping[str, Optional[int]]] = None,
    remove_missing: bool = False,
) -> UpsertResult:
    """Refresh a captures layer in place by capture id (exclusivity_end from each order's exclusivity_days)."""
    return apply_prepared(layer, prepare_captures(captures, exclusivity_days_by_order), remove_missing)


def upsert_imaging_windows(
    layer: QgsVectorLayer,
    windows: Iterable[ImagingWindow],
    footprint: Union[QgsGeometry, Mapping[str, Any], None],
    search_id: Optional[str] = None,
    remove_missing: bool = False,
) -> UpsertResult:
    """Refresh an imaging-windows layer in place by window id."""
    return apply_prepared(layer, prepare_imaging_windows(windows, footprint, search_id), remove_missing)


