"""A corpus of bad AOIs: each is refused with its own code and message, and the sandbox hears nothing."""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass
from typing import Callable, Optional, Tuple, Union

import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsGeometry,
    QgsPointXY,
)

from core.aoi import (
    LONGITUDE_RANGE_MESSAGE,
    Aoi,
    AoiError,
    aoi_from_geometry,
    aois_from_layer,
    create_order_for_geometry,
    order_payload,
)
from tests.layers_from_wkt import make_layer

# Without the emulator there is nothing to listen for requests; say so instead of failing on setup.
SANDBOX_MISSING = importlib.util.find_spec("sandbox.__main__") is None

KM_PER_DEGREE_ON_EQUATOR = 6378137.0 * math.pi / 180 / 1000
NAN, INF = float("nan"), float("inf")
ENGINEERING_WKT = (
    'LOCAL_CS["Site grid",LOCAL_DATUM["site",0],UNIT["metre",1],AXIS["X",EAST],AXIS["Y",NORTH]]'
)


def equator_line(km: float) -> str:
    """A line along the equator from 0° that is `km` long on the WGS84 ellipsoid."""
    return f"LINESTRING(0 0, {km / KM_PER_DEGREE_ON_EQUATOR:.9f} 0)"


def polygon_xy(points) -> Callable[[], QgsGeometry]:
    """Built from coordinates rather than WKT, which cannot carry NaN or infinity."""
    return lambda: QgsGeometry.fromPolygonXY([[QgsPointXY(x, y) for x, y in points]])


def point_xy(x: float, y: float) -> Callable[[], QgsGeometry]:
    return lambda: QgsGeometry.fromPointXY(QgsPointXY(x, y))


def line_xy(points) -> Callable[[], QgsGeometry]:
    return lambda: QgsGeometry.fromPolylineXY([QgsPointXY(x, y) for x, y in points])


@dataclass
class Case:
    id: str
    geometry: Union[str, None, Callable[[], QgsGeometry]]
    code: str
    # Words the user must read in the message (numbers, places, the service's wording).
    says: Tuple[str, ...] = ()
    crs: Union[str, None, Callable[[], QgsCoordinateReferenceSystem]] = "EPSG:4326"
    location: Optional[Tuple[float, float]] = None
    # Where GEOS versions differ on which point of a self-intersection they report: any point on these
    # crossing edges (WKT) is right, and the message must name the one reported.
    location_on: Optional[str] = None
    # The sandbox's contract limit (GET /sandbox/accounts); None: unknown, as with Planet's API.
    max_sqkm: Optional[float] = 3000.0

    def build_geometry(self) -> Optional[QgsGeometry]:
        if self.geometry is None or callable(self.geometry):
            return self.geometry() if self.geometry else None
        parsed = QgsGeometry.fromWkt(self.geometry)
        assert not parsed.isNull(), f"corpus WKT did not parse: {self.geometry}"
        return parsed

    def build_crs(self) -> Optional[QgsCoordinateReferenceSystem]:
        if self.crs is None:
            return None
        return self.crs() if callable(self.crs) else QgsCoordinateReferenceSystem(self.crs)


