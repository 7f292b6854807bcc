"""Bulk tasking from a layer: payloads from attributes/expressions, per-feature validation, list pricing, journaled bulk create/edit/cancel."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple, Union

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransformContext,
    QgsExpression,
    QgsExpressionContext,
    QgsExpressionContextUtils,
    QgsFeature,
    QgsFeatureRequest,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsMemoryProviderUtils,
    QgsVectorLayer,
    QgsVectorLayerFeatureSource,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QByteArray, QDate, QDateTime, Qt, QTime, QVariant

from .aoi import DEFAULT_MAX_SQKM, AoiError, AoiValidator
from .bulk_journal import (
    CHUNK_ACCEPTED,
    CHUNK_COMPLETE,
    CHUNK_REJECTED,
    CHUNK_SENDING,
    CHUNK_WITHDRAWN,
    CHUNK_WRITTEN,
    BulkJournal,
    JournalChunk,
    JournalJob,
    SourceFeature,
)
from .errors import (
    ApiError,
    Cancelled,
    NotFoundError,
    ValidationError,
    WaitTimeout,
    field_errors_from_body,
    field_errors_text,
)
from .log import get_logger
from .services.planet_tasking import rules as order_rules
from .services.planet_tasking.client import MAX_BULK_PAYLOADS, same_geometry
from .services.planet_tasking.models import ORDER_TYPES, Order, Pricing, parse_time
from .services.planet_tasking.rules import is_charge_refusal

LOGGER = get_logger("bulk")

# The order fields a user maps to attributes or expressions, in the dialog's order.
MAPPABLE_FIELDS = ("name", "start_time", "end_time", "order_type", "n_stereo_pov", "exclusivity_days",
                   "pl_number", "product")
TIME_FIELDS = ("start_time", "end_time")
INTEGER_FIELDS = ("n_stereo_pov", "exclusivity_days")

# Pricing: the list form of POST /pricing/ has no documented size limit. 1000 is the largest list of
# order payloads any documented endpoint takes (bulk create), so the same chunks are priced and then
# created; ~1000 polygons make a body of a few hundred kB, which no gateway refuses, and a failed
# request costs re-pricing 1000, not the whole layer. A 413 halves the chunk for the rest of the run.
PRICING_CHUNK_SIZE = 1000
BULK_CHUNK_SIZE = MAX_BULK_PAYLOADS

Progress = Optional[Callable[[float], Any]]
IsCanceled = Optional[Callable[[], bool]]
# (chunk index, chunk count, bulk state or phase, payloads done, payloads in the chunk)
ChunkProgress = Optional[Callable[[int, int, str, int, int], Any]]


# --- Field mapping and per-feature payloads -------------------------------------------------------------


@dataclass
class FieldMapping:
    """Order field -> QGIS expression text (a bare field name is an expression too); empty = not sent.

    `constants` are added to every payload as they are (e.g. {"pl_number": "PL-123"}).
    """

    expressions: Dict[str, str] = field(default_factory=dict)
    constants: Dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.expressions) - set(MAPPABLE_FIELDS)
        if unknown:
            raise ValueError(f"unknown order fields: {', '.join(sorted(unknown))}")

    @classmethod
    def for_layer(cls, layer: QgsVectorLayer) -> "FieldMapping":
        """A starting mapping: attributes named like order fields, else a name from the layer and $id."""
        names = {f.name().lower(): f.name() for f in layer.fields()}
        expressions: Dict[str, str] = {}
        for order_field in MAPPABLE_FIELDS:
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


class FeatureProblem(ValueError):
    """Why one feature's attributes cannot make an order payload: `code` and a sentence for the user."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def _is_null(value: Any) -> bool:
    return value is None or (isinstance(value, QVariant) and value.isNull())


def time_text(value: Any, what: str) -> Optional[str]:
    """An expression's value as the service's UTC time text (None for NULL); naive means UTC."""
    if _is_null(value):
        return None
    if isinstance(value, QDateTime):
        if not value.isValid():
            raise FeatureProblem("bad_time", f"{what} is not a valid date and time.")
        moment = value.toUTC().toPyDateTime().replace(tzinfo=timezone.utc)
    elif isinstance(value, QDate):
        if not value.isValid():
            raise FeatureProblem("bad_time", f"{what} is not a valid date.")
        moment = datetime(value.year(), value.month(), value.day(), tzinfo=timezone.utc)
    elif isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            moment = parse_time(text)
        except ValueError:
            raise FeatureProblem("bad_time", (
                f"{what} {text!r} is not a date and time: use ISO 8601, e.g. 2025-06-01T00:00:00Z.")) from None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _integer(value: Any, what: str) -> Optional[int]:
    if _is_null(value) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FeatureProblem("bad_number", f"{what} {value!r} is not a whole number.") from None
    if not number.is_integer():
        raise FeatureProblem("bad_number", f"{what} {value!r} is not a whole number.")
    return int(number)


