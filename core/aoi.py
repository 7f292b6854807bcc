"""Areas of interest for tasking orders: any QGIS geometry in any CRS -> a checked WGS84 point, strip or area."""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from qgis.core import (
    Qgis,
    QgsAbstractGeometry,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsCoordinateTransformContext,
    QgsCsException,
    QgsDistanceArea,
    QgsFeatureRequest,
    QgsGeometry,
    QgsPointXY,
    QgsPolygon,
    QgsProject,
    QgsRectangle,
    QgsUnitTypes,
    QgsVectorLayer,
    QgsWkbTypes,
)

WGS84_AUTHID = "EPSG:4326"
WGS84_ELLIPSOID = "WGS84"

KIND_POINT = "point"
KIND_STRIP = "strip"
KIND_AREA = "area"

# Service rules (planet-tasking-api.txt): a point becomes a 5 × 5 km square, a strip is 5 km wide and
# 6-100 km long, an area must be "less than your maximum allowed KM2 for a single Tasking Order".
POINT_SQUARE_KM = 5.0
POINT_SQKM = POINT_SQUARE_KM * POINT_SQUARE_KM
STRIP_WIDTH_KM = 5.0
STRIP_MIN_KM = 6.0
STRIP_MAX_KM = 100.0
# The contract's maximum area is not something Planet's API tells a client, so by default it is unknown
# (None). Then the plugin keeps its own sanity bound, said to be the plugin's, never the contract's; a
# contract limit the service does tell (the sandbox's GET /sandbox/accounts) replaces it either way.
DEFAULT_MAX_SQKM: Optional[float] = None
PLUGIN_MAX_SQKM = 3000.0
# Below a square metre a polygon is smaller than a couple of satellite pixels: a slipped click, not an area.
MIN_AREA_SQM = 1.0
# Holes smaller than this are gaps left between adjacent parcels (merged selections, digitising slivers):
# the service takes no holes, so they are filled, and the Aoi says so. Larger holes are the user's intent.
SLIVER_HOLE_SQM = 100.0
# A point or strip end closer than this to a pole: the 5 km square (3.5 km half-diagonal) or the strip's
# sides would reach over the pole, and the square in longitude/latitude collapses (25 km² charged for less).
POLE_CLEARANCE_KM = 5.0
# Where "degrees typed into a projected CRS" would land: within this box of the projection's origin.
_DEGREE_BOX = (180.0, 90.0)
# How far outside a projected CRS's area of use coordinates may still be meant (a country using one UTM
# zone for all of it goes ~13° past the zone); beyond this they were made in another CRS.
AREA_OF_USE_MARGIN_DEGREES = 20.0

# 6 decimals of a degree is about 0.1 m: finer than any satellite pixel, and what the service answers with.
COORDINATE_DECIMALS = 6
_GRID_DEGREES = 10.0 ** -COORDINATE_DECIMALS

# The service's own sentence for a bad longitude (bulk payload errors in planet-tasking-api.txt).
LONGITUDE_RANGE_MESSAGE = "Geometry longitude coordinate needs to be within -180.0 and 180.0"
LATITUDE_RANGE_MESSAGE = "Geometry latitude coordinate needs to be within -90.0 and 90.0"

_FIX_GEOMETRIES_HINT = "redraw it so its edges do not cross, or run Processing ▸ Toolbox ▸ Fix geometries"


class AoiError(ValueError):
    """Why a geometry cannot be ordered: `code` for programs, `message` for the user, `location` (lon, lat)."""

    def __init__(self, code: str, message: str, location: Optional[Tuple[float, float]] = None):
        super().__init__(code, message, location)
        self.code = code
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"AoiError({self.code!r}, {self.message!r}, location={self.location!r})"


@dataclass(eq=False)
class Aoi:
    """A checked area of interest in EPSG:4326 (2D, straight segments, snapped to 6 decimals).

    `tasked_sqkm` is what the service will task and charge: 25 km² for a point, length × 5 km for a
    strip, the polygon's geodesic area for an area order.
    """

    kind: str
    geometry: QgsGeometry
    tasked_sqkm: float
    length_km: Optional[float] = None
    # What the plugin changed in the user's shape before sending it (e.g. filled sliver holes), to be shown.
    repairs: Tuple[str, ...] = ()
    _tasked_geometry: Optional[QgsGeometry] = field(default=None, init=False, repr=False)

    @property
    def is_point(self) -> bool:
        return self.kind == KIND_POINT

    @property
    def is_strip(self) -> bool:
        return self.kind == KIND_STRIP

    @property
    def is_area(self) -> bool:
        return self.kind == KIND_AREA

    def geojson(self) -> Dict[str, Any]:
        """The GeoJSON geometry to send as an order's `geometry` (RFC 7946 ring orientation)."""
        return geometry_to_geojson(self.geometry)

    def tasked_geometry(self) -> QgsGeometry:
        """The polygon the service will image: the 5 km square, the 5 km-wide strip, or the area itself."""
        if self._tasked_geometry is None:
            if self.kind == KIND_POINT:
                self._tasked_geometry = point_square(self.geometry.asPoint())
            elif self.kind == KIND_STRIP:
                start, end = self.geometry.asPolyline()
                self._tasked_geometry = strip_polygon(start, end)
            else:
                self._tasked_geometry = QgsGeometry(self.geometry)
        return QgsGeometry(self._tasked_geometry)

    def tasked_geojson(self) -> Dict[str, Any]:
        return geometry_to_geojson(self.tasked_geometry())

    def summary(self) -> str:
        """One line to quote before ordering, e.g. "Strip 12.4 km × 5 km = 62.0 km²"."""
        if self.kind == KIND_POINT:
            return f"Point: {POINT_SQUARE_KM:g} × {POINT_SQUARE_KM:g} km square = {self.tasked_sqkm:,.1f} km²"
        if self.kind == KIND_STRIP:
            return f"Strip: {self.length_km:,.1f} km × {STRIP_WIDTH_KM:g} km = {self.tasked_sqkm:,.1f} km²"
        return f"Area: {self.tasked_sqkm:,.1f} km²"


AoiResult = Union[Aoi, AoiError]


# --- Shapes the service tasks -------------------------------------------------------------------------


def _measurer() -> QgsDistanceArea:
    """This thread's WGS84 ellipsoid measurer (QgsDistanceArea is cheap to use, not to set up)."""
    measurer = getattr(_thread_cache, "measurer", None)
    if measurer is None:
        measurer = QgsDistanceArea()
        measurer.setSourceCrs(QgsCoordinateReferenceSystem(WGS84_AUTHID), QgsCoordinateTransformContext())
        measurer.setEllipsoid(WGS84_ELLIPSOID)
        _thread_cache.measurer = measurer
    return measurer