BOW_TIE = "POLYGON((0 0, 0.1 0.1, 0.1 0, 0 0.1, 0 0))"
CORPUS = [
    # Nothing there.
    Case("null geometry", QgsGeometry, "null_geometry", ("no geometry",)),
    Case("None", None, "null_geometry", ("no geometry",)),
    Case("empty point", "POINT EMPTY", "empty_geometry", ("empty",)),
    Case("empty line", "LINESTRING EMPTY", "empty_geometry", ("empty",)),
    Case("empty polygon", "POLYGON EMPTY", "empty_geometry", ("empty",)),
    Case("empty multipolygon", "MULTIPOLYGON EMPTY", "empty_geometry", ("empty",)),
    Case("empty collection", "GEOMETRYCOLLECTION EMPTY", "empty_geometry", ("empty",)),
    # Polygons that are not valid.
    Case("bow-tie", BOW_TIE, "self_intersection", ("crosses itself", "lon 0.05, lat 0.05"), location=(0.05, 0.05)),
    Case("bow-tie with Z", "POLYGON Z((0 0 5, 0.1 0.1 5, 0.1 0 5, 0 0.1 5, 0 0 5))", "self_intersection",
         ("lon 0.05, lat 0.05",), location=(0.05, 0.05)),
    Case("bow-tie as a one-part multipolygon", "MULTIPOLYGON(((0 0, 0.1 0.1, 0.1 0, 0 0.1, 0 0)))",
         "self_intersection", location=(0.05, 0.05)),
    Case("figure eight", "POLYGON((0 0, 0.2 0, 0.1 0.1, 0.2 0.2, 0 0.2, 0.1 0.1, 0 0))", "self_intersection",
         ("lon 0.1, lat 0.1",), location=(0.1, 0.1)),
    Case("spike folding back", "POLYGON((0 0, 0.1 0, 0.1 0.1, 0.1 0, 0 0))", "self_intersection",
         ("crosses itself",), location_on="LINESTRING(0.1 0, 0.1 0.1)"),
    Case("ring touching itself", "POLYGON((0 0, 0.2 0, 0.2 0.2, 0.1 0, 0 0.2, 0 0))", "self_intersection",
         ("lon 0.1, lat 0.0",), location=(0.1, 0.0)),
    Case("overlapping holes", "POLYGON((0 0, 0.3 0, 0.3 0.3, 0 0.3, 0 0),"
         "(0.05 0.05, 0.15 0.05, 0.15 0.15, 0.05 0.15, 0.05 0.05),(0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.2, 0.1 0.1))",
         "self_intersection", location_on="MULTIPOINT((0.15 0.1), (0.1 0.15))"),
    Case("hole outside its shell", "POLYGON((0 0, 0.1 0, 0.1 0.1, 0 0.1, 0 0),(0.5 0.5, 0.6 0.5, 0.6 0.6, 0.5 0.5))",
         "invalid_polygon", ("Hole lies outside shell", "lon 0.5, lat 0.5"), location=(0.5, 0.5)),
    Case("bow-tie in UTM 33N", "POLYGON((500000 5500000, 510000 5510000, 510000 5500000, 500000 5510000, "
         "500000 5500000))", "self_intersection", ("crosses itself", "lon 15.06"), crs="EPSG:32633"),
    # Degenerate shapes.
    Case("zero-area polygon (collinear)", "POLYGON((0 0, 0.1 0, 0.2 0, 0 0))", "zero_area", ("no area",)),
    Case("zero-area polygon (one point repeated)", "POLYGON((1 1, 1 1, 1 1, 1 1))", "zero_area", ("no area",)),
    Case("zero-area polygon (two points)", "POLYGON((0 0, 0.1 0, 0.1 0, 0 0))", "zero_area", ("no area",)),
    Case("polygon collapsing below 0.1 m", "POLYGON((0 0, 0.00000001 0, 0.00000001 0.00000001, 0 0))", "zero_area"),
    Case("strip with duplicate points", "LINESTRING(10 50, 10 50)", "strip_too_short",
         ("same point", "lon 10.0, lat 50.0"), location=(10.0, 50.0)),
    Case("line of one vertex", "LINESTRING(10 50)", "line_too_few_vertices", ("1 vertex",)),
    Case("line with 3 vertices", "LINESTRING(0 0, 0.1 0.05, 0.2 0)", "line_too_many_vertices", ("3 vertices",)),
    Case("line with 5 vertices", "LINESTRING(0 0, 0.1 0, 0.2 0, 0.3 0, 0.4 0)", "line_too_many_vertices",
         ("5 vertices",)),
    Case("circular arc as a strip", "CIRCULARSTRING(0 0, 0.05 0.05, 0.1 0)", "line_too_many_vertices",
         ("exactly two points",)),
    # Strip length.
    Case("strip of 5.9 km", equator_line(5.9), "strip_too_short", ("5.9 km", "6–100 km")),
    Case("strip of 100.1 km", equator_line(100.1), "strip_too_long", ("100.1 km", "6–100 km")),
    Case("strip of 5.99 km", equator_line(5.99), "strip_too_short", ("5.99 km",)),
    Case("strip of 1 km in Web Mercator", "LINESTRING(0 0, 1000 0)", "strip_too_short", ("1.0 km",),
         crs="EPSG:3857"),
    Case("strip of 250 km in UTM", "LINESTRING(400000 5500000, 650000 5500000)", "strip_too_long", ("250.",),
         crs="EPSG:32633"),
    Case("14 map-km strip at 70°N is under 5 ground-km", "LINESTRING(0 11068715.66, 14000 11068715.66)",
         "strip_too_short", ("4.8 km",), crs="EPSG:3857"),
    # Area.
    Case("3003 km² in an equal-area CRS", "POLYGON((4000000 3000000, 4054800 3000000, 4054800 3054800, "
         "4000000 3054800, 4000000 3000000))", "area_too_large", ("3,003.", "3,000 km²"), crs="EPSG:3035"),
    Case("a 1° cell on the equator", "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))", "area_too_large",
         ("12,308.", "3,000 km²")),
    Case("123 km² over a 100 km² contract", "POLYGON((0 0, 0.1 0, 0.1 0.1, 0 0.1, 0 0))", "area_too_large",
         ("123.1 km²", "100 km²"), max_sqkm=100.0),
    # Coordinates out of range.
    Case("lon 181 (the documented example)", "POINT(181 40)", "longitude_out_of_range",
         (LONGITUDE_RANGE_MESSAGE, "lon 181.0, lat 40.0"), location=(181.0, 40.0)),
    Case("lon -181", "POINT(-181 40)", "longitude_out_of_range", (LONGITUDE_RANGE_MESSAGE,), location=(-181.0, 40.0)),
    Case("polygon wholly east of 180", "POLYGON((181 0, 181.1 0, 181.1 0.1, 181 0.1, 181 0))",
         "longitude_out_of_range", (LONGITUDE_RANGE_MESSAGE,), location=(181.0, 0.0)),
    Case("strip wholly west of -180", "LINESTRING(-181 10, -181.2 10)", "longitude_out_of_range",
         (LONGITUDE_RANGE_MESSAGE,)),
    Case("lat 91", "POINT(10 91)", "latitude_out_of_range", ("within -90.0 and 90.0", "lat 91.0"),
         location=(10.0, 91.0)),
    Case("lat -90.5 polygon", "POLYGON((0 -90.5, 1 -90.5, 1 -89.5, 0 -90.5))", "latitude_out_of_range",
         ("lat -90.5",)),
    # The antimeridian.
    Case("polygon across 180 written past it", "POLYGON((179.9 0, 180.1 0, 180.1 0.1, 179.9 0.1, 179.9 0))",
         "crosses_antimeridian", ("antimeridian", "two orders")),
    Case("polygon across 180 written wrapped", "POLYGON((179.9 0, -179.9 0, -179.9 0.1, 179.9 0.1, 179.9 0))",
         "crosses_antimeridian", ("antimeridian",)),
    Case("strip across 180 wrapped", "LINESTRING(179.97 10, -179.97 10)", "crosses_antimeridian"),
    Case("strip across -180", "LINESTRING(-180.05 0, -179.95 0)", "crosses_antimeridian"),
    Case("polygon across 180 in Web Mercator", "POLYGON((19900000 0, 20100000 0, 20100000 10000, "
         "19900000 10000, 19900000 0))", "crosses_antimeridian", crs="EPSG:3857"),
    Case("strip across 180 in Web Mercator", "LINESTRING(19990000 0, 20060000 0)", "crosses_antimeridian",
         crs="EPSG:3857"),
    # Several parts.
    Case("multipolygon of 2", "MULTIPOLYGON(((0 0, 0.1 0, 0.1 0.1, 0 0)),((1 1, 1.1 1, 1.1 1.1, 1 1)))",
         "too_many_parts", ("2 parts",)),
    Case("multipoint of 3", "MULTIPOINT((0 0),(1 1),(2 2))", "too_many_parts", ("3 parts",)),
    Case("multipoint of the same point twice", "MULTIPOINT((5 5),(5 5))", "too_many_parts", ("2 parts",)),
    Case("multilinestring of 2", "MULTILINESTRING((0 0, 0.1 0),(1 1, 1.1 1))", "too_many_parts", ("2 parts",)),
    Case("collection of point and polygon", "GEOMETRYCOLLECTION(POINT(1 1), POLYGON((0 0, 0.1 0, 0.1 0.1, 0 0)))",
         "too_many_parts", ("2 parts",)),
    # Not numbers.
    Case("NaN point", point_xy(NAN, 10), "non_finite_coordinates", ("not a finite number",)),
    Case("infinite latitude", point_xy(10, -INF), "non_finite_coordinates", ("-inf",)),
    Case("NaN in a polygon", polygon_xy([(0, 0), (NAN, 0.1), (0.1, 0), (0, 0)]), "non_finite_coordinates", ("nan",)),
    Case("infinity in a polygon", polygon_xy([(0, 0), (INF, 0.1), (0.1, 0), (0, 0)]), "non_finite_coordinates"),
    Case("NaN in a strip", line_xy([(0, 0), (0.1, NAN)]), "non_finite_coordinates"),
    Case("NaN in a projected polygon", polygon_xy([(500000, 5500000), (510000, NAN), (510000, 5500000),
                                                  (500000, 5500000)]), "non_finite_coordinates", crs="EPSG:32633"),
    # Odd or missing CRSs.
    Case("no CRS at all", "POINT(10 50)", "no_crs", ("no coordinate reference system",), crs=None),
    Case("unset CRS", "POINT(10 50)", "invalid_crs", ("not valid",), crs=QgsCoordinateReferenceSystem),
    Case("unknown EPSG code", "POINT(10 50)", "invalid_crs", ("not valid",), crs="EPSG:999999"),
    Case("engineering (site) CRS", "POINT(100 100)", "reprojection_failed", ("no way to convert",),
         crs=lambda: QgsCoordinateReferenceSystem.fromWkt(ENGINEERING_WKT)),
    Case("a Mars CRS", "POINT(10 10)", "reprojection_failed", ("GCS_Mars_2000",), crs="ESRI:104905"),
    Case("geocentric CRS", "POINT(4000000 1000000)", "reprojection_failed", ("EPSG:4978",), crs="EPSG:4978"),
    Case("Web Mercator beyond the world's edge", "POINT(21000000 0)", "reprojection_failed",
         ("outside what EPSG:3857",), crs="EPSG:3857"),
    Case("UTM northing of 100,000 km", "POINT(500000 100000000)", "reprojection_failed", ("EPSG:32633",),
         crs="EPSG:32633"),
    Case("UTM coordinates far off the Earth", "POINT(1000000000 1000000000)", "reprojection_failed",
         ("cannot be converted",), crs="EPSG:32633"),
]