def order_fields_from_values(values: Mapping[str, Any], now: Optional[datetime] = None) -> Dict[str, Any]:
    """Checked order fields from the mapped values (raises FeatureProblem with the first thing to fix).

    Mirrors the service's rules (planet-tasking-api.txt): a name of 1-255 characters, order type IMAGE or
    STEREO, n_stereo_pov 2 or 3 for STEREO, exclusivity 0-30 days, end after start (and after `now`).
    """
    payload: Dict[str, Any] = {}
    name = values.get("name")
    if _is_null(name) or not str(name).strip():
        raise FeatureProblem("missing_name", "The order name is empty: map the name to a field or expression "
                                             "that gives every feature a name.")
    name = str(name).strip()
    if order_rules.name_length_problem(name):
        raise FeatureProblem("name_too_long", order_rules.name_length_problem(name))
    payload["name"] = name
    start = time_text(values.get("start_time"), "The start time")
    end = time_text(values.get("end_time"), "The end time")
    if start and end and parse_time(end) <= parse_time(start):
        raise FeatureProblem("end_before_start", f"The end time {end} is not after the start time {start}.")
    if end and now is not None and parse_time(end) <= now:
        raise FeatureProblem("end_in_past", f"The end time {end} is in the past.")
    if start:
        payload["start_time"] = start
    if end:
        payload["end_time"] = end
    order_type = values.get("order_type")
    order_type = None if _is_null(order_type) or not str(order_type).strip() else str(order_type).strip().upper()
    if order_type is not None and order_type not in ORDER_TYPES:
        raise FeatureProblem("bad_order_type", f"The order type {values.get('order_type')!r} is not one of "
                                               f"{', '.join(ORDER_TYPES)}.")
    if order_type:
        payload["order_type"] = order_type
    if order_type == "STEREO":
        pov = _integer(values.get("n_stereo_pov"), "The number of stereo points of view")
        if order_rules.stereo_pov_problem(order_type, pov):
            raise FeatureProblem("bad_stereo_pov", order_rules.stereo_pov_problem(order_type, pov))
        payload["n_stereo_pov"] = pov
    # n_stereo_pov on an IMAGE order means nothing to the service (which refuses it): it is left out.
    days = _integer(values.get("exclusivity_days"), "The exclusivity days")
    if days is not None:
        if order_rules.exclusivity_problem(days):
            raise FeatureProblem("bad_exclusivity", order_rules.exclusivity_problem(days))
        payload["exclusivity_days"] = days
    for text_field in ("pl_number", "product"):
        value = values.get(text_field)
        if not _is_null(value) and str(value).strip():
            payload[text_field] = str(value).strip()
    return payload


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


def _no_crs_message(layer_name: str) -> str:
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
            raise AoiError("no_crs", _no_crs_message(layer.name()))
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
            "fields": [{"name": f.name(), "type": int(f.type()), "type_name": f.typeName(), "length": f.length(),
                        "precision": f.precision(), "sub_type": int(f.subType())} for f in self.fields],
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
                  now: Optional[datetime] = None) -> FeatureCheck:
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
        fields = order_fields_from_values(evaluator.values(feature), now)
    except FeatureProblem as problem:
        return FeatureCheck(fid, code=problem.code, reason=problem.message, kind=aoi.kind,
                            tasked_sqkm=aoi.tasked_sqkm, geometry_wkb=wkb, attributes=attributes)
    payload = {"name": fields.pop("name"), "geometry": aoi.geojson(), **fields}
    return FeatureCheck(fid, payload=payload, kind=aoi.kind, tasked_sqkm=aoi.tasked_sqkm, geometry_wkb=wkb,
                        attributes=attributes)


def validate_layer(snapshot: LayerSnapshot, mapping: FieldMapping, *, max_sqkm: float = DEFAULT_MAX_SQKM,
                   now: Optional[datetime] = None, progress: Progress = None, is_canceled: IsCanceled = None,
                   limit: Optional[int] = None) -> ValidationReport:
    """Check every feature of the snapshot (safe in a worker thread); `limit` stops after that many
    (the dialog's preview of the first rows)."""
    validator = AoiValidator(snapshot.crs, max_sqkm=max_sqkm, transform_context=snapshot.transform_context,
                             no_crs_message=_no_crs_message(snapshot.layer_name))
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
        checks.append(check_feature(feature, evaluator, validator, now))
    if progress is not None:
        progress(100.0)
    # A provider may return a filtered (selected) set in any order; the report is in feature-id order.
    checks.sort(key=lambda check: check.feature_id)
    return ValidationReport(checks, snapshot.layer_name, snapshot.description())


# --- Pricing -------------------------------------------------------------------------------------------------


