"""The layer side of a bulk order: the field mapping, a thread-safe layer snapshot and every feature's check."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsExpression,
    QgsExpressionContext,
    QgsExpressionContextUtils,
    QgsFeature,
    QgsFeatureRequest,
    QgsFields,
    QgsVectorLayer,
    QgsVectorLayerFeatureSource,
)

from ... import compat
from ...aoi import DEFAULT_MAX_SQKM, AoiError, AoiValidator
from ...errors import Cancelled
from ...feature_values import FeatureProblem
from .service_rules import bulk_rules, mappable_fields

Progress = Optional[Callable[[float], Any]]
IsCanceled = Optional[Callable[[], bool]]
# The service's check of one feature's mapped values: raises FeatureProblem, or gives the order fields.
OrderFields = Callable[[Mapping[str, Any], Optional[datetime]], Dict[str, Any]]


@dataclass
class FieldMapping:
    """Order field -> QGIS expression text (a bare field name is an expression too); empty = not sent.

    `constants` are added to every payload as they are (e.g. {"pl_number": "PL-123"}).
    """

    expressions: Dict[str, str] = field(default_factory=dict)
    constants: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.expressions) - set(mappable_fields())
        if unknown:
            raise ValueError(f"unknown order fields: {', '.join(sorted(unknown))}")

    @classmethod
    def for_layer(cls, layer: QgsVectorLayer) -> "FieldMapping":
        """A starting mapping: attributes named like order fields, else a name from the layer and $id."""
        names = {f.name().lower(): f.name() for f in layer.fields()}
        expressions: Dict[str, str] = {}
        for order_field in mappable_fields():
            if order_field in names:
                expressions[order_field] = QgsExpression.quotedColumnRef(names[order_field])
        if "name" not in expressions:
            expressions["name"] = f"concat({QgsExpression.quotedString(layer.name())}, ' ', $id)"
        return cls(expressions=expressions)

    def parse_errors(self) -> Dict[str, str]:
        """Order field -> why its expression does not parse (empty when all parse)."""
        problems = {}
        for name, text in self.expressions.items():
            if text and text.strip():
                expression = QgsExpression(text)
                if expression.hasParserError():
                    problems[name] = expression.parserErrorString()
        return problems


@dataclass
class FeatureCheck:
    """One feature's verdict: the payload to send, or the problem (`code`, `reason`) that stops it."""

    feature_id: int
    payload: Optional[Dict[str, Any]] = None
    code: Optional[str] = None
    reason: Optional[str] = None
    kind: Optional[str] = None
    tasked_sqkm: Optional[float] = None
    # The feature as read (WKB in the layer's CRS, raw attribute values): journaled with a CREATE job so
    # its result layer can be rebuilt after a restart, when the layer may be gone.
    geometry_wkb: Optional[bytes] = None
    attributes: Optional[List[Any]] = None

    @property
    def ok(self) -> bool:
        return self.payload is not None


@dataclass
class ValidationReport:
    """Every feature's check, in layer order."""

    checks: List[FeatureCheck]
    layer_name: str = ""
    # The layer's name, CRS, geometry type and fields (LayerSnapshot.description()), for the journal.
    source: Dict[str, Any] = field(default_factory=dict)

    @property
    def valid(self) -> List[FeatureCheck]:
        return [c for c in self.checks if c.ok]

    @property
    def invalid(self) -> List[FeatureCheck]:
        return [c for c in self.checks if not c.ok]

    def pairs(self) -> List[Tuple[int, Dict[str, Any]]]:
        """(feature id, payload) of the valid features, ready for pricing and creation."""
        return [(c.feature_id, c.payload) for c in self.checks if c.ok]

    def reasons(self) -> Counter:
        return Counter(c.code for c in self.checks if not c.ok)


def no_crs_message(layer_name: str) -> str:
    return (f"Layer “{layer_name}” has no coordinate reference system, so its features cannot be placed on the "
            "Earth: set it in Layer Properties ▸ Source.")


class LayerSnapshot:
    """What a worker thread needs to read a layer safely: a feature source, the ids, CRS and scopes.

    Made on the main thread (QgsVectorLayerFeatureSource and the expression scopes must be), used in a task.
    Raises AoiError for a layer no feature of which could be ordered (not a valid vector layer, no CRS).
    """

    def __init__(self, layer: QgsVectorLayer, selected_only: bool = False):
        if not isinstance(layer, QgsVectorLayer) or not layer.isValid():
            raise AoiError("not_a_vector_layer", "Choose a valid vector layer whose features outline the areas to order.")
        if not layer.crs().isValid():
            # A layer-wide problem: said once, before the check, rather than as the same reason on every row.
            raise AoiError("no_crs", no_crs_message(layer.name()))
        self.layer_id = layer.id()
        self.layer_name = layer.name()
        self.source_uri = layer.source()
        self.crs = QgsCoordinateReferenceSystem(layer.crs())
        self.transform_context = QgsCoordinateTransformContext(layer.transformContext())
        self.fields = QgsFields(layer.fields())
        self.wkb_type = layer.wkbType()
        self.selected_only = selected_only
        self.feature_ids: Optional[List[int]] = sorted(layer.selectedFeatureIds()) if selected_only else None
        self.feature_count = len(self.feature_ids) if self.feature_ids is not None else layer.featureCount()
        self.source = QgsVectorLayerFeatureSource(layer)
        self.scopes = QgsExpressionContextUtils.globalProjectLayerScopes(layer)

    def description(self) -> Dict[str, Any]:
        """What rebuilding a copy of the layer needs (JSON): name, CRS, geometry type and fields."""
        return {
            "layer_id": self.layer_id, "layer_source": self.source_uri, "layer_name": self.layer_name,
            "crs": self.crs.toWkt(), "crs_authid": self.crs.authid(), "wkb_type": int(self.wkb_type),
            "fields": [{"name": f.name(), "type": compat.field_type_number(f), "type_name": f.typeName(), "length": f.length(),
                        "precision": f.precision(), "sub_type": compat.field_subtype_number(f)} for f in self.fields],
        }

    def request(self) -> QgsFeatureRequest:
        request = QgsFeatureRequest()
        if self.feature_ids is not None:
            request.setFilterFids(self.feature_ids)
        return request

    def features(self, request: Optional[QgsFeatureRequest] = None) -> Iterable[QgsFeature]:
        if self.feature_ids is not None and not self.feature_ids:
            return iter(())
        return self.source.getFeatures(request or self.request())

    def expression_context(self) -> QgsExpressionContext:
        context = QgsExpressionContext()
        for scope in self.scopes:
            context.appendScope(type(scope)(scope))  # a copy: each thread owns its context
        context.setFields(self.fields)
        return context


