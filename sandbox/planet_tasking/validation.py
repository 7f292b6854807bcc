"""Validation of order payloads (create, bulk create, pricing): the stored values or 400 field errors."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any, Dict, Optional

from sandbox.accounts import Account
from sandbox.errors import BAD_DATETIME, REQUIRED, FieldErrors, not_an_object
from sandbox.planet_tasking.rrule import RuleError, monitoring_span, parse_rrule
from sandbox.planet_tasking.shapes import order_geometry
from sandbox.timefmt import parse_time

SCHEDULING_TYPES = ("FLEXIBLE", "ASSURED", "MONITORING")
ORDER_TYPES = ("IMAGE", "STEREO")
DEFAULT_ORDER_DAYS = 30


def as_number(value: Any) -> Optional[float]:
    """A JSON number or numeric string as a finite float; None for anything else (booleans included)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    if isinstance(value, str):
        try:
            parsed = float(value)
        except ValueError:
            return None
        return parsed if math.isfinite(parsed) else None
    return None


def as_integer(value: Any) -> Optional[int]:
    """A whole number (2, 2.0, "2") as an int; None otherwise."""
    number = as_number(value)
    if number is None or number != int(number):
        return None
    return int(number)


def number_in_range(errors: FieldErrors, payload: Dict[str, Any], field: str, default: float,
                    low: float, high: float) -> Optional[float]:
    """The payload's number for `field` (the default when absent), with the range errors DRF would give."""
    raw = payload.get(field)
    number = default if raw is None else as_number(raw)
    if number is None:
        errors.add(field, "A valid number is required.")
    elif number < low:
        errors.add(field, f"Ensure this value is greater than or equal to {low:g}.")
    elif number > high:
        errors.add(field, f"Ensure this value is less than or equal to {high:g}.")
    return number


