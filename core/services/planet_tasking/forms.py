"""Planet Tasking's order form: its values, their checks, and the order, pricing and imaging-window search requests."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Optional

from ...aoi import KIND_AREA, KIND_POINT, KIND_STRIP, Aoi
from ...http import utc_now
from . import rules
from .client import jsonable

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

    @property
    def is_stereo(self) -> bool:
        return self.order_type == STEREO

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
