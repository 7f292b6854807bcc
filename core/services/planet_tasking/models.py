"""Typed results of the Planet Tasking API v2: dataclasses built from the service's JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Generic, List, Optional, TypeVar

from ...http import as_utc, parse_time
from ...http import optional_float as _float
from ...http import optional_int as _int

T = TypeVar("T")

# Order statuses, as listed by the service (facts.md).
ORDER_STATUSES = (
    "RECEIVED",
    "PENDING",
    "REQUESTED",
    "IN_PROGRESS",
    "FINALIZING",
    "FULFILLED",
    "CANCELLED",
    "PENDING_CANCELLATION",
    "REJECTED",
    "EXPIRED",
    "FAILED",
)
# Terminal states: nothing can be edited or cancelled any more (planet-tasking-api.txt, "Editing").
FINAL_ORDER_STATUSES = frozenset({"FULFILLED", "CANCELLED", "REJECTED", "EXPIRED", "FAILED"})
CANCELLABLE_ORDER_STATUSES = frozenset({"RECEIVED", "PENDING", "IN_PROGRESS"})
CAPTURE_STATUSES = ("QUEUED", "PROCESSING", "PUBLISHED", "FAILED")
SCHEDULING_TYPES = ("FLEXIBLE", "ASSURED", "MONITORING")
ORDER_TYPES = ("IMAGE", "STEREO")
BULK_STATUSES = ("PENDING", "RUNNING", "COMPLETE")


def exclusivity_end(acquired_time: Optional[datetime], exclusivity_days: Optional[int]) -> Optional[datetime]:
    """When a capture joins the public archive: acquired_time + its order's exclusivity_days
    (planet-tasking-api.txt, "Standard delivery and archive"); None when either is unknown."""
    if acquired_time is None or exclusivity_days is None:
        return None
    return acquired_time + timedelta(days=int(exclusivity_days))


def format_time(value: Optional[datetime]) -> Optional[str]:
    """An aware datetime -> the service's form, e.g. 2024-07-25T00:25:04.851000Z (naive means UTC)."""
    if value is None:
        return None
    return as_utc(value).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# Slots: with its 31 fields an Order is past the 30 values CPython keeps inside an instance, so each one had a
# dict of its own besides, one more object for the cycle collector per order (20,000 made by a load of 10,000,
# 10,000 kept by the table); the full collections they brought about held the GIL 30-50 ms each.
@dataclass(slots=True)
class Order:
    """A tasking order (GET /orders/{id}/). Fields absent from a `fields=` listing stay None."""

    id: str
    name: Optional[str] = None
    status: Optional[str] = None
    geometry: Optional[dict] = None
    original_geometry: Optional[dict] = None
    order_type: Optional[str] = None
    scheduling_type: Optional[str] = None
    sat_elevation_angle_min: Optional[float] = None
    sat_elevation_angle_max: Optional[float] = None
    start_time: Optional[datetime] = None
    end_time: Optional[datetime] = None
    n_stereo_pov: Optional[int] = None
    is_cancellable: Optional[bool] = None
    cancellable_until: Optional[datetime] = None
    requested_sqkm: Optional[float] = None
    created_time: Optional[datetime] = None
    updated_time: Optional[datetime] = None
    cancelled_time: Optional[datetime] = None
    created_by: Optional[str] = None
    fulfilled_sqkm: Optional[float] = None
    capture_status_published_count: Optional[int] = None
    capture_assessment_success_count: Optional[int] = None
    capture_assessment_invalid_count: Optional[int] = None
    rrule: Optional[str] = None
    exclusivity_days: Optional[int] = None
    next_planned_acquisition_time: Optional[datetime] = None
    last_acquired_time: Optional[datetime] = None
    imaging_window: Optional[str] = None
    pl_number: Optional[str] = None
    product: Optional[str] = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict) -> "Order":
        return cls(
            id=str(data["id"]),
            name=data.get("name"),
            status=data.get("status"),
            geometry=data.get("geometry"),
            original_geometry=data.get("original_geometry"),
            order_type=data.get("order_type"),
            scheduling_type=data.get("scheduling_type"),
            sat_elevation_angle_min=_float(data.get("sat_elevation_angle_min")),
            sat_elevation_angle_max=_float(data.get("sat_elevation_angle_max")),
            start_time=parse_time(data.get("start_time")),
            end_time=parse_time(data.get("end_time")),
            n_stereo_pov=_int(data.get("n_stereo_pov")),
            is_cancellable=data.get("is_cancellable"),
            cancellable_until=parse_time(data.get("cancellable_until")),
            requested_sqkm=_float(data.get("requested_sqkm")),
            created_time=parse_time(data.get("created_time")),
            updated_time=parse_time(data.get("updated_time")),
            cancelled_time=parse_time(data.get("cancelled_time")),
            created_by=data.get("created_by"),
            fulfilled_sqkm=_float(data.get("fulfilled_sqkm")),
            capture_status_published_count=_int(data.get("capture_status_published_count")),
            capture_assessment_success_count=_int(data.get("capture_assessment_success_count")),
            capture_assessment_invalid_count=_int(data.get("capture_assessment_invalid_count")),
            rrule=data.get("rrule"),
            exclusivity_days=_int(data.get("exclusivity_days")),
            next_planned_acquisition_time=parse_time(data.get("next_planned_acquisition_time")),
            last_acquired_time=parse_time(data.get("last_acquired_time")),
            imaging_window=data.get("imaging_window"),
            pl_number=data.get("pl_number"),
            product=data.get("product"),
            raw=data,  # the answer's own dict, not a copy: listings parse thousands
        )

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_ORDER_STATUSES