# Issue 13: every class of AOI that used to be sent (or sent to the wrong place) without a word.
DEGREES = "set the layer's CRS to EPSG:4326"
NEW_CASES = [
    # Degrees typed into a projected CRS: they would land within metres of the projection's origin.
    Case("Berlin in degrees in Web Mercator", "POINT(13.4 52.5)", "looks_like_degrees",
         ("look like degrees", "lon 13.4, lat 52.5", "EPSG:3857", DEGREES), crs="EPSG:3857", location=(13.4, 52.5)),
    Case("Berlin in degrees in UTM 33N", "POINT(13.4 52.5)", "looks_like_degrees",
         ("EPSG:32633", "outside the area", "lon 12…18", DEGREES), crs="EPSG:32633"),
    Case("Cape Town in degrees in UTM 34S", "POINT(18.4 -33.9)", "looks_like_degrees",
         ("EPSG:32734", "lat -33.9", DEGREES), crs="EPSG:32734"),
    Case("Birmingham in degrees in the British grid", "POINT(-1.9 52.5)", "looks_like_degrees",
         ("EPSG:27700", "lon -1.9, lat 52.5", DEGREES), crs="EPSG:27700"),
    Case("a degree polygon in Web Mercator", "POLYGON((13.3 52.4, 13.5 52.4, 13.5 52.6, 13.3 52.6, 13.3 52.4))",
         "looks_like_degrees", ("x 13.3…13.5", "around lon 13.4", DEGREES), crs="EPSG:3857"),
    Case("a degree strip in Lambert-93", "LINESTRING(2.3 48.8, 2.4 49.3)", "looks_like_degrees",
         ("EPSG:2154", DEGREES), crs="EPSG:2154"),
    Case("a degree point in an equal-area CRS", "POINT(10 50)", "looks_like_degrees", ("EPSG:3035",),
         crs="EPSG:3035"),
    Case("a degree point in a US state plane (feet)", "POINT(-122.4 37.8)", "looks_like_degrees",
         ("EPSG:2227", "feet"), crs="EPSG:2227"),
    # Projected coordinates far outside where their CRS is used: made in another CRS.
    Case("British grid metres in a Lambert-93 layer", "POINT(530000 180000)", "outside_crs_area",
         ("EPSG:2154", "far outside", "lat 41.15…51.56", "another CRS"), crs="EPSG:2154"),
    Case("a southern northing in UTM 33N", "POINT(500000 -5000000)", "outside_crs_area",
         ("lat -45.", "lat 0…84"), crs="EPSG:32633"),
    Case("Lambert-93 metres in the British grid", "POINT(650000 6860000)", "reprojection_failed", (),
         crs="EPSG:27700"),
    Case("a New Zealand grid northing missing a digit", "POINT(1750000 540000)", "outside_crs_area",
         ("EPSG:2193", "far outside"), crs="EPSG:2193"),
    # Holes: the service takes one ring ("holes are not supported").
    Case("a polygon with a hole", "POLYGON((0 0, 0.3 0, 0.3 0.3, 0 0.3, 0 0),"
         "(0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.2, 0.1 0.1))", "polygon_has_holes",
         ("a hole", "holes are not supported", "lon 0.1, lat 0.1", "Delete Holes", "123 km²"), location=(0.1, 0.1)),
    Case("a polygon with two holes", "POLYGON((0 0, 0.3 0, 0.3 0.3, 0 0.3, 0 0),"
         "(0.05 0.05, 0.1 0.05, 0.1 0.1, 0.05 0.1, 0.05 0.05),(0.2 0.2, 0.25 0.2, 0.25 0.25, 0.2 0.25, 0.2 0.2))",
         "polygon_has_holes", ("2 holes", "the first at lon 0.05, lat 0.05")),
    Case("a sliver and a real hole", "POLYGON((0 0, 0.3 0, 0.3 0.3, 0 0.3, 0 0),"
         "(0.01 0.01, 0.01005 0.01, 0.01005 0.01005, 0.01 0.01),(0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.2, 0.1 0.1))",
         "polygon_has_holes", ("a hole", "lon 0.1, lat 0.1")),
    Case("a hole in a UTM field", "POLYGON((495000 5535000, 505000 5535000, 505000 5545000, 495000 5545000, "
         "495000 5535000),(499000 5539000, 501000 5539000, 501000 5541000, 499000 5541000, 499000 5539000))",
         "polygon_has_holes", ("a hole", "4 km²"), crs="EPSG:32633"),
    Case("a curved polygon with a hole", "CURVEPOLYGON(CIRCULARSTRING(0 0, 0.2 0.2, 0 0.4, -0.2 0.2, 0 0),"
         "(0 0.1, 0.05 0.2, 0 0.3, -0.05 0.2, 0 0.1))", "polygon_has_holes", ("holes are not supported",)),
    # The poles.
    Case("a point on the North Pole", "POINT(0 90)", "near_pole", ("North Pole", "at least 5 km"),
         location=(0.0, 90.0)),
    Case("a point 1 km from the North Pole", "POINT(45 89.99)", "near_pole", ("1.1 km from the North Pole",)),
    Case("a point 3 km from the South Pole", "POINT(-60 -89.973)", "near_pole", ("South Pole",)),
    Case("a point near the pole in polar stereographic", "POINT(1000 1000)", "near_pole", ("North Pole",),
         crs="EPSG:3413"),
    Case("a square around the North Pole in polar stereographic", "POLYGON((-500000 -500000, 500000 -500000, "
         "500000 500000, -500000 500000, -500000 -500000))", "encloses_pole",
         ("North Pole", "not an antimeridian problem"), crs="EPSG:3413"),
    Case("Antarctica's pole in its own CRS", "POLYGON((-200000 -200000, 200000 -200000, 200000 200000, "
         "-200000 200000, -200000 -200000))", "encloses_pole", ("South Pole",), crs="EPSG:3031"),
    Case("a ring round the pole in degrees", "POLYGON((0 85, 90 85, 180 85, -90 85, 0 85))", "encloses_pole",
         ("North Pole",)),
    Case("a polar cap in degrees", "POLYGON((-180 88, 180 88, 180 90, -180 90, -180 88))", "encloses_pole",
         ("North Pole",)),
    Case("a strip over the North Pole", "LINESTRING(0 89.9, 180 89.9)", "near_pole",
         ("passes over the North Pole",)),
    # The antimeridian: the tasked square or strip, not only the drawn shape.
    Case("a point 1 km west of 180", "POINT(179.99 10)", "tasked_area_crosses_antimeridian",
         ("lon 179.99, lat 10.0", "5 × 5 km square", "2.5 km from 180°"), location=(179.99, 10.0)),
    Case("a point on -180", "POINT(-180 -17)", "tasked_area_crosses_antimeridian", ("lon -180.0",)),
    Case("a point 10 km from 180 at 80°N", "POINT(179.9 80)", "tasked_area_crosses_antimeridian",
         ("lat 80.0",)),
    Case("a strip along 180", "LINESTRING(179.99 10, 179.99 10.2)", "tasked_area_crosses_antimeridian",
         ("strip 5 km wide",)),
    Case("a point next to 180 in Web Mercator", "POINT(20036000 1000000)", "tasked_area_crosses_antimeridian",
         crs="EPSG:3857"),
    # Zero-area and sub-metre polygons.
    Case("a 50 cm square", "POLYGON((0 0, 0.0000045 0, 0.0000045 0.0000045, 0 0.0000045, 0 0))", "area_too_small",
         ("m²", "less than 1 m²")),
    Case("a 70 cm triangle in UTM", "POLYGON((500000 5500000, 500000.7 5500000, 500000 5500000.7, 500000 5500000))",
         "area_too_small", ("less than 1 m²",), crs="EPSG:32633"),
    Case("a polygon of one point in UTM", "POLYGON((500000 5500000, 500000 5500000, 500000 5500000, "
         "500000 5500000))", "zero_area", ("no area",), crs="EPSG:32633"),
    Case("a flat triangle in Web Mercator", "POLYGON((1000000 6000000, 1010000 6000000, 1020000 6000000, "
         "1000000 6000000))", "zero_area", crs="EPSG:3857"),
    # What the user drew, not what segmentizing made of it.
    Case("a 3-point arc as a strip", "CIRCULARSTRING(10 50, 10.05 50.05, 10.1 50)", "line_too_many_vertices",
         ("arc through 3 points", "exactly two points")),
    Case("a compound curve with an arc", "COMPOUNDCURVE((10 50, 10.05 50),CIRCULARSTRING(10.05 50, 10.1 50.05, "
         "10.15 50))", "line_too_many_vertices", ("arc through 4 points",)),
    # The area limit: the contract's when known, the plugin's own bound (said so) when not.
    Case("over a known 5,000 km² limit", "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))", "area_too_large",
         ("12,308.", "5,000 km² your contract allows"), max_sqkm=5000.0),
    Case("over the plugin's own bound", "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))", "area_too_large",
         ("3,000 km² the plugin accepts", "not your contract's"), max_sqkm=None),
]


