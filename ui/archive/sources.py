"""What the dialog orders from: published tasking captures (from the Captures layer or an order's details)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable, List, Mapping, Optional, Sequence, Tuple

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsExpression,
    QgsFeatureRequest,
    QgsGeometry,
    QgsJsonUtils,
    QgsProject,
    QgsVectorLayer,
)

from ...core import names
from ...core.layers import layer_kind, python_value

WGS84 = "EPSG:4326"


@dataclass(frozen=True)
class PublishedCapture:
    """A capture whose imagery can be ordered: its strip id (the item id) and footprint in EPSG:4326."""

    strip_id: str
    footprint: Optional[QgsGeometry] = None
    order_id: str = ""


def geometry_from_geojson(value: Any) -> Optional[QgsGeometry]:
    """A GeoJSON geometry (dict or text) as a QgsGeometry, or None when there is none or it cannot be read."""
    if not value:
        return None
    try:
        geometry_json = json.loads(value) if isinstance(value, str) else value
        features = QgsJsonUtils.stringToFeatureList(json.dumps({"type": "Feature", "properties": {},
                                                                "geometry": geometry_json}))
    except (ValueError, TypeError):
        return None
    geometry = features[0].geometry() if features else None
    return None if geometry is None or geometry.isNull() or geometry.isEmpty() else geometry


def published_from_models(captures: Iterable[Any]) -> List[PublishedCapture]:
    """The published captures (with a strip id) of an order's capture list, in its order, each strip once."""
    found: List[PublishedCapture] = []
    for capture in captures:
        strip = getattr(capture, "strip_id", None)
        if getattr(capture, "status", None) != "PUBLISHED" or not strip or any(c.strip_id == strip for c in found):
            continue
        found.append(PublishedCapture(str(strip), geometry_from_geojson(getattr(capture, "geometry", None)),
                                      str(getattr(capture, "order_id", "") or "")))
    return found


def is_captures_layer(layer: Any) -> bool:
    if not isinstance(layer, QgsVectorLayer):
        return False
    kind = layer_kind(layer)
    return (kind is not None and kind.name == "captures") or (kind is None and layer.name() == names.CAPTURES_LAYER)


def captures_layer(project: Any = None, active: Any = None) -> Optional[QgsVectorLayer]:
    """The plugin's Captures layer: the active layer if it is one, else the first with a selection, else the first."""
    if is_captures_layer(active):
        return active
    project = project or QgsProject.instance()
    layers = [layer for layer in project.mapLayers().values() if is_captures_layer(layer)]
    with_selection = [layer for layer in layers if layer.selectedFeatureCount()]
    return (with_selection or layers or [None])[0]


def selected_captures(layer: Optional[QgsVectorLayer]) -> Tuple[List[PublishedCapture], int]:
    """The published captures among a Captures layer's selected features (footprints in EPSG:4326), and
    how many selected features were left out (not published, or without a strip id)."""
    if layer is None or not layer.selectedFeatureCount():
        return [], 0
    fields = layer.fields()
    strip_column, status_column, order_column = (fields.indexOf(n) for n in ("strip_id", "status", "order_id"))
    to_wgs84 = None
    if layer.crs().isValid() and layer.crs().authid() != WGS84:
        to_wgs84 = QgsCoordinateTransform(layer.crs(), QgsCoordinateReferenceSystem(WGS84), QgsProject.instance())
    found: List[PublishedCapture] = []
    skipped = 0
    for feature in layer.getFeatures(QgsFeatureRequest().setFilterFids(layer.selectedFeatureIds())):
        strip = python_value(feature.attribute(strip_column)) if strip_column >= 0 else None
        status = python_value(feature.attribute(status_column)) if status_column >= 0 else None
        if not strip or status != "PUBLISHED":
            skipped += 1
            continue
        if any(c.strip_id == strip for c in found):
            continue
        footprint = QgsGeometry(feature.geometry()) if feature.hasGeometry() else None
        if footprint is not None and to_wgs84 is not None:
            footprint.transform(to_wgs84)
        order = python_value(feature.attribute(order_column)) if order_column >= 0 else None
        found.append(PublishedCapture(str(strip), footprint, str(order or "")))
    return found, skipped


def tasking_aoi(order_ids: Sequence[str], project: Any = None) -> Optional[QgsGeometry]:
    """The tasking orders' areas (EPSG:4326, merged) from the plugin's Tasking orders layer, or None."""
    project = project or QgsProject.instance()
    wanted = {i for i in order_ids if i}
    if not wanted:
        return None
    parts: List[QgsGeometry] = []
    for layer in project.mapLayers().values():
        if not isinstance(layer, QgsVectorLayer):
            continue
        kind = layer_kind(layer)
        if not ((kind is not None and kind.name == "orders") or (kind is None and layer.name() == names.ORDERS_LAYER)):
            continue
        id_column = layer.fields().indexOf("id")
        if id_column < 0:
            continue
        transform = None
        if layer.crs().isValid() and layer.crs().authid() != WGS84:
            transform = QgsCoordinateTransform(layer.crs(), QgsCoordinateReferenceSystem(WGS84), project)
        listed = ", ".join(QgsExpression.quotedValue(i) for i in sorted(wanted))
        request = QgsFeatureRequest().setFilterExpression(f'"id" IN ({listed})')
        for feature in layer.getFeatures(request):
            if feature.hasGeometry():
                geometry = QgsGeometry(feature.geometry())
                if transform is not None:
                    geometry.transform(transform)
                parts.append(geometry)
        if parts:
            break
    if not parts:
        return None
    return parts[0] if len(parts) == 1 else QgsGeometry.unaryUnion(parts)


def order_aoi(order: Any) -> Optional[QgsGeometry]:
    """A tasking order's area (its geometry as the service returned it, EPSG:4326)."""
    geometry: Optional[Mapping[str, Any]] = getattr(order, "geometry", None)
    return geometry_from_geojson(geometry)
