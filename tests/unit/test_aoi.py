"""core.aoi as a user meets it: what kind of order a shape becomes, where it lands, and what it costs."""

from __future__ import annotations

import math
import threading

import pytest
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsDistanceArea,
    QgsGeometry,
    QgsPointXY,
    QgsProject,
    QgsRasterLayer,
    QgsWkbTypes,
)

from core.aoi import (
    COORDINATE_DECIMALS,
    LONGITUDE_RANGE_MESSAGE,
    Aoi,
    AoiError,
    AoiValidator,
    aoi_from_geometry,
    aoi_from_selection,
    aois_from_layer,
    create_order_for_geometry,
    first_errors,
    geometry_to_geojson,
    order_payload,
    point_square,
    validate_geometries,
)
from tests.layers_from_wkt import make_layer

WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")

# The documented point order (planet-tasking-api.txt, "Creating Tasking Order") and the square it became.
DOC_POINT = (149.441357, 28.492403)
DOC_SQUARE = [
    [149.415829, 28.469843],
    [149.466885, 28.469843],
    [149.466896, 28.514958],
    [149.415818, 28.514958],
    [149.415829, 28.469843],
]
# Lengths of WGS84 arcs at the equator, from the ellipsoid's constants (a = 6378137 m, f = 1/298.257223563):
# one degree of longitude along the equator is a·π/180; near the equator one degree of latitude is
# M0·π/180 with the meridional radius M0 = a(1 - e²).
EQUATOR_KM_PER_DEGREE_LON = 6378137.0 * math.pi / 180 / 1000  # 111.3195 km
EQUATOR_KM_PER_DEGREE_LAT = 6335439.327 * math.pi / 180 / 1000  # 110.5743 km


def geometry(wkt: str) -> QgsGeometry:
    parsed = QgsGeometry.fromWkt(wkt)
    assert not parsed.isNull(), f"test WKT did not parse: {wkt}"
    return parsed


def aoi(wkt: str, crs: str = "EPSG:4326", **options) -> Aoi:
    return aoi_from_geometry(geometry(wkt), QgsCoordinateReferenceSystem(crs), **options)


def error(wkt: str, crs: str = "EPSG:4326", **options) -> AoiError:
    with pytest.raises(AoiError) as caught:
        aoi(wkt, crs, **options)
    return caught.value


def lon_lat(result: Aoi):
    point = result.geometry.asPoint()
    return point.x(), point.y()


# --- classification ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "wkt, kind",
    [
        ("POINT(10 50)", "point"),
        ("MULTIPOINT((10 50))", "point"),
        ("LINESTRING(10 50, 10 50.1)", "strip"),
        ("MULTILINESTRING((10 50, 10 50.1))", "strip"),
        ("POLYGON((10 50, 10.1 50, 10.1 50.1, 10 50.1, 10 50))", "area"),
        ("MULTIPOLYGON(((10 50, 10.1 50, 10.1 50.1, 10 50.1, 10 50)))", "area"),
        ("GEOMETRYCOLLECTION(POINT(10 50))", "point"),
        ("TRIANGLE((10 50, 10.1 50, 10.1 50.1, 10 50))", "area"),
    ],
)
def test_each_shape_becomes_the_order_kind_the_service_makes_of_it(wkt, kind):
    result = aoi(wkt)

    assert result.kind == kind
    assert not result.geometry.isMultipart()
    assert result.geojson()["type"] == {"point": "Point", "strip": "LineString", "area": "Polygon"}[kind]


def test_a_double_clicked_end_vertex_still_makes_a_two_point_strip():
    # Digitizing often repeats the last vertex; it is the same place, so the line is still a strip.
    result = aoi("LINESTRING(10 50, 10 50.1, 10 50.1)")

    assert result.kind == "strip"
    assert result.geojson()["coordinates"] == [[10.0, 50.0], [10.0, 50.1]]


# --- the documented point square, strips and areas -------------------------------------------------------


def test_a_point_is_tasked_as_the_documented_5_by_5_km_square():
    result = aoi(f"POINT({DOC_POINT[0]} {DOC_POINT[1]})")

    ring = result.tasked_geojson()["coordinates"][0]
    assert len(ring) == len(DOC_SQUARE)
    for (lon, lat), (expected_lon, expected_lat) in zip(ring, DOC_SQUARE):
        assert lon == pytest.approx(expected_lon, abs=1e-5)
        assert lat == pytest.approx(expected_lat, abs=1e-5)
    assert result.tasked_sqkm == 25.0
    assert result.geojson() == {"type": "Point", "coordinates": list(DOC_POINT)}


