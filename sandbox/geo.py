"""Geodesy on the WGS84 ellipsoid for the sandbox: areas, lengths, offsets, order footprints, validation."""

from __future__ import annotations

import math
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

# WGS84 defining constants.
WGS84_A = 6378137.0
WGS84_F = 1.0 / 298.257223563
WGS84_B = WGS84_A * (1.0 - WGS84_F)
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
WGS84_E = math.sqrt(WGS84_E2)

Position = Sequence[float]
Ring = Sequence[Position]

# Vincenty's iterations converge in a handful of steps except for nearly antipodal points.
_VINCENTY_MAX_ITERATIONS = 200
_VINCENTY_TOLERANCE = 1e-12


def _authalic_q(sin_lat: float) -> float:
    """The q function of the authalic latitude (Snyder, Map Projections: A Working Manual, eq. 3-12)."""
    e = WGS84_E
    es = e * sin_lat
    return (1.0 - WGS84_E2) * (
        sin_lat / (1.0 - es * es) - (1.0 / (2.0 * e)) * math.log((1.0 - es) / (1.0 + es))
    )


_Q_POLE = _authalic_q(1.0)
# Radius of the sphere with the same surface area as the ellipsoid.
AUTHALIC_RADIUS_M = WGS84_A * math.sqrt(_Q_POLE / 2.0)


def _authalic_latitude(lat_rad: float) -> float:
    """Latitude on the equal-area sphere: a map ellipsoid -> sphere that preserves every area exactly."""
    ratio = _authalic_q(math.sin(lat_rad)) / _Q_POLE
    return math.asin(max(-1.0, min(1.0, ratio)))


def _ring_spherical_excess(ring: Ring) -> float:
    """Signed area (steradians, counter-clockwise positive) of a ring on the authalic sphere.

    Each edge is a great circle on the authalic sphere; the signed excess of the triangle it forms with
    the pole is 2*atan(tan(dlon/2) * (tan(b1/2) + tan(b2/2)) / (1 + tan(b1/2) * tan(b2/2)))
    (the exact spherical formula used by Karney's GeographicLib for sphere polygons, after Bessel).
    Mapping vertices through the authalic latitude keeps areas exact; only the shape of each edge
    (ellipsoidal geodesic vs. authalic great circle) differs, which for AOI-sized edges is well below 1e-5.
    """
    total = 0.0
    for index in range(len(ring) - 1):
        lon1, lat1 = ring[index][0], ring[index][1]
        lon2, lat2 = ring[index + 1][0], ring[index + 1][1]
        delta_lon = math.radians(_wrap_degrees(lon2 - lon1))
        t1 = math.tan(_authalic_latitude(math.radians(lat1)) / 2.0)
        t2 = math.tan(_authalic_latitude(math.radians(lat2)) / 2.0)
        total += 2.0 * math.atan2(math.tan(delta_lon / 2.0) * (t1 + t2), 1.0 + t1 * t2)
    return total


def _wrap_degrees(angle: float) -> float:
    """The angle in (-180, 180]: edges always take the short way round, so antimeridian rings work."""
    wrapped = math.fmod(angle + 180.0, 360.0)
    if wrapped <= 0.0:
        wrapped += 360.0
    return wrapped - 180.0


def geodesic_area_sqkm(polygon_coordinates: Sequence[Ring]) -> float:
    """Area in km² of a GeoJSON Polygon's coordinates (outer ring minus holes) on the WGS84 ellipsoid."""
    if not polygon_coordinates:
        return 0.0
    total = 0.0
    for ring_index, ring in enumerate(polygon_coordinates):
        ring = _closed(ring)
        if len(ring) < 4:
            continue
        ring_area = abs(_ring_spherical_excess(ring)) * AUTHALIC_RADIUS_M ** 2
        total += ring_area if ring_index == 0 else -ring_area
    return max(total, 0.0) / 1e6


def _closed(ring: Ring) -> List[Position]:
    positions = list(ring)
    if positions and (positions[0][0] != positions[-1][0] or positions[0][1] != positions[-1][1]):
        positions.append(positions[0])
    return positions


