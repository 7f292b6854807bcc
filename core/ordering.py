"""From the new-order form's values to order, pricing and imaging-window search requests, checked first."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Generic, List, Optional, Tuple, TypeVar

from .aoi import KIND_AREA, KIND_POINT, KIND_STRIP, Aoi
from .services.planet_tasking import rules
from .services.planet_tasking.client import jsonable
from .services.planet_tasking.models import ImagingWindow, Pricing

FLEXIBLE = "FLEXIBLE"
ASSURED = "ASSURED"
IMAGE = "IMAGE"
STEREO = "STEREO"
# The product the assured documents search and order with (planet-assured-tasking.txt).
ASSURED_PRODUCT = "Assured Tasking"
# The exclusivity choices an imaging-window search prices (order_template__exclusivity_days).
EXCLUSIVITY_CHOICES = (0, 7, 30)
# The service's defaults for a flexible order (planet-tasking-api.txt example answer).
DEFAULT_ELEVATION_MIN = 60.0
DEFAULT_ELEVATION_MAX = 90.0
FLEXIBLE_DEFAULT_DAYS = 30
# An imaging-window search "cannot be more than seven days in the future" (planet-assured-tasking.txt).
ASSURED_SEARCH_DAYS = 7
# Where a problem with the whole form (not one field) is shown.
GENERAL = "non_field_errors"

_KIND_WORDS = {KIND_POINT: "Point", KIND_STRIP: "Strip", KIND_AREA: "Area"}


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class OrderForm:
    """What the user chose in the new-order panel; times are aware UTC datetimes."""

    name: str = ""
    scheduling_type: str = FLEXIBLE
    order_type: str = IMAGE
    n_stereo_pov: int = 2
    start_time: Optional[datetime] = None
    end_time: Optional[datetime] = None
    sat_elevation_angle_min: float = DEFAULT_ELEVATION_MIN
    sat_elevation_angle_max: float = DEFAULT_ELEVATION_MAX
    pl_number: str = ""
    product: str = ""
    exclusivity_days: int = 0
    imaging_window: Optional[str] = None
    extra: Dict[str, Any] = field(default_factory=dict)

    @property
    def is_assured(self) -> bool:
        return self.scheduling_type == ASSURED

    def with_window(self, window_id: Optional[str]) -> "OrderForm":
        return replace(self, imaging_window=window_id)


def default_times(scheduling_type: str, now: Optional[datetime] = None) -> tuple:
    """(start, end) a new form starts with: from now (to the minute) for 30 days, or 7 days for assured."""
    now = (now or utc_now()).astimezone(timezone.utc).replace(second=0, microsecond=0) + timedelta(minutes=1)
    days = ASSURED_SEARCH_DAYS if scheduling_type == ASSURED else FLEXIBLE_DEFAULT_DAYS
    return now, now + timedelta(days=days) - timedelta(minutes=2)


def default_product(scheduling_type: str, configured: Optional[str] = None) -> str:
    """The product to order with: the assured product for assured orders, else the configured one ("" = contract default)."""
    configured = (configured or "").strip()
    if scheduling_type == ASSURED:
        return ASSURED_PRODUCT if not configured or configured == "one_time_tasking" else configured
    return "" if configured == ASSURED_PRODUCT else configured


def _coordinate_text(aoi: Aoi) -> str:
    centre = aoi.geometry.centroid().asPoint()
    lat = f"{abs(centre.y()):.4f}°{'N' if centre.y() >= 0 else 'S'}"
    lon = f"{abs(centre.x()):.4f}°{'E' if centre.x() >= 0 else 'W'}"
    return f"{lat} {lon}"


def default_order_name(aoi: Optional[Aoi], scheduling_type: str = FLEXIBLE, order_type: str = IMAGE,
                       now: Optional[datetime] = None) -> str:
    """A name that tells orders apart in a list: what, where and when, e.g. "Point 52.5145°N 13.3501°E 2026-11-23 07:40Z"."""
    stamp = (now or utc_now()).astimezone(timezone.utc).strftime("%Y-%m-%d %H:%MZ")
    words = []
    if scheduling_type == ASSURED:
        words.append("Assured")
    if order_type == STEREO:
        words.append("stereo")
    if aoi is None:
        words.append("Order")
    else:
        words.append(_KIND_WORDS.get(aoi.kind, "Order").lower() if words else _KIND_WORDS.get(aoi.kind, "Order"))
        words.append(_coordinate_text(aoi))
    words.append(stamp)
    text = " ".join(words)
    return text[0].upper() + text[1:]


def form_problems(form: OrderForm, aoi: Optional[Aoi], *, for_order: bool = True,
                  now: Optional[datetime] = None) -> Dict[str, str]:
    """What must change before anything is sent, by field (the service's field names); empty when fine.

    `for_order` False checks only what a quote needs (no name, no chosen window).
    """
    now = now or utc_now()
    problems: Dict[str, str] = {}
    if aoi is None:
        problems["geometry"] = "Draw a point, a strip or a polygon on the map, or use a selected feature."
    elif form.is_assured and aoi.kind == KIND_AREA:
        problems["geometry"] = ("Assured tasking images a point or a strip; a polygon can only be ordered "
                                "as Flexible. Draw a point or a strip, or choose Flexible.")
    if for_order:
        name = form.name.strip()
        if not name:
            problems["name"] = "Give the order a name."
        elif rules.name_length_problem(form.name):
            problems["name"] = rules.name_length_problem(form.name)
    if rules.stereo_pov_problem(form.order_type, form.n_stereo_pov):
        problems["n_stereo_pov"] = rules.stereo_pov_problem(form.order_type, form.n_stereo_pov)
    low, high = form.sat_elevation_angle_min, form.sat_elevation_angle_max
    if not (0.0 <= low <= 90.0):
        problems["sat_elevation_angle_min"] = "The satellite elevation must be between 0° and 90°."
    elif not (0.0 <= high <= 90.0):
        problems["sat_elevation_angle_max"] = "The satellite elevation must be between 0° and 90°."
    elif low > high:
        problems["sat_elevation_angle_min"] = (
            f"The lowest satellite elevation ({low:g}°) is above the highest ({high:g}°).")
    if rules.exclusivity_problem(form.exclusivity_days):
        problems["exclusivity_days"] = rules.exclusivity_problem(form.exclusivity_days)
    if not form.is_assured or not form.imaging_window:
        end = form.end_time
        if rules.time_range_problem(form.start_time, end, now):
            problems["end_time"] = rules.time_range_problem(form.start_time, end, now)
        elif form.is_assured and end is not None and end > now + timedelta(days=ASSURED_SEARCH_DAYS, minutes=1):
            problems["end_time"] = (f"Imaging windows can be searched at most {ASSURED_SEARCH_DAYS} days ahead: "
                                    f"end on {(now + timedelta(days=ASSURED_SEARCH_DAYS)):%Y-%m-%d %H:%M} UTC "
                                    "or earlier.")
    if for_order and form.is_assured and not form.imaging_window:
        problems["imaging_window"] = "Find imaging windows and choose one: an assured order images one window."
    return problems


# "The required fields to place an imaging windows search request include the following: geometry,
# pl_number, product" (planet-assured-tasking.txt); no documented request reads the account's contracts.
CONTRACT_NEEDED = "Assured searches need your contract (pl_number): enter it in Settings or here."


def search_problems(form: OrderForm, aoi: Optional[Aoi], now: Optional[datetime] = None) -> Dict[str, str]:
    """What must change before an imaging-window search can be started."""
    checked = form_problems(form.with_window(None), aoi, for_order=False, now=now)
    problems = {k: v for k, v in checked.items() if k != "imaging_window"}
    if not form.pl_number.strip():
        problems["pl_number"] = CONTRACT_NEEDED
    return problems


def _future_start(form: OrderForm, now: datetime) -> Optional[datetime]:
    # A start already past is left out: the service then starts the order when it receives it.
    return form.start_time if form.start_time is not None and form.start_time > now else None


def _common_fields(form: OrderForm) -> Dict[str, Any]:
    fields: Dict[str, Any] = {}
    if form.pl_number.strip():
        fields["pl_number"] = form.pl_number.strip()
    if form.product.strip():
        fields["product"] = form.product.strip()
    fields["order_type"] = form.order_type
    if form.order_type == STEREO:
        fields["n_stereo_pov"] = int(form.n_stereo_pov)
    fields["exclusivity_days"] = int(form.exclusivity_days)
    return fields


def order_request(form: OrderForm, aoi: Optional[Aoi], *, now: Optional[datetime] = None,
                  for_pricing: bool = False) -> Dict[str, Any]:
    """The body of POST /orders/ (or, with `for_pricing`, of POST /pricing/) for the form.

    An assured order names its imaging window and takes its place and time from it; a flexible one
    sends the AOI and the time range.
    """
    now = now or utc_now()
    body: Dict[str, Any] = {}
    if not for_pricing:
        body["name"] = form.name.strip()
    body.update(_common_fields(form))
    if form.is_assured:
        if not form.product.strip():
            body["product"] = ASSURED_PRODUCT
        if form.imaging_window:
            body["imaging_window"] = form.imaging_window
            if for_pricing and aoi is not None:
                body["geometry"] = aoi.geojson()
            return body
    if aoi is not None:
        body["geometry"] = aoi.geojson()
    start = _future_start(form, now)
    if start is not None:
        body["start_time"] = start
    if form.end_time is not None:
        body["end_time"] = form.end_time
    body["sat_elevation_angle_min"] = float(form.sat_elevation_angle_min)
    body["sat_elevation_angle_max"] = float(form.sat_elevation_angle_max)
    body.update(form.extra)
    return jsonable(body)


def pricing_request(form: OrderForm, aoi: Optional[Aoi], now: Optional[datetime] = None) -> Dict[str, Any]:
    return order_request(form, aoi, now=now, for_pricing=True)


def search_request(form: OrderForm, aoi: Aoi, now: Optional[datetime] = None) -> Dict[str, Any]:
    """Keyword arguments of TaskingClient.start_imaging_window_search for the form."""
    now = now or utc_now()
    request: Dict[str, Any] = {
        "geometry": aoi.geojson(),
        "pl_number": form.pl_number.strip(),  # required: search_problems refuses an empty one
        "product": form.product.strip() or ASSURED_PRODUCT,
        "sat_elevation_angle_min": float(form.sat_elevation_angle_min),
        "sat_elevation_angle_max": float(form.sat_elevation_angle_max),
    }
    start = _future_start(form, now)
    if start is not None:
        request["start_time"] = start
    if form.end_time is not None:
        request["end_time"] = form.end_time
    return request


def request_key(body: Any) -> str:
    """A stable text of a request body: equal keys mean the same question to the service."""
    return json.dumps(jsonable(body), sort_keys=True, default=str)


class LatestOnly:
    """Hands out tokens; only the last one handed out is current, so late answers to old requests are dropped."""

    def __init__(self) -> None:
        self._counter = 0

    def next(self) -> int:
        self._counter += 1
        return self._counter

    def invalidate(self) -> None:
        self._counter += 1

    def is_current(self, token: int) -> bool:
        return token == self._counter


T = TypeVar("T")


class LatestValue(Generic[T]):
    """The newest value a worker thread produced, for the main thread to pick up when it looks.

    A task's run() must not touch widgets or emit signals of its own, so it only put()s here; the panel
    reads on the main thread. Only the newest value is kept (an older partial search is a subset of a
    newer one), and the version number lets a reader skip what it has already shown.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._version = 0
        self._value: Optional[T] = None

    def put(self, value: T) -> None:
        with self._lock:
            self._version += 1
            self._value = value

    def newer_than(self, version: int) -> Tuple[int, Optional[T]]:
        """(version, value) if something newer than `version` was put, else (version, None)."""
        with self._lock:
            if self._version > version:
                return self._version, self._value
            return version, None


# --- words for the panel ------------------------------------------------------------------------------

MULTIPLIER_WORDS = {
    "imaging_mode": "imaging mode",
    "tasking_tier": "tasking tier",
    "exclusivity": "exclusivity",
}


def format_cost(value: Optional[float], units: Optional[str]) -> str:
    if value is None:
        return "unknown"
    return f"{value:,.2f} {units_text(units)}"


def units_text(units: Optional[str]) -> str:
    """Quota units as a reader says them: SQKM -> "km² of quota"."""
    if not units:
        return "quota units"
    return "km² of quota" if units.upper() == "SQKM" else f"{units} (quota units)"


def pricing_lines(pricing: Pricing) -> List[str]:
    """The quote line by line: cost, base price, each multiplier, and any orders it replaces."""
    if not pricing.ok:
        return [f"The service could not price this order: {pricing.error}"]
    lines = [f"Estimated cost: {format_cost(pricing.estimated_quota_cost, pricing.units)}"]
    model = pricing.pricing_model
    if model is not None:
        if model.base_price is not None:
            lines.append(f"Base price: {model.base_price:,.2f} {units_text(pricing.units)}")
        for multiplier in model.multipliers:
            label = MULTIPLIER_WORDS.get(multiplier.name, multiplier.name.replace("_", " "))
            detail = f" ({multiplier.description})" if multiplier.description else ""
            lines.append(f"× {multiplier.value:g} {label}{detail}")
    if pricing.determined_by == "replaced_orders" and pricing.replaced_orders:
        lines.append("Determined by the orders it replaces:")
    for replaced in pricing.replaced_orders:
        cost = "" if replaced.cost is None else f": {replaced.cost:,.2f} {units_text(pricing.units)}"
        lines.append(f"Replaces “{replaced.name or replaced.order_id}”{cost}")
    return lines


def time_until_text(start: datetime, now: datetime) -> str:
    """How soon a window starts, as an analyst reads it: "in 12 min", "in 5 h 03 min", "in 2 days 4 h"."""
    minutes = int((start - now).total_seconds() // 60)
    if minutes < 1:
        return "in less than a minute"
    if minutes < 60:
        return f"in {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"in {hours} h {minutes:02d} min"
    days, hours = divmod(hours, 24)
    return f"in {days} day{'s' if days != 1 else ''} {hours} h"


# An assured order is only fulfilled once Planet locks it into the satellite's plan, and "if the lock-in
# cannot be confirmed due to scheduling issues" it fails (planet-assured-tasking.txt). The documents give
# no lead time; within this much of the window the panel says the risk out loud.
SHORT_NOTICE = timedelta(hours=1)


def window_timing_lines(window: ImagingWindow, now: datetime) -> Tuple[str, Optional[str]]:
    """(when it starts, a warning or None): a window that has begun can no longer be ordered, and one
    about to begin may be too late to lock in."""
    if window.start_time is None:
        return "start unknown", None
    if window.start_time <= now:
        return "started", "This window has started and can no longer be ordered: search again for later ones."
    when = time_until_text(window.start_time, now)
    if window.start_time - now < SHORT_NOTICE:
        return when, (f"It starts {when}: this close to the window the order may not be locked into the "
                      "satellite's plan in time; it would then be rejected, and any order it replaces stays.")
    return when, None


def replaced_names(window: Optional[ImagingWindow], pricing: Optional[Pricing] = None) -> List[str]:
    """Names of the existing orders an order would replace (from its window or its price)."""
    names: List[str] = []
    if window is not None:
        names += [o.name or o.id for o in window.conflicting_orders]
    if pricing is not None:
        names += [r.name or r.order_id for r in pricing.replaced_orders if (r.name or r.order_id) not in names]
    return names


def confirmation_text(form: OrderForm, aoi: Optional[Aoi], pricing: Optional[Pricing],
                      window: Optional[ImagingWindow] = None) -> str:
    """What the user agrees to by placing the order: what, where, when, and what it costs and replaces."""
    what = "Assured" if form.is_assured else "Flexible"
    kind = f"stereo ({form.n_stereo_pov} points of view)" if form.order_type == STEREO else "image"
    lines = [f"Place the {what.lower()} {kind} order “{form.name.strip()}”?"]
    if aoi is not None:
        lines.append(aoi.summary())
    if window is not None and window.start_time is not None:
        lines.append(f"Imaging window: {window.start_time:%Y-%m-%d %H:%M:%S} UTC")
    elif form.start_time is not None or form.end_time is not None:
        start = f"{form.start_time:%Y-%m-%d %H:%M}" if form.start_time else "now"
        end = f"{form.end_time:%Y-%m-%d %H:%M}" if form.end_time else "(service default)"
        lines.append(f"From {start} to {end} UTC")
    if pricing is not None and pricing.ok:
        lines.append(f"Cost: {format_cost(pricing.estimated_quota_cost, pricing.units)}")
    else:
        lines.append("Cost: not known (the quote is not available); the service charges by its pricing.")
    replaced = replaced_names(window, pricing)
    if replaced:
        lines.append("It replaces (cancels) your order" + ("s " if len(replaced) > 1 else " ")
                     + ", ".join(f"“{name}”" for name in replaced) + ".")
    return "\n".join(lines)