def test_the_point_square_measures_5_km_a_side_and_25_square_km_anywhere():
    measure = QgsDistanceArea()
    measure.setSourceCrs(WGS84, QgsProject.instance().transformContext())
    measure.setEllipsoid("WGS84")
    for lon, lat in ((0.0, 0.0), (-70.6, -33.4), (24.9, 60.2), (139.7, 35.7)):
        square = point_square(QgsPointXY(lon, lat))
        corners = square.asPolygon()[0]
        sides = [measure.measureLine(corners[i], corners[i + 1]) for i in range(4)]

        assert sides == pytest.approx([5000.0] * 4, abs=2.0)
        assert measure.measureArea(square) / 1e6 == pytest.approx(25.0, rel=1e-3)


def test_a_strip_is_quoted_by_its_geodesic_length_times_5_km():
    # 0.1° north along the prime meridian from the equator.
    result = aoi("LINESTRING(0 0, 0 0.1)")

    assert result.length_km == pytest.approx(0.1 * EQUATOR_KM_PER_DEGREE_LAT, rel=1e-4)
    assert result.tasked_sqkm == pytest.approx(result.length_km * 5.0)
    assert "11.1 km × 5 km" in result.summary()


def test_the_strip_polygon_is_5_km_wide_along_the_line_and_as_long_as_it():
    result = aoi("LINESTRING(10.92041015625 48.91527985344383, 10.78857421875 49.0738659012854)")
    measure = QgsDistanceArea()
    measure.setSourceCrs(WGS84, QgsProject.instance().transformContext())
    measure.setEllipsoid("WGS84")

    start_right, end_right, end_left, start_left, closing = result.tasked_geometry().asPolygon()[0]

    assert closing == start_right
    assert measure.measureLine(start_right, start_left) == pytest.approx(5000.0, abs=2.0)
    assert measure.measureLine(end_right, end_left) == pytest.approx(5000.0, abs=2.0)
    assert measure.measureLine(start_right, end_right) / 1000 == pytest.approx(result.length_km, rel=1e-3)
    assert measure.measureArea(result.tasked_geometry()) / 1e6 == pytest.approx(result.tasked_sqkm, rel=1e-3)


def test_an_area_is_quoted_by_its_geodesic_square_kilometres():
    # A 0.1° × 0.1° cell on the equator.
    result = aoi("POLYGON((0 0, 0.1 0, 0.1 0.1, 0 0.1, 0 0))")

    expected = 0.1 * EQUATOR_KM_PER_DEGREE_LON * 0.1 * EQUATOR_KM_PER_DEGREE_LAT
    assert result.tasked_sqkm == pytest.approx(expected, rel=1e-3)
    assert result.length_km is None
    assert result.tasked_geometry().equals(result.geometry)


def test_the_contract_maximum_is_a_parameter_and_the_message_quotes_both_numbers():
    cell = "POLYGON((0 0, 0.1 0, 0.1 0.1, 0 0.1, 0 0))"  # 123.1 km²
    assert aoi(cell, max_sqkm=200).kind == "area"

    problem = error(cell, max_sqkm=100)

    assert problem.code == "area_too_large"
    assert "123.1 km²" in problem.message and "100 km²" in problem.message


def test_limits_are_never_printed_as_if_the_value_were_on_them():
    # 5.999 km must not read "6.0 km long; strips must be 6–100 km".
    degrees = 5.999 / EQUATOR_KM_PER_DEGREE_LON
    problem = error(f"LINESTRING(0 0, {degrees:.6f} 0)")

    assert problem.code == "strip_too_short"
    assert "5.999 km" in problem.message


