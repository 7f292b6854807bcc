"""A small sun-synchronous constellation and the solar geometry behind the sandbox's assured imaging windows."""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any, Dict, List, Optional, Tuple

from sandbox import geo

# Earth model: WGS84 shape, EGM96-era gravity constants (Vallado, Fundamentals of Astrodynamics, 4th ed.).
EARTH_MU_KM3_S2 = 398600.4418
EARTH_EQUATORIAL_RADIUS_KM = geo.WGS84_A / 1000.0
EARTH_J2 = 1.08262668e-3
EARTH_ROTATION_RAD_S = 7.2921158553e-5
# Mean motion of the Sun along the ecliptic; a sun-synchronous orbit's node must turn at this rate.
SUN_MEAN_MOTION_RAD_S = 2.0 * math.pi / (365.2421897 * 86400.0)

# Imaging needs daylight: a window is offered only if the Sun stays above the horizon at the target
# for the whole window. Below LOW_LIGHT_SUN_ELEVATION_DEG the window is still offered, flagged low_light.
MIN_SUN_ELEVATION_DEG = 0.0
LOW_LIGHT_SUN_ELEVATION_DEG = 10.0
EXPRESS_HORIZON = timedelta(hours=24)
TIER_MULTIPLIERS = {"STANDARD": 1.0, "EXPRESS": 1.5}

# Pass sampling: one second is finer than any useful window (the documented ones last 12-72 s);
# window edges are then bisected down to the API's millisecond resolution. Passes searched with low
# elevation limits last many minutes; they are sampled at no more than SAMPLES_PER_HALF_PASS points
# a side, so the step grows (up to MAX_SAMPLE_STEP_S) and the cost per pass stays bounded.
SAMPLE_STEP_S = 1.0
MAX_SAMPLE_STEP_S = 10.0
SAMPLES_PER_HALF_PASS = 60
EDGE_TOLERANCE_S = 1e-5  # fine enough that an edge's angle matches its constraint to the 5th decimal

# Planet offers only passes with free capacity. The sandbox books this fraction of all satellite
# revolutions for "other customers", drawn per (seed, satellite, revolution), so every target under a
# revolution sees the same booking and a mid-latitude week yields about ten windows, not twenty.
BOOKED_REVOLUTION_FRACTION = 0.5

_UNIX_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
# Orbital elements below are osculating at this instant.
CONSTELLATION_EPOCH = datetime(2024, 1, 1, tzinfo=timezone.utc)


def _seconds(when: datetime) -> float:
    """Seconds since the Unix epoch; naive datetimes are taken to be UTC."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return (when - _UNIX_EPOCH).total_seconds()


def _julian_day(unix_seconds: float) -> float:
    return unix_seconds / 86400.0 + 2440587.5


def _iso_milliseconds(unix_seconds: float) -> str:
    """ISO 8601 UTC with millisecond precision padded to microseconds, like the API's window times."""
    moment = _UNIX_EPOCH + timedelta(milliseconds=round(unix_seconds * 1000.0))
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _iso(when: datetime) -> str:
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --- The Sun ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SunPosition:
    """Where the Sun is: equatorial coordinates plus the local horizontal ones at the observer."""

    declination_deg: float
    right_ascension_deg: float
    equation_of_time_min: float
    elevation_deg: float
    azimuth_deg: float

    @property
    def zenith_deg(self) -> float:
        return 90.0 - self.elevation_deg