def test_the_corpus_is_big_enough_and_each_case_is_distinct():
    assert len(CORPUS) >= 50 and len(NEW_CASES) >= 30
    assert len({case.id for case in CORPUS + NEW_CASES}) == len(CORPUS) + len(NEW_CASES)
    # Every failure the AOI rules name is in it.
    assert {case.code for case in CORPUS} >= {
        "null_geometry", "empty_geometry", "self_intersection", "invalid_polygon", "zero_area", "too_many_parts",
        "line_too_many_vertices", "line_too_few_vertices", "strip_too_short", "strip_too_long", "area_too_large",
        "longitude_out_of_range", "latitude_out_of_range", "crosses_antimeridian", "no_crs", "invalid_crs",
        "reprojection_failed", "non_finite_coordinates",
    }
    assert {case.code for case in NEW_CASES} >= {
        "looks_like_degrees", "outside_crs_area", "polygon_has_holes", "near_pole", "encloses_pole",
        "tasked_area_crosses_antimeridian", "area_too_small", "zero_area", "line_too_many_vertices",
        "area_too_large",
    }


@pytest.fixture
def tasking(request):
    """(sandbox, client) — the user's path to the service, over real HTTP."""
    if SANDBOX_MISSING:
        pytest.skip("the sandbox (python3 -m sandbox) is not in this tree yet")
    planet_tasking = pytest.importorskip("core.services.planet_tasking.client", reason="the tasking client is not in this tree yet")
    sandbox = request.getfixturevalue("sandbox")
    return sandbox, planet_tasking.TaskingClient(sandbox.tasking_url, sandbox.api_key)


