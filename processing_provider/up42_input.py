"""What the UP42 algorithms share: their parameters (product, JSON params, per-feature params, name), each
feature checked (the plugin's AOI checks, the params against the product's schema) and the estimate in credits."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple

from qgis.core import (
    QgsExpression,
    QgsProcessingException,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterExpression,
    QgsProcessingParameterString,
)

from ..core import settings
from ..core.aoi import DEFAULT_MAX_SQKM, AoiError, AoiValidator
from ..core.app.bulk import LayerSnapshot
from ..core.app.bulk.layer_input import no_crs_message
from ..core.app.headless import refusal_text
from ..core.app.schema_order import aoi_geojson
from ..core.errors import Cancelled, ValidationError
from .common import SERVICE_URL, make_client
from .layer_input import INPUT, _layer_and_selection

UP42 = settings.UP42
PRODUCT = "PRODUCT"
PARAMS = "PARAMS"
FEATURE_PARAMS = "FEATURE_PARAMS"
NAME = "NAME"
# Features priced by one estimate request (one order per feature of its featureCollection).
ESTIMATE_CHUNK = 100


def up42_parameters() -> List[QgsProcessingParameterDefinition]:
    """Product, JSON params, per-feature params and name, after the input layer."""
    params = QgsProcessingParameterString(PARAMS, "Product parameters (a JSON object, checked against the product's "
                                                  "schema)", multiLine=True)
    return [
        QgsProcessingParameterString(PRODUCT, "Data product (its id or name in UP42's glossary, e.g. "
                                              "pleiades-analytic-tasking)"),
        params,
        QgsProcessingParameterExpression(FEATURE_PARAMS, "Per-feature parameters (a field or expression giving a "
                                                         "JSON object, merged over the above)", optional=True,
                                         parentLayerParameterName=INPUT),
        QgsProcessingParameterExpression(NAME, "Order name", optional=True, parentLayerParameterName=INPUT),
    ]


def make_up42_client(url: str = "") -> Any:
    """A UP42 client whatever service the dock uses; credentials from QgsAuthManager only (common.make_client)."""
    return make_client(url, UP42)


def parse_params(text: str, what: str = "Product parameters") -> Dict[str, Any]:
    """The JSON object of a params text; QgsProcessingException saying where it is not one."""
    try:
        value = json.loads(text) if text and text.strip() else None
    except ValueError as error:
        raise QgsProcessingException(f"{what} are not valid JSON: {error}") from None
    if not isinstance(value, dict):
        raise QgsProcessingException(f"{what} must be a JSON object ({{\"cloudCoverage\": 20, …}}), not "
                                     f"{type(value).__name__ if value is not None else 'empty'}.")
    return value


@dataclass
class Up42Check:
    """One feature: the order request to send, or why there is none; the feature as read, for the output."""

    feature_id: int
    body: Optional[Dict[str, Any]] = None
    reason: Optional[str] = None
    kind: Optional[str] = None
    geometry_wkb: Optional[bytes] = None
    attributes: List[Any] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.body is not None


def _feature_params(value: Any) -> Dict[str, Any]:
    """A per-feature params value (JSON text or a map); {} for none; ValueError saying why it is not one."""
    if value is None or value == "" or (hasattr(value, "isNull") and value.isNull()):
        return {}
    if isinstance(value, dict):
        return dict(value)
    try:
        parsed = json.loads(str(value))
    except ValueError as error:
        raise ValueError(f"per-feature parameters are not valid JSON: {error}") from None
    if not isinstance(parsed, dict):
        raise ValueError("per-feature parameters must be a JSON object")
    return parsed


class Up42LayerRead:
    """The input layer and the UP42 parameters, read on the main thread (prepareAlgorithm)."""

    def __init__(self, algorithm: Any, parameters: Dict[str, Any], context: Any):
        layer, selected_only = _layer_and_selection(algorithm, parameters, context)
        self.layer_name = layer.name()
        self.layer_source = layer.source()
        try:
            self.snapshot = LayerSnapshot(layer, selected_only)
        except AoiError as error:
            raise QgsProcessingException(f"Layer “{layer.name()}”: {error.message}") from None
        self.product = (algorithm.parameterAsString(parameters, PRODUCT, context) or "").strip()
        if not self.product:
            raise QgsProcessingException("Choose a data product (its id or name in UP42's glossary).")
        self.params = parse_params(algorithm.parameterAsString(parameters, PARAMS, context))
        name = algorithm.parameterAsExpression(parameters, NAME, context) or ""
        self.name_expression = name.strip() or f"concat({QgsExpression.quotedString(layer.name())}, ' ', $id)"
        self.params_expression = (algorithm.parameterAsExpression(parameters, FEATURE_PARAMS, context) or "").strip()
        for what, text in (("Order name", self.name_expression), ("Per-feature parameters", self.params_expression)):
            if text and QgsExpression(text).hasParserError():
                raise QgsProcessingException(f"The {what} expression does not parse: "
                                             f"{QgsExpression(text).parserErrorString()}")
        self.service_url = algorithm.parameterAsString(parameters, SERVICE_URL, context) or ""

    def resolve_product(self, client: Any) -> Tuple[str, str]:
        """(product id, label) of the PRODUCT parameter among UP42's tasking products."""
        products = client.data_products()
        wanted = self.product.lower()
        for product in products:
            if wanted in (product.id.lower(), product.name.lower()):
                return product.id, product.label
        known = ", ".join(f"{p.name} ({p.id})" for p in products)
        raise QgsProcessingException(f"UP42 has no tasking product “{self.product}”; its tasking products are: {known}.")

    def check(self, forms: Any, product_id: str, schema: Mapping[str, Any],
              is_canceled: Callable[[], bool]) -> List[Up42Check]:
        """Every feature's request, or why it cannot be sent (AOI, name, params against the schema), in the
        calling thread; nothing is sent here."""
        snapshot = self.snapshot
        validator = AoiValidator(snapshot.crs, max_sqkm=DEFAULT_MAX_SQKM, transform_context=snapshot.transform_context,
                                 no_crs_message=no_crs_message(snapshot.layer_name))
        context = snapshot.expression_context()
        name_expression = QgsExpression(self.name_expression)
        name_expression.prepare(context)
        params_expression = QgsExpression(self.params_expression) if self.params_expression else None
        if params_expression is not None:
            params_expression.prepare(context)
        schema_problems: Dict[str, Optional[str]] = {}  # params as JSON -> their problems against the schema

        def problems_of(params: Dict[str, Any]) -> Optional[str]:
            key = json.dumps(params, sort_keys=True, default=str)
            if key not in schema_problems:
                try:
                    forms.check_params(schema, params, "name")
                    schema_problems[key] = None
                except ValidationError as error:
                    shown = forms.form_errors(error.field_errors)
                    schema_problems[key] = "; ".join(f"{path}: {message}" if path else message
                                                     for path, message in shown.items())
            return schema_problems[key]

        checks: List[Up42Check] = []
        for index, feature in enumerate(snapshot.features()):
            if index % 200 == 0 and is_canceled():
                raise Cancelled("The check was cancelled.")
            geometry = feature.geometry() if feature.hasGeometry() else None
            check = Up42Check(feature.id(), geometry_wkb=bytes(geometry.asWkb()) if geometry is not None else None,
                              attributes=list(feature.attributes()))
            checks.append(check)
            try:
                aoi = validator.validate(geometry)
            except AoiError as error:
                check.reason = error.message
                continue
            check.kind = aoi.kind
            context.setFeature(feature)
            name = name_expression.evaluate(context)
            if name_expression.hasEvalError() or name is None or not str(name).strip():
                check.reason = ("The order name expression failed: " + name_expression.evalErrorString()
                                if name_expression.hasEvalError() else "The order name expression gives no name.")
                continue
            params = dict(self.params)
            if params_expression is not None:
                value = params_expression.evaluate(context)
                try:
                    if params_expression.hasEvalError():
                        raise ValueError(f"the per-feature parameters expression failed: "
                                         f"{params_expression.evalErrorString()}")
                    params.update(_feature_params(value))
                except ValueError as error:
                    check.reason = str(error)[:1].upper() + str(error)[1:]
                    continue
            problem = problems_of(params)
            if problem:
                check.reason = f"Parameters refused by the product's schema: {problem}"
                continue
            check.body = forms.order_request(product_id, str(name).strip(), params, aoi_geojson(aoi))
        checks.sort(key=lambda check: check.feature_id)
        return checks