def inverse(lon1: float, lat1: float, lon2: float, lat2: float) -> Tuple[float, float, float]:
    """Vincenty's inverse problem (Survey Review 23(176), 1975): (distance_m, azimuth1_deg, azimuth2_deg).

    azimuth1 is the forward azimuth at the first point, azimuth2 the forward azimuth at the second,
    both clockwise from north in [0, 360). For the rare nearly antipodal pairs where the iteration does
    not converge the last iterate is used (AOIs are never that long).
    """
    if lon1 == lon2 and lat1 == lat2:
        return 0.0, 0.0, 0.0
    a, b, f = WGS84_A, WGS84_B, WGS84_F
    big_l = math.radians(_wrap_degrees(lon2 - lon1))
    u1 = math.atan((1.0 - f) * math.tan(math.radians(lat1)))
    u2 = math.atan((1.0 - f) * math.tan(math.radians(lat2)))
    sin_u1, cos_u1 = math.sin(u1), math.cos(u1)
    sin_u2, cos_u2 = math.sin(u2), math.cos(u2)
    lam = big_l
    sin_sigma = cos_sigma = sigma = cos_sq_alpha = cos_2sigma_m = 0.0
    sin_lam = cos_lam = 0.0
    for _ in range(_VINCENTY_MAX_ITERATIONS):
        sin_lam, cos_lam = math.sin(lam), math.cos(lam)
        sin_sigma = math.hypot(cos_u2 * sin_lam, cos_u1 * sin_u2 - sin_u1 * cos_u2 * cos_lam)
        if sin_sigma == 0.0:
            return 0.0, 0.0, 0.0
        cos_sigma = sin_u1 * sin_u2 + cos_u1 * cos_u2 * cos_lam
        sigma = math.atan2(sin_sigma, cos_sigma)
        sin_alpha = cos_u1 * cos_u2 * sin_lam / sin_sigma
        cos_sq_alpha = 1.0 - sin_alpha * sin_alpha
        # On the equator cos²α = 0 and the 2σm term vanishes.
        cos_2sigma_m = cos_sigma - 2.0 * sin_u1 * sin_u2 / cos_sq_alpha if cos_sq_alpha != 0.0 else 0.0
        c = f / 16.0 * cos_sq_alpha * (4.0 + f * (4.0 - 3.0 * cos_sq_alpha))
        lam_previous = lam
        lam = big_l + (1.0 - c) * f * sin_alpha * (
            sigma + c * sin_sigma * (cos_2sigma_m + c * cos_sigma * (-1.0 + 2.0 * cos_2sigma_m ** 2))
        )
        if abs(lam - lam_previous) < _VINCENTY_TOLERANCE:
            break
    u_sq = cos_sq_alpha * (a * a - b * b) / (b * b)
    big_a = 1.0 + u_sq / 16384.0 * (4096.0 + u_sq * (-768.0 + u_sq * (320.0 - 175.0 * u_sq)))
    big_b = u_sq / 1024.0 * (256.0 + u_sq * (-128.0 + u_sq * (74.0 - 47.0 * u_sq)))
    delta_sigma = big_b * sin_sigma * (
        cos_2sigma_m + big_b / 4.0 * (
            cos_sigma * (-1.0 + 2.0 * cos_2sigma_m ** 2)
            - big_b / 6.0 * cos_2sigma_m * (-3.0 + 4.0 * sin_sigma ** 2) * (-3.0 + 4.0 * cos_2sigma_m ** 2)
        )
    )
    distance = b * big_a * (sigma - delta_sigma)
    azimuth1 = math.degrees(math.atan2(cos_u2 * sin_lam, cos_u1 * sin_u2 - sin_u1 * cos_u2 * cos_lam))
    azimuth2 = math.degrees(math.atan2(cos_u1 * sin_lam, -sin_u1 * cos_u2 + cos_u1 * sin_u2 * cos_lam))
    return distance, azimuth1 % 360.0, azimuth2 % 360.0