# --- reprojection ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "crs, x, y, lon, lat, tolerance",
    [
        # Web Mercator: y = a·ln(tan(π/4 + φ/2)) for φ = 50°, x = a·λ for λ = 10°.
        ("EPSG:3857", 1113194.908, 6446275.841, 10.0, 50.0, 1e-6),
        # UTM 33N: the central meridian 15°E; 5538630.703 m is 0.9996 × the meridian arc to 50°N.
        ("EPSG:32633", 500000.0, 5538630.703, 15.0, 50.0, 1e-6),
        # Swiss LV95: the origin (Bern's old observatory), as published by swisstopo.
        ("EPSG:2056", 2600000.0, 1200000.0, 7.438633, 46.951083, 2e-5),
        # British National Grid true origin (49°N 2°W on OSGB36, within 0.002° of WGS84).
        ("EPSG:27700", 400000.0, -100000.0, -2.0, 49.0, 2e-3),
        # LAEA Europe has northing/easting axis order; its false origin is 52°N 10°E.
        ("EPSG:3035", 4321000.0, 3210000.0, 10.0, 52.0, 1e-6),
        # ETRS89 geographic is officially latitude-first; QGIS geometries are still x = lon.
        ("EPSG:4258", 10.0, 50.0, 10.0, 50.0, 1e-6),
    ],
)
def test_points_in_other_crss_land_where_they_are(crs, x, y, lon, lat, tolerance):
    result = aoi(f"POINT({x} {y})", crs)

    got_lon, got_lat = lon_lat(result)
    assert got_lon == pytest.approx(lon, abs=tolerance)
    assert got_lat == pytest.approx(lat, abs=tolerance)


def test_a_projected_polygon_is_reprojected_and_measured_on_the_ellipsoid():
    # A 10 km square in UTM 33N: UTM's scale factor is 0.9996 on the central meridian, so the true area
    # is (10 / 0.9996)² km²; measuring in the projection would say 100 km².
    square = "POLYGON((495000 5535000, 505000 5535000, 505000 5545000, 495000 5545000, 495000 5535000))"
    result = aoi(square, "EPSG:32633")

    assert result.kind == "area"
    assert result.tasked_sqkm == pytest.approx((10 / 0.9996) ** 2, rel=2e-4)
    box = result.geometry.boundingBox()
    assert 14.9 < box.xMinimum() < box.xMaximum() < 15.1
    assert 49.9 < box.yMinimum() < box.yMaximum() < 50.1


def test_a_strip_drawn_in_web_mercator_is_measured_on_the_ground_not_on_the_map():
    # 20 map-km at 60°N are 10 ground-km (Mercator's scale there is 1/cos 60° = 2).
    y = 8399737.89  # 60°N
    result = aoi(f"LINESTRING(0 {y}, 20000 {y})", "EPSG:3857")

    assert result.length_km == pytest.approx(10.0, rel=3e-3)


def test_an_explicit_transform_context_is_used():
    context = QgsProject.instance().transformContext()
    result = aoi_from_geometry(
        geometry("POINT(1113194.908 6446275.841)"), QgsCoordinateReferenceSystem("EPSG:3857"),
        transform_context=context,
    )

    assert lon_lat(result) == pytest.approx((10.0, 50.0), abs=1e-6)


# --- what is sent: 2D, straight, 6 decimals, RFC 7946 rings ------------------------------------------------


def test_curves_are_segmentized_into_straight_edges():
    # A circle of radius 3 km on the equator, drawn in Web Mercator: true to scale east-west there, but
    # Web Mercator's sphere (radius a) stretches north-south by a / M0 against the ellipsoid.
    result = aoi("CURVEPOLYGON(CIRCULARSTRING(-3000 0, 0 3000, 3000 0, 0 -3000, -3000 0))", "EPSG:3857")
    north_south_scale = EQUATOR_KM_PER_DEGREE_LAT / EQUATOR_KM_PER_DEGREE_LON

    assert result.kind == "area"
    assert QgsWkbTypes.flatType(result.geometry.wkbType()) == QgsWkbTypes.Type.Polygon
    assert not result.geometry.constGet().hasCurvedSegments()
    assert result.tasked_sqkm == pytest.approx(math.pi * 9 * north_south_scale, rel=1e-3)


def test_a_compound_curve_of_one_straight_segment_is_a_strip():
    result = aoi("COMPOUNDCURVE((0 0, 0.1 0))")

    assert result.kind == "strip"
    assert result.length_km == pytest.approx(0.1 * EQUATOR_KM_PER_DEGREE_LON, rel=1e-4)