def _snapped_point(point: QgsPointXY) -> QgsPointXY:
    return QgsPointXY(*_place(point))


def point_square(center: QgsPointXY, size_km: float = POINT_SQUARE_KM) -> QgsGeometry:
    """The square the service makes of a point order, in EPSG:4326, counter-clockwise from the SW corner.

    Matches the documented example: the south and north edges lie half the size due south and north of
    the point; on each of those parallels the corners lie half the size due west and east (so the north
    edge of a northern-hemisphere square spans slightly more longitude than the south edge).
    """
    measurer = _measurer()
    half = size_km * 500.0
    south = measurer.computeSpheroidProject(center, half, math.pi)
    north = measurer.computeSpheroidProject(center, half, 0.0)
    corners = []
    for edge, azimuths in ((south, (-math.pi / 2, math.pi / 2)), (north, (math.pi / 2, -math.pi / 2))):
        edge_point = QgsPointXY(center.x(), edge.y())
        for azimuth in azimuths:
            corners.append(_snapped_point(measurer.computeSpheroidProject(edge_point, half, azimuth)))
    corners.append(corners[0])
    return QgsGeometry.fromPolygonXY([corners])


def strip_polygon(start: QgsPointXY, end: QgsPointXY, width_km: float = STRIP_WIDTH_KM) -> QgsGeometry:
    """The polygon of a strip order: `width_km` wide with the start-end geodesic as its centre line.

    Each end is offset half the width perpendicular to the geodesic's forward azimuth at that end, so
    the long sides stay parallel to the centre line; counter-clockwise for a line drawn northwards.
    """
    measurer = _measurer()
    half = width_km * 500.0
    azimuth_start = measurer.bearing(start, end)
    # The forward azimuth at the end is the reverse of the bearing back to the start.
    azimuth_end = measurer.bearing(end, start) + math.pi
    right_angle = math.pi / 2
    start_right = measurer.computeSpheroidProject(start, half, azimuth_start + right_angle)
    end_right = measurer.computeSpheroidProject(end, half, azimuth_end + right_angle)
    end_left = measurer.computeSpheroidProject(end, half, azimuth_end - right_angle)
    start_left = measurer.computeSpheroidProject(start, half, azimuth_start - right_angle)
    ring = [_snapped_point(p) for p in (start_right, end_right, end_left, start_left)]
    ring.append(ring[0])
    return QgsGeometry.fromPolygonXY([ring])


# --- GeoJSON ------------------------------------------------------------------------------------------


def _rounded(x: float, y: float) -> List[float]:
    return [round(x, COORDINATE_DECIMALS), round(y, COORDINATE_DECIMALS)]


def _ring_coordinates(ring: Any, counter_clockwise: bool) -> List[List[float]]:
    positions = [_rounded(p.x(), p.y()) for p in ring.points()]
    if positions and positions[0] != positions[-1]:
        positions.append(list(positions[0]))
    twice_area = 0.0
    for (x1, y1), (x2, y2) in zip(positions, positions[1:]):
        twice_area += x1 * y2 - x2 * y1
    if (twice_area > 0) != counter_clockwise and twice_area != 0:
        positions.reverse()
    return positions


def geometry_to_geojson(geometry: QgsGeometry) -> Dict[str, Any]:
    """GeoJSON of a single-part 2D geometry with 6-decimal coordinates; polygon rings are closed and
    oriented as RFC 7946 asks (outer ring counter-clockwise, holes clockwise)."""
    abstract = geometry.constGet()
    if abstract is None:
        raise ValueError("a null geometry has no GeoJSON")
    flat_type = QgsWkbTypes.flatType(abstract.wkbType())
    if flat_type == QgsWkbTypes.Type.Point:
        return {"type": "Point", "coordinates": _rounded(abstract.x(), abstract.y())}
    if flat_type == QgsWkbTypes.Type.LineString:
        return {"type": "LineString", "coordinates": [_rounded(p.x(), p.y()) for p in abstract.points()]}
    if flat_type == QgsWkbTypes.Type.Polygon:
        rings = [_ring_coordinates(abstract.exteriorRing(), True)]
        rings.extend(
            _ring_coordinates(abstract.interiorRing(index), False) for index in range(abstract.numInteriorRings())
        )
        return {"type": "Polygon", "coordinates": rings}
    raise ValueError(f"no GeoJSON for a {QgsWkbTypes.displayString(abstract.wkbType())} AOI")


# --- Validation -----------------------------------------------------------------------------------------


def _format_number(value: float, limit: float) -> str:
    """`value` with enough decimals that it never reads as equal to the `limit` it broke (5.99 ≠ "6.0")."""
    decimals = 1
    while decimals < 6 and round(value, decimals) == limit:
        decimals += 1
    return f"{value:,.{decimals}f}"


def _place(point: Any) -> Tuple[float, float]:
    """An error's `location`: (lon, lat) of a point, rounded as sent."""
    return round(point.x(), COORDINATE_DECIMALS), round(point.y(), COORDINATE_DECIMALS)


def _lon_lat(x: float, y: float) -> str:
    return f"lon {round(x, COORDINATE_DECIMALS)!r}, lat {round(y, COORDINATE_DECIMALS)!r}"


def _crs_name(crs: QgsCoordinateReferenceSystem) -> str:
    authid = crs.authid()
    description = crs.description()
    if authid and description:
        return f"{authid} ({description})"
    return authid or description or "the custom CRS"


def _first_vertex(abstract: QgsAbstractGeometry, predicate) -> Optional[Tuple[float, float]]:
    for vertex in abstract.vertices():
        if predicate(vertex.x(), vertex.y()):
            return vertex.x(), vertex.y()
    return None


def _not_finite(x: float, y: float) -> bool:
    return not (math.isfinite(x) and math.isfinite(y))