def _solar_coordinates(unix_seconds: float) -> Tuple[float, float, float]:
    """(declination, right ascension, equation of time in minutes) by NOAA's solar calculator.

    The NOAA Global Monitoring Laboratory spreadsheet, itself Meeus, Astronomical Algorithms (1991),
    ch. 24-25 low-precision theory: about 0.01 deg in declination for 1800-2100, far below what imaging
    windows need.
    """
    t = (_julian_day(unix_seconds) - 2451545.0) / 36525.0
    mean_longitude = (280.46646 + t * (36000.76983 + t * 0.0003032)) % 360.0
    mean_anomaly = 357.52911 + t * (35999.05029 - 0.0001537 * t)
    eccentricity = 0.016708634 - t * (0.000042037 + 0.0000001267 * t)
    m = math.radians(mean_anomaly)
    equation_of_centre = (
        math.sin(m) * (1.914602 - t * (0.004817 + 0.000014 * t))
        + math.sin(2 * m) * (0.019993 - 0.000101 * t)
        + math.sin(3 * m) * 0.000289
    )
    true_longitude = mean_longitude + equation_of_centre
    omega = math.radians(125.04 - 1934.136 * t)
    apparent_longitude = math.radians(true_longitude - 0.00569 - 0.00478 * math.sin(omega))
    mean_obliquity = 23.0 + (26.0 + (21.448 - t * (46.815 + t * (0.00059 - t * 0.001813))) / 60.0) / 60.0
    obliquity = math.radians(mean_obliquity + 0.00256 * math.cos(omega))
    declination = math.asin(math.sin(obliquity) * math.sin(apparent_longitude))
    right_ascension = math.atan2(math.cos(obliquity) * math.sin(apparent_longitude), math.cos(apparent_longitude))
    y = math.tan(obliquity / 2.0) ** 2
    l0 = math.radians(mean_longitude)
    equation_of_time = 4.0 * math.degrees(
        y * math.sin(2 * l0)
        - 2 * eccentricity * math.sin(m)
        + 4 * eccentricity * y * math.sin(m) * math.cos(2 * l0)
        - 0.5 * y * y * math.sin(4 * l0)
        - 1.25 * eccentricity * eccentricity * math.sin(2 * m)
    )
    return math.degrees(declination), math.degrees(right_ascension) % 360.0, equation_of_time


def _sun_position_at(lon: float, lat: float, unix_seconds: float) -> SunPosition:
    declination, right_ascension, equation_of_time = _solar_coordinates(unix_seconds)
    minutes_of_day = (unix_seconds % 86400.0) / 60.0
    true_solar_minutes = (minutes_of_day + equation_of_time + 4.0 * lon) % 1440.0
    hour_angle = math.radians(true_solar_minutes / 4.0 - 180.0)
    phi, delta = math.radians(lat), math.radians(declination)
    cos_zenith = math.sin(phi) * math.sin(delta) + math.cos(phi) * math.cos(delta) * math.cos(hour_angle)
    zenith = math.acos(max(-1.0, min(1.0, cos_zenith)))
    # Azimuth clockwise from north, from the horizontal components of the Sun's direction.
    east = -math.cos(delta) * math.sin(hour_angle)
    north = math.cos(phi) * math.sin(delta) - math.sin(phi) * math.cos(delta) * math.cos(hour_angle)
    azimuth = math.degrees(math.atan2(east, north)) % 360.0
    return SunPosition(declination, right_ascension, equation_of_time, 90.0 - math.degrees(zenith), azimuth)


def sun_position(lon: float, lat: float, when: datetime) -> SunPosition:
    """The Sun's geometric position (no atmospheric refraction) seen from (lon, lat) at when (UTC)."""
    return _sun_position_at(lon, lat, _seconds(when))


def sun_elevation(lon: float, lat: float, when: datetime) -> float:
    """Geometric elevation of the Sun's centre above the horizon, degrees (NOAA/Meeus, ~0.01 deg)."""
    return _sun_position_at(lon, lat, _seconds(when)).elevation_deg


def greenwich_mean_sidereal_angle(unix_seconds: float) -> float:
    """GMST in radians, IAU 1982 (Vallado eq. 3-45), taking UT1 = UTC (|UT1-UTC| < 0.9 s)."""
    days = _julian_day(unix_seconds) - 2451545.0
    centuries = days / 36525.0
    degrees = (
        280.46061837 + 360.98564736629 * days + 0.000387933 * centuries ** 2 - centuries ** 3 / 38710000.0
    )
    return math.radians(degrees % 360.0)