@pytest.mark.parametrize(
    "wkt",
    [
        "POINT Z(10 50 300)",
        "POINT ZM(10 50 300 7)",
        "LINESTRING M(10 50 1, 10 50.1 2)",
        "POLYGON Z((10 50 1, 10.1 50 1, 10.1 50.1 1, 10 50 1))",
        "MULTIPOLYGON ZM(((10 50 1 2, 10.1 50 1 2, 10.1 50.1 1 2, 10 50 1 2)))",
    ],
)
def test_z_and_m_are_dropped(wkt):
    result = aoi(wkt)

    assert not QgsWkbTypes.hasZ(result.geometry.wkbType())
    assert not QgsWkbTypes.hasM(result.geometry.wkbType())
    coordinates = result.geojson()["coordinates"]
    while isinstance(coordinates[0], list):
        coordinates = coordinates[0]
    assert len(coordinates) == 2


def test_geojson_has_six_decimals_and_counter_clockwise_closed_outer_rings():
    # Drawn clockwise, with an unclosed ring and ten decimals.
    drawn = "POLYGON((10.1234567891 50.1, 10.1234567891 50.2, 10.2 50.2, 10.2 50.1))"
    ring = aoi(drawn).geojson()["coordinates"][0]

    assert ring[0] == ring[-1]
    twice_area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:]))
    assert twice_area > 0
    assert [10.123457, 50.1] in ring
    for lon, lat in ring:
        assert round(lon, COORDINATE_DECIMALS) == lon and round(lat, COORDINATE_DECIMALS) == lat


def test_geojson_turns_holes_clockwise():
    holed = geometry("POLYGON((0 0, 0.3 0, 0.3 0.3, 0 0.3, 0 0),(0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.2, 0.1 0.1))")
    outer, hole = geometry_to_geojson(holed)["coordinates"]

    twice_area = sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(hole, hole[1:]))
    assert twice_area < 0


def test_a_hole_the_user_drew_is_refused_not_filled_since_filling_would_charge_for_it():
    # The service takes one ring ("holes are not supported"); filling would task 1/9 more than drawn.
    problem = error("POLYGON((0 0, 0.3 0, 0.3 0.3, 0 0.3, 0 0),(0.1 0.1, 0.2 0.1, 0.2 0.2, 0.1 0.2, 0.1 0.1))")

    assert problem.code == "polygon_has_holes"
    assert "does not fill it" in problem.message and "123 km²" in problem.message
    assert problem.location == (0.1, 0.1)


def test_a_sliver_hole_is_filled_and_the_aoi_says_so():
    outline = "POLYGON((0 0, 0.1 0, 0.1 0.1, 0 0.1, 0 0)"
    result = aoi(outline + ",(0.05 0.05, 0.05005 0.05, 0.05005 0.05005, 0.05 0.05))")

    assert len(result.geojson()["coordinates"]) == 1
    assert result.tasked_sqkm == pytest.approx(aoi(outline + ")").tasked_sqkm)
    assert len(result.repairs) == 1 and "Filled a gap of 15 m²" in result.repairs[0]
    assert aoi(outline + ")").repairs == ()


def test_without_a_known_limit_the_bound_is_called_the_plugins_own_not_the_contracts():
    one_degree = "POLYGON((0 0, 1 0, 1 1, 0 1, 0 0))"  # 12,309 km²

    unknown = error(one_degree)
    known = error(one_degree, max_sqkm=20000.0 / 4)

    assert unknown.code == known.code == "area_too_large"
    assert "plugin's own bound" in unknown.message and "contract allows" not in unknown.message
    assert "5,000 km² your contract allows" in known.message
    # A known limit larger than the plugin's bound replaces it: that contract is not wrongly refused.
    assert aoi(one_degree, max_sqkm=20000.0).tasked_sqkm == pytest.approx(12308.8, rel=1e-3)


def test_a_known_smaller_limit_refuses_what_the_plugins_bound_would_let_through():
    cell = "POLYGON((0 0, 0.2 0, 0.2 0.2, 0 0.2, 0 0))"  # 492 km²
    assert aoi(cell).kind == "area"
    assert error(cell, max_sqkm=400).code == "area_too_large"


def test_geometry_to_geojson_refuses_what_is_not_an_aoi():
    with pytest.raises(ValueError):
        geometry_to_geojson(QgsGeometry())


# --- errors -----------------------------------------------------------------------------------------------