def geodesic_length_km(line_coordinates: Sequence[Position]) -> float:
    """Length in km of a GeoJSON LineString's coordinates, summing WGS84 geodesic segments (Vincenty)."""
    total = 0.0
    for index in range(len(line_coordinates) - 1):
        lon1, lat1 = line_coordinates[index][0], line_coordinates[index][1]
        lon2, lat2 = line_coordinates[index + 1][0], line_coordinates[index + 1][1]
        total += inverse(lon1, lat1, lon2, lat2)[0]
    return total / 1000.0


def destination(lon: float, lat: float, azimuth_deg: float, distance_km: float) -> Tuple[float, float]:
    """Vincenty's direct problem on WGS84: the point distance_km from (lon, lat) along azimuth_deg."""
    a, b, f = WGS84_A, WGS84_B, WGS84_F
    distance = distance_km * 1000.0
    alpha1 = math.radians(azimuth_deg)
    sin_alpha1, cos_alpha1 = math.sin(alpha1), math.cos(alpha1)
    tan_u1 = (1.0 - f) * math.tan(math.radians(lat))
    cos_u1 = 1.0 / math.sqrt(1.0 + tan_u1 * tan_u1)
    sin_u1 = tan_u1 * cos_u1
    sigma1 = math.atan2(tan_u1, cos_alpha1)
    sin_alpha = cos_u1 * sin_alpha1
    cos_sq_alpha = 1.0 - sin_alpha * sin_alpha
    u_sq = cos_sq_alpha * (a * a - b * b) / (b * b)
    big_a = 1.0 + u_sq / 16384.0 * (4096.0 + u_sq * (-768.0 + u_sq * (320.0 - 175.0 * u_sq)))
    big_b = u_sq / 1024.0 * (256.0 + u_sq * (-128.0 + u_sq * (74.0 - 47.0 * u_sq)))
    sigma = distance / (b * big_a)
    cos_2sigma_m = sin_sigma = cos_sigma = 0.0
    for _ in range(_VINCENTY_MAX_ITERATIONS):
        cos_2sigma_m = math.cos(2.0 * sigma1 + sigma)
        sin_sigma, cos_sigma = math.sin(sigma), math.cos(sigma)
        delta_sigma = big_b * sin_sigma * (
            cos_2sigma_m + big_b / 4.0 * (
                cos_sigma * (-1.0 + 2.0 * cos_2sigma_m ** 2)
                - big_b / 6.0 * cos_2sigma_m * (-3.0 + 4.0 * sin_sigma ** 2) * (-3.0 + 4.0 * cos_2sigma_m ** 2)
            )
        )
        sigma_previous = sigma
        sigma = distance / (b * big_a) + delta_sigma
        if abs(sigma - sigma_previous) < _VINCENTY_TOLERANCE:
            break
    cos_2sigma_m = math.cos(2.0 * sigma1 + sigma)
    sin_sigma, cos_sigma = math.sin(sigma), math.cos(sigma)
    x = sin_u1 * sin_sigma - cos_u1 * cos_sigma * cos_alpha1
    lat2 = math.atan2(
        sin_u1 * cos_sigma + cos_u1 * sin_sigma * cos_alpha1,
        (1.0 - f) * math.hypot(sin_alpha, x),
    )
    lam = math.atan2(sin_sigma * sin_alpha1, cos_u1 * cos_sigma - sin_u1 * sin_sigma * cos_alpha1)
    c = f / 16.0 * cos_sq_alpha * (4.0 + f * (4.0 - 3.0 * cos_sq_alpha))
    big_l = lam - (1.0 - c) * f * sin_alpha * (
        sigma + c * sin_sigma * (cos_2sigma_m + c * cos_sigma * (-1.0 + 2.0 * cos_2sigma_m ** 2))
    )
    return _wrap_degrees(lon + math.degrees(big_l)), math.degrees(lat2)


def _rounded(position: Tuple[float, float]) -> List[float]:
    return [round(position[0], 6), round(position[1], 6)]