@dataclass
class PricingReport:
    """Prices per feature (partial failures apart), their total, and how many requests it took."""

    prices: Dict[int, Pricing] = field(default_factory=dict)
    failures: Dict[int, str] = field(default_factory=dict)
    requests: int = 0
    server_total: float = 0.0
    units: Optional[str] = None

    @property
    def total(self) -> float:
        """The sum of the per-feature prices (what the service's totals add up to)."""
        return round(sum(p.estimated_quota_cost or 0.0 for p in self.prices.values()), 3)

    def cost(self, feature_id: int) -> Optional[float]:
        pricing = self.prices.get(feature_id)
        return None if pricing is None else pricing.estimated_quota_cost


def chunked(items: Sequence[Any], size: int) -> List[Sequence[Any]]:
    if size < 1:
        raise ValueError("a chunk holds at least one item")
    return [items[start:start + size] for start in range(0, len(items), size)]


def price_payloads(client: Any, pairs: Sequence[Tuple[int, Mapping[str, Any]]], *,
                   chunk_size: int = PRICING_CHUNK_SIZE, progress: Progress = None,
                   is_canceled: IsCanceled = None) -> PricingReport:
    """Price (feature id, payload) pairs through the list form of POST /pricing/, `chunk_size` per request."""
    report = PricingReport()
    done = 0
    position = 0
    size = chunk_size
    while position < len(pairs):
        if is_canceled is not None and is_canceled():
            raise Cancelled("Pricing was cancelled.")
        batch = pairs[position:position + size]
        try:
            report.requests += 1
            preview = client.preview_pricing_list([p for _, p in batch])
        except ApiError as error:
            if error.status == 413 and size > 1:
                size = max(1, size // 2)
                LOGGER.warning("pricing list of %d payloads was too large; sending %d at a time", len(batch), size)
                continue
            raise
        details = preview.pricing_details
        if len(details) != len(batch):
            raise ApiError(f"The pricing answer holds {len(details)} prices for {len(batch)} orders; "
                           "it cannot be matched to the features.")
        for (feature_id, _), pricing in zip(batch, details):
            if pricing.error or pricing.estimated_quota_cost is None:
                report.failures[feature_id] = pricing.error or "No price was given."
            else:
                report.prices[feature_id] = pricing
                report.units = report.units or pricing.units
        report.server_total = round(report.server_total + preview.total_estimated_quota_cost, 3)
        position += len(batch)
        done += len(batch)
        if progress is not None:
            progress(100.0 * done / len(pairs))
    return report


# --- Bulk jobs: journal first, then send, follow and read back ---------------------------------------------


def readable_error(error: Optional[str]) -> Optional[str]:
    """The service's per-payload error (JSON text such as {"geometry": ["..."]}) as one sentence."""
    if not error:
        return error
    return field_errors_text(field_errors_from_body(error)) or error


def needs_cancellation_charge(error: Optional[str]) -> bool:
    """Whether a payload's error is the charged-cancellation refusal (accept the charge to cancel)."""
    return bool(error) and is_charge_refusal(error)


@dataclass
class ItemOutcome:
    """One payload's fate: `order_id` when done, `error` when refused, neither while still pending."""

    feature_id: Optional[int]
    payload: Dict[str, Any]
    order_id: Optional[str] = None
    error: Optional[str] = None
    chunk_state: str = CHUNK_WRITTEN

    @property
    def ok(self) -> bool:
        return self.order_id is not None and not self.error

    @property
    def pending(self) -> bool:
        return not self.ok and not self.error


@dataclass
class BulkOutcome:
    """All payloads of a job with their results, and the chunks still to follow."""

    job_id: str
    operation: str
    items: List[ItemOutcome]
    chunk_states: List[str]
    # feature id -> why it was not sent (invalid features the user chose to skip; journaled with the job).
    skipped: Dict[int, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> List[ItemOutcome]:
        return [i for i in self.items if i.ok]

    @property
    def failed(self) -> List[ItemOutcome]:
        return [i for i in self.items if i.error]

    @property
    def pending(self) -> List[ItemOutcome]:
        return [i for i in self.items if i.pending]

    @property
    def finished(self) -> bool:
        return not self.pending

    def reasons(self) -> Counter:
        return Counter(readable_error(i.error) for i in self.items if i.error)

    def by_feature(self) -> Dict[int, ItemOutcome]:
        return {i.feature_id: i for i in self.items if i.feature_id is not None}

    def summary(self, top: int = 5) -> str:
        verb = {"CREATE": "created", "EDIT": "edited", "CANCEL": "cancelled"}.get(self.operation, "done")
        text = f"{len(self.succeeded)} {verb}, {len(self.failed)} failed"
        if self.pending:
            text += f", {len(self.pending)} still processing"
        reasons = self.reasons().most_common(top)
        if reasons:
            text += ". Why: " + "; ".join(f"{count} × {reason}" for reason, count in reasons)
        if not text.endswith("."):  # the server's messages usually end with one already
            text += "."
        if self.skipped:
            text += f" {len(self.skipped)} invalid feature{'s were' if len(self.skipped) != 1 else ' was'} not sent."
        return text


def _payload_key(payload: Mapping[str, Any]) -> str:
    return json.dumps([payload.get("name"), payload.get("geometry")], sort_keys=True)


def match_results(operation: str, items: Sequence[Any], results: Sequence[Any]) -> Dict[int, Tuple[Optional[str], Optional[str]]]:
    """position -> (order_id, error) for a chunk's journal items from the service's /payloads/ listing.

    The listing is in the order sent (as in the documented example) and is matched by position when the
    payload there is the one sent; otherwise by order id (edit/cancel) or by name and geometry (create),
    so a service that lists in another order still gives each feature its own result.
    """
    outcomes: Dict[int, Tuple[Optional[str], Optional[str]]] = {}

    def same(item: Any, result: Any) -> bool:
        sent, got = item.payload, result.payload
        if operation != "CREATE":
            return str(sent.get("id")) == str(got.get("id"))
        if sent.get("name") != got.get("name"):
            return False
        # Plain equality first: the service normally echoes the geometry as sent, and comparing dicts in C
        # is ~20x cheaper than same_geometry's walk, which stays for a reformatted echo.
        return sent.get("geometry") == got.get("geometry") or same_geometry(sent.get("geometry"), got.get("geometry"))

    unmatched: List[Any] = []
    for index, result in enumerate(results):
        if index < len(items) and same(items[index], result) and items[index].position not in outcomes:
            outcomes[items[index].position] = (result.order_id, result.error)
        else:
            unmatched.append(result)
    if unmatched:
        waiting: Dict[str, List[Any]] = {}
        for item in items:
            if item.position not in outcomes:
                key = str(item.payload.get("id")) if operation != "CREATE" else _payload_key(item.payload)
                waiting.setdefault(key, []).append(item)
        for result in unmatched:
            key = str(result.payload.get("id")) if operation != "CREATE" else _payload_key(result.payload)
            candidates = waiting.get(key) or [i for i in items if i.position not in outcomes and same(i, result)]
            if candidates:
                item = candidates.pop(0)
                outcomes[item.position] = (result.order_id, result.error)
    return outcomes


@dataclass(frozen=True)
class ChunkState:
    """What a running job last said about one chunk: its bulk state or phase and how many payloads are done."""

    seq: int
    count: int
    state: str
    done: int
    size: int


class BulkJob:
    """A bulk CREATE, EDIT or CANCEL of any size: written to the journal first, then sent in chunks of
    ≤ 1000 (each under its own UUID), followed to COMPLETE and read back per payload.

    Nothing here keeps state outside the journal but the progress last reported (chunk_states): a new
    BulkJob made by `resume` after a crash knows everything the lost one knew. A chunk is re-sent only under its own UUID, and only after asking the
    service whether it already has that UUID, so no order is ever made twice.
    """

    def __init__(self, journal: BulkJournal, job_id: str):
        self.journal = journal
        self.job_id = job_id
        # Written by run() in a task's worker thread, read by the dialog on the GUI thread (its progress bars):
        # the worker only records, so it never touches a widget or emits a signal whose receiver may be gone.
        self._states_lock = threading.Lock()
        self._chunk_states: Dict[int, ChunkState] = {}

    # -- making and finding jobs ------------------------------------------------------------------

    @classmethod
    def start(cls, journal: BulkJournal, operation: str, pairs: Sequence[Tuple[Optional[int], Mapping[str, Any]]],
              base_url: str, *, title: str = "", source: Optional[Dict[str, Any]] = None,
              chunk_size: int = BULK_CHUNK_SIZE, features: Optional[Sequence[SourceFeature]] = None) -> "BulkJob":
        """Write a new job to the journal (nothing is sent yet); `features` (journal_features) let the
        result layer be rebuilt from the journal alone, and `source` then holds the layer's description."""
        operation = operation.upper()
        if operation not in ("CREATE", "EDIT", "CANCEL"):
            raise ValueError("operation must be CREATE, EDIT or CANCEL")
        if not pairs:
            raise ValueError("a bulk job needs at least one payload")
        if not 1 <= chunk_size <= MAX_BULK_PAYLOADS:
            raise ValueError(f"chunks hold 1 to {MAX_BULK_PAYLOADS} payloads")
        chunks = [[(fid, dict(payload)) for fid, payload in chunk] for chunk in chunked(list(pairs), chunk_size)]
        job = journal.add_job(operation, base_url, chunks, title=title, source=source, features=features)
        LOGGER.info("bulk %s job %s written to the journal: %d payloads in %d chunks", operation, job.job_id,
                    len(pairs), len(chunks))
        return cls(journal, job.job_id)

    @classmethod
    def resume(cls, journal: BulkJournal, job_id: str) -> "BulkJob":
        if journal.job(job_id, with_items=False) is None:
            raise KeyError(f"no bulk job {job_id} in the journal")
        return cls(journal, job_id)

    def job(self, with_items: bool = True) -> JournalJob:
        job = self.journal.job(self.job_id, with_items=with_items)
        if job is None:
            raise KeyError(f"bulk job {self.job_id} is no longer in the journal")
        return job

    # -- running ----------------------------------------------------------------------------------

    def run(self, client: Any, *, progress: Progress = None, on_chunk: ChunkProgress = None,
            is_canceled: IsCanceled = None, poll: float = 1.0, max_poll: float = 10.0,
            timeout: Optional[float] = None, max_chunks_to_send: Optional[int] = None) -> BulkOutcome:
        """Send every chunk not yet at the service, then follow each to COMPLETE and store its results.

        Cancelling while chunks are still unsent withdraws those (they will never be sent); chunks already
        at the service keep processing there and stay in the journal, to be followed later (`run` again
        or `resume`). `max_chunks_to_send` stops after sending that many (tests: a run killed mid-way).
        `on_chunk` is called on the thread running this (a task's worker thread): a dialog reads
        chunk_states() on the GUI thread instead of passing anything that touches Qt objects.
        """
        # Chunks are read without their payloads; each chunk's are read only when it is sent or read back
        # (decoding every payload of a 5000-order job once per step was the journal's main cost).
        job = self.job(with_items=False)
        self._check_service(client, job)
        count = len(job.chunks)
        sent = 0
        for chunk in job.chunks:
            if chunk.state not in (CHUNK_WRITTEN, CHUNK_SENDING):
                continue
            if max_chunks_to_send is not None and sent >= max_chunks_to_send:
                return self.outcome()
            if is_canceled is not None and is_canceled():
                self._withdraw_unsent()
                raise Cancelled("The bulk was cancelled before every chunk was sent; the unsent ones were withdrawn.")
            self._report(on_chunk, chunk.seq, count, "SENDING", 0, chunk.size)
            self.send_chunk(client, chunk)
            sent += 1
            state = "REJECTED" if chunk.state == CHUNK_REJECTED else "PENDING"  # send_chunk set it
            self._report(on_chunk, chunk.seq, count, state, 0, chunk.size)
        job = self.job(with_items=False)
        total_items = sum(c.size for c in job.chunks) or 1
        finished_items = sum(c.size for c in job.chunks if c.is_finished)
        for chunk in job.chunks:
            if chunk.state != CHUNK_ACCEPTED:
                if chunk.state == CHUNK_COMPLETE:
                    self._report(on_chunk, chunk.seq, count, "COMPLETE", chunk.size, chunk.size)
                continue
            base = finished_items

            def chunk_progress(percent: float, chunk: JournalChunk = chunk, base: int = base) -> None:
                if progress is not None:
                    progress(100.0 * (base + chunk.size * percent / 100.0) / total_items)

            self.follow_chunk(client, chunk, count, progress=chunk_progress, on_chunk=on_chunk,
                              is_canceled=is_canceled, poll=poll, max_poll=max_poll, timeout=timeout)
            finished_items += chunk.size
        self.journal.finish_job_if_done(self.job_id)
        if progress is not None:
            progress(100.0)
        return self.outcome()

    def _check_service(self, client: Any, job: JournalJob) -> None:
        # A job written against the sandbox must never be sent to the real service (or the reverse).
        base_url = getattr(client, "base_url", None)
        if base_url and base_url.rstrip("/") != job.base_url.rstrip("/"):
            raise ValueError(f"This bulk job was made for {job.base_url}, but the client calls {base_url}: "
                             "switch the plugin back to that service to follow it.")

    def _withdraw_unsent(self) -> None:
        for chunk in self.job(with_items=False).chunks:
            if chunk.state == CHUNK_WRITTEN:
                self.journal.set_chunk_state(chunk.bulk_id, CHUNK_WITHDRAWN, error="Withdrawn before sending.")
        self.journal.finish_job_if_done(self.job_id)

    @staticmethod
    def _exists(client: Any, bulk_id: str) -> Optional[Any]:
        try:
            return client.get_bulk(bulk_id)
        except NotFoundError:
            return None

    def send_chunk(self, client: Any, chunk: JournalChunk) -> None:
        """Get one chunk to the service exactly once (state WRITTEN or SENDING -> ACCEPTED or REJECTED).

        A SENDING chunk was perhaps received before QGIS stopped or the network failed: the service is
        asked for its UUID first, and only a 404 lets it be sent again (under the same UUID, so even a
        race ends in "already exists", which is read as "received").
        """
        job_operation = self.job(with_items=False).operation
        if not chunk.items and chunk.size:
            chunk.items = self.journal.chunk_items(chunk.bulk_id)
        if chunk.state == CHUNK_SENDING:
            found = self._exists(client, chunk.bulk_id)
            if found is not None:
                LOGGER.info("bulk %s was already received; following it instead of sending it again", chunk.bulk_id)
                self.journal.set_chunk_state(chunk.bulk_id, CHUNK_ACCEPTED, bulk_status=found.raw)
                chunk.state = CHUNK_ACCEPTED
                return
        self.journal.set_chunk_state(chunk.bulk_id, CHUNK_SENDING, count_attempt=True)
        chunk.state = CHUNK_SENDING
        payloads = [item.payload for item in chunk.items]
        try:
            returned = client.create_bulk(payloads, job_operation, bulk_id=chunk.bulk_id)
        except ValidationError as error:
            if "id" in error.field_errors and self._exists(client, chunk.bulk_id) is not None:
                self.journal.set_chunk_state(chunk.bulk_id, CHUNK_ACCEPTED)
                chunk.state = CHUNK_ACCEPTED
                return
            # The service refused the request as a whole: nothing of it was made; say why on every item.
            self.journal.set_chunk_state(chunk.bulk_id, CHUNK_REJECTED, error=error.message)
            chunk.state = CHUNK_REJECTED
            chunk.error = error.message
            return
        if returned != chunk.bulk_id:
            LOGGER.warning("the service named bulk %s as %s; following it by the name it gave", chunk.bulk_id, returned)
        self.journal.set_chunk_state(chunk.bulk_id, CHUNK_ACCEPTED)
        chunk.state = CHUNK_ACCEPTED

    def follow_chunk(self, client: Any, chunk: JournalChunk, count: int = 1, *, progress: Progress = None,
                     on_chunk: ChunkProgress = None, is_canceled: IsCanceled = None, poll: float = 1.0,
                     max_poll: float = 10.0, timeout: Optional[float] = None) -> None:
        """Wait until the chunk is COMPLETE at the service, then store each payload's order or error."""
        if not chunk.items and chunk.size:
            chunk.items = self.journal.chunk_items(chunk.bulk_id)
        size = len(chunk.items)
        last_state: Dict[str, Any] = {}

        def on_progress(percent: float) -> None:
            if progress is not None:
                progress(percent)

        def watch() -> Any:
            status = client.get_bulk(chunk.bulk_id)
            last_state["status"] = status
            self._report(on_chunk, chunk.seq, count, status.status,
                         status.successful_payload_count + status.failed_payload_count, status.payload_count or size)
            return status

        status = _wait(client, watch, poll=poll, max_poll=max_poll, is_canceled=is_canceled, timeout=timeout,
                       progress=on_progress, what=f"bulk {chunk.bulk_id}")
        self.journal.set_chunk_status(chunk.bulk_id, status.raw)
        results = list(client.iter_bulk_payloads(chunk.bulk_id, page_size=MAX_BULK_PAYLOADS, is_canceled=is_canceled))
        outcomes = match_results(self.job(with_items=False).operation, chunk.items, results)
        missing = [item.position for item in chunk.items if item.position not in outcomes]
        for position in missing:
            outcomes[position] = (None, "The service listed no result for this payload.")
        self.journal.complete_chunk(chunk.bulk_id, outcomes, status.raw)
        chunk.state = CHUNK_COMPLETE
        self._report(on_chunk, chunk.seq, count, "COMPLETE", size, size)

    def _report(self, on_chunk: ChunkProgress, seq: int, count: int, state: str, done: int, size: int) -> None:
        with self._states_lock:
            self._chunk_states[seq] = ChunkState(seq, count, state, done, size)
        if on_chunk is not None:
            on_chunk(seq, count, state, done, size)

    def chunk_states(self) -> List[ChunkState]:
        """The chunks run() has reported on so far, by index; safe to call from any thread while it runs."""
        with self._states_lock:
            return [self._chunk_states[seq] for seq in sorted(self._chunk_states)]

    # -- results ----------------------------------------------------------------------------------

    def outcome(self) -> BulkOutcome:
        job = self.job()
        items: List[ItemOutcome] = []
        for chunk in job.chunks:
            for item in chunk.items:
                error = item.error
                if chunk.state == CHUNK_REJECTED and not error:
                    error = chunk.error or "The service refused this bulk request."
                elif chunk.state == CHUNK_WITHDRAWN and not error:
                    error = "Not sent: the bulk was cancelled before this part was sent."
                items.append(ItemOutcome(item.feature_id, item.payload, item.order_id, error, chunk.state))
        return BulkOutcome(job.job_id, job.operation, items, [c.state for c in job.chunks],
                           self.journal.skipped_features(self.job_id))

    def result_layer(self, name: Optional[str] = None) -> Optional[QgsVectorLayer]:
        """The result layer of a CREATE job, from the journal alone (journal_result_layer)."""
        return journal_result_layer(self.journal, self.job_id, name=name)


def _wait(client: Any, fetch: Callable[[], Any], *, poll: float, max_poll: float, is_canceled: IsCanceled,
          timeout: Optional[float], progress: Progress, what: str) -> Any:
    """Poll `fetch` until the bulk is COMPLETE, backing off from `poll` to `max_poll` seconds.

    Sleeps through the client's `sleep` (tests make it move the sandbox's simulated clock) in slices of at
    most half a second, so a cancel is honoured quickly; waited time is counted from the sleeps asked for.
    """
    sleep = getattr(client, "sleep", None) or time.sleep
    waited, delay = 0.0, max(0.05, poll)
    while True:
        if is_canceled is not None and is_canceled():
            raise Cancelled(f"Waiting for the {what} was cancelled; it goes on at the service.")
        status = fetch()
        if progress is not None:
            done = status.successful_payload_count + status.failed_payload_count
            progress(100.0 if status.is_complete else
                     (min(99.0, 100.0 * done / status.payload_count) if status.payload_count else 0.0))
        if status.is_complete:
            return status
        if timeout is not None and waited >= timeout:
            raise WaitTimeout(f"The {what} had not finished after {waited:.0f} s; it goes on at the service and "
                              "stays in the journal, to be followed later.")
        remaining = delay
        while remaining > 1e-9:
            if is_canceled is not None and is_canceled():
                raise Cancelled(f"Waiting for the {what} was cancelled; it goes on at the service.")
            step = min(0.5, remaining)
            sleep(step)
            remaining -= step
        waited += delay
        delay = min(max_poll, delay * 1.5)


def unfinished_jobs(journal: BulkJournal, base_url: Optional[str] = None) -> List[JournalJob]:
    """Jobs a previous session left open (for `base_url` only, when given)."""
    return journal.unfinished_jobs(base_url)


def resume_jobs(journal: BulkJournal, client: Any, *, is_canceled: IsCanceled = None, progress: Progress = None,
                poll: float = 1.0, timeout: Optional[float] = None) -> List[BulkOutcome]:
    """Follow every open job of the client's service to its end (used at QGIS start)."""
    outcomes = []
    jobs = journal.unfinished_jobs(getattr(client, "base_url", None))
    for index, job in enumerate(jobs):
        def job_progress(percent: float, index: int = index) -> None:
            if progress is not None:
                progress((index + percent / 100.0) * 100.0 / len(jobs))

        outcomes.append(BulkJob(journal, job.job_id).run(client, progress=job_progress, is_canceled=is_canceled,
                                                         poll=poll, timeout=timeout))
    return outcomes


# --- Bulk edit and cancel ----------------------------------------------------------------------------------


OrderOrStatus = Union[Order, str, None]


def _as_order(order_id: str, known: OrderOrStatus) -> Optional[Order]:
    if known is None or known == "":
        return None
    if isinstance(known, Order):
        return known
    return Order(id=order_id, status=str(known))


def edit_problem(order_id: str, known: OrderOrStatus, *, start_time: bool, end_time: bool) -> Optional[str]:
    """Why the order cannot take the edit (core.services.planet_tasking.rules: state table, assured times), or None.

    `known` is the order or just its status; unknown (None): the service decides, per payload.
    """
    order = _as_order(order_id, known)
    if order is None:
        return None
    for wanted, allowed in ((start_time, order_rules.can_edit_start_time), (end_time, order_rules.can_edit_end_time)):
        if wanted:
            permission = allowed(order)
            if not permission:
                return permission.reason
    return None


def cancel_problem(order_id: str, known: OrderOrStatus, now: Optional[datetime] = None) -> Optional[str]:
    """Why the order cannot be cancelled in bulk (only PENDING and IN_PROGRESS, and still cancellable), or None."""
    order = _as_order(order_id, known)
    if order is None:
        return None
    permission = order_rules.can_bulk_cancel(order, now)
    return None if permission else permission.reason


def _unique(order_ids: Iterable[str]) -> List[str]:
    seen, unique = set(), []
    for order_id in order_ids:
        text = str(order_id).strip()
        if text and text not in seen:
            seen.add(text)
            unique.append(text)
    return unique


def edit_pairs(order_ids: Iterable[str], *, start_time: Any = None, end_time: Any = None,
               statuses: Optional[Mapping[str, OrderOrStatus]] = None) -> Tuple[List[Tuple[None, Dict[str, Any]]], Dict[str, str]]:
    """Bulk EDIT payloads ({"id", "start_time"?, "end_time"?}) and the orders left out with why."""
    if start_time is None and end_time is None:
        raise ValueError("an edit changes the start time, the end time or both")
    start = time_text(start_time, "The start time") if start_time is not None else None
    end = time_text(end_time, "The end time") if end_time is not None else None
    if start and end and parse_time(end) <= parse_time(start):
        raise ValueError(f"the end time {end} is not after the start time {start}")
    pairs, skipped = [], {}
    for order_id in _unique(order_ids):
        problem = edit_problem(order_id, (statuses or {}).get(order_id), start_time=start is not None,
                               end_time=end is not None)
        if problem:
            skipped[order_id] = problem
            continue
        payload: Dict[str, Any] = {"id": order_id}
        if start:
            payload["start_time"] = start
        if end:
            payload["end_time"] = end
        pairs.append((None, payload))
    return pairs, skipped


def cancel_pairs(order_ids: Iterable[str], *, accept_cancellation_charge: bool = False,
                 statuses: Optional[Mapping[str, OrderOrStatus]] = None, now: Optional[datetime] = None) -> Tuple[List[Tuple[None, Dict[str, Any]]], Dict[str, str]]:
    """Bulk CANCEL payloads ({"id", "accept_cancellation_charge"?}) and the orders left out with why."""
    pairs, skipped = [], {}
    for order_id in _unique(order_ids):
        problem = cancel_problem(order_id, (statuses or {}).get(order_id), now)
        if problem:
            skipped[order_id] = problem
            continue
        payload: Dict[str, Any] = {"id": order_id}
        if accept_cancellation_charge:
            # planet-tasking-api.txt, bulk "Charged cancellation": the acceptance travels in each payload.
            payload["accept_cancellation_charge"] = True
        pairs.append((None, payload))
    return pairs, skipped


def charge_refused_ids(outcome: BulkOutcome) -> List[str]:
    """Orders a CANCEL bulk left alone because their cancellation would be charged."""
    return [str(i.payload.get("id")) for i in outcome.items if needs_cancellation_charge(i.error)]


# --- Result layer ------------------------------------------------------------------------------------------


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
    fields.append(QgsField(order_field, QVariant.String))
    error_field = _free_name(fields, "error")
    fields.append(QgsField(error_field, QVariant.String))
    cost_field = None
    if prices is not None:
        cost_field = _free_name(fields, "estimated_cost")
        fields.append(QgsField(cost_field, QVariant.Double))
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
    return copy


def _json_value(value: Any) -> Any:
    """An attribute value as JSON (restored to the field's type by QgsField.convertCompatible)."""
    if _is_null(value):
        return None
    if isinstance(value, QDateTime):
        return value.toString(Qt.ISODateWithMs)
    if isinstance(value, (QDate, QTime)):
        return value.toString(Qt.ISODate)
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
        fields.append(QgsField(spec["name"], QVariant.Type(spec.get("type", QVariant.String)),
                               spec.get("type_name", ""), spec.get("length", 0), spec.get("precision", 0), "",
                               QVariant.Type(spec.get("sub_type", QVariant.Invalid))))
    return fields


def _restored_value(qgs_field: QgsField, value: Any) -> Any:
    if value is None:
        return None
    if qgs_field.type() == QVariant.ByteArray and isinstance(value, str):
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
        wkb_type = QgsWkbTypes.Type(source.get("wkb_type", QgsWkbTypes.Unknown))
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
        from .layers import geojson_to_geometry

        fields = QgsFields()
        fields.append(QgsField("feature_id", QVariant.LongLong))
        fields.append(QgsField("name", QVariant.String))
        crs = QgsCoordinateReferenceSystem("EPSG:4326")
        priced = False
        rows = []
        for item in outcome.items:
            geometry = geojson_to_geometry(item.payload.get("geometry"))
            order_id, error = results.get(item.feature_id, (item.order_id, readable_error(item.error)))
            rows.append((geometry, [item.feature_id, item.payload.get("name"), order_id, error]))
        types = {QgsWkbTypes.flatType(g.wkbType()) for g, _ in rows if not g.isNull()}
        wkb_type = types.pop() if len(types) == 1 else QgsWkbTypes.GeometryCollection
        if wkb_type == QgsWkbTypes.GeometryCollection:
            rows = [(QgsGeometry.fromWkt(f"GEOMETRYCOLLECTION({g.asWkt()})") if not g.isNull() else g, values)
                    for g, values in rows]
        layer_name = source.get("layer_name") or job.title or "bulk"
    fields.append(QgsField(_free_name(fields, "order_id"), QVariant.String))
    fields.append(QgsField(_free_name(fields, "error"), QVariant.String))
    if priced:
        fields.append(QgsField(_free_name(fields, "estimated_cost"), QVariant.Double))
    copy = QgsMemoryProviderUtils.createMemoryLayer(name or f"{layer_name} — orders", fields, wkb_type, crs)
    out = []
    for geometry, values in rows:
        feature = QgsFeature(fields)
        feature.setGeometry(geometry)
        feature.setAttributes(values)
        out.append(feature)
    copy.dataProvider().addFeatures(out)
    copy.updateExtents()
    return copy


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
            if item.ok:
                results[item.feature_id] = (item.order_id, None)
            elif item.error:
                results[item.feature_id] = (None, readable_error(item.error))
            else:
                results[item.feature_id] = (None, "Still processing at the service.")
    return results


__all__ = [
    "BulkJob", "BulkOutcome", "FeatureCheck", "FieldMapping", "ItemOutcome", "LayerSnapshot", "PricingReport",
    "ValidationReport", "cancel_pairs", "charge_refused_ids", "edit_pairs", "job_source", "journal_features",
    "journal_result_layer", "match_results", "price_payloads", "readable_error", "result_layer",
    "results_by_feature", "resume_jobs", "unfinished_jobs", "validate_layer",
]