def order_posts(sandbox):
    return [r for r in sandbox.requests_seen() if r["method"] == "POST" and r["path"].rstrip("/").endswith("orders")]


@pytest.mark.parametrize("case", CORPUS + NEW_CASES, ids=[case.id for case in CORPUS + NEW_CASES])
def test_a_bad_aoi_gets_its_own_message_and_nothing_is_sent(case, tasking):
    sandbox, client = tasking

    with pytest.raises(AoiError) as caught:
        create_order_for_geometry(
            client, f"corpus: {case.id}", case.build_geometry(), case.build_crs(), max_sqkm=case.max_sqkm
        )

    problem = caught.value
    assert problem.code == case.code, problem.message
    for words in case.says:
        assert words in problem.message
    if case.location is not None:
        assert problem.location == pytest.approx(case.location, abs=1e-6)
    if case.location_on is not None:
        reported = QgsGeometry.fromPointXY(QgsPointXY(*problem.location))
        assert reported.distance(QgsGeometry.fromWkt(case.location_on)) < 1e-6, problem.location
        lon, lat = problem.location
        assert f"lon {round(lon, 6)!r}, lat {round(lat, 6)!r}" in problem.message
    assert sandbox.requests_seen() == []


def send_valid_features(client, layer) -> list:
    """What the dock does with a layer: check every feature, send only those that passed."""
    sent = []
    for fid, result in aois_from_layer(layer, selected_only=False):
        if isinstance(result, Aoi):
            sent.append(client.create_order(order_payload(result, f"feature {fid}")))
    return sent