class _Evaluator:
    """The mapping's expressions, prepared once for one context."""

    def __init__(self, mapping: FieldMapping, context: QgsExpressionContext):
        self.context = context
        self.expressions: Dict[str, QgsExpression] = {}
        for name, text in mapping.expressions.items():
            if text and text.strip():
                expression = QgsExpression(text)
                if expression.hasParserError():
                    raise FeatureProblem("bad_expression", f"The expression for {name} does not parse: "
                                                          f"{expression.parserErrorString()}")
                expression.prepare(context)
                self.expressions[name] = expression
        self.constants = dict(mapping.constants)

    def values(self, feature: QgsFeature) -> Dict[str, Any]:
        self.context.setFeature(feature)
        values: Dict[str, Any] = dict(self.constants)
        for name, expression in self.expressions.items():
            value = expression.evaluate(self.context)
            if expression.hasEvalError():
                raise FeatureProblem("expression_error", f"The expression for {name} failed: "
                                                         f"{expression.evalErrorString()}")
            values[name] = value
        return values


def check_feature(feature: QgsFeature, evaluator: _Evaluator, validator: AoiValidator,
                  now: Optional[datetime] = None, order_fields: Optional[OrderFields] = None) -> FeatureCheck:
    """The payload of one feature, or why there is none; geometry problems come first (they are the
    most common in a layer, and AoiError's messages say where)."""
    fid = feature.id()
    geometry = feature.geometry() if feature.hasGeometry() else None
    wkb = bytes(geometry.asWkb()) if geometry is not None else None
    attributes = feature.attributes()
    try:
        aoi = validator.validate(geometry)
    except AoiError as error:
        return FeatureCheck(fid, code=error.code, reason=error.message, geometry_wkb=wkb, attributes=attributes)
    try:
        fields = (order_fields or bulk_rules().order_fields_from_values)(evaluator.values(feature), now)
    except FeatureProblem as problem:
        return FeatureCheck(fid, code=problem.code, reason=problem.message, kind=aoi.kind,
                            tasked_sqkm=aoi.tasked_sqkm, geometry_wkb=wkb, attributes=attributes)
    payload = {"name": fields.pop("name"), "geometry": aoi.geojson(), **fields}
    return FeatureCheck(fid, payload=payload, kind=aoi.kind, tasked_sqkm=aoi.tasked_sqkm, geometry_wkb=wkb,
                        attributes=attributes)


def validate_layer(snapshot: LayerSnapshot, mapping: FieldMapping, *, max_sqkm: Optional[float] = DEFAULT_MAX_SQKM,
                   now: Optional[datetime] = None, progress: Progress = None, is_canceled: IsCanceled = None,
                   limit: Optional[int] = None, service_id: Optional[str] = None) -> ValidationReport:
    """Check every feature of the snapshot (safe in a worker thread); `limit` stops after that many
    (the dialog's preview of the first rows). The payload rules are those of `service_id` (default: active).
    `max_sqkm` is the contract's area limit when the service has told it (None: unknown, see core.aoi)."""
    order_fields = bulk_rules(service_id).order_fields_from_values
    validator = AoiValidator(snapshot.crs, max_sqkm=max_sqkm, transform_context=snapshot.transform_context,
                             no_crs_message=no_crs_message(snapshot.layer_name))
    evaluator = _Evaluator(mapping, snapshot.expression_context())
    total = snapshot.feature_count if snapshot.feature_count > 0 else None
    checks: List[FeatureCheck] = []
    request = snapshot.request()
    if limit is not None:
        request.setLimit(limit)
    for index, feature in enumerate(snapshot.features(request)):
        if index % 200 == 0:
            if is_canceled is not None and is_canceled():
                raise Cancelled("Validation was cancelled.")
            if progress is not None and total:
                progress(100.0 * index / total)
        checks.append(check_feature(feature, evaluator, validator, now, order_fields))
    if progress is not None:
        progress(100.0)
    # A provider may return a filtered (selected) set in any order; the report is in feature-id order.
    checks.sort(key=lambda check: check.feature_id)
    return ValidationReport(checks, snapshot.layer_name, snapshot.description())