class _Reprojection:
    """A forward transform to EPSG:4326 plus its reverse, built once per source CRS and context.

    The reverse transform proves coordinates survived the trip: PROJ silently wraps or folds values
    outside a projection's domain (e.g. EPSG:3857 x beyond the world edge), which would order the wrong place.
    """

    def __init__(self, crs: QgsCoordinateReferenceSystem, context: QgsCoordinateTransformContext):
        self.context = context
        self.crs_name = _crs_name(crs)
        self.is_identity = crs.authid() == WGS84_AUTHID
        self.is_projected = not crs.isGeographic()
        self.units = QgsUnitTypes.toString(crs.mapUnits()) if self.is_projected else "degrees"
        # Where the CRS is meant to be used (lon/lat); None when its definition does not say.
        bounds = crs.bounds()
        self.area_of_use: Optional[QgsRectangle] = (
            None if bounds.isNull() or bounds.isEmpty() or bounds.xMinimum() > bounds.xMaximum() else bounds
        )
        # (lon min, lon max, lat min, lat max) grown by the margin: inside it, the far-outside check is done.
        margin = AREA_OF_USE_MARGIN_DEGREES
        self.area_of_use_margin: Optional[Tuple[float, float, float, float]] = None if (
            self.area_of_use is None or not self.is_projected) else (
            bounds.xMinimum() - margin, bounds.xMaximum() + margin, bounds.yMinimum() - margin, bounds.yMaximum() + margin)
        # Tolerance of the round trip, in source units: PROJ (grid shifts included) round-trips to far
        # below a millimetre, while out-of-domain coordinates come back kilometres away.
        self.round_trip_tolerance = 1e-7 if crs.isGeographic() else 1e-2
        self.transform: Optional[QgsCoordinateTransform] = None
        self.error: Optional[str] = None
        if self.is_identity:
            return
        transform = QgsCoordinateTransform(crs, QgsCoordinateReferenceSystem(WGS84_AUTHID), context)
        # A missing datum grid should fall back to a ballpark transform (metres off), not fail or prompt.
        transform.setBallparkTransformsAreAppropriate(True)
        if not transform.isValid():
            self.error = (
                f"There is no way to convert coordinates from {self.crs_name} to WGS 84 longitude/latitude "
                "(is it a local engineering or non-Earth CRS?): set the CRS your coordinates are really in."
            )
        self.transform = transform


_thread_cache = threading.local()


def _crs_key(crs: QgsCoordinateReferenceSystem) -> str:
    return crs.authid() or crs.toWkt()


def _reprojection(crs: QgsCoordinateReferenceSystem, context: QgsCoordinateTransformContext) -> _Reprojection:
    """This thread's cached reprojection for `crs` (QgsCoordinateTransform may not cross threads)."""
    cache = getattr(_thread_cache, "reprojections", None)
    if cache is None:
        cache = _thread_cache.reprojections = {}
    key = _crs_key(crs)
    cached = cache.get(key)
    if cached is None or not (cached.context == context):
        if len(cache) > 64:
            cache.clear()
        cached = cache[key] = _Reprojection(crs, context)
    return cached