def test_a_layer_without_crs_is_refused_feature_by_feature_and_nothing_is_sent(tasking):
    sandbox, client = tasking
    layer = make_layer("Polygon", ["POLYGON((0 0, 0.1 0, 0.1 0.1, 0 0))", "POLYGON((1 1, 1.1 1, 1.1 1.1, 1 1))"],
                       name="field boundaries")
    layer.setCrs(QgsCoordinateReferenceSystem())

    results = aois_from_layer(layer, selected_only=False)
    assert [result.code for _, result in results] == ["no_crs", "no_crs"]
    assert "field boundaries" in results[0][1].message
    assert send_valid_features(client, layer) == []
    assert sandbox.requests_seen() == []


def test_a_layer_of_bad_features_sends_nothing(tasking):
    sandbox, client = tasking
    layer = make_layer("Point?crs=EPSG:4326", name="field boundaries", wkts=[None, "POINT(181 40)", "POINT(10 91)", "MULTIPOINT((0 0),(1 1))"])

    assert [r.code for _, r in aois_from_layer(layer, selected_only=False)] == [
        "null_geometry", "longitude_out_of_range", "latitude_out_of_range", "too_many_parts",
    ]
    assert send_valid_features(client, layer) == []
    assert sandbox.requests_seen() == []


def test_a_bulk_of_degrees_typed_into_web_mercator_refuses_each_feature_and_sends_none(tasking):
    # The headline of issue 13: the whole layer used to go to (0°, 0°).
    from core.app.bulk import FieldMapping, LayerSnapshot, validate_layer

    sandbox, client = tasking
    places = [(13.4, 52.5), (2.35, 48.86), (-0.13, 51.5), (12.5, 41.9)]
    layer = make_layer("Point?crs=EPSG:3857", name="capitals", wkts=[f"POINT({x} {y})" for x, y in places])

    report = validate_layer(LayerSnapshot(layer), FieldMapping.for_layer(layer))

    assert report.valid == []
    assert [check.code for check in report.checks] == ["looks_like_degrees"] * len(places)
    for check, (x, y) in zip(report.checks, places):
        assert f"lon {x!r}, lat {y!r}" in check.reason  # each feature's own reason, naming its own place
    assert sandbox.requests_seen() == []