def test_errors_are_value_errors_with_a_code_a_message_and_a_place():
    problem = error("POLYGON((0 0, 0.1 0.1, 0.1 0, 0 0.1, 0 0))")

    assert isinstance(problem, ValueError)
    assert problem.code == "self_intersection"
    assert str(problem) == problem.message
    assert problem.location == pytest.approx((0.05, 0.05))
    assert "lon 0.05, lat 0.05" in problem.message


def test_the_self_intersection_is_located_in_lon_lat_even_for_a_projected_bow_tie():
    bow_tie = "POLYGON((500000 5500000, 510000 5510000, 510000 5500000, 500000 5510000, 500000 5500000))"
    problem = error(bow_tie, "EPSG:32633")

    assert problem.code == "self_intersection"
    lon, lat = problem.location
    assert lon == pytest.approx(15.07, abs=0.01) and lat == pytest.approx(49.70, abs=0.01)


def test_longitude_out_of_range_uses_the_services_own_words():
    problem = error("POINT(181 40)")

    assert problem.code == "longitude_out_of_range"
    assert problem.message.startswith(LONGITUDE_RANGE_MESSAGE)
    assert problem.location == (181.0, 40.0)


def test_a_point_with_one_nan_is_broken_but_with_two_is_qgiss_empty_point():
    one_nan = QgsGeometry.fromPointXY(QgsPointXY(float("nan"), 10))
    two_nan = QgsGeometry.fromPointXY(QgsPointXY(float("nan"), float("nan")))

    assert [r.code for r in validate_geometries([one_nan, two_nan], WGS84)] == [
        "non_finite_coordinates", "empty_geometry",
    ]


def test_the_crs_may_be_given_by_its_id():
    result = aoi_from_geometry(geometry("POINT(1113194.908 6446275.841)"), "EPSG:3857")

    assert lon_lat(result) == pytest.approx((10.0, 50.0), abs=1e-6)


def test_max_sqkm_must_be_positive():
    with pytest.raises(ValueError):
        aoi("POINT(10 50)", max_sqkm=0)


# --- a wrong CRS, the poles, the antimeridian ----------------------------------------------------------


@pytest.mark.parametrize("crs", ["EPSG:3857", "EPSG:32633", "EPSG:25832", "EPSG:27700", "EPSG:3035"])
def test_degrees_in_a_projected_crs_are_refused_naming_the_cause(crs):
    problem = error("POINT(13.4 52.5)", crs)

    assert problem.code == "looks_like_degrees"
    assert "look like degrees" in problem.message and "EPSG:4326" in problem.message and crs in problem.message


def test_real_projected_coordinates_near_the_degree_box_edge_are_not_mistaken_for_degrees():
    # 200 m east of Web Mercator's origin is outside a lon/lat box of ±180: a real (if wet) place.
    assert aoi("POINT(200 50)", "EPSG:3857").kind == "point"


def test_far_outside_the_crs_area_of_use_is_refused_but_a_neighbouring_zone_is_not():
    assert error("POINT(500000 -5000000)", "EPSG:32633").code == "outside_crs_area"
    # Norway maps all of itself in UTM 33N, reaching 31°E: 13° past the zone is still meant.
    assert aoi("POINT(1100000 7900000)", "EPSG:32633").kind == "point"


def test_a_point_near_a_pole_is_refused_rather_than_priced_for_a_collapsed_square():
    near = error("POINT(10 89.99)")
    assert near.code == "near_pole" and "North Pole" in near.message
    # 11 km away the square is still a 25 km² square, and is accepted.
    far = aoi("POINT(10 89.9)")
    measurer = QgsDistanceArea()
    measurer.setEllipsoid("WGS84")
    assert measurer.measureArea(far.tasked_geometry()) / 1e6 == pytest.approx(25.0, rel=1e-3)


def test_a_polygon_round_a_pole_is_not_called_an_antimeridian_crossing():
    problem = error("POLYGON((0 85, 90 85, 180 85, -90 85, 0 85))")
    assert problem.code == "encloses_pole" and "antimeridian" in problem.message  # "not an antimeridian problem"
    assert error("POLYGON((179.9 0, -179.9 0, -179.9 0.1, 179.9 0.1, 179.9 0))").code == "crosses_antimeridian"


def test_a_point_whose_square_would_cross_180_is_refused_and_one_clear_of_it_keeps_a_small_square():
    assert error("POINT(179.99 10)").code == "tasked_area_crosses_antimeridian"
    clear = aoi("POINT(179.95 10)").tasked_geometry().boundingBox()
    assert clear.width() < 0.1 and clear.xMaximum() <= 180.0


