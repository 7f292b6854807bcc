"""Order geometry rules: Point -> 5x5 km square, two-point LineString -> 5 km strip, Polygon within the contract."""

from __future__ import annotations

import math
from typing import Any, Optional, Tuple

from sandbox import geo
from sandbox.errors import FieldErrors

LONGITUDE_MESSAGE = "Geometry longitude coordinate needs to be within -180.0 and 180.0"
LATITUDE_MESSAGE = "Geometry latitude coordinate needs to be within -90.0 and 90.0"
STRIP_MIN_KM = 6.0
STRIP_MAX_KM = 100.0
POINT_SQKM = 25.0


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_position(position: Any, errors: FieldErrors, field: str) -> bool:
    if not isinstance(position, list) or len(position) < 2 or not all(_is_number(v) for v in position[:2]):
        errors.add(field, "Geometry coordinates must be a list of numbers [longitude, latitude].")
        return False
    ok = True
    if not -180.0 <= position[0] <= 180.0:
        errors.add(field, LONGITUDE_MESSAGE)
        ok = False
    if not -90.0 <= position[1] <= 90.0:
        errors.add(field, LATITUDE_MESSAGE)
        ok = False
    return ok


def check_geometry(geometry: Any, errors: FieldErrors, field: str = "geometry", *,
                   allowed: Tuple[str, ...] = ("Point", "LineString", "Polygon")) -> bool:
    """Structural checks shared by orders and imaging-window searches; adds messages and answers validity."""
    if not isinstance(geometry, dict) or "type" not in geometry or "coordinates" not in geometry:
        errors.add(field, "Invalid GeoJSON geometry: an object with 'type' and 'coordinates' is required.")
        return False
    kind, coordinates = geometry["type"], geometry["coordinates"]
    if kind not in allowed:
        errors.add(field, f"Geometry type {kind} is not supported; use one of: {', '.join(allowed)}.")
        return False
    if kind == "Point":
        return _check_position(coordinates, errors, field)
    if kind == "LineString":
        if not isinstance(coordinates, list) or len(coordinates) != 2:
            errors.add(field, "A strip LineString must have exactly two points.")
            return False
        return all([_check_position(p, errors, field) for p in coordinates])
    if not isinstance(coordinates, list) or len(coordinates) != 1 or not isinstance(coordinates[0], list):
        errors.add(field, "A Polygon must have exactly one ring (holes are not supported).")
        return False
    ring = coordinates[0]
    if len(ring) < 4:
        errors.add(field, "A Polygon ring must have at least four positions.")
        return False
    if not all([_check_position(p, errors, field) for p in ring]):
        return False
    if list(ring[0][:2]) != list(ring[-1][:2]):
        errors.add(field, "A Polygon ring must be closed: its first and last positions must be equal.")
        return False
    valid, problem = geo.polygon_is_valid([[p[:2] for p in ring]])
    if not valid:
        errors.add(field, f"Geometry is invalid: {problem}.")
        return False
    return True


def order_geometry(geometry: Any, errors: FieldErrors, max_sqkm: float) -> Optional[Tuple[dict, dict, float]]:
    """(polygon, original_geometry, requested_sqkm) of an order, or None after adding the field errors."""
    if not check_geometry(geometry, errors):
        return None
    kind, coordinates = geometry["type"], geometry["coordinates"]
    original = {"type": kind, "coordinates": coordinates}
    if kind == "Point":
        return geo.point_square(coordinates[0], coordinates[1], 5.0), original, POINT_SQKM
    if kind == "LineString":
        length = geo.geodesic_length_km([p[:2] for p in coordinates])
        if not STRIP_MIN_KM <= length <= STRIP_MAX_KM:
            errors.add("geometry", f"Strip length must be between 6 and 100 km (this one is {length:.1f} km).")
            return None
        polygon = geo.strip_polygon([p[:2] for p in coordinates], 5.0)
        return polygon, original, round(length * 5.0, 3)
    area = geo.geodesic_area_sqkm([[p[:2] for p in coordinates[0]]])
    if area > max_sqkm:
        errors.add(
            "geometry",
            f"Geometry area of {area:.2f} km2 exceeds the maximum of {max_sqkm:g} km2 allowed by the contract.",
        )
        return None
    if area <= 0:
        errors.add("geometry", "Geometry is invalid: the polygon has no area.")
        return None
    return original, original, round(area, 3)