class AoiValidator:
    """Turns geometries from one CRS into Aois; set up once, then cheap per geometry (the fast path).

    Use one validator per thread: it holds QgsCoordinateTransform and QgsDistanceArea objects.
    """

    def __init__(
        self,
        crs: Union[QgsCoordinateReferenceSystem, str, None],
        *,
        max_sqkm: Optional[float] = DEFAULT_MAX_SQKM,
        transform_context: Optional[QgsCoordinateTransformContext] = None,
        no_crs_message: Optional[str] = None,
    ):
        if max_sqkm is not None and not max_sqkm > 0:
            raise ValueError(f"max_sqkm must be positive, not {max_sqkm!r}")
        if isinstance(crs, str):
            crs = QgsCoordinateReferenceSystem(crs)
        # The contract's limit when the service has told it; None: unknown (see PLUGIN_MAX_SQKM).
        self.max_sqkm = None if max_sqkm is None else float(max_sqkm)
        self._crs_error: Optional[Tuple[str, str]] = None
        self._reprojection: Optional[_Reprojection] = None
        if crs is None or (not crs.isValid() and no_crs_message):
            self._crs_error = ("no_crs", no_crs_message or (
                "The geometry has no coordinate reference system, so it cannot be placed on the Earth: "
                "set the layer's CRS (Layer Properties ▸ Source) or pass the CRS it was drawn in."
            ))
        elif not crs.isValid():
            self._crs_error = ("invalid_crs", (
                "The geometry's coordinate reference system is not valid (unknown or incomplete definition): "
                "set a valid CRS on the layer (Layer Properties ▸ Source)."
            ))
        else:
            if transform_context is None:
                transform_context = QgsProject.instance().transformContext()
            self._reprojection = _reprojection(crs, transform_context)
            if self._reprojection.error:
                self._crs_error = ("reprojection_failed", self._reprojection.error)
        self._measurer = _measurer()

    def validate_many(self, geometries: Iterable[Optional[QgsGeometry]]) -> List[AoiResult]:
        """One Aoi or AoiError per geometry, in order; never raises for a bad geometry."""
        results: List[AoiResult] = []
        validate = self.validate
        for geometry in geometries:
            try:
                results.append(validate(geometry))
            except AoiError as error:
                results.append(error)
        return results

    def validate(self, geometry: Optional[QgsGeometry]) -> Aoi:
        """The Aoi of `geometry`, or AoiError saying what to fix; nothing here touches the network."""
        if self._crs_error is not None:
            raise AoiError(*self._crs_error)
        if geometry is None or geometry.isNull():
            raise AoiError("null_geometry", (
                "There is no geometry to order: draw a point, a two-point line or a polygon, "
                "or select a feature that has a geometry."
            ))
        if geometry.isEmpty():
            # QGIS stores an empty point as (NaN, NaN): a point with only one NaN is a broken coordinate.
            abstract = geometry.constGet()
            if QgsWkbTypes.flatType(abstract.wkbType()) == QgsWkbTypes.Type.Point and not (
                math.isnan(abstract.x()) and math.isnan(abstract.y())
            ):
                self._check_finite(abstract, QgsWkbTypes.GeometryType.PointGeometry)
            raise AoiError("empty_geometry", (
                "The geometry is empty (it has no coordinates): draw a point, a two-point line or a polygon."
            ))
        part, drawn = self._single_part(geometry)
        geometry_type = QgsWkbTypes.geometryType(part.wkbType())
        self._check_finite(part, geometry_type)
        source_box = part.boundingBox()
        self._reproject(part, source_box)
        snapped = part.snappedToGrid(_GRID_DEGREES, _GRID_DEGREES)
        if geometry_type == QgsWkbTypes.GeometryType.PointGeometry:
            self._check_ranges(snapped)
            point = QgsPointXY(snapped.x(), snapped.y())
            _check_pole_clearance("point", [point])
            return _with_tasked(Aoi(KIND_POINT, QgsGeometry(snapped), POINT_SQKM), _point_square_checked(point))
        if geometry_type == QgsWkbTypes.GeometryType.LineGeometry:
            return self._strip(part, snapped, drawn)
        if geometry_type == QgsWkbTypes.GeometryType.PolygonGeometry:
            return self._area(part, snapped)
        raise AoiError("unsupported_geometry", (
            f"A {QgsWkbTypes.displayString(part.wkbType())} cannot be ordered: "
            "use a point, a two-point line (strip) or a polygon."
        ))

    # Each step below raises AoiError; the order is the order in which a user can fix things.

    def _single_part(self, geometry: QgsGeometry) -> Tuple[QgsAbstractGeometry, Optional[QgsAbstractGeometry]]:
        """A private, 2D, straight-segment copy of the one part of `geometry`, and the part as drawn when
        it had curves (messages speak of what the user drew, not of the segmentized copy)."""
        abstract = geometry.constGet()
        while QgsWkbTypes.isMultiType(abstract.wkbType()):
            parts = [abstract.geometryN(i) for i in range(abstract.numGeometries())]
            parts = [p for p in parts if not p.isEmpty()]
            if len(parts) != 1:
                raise AoiError("too_many_parts", (
                    f"The geometry has {len(parts)} parts, but an order covers one point, one strip or one "
                    "polygon: select a single part, or split it (Vector ▸ Geometry Tools ▸ Multipart to "
                    "Singleparts) and order each part separately."
                ))
            abstract = parts[0]
        curved = abstract.hasCurvedSegments()
        part = abstract.segmentize() if curved else abstract.clone()
        wkb_type = part.wkbType()
        if QgsWkbTypes.hasZ(wkb_type):
            part.dropZValue()
        if QgsWkbTypes.hasM(wkb_type):
            part.dropMValue()
        return part, (abstract if curved else None)

    def _check_finite(self, part: QgsAbstractGeometry, geometry_type: int) -> None:
        # Planar length/area go through every vertex, so one NaN or inf anywhere makes them non-finite.
        if geometry_type == QgsWkbTypes.GeometryType.PointGeometry:
            finite = math.isfinite(part.x()) and math.isfinite(part.y())
        elif geometry_type == QgsWkbTypes.GeometryType.LineGeometry:
            finite = math.isfinite(part.length())
        else:
            finite = math.isfinite(part.area())
        if finite:
            box = part.boundingBox()
            finite = all(math.isfinite(v) for v in (box.xMinimum(), box.xMaximum(), box.yMinimum(), box.yMaximum()))
        if not finite:
            bad = _first_vertex(part, _not_finite)
            where = f" ({bad[0]}, {bad[1]})" if bad else ""
            raise AoiError("non_finite_coordinates", (
                f"The geometry has a coordinate that is not a finite number{where}: fix or redraw that vertex."
            ))

    def _reproject(self, part: QgsAbstractGeometry, source_box: QgsRectangle) -> None:
        reprojection = self._reprojection
        if reprojection.is_identity:
            return
        failure = (
            f"The coordinates (x {source_box.xMinimum():.6g}…{source_box.xMaximum():.6g}, "
            f"y {source_box.yMinimum():.6g}…{source_box.yMaximum():.6g}) cannot be converted from "
            f"{reprojection.crs_name} to WGS 84 longitude/latitude"
        )
        advice = ": check that the layer's CRS is the one its coordinates are in."
        try:
            part.transform(reprojection.transform)
            box = part.boundingBox()
            # Send the result back: coordinates outside the projection's domain do not come back.
            returned = part.clone()
            returned.transform(reprojection.transform, Qgis.TransformDirection.Reverse)
            back = returned.boundingBox()
        except QgsCsException:
            raise _looks_like_degrees(reprojection, source_box, None) or AoiError(
                "reprojection_failed", failure + advice) from None
        values = (box.xMinimum(), box.xMaximum(), box.yMinimum(), box.yMaximum())
        if not all(math.isfinite(v) for v in values):
            raise _looks_like_degrees(reprojection, source_box, None) or AoiError("reprojection_failed", failure + advice)
        tolerance = reprojection.round_trip_tolerance
        if (
            abs(back.xMinimum() - source_box.xMinimum()) > tolerance
            or abs(back.xMaximum() - source_box.xMaximum()) > tolerance
            or abs(back.yMinimum() - source_box.yMinimum()) > tolerance
            or abs(back.yMaximum() - source_box.yMaximum()) > tolerance
        ):
            if values[1] - values[0] > 180.0:
                raise _wide_error(part)
            raise AoiError(
                "reprojection_failed", failure + f" (they are outside what {reprojection.crs_name} can represent)" + advice
            )
        degrees = _looks_like_degrees(reprojection, source_box, box)
        if degrees is not None:
            raise degrees
        self._check_area_of_use(box, source_box)

    def _check_area_of_use(self, box: QgsRectangle, source_box: QgsRectangle) -> None:
        """Projected coordinates far outside the region their CRS is made for were made in another CRS."""
        reprojection = self._reprojection
        grown = reprojection.area_of_use_margin
        if grown is None or (grown[0] <= box.xMinimum() and box.xMaximum() <= grown[1]
                             and grown[2] <= box.yMinimum() and box.yMaximum() <= grown[3]):
            return
        area = reprojection.area_of_use
        margin = AREA_OF_USE_MARGIN_DEGREES
        lat_off = max(area.yMinimum() - box.yMaximum(), box.yMinimum() - area.yMaximum(), 0.0)
        lon_off = 0.0
        if area.width() < 360.0 - margin:
            # Longitudes wrap: the distance to the area of use is the shorter way round.
            east = (box.xMinimum() - area.xMaximum()) % 360.0
            west = (area.xMinimum() - box.xMaximum()) % 360.0
            inside = box.xMaximum() >= area.xMinimum() and box.xMinimum() <= area.xMaximum()
            lon_off = 0.0 if inside else min(east, west)
        if lat_off <= margin and lon_off <= margin:
            return
        centre = box.center()
        raise AoiError("outside_crs_area", (
            f"The coordinates (x {source_box.center().x():.6g}, y {source_box.center().y():.6g}) in "
            f"{reprojection.crs_name} land at {_lon_lat(centre.x(), centre.y())}, far outside the area that CRS "
            f"is made for (lon {area.xMinimum():g}…{area.xMaximum():g}, lat {area.yMinimum():g}…"
            f"{area.yMaximum():g}): they were most likely made in another CRS. Set the layer's CRS to the one "
            "its coordinates are really in (Layer Properties ▸ Source)."
        ), _place(centre))

    def _check_ranges(self, snapped: QgsAbstractGeometry) -> None:
        box = snapped.boundingBox()
        x_min, x_max, y_min, y_max = box.xMinimum(), box.xMaximum(), box.yMinimum(), box.yMaximum()
        if y_min >= -90.0 and y_max <= 90.0 and QgsWkbTypes.geometryType(snapped.wkbType()) == (
            QgsWkbTypes.GeometryType.PolygonGeometry
        ):
            # A ring around (or through) a pole is not an antimeridian problem: say what it is.
            pole = _pole_enclosed(snapped)
            if pole is not None:
                raise _pole_error(pole)
        if x_min < -180.0 or x_max > 180.0:
            if x_min < 180.0 < x_max or x_min < -180.0 < x_max:
                raise _antimeridian_error()
            x, y = _first_vertex(snapped, lambda x, y: not -180.0 <= x <= 180.0)
            raise AoiError("longitude_out_of_range", f"{LONGITUDE_RANGE_MESSAGE} (found {_lon_lat(x, y)}).", (x, y))
        if y_min < -90.0 or y_max > 90.0:
            x, y = _first_vertex(snapped, lambda x, y: not -90.0 <= y <= 90.0)
            raise AoiError("latitude_out_of_range", f"{LATITUDE_RANGE_MESSAGE} (found {_lon_lat(x, y)}).", (x, y))
        # Drawn as 179.9 -> -179.9 the shape takes the long way round the globe: no AOI is 180° wide.
        if x_max - x_min > 180.0:
            raise _antimeridian_error()

    def _strip(self, part: QgsAbstractGeometry, snapped: Optional[QgsAbstractGeometry],
               drawn: Optional[QgsAbstractGeometry]) -> Aoi:
        vertex_count = part.numPoints()
        if vertex_count < 2:
            raise AoiError("line_too_few_vertices", (
                f"The line has {vertex_count} vertex; a strip order needs a line from a start point to an end point."
            ))
        if snapped is None:
            # Snapping merged every vertex: all of them are the same place.
            x, y = part.xAt(0), part.yAt(0)
            self._check_ranges(part)
            raise AoiError("strip_too_short", (
                f"The strip's start and end are the same point ({_lon_lat(x, y)}): a strip must be "
                f"{STRIP_MIN_KM:g}–{STRIP_MAX_KM:g} km long. Draw it again, or order a point instead."
            ), (round(x, 6), round(y, 6)))
        self._check_ranges(snapped)
        if drawn is not None:
            # Report the arc the user drew, not the many vertices segmentizing made of it.
            raise AoiError("line_too_many_vertices", (
                f"The line is curved (an arc through {drawn.nCoordinates()} points), but a strip order is a "
                "straight line between exactly two points: redraw it as a straight line from its start to its "
                "end, or draw a polygon for a curved area."
            ))
        vertex_count = snapped.numPoints()
        if vertex_count > 2:
            raise AoiError("line_too_many_vertices", (
                f"The line has {vertex_count} vertices, but a strip order is a straight line between exactly "
                "two points: redraw it with only a start and an end point, or draw a polygon for a bent area."
            ))
        start = QgsPointXY(snapped.xAt(0), snapped.yAt(0))
        end = QgsPointXY(snapped.xAt(1), snapped.yAt(1))
        length_km = self._measurer.measureLine(start, end) / 1000.0
        if length_km < STRIP_MIN_KM:
            raise AoiError("strip_too_short", (
                f"The strip is {_format_number(length_km, STRIP_MIN_KM)} km long; strips must be "
                f"{STRIP_MIN_KM:g}–{STRIP_MAX_KM:g} km long (and are {STRIP_WIDTH_KM:g} km wide): "
                "lengthen it, or order a point (a 5 × 5 km square) instead."
            ))
        if length_km > STRIP_MAX_KM:
            raise AoiError("strip_too_long", (
                f"The strip is {_format_number(length_km, STRIP_MAX_KM)} km long; strips must be "
                f"{STRIP_MIN_KM:g}–{STRIP_MAX_KM:g} km long: shorten it, or split it into several strips."
            ))
        _check_pole_clearance("strip", [start, end])
        aoi = Aoi(KIND_STRIP, QgsGeometry(snapped), length_km * STRIP_WIDTH_KM, length_km)
        return _with_tasked(aoi, _strip_polygon_checked(start, end))

    def _area(self, part: QgsAbstractGeometry, snapped: Optional[QgsAbstractGeometry]) -> Aoi:
        if snapped is None:
            # Snapping dropped every ring: all corners are (within 0.1 m) the same point.
            self._check_ranges(part)
            raise _zero_area_error()
        self._check_ranges(snapped)
        snapped = _closed_polygon(snapped)
        geometry = QgsGeometry(snapped)
        if not geometry.isGeosValid():
            raise self._invalid_polygon_error(geometry)
        repairs: Tuple[str, ...] = ()
        if snapped.numInteriorRings():
            geometry, repairs = self._without_holes(snapped)
        area_sqkm = self._measurer.measureArea(geometry) / 1e6
        if area_sqkm <= 0.0:
            raise _zero_area_error()
        if area_sqkm * 1e6 < MIN_AREA_SQM:
            box = geometry.boundingBox()
            across_m = max(self._measurer.measureLine(QgsPointXY(box.xMinimum(), box.yMinimum()),
                                                      QgsPointXY(box.xMaximum(), box.yMaximum())), 0.0)
            centre = box.center()
            raise AoiError("area_too_small", (
                f"The polygon at {_lon_lat(centre.x(), centre.y())} covers only {area_sqkm * 1e6:.2g} m² "
                f"({across_m:.2g} m across), less than {MIN_AREA_SQM:g} m²: smaller than a satellite can image, "
                "so most likely a slipped click. Draw the area you want imaged, or order a point "
                "(a 5 × 5 km square) there."
            ), _place(centre))
        if area_sqkm > (self.max_sqkm or PLUGIN_MAX_SQKM):
            raise self._too_large_error(area_sqkm)
        return Aoi(KIND_AREA, geometry, area_sqkm, repairs=repairs)

    def _too_large_error(self, area_sqkm: float) -> AoiError:
        covers = "The polygon covers {} km², more than the {:,g} km² "
        advice = ": make it smaller, or split it into several orders."
        if self.max_sqkm is not None:
            limit = self.max_sqkm
            rule = "your contract allows in one order (the limit the service gives for your account)" + advice
        else:
            limit = PLUGIN_MAX_SQKM
            rule = (
                "the plugin accepts in one order. This is the plugin's own bound, not your contract's: the "
                "service does not tell the plugin your contract's limit, and it refuses an area above that "
                "limit itself" + advice
            )
        return AoiError("area_too_large", covers.format(_format_number(area_sqkm, limit), limit) + rule)

    def _without_holes(self, polygon: QgsAbstractGeometry) -> Tuple[QgsGeometry, Tuple[str, ...]]:
        """The polygon with its sliver holes filled (and said so), or AoiError for holes the user drew."""
        outer = QgsPolygon()
        outer.setExteriorRing(polygon.exteriorRing().clone())
        slivers, holes = [], []
        for index in range(polygon.numInteriorRings()):
            ring = polygon.interiorRing(index)
            hole = QgsPolygon()
            hole.setExteriorRing(ring.clone())
            hole_sqm = self._measurer.measureArea(QgsGeometry(hole))  # the QgsGeometry owns `hole` now
            (slivers if hole_sqm < SLIVER_HOLE_SQM else holes).append((hole_sqm, ring))
        if holes:
            sqkm = sum(sqm for sqm, _ in holes) / 1e6
            first = holes[0][1]
            location = (round(first.xAt(0), COORDINATE_DECIMALS), round(first.yAt(0), COORDINATE_DECIMALS))
            many = len(holes) > 1
            count, them, their = (f"{len(holes)} holes", "them", "their") if many else ("a hole", "it", "its")
            where = "the first at" if many else "at"
            raise AoiError("polygon_has_holes", (
                f"The polygon has {count} ({where} {_lon_lat(*location)}), but the service takes an area as "
                f"one outer ring: holes are not supported. The plugin does not fill {them} for you, since the "
                f"order would then task and charge {their} {sqkm:,.3g} km² too: to order the whole outline, "
                "delete the holes (Vector ▸ Geometry Tools ▸ Delete Holes); to leave "
                f"{them} out, order the parts around {them} as separate polygons."
            ), location)
        sqm = sum(sqm for sqm, _ in slivers)
        gaps = f"{len(slivers)} gaps" if len(slivers) > 1 else "a gap"
        note = (f"Filled {gaps} of {sqm:.2g} m² inside the polygon (under {SLIVER_HOLE_SQM:g} m² each, "
                "e.g. between merged parcels): the service takes no holes.")
        return QgsGeometry(outer), (note,)

    def _invalid_polygon_error(self, geometry: QgsGeometry) -> AoiError:
        errors = geometry.validateGeometry(Qgis.GeometryValidationEngine.Geos)
        what = errors[0].what() if errors else "invalid polygon"
        location = None
        if errors and errors[0].hasWhere():
            where = errors[0].where()
            location = _place(where)
        # All corners on one line (or repeated) is a polygon without area, whatever GEOS calls it.
        if "too few points" in what.lower() or geometry.convexHull().area() == 0.0:
            return _zero_area_error()
        at = f" at {_lon_lat(*location)}" if location else ""
        if "self-intersection" in what.lower():
            return AoiError("self_intersection", f"The polygon crosses itself{at}: {_FIX_GEOMETRIES_HINT}.", location)
        return AoiError("invalid_polygon", f"The polygon is not valid ({what}){at}: {_FIX_GEOMETRIES_HINT}.", location)