def test_a_sub_metre_polygon_is_refused_but_a_small_real_one_is_not():
    assert error("POLYGON((0 0, 0.000005 0, 0.000005 0.000005, 0 0.000005, 0 0))").code == "area_too_small"
    assert aoi("POLYGON((500000 5500000, 500010 5500000, 500010 5500010, 500000 5500010, 500000 5500000))",
               "EPSG:32633").tasked_sqkm == pytest.approx(1e-4, rel=1e-2)


def test_an_arc_is_reported_as_drawn_not_as_its_segmentized_vertices():
    problem = error("CIRCULARSTRING(10 50, 10.05 50.05, 10.1 50)")
    assert "arc through 3 points" in problem.message
    assert "vertices" not in problem.message


# --- many at once, layers, threads ----------------------------------------------------------------------


def test_validate_geometries_gives_one_result_per_geometry_in_order():
    geometries = [geometry("POINT(10 50)"), None, geometry("POINT(181 0)"), geometry("LINESTRING(0 0, 0 0.1)")]

    results = validate_geometries(geometries, WGS84)

    assert [r.kind if isinstance(r, Aoi) else r.code for r in results] == [
        "point", "null_geometry", "longitude_out_of_range", "strip",
    ]


def test_a_validator_reports_a_missing_crs_for_every_geometry():
    results = AoiValidator(None).validate_many([geometry("POINT(10 50)"), geometry("POINT(11 50)")])

    assert [r.code for r in results] == ["no_crs", "no_crs"]


def test_layer_features_are_checked_one_by_one_selected_or_all():
    layer = make_layer("Polygon?crs=EPSG:32633", [
        "POLYGON((495000 5535000, 505000 5535000, 505000 5545000, 495000 5545000, 495000 5535000))",
        "POLYGON((500000 5500000, 510000 5510000, 510000 5500000, 500000 5510000, 500000 5500000))",
        None,
    ])
    ids = [f.id() for f in layer.getFeatures()]

    every = aois_from_layer(layer, selected_only=False)
    assert [fid for fid, _ in every] == ids
    assert isinstance(every[0][1], Aoi)
    assert [result.code for _, result in every[1:]] == ["self_intersection", "null_geometry"]

    assert aois_from_layer(layer) == []
    layer.selectByIds([ids[1]])
    [(fid, result)] = aois_from_layer(layer)
    assert fid == ids[1] and result.code == "self_intersection"


def test_a_layer_without_crs_gives_an_error_for_every_feature_naming_the_layer():
    layer = make_layer("Point", ["POINT(10 50)", "POINT(11 50)"])
    # A memory layer made without a CRS may get QGIS's default one; a shapefile without .prj has none.
    layer.setCrs(QgsCoordinateReferenceSystem())
    assert not layer.crs().isValid()

    results = aois_from_layer(layer, selected_only=False)

    assert [result.code for _, result in results] == ["no_crs", "no_crs"]
    assert "“areas”" in results[0][1].message


def test_a_layer_that_is_not_a_vector_layer_is_refused_as_a_whole():
    with pytest.raises(AoiError) as caught:
        aois_from_layer(QgsRasterLayer("", "raster"))
    assert caught.value.code == "not_a_vector_layer"


def test_validation_works_in_a_worker_thread():
    # QgsTask runs validation off the main thread; each thread has its own transforms and measurer.
    outcome = {}

    def work():
        outcome["aoi"] = aoi("POINT(500000 5538630.703)", "EPSG:32633")

    worker = threading.Thread(target=work)
    worker.start()
    worker.join(30)
    assert lon_lat(outcome["aoi"]) == pytest.approx((15.0, 50.0), abs=1e-6)


# --- validate, then send --------------------------------------------------------------------------------


class RecordingClient:
    def __init__(self):
        self.payloads = []

    def create_order(self, payload):
        self.payloads.append(payload)
        return "order"


def test_an_invalid_geometry_never_reaches_the_client():
    client = RecordingClient()

    with pytest.raises(AoiError):
        create_order_for_geometry(client, "Bad", geometry("POINT(181 40)"), WGS84)

    assert client.payloads == []