@dataclass
class EstimateReport:
    """Credits per feature (and size, unit), the estimate's refusals per feature, the requests sent."""

    credits: Dict[int, float] = field(default_factory=dict)
    sizes: Dict[int, float] = field(default_factory=dict)
    units: Dict[int, str] = field(default_factory=dict)
    refusals: Dict[int, str] = field(default_factory=dict)
    requests: int = 0

    @property
    def total(self) -> float:
        return float(sum(self.credits.values()))


def estimate_checks(client: Any, checks: List[Up42Check], progress: Callable[[float], None],
                    is_canceled: Callable[[], bool]) -> EstimateReport:
    """The estimate of the valid checks: one request per up to ESTIMATE_CHUNK features with the same params
    (one order per feature of its featureCollection), each order's credits by index."""
    report = EstimateReport()
    groups: Dict[str, List[Up42Check]] = {}
    for check in checks:
        if check.ok:
            groups.setdefault(json.dumps(check.body["params"], sort_keys=True, default=str), []).append(check)
    chunks = [group[i:i + ESTIMATE_CHUNK] for group in groups.values() for i in range(0, len(group), ESTIMATE_CHUNK)]
    for number, chunk in enumerate(chunks):
        if is_canceled():
            raise Cancelled("The estimate was cancelled.")
        body = dict(chunk[0].body)
        body["featureCollection"] = {"type": "FeatureCollection", "features": [
            feature for check in chunk for feature in check.body["featureCollection"]["features"]]}
        estimate = client.estimate(body)
        report.requests += 1
        for result in estimate.results:
            index = int(result.get("index", -1))
            if 0 <= index < len(chunk):
                fid = chunk[index].feature_id
                report.credits[fid] = float(result.get("credits") or 0)
                report.sizes[fid] = float(result.get("size") or 0)
                report.units[fid] = str(result.get("unit") or estimate.unit)
        for problem in estimate.errors:
            if 0 <= problem.index < len(chunk):
                report.refusals[chunk[problem.index].feature_id] = "UP42 refused it: " + refusal_text(
                    problem.field_errors, problem.message)
        progress(100.0 * (number + 1) / len(chunks))
    return report