def _unit_name(reprojection: _Reprojection) -> str:
    return "metres" if reprojection.units == "meters" else reprojection.units


def _looks_like_degrees(reprojection: _Reprojection, source_box: QgsRectangle,
                        box: Optional[QgsRectangle]) -> Optional[AoiError]:
    """AoiError when projected coordinates are all plausible degrees: they then sit within 180 × 90 units
    of the projection's origin, a spot no one orders (or off the CRS's area of use altogether), while the
    same numbers as longitude/latitude are a real place. None when they do not look like degrees."""
    if not reprojection.is_projected:
        return None
    half_x, half_y = _DEGREE_BOX
    if not (-half_x <= source_box.xMinimum() and source_box.xMaximum() <= half_x
            and -half_y <= source_box.yMinimum() and source_box.yMaximum() <= half_y):
        return None
    centre = source_box.center()
    as_degrees = "at " + _lon_lat(centre.x(), centre.y())
    if source_box.width() or source_box.height():
        as_degrees = "around " + _lon_lat(centre.x(), centre.y())
        given = (f"x {source_box.xMinimum():.6g}…{source_box.xMaximum():.6g}, "
                 f"y {source_box.yMinimum():.6g}…{source_box.yMaximum():.6g}")
    else:
        given = f"x {centre.x():.6g}, y {centre.y():.6g}"
    if box is not None:
        landing = box.center()
        there = f"in {_unit_name(reprojection)} they are a spot near {_lon_lat(landing.x(), landing.y())}"
        area = reprojection.area_of_use
        if area is not None and not area.contains(landing):
            there += (f", outside the area {reprojection.crs_name} is made for (lon {area.xMinimum():g}…"
                      f"{area.xMaximum():g}, lat {area.yMinimum():g}…{area.yMaximum():g})")
        else:
            there += ", within a few hundred metres of where that CRS's axes cross"
    else:
        there = f"in {_unit_name(reprojection)} they are not a place {reprojection.crs_name} can represent"
    return AoiError("looks_like_degrees", (
        f"These coordinates ({given}) look like degrees of longitude/latitude "
        f"({as_degrees}), but the layer's CRS is {reprojection.crs_name}, which counts {_unit_name(reprojection)}: "
        f"{there}, not {as_degrees}. If they are degrees, set the layer's CRS to EPSG:4326 "
        "(Layer Properties ▸ Source); nothing was sent."
    ), _place(centre))