def validate_order(account: Account, payload: Any, now: datetime, *, for_pricing: bool = False,
                   window_lookup=None) -> dict:
    """The order's stored fields from a create (or pricing) payload; 400 with field errors otherwise."""
    if not isinstance(payload, dict):
        raise not_an_object(payload)
    errors = FieldErrors()
    values: Dict[str, Any] = {}

    name = payload.get("name")
    if not for_pricing and name is None:
        errors.add("name", REQUIRED)
    elif name is not None:
        if not isinstance(name, str):
            errors.add("name", "Not a valid string.")
        elif not name.strip():
            errors.add("name", "This field may not be blank.")
        elif len(name) > 255:
            errors.add("name", "Ensure this field has no more than 255 characters.")
    values["name"] = name

    pl_number = payload.get("pl_number") or account.default_pl_number
    if pl_number not in account.pl_numbers:
        errors.add("pl_number", f"Contract {pl_number} is not available for this API key.")
    values["pl_number"] = pl_number

    scheduling_type = payload.get("scheduling_type")
    if scheduling_type is not None and scheduling_type not in SCHEDULING_TYPES:
        errors.add("scheduling_type", f'"{scheduling_type}" is not a valid choice.')
        scheduling_type = None
    product = payload.get("product")
    if product is None:
        if payload.get("imaging_window") is not None:
            product = account.product_for_scheduling_type("ASSURED")
        elif scheduling_type is not None:
            product = account.product_for_scheduling_type(scheduling_type)
        else:
            product = account.default_product
    if product not in account.products:
        errors.add("product", f"Product {product} is not available for contract {pl_number}.")
        product_type = None
    else:
        product_type = account.products[product]
        if scheduling_type is not None and scheduling_type != product_type:
            errors.add("scheduling_type",
                       f"Scheduling type {scheduling_type} does not match product {product} ({product_type}).")
    values["product"] = product
    values["scheduling_type"] = product_type or scheduling_type or "FLEXIBLE"

    order_type = payload.get("order_type", "IMAGE") or "IMAGE"
    if order_type not in ORDER_TYPES:
        errors.add("order_type", f'"{order_type}" is not a valid choice.')
    values["order_type"] = order_type
    stereo = payload.get("n_stereo_pov")
    if order_type == "STEREO":
        pov = as_integer(stereo) if not isinstance(stereo, str) or stereo.strip().isdigit() else None
        if stereo is None:
            errors.add("n_stereo_pov", "This field is required for STEREO orders: 2 or 3.")
        elif pov not in (2, 3):
            errors.add("n_stereo_pov", "n_stereo_pov must be either 2 or 3.")
        values["n_stereo_pov"] = pov
    else:
        if stereo is not None:
            errors.add("n_stereo_pov", "n_stereo_pov can only be set on STEREO orders.")
        values["n_stereo_pov"] = None

    for field, default, low, high in (("sat_elevation_angle_min", 60.0, 0.0, 90.0),
                                      ("sat_elevation_angle_max", 90.0, 0.0, 90.0)):
        values[field] = number_in_range(errors, payload, field, default, low, high)
    if (not errors.has("sat_elevation_angle_min") and not errors.has("sat_elevation_angle_max")
            and values["sat_elevation_angle_min"] > values["sat_elevation_angle_max"]):
        errors.add("sat_elevation_angle_min", "sat_elevation_angle_min must not exceed sat_elevation_angle_max.")

    raw_days = payload.get("exclusivity_days")
    days = 0 if raw_days is None else as_integer(raw_days)
    if days is None:
        errors.add("exclusivity_days", "A valid integer is required.")
    elif not 0 <= days <= 30:
        errors.add("exclusivity_days", "Ensure this value is between 0 and 30.")
    values["exclusivity_days"] = days

    raw_rank = payload.get("rank")
    rank = 0 if raw_rank is None else as_integer(raw_rank)
    if rank is None:
        errors.add("rank", "A valid integer is required.")
    values["rank"] = rank

    rrule = payload.get("rrule")
    monitoring = product_type == "MONITORING"
    if monitoring:
        if not rrule:
            errors.add("rrule", "This field is required for monitoring orders.")
        else:
            try:
                parse_rrule(rrule)
            except RuleError as error:
                errors.add("rrule", f"Invalid rrule: {error}")
    elif rrule not in (None, ""):
        errors.add("rrule", "rrule can only be set on monitoring orders.")
    values["rrule"] = rrule or None

    times: Dict[str, Optional[datetime]] = {}
    for field in ("start_time", "end_time"):
        raw = payload.get(field)
        times[field] = None
        if field == "end_time" and monitoring:
            continue  # facts.md: a monitoring order's end_time "is ignored even if provided"; its rrule is the span
        if raw is not None:
            times[field] = parse_time(raw)
            if times[field] is None:
                errors.add(field, BAD_DATETIME)

    window_id = payload.get("imaging_window")
    window = search = None
    if product_type == "ASSURED" and window_id is None and not for_pricing:
        errors.add("imaging_window", "This field is required for assured tasking orders.")
    if window_id is not None:
        if product_type not in (None, "ASSURED"):
            errors.add("imaging_window", "An imaging window can only be used with an assured product.")
        elif not isinstance(window_id, str):
            errors.add("imaging_window", "Must be a valid UUID.")
        else:
            found = window_lookup(account, window_id) if window_lookup else None
            if found is None:
                errors.add("imaging_window", f"Imaging window {window_id} not found.")
            else:
                search, window = found
                if parse_time(window["start_time"]) <= now:
                    errors.add("imaging_window", "The imaging window is no longer available.")
    values["imaging_window"] = window_id
    values["_search"], values["_window"] = search, window

    geometry = payload.get("geometry")
    if search is not None:
        geometry = search["geometry"]
    if geometry is None:
        if not errors.has("imaging_window"):
            errors.add("geometry", REQUIRED)
    elif isinstance(geometry, dict) and geometry.get("type") == "Polygon" and product_type not in (None, "FLEXIBLE"):
        errors.add("geometry", "Area orders can only be created as flexible tasking orders.")
    else:
        shaped = order_geometry(geometry, errors, account.max_sqkm)
        if shaped:
            values["geometry"], values["original_geometry"], values["requested_sqkm"] = shaped

    if window is not None:
        values["sat_elevation_angle_min"] = float(search["sat_elevation_angle_min"])
        values["sat_elevation_angle_max"] = float(search["sat_elevation_angle_max"])
        times["start_time"] = parse_time(window["start_time"])
        times["end_time"] = parse_time(window["end_time"])
    elif monitoring and not errors.has("start_time") and not errors.has("rrule"):
        start = times["start_time"] or now
        try:
            times["end_time"] = monitoring_span(rrule, start)[1]
        except RuleError as error:
            errors.add("rrule", f"Invalid rrule: {error}")
        else:
            times["start_time"] = start
            if times["end_time"] <= now:
                errors.add("rrule", "The rule's last occurrence is in the past.")
    elif not monitoring and not errors.has("start_time") and not errors.has("end_time"):
        start = times["start_time"] or now
        end = times["end_time"] or start + timedelta(days=DEFAULT_ORDER_DAYS)
        if end <= start:
            errors.add("end_time", "End time must be after start time.")
        elif end <= now:
            errors.add("end_time", "End time must be in the future.")
        times["start_time"], times["end_time"] = start, end
    values["start_time"], values["end_time"] = times["start_time"], times["end_time"]
    errors.raise_if_any()
    return values