@dataclass
class OrderEdit:
    """The answer to PUT /orders/{id}/: the editable fields as they now stand."""

    start_time: Optional[datetime] = None
    end_time: Optional[datetime] = None
    name: Optional[str] = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict) -> "OrderEdit":
        return cls(
            start_time=parse_time(data.get("start_time")),
            end_time=parse_time(data.get("end_time")),
            name=data.get("name"),
            raw=dict(data),
        )


@dataclass
class Capture:
    """One attempt at imaging an order (GET /captures/)."""

    id: str
    order_id: Optional[str] = None
    status: Optional[str] = None
    status_description: Optional[str] = None
    assessment: Optional[str] = None
    acquired_time: Optional[datetime] = None
    published_time: Optional[datetime] = None
    updated_time: Optional[datetime] = None
    strip_id: Optional[str] = None
    cloud_cover: Optional[float] = None
    item_types: List[str] = field(default_factory=list)
    geometry: Optional[dict] = None
    fulfilling: Optional[bool] = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_json(cls, data: dict) -> "Capture":
        return cls(
            id=str(data["id"]),
            order_id=data.get("order_id"),
            status=data.get("status"),
            status_description=data.get("status_description"),
            assessment=data.get("assessment"),
            acquired_time=parse_time(data.get("acquired_time")),
            published_time=parse_time(data.get("published_time")),
            updated_time=parse_time(data.get("updated_time")),
            strip_id=data.get("strip_id"),
            cloud_cover=_float(data.get("cloud_cover")),
            item_types=list(data.get("item_types") or []),
            geometry=data.get("geometry"),
            fulfilling=data.get("fulfilling"),
            raw=data,  # the answer's own dict, not a copy: listings parse thousands
        )


@dataclass
class CloudForecast:
    prediction: Optional[float]
    updated_time: Optional[datetime]

    @classmethod
    def from_json(cls, data: dict) -> "CloudForecast":
        return cls(prediction=_float(data.get("prediction")), updated_time=parse_time(data.get("updated_time")))


@dataclass
class ConflictingOrder:
    """An existing assured order that an imaging window would replace."""

    id: str
    name: Optional[str] = None
    off_nadir_angle_min: Optional[float] = None
    off_nadir_angle_max: Optional[float] = None
    sat_elevation_angle_min: Optional[float] = None
    sat_elevation_angle_max: Optional[float] = None
    assured_tasking_tier: Optional[str] = None
    cloud_forecast: List[CloudForecast] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> "ConflictingOrder":
        return cls(
            id=str(data["id"]),
            name=data.get("name"),
            off_nadir_angle_min=_float(data.get("off_nadir_angle_min")),
            off_nadir_angle_max=_float(data.get("off_nadir_angle_max")),
            sat_elevation_angle_min=_float(data.get("sat_elevation_angle_min")),
            sat_elevation_angle_max=_float(data.get("sat_elevation_angle_max")),
            assured_tasking_tier=data.get("assured_tasking_tier"),
            cloud_forecast=[CloudForecast.from_json(c) for c in data.get("cloud_forecast") or []],
        )


@dataclass
class Multiplier:
    name: str
    value: float
    description: Optional[str] = None

    @classmethod
    def from_json(cls, data: dict) -> "Multiplier":
        return cls(name=data.get("name", ""), value=float(data.get("value", 1.0)), description=data.get("description"))


@dataclass
class PricingModel:
    base_price: Optional[float]
    multipliers: List[Multiplier] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> "PricingModel":
        return cls(
            base_price=_float(data.get("base_price")),
            multipliers=[Multiplier.from_json(m) for m in data.get("multipliers") or []],
        )


@dataclass
class ReplacedOrder:
    order_id: str
    name: Optional[str] = None
    cost: Optional[float] = None

    @classmethod
    def from_json(cls, data: dict) -> "ReplacedOrder":
        return cls(order_id=str(data.get("order_id")), name=data.get("name"), cost=_float(data.get("cost")))