def _pole_name(latitude: float) -> str:
    return "North Pole" if latitude > 0 else "South Pole"


def _pole_enclosed(polygon: QgsAbstractGeometry) -> Optional[float]:
    """+90 or -90 when the polygon's outer ring goes round (or touches) that pole, else None.

    Around a pole a ring's longitudes wind a full turn; walking the ring, each step's longitude change
    taken the short way adds up to ±360° instead of 0°.
    """
    ring = polygon.exteriorRing() if hasattr(polygon, "exteriorRing") else None
    if ring is None or ring.numPoints() < 3:
        return None
    box = ring.boundingBox()
    if box.yMaximum() >= 90.0 or box.yMinimum() <= -90.0:
        return 90.0 if box.yMaximum() >= 90.0 else -90.0
    if box.width() <= 180.0:
        return None  # A ring that does not span half the globe's longitudes cannot wind round a pole.
    turn = 0.0
    points = ring.points()
    for first, second in zip(points, points[1:] + points[:1]):
        step = second.x() - first.x()
        turn += (step + 180.0) % 360.0 - 180.0
    if abs(turn) < 180.0:
        return None
    return 90.0 if box.center().y() > 0 else -90.0


def _pole_error(pole: float) -> AoiError:
    return AoiError("encloses_pole", (
        f"The polygon goes round (or reaches) the {_pole_name(pole)}. That is not an antimeridian problem: a "
        "longitude/latitude polygon, which is what the service takes, cannot contain a pole. Order the area "
        "in pieces that stay clear of the pole."
    ), (0.0, pole))