def test_a_valid_geometry_is_sent_once_as_geojson_with_the_other_fields():
    client = RecordingClient()

    answer = create_order_for_geometry(
        client, "Order 01", geometry(f"POINT({DOC_POINT[0]} {DOC_POINT[1]})"), WGS84, product="one_time_tasking"
    )

    assert answer == "order"
    assert client.payloads == [{
        "name": "Order 01",
        "geometry": {"type": "Point", "coordinates": list(DOC_POINT)},
        "product": "one_time_tasking",
    }]
    assert order_payload(aoi("POINT(1 2)"), "x") == {"name": "x", "geometry": {"type": "Point", "coordinates": [1.0, 2.0]}}


def test_first_errors_lists_what_to_fix_per_feature():
    results = [(1, aoi("POINT(10 50)")), (2, error("POINT(181 0)")), (3, error("POINT(0 91)"))]

    lines = first_errors(results, limit=1)

    assert lines == [f"feature 2: {results[1][1].message}"]


# --- one AOI from a layer's selection -------------------------------------------------------------------

UTM33 = "Polygon?crs=EPSG:32633"


def _square(x: float, y: float, side: float) -> str:
    return f"POLYGON(({x} {y}, {x + side} {y}, {x + side} {y + side}, {x} {y + side}, {x} {y}))"


def test_touching_selected_parcels_become_one_area_and_nothing_else_is_merged():
    # Three 4 km parcels near Berlin in UTM 33N: two share an edge, the third lies 20 km away.
    layer = make_layer(UTM33, [_square(390_000, 5_820_000, 4_000), _square(394_000, 5_820_000, 4_000),
                               _square(414_000, 5_820_000, 4_000)])
    first, second, far = [f.id() for f in layer.getFeatures()]
    assert aoi_from_selection(layer) is None  # nothing selected
    layer.selectByIds([first, second])
    selection = aoi_from_selection(layer)
    assert selection.merged and sorted(selection.feature_ids) == sorted([first, second])
    aoi = selection.result
    assert isinstance(aoi, Aoi) and aoi.is_area and aoi.tasked_sqkm == pytest.approx(32.0, rel=0.01)
    assert aoi.geojson()["type"] == "Polygon" and len(aoi.geojson()["coordinates"]) == 1  # one ring, no seam
    layer.selectByIds([first, far])
    apart = aoi_from_selection(layer)
    assert isinstance(apart.result, AoiError) and apart.result.code == "separate_areas"
    assert "make 2 separate areas" in apart.result.message and "Bulk order from layer" in apart.result.message
    assert not apart.merged and apart.geometry.isMultipart()
    layer.selectByIds([far])
    single = aoi_from_selection(layer)
    assert isinstance(single.result, Aoi) and not single.merged and single.result.tasked_sqkm == pytest.approx(16.0, rel=0.01)


def test_a_merged_selection_keeps_every_rule_of_a_single_area():
    # Two overlapping 40 km squares: 2,800 km² merged (each 1,600) — over a 2,000 km² contract limit.
    layer = make_layer(UTM33, [_square(390_000, 5_800_000, 40_000), _square(420_000, 5_800_000, 40_000)])
    layer.selectAll()
    merged = aoi_from_selection(layer, max_sqkm=2000)
    assert isinstance(merged.result, AoiError) and merged.result.code == "area_too_large"
    assert merged.result.message.startswith("The 2 selected polygons merged: ")
    # One bad feature among them is named, with its own reason.
    bowtie = "POLYGON((390000 5820000, 394000 5824000, 394000 5820000, 390000 5824000, 390000 5820000))"
    layer = make_layer(UTM33, [_square(390_000, 5_820_000, 4_000), bowtie])
    layer.selectAll()
    bad_id = [f.id() for f in layer.getFeatures()][1]
    result = aoi_from_selection(layer).result
    assert isinstance(result, AoiError) and result.code == "self_intersection"
    assert result.message.startswith(f"Feature {bad_id} of the 2 selected: ")


def test_several_points_or_strips_are_not_one_order():
    layer = make_layer("Point?crs=EPSG:4326", ["POINT(13.35 52.51)", "POINT(13.40 52.52)"])
    layer.selectAll()
    result = aoi_from_selection(layer).result
    assert isinstance(result, AoiError) and result.code == "several_features"
    assert result.message.startswith("2 features are selected") and "Bulk order from layer" in result.message