def test_the_contract_limit_read_from_the_sandbox_replaces_the_plugins_bound(tasking):
    sandbox, client = tasking
    limit = next(a["max_sqkm"] for a in sandbox.control("GET", "accounts")["accounts"]
                 if a["api_key"] == sandbox.api_key)
    half_degree = QgsGeometry.fromWkt("POLYGON((0 0, 0.45 0, 0.45 0.45, 0 0.45, 0 0))")  # 2,493 km²
    over = QgsGeometry.fromWkt("POLYGON((0 0, 0.5 0, 0.5 0.5, 0 0.5, 0 0))")  # 3,077 km²

    with pytest.raises(AoiError) as caught:
        create_order_for_geometry(client, "over the contract", over, "EPSG:4326", max_sqkm=limit)
    assert f"{limit:,g} km² your contract allows" in caught.value.message
    assert order_posts(sandbox) == []

    order = create_order_for_geometry(client, "within the contract", half_degree, "EPSG:4326", max_sqkm=limit)
    assert order.requested_sqkm == pytest.approx(2493, rel=1e-2) and len(order_posts(sandbox)) == 1


def test_a_sliver_hole_is_filled_knowingly_and_the_service_accepts_the_one_ring(tasking):
    sandbox, client = tasking
    merged_parcels = QgsGeometry.fromWkt("POLYGON((0 0, 0.1 0, 0.1 0.1, 0 0.1, 0 0),"
                                         "(0.05 0.05, 0.05005 0.05, 0.05005 0.05005, 0.05 0.05))")
    aoi = aoi_from_geometry(merged_parcels, "EPSG:4326")
    assert aoi.repairs and "Filled a gap" in aoi.repairs[0]

    order = client.create_order(order_payload(aoi, "merged parcels"))

    assert len(order.geometry["coordinates"]) == 1 and len(order_posts(sandbox)) == 1