@dataclass
class Pricing:
    """How an order's (or an order-like payload's) quota cost is made up.

    In a list pricing preview, an entry the service could not price carries `error` (the server's
    message) and no cost; it is left out of the total, as the documents say.
    """

    units: Optional[str] = None
    estimated_quota_cost: Optional[float] = None
    determined_by: Optional[str] = None
    pricing_model: Optional[PricingModel] = None
    replaced_orders: List[ReplacedOrder] = field(default_factory=list)
    order_id: Optional[str] = None
    error: Optional[str] = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def ok(self) -> bool:
        return self.error is None

    @classmethod
    def from_json(cls, data: dict) -> "Pricing":
        error = None
        if "message" in data and "estimated_quota_cost" not in data:
            message = data["message"]
            error = message.get("error") if isinstance(message, dict) else None
            error = str(error or message)
        model = data.get("pricing_model")
        return cls(
            units=data.get("units"),
            estimated_quota_cost=_float(data.get("estimated_quota_cost")),
            determined_by=data.get("determined_by"),
            pricing_model=PricingModel.from_json(model) if isinstance(model, dict) else None,
            replaced_orders=[ReplacedOrder.from_json(r) for r in data.get("replaced_orders") or []],
            order_id=data.get("order_id"),
            error=error,
            raw=dict(data),
        )


@dataclass
class PricingPreview:
    """The answer to POST /pricing/ with a list: one Pricing per payload, in the same order."""

    total_estimated_quota_cost: float
    pricing_details: List[Pricing] = field(default_factory=list)

    @classmethod
    def from_json(cls, data: dict) -> "PricingPreview":
        return cls(
            total_estimated_quota_cost=float(data.get("total_estimated_quota_cost") or 0.0),
            pricing_details=[Pricing.from_json(p) for p in data.get("pricing_details") or []],
        )


@dataclass
class ImagingWindow:
    """One imaging opportunity found by an assured imaging-window search."""

    id: str
    start_time: Optional[datetime] = None
    end_time: Optional[datetime] = None
    off_nadir_angle_start: Optional[float] = None
    off_nadir_angle_end: Optional[float] = None
    off_nadir_angle_min: Optional[float] = None
    off_nadir_angle_max: Optional[float] = None
    sat_elevation_angle_min: Optional[float] = None
    sat_elevation_angle_max: Optional[float] = None
    sat_azimuth_angle_start: Optional[float] = None
    sat_azimuth_angle_end: Optional[float] = None
    sun_elevation_angle_min: Optional[float] = None
    sun_elevation_angle_max: Optional[float] = None
    solar_zenith_angle_min: Optional[float] = None
    solar_zenith_angle_max: Optional[float] = None
    low_light: Optional[bool] = None
    ground_sample_distance: Optional[float] = None
    assured_tasking_tier: Optional[str] = None
    satellite_type: Optional[str] = None
    cloud_forecast: List[CloudForecast] = field(default_factory=list)
    conflicting_orders: List[ConflictingOrder] = field(default_factory=list)
    quota_priority_multiplier: Optional[float] = None
    pricing_details: Optional[Pricing] = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def duration_seconds(self) -> Optional[float]:
        if self.start_time is None or self.end_time is None:
            return None
        return (self.end_time - self.start_time).total_seconds()

    @property
    def replaces_orders(self) -> bool:
        return bool(self.conflicting_orders)

    @property
    def latest_cloud_forecast(self) -> Optional[float]:
        dated = [c for c in self.cloud_forecast if c.prediction is not None]
        if not dated:
            return None
        epoch = datetime.min.replace(tzinfo=timezone.utc)
        return max(dated, key=lambda c: c.updated_time or epoch).prediction

    @classmethod
    def from_json(cls, data: dict) -> "ImagingWindow":
        pricing = data.get("pricing_details")
        return cls(
            id=str(data["id"]),
            start_time=parse_time(data.get("start_time")),
            end_time=parse_time(data.get("end_time")),
            off_nadir_angle_start=_float(data.get("off_nadir_angle_start")),
            off_nadir_angle_end=_float(data.get("off_nadir_angle_end")),
            off_nadir_angle_min=_float(data.get("off_nadir_angle_min")),
            off_nadir_angle_max=_float(data.get("off_nadir_angle_max")),
            sat_elevation_angle_min=_float(data.get("sat_elevation_angle_min")),
            sat_elevation_angle_max=_float(data.get("sat_elevation_angle_max")),
            sat_azimuth_angle_start=_float(data.get("sat_azimuth_angle_start")),
            sat_azimuth_angle_end=_float(data.get("sat_azimuth_angle_end")),
            sun_elevation_angle_min=_float(data.get("sun_elevation_angle_min")),
            sun_elevation_angle_max=_float(data.get("sun_elevation_angle_max")),
            solar_zenith_angle_min=_float(data.get("solar_zenith_angle_min")),
            solar_zenith_angle_max=_float(data.get("solar_zenith_angle_max")),
            low_light=data.get("low_light"),
            ground_sample_distance=_float(data.get("ground_sample_distance")),
            assured_tasking_tier=data.get("assured_tasking_tier"),
            satellite_type=data.get("satellite_type"),
            cloud_forecast=[CloudForecast.from_json(c) for c in data.get("cloud_forecast") or []],
            conflicting_orders=[ConflictingOrder.from_json(c) for c in data.get("conflicting_orders") or []],
            quota_priority_multiplier=_float(data.get("quota_priority_multiplier")),
            pricing_details=Pricing.from_json(pricing) if isinstance(pricing, dict) else None,
            raw=dict(data),
        )


