"""A CREATE job's result layer (order or error per feature), from the live layer or rebuilt from the journal alone."""

from __future__ import annotations

import os
import uuid
from datetime import date, datetime
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFeatureRequest,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsMemoryProviderUtils,
    QgsProject,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QByteArray, QDate, QDateTime, Qt, QTime

from ... import compat
from ...feature_values import is_null
from ...layers import STYLES_DIR, add_to_group, geojson_to_geometry, store_copy
from .job import BulkJob, BulkOutcome, readable_error
from .journal import BulkJournal, SourceFeature
from .layer_input import ValidationReport
from .pricing import PricingReport

# The result layer's style by geometry type: a QML holds symbols of one geometry type only.
RESULT_STYLES = {
    QgsWkbTypes.GeometryType.PointGeometry: os.path.join(STYLES_DIR, "bulk_result_point.qml"),
    QgsWkbTypes.GeometryType.LineGeometry: os.path.join(STYLES_DIR, "bulk_result_line.qml"),
    QgsWkbTypes.GeometryType.PolygonGeometry: os.path.join(STYLES_DIR, "bulk_result_polygon.qml"),
}


def style_result_layer(layer: QgsVectorLayer) -> QgsVectorLayer:
    """Give a result layer its style (ordered green, failed red) when it has one geometry type; returns it."""
    path = RESULT_STYLES.get(layer.geometryType())
    if path is not None:
        layer.loadNamedStyle(path)
    return layer


def add_result_layer_to_project(layer: QgsVectorLayer, project: Any = None) -> QgsVectorLayer:
    """Put a result layer in the project to last: copied into the project's GeoPackage (see
    core.layers.store_copy; a table of its own, so an earlier result stays as it was), styled, at the top of
    the "Satellite Tasking" group. Returns the layer added."""
    project = project if project is not None else QgsProject.instance()
    stored = style_result_layer(store_copy(project, layer, f"bulk_result_{uuid.uuid4().hex[:8]}"))
    add_to_group(project, stored)
    return stored


def _free_name(fields: QgsFields, wanted: str) -> str:
    name, suffix = wanted, 2
    while fields.indexOf(name) >= 0:
        name = f"{wanted}_{suffix}"
        suffix += 1
    return name


def result_layer(layer: QgsVectorLayer, results: Mapping[int, Tuple[Optional[str], Optional[str]]], *,
                 name: Optional[str] = None, prices: Optional[Mapping[int, float]] = None) -> QgsVectorLayer:
    """A memory copy of the features of `layer` named in `results` (feature id -> (order_id, error)),
    with `order_id` and `error` fields added (and `estimated_cost` when prices are given)."""
    fields = QgsFields(layer.fields())
    order_field = _free_name(fields, "order_id")
    fields.append(compat.make_field(order_field, compat.STRING))
    error_field = _free_name(fields, "error")
    fields.append(compat.make_field(error_field, compat.STRING))
    cost_field = None
    if prices is not None:
        cost_field = _free_name(fields, "estimated_cost")
        fields.append(compat.make_field(cost_field, compat.DOUBLE))
    copy = QgsMemoryProviderUtils.createMemoryLayer(name or f"{layer.name()} — orders", fields, layer.wkbType(),
                                                    layer.crs())
    request = QgsFeatureRequest().setFilterFids(sorted(results))
    features = []
    # Sorted by source feature id: the copy lists features in the layer's order, whatever the provider's.
    for feature in sorted(layer.getFeatures(request), key=lambda f: f.id()):
        order_id, error = results[feature.id()]
        out = QgsFeature(fields)
        out.setGeometry(feature.geometry())
        values = list(feature.attributes()) + [order_id, error]
        if cost_field is not None:
            values.append((prices or {}).get(feature.id()))
        out.setAttributes(values)
        features.append(out)
    copy.dataProvider().addFeatures(features)
    copy.updateExtents()
    return style_result_layer(copy)


def _json_value(value: Any) -> Any:
    """An attribute value as JSON (restored to the field's type by QgsField.convertCompatible)."""
    if is_null(value):
        return None
    if isinstance(value, QDateTime):
        return value.toString(Qt.DateFormat.ISODateWithMs)
    if isinstance(value, (QDate, QTime)):
        return value.toString(Qt.DateFormat.ISODate)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, QByteArray):
        return bytes(value.toBase64()).decode("ascii")
    if isinstance(value, (bytes, bytearray)):
        return bytes(QByteArray(bytes(value)).toBase64()).decode("ascii")
    if isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    return str(value)


def journal_features(report: ValidationReport, pricing: Optional[PricingReport] = None) -> List[SourceFeature]:
    """Every checked feature as the journal keeps it: geometry, attributes, why skipped, price."""
    return [SourceFeature(check.feature_id, check.geometry_wkb, [_json_value(v) for v in check.attributes or []],
                          None if check.ok else (check.reason or check.code or "Invalid."),
                          pricing.cost(check.feature_id) if pricing is not None else None)
            for check in report.checks]


def job_source(report: ValidationReport, pricing: Optional[PricingReport] = None) -> Dict[str, Any]:
    """The job's `source` for the journal: the layer's description and whether prices were kept."""
    return {**report.source, "priced": pricing is not None}