def point_square(lon: float, lat: float, size_km: float = 5.0) -> Dict[str, Any]:
    """The GeoJSON Polygon Planet makes of a Point order: a size_km square centred on the point.

    Convention read from the documented example (Point [149.441357, 28.492403]): the south and north
    edges lie half the size due south/north of the point; on each of those parallels the corners lie
    half the size due west/east, so the northern edge spans slightly more longitude than the southern
    one. The ring is closed, counter-clockwise, starting at the south-west corner; 6 decimals.
    """
    half = size_km / 2.0
    south_lat = destination(lon, lat, 180.0, half)[1]
    north_lat = destination(lon, lat, 0.0, half)[1]
    south_west = (destination(lon, south_lat, 270.0, half)[0], south_lat)
    south_east = (destination(lon, south_lat, 90.0, half)[0], south_lat)
    north_east = (destination(lon, north_lat, 90.0, half)[0], north_lat)
    north_west = (destination(lon, north_lat, 270.0, half)[0], north_lat)
    ring = [_rounded(corner) for corner in (south_west, south_east, north_east, north_west, south_west)]
    return {"type": "Polygon", "coordinates": [ring]}


def strip_polygon(line_coordinates: Sequence[Position], width_km: float = 5.0) -> Dict[str, Any]:
    """The GeoJSON Polygon of a strip order: width_km wide with the two-point line as its centreline.

    Each end is offset half the width perpendicular to the geodesic's azimuth at that end (the forward
    azimuth at the start, the forward azimuth at the end), so the long sides stay parallel to the
    centreline even where the geodesic's azimuth changes. Closed, counter-clockwise, 6 decimals.
    """
    if len(line_coordinates) < 2:
        raise ValueError("a strip needs a line of two positions")
    (lon1, lat1), (lon2, lat2) = line_coordinates[0][:2], line_coordinates[-1][:2]
    half = width_km / 2.0
    _, azimuth_start, azimuth_end = inverse(lon1, lat1, lon2, lat2)
    start_right = destination(lon1, lat1, azimuth_start + 90.0, half)
    end_right = destination(lon2, lat2, azimuth_end + 90.0, half)
    end_left = destination(lon2, lat2, azimuth_end - 90.0, half)
    start_left = destination(lon1, lat1, azimuth_start - 90.0, half)
    ring = [_rounded(corner) for corner in (start_right, end_right, end_left, start_left, start_right)]
    return {"type": "Polygon", "coordinates": [ring]}


def _orientation(p: Position, q: Position, r: Position) -> float:
    return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])


def _on_segment(p: Position, q: Position, r: Position) -> bool:
    """Whether r, known to be collinear with p-q, lies within the segment's bounding box."""
    return min(p[0], q[0]) <= r[0] <= max(p[0], q[0]) and min(p[1], q[1]) <= r[1] <= max(p[1], q[1])


def _segments_intersect(p1: Position, p2: Position, q1: Position, q2: Position) -> bool:
    """Planar segment intersection including touching and collinear overlap (CLRS 33.1)."""
    d1 = _orientation(q1, q2, p1)
    d2 = _orientation(q1, q2, p2)
    d3 = _orientation(p1, p2, q1)
    d4 = _orientation(p1, p2, q2)
    if ((d1 > 0 > d2) or (d1 < 0 < d2)) and ((d3 > 0 > d4) or (d3 < 0 < d4)):
        return True
    return (
        (d1 == 0 and _on_segment(q1, q2, p1))
        or (d2 == 0 and _on_segment(q1, q2, p2))
        or (d3 == 0 and _on_segment(p1, p2, q1))
        or (d4 == 0 and _on_segment(p1, p2, q2))
    )


def _crossing_point(p1: Position, p2: Position, q1: Position, q2: Position) -> Tuple[float, float]:
    """Where two intersecting segments meet (a shared endpoint for touching/collinear ones)."""
    denominator = (p2[0] - p1[0]) * (q2[1] - q1[1]) - (p2[1] - p1[1]) * (q2[0] - q1[0])
    if denominator == 0.0:
        for candidate in (q1, q2):
            if _on_segment(p1, p2, candidate):
                return candidate[0], candidate[1]
        return p1[0], p1[1]
    t = ((q1[0] - p1[0]) * (q2[1] - q1[1]) - (q1[1] - p1[1]) * (q2[0] - q1[0])) / denominator
    return p1[0] + t * (p2[0] - p1[0]), p1[1] + t * (p2[1] - p1[1])