# --- The constellation -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Satellite:
    """A circular sun-synchronous orbit, propagated as two-body motion plus J2's secular drifts."""

    satellite_id: str
    satellite_type: str  # as the API spells it: upper-case SKYSAT, PELICAN (facts.md)
    altitude_km: float
    descending_node_local_hour: float  # mean local solar time of the descending node at the epoch
    phase_deg: float  # argument of latitude at the epoch
    nadir_gsd_m: float

    @property
    def radius_km(self) -> float:
        return EARTH_EQUATORIAL_RADIUS_KM + self.altitude_km

    @property
    def mean_motion_rad_s(self) -> float:
        return math.sqrt(EARTH_MU_KM3_S2 / self.radius_km ** 3)

    @property
    def inclination_rad(self) -> float:
        """The inclination whose J2 nodal regression equals the Sun's mean motion (Vallado eq. 9-42)."""
        factor = 1.5 * EARTH_J2 * (EARTH_EQUATORIAL_RADIUS_KM / self.radius_km) ** 2 * self.mean_motion_rad_s
        return math.acos(-SUN_MEAN_MOTION_RAD_S / factor)


CONSTELLATION: Tuple[Satellite, ...] = (
    # A SkySat-like fleet in three morning planes at 450-500 km, the way SkySats were lowered and
    # launched in batches, plus two next-generation "Pelican" satellites in a later plane.
    Satellite("SKYSAT-01", "SKYSAT", 450.0, 9.5, 0.0, 0.72),
    Satellite("SKYSAT-02", "SKYSAT", 452.0, 9.5, 120.0, 0.72),
    Satellite("SKYSAT-03", "SKYSAT", 455.0, 9.5, 240.0, 0.72),
    Satellite("SKYSAT-04", "SKYSAT", 470.0, 10.5, 37.0, 0.75),
    Satellite("SKYSAT-05", "SKYSAT", 472.0, 10.5, 157.0, 0.75),
    Satellite("SKYSAT-06", "SKYSAT", 475.0, 10.5, 277.0, 0.75),
    Satellite("SKYSAT-07", "SKYSAT", 490.0, 10.0, 80.0, 0.78),
    Satellite("SKYSAT-08", "SKYSAT", 495.0, 10.0, 260.0, 0.78),
    Satellite("PELICAN-01", "PELICAN", 480.0, 11.0, 15.0, 0.5),
    Satellite("PELICAN-02", "PELICAN", 480.0, 11.0, 195.0, 0.5),
)


@dataclass(frozen=True)
class _Orbit:
    """Precomputed propagation constants of one satellite."""

    satellite: Satellite
    radius_km: float
    cos_inclination: float
    sin_inclination: float
    latitude_argument_at_epoch: float
    latitude_argument_rate: float
    node_at_epoch: float
    node_rate: float

    def node_longitude(self, unix_seconds: float) -> float:
        """Earth-fixed longitude of the ascending node (RAAN minus GMST), radians."""
        raan = self.node_at_epoch + self.node_rate * (unix_seconds - _EPOCH_SECONDS)
        return raan - greenwich_mean_sidereal_angle(unix_seconds)

    def latitude_argument(self, unix_seconds: float) -> float:
        return self.latitude_argument_at_epoch + self.latitude_argument_rate * (unix_seconds - _EPOCH_SECONDS)

    def position_ecef(self, unix_seconds: float) -> Tuple[float, float, float]:
        node = self.node_longitude(unix_seconds)
        u = self.latitude_argument(unix_seconds)
        cos_node, sin_node, cos_u, sin_u = math.cos(node), math.sin(node), math.cos(u), math.sin(u)
        r = self.radius_km
        return (
            r * (cos_node * cos_u - sin_node * sin_u * self.cos_inclination),
            r * (sin_node * cos_u + cos_node * sin_u * self.cos_inclination),
            r * sin_u * self.sin_inclination,
        )


_EPOCH_SECONDS = _seconds(CONSTELLATION_EPOCH)