@dataclass
class ImagingWindowSearch:
    """An asynchronous imaging-window search: CREATED -> IN_PROGRESS -> DONE, or FAILED."""

    id: str
    status: str
    imaging_windows: List[ImagingWindow] = field(default_factory=list)
    pl_number: Optional[str] = None
    product: Optional[str] = None
    geometry: Optional[dict] = None
    start_time: Optional[datetime] = None
    end_time: Optional[datetime] = None
    created_time: Optional[datetime] = None
    sat_elevation_angle_min: Optional[float] = None
    sat_elevation_angle_max: Optional[float] = None
    off_nadir_angle_min: Optional[float] = None
    off_nadir_angle_max: Optional[float] = None
    error_code: Optional[str] = None
    error_message: Optional[str] = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_finished(self) -> bool:
        return self.status in ("DONE", "FAILED")

    @classmethod
    def from_json(cls, data: dict) -> "ImagingWindowSearch":
        return cls(
            id=str(data["id"]),
            status=str(data.get("status")),
            imaging_windows=[ImagingWindow.from_json(w) for w in data.get("imaging_windows") or []],
            pl_number=data.get("pl_number"),
            product=data.get("product"),
            geometry=data.get("geometry"),
            start_time=parse_time(data.get("start_time")),
            end_time=parse_time(data.get("end_time")),
            created_time=parse_time(data.get("created_time")),
            sat_elevation_angle_min=_float(data.get("sat_elevation_angle_min")),
            sat_elevation_angle_max=_float(data.get("sat_elevation_angle_max")),
            off_nadir_angle_min=_float(data.get("off_nadir_angle_min")),
            off_nadir_angle_max=_float(data.get("off_nadir_angle_max")),
            error_code=None if data.get("error_code") is None else str(data.get("error_code")),
            error_message=data.get("error_message"),
            raw=dict(data),
        )


@dataclass
class BulkStatus:
    """A bulk create/edit/cancel: PENDING -> RUNNING -> COMPLETE, with per-payload counts."""

    id: str
    status: str
    operation_type: Optional[str] = None
    payload_count: int = 0
    processing_payload_count: int = 0
    failed_payload_count: int = 0
    successful_payload_count: int = 0
    start_time: Optional[datetime] = None
    end_time: Optional[datetime] = None
    raw: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def is_complete(self) -> bool:
        return self.status == "COMPLETE"

    @classmethod
    def from_json(cls, data: dict) -> "BulkStatus":
        return cls(
            id=str(data["id"]),
            status=str(data.get("status")),
            operation_type=data.get("operation_type"),
            payload_count=int(data.get("payload_count") or 0),
            processing_payload_count=int(data.get("processing_payload_count") or 0),
            failed_payload_count=int(data.get("failed_payload_count") or 0),
            successful_payload_count=int(data.get("successful_payload_count") or 0),
            start_time=parse_time(data.get("start_time")),
            end_time=parse_time(data.get("end_time")),
            raw=dict(data),
        )


@dataclass
class BulkPayload:
    """One payload of a bulk, with the order it made (`order_id`) or the server's `error` text."""

    id: str
    payload: dict
    order_id: Optional[str] = None
    error: Optional[str] = None
    bulk_process: Optional[str] = None

    @property
    def ok(self) -> bool:
        return self.order_id is not None and not self.error

    @classmethod
    def from_json(cls, data: dict) -> "BulkPayload":
        return cls(
            id=str(data.get("id")),
            payload=dict(data.get("payload") or {}),
            order_id=data.get("order_id"),
            error=data.get("error"),
            bulk_process=data.get("bulk_process"),
        )


@dataclass
class Page(Generic[T]):
    """One page of a paged listing: count of all matches, links to the neighbours, the results."""

    count: int
    next: Optional[str]
    previous: Optional[str]
    results: List[T]