def _position_problem(position: Any) -> Optional[str]:
    if not isinstance(position, (list, tuple)) or len(position) < 2:
        return "is not a [lon, lat] position"
    lon, lat = position[0], position[1]
    for value in (lon, lat):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            return "has a coordinate that is not a finite number"
    if not -180.0 <= lon <= 180.0:
        return f"has longitude {lon} outside [-180, 180]"
    if not -90.0 <= lat <= 90.0:
        return f"has latitude {lat} outside [-90, 90]"
    return None


def polygon_is_valid(coordinates: Any) -> Tuple[bool, Optional[str]]:
    """Check GeoJSON Polygon coordinates: (True, None) or (False, a sentence saying what and where).

    Rules: at least one ring; every ring a list of at least 4 [lon, lat] positions in range, closed
    (first == last), with at least 3 distinct positions; no ring crosses or touches itself except at
    consecutive segments' shared vertex; no two rings cross. Intersections are tested in the planar
    lon/lat plane, which is what GeoJSON validity (RFC 7946) means.
    """
    if not isinstance(coordinates, (list, tuple)) or not coordinates:
        return False, "polygon has no rings"
    rings: List[List[Position]] = []
    for ring_index, ring in enumerate(coordinates):
        if not isinstance(ring, (list, tuple)):
            return False, f"ring {ring_index} is not a list of positions"
        for position_index, position in enumerate(ring):
            problem = _position_problem(position)
            if problem:
                return False, f"ring {ring_index} position {position_index} {problem}"
        if len(ring) < 4:
            return False, f"ring {ring_index} has {len(ring)} positions; a ring needs at least 4"
        if ring[0][0] != ring[-1][0] or ring[0][1] != ring[-1][1]:
            return False, f"ring {ring_index} is not closed: its first and last positions differ"
        if len({(p[0], p[1]) for p in ring}) < 3:
            return False, f"ring {ring_index} has fewer than 3 distinct positions"
        rings.append([(p[0], p[1]) for p in ring])

    for ring_index, ring in enumerate(rings):
        segment_count = len(ring) - 1
        for i in range(segment_count):
            for j in range(i + 1, segment_count):
                adjacent = j == i + 1 or (i == 0 and j == segment_count - 1)
                p1, p2, q1, q2 = ring[i], ring[i + 1], ring[j], ring[j + 1]
                if adjacent:
                    # Neighbours share one vertex; they are only invalid if they fold back over each other.
                    if _orientation(p1, p2, q2 if j == i + 1 else q1) == 0 and _folds_back(p1, p2, q1, q2, j == i + 1):
                        lon, lat = (p2 if j == i + 1 else p1)
                        return False, (
                            f"ring {ring_index} self-intersects: segments {i} and {j} overlap "
                            f"near ({lon:.6f}, {lat:.6f})"
                        )
                    continue
                if _segments_intersect(p1, p2, q1, q2):
                    lon, lat = _crossing_point(p1, p2, q1, q2)
                    return False, (
                        f"ring {ring_index} self-intersects: segment {i} crosses segment {j} "
                        f"near ({lon:.6f}, {lat:.6f})"
                    )
    for first in range(len(rings)):
        for second in range(first + 1, len(rings)):
            crossing = _rings_cross(rings[first], rings[second])
            if crossing:
                return False, (
                    f"rings {first} and {second} intersect near ({crossing[0]:.6f}, {crossing[1]:.6f})"
                )
    return True, None


def _folds_back(p1: Position, p2: Position, q1: Position, q2: Position, consecutive: bool) -> bool:
    """For collinear neighbouring segments: does the second run back along the first (a spike)?"""
    if consecutive:
        shared, before, after = p2, p1, q2
    else:
        shared, before, after = p1, p2, q1
    # A spike: both other endpoints lie on the same side of the shared vertex.
    dot = (before[0] - shared[0]) * (after[0] - shared[0]) + (before[1] - shared[1]) * (after[1] - shared[1])
    return dot > 0