def _orbit_of(satellite: Satellite) -> _Orbit:
    n = satellite.mean_motion_rad_s
    inclination = satellite.inclination_rad
    ratio_sq = (EARTH_EQUATORIAL_RADIUS_KM / satellite.radius_km) ** 2
    # Secular J2 rates for a circular orbit (Vallado eqs. 9-41): the node regresses, and the argument
    # of latitude (perigee + mean anomaly) runs slightly faster than two-body motion.
    node_rate = -1.5 * n * EARTH_J2 * ratio_sq * math.cos(inclination)
    perigee_rate = 0.75 * n * EARTH_J2 * ratio_sq * (5.0 * math.cos(inclination) ** 2 - 1.0)
    anomaly_rate = n * (1.0 + 0.75 * EARTH_J2 * ratio_sq * (3.0 * math.cos(inclination) ** 2 - 1.0))
    # Node right ascension from the local time of the descending node: the ascending node is twelve
    # hours later, and local mean solar time 12:00 is where the mean Sun is.
    _, sun_right_ascension, equation_of_time = _solar_coordinates(_EPOCH_SECONDS)
    mean_sun_right_ascension = sun_right_ascension + equation_of_time / 4.0
    ascending_node_hour = (satellite.descending_node_local_hour + 12.0) % 24.0
    node = math.radians(mean_sun_right_ascension + (ascending_node_hour - 12.0) * 15.0)
    return _Orbit(
        satellite=satellite,
        radius_km=satellite.radius_km,
        cos_inclination=math.cos(inclination),
        sin_inclination=math.sin(inclination),
        latitude_argument_at_epoch=math.radians(satellite.phase_deg),
        latitude_argument_rate=perigee_rate + anomaly_rate,
        node_at_epoch=node,
        node_rate=node_rate,
    )


_ORBITS: Tuple[_Orbit, ...] = tuple(_orbit_of(satellite) for satellite in CONSTELLATION)


# --- Viewing geometry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """A ground point on the WGS84 ellipsoid with its local east/north/up frame."""

    lon: float
    lat: float
    position: Tuple[float, float, float]
    unit: Tuple[float, float, float]
    east: Tuple[float, float, float]
    north: Tuple[float, float, float]
    up: Tuple[float, float, float]


def _target(lon: float, lat: float) -> _Target:
    phi, lam = math.radians(lat), math.radians(lon)
    a = EARTH_EQUATORIAL_RADIUS_KM
    prime_vertical = a / math.sqrt(1.0 - geo.WGS84_E2 * math.sin(phi) ** 2)
    position = (
        prime_vertical * math.cos(phi) * math.cos(lam),
        prime_vertical * math.cos(phi) * math.sin(lam),
        prime_vertical * (1.0 - geo.WGS84_E2) * math.sin(phi),
    )
    norm = math.sqrt(sum(c * c for c in position))
    return _Target(
        lon=lon,
        lat=lat,
        position=position,
        unit=tuple(c / norm for c in position),
        east=(-math.sin(lam), math.cos(lam), 0.0),
        north=(-math.sin(phi) * math.cos(lam), -math.sin(phi) * math.sin(lam), math.cos(phi)),
        up=(math.cos(phi) * math.cos(lam), math.cos(phi) * math.sin(lam), math.sin(phi)),
    )


@dataclass(frozen=True)
class _Look:
    """The satellite seen from the target and the target seen from the satellite, at one instant."""

    unix_seconds: float
    elevation_deg: float
    azimuth_deg: float
    off_nadir_deg: float
    slant_range_km: float
    altitude_km: float


def _look(orbit: _Orbit, target: _Target, unix_seconds: float) -> _Look:
    sx, sy, sz = orbit.position_ecef(unix_seconds)
    tx, ty, tz = target.position
    dx, dy, dz = sx - tx, sy - ty, sz - tz
    slant = math.sqrt(dx * dx + dy * dy + dz * dz)
    up = (dx * target.up[0] + dy * target.up[1] + dz * target.up[2]) / slant
    east = dx * target.east[0] + dy * target.east[1] + dz * target.east[2]
    north = dx * target.north[0] + dy * target.north[1] + dz * target.north[2]
    # Off-nadir: the angle at the satellite between straight down (geocentric) and the target.
    cos_off_nadir = (sx * dx + sy * dy + sz * dz) / (orbit.radius_km * slant)
    return _Look(
        unix_seconds=unix_seconds,
        elevation_deg=math.degrees(math.asin(max(-1.0, min(1.0, up)))),
        azimuth_deg=math.degrees(math.atan2(east, north)) % 360.0,
        off_nadir_deg=math.degrees(math.acos(max(-1.0, min(1.0, cos_off_nadir)))),
        slant_range_km=slant,
        altitude_km=orbit.radius_km - math.sqrt(tx * tx + ty * ty + tz * tz),
    )