def _check_pole_clearance(what: str, points: Sequence[QgsPointXY]) -> None:
    """A point or strip end too near a pole: the square or strip would reach over it."""
    for point in points:
        distance_km = (90.0 - abs(point.y())) * 111.69  # a degree of latitude next to a pole
        if distance_km < POLE_CLEARANCE_KM:
            shape = ("5 × 5 km square" if what == "point" else f"{STRIP_WIDTH_KM:g} km-wide strip")
            raise AoiError("near_pole", (
                f"The {what} at {_lon_lat(point.x(), point.y())} is {distance_km:.2g} km from the "
                f"{_pole_name(point.y())}: the service's {shape} around it would reach over the pole, where "
                f"longitude/latitude corners no longer make the area charged for. Move it at least "
                f"{POLE_CLEARANCE_KM:g} km from the pole."
            ), _place(point))


def _with_tasked(aoi: Aoi, tasked: Optional[QgsGeometry]) -> Aoi:
    aoi._tasked_geometry = tasked
    return aoi


def _crossing_error(what: str, point: QgsPointXY) -> AoiError:
    return AoiError("tasked_area_crosses_antimeridian", (
        f"The {what} at {_lon_lat(point.x(), point.y())} is too close to 180° longitude: the area the service "
        f"tasks for it ({'the 5 × 5 km square' if what == 'point' else 'the strip 5 km wide'}) would cross the "
        f"antimeridian, which one order cannot. Keep it at least {POINT_SQUARE_KM / 2:g} km from 180°, or draw "
        "a polygon on one side of it."
    ), _place(point))


# Below this far from 180° a 5 km square or strip side can reach the antimeridian (2.5 km is 0.13° of
# longitude at 80° latitude); only then is the tasked shape built during validation to look.
_NEAR_ANTIMERIDIAN = 179.0


def _crosses(tasked: QgsGeometry) -> bool:
    box = tasked.boundingBox()
    return box.width() > 180.0 or box.xMinimum() < -180.0 or box.xMaximum() > 180.0


def _point_square_checked(point: QgsPointXY) -> Optional[QgsGeometry]:
    """The point's square when it was built to check it (near 180°), else None (built when first asked)."""
    if abs(point.x()) < _NEAR_ANTIMERIDIAN and abs(point.y()) < 80.0:
        return None
    square = point_square(point)
    if _crosses(square):
        raise _crossing_error("point", point)
    return square


def _strip_polygon_checked(start: QgsPointXY, end: QgsPointXY) -> Optional[QgsGeometry]:
    if max(abs(start.x()), abs(end.x())) < _NEAR_ANTIMERIDIAN and max(abs(start.y()), abs(end.y())) < 80.0:
        return None
    polygon = strip_polygon(start, end)
    pole = _pole_enclosed(polygon.constGet())
    if pole is not None:
        raise AoiError("near_pole", (
            f"The strip from {_lon_lat(start.x(), start.y())} to {_lon_lat(end.x(), end.y())} passes over the "
            f"{_pole_name(pole)} (its 5 km width covers the pole), which a longitude/latitude polygon cannot "
            "contain: draw it so it passes the pole at least 5 km away."
        ), (0.0, pole))
    if _crosses(polygon):
        raise _crossing_error("strip", start if abs(start.x()) > abs(end.x()) else end)
    return polygon


def _wide_error(part: QgsAbstractGeometry) -> AoiError:
    """A shape wider than 180° of longitude: around a pole, or across the antimeridian."""
    if QgsWkbTypes.geometryType(part.wkbType()) == QgsWkbTypes.GeometryType.PolygonGeometry:
        pole = _pole_enclosed(part)
        if pole is not None:
            return _pole_error(pole)
    return _antimeridian_error()


def _antimeridian_error() -> AoiError:
    return AoiError("crosses_antimeridian", (
        "The geometry crosses the antimeridian (180° longitude), which the service cannot task as one order: "
        "split it into two orders, one on each side of 180°."
    ))


def _zero_area_error() -> AoiError:
    return AoiError("zero_area", (
        "The polygon has no area (its corners lie on one line or are all the same point): "
        "draw at least three distinct corners."
    ))


def _closed_polygon(polygon: QgsAbstractGeometry) -> QgsAbstractGeometry:
    """A plain polygon with every ring closed (QGIS accepts open rings and triangles; GeoJSON does not)."""
    rings = [polygon.exteriorRing()] + [polygon.interiorRing(i) for i in range(polygon.numInteriorRings())]
    if QgsWkbTypes.flatType(polygon.wkbType()) == QgsWkbTypes.Type.Polygon and all(ring.isClosed() for ring in rings):
        return polygon
    closed = QgsPolygon()
    for index, ring in enumerate(rings):
        ring = ring.clone()
        ring.close()
        if index == 0:
            closed.setExteriorRing(ring)
        else:
            closed.addInteriorRing(ring)
    return closed


# --- Public entry points ----------------------------------------------------------------------------------


def aoi_from_geometry(
    geometry: Optional[QgsGeometry],
    crs: Union[QgsCoordinateReferenceSystem, str, None],
    *,
    max_sqkm: Optional[float] = DEFAULT_MAX_SQKM,
    transform_context: Optional[QgsCoordinateTransformContext] = None,
) -> Aoi:
    """The Aoi of one geometry drawn in `crs` (a CRS or an id such as "EPSG:3857"; default transform
    context: the project's); raises AoiError."""
    return AoiValidator(crs, max_sqkm=max_sqkm, transform_context=transform_context).validate(geometry)