def _restored_fields(description: Sequence[Mapping[str, Any]]) -> QgsFields:
    fields = QgsFields()
    for spec in description:
        fields.append(compat.make_field(spec["name"], spec.get("type", compat.STRING), spec.get("type_name", ""),
                                        spec.get("length", 0), spec.get("precision", 0),
                                        spec.get("sub_type", compat.UNKNOWN)))
    return fields


def _restored_value(qgs_field: QgsField, value: Any) -> Any:
    if value is None:
        return None
    if compat.is_type(qgs_field, compat.BYTES) and isinstance(value, str):
        return QByteArray.fromBase64(value.encode("ascii"))
    try:
        return qgs_field.convertCompatible(value)
    except ValueError:  # e.g. a text too long for the field: keep what was read
        return value


def journal_result_layer(journal: BulkJournal, job_id: str, *, name: Optional[str] = None) -> Optional[QgsVectorLayer]:
    """The result layer of a CREATE job rebuilt from the journal alone (the source layer may be gone).

    With the source features stored (schema 2): the same layer result_layer() makes from the live layer —
    its fields and CRS, every checked feature with `order_id`, `error` (and `estimated_cost` when priced).
    For a job without them (an older journal): one feature per payload, in EPSG:4326, with `feature_id`,
    `name`, `order_id` and `error`. None for EDIT/CANCEL jobs or an unknown job.
    """
    job = journal.job(job_id)
    if job is None or job.operation != "CREATE":
        return None
    outcome = BulkJob(journal, job_id).outcome()
    results = results_by_feature(None, outcome)
    features = journal.source_features(job_id)
    source = job.source or {}
    if features and source.get("fields") is not None:
        fields = _restored_fields(source["fields"])
        base_count = fields.count()
        crs = QgsCoordinateReferenceSystem.fromWkt(source.get("crs") or "")
        if not crs.isValid() and source.get("crs_authid"):
            crs = QgsCoordinateReferenceSystem(source["crs_authid"])
        wkb_type = QgsWkbTypes.Type(source.get("wkb_type", QgsWkbTypes.Type.Unknown))
        priced = bool(source.get("priced"))
        rows = []
        for feature in features:
            attributes = [_restored_value(fields.at(i), feature.attributes[i] if i < len(feature.attributes) else None)
                          for i in range(base_count)]
            geometry = QgsGeometry()
            if feature.geometry:
                geometry.fromWkb(feature.geometry)
            order_id, error = results.get(feature.feature_id, (None, feature.skipped))
            rows.append((geometry, attributes + [order_id, error] + ([feature.estimated_cost] if priced else [])))
        layer_name = source.get("layer_name") or job.title
    else:
        fields = QgsFields()
        fields.append(compat.make_field("feature_id", compat.LONG))
        fields.append(compat.make_field("name", compat.STRING))
        crs = QgsCoordinateReferenceSystem("EPSG:4326")
        priced = False
        rows = []
        for item in outcome.items:
            geometry = geojson_to_geometry(item.payload.get("geometry"))
            order_id, error = results.get(item.feature_id, (item.order_id, readable_error(item.error)))
            rows.append((geometry, [item.feature_id, item.payload.get("name"), order_id, error]))
        types = {QgsWkbTypes.flatType(g.wkbType()) for g, _ in rows if not g.isNull()}
        wkb_type = types.pop() if len(types) == 1 else QgsWkbTypes.Type.GeometryCollection
        if wkb_type == QgsWkbTypes.Type.GeometryCollection:
            rows = [(QgsGeometry.fromWkt(f"GEOMETRYCOLLECTION({g.asWkt()})") if not g.isNull() else g, values)
                    for g, values in rows]
        layer_name = source.get("layer_name") or job.title or "bulk"
    fields.append(compat.make_field(_free_name(fields, "order_id"), compat.STRING))
    fields.append(compat.make_field(_free_name(fields, "error"), compat.STRING))
    if priced:
        fields.append(compat.make_field(_free_name(fields, "estimated_cost"), compat.DOUBLE))
    copy = QgsMemoryProviderUtils.createMemoryLayer(name or f"{layer_name} — orders", fields, wkb_type, crs)
    out = []
    for geometry, values in rows:
        feature = QgsFeature(fields)
        feature.setGeometry(geometry)
        feature.setAttributes(values)
        out.append(feature)
    copy.dataProvider().addFeatures(out)
    copy.updateExtents()
    return style_result_layer(copy)


def results_by_feature(report: Optional[ValidationReport], outcome: Optional[BulkOutcome],
                       pricing: Optional[PricingReport] = None) -> Dict[int, Tuple[Optional[str], Optional[str]]]:
    """feature id -> (order_id, error) from validation (invalid features), pricing failures and creation."""
    results: Dict[int, Tuple[Optional[str], Optional[str]]] = {}
    if report is not None:
        for check in report.checks:
            if not check.ok:
                results[check.feature_id] = (None, check.reason)
    elif outcome is not None:
        for feature_id, reason in outcome.skipped.items():
            results[feature_id] = (None, reason)
    if outcome is not None:
        for item in outcome.items:
            if item.feature_id is None:
                continue
            results[item.feature_id] = item.result()
    return results