def _ground_sample_distance(satellite: Satellite, look: _Look) -> float:
    """Nadir GSD stretched by range and by the obliquity of the view (incidence = 90 deg - elevation)."""
    incidence = math.radians(90.0 - look.elevation_deg)
    return satellite.nadir_gsd_m * (look.slant_range_km / look.altitude_km) / math.cos(incidence)


def _max_central_angle(orbit: _Orbit, target: _Target, min_elevation_deg: float, max_off_nadir_deg: float) -> float:
    """Largest Earth-centred angle between target and sub-satellite point at which both the minimum
    elevation and the maximum off-nadir angle can still hold (spherical Earth of the target's
    geocentric radius, law of sines in the centre-target-satellite triangle; callers add a margin)."""
    ground_radius = math.sqrt(sum(c * c for c in target.position))
    elevation = math.radians(max(min_elevation_deg, 0.0))
    by_elevation = math.pi / 2.0 - elevation - math.asin(ground_radius * math.cos(elevation) / orbit.radius_km)
    off_nadir = math.radians(min(max(max_off_nadir_deg, 0.0), 90.0))
    sine_at_target = orbit.radius_km * math.sin(off_nadir) / ground_radius
    if sine_at_target >= 1.0:  # the line of sight grazes or misses the Earth: elevation is the limit
        return by_elevation
    by_off_nadir = math.asin(sine_at_target) - off_nadir
    return min(by_elevation, by_off_nadir)


def _closest_approaches(orbit: _Orbit, target: _Target, start: float, end: float) -> List[Tuple[float, float]]:
    """(time, cross-track angle) of each revolution's closest approach to the target in [start, end].

    The sub-satellite point is nearest the target where the satellite's argument of latitude equals
    that of the target's projection onto the orbit plane; the plane turns slowly under the Earth, so a
    few fixed-point iterations per revolution converge (contraction ~ Earth rate / orbit rate ~ 1/15).
    """
    rate = orbit.latitude_argument_rate
    first = math.floor((orbit.latitude_argument(start)) / (2.0 * math.pi)) - 1
    last = math.ceil((orbit.latitude_argument(end)) / (2.0 * math.pi)) + 1
    ux, uy, uz = target.unit
    found: List[Tuple[float, float]] = []
    for revolution in range(first, last + 1):
        u_goal = 2.0 * math.pi * revolution + math.pi
        moment = _EPOCH_SECONDS + (u_goal - orbit.latitude_argument_at_epoch) / rate
        cross_track = 0.0
        for _ in range(5):
            node = orbit.node_longitude(moment)
            cos_node, sin_node = math.cos(node), math.sin(node)
            along_node = ux * cos_node + uy * sin_node
            along_apex = (-ux * sin_node + uy * cos_node) * orbit.cos_inclination + uz * orbit.sin_inclination
            normal = (ux * sin_node - uy * cos_node) * orbit.sin_inclination + uz * orbit.cos_inclination
            cross_track = math.asin(max(-1.0, min(1.0, normal)))
            u_target = math.atan2(along_apex, along_node)
            u_now = orbit.latitude_argument(moment)
            u_target += 2.0 * math.pi * round((u_now - u_target) / (2.0 * math.pi))
            moment += (u_target - u_now) / rate
        if start <= moment <= end and not any(abs(moment - seen) < 60.0 for seen, _ in found):
            found.append((moment, abs(cross_track)))
    return found


def _satisfies(look: _Look, limits: Tuple[float, float, float, float]) -> bool:
    elevation_min, elevation_max, off_nadir_min, off_nadir_max = limits
    return (
        elevation_min <= look.elevation_deg <= elevation_max
        and off_nadir_min <= look.off_nadir_deg <= off_nadir_max
    )