def validate_geometries(
    geometries: Iterable[Optional[QgsGeometry]],
    crs: Union[QgsCoordinateReferenceSystem, str, None],
    *,
    max_sqkm: Optional[float] = DEFAULT_MAX_SQKM,
    transform_context: Optional[QgsCoordinateTransformContext] = None,
) -> List[AoiResult]:
    """Many geometries from one CRS (the fast path): an Aoi or an AoiError for each, in order."""
    return AoiValidator(crs, max_sqkm=max_sqkm, transform_context=transform_context).validate_many(geometries)


def aois_from_layer(
    layer: QgsVectorLayer,
    *,
    selected_only: bool = True,
    max_sqkm: Optional[float] = DEFAULT_MAX_SQKM,
    transform_context: Optional[QgsCoordinateTransformContext] = None,
) -> List[Tuple[int, AoiResult]]:
    """(feature id, Aoi or AoiError) for the layer's selected (or all) features; a bad feature never raises.

    With `selected_only` and nothing selected the list is empty. Raises AoiError only when `layer` is not
    a vector layer at all.
    """
    if not isinstance(layer, QgsVectorLayer) or not layer.isValid():
        raise AoiError("not_a_vector_layer", "Choose a valid vector layer whose features outline the areas to order.")
    request = QgsFeatureRequest()
    request.setNoAttributes()
    if selected_only:
        selected = layer.selectedFeatureIds()
        if not selected:
            return []
        request.setFilterFids(selected)
    no_crs_message = (
        f"Layer “{layer.name()}” has no coordinate reference system, so its features cannot be placed on the "
        "Earth: set it in Layer Properties ▸ Source."
    )
    validator = AoiValidator(
        layer.crs(),
        max_sqkm=max_sqkm,
        transform_context=transform_context if transform_context is not None else layer.transformContext(),
        no_crs_message=no_crs_message,
    )
    results: List[Tuple[int, AoiResult]] = []
    for feature in layer.getFeatures(request):
        try:
            results.append((feature.id(), validator.validate(feature.geometry())))
        except AoiError as error:
            results.append((feature.id(), error))
    return results


@dataclass
class SelectionAoi:
    """The one AOI a layer's selection makes, with the geometry to show for it (in the layer's CRS)."""

    result: AoiResult
    geometry: Optional[QgsGeometry]
    feature_ids: List[int]

    @property
    def merged(self) -> bool:
        return len(self.feature_ids) > 1 and isinstance(self.result, Aoi)


def aoi_from_selection(
    layer: QgsVectorLayer,
    *,
    max_sqkm: Optional[float] = DEFAULT_MAX_SQKM,
    transform_context: Optional[QgsCoordinateTransformContext] = None,
) -> Optional[SelectionAoi]:
    """The AOI of a layer's selected features for one order (None when nothing is selected).

    One feature is taken as it is. Several polygons that touch or overlap are merged into one polygon,
    as an analyst does who selects the adjacent parcels of one site; anything else cannot be one order,
    and the error says what to do instead (select one, or order each from the bulk dialog).
    """
    results = aois_from_layer(layer, selected_only=True, max_sqkm=max_sqkm, transform_context=transform_context)
    if not results:
        return None
    ids = [feature_id for feature_id, _ in results]
    geometries = {f.id(): f.geometry() for f in layer.getFeatures(
        QgsFeatureRequest().setFilterFids(ids).setNoAttributes())}
    if len(results) == 1:
        return SelectionAoi(results[0][1], geometries.get(ids[0]), ids)
    each = "order each of them with Bulk order from layer…"
    bad = [(feature_id, result) for feature_id, result in results if isinstance(result, AoiError)]
    if bad:
        feature_id, error = bad[0]
        return SelectionAoi(AoiError(error.code, f"Feature {feature_id} of the {len(ids)} selected: {error.message}",
                                     error.location), geometries.get(feature_id), ids)
    if any(not result.is_area for _, result in results):
        return SelectionAoi(AoiError("several_features", (
            f"{len(ids)} features are selected, but an order covers one point, strip or polygon: select one, "
            f"or {each} (only polygons that touch or overlap are merged into one area).")), None, ids)
    union = QgsGeometry.unaryUnion([geometries[i] for i in ids])
    if union.isNull() or union.isEmpty():
        return SelectionAoi(AoiError("invalid_polygon", (
            f"The {len(ids)} selected polygons could not be merged into one area: {_FIX_GEOMETRIES_HINT}.")),
            None, ids)
    parts = union.constGet().numGeometries() if union.isMultipart() else 1
    if parts > 1:
        return SelectionAoi(AoiError("separate_areas", (
            f"The {len(ids)} selected polygons make {parts} separate areas, but an order covers one polygon: "
            f"select polygons that touch or overlap (they are merged into one), or {each}.")), union, ids)
    validator = AoiValidator(layer.crs(), max_sqkm=max_sqkm,
                             transform_context=transform_context if transform_context is not None
                             else layer.transformContext())
    try:
        return SelectionAoi(validator.validate(union), union, ids)
    except AoiError as error:
        return SelectionAoi(AoiError(error.code, f"The {len(ids)} selected polygons merged: {error.message}",
                                     error.location), union, ids)


def order_payload(aoi: Aoi, name: str, **fields: Any) -> Dict[str, Any]:
    """The body of POST /orders/ for a checked AOI: name, GeoJSON geometry and any further order fields."""
    payload: Dict[str, Any] = {"name": name, "geometry": aoi.geojson()}
    payload.update(fields)
    return payload


def create_order_for_geometry(
    client: Any,
    name: str,
    geometry: Optional[QgsGeometry],
    crs: Union[QgsCoordinateReferenceSystem, str, None],
    *,
    max_sqkm: Optional[float] = DEFAULT_MAX_SQKM,
    transform_context: Optional[QgsCoordinateTransformContext] = None,
    **fields: Any,
) -> Any:
    """Validate, then send: AoiError is raised before `client.create_order` is ever called."""
    aoi = aoi_from_geometry(geometry, crs, max_sqkm=max_sqkm, transform_context=transform_context)
    return client.create_order(order_payload(aoi, name, **fields))


def first_errors(results: Sequence[Tuple[int, AoiResult]], limit: int = 5) -> List[str]:
    """Up to `limit` "feature 12: message" lines, for a dialog that lists what to fix in a layer."""
    lines = [f"feature {fid}: {result.message}" for fid, result in results if isinstance(result, AoiError)]
    return lines[:limit]