def _rings_cross(ring_a: List[Position], ring_b: List[Position]) -> Optional[Tuple[float, float]]:
    for i in range(len(ring_a) - 1):
        for j in range(len(ring_b) - 1):
            if _segments_intersect(ring_a[i], ring_a[i + 1], ring_b[j], ring_b[j + 1]):
                return _crossing_point(ring_a[i], ring_a[i + 1], ring_b[j], ring_b[j + 1])
    return None


def _positions(geometry: Dict[str, Any]) -> Iterable[Position]:
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Point":
        yield coordinates
    elif kind in ("LineString", "MultiPoint"):
        yield from coordinates
    elif kind in ("Polygon", "MultiLineString"):
        for ring in coordinates:
            yield from ring
    elif kind == "MultiPolygon":
        for polygon in coordinates:
            for ring in polygon:
                yield from ring
    else:
        raise ValueError(f"unsupported geometry type {kind!r}")


def bbox(geometry: Dict[str, Any]) -> Tuple[float, float, float, float]:
    """(minx, miny, maxx, maxy) of a GeoJSON geometry's positions."""
    positions = list(_positions(geometry))
    if not positions:
        raise ValueError("geometry has no positions")
    lons = [p[0] for p in positions]
    lats = [p[1] for p in positions]
    return min(lons), min(lats), max(lons), max(lats)


def centroid(geometry: Dict[str, Any]) -> Tuple[float, float]:
    """(lon, lat) centre of a GeoJSON Point, LineString or Polygon.

    Point: itself. Two-point LineString: the geodesic midpoint. Longer LineString: the mean of segment
    midpoints weighted by geodesic length. Polygon: the planar (lon/lat) area centroid of the outer ring
    minus holes (shoelace formula), which is what GIS tools report for small AOIs.
    """
    kind = geometry.get("type")
    coordinates = geometry.get("coordinates")
    if kind == "Point":
        return float(coordinates[0]), float(coordinates[1])
    if kind == "LineString":
        if len(coordinates) == 2:
            (lon1, lat1), (lon2, lat2) = coordinates[0][:2], coordinates[1][:2]
            distance, azimuth, _ = inverse(lon1, lat1, lon2, lat2)
            if distance == 0.0:
                return float(lon1), float(lat1)
            return destination(lon1, lat1, azimuth, distance / 2000.0)
        weighted_lon = weighted_lat = total = 0.0
        for index in range(len(coordinates) - 1):
            (lon1, lat1), (lon2, lat2) = coordinates[index][:2], coordinates[index + 1][:2]
            length = inverse(lon1, lat1, lon2, lat2)[0]
            weighted_lon += length * (lon1 + lon2) / 2.0
            weighted_lat += length * (lat1 + lat2) / 2.0
            total += length
        if total == 0.0:
            return float(coordinates[0][0]), float(coordinates[0][1])
        return weighted_lon / total, weighted_lat / total
    if kind == "Polygon":
        sum_area = sum_x = sum_y = 0.0
        for ring_index, ring in enumerate(coordinates):
            ring = _closed(ring)
            area = cx = cy = 0.0
            for index in range(len(ring) - 1):
                x1, y1 = ring[index][0], ring[index][1]
                x2, y2 = ring[index + 1][0], ring[index + 1][1]
                cross = x1 * y2 - x2 * y1
                area += cross
                cx += (x1 + x2) * cross
                cy += (y1 + y2) * cross
            # Orientation-free: outer ring adds, holes subtract.
            sign = 1.0 if ring_index == 0 else -1.0
            if area != 0.0:
                weight = sign * abs(area)
                sum_area += weight
                sum_x += weight * cx / (3.0 * area)
                sum_y += weight * cy / (3.0 * area)
        if sum_area == 0.0:
            outer = coordinates[0]
            return sum(p[0] for p in outer) / len(outer), sum(p[1] for p in outer) / len(outer)
        return sum_x / sum_area, sum_y / sum_area
    raise ValueError(f"unsupported geometry type {kind!r}")