def _edge(orbit: _Orbit, target: _Target, limits, outside: float, inside: float) -> _Look:
    """Bisect between a time outside the constraints and one inside; return the look just inside."""
    inside_look = _look(orbit, target, inside)
    while abs(inside - outside) > EDGE_TOLERANCE_S:
        middle = (inside + outside) / 2.0
        look = _look(orbit, target, middle)
        if _satisfies(look, limits):
            inside, inside_look = middle, look
        else:
            outside = middle
    return inside_look


def _accessible_intervals(orbit: _Orbit, target: _Target, closest: float, half_span: float, limits) -> List[List[_Look]]:
    """Each run of time around one closest approach where every viewing constraint holds, as looks
    (refined first edge, the one-second samples inside, refined last edge)."""
    step = min(max(SAMPLE_STEP_S, half_span / SAMPLES_PER_HALF_PASS), MAX_SAMPLE_STEP_S)
    steps = int(math.ceil(half_span / step))
    times = [closest + k * step for k in range(-steps, steps + 1)]
    looks = [_look(orbit, target, moment) for moment in times]
    inside = [_satisfies(look, limits) for look in looks]
    runs: List[List[_Look]] = []
    index = 0
    while index < len(looks):
        if not inside[index]:
            index += 1
            continue
        run_start = index
        while index + 1 < len(looks) and inside[index + 1]:
            index += 1
        run_end = index
        first = looks[run_start] if run_start == 0 else _edge(orbit, target, limits, times[run_start - 1], times[run_start])
        last = looks[run_end] if run_end == len(looks) - 1 else _edge(orbit, target, limits, times[run_end + 1], times[run_end])
        runs.append([first] + looks[run_start + 1:run_end] + [last] if run_end > run_start else [first, last])
        index += 1
    return runs


# --- Imaging windows -------------------------------------------------------------------------------


