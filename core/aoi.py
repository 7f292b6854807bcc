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
    QgsVectorLayer,
    QgsWkbTypes,
)

WGS84_AUTHID = "EPSG:4326"
WGS84_ELLIPSOID = "WGS84"

KIND_POINT = "point"
KIND_STRIP = "strip"
KIND_AREA = "area"

# Service rules (planet-tasking-api.txt): a point becomes a 5 × 5 km square, a strip is 5 km wide and
# 6-100 km long, an area may not exceed the contract's maximum km² (3000 unless told otherwise).
POINT_SQUARE_KM = 5.0
POINT_SQKM = POINT_SQUARE_KM * POINT_SQUARE_KM
STRIP_WIDTH_KM = 5.0
STRIP_MIN_KM = 6.0
STRIP_MAX_KM = 100.0
DEFAULT_MAX_SQKM = 3000.0

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
    return QgsPointXY(round(point.x(), COORDINATE_DECIMALS), round(point.y(), COORDINATE_DECIMALS))


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
        max_sqkm: float = DEFAULT_MAX_SQKM,
        transform_context: Optional[QgsCoordinateTransformContext] = None,
        no_crs_message: Optional[str] = None,
    ):
        if not max_sqkm > 0:
            raise ValueError(f"max_sqkm must be positive, not {max_sqkm!r}")
        if isinstance(crs, str):
            crs = QgsCoordinateReferenceSystem(crs)
        self.max_sqkm = float(max_sqkm)
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
        part = self._single_part(geometry)
        geometry_type = QgsWkbTypes.geometryType(part.wkbType())
        self._check_finite(part, geometry_type)
        source_box = part.boundingBox()
        self._reproject(part, source_box)
        snapped = part.snappedToGrid(_GRID_DEGREES, _GRID_DEGREES)
        if geometry_type == QgsWkbTypes.GeometryType.PointGeometry:
            self._check_ranges(snapped)
            return Aoi(KIND_POINT, QgsGeometry(snapped), POINT_SQKM)
        if geometry_type == QgsWkbTypes.GeometryType.LineGeometry:
            return self._strip(part, snapped)
        if geometry_type == QgsWkbTypes.GeometryType.PolygonGeometry:
            return self._area(part, snapped)
        raise AoiError("unsupported_geometry", (
            f"A {QgsWkbTypes.displayString(part.wkbType())} cannot be ordered: "
            "use a point, a two-point line (strip) or a polygon."
        ))

    # Each step below raises AoiError; the order is the order in which a user can fix things.

    def _single_part(self, geometry: QgsGeometry) -> QgsAbstractGeometry:
        """A private, 2D, straight-segment copy of the one part of `geometry`."""
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
        part = abstract.segmentize() if abstract.hasCurvedSegments() else abstract.clone()
        wkb_type = part.wkbType()
        if QgsWkbTypes.hasZ(wkb_type):
            part.dropZValue()
        if QgsWkbTypes.hasM(wkb_type):
            part.dropMValue()
        return part

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
            raise AoiError("reprojection_failed", failure + advice) from None
        values = (box.xMinimum(), box.xMaximum(), box.yMinimum(), box.yMaximum())
        if not all(math.isfinite(v) for v in values):
            raise AoiError("reprojection_failed", failure + advice)
        tolerance = reprojection.round_trip_tolerance
        if (
            abs(back.xMinimum() - source_box.xMinimum()) > tolerance
            or abs(back.xMaximum() - source_box.xMaximum()) > tolerance
            or abs(back.yMinimum() - source_box.yMinimum()) > tolerance
            or abs(back.yMaximum() - source_box.yMaximum()) > tolerance
        ):
            if values[1] - values[0] > 180.0:
                raise _antimeridian_error()
            raise AoiError(
                "reprojection_failed", failure + f" (they are outside what {reprojection.crs_name} can represent)" + advice
            )

    def _check_ranges(self, snapped: QgsAbstractGeometry) -> None:
        box = snapped.boundingBox()
        x_min, x_max, y_min, y_max = box.xMinimum(), box.xMaximum(), box.yMinimum(), box.yMaximum()
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

    def _strip(self, part: QgsAbstractGeometry, snapped: Optional[QgsAbstractGeometry]) -> Aoi:
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
        return Aoi(KIND_STRIP, QgsGeometry(snapped), length_km * STRIP_WIDTH_KM, length_km)

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
        area_sqkm = self._measurer.measureArea(geometry) / 1e6
        if area_sqkm <= 0.0:
            raise _zero_area_error()
        if area_sqkm > self.max_sqkm:
            raise AoiError("area_too_large", (
                f"The polygon covers {_format_number(area_sqkm, self.max_sqkm)} km², more than the "
                f"{self.max_sqkm:,g} km² your contract allows in one order: make it smaller, or split it "
                "into several orders."
            ))
        return Aoi(KIND_AREA, geometry, area_sqkm)

    def _invalid_polygon_error(self, geometry: QgsGeometry) -> AoiError:
        errors = geometry.validateGeometry(Qgis.GeometryValidationEngine.Geos)
        what = errors[0].what() if errors else "invalid polygon"
        location = None
        if errors and errors[0].hasWhere():
            where = errors[0].where()
            location = (round(where.x(), COORDINATE_DECIMALS), round(where.y(), COORDINATE_DECIMALS))
        # All corners on one line (or repeated) is a polygon without area, whatever GEOS calls it.
        if "too few points" in what.lower() or geometry.convexHull().area() == 0.0:
            return _zero_area_error()
        at = f" at {_lon_lat(*location)}" if location else ""
        if "self-intersection" in what.lower():
            return AoiError("self_intersection", f"The polygon crosses itself{at}: {_FIX_GEOMETRIES_HINT}.", location)
        return AoiError("invalid_polygon", f"The polygon is not valid ({what}){at}: {_FIX_GEOMETRIES_HINT}.", location)


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
    max_sqkm: float = DEFAULT_MAX_SQKM,
    transform_context: Optional[QgsCoordinateTransformContext] = None,
) -> Aoi:
    """The Aoi of one geometry drawn in `crs` (a CRS or an id such as "EPSG:3857"; default transform
    context: the project's); raises AoiError."""
    return AoiValidator(crs, max_sqkm=max_sqkm, transform_context=transform_context).validate(geometry)


def validate_geometries(
    geometries: Iterable[Optional[QgsGeometry]],
    crs: Union[QgsCoordinateReferenceSystem, str, None],
    *,
    max_sqkm: float = DEFAULT_MAX_SQKM,
    transform_context: Optional[QgsCoordinateTransformContext] = None,
) -> List[AoiResult]:
    """Many geometries from one CRS (the fast path): an Aoi or an AoiError for each, in order."""
    return AoiValidator(crs, max_sqkm=max_sqkm, transform_context=transform_context).validate_many(geometries)


def aois_from_layer(
    layer: QgsVectorLayer,
    *,
    selected_only: bool = True,
    max_sqkm: float = DEFAULT_MAX_SQKM,
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
    max_sqkm: float = DEFAULT_MAX_SQKM,
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
    max_sqkm: float = DEFAULT_MAX_SQKM,
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
