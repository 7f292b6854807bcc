"""Assured tasking: asynchronous imaging-window searches, conflicts with existing orders, quota multipliers."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any, Dict, List, Optional, Tuple

from sandbox import geo
from sandbox.accounts import Account
from sandbox.errors import BAD_DATETIME, REQUIRED, ApiError, FieldErrors, not_an_object
from sandbox.planet_tasking import orbits
from sandbox.planet_tasking.pricing import TIER_MULTIPLIERS, pricing_document, pricing_model
from sandbox.planet_tasking.replacement import conflicting_assured_orders, replaced_entries
from sandbox.planet_tasking.shapes import POINT_SQKM, check_geometry
from sandbox.planet_tasking.validation import number_in_range
from sandbox.simulation import Simulation
from sandbox.store import public
from sandbox.timefmt import format_time, parse_time

SEARCH_HORIZON = timedelta(days=7)
SEARCH_START_DELAY = 5  # simulated seconds before the search starts running
SEARCH_DONE_AFTER = 240  # simulated seconds: results fill in gradually, all there within 5 minutes
REPLACEMENT_HORIZON = timedelta(hours=24)
# Beyond this latitude the sun-synchronous constellation's ground tracks give no usable geometry.
COVERAGE_LATITUDE = 84.0
EXCLUSIVITY_CHOICES = ("0", "7", "30")
HIDDEN_WINDOW_FIELDS = ("pass_key", "tier_multiplier")
BLANK = "This field may not be blank."


def _required_string(errors: FieldErrors, payload: Dict[str, Any], field: str) -> Optional[str]:
    """A required, non-blank string field; None (with DRF's error) when absent, not a string or blank."""
    value = payload.get(field)
    if value is None:
        errors.add(field, REQUIRED)
    elif not isinstance(value, str):
        errors.add(field, "Not a valid string.")
    elif not value.strip():
        errors.add(field, BLANK)
    else:
        return value
    return None


def create_search(sim: Simulation, account: Account, payload: Any, now: datetime) -> dict:
    if not isinstance(payload, dict):
        raise not_an_object(payload)
    errors = FieldErrors()
    geometry = payload.get("geometry")
    if geometry is None:
        errors.add("geometry", REQUIRED)
    elif check_geometry(geometry, errors, allowed=("Point", "LineString")):
        geometry = {"type": geometry["type"], "coordinates": geometry["coordinates"]}
    # "The required fields to place an imaging windows search request include the following: geometry,
    # pl_number, product" (planet-assured-tasking.txt): no defaults, unlike order creation.
    pl_number = _required_string(errors, payload, "pl_number")
    if pl_number is not None and pl_number not in account.pl_numbers:
        errors.add("pl_number", f"Contract {pl_number} is not available for this API key.")
    product = _required_string(errors, payload, "product")
    if product is not None:
        if product not in account.products:
            errors.add("product", f"Product {product} is not available for contract {pl_number}.")
        elif account.products[product] != "ASSURED":
            errors.add("product", f"Imaging windows can only be searched with an assured product, not {product}.")
    limits: Dict[str, Any] = {}
    for field, default, low, high in (("sat_elevation_angle_min", 58, 0, 90), ("sat_elevation_angle_max", 90, 0, 90),
                                      ("off_nadir_angle_min", 0, 0, 60), ("off_nadir_angle_max", 30, 0, 60)):
        raw = payload.get(field)
        number = number_in_range(errors, payload, field, default, low, high)
        # Echoed as sent (the documented search echoes 58, not 58.0); defaults stay integers too.
        limits[field] = raw if isinstance(raw, (int, float)) else number
    for low_field, high_field in (("sat_elevation_angle_min", "sat_elevation_angle_max"),
                                  ("off_nadir_angle_min", "off_nadir_angle_max")):
        if not errors.has(low_field) and not errors.has(high_field) and \
                float(limits[low_field]) > float(limits[high_field]):
            errors.add(low_field, f"{low_field} must not exceed {high_field}.")
    times: Dict[str, Optional[datetime]] = {}
    for field in ("start_time", "end_time"):
        raw = payload.get(field)
        times[field] = None if raw is None else parse_time(raw)
        if raw is not None and times[field] is None:
            errors.add(field, BAD_DATETIME)
    if not errors.has("start_time") and not errors.has("end_time"):
        start = times["start_time"] or now
        end = times["end_time"] or start + SEARCH_HORIZON
        if end > now + SEARCH_HORIZON + timedelta(minutes=1):
            errors.add("end_time", "The end time cannot be more than seven days in the future.")
        elif end <= start:
            errors.add("end_time", "End time must be after start time.")
        elif end <= now:
            errors.add("end_time", "End time must be in the future.")
        times = {"start_time": start, "end_time": end}
    errors.raise_if_any()
    search = {
        "id": sim.new_id(),
        "imaging_windows": [],
        "status": "CREATED",
        "pl_number": pl_number,
        "product": product,
        "geometry": geometry,
        "start_time": format_time(times["start_time"]),
        "end_time": format_time(times["end_time"]),
        "created_time": format_time(now),
        "sat_elevation_angle_min": limits["sat_elevation_angle_min"],
        "sat_elevation_angle_max": limits["sat_elevation_angle_max"],
        "off_nadir_angle_min": limits["off_nadir_angle_min"],
        "off_nadir_angle_max": limits["off_nadir_angle_max"],
        "error_code": None,
        "error_message": None,
        "_key": account.api_key,
        "_windows": [],
    }
    sim.store.add("search", search)
    sim.schedule("search", search, now + timedelta(seconds=SEARCH_START_DELAY), "start")
    return search


def _search_fails(search: dict) -> Optional[Tuple[str, str]]:
    coordinates = search["geometry"]["coordinates"]
    points = [coordinates] if search["geometry"]["type"] == "Point" else coordinates
    if any(abs(p[1]) > COVERAGE_LATITUDE for p in points):
        return ("AOI_OUT_OF_COVERAGE",
                f"The area of interest lies beyond latitude {COVERAGE_LATITUDE:g}, outside the constellation's coverage.")
    return None


def search_event(sim: Simulation, search: dict, event: str, at: datetime, target: datetime) -> None:
    if event == "start" and search["status"] == "CREATED":
        failure = _search_fails(search)
        if failure:
            search["status"] = "FAILED"
            search["error_code"], search["error_message"] = failure
            sim.store.touch("search", search)
            return
        try:
            found = orbits.find_windows(
                search["geometry"], parse_time(search["start_time"]), parse_time(search["end_time"]),
                now=parse_time(search["created_time"]), seed=sim.seed,
                sat_elevation_angle_min=float(search["sat_elevation_angle_min"]),
                sat_elevation_angle_max=float(search["sat_elevation_angle_max"]),
                off_nadir_angle_min=float(search["off_nadir_angle_min"]),
                off_nadir_angle_max=float(search["off_nadir_angle_max"]),
            )
        except Exception as error:  # noqa: BLE001 - a broken search is reported as the API does, not crashed
            search["status"] = "FAILED"
            search["error_code"] = "INTERNAL_ERROR"
            search["error_message"] = f"The imaging window search failed: {error}"
            sim.store.touch("search", search)
            return
        namespace = uuid.UUID(search["id"])
        first_reveal = SEARCH_START_DELAY + 10
        span = SEARCH_DONE_AFTER - 10 - first_reveal
        created = parse_time(search["created_time"])
        windows = []
        for index, window in enumerate(found):
            reveal = created + timedelta(seconds=first_reveal + span * index / max(1, len(found)))
            windows.append({"id": str(uuid.uuid5(namespace, window["pass_key"])), **window,
                            "_reveal": reveal.timestamp()})
        search["_windows"] = windows
        search["status"] = "IN_PROGRESS"
        sim.schedule("search", search, created + timedelta(seconds=SEARCH_DONE_AFTER), "done")
    elif event == "done" and search["status"] == "IN_PROGRESS":
        search["status"] = "DONE"
        sim.store.touch("search", search)


def find_window(sim: Simulation, account: Account, window_id: str) -> Optional[Tuple[dict, dict]]:
    """(search, window) for a window id found by one of this key's searches."""
    for search in sim.store.all("search"):
        if search.get("_key") != account.api_key:
            continue
        for window in search.get("_windows", []):
            if window["id"] == window_id:
                return search, window
    return None


def quota_priority_multiplier(window: dict, conflicts: List[dict], now: datetime) -> float:
    own = float(window.get("tier_multiplier", TIER_MULTIPLIERS.get(window.get("assured_tasking_tier"), 1.0)))
    if conflicts and parse_time(window["start_time"]) - now < REPLACEMENT_HORIZON:
        replaced = sum(float(o.get("_tier_multiplier", 1.0)) for o in conflicts)
        return max(own, replaced)
    return own


def _conflict_entry(order: dict) -> dict:
    window = order.get("_window") or {}
    return {
        "id": order["id"],
        "name": order["name"],
        "off_nadir_angle_min": window.get("off_nadir_angle_min"),
        "off_nadir_angle_max": window.get("off_nadir_angle_max"),
        "sat_elevation_angle_min": window.get("sat_elevation_angle_min"),
        "sat_elevation_angle_max": window.get("sat_elevation_angle_max"),
        "assured_tasking_tier": window.get("assured_tasking_tier"),
        "cloud_forecast": window.get("cloud_forecast") or [],
    }


def search_requested_sqkm(search: dict) -> float:
    if search["geometry"]["type"] == "LineString":
        return round(geo.geodesic_length_km(search["geometry"]["coordinates"]) * 5.0, 3)
    return POINT_SQKM


def window_pricing(search: dict, window: dict, conflicts: List[dict], exclusivity_days: int) -> dict:
    model = pricing_model(requested_sqkm=search_requested_sqkm(search), order_type="IMAGE", n_stereo_pov=None,
                          scheduling_type="ASSURED", exclusivity_days=exclusivity_days,
                          tier=window.get("assured_tasking_tier"))
    return pricing_document(model, replaced_entries(conflicts))


def render_search(sim: Simulation, account: Account, search: dict, now: datetime, params: Dict[str, str]) -> dict:
    show_replacing = params.get("show_replacing_imaging_windows", "").lower() in ("true", "1")
    exclusivity = params.get("order_template__exclusivity_days")
    if exclusivity is not None and exclusivity not in EXCLUSIVITY_CHOICES:
        raise ApiError(400, {"order_template__exclusivity_days": [
            f"Select a valid choice. {exclusivity} is not one of the available choices."]})
    document = public(search)
    windows = []
    if search["status"] in ("IN_PROGRESS", "DONE"):
        for window in search["_windows"]:
            if search["status"] == "IN_PROGRESS" and window["_reveal"] > now.timestamp():
                continue
            conflicts = conflicting_assured_orders(sim, account, window)
            if conflicts and not show_replacing:
                continue
            rendered = {k: v for k, v in window.items() if k not in HIDDEN_WINDOW_FIELDS and not k.startswith("_")}
            rendered["conflicting_orders"] = [_conflict_entry(o) for o in conflicts]
            rendered["quota_priority_multiplier"] = quota_priority_multiplier(window, conflicts, now)
            if exclusivity is not None:
                rendered["pricing_details"] = window_pricing(search, window, conflicts, int(exclusivity))
            windows.append(rendered)
    document["imaging_windows"] = windows
    return document