def _unit_hash(*parts: Any) -> float:
    """A stable pseudo-random number in [0, 1) from its parts (SHA-256, so independent of PYTHONHASHSEED)."""
    digest = hashlib.sha256(":".join(str(part) for part in parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2 ** 64


def _cloud_prediction(seed: int, pass_key: str) -> float:
    """A stable pseudo-random cloud cover percentage for one pass under one sandbox seed."""
    return round(_unit_hash(seed, "cloud", pass_key) * 100.0, 1)


def revolution_is_booked(seed: int, satellite_id: str, revolution: int) -> bool:
    """Whether the sandbox's other customers already fill this revolution of this satellite."""
    return _unit_hash(seed, "booked", satellite_id, revolution) < BOOKED_REVOLUTION_FRACTION


def _window(orbit: _Orbit, target: _Target, looks: List[_Look], pass_key: str, now: datetime, seed: int) -> Optional[Dict[str, Any]]:
    first, last = looks[0], looks[-1]
    sun_samples = [
        _sun_position_at(target.lon, target.lat, moment).elevation_deg
        for moment in (first.unix_seconds, (first.unix_seconds + last.unix_seconds) / 2.0, last.unix_seconds)
    ]
    sun_min, sun_max = min(sun_samples), max(sun_samples)
    if sun_min < MIN_SUN_ELEVATION_DEG:
        return None
    tier = "EXPRESS" if first.unix_seconds - _seconds(now) < EXPRESS_HORIZON.total_seconds() else "STANDARD"
    off_nadir = [look.off_nadir_deg for look in looks]
    elevation = [look.elevation_deg for look in looks]
    gsd = sum(_ground_sample_distance(orbit.satellite, look) for look in looks) / len(looks)
    return {
        "start_time": _iso_milliseconds(first.unix_seconds),
        "end_time": _iso_milliseconds(last.unix_seconds),
        "off_nadir_angle_start": round(first.off_nadir_deg, 5),
        "off_nadir_angle_end": round(last.off_nadir_deg, 5),
        "off_nadir_angle_min": round(min(off_nadir), 5),
        "off_nadir_angle_max": round(max(off_nadir), 5),
        "sat_elevation_angle_min": round(min(elevation), 5),
        "sat_elevation_angle_max": round(max(elevation), 5),
        "sat_azimuth_angle_start": round(first.azimuth_deg, 5),
        "sat_azimuth_angle_end": round(last.azimuth_deg, 5),
        "sun_elevation_angle_min": round(sun_min, 2),
        "sun_elevation_angle_max": round(sun_max, 2),
        "solar_zenith_angle_min": round(90.0 - sun_max, 5),
        "solar_zenith_angle_max": round(90.0 - sun_min, 5),
        "low_light": sun_min < LOW_LIGHT_SUN_ELEVATION_DEG,
        "ground_sample_distance": round(gsd, 1),
        "assured_tasking_tier": tier,
        "cloud_forecast": [{"prediction": _cloud_prediction(seed, pass_key), "updated_time": _iso(now)}],
        "satellite_type": orbit.satellite.satellite_type,
        "pass_key": pass_key,
        "tier_multiplier": TIER_MULTIPLIERS[tier],
    }


def find_windows(
    geometry: Dict[str, Any],
    start: datetime,
    end: datetime,
    *,
    now: datetime,
    seed: int,
    sat_elevation_angle_min: float = 58.0,
    sat_elevation_angle_max: float = 90.0,
    off_nadir_angle_min: float = 0.0,
    off_nadir_angle_max: float = 30.0,
) -> List[Dict[str, Any]]:
    """Imaging windows over a Point's position (or a LineString's midpoint), sorted by start_time.

    A window is one continuous interval of a pass in which the satellite's elevation seen from the
    target and its off-nadir angle both stay within the limits, lying wholly inside
    [max(start, now), end], with the Sun above MIN_SUN_ELEVATION_DEG throughout, on a satellite
    revolution not already booked (BOOKED_REVOLUTION_FRACTION, drawn from seed). Each dict carries the
    documented imaging-window fields except id, conflicting_orders and quota_priority_multiplier, plus
    pass_key ("<SATELLITE>:<closest approach, whole seconds>Z"; a pass split in two by an upper
    elevation or lower off-nadir bound yields "...Z#1" and "...Z#2") and tier_multiplier.
    """
    lon, lat = geo.centroid(geometry)
    target = _target(lon, lat)
    first_moment = max(_seconds(start), _seconds(now))
    last_moment = _seconds(end)
    if last_moment <= first_moment:
        return []
    limits = (sat_elevation_angle_min, sat_elevation_angle_max, off_nadir_angle_min, off_nadir_angle_max)
    windows: List[Dict[str, Any]] = []
    for orbit in _ORBITS:
        reach = _max_central_angle(orbit, target, sat_elevation_angle_min, off_nadir_angle_max)
        # Margin for the geodetic vs geocentric vertical (<0.2 deg) and the spherical approximation.
        prefilter = reach + math.radians(0.5)
        # Time for the sub-satellite point to cross the reachable disc, plus slack for Earth rotation.
        half_span = (reach + math.radians(1.0)) / orbit.latitude_argument_rate + 10.0
        for closest, cross_track in _closest_approaches(orbit, target, first_moment - half_span, last_moment + half_span):
            if cross_track > prefilter:
                continue
            revolution = math.floor(orbit.latitude_argument(closest) / (2.0 * math.pi))
            if revolution_is_booked(seed, orbit.satellite.satellite_id, revolution):
                continue
            runs = _accessible_intervals(orbit, target, closest, half_span, limits)
            base_key = orbit.satellite.satellite_id + ":" + _iso_milliseconds(round(closest))[:19] + "Z"
            for number, looks in enumerate(runs, start=1):
                if looks[0].unix_seconds < first_moment or looks[-1].unix_seconds > last_moment:
                    continue
                pass_key = base_key if len(runs) == 1 else f"{base_key}#{number}"
                window = _window(orbit, target, looks, pass_key, now, seed)
                if window is not None:
                    windows.append(window)
    windows.sort(key=lambda window: (window["start_time"], window["pass_key"]))
    return windows