# --- positive controls: the same path does reach the sandbox when the AOI is good ---------------------------


def test_a_good_aoi_reaches_the_sandbox_and_creates_exactly_one_order(tasking):
    sandbox, client = tasking

    order = create_order_for_geometry(
        client, "corpus: good point", QgsGeometry.fromWkt("POINT(149.441357 28.492403)"),
        QgsCoordinateReferenceSystem("EPSG:4326"),
    )

    assert len(order_posts(sandbox)) == 1
    listed = client.list_orders()
    assert listed.count == 1 and listed.results[0].id == order.id


def test_a_layer_with_one_good_feature_sends_exactly_that_one(tasking):
    sandbox, client = tasking
    layer = make_layer("Point?crs=EPSG:4326", name="field boundaries", wkts=["POINT(181 40)", "POINT(10 50)", "POINT(10 91)"])

    sent = send_valid_features(client, layer)

    assert len(sent) == 1 and len(order_posts(sandbox)) == 1


@pytest.mark.parametrize(
    "wkt, crs",
    [
        ("POINT(149.441357 28.492403)", "EPSG:4326"),
        ("LINESTRING(10.92041015625 48.91527985344383, 10.78857421875 49.0738659012854)", "EPSG:4326"),
        ("POLYGON((495000 5535000, 505000 5535000, 505000 5545000, 495000 5545000, 495000 5535000))", "EPSG:32633"),
    ],
    ids=["point", "strip", "area from UTM"],
)
def test_what_the_plugin_quotes_is_what_the_service_tasks(wkt, crs, tasking):
    sandbox, client = tasking
    aoi = aoi_from_geometry(QgsGeometry.fromWkt(wkt), QgsCoordinateReferenceSystem(crs))

    order = create_order_for_geometry(client, f"quote {aoi.kind}", QgsGeometry.fromWkt(wkt),
                                      QgsCoordinateReferenceSystem(crs))

    assert order.requested_sqkm == pytest.approx(aoi.tasked_sqkm, rel=5e-3)
    quoted = aoi.tasked_geojson()["coordinates"][0]
    served = order.geometry["coordinates"][0]
    assert len(served) == len(quoted)
    # Rings may start at another corner; each quoted corner must be one the service drew.
    for lon, lat in quoted:
        assert min(abs(lon - s_lon) + abs(lat - s_lat) for s_lon, s_lat in served) < 1e-4
