"""sandbox.geo measured against QGIS's own WGS84 geodesy and the documented Planet footprints."""

from __future__ import annotations

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsDistanceArea, QgsGeometry, QgsProject

from sandbox import geo

DOC_POINT = (149.441357, 28.492403)
# The footprint the Planet Tasking API documentation shows for that Point order.
DOC_SQUARE = [
    [149.415829, 28.469843],
    [149.466885, 28.469843],
    [149.466896, 28.514958],
    [149.415818, 28.514958],
    [149.415829, 28.469843],
]
DOC_STRIP_LINE = [[10.92041015625, 48.91527985344383], [10.78857421875, 49.0738659012854]]

POLYGONS = {
    "equator cell": [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]],
    "documented square": [DOC_SQUARE],
    "german quad with hole": [
        [[10, 50], [12, 50.5], [11, 52], [9.5, 51], [10, 50]],
        [[10.5, 50.8], [10.9, 50.8], [10.7, 51.2], [10.5, 50.8]],
    ],
    "antarctic peninsula box": [[[-60, -70], [-50, -70], [-50, -60], [-60, -60], [-60, -70]]],
    "clockwise tropical triangle": [[[100, 10], [100.5, 11], [101, 10], [100, 10]]],
    "antimeridian box": [[[179.5, -17], [-179.5, -17], [-179.5, -16], [179.5, -16], [179.5, -17]]],
}

LINES = {
    "diagonal": [[0, 0], [1, 1]],
    "documented strip": DOC_STRIP_LINE,
    "transpacific": [[-120, 30], [100, -20]],
    "polyline": [[13.35, 52.51], [13.5, 52.6], [14.0, 52.4], [14.2, 52.9]],
    "meridian arc": [[5, -45], [5, 45]],
}


@pytest.fixture(scope="module")
def distance_area(qgis_app):
    measurer = QgsDistanceArea()
    measurer.setSourceCrs(QgsCoordinateReferenceSystem("EPSG:4326"), QgsProject.instance().transformContext())
    assert measurer.setEllipsoid("WGS84")
    return measurer


def _wkt_polygon(rings) -> str:
    return "POLYGON(" + ",".join("(" + ",".join(f"{x} {y}" for x, y in ring) + ")" for ring in rings) + ")"


def _wkt_line(line) -> str:
    return "LINESTRING(" + ",".join(f"{x} {y}" for x, y in line) + ")"


@pytest.mark.parametrize("name", sorted(POLYGONS))
def test_area_agrees_with_qgis_within_a_thousandth(distance_area, name):
    rings = POLYGONS[name]
    expected = distance_area.measureArea(QgsGeometry.fromWkt(_wkt_polygon(rings))) / 1e6
    assert expected > 0
    assert geo.geodesic_area_sqkm(rings) == pytest.approx(expected, rel=1e-3)


def test_area_of_one_degree_cell_at_the_equator():
    assert geo.geodesic_area_sqkm(POLYGONS["equator cell"]) == pytest.approx(12308.8, abs=0.5)


def test_area_ignores_ring_orientation_and_subtracts_holes():
    outer = [[10, 50], [12, 50.5], [11, 52], [9.5, 51], [10, 50]]
    hole = [[10.5, 50.8], [10.9, 50.8], [10.7, 51.2], [10.5, 50.8]]
    forward = geo.geodesic_area_sqkm([outer])
    assert geo.geodesic_area_sqkm([list(reversed(outer))]) == pytest.approx(forward, rel=1e-12)
    with_hole = geo.geodesic_area_sqkm([outer, hole])
    assert with_hole == pytest.approx(forward - geo.geodesic_area_sqkm([hole]), rel=1e-12)
    assert with_hole < forward


def test_area_of_an_unclosed_ring_is_that_of_the_closed_ring():
    closed = POLYGONS["equator cell"]
    assert geo.geodesic_area_sqkm([closed[0][:-1]]) == pytest.approx(geo.geodesic_area_sqkm(closed))


@pytest.mark.parametrize("name", sorted(LINES))
def test_length_agrees_with_qgis(distance_area, name):
    line = LINES[name]
    expected = distance_area.measureLength(QgsGeometry.fromWkt(_wkt_line(line))) / 1e3
    assert geo.geodesic_length_km(line) == pytest.approx(expected, rel=1e-6)


def test_length_of_a_degree_of_longitude_on_the_equator():
    # a * pi / 180 exactly: along the equator the geodesic is the equator.
    assert geo.geodesic_length_km([[0, 0], [1, 0]]) == pytest.approx(111.319490793, abs=1e-6)


def test_destination_inverts_the_inverse_problem():
    lon1, lat1, lon2, lat2 = 13.35, 52.51, -74.0, 40.7
    distance_m, azimuth1, azimuth2 = geo.inverse(lon1, lat1, lon2, lat2)
    lon, lat = geo.destination(lon1, lat1, azimuth1, distance_m / 1000.0)
    assert (lon, lat) == (pytest.approx(lon2, abs=1e-8), pytest.approx(lat2, abs=1e-8))
    assert 0 <= azimuth1 < 360 and 0 <= azimuth2 < 360


def test_destination_due_north_follows_the_meridian():
    lon, lat = geo.destination(10.0, 0.0, 0.0, geo.geodesic_length_km([[10, 0], [10, 1]]))
    assert lon == pytest.approx(10.0, abs=1e-12)
    assert lat == pytest.approx(1.0, abs=1e-9)


def test_destination_wraps_across_the_antimeridian():
    lon, _ = geo.destination(179.99, 0.0, 90.0, 5.0)
    assert -180 < lon < -179.9


def test_point_square_matches_the_documented_example():
    square = geo.point_square(*DOC_POINT)
    assert square["type"] == "Polygon"
    ring = square["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    for got, documented in zip(ring, DOC_SQUARE):
        assert got == [pytest.approx(documented[0], abs=1e-4), pytest.approx(documented[1], abs=1e-4)]
    # Six decimals, like the API.
    assert all(round(value, 6) == value for position in ring for value in position)


def test_point_square_convention_south_west_first_counter_clockwise_wider_to_the_pole():
    ring = geo.point_square(*DOC_POINT)["coordinates"][0]
    south_west, south_east, north_east, north_west = ring[:4]
    assert south_west[1] == south_east[1] < north_east[1] == north_west[1]
    assert south_west[0] < south_east[0] and north_west[0] < north_east[0]
    # East-west edges are measured along their own parallel, so the poleward edge spans more longitude.
    assert north_east[0] - north_west[0] > south_east[0] - south_west[0]
    assert _signed_planar_area(ring) > 0


def test_point_square_is_five_by_five_kilometres():
    square = geo.point_square(-70.0, -33.4)
    ring = square["coordinates"][0]
    assert geo.geodesic_area_sqkm(square["coordinates"]) == pytest.approx(25.0, rel=1e-3)
    for start, end in zip(ring, ring[1:]):
        assert geo.geodesic_length_km([start, end]) == pytest.approx(5.0, abs=2e-3)
    assert geo.centroid(square) == (pytest.approx(-70.0, abs=1e-5), pytest.approx(-33.4, abs=1e-5))


def test_point_square_size_is_configurable():
    square = geo.point_square(0.0, 45.0, size_km=10.0)
    assert geo.geodesic_area_sqkm(square["coordinates"]) == pytest.approx(100.0, rel=1e-3)


def test_strip_is_five_kilometres_wide_around_its_centreline():
    strip = geo.strip_polygon(DOC_STRIP_LINE)
    ring = strip["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    start_right, end_right, end_left, start_left = ring[:4]
    centreline_km = geo.geodesic_length_km(DOC_STRIP_LINE)
    assert geo.geodesic_length_km([start_right, start_left]) == pytest.approx(5.0, abs=1e-3)
    assert geo.geodesic_length_km([end_right, end_left]) == pytest.approx(5.0, abs=1e-3)
    assert geo.geodesic_length_km([start_right, end_right]) == pytest.approx(centreline_km, rel=1e-3)
    assert geo.geodesic_length_km([start_left, end_left]) == pytest.approx(centreline_km, rel=1e-3)
    assert geo.geodesic_area_sqkm(strip["coordinates"]) == pytest.approx(5.0 * centreline_km, rel=1e-3)
    # The ends' midpoints are the line's ends.
    for (right, left), end in (((start_right, start_left), DOC_STRIP_LINE[0]), ((end_right, end_left), DOC_STRIP_LINE[1])):
        assert geo.centroid({"type": "LineString", "coordinates": [right, left]}) == (
            pytest.approx(end[0], abs=1e-5), pytest.approx(end[1], abs=1e-5))
    assert _signed_planar_area(ring) > 0
    valid, problem = geo.polygon_is_valid(strip["coordinates"])
    assert valid, problem


def test_strip_sides_are_perpendicular_to_the_line():
    line = [[0.0, 0.0], [0.0, 0.5]]
    ring = geo.strip_polygon(line)["coordinates"][0]
    start_right, end_right, end_left, start_left = ring[:4]
    assert start_right[1] == pytest.approx(0.0, abs=1e-6) and start_left[1] == pytest.approx(0.0, abs=1e-6)
    assert start_right[0] > 0 > start_left[0]
    assert end_right[1] == pytest.approx(0.5, abs=1e-6)


def test_strip_needs_two_positions():
    with pytest.raises(ValueError):
        geo.strip_polygon([[0.0, 0.0]])


def test_valid_polygons_pass():
    for name, rings in POLYGONS.items():
        valid, problem = geo.polygon_is_valid(rings)
        assert valid, (name, problem)
        assert problem is None


def test_bow_tie_is_reported_with_the_crossing_point():
    bow_tie = [[[0, 0], [2, 2], [2, 0], [0, 2], [0, 0]]]
    valid, problem = geo.polygon_is_valid(bow_tie)
    assert not valid
    assert "self-intersects" in problem
    assert "segment 0 crosses segment 2" in problem
    assert "(1.000000, 1.000000)" in problem


def test_ring_touching_itself_at_a_vertex_is_invalid():
    touching = [[[0, 0], [4, 0], [4, 4], [2, 0], [0, 4], [0, 0]]]
    valid, problem = geo.polygon_is_valid(touching)
    assert not valid and "self-intersects" in problem


def test_spike_back_along_an_edge_is_invalid():
    spike = [[[0, 0], [4, 0], [4, 4], [4, 2], [0, 4], [0, 0]]]
    valid, problem = geo.polygon_is_valid(spike)
    assert not valid and "overlap" in problem


def test_collinear_consecutive_vertices_are_allowed():
    valid, problem = geo.polygon_is_valid([[[0, 0], [1, 0], [2, 0], [2, 2], [0, 2], [0, 0]]])
    assert valid, problem


def test_hole_crossing_the_outer_ring_is_invalid():
    rings = [[[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], [[3, 1], [5, 1], [5, 2], [3, 2], [3, 1]]]
    valid, problem = geo.polygon_is_valid(rings)
    assert not valid and "rings 0 and 1 intersect" in problem


@pytest.mark.parametrize(
    "coordinates, expected_words",
    [
        ([], "no rings"),
        ([[[0, 0], [1, 0], [0, 0]]], "at least 4"),
        ([[[0, 0], [1, 0], [1, 1], [0, 1]]], "not closed"),
        ([[[0, 0], [1, 0], [0, 0], [0, 0]]], "distinct"),
        ([[[0, 0], [1, 0], [1, 95], [0, 0]]], "latitude 95"),
        ([[[0, 0], [181, 0], [1, 1], [0, 0]]], "longitude 181"),
        ([[[0, 0], [1, "x"], [1, 1], [0, 0]]], "finite number"),
        ([[[0, 0], [1], [1, 1], [0, 0]]], "position"),
        ("POLYGON", "no rings"),
    ],
)
def test_malformed_polygons_say_what_is_wrong(coordinates, expected_words):
    valid, problem = geo.polygon_is_valid(coordinates)
    assert not valid
    assert expected_words in problem


def test_bbox_of_each_geometry_type():
    assert geo.bbox({"type": "Point", "coordinates": [3.0, 4.0]}) == (3.0, 4.0, 3.0, 4.0)
    assert geo.bbox({"type": "LineString", "coordinates": DOC_STRIP_LINE}) == (
        10.78857421875, 48.91527985344383, 10.92041015625, 49.0738659012854)
    assert geo.bbox({"type": "Polygon", "coordinates": [DOC_SQUARE]}) == (
        149.415818, 28.469843, 149.466896, 28.514958)
    with pytest.raises(ValueError):
        geo.bbox({"type": "Circle", "coordinates": []})


def test_centroid_of_each_geometry_type():
    assert geo.centroid({"type": "Point", "coordinates": [3, 4]}) == (3.0, 4.0)
    # Two-point line: the geodesic midpoint, equally far from both ends.
    middle = geo.centroid({"type": "LineString", "coordinates": DOC_STRIP_LINE})
    assert geo.geodesic_length_km([DOC_STRIP_LINE[0], list(middle)]) == pytest.approx(
        geo.geodesic_length_km([list(middle), DOC_STRIP_LINE[1]]), abs=1e-6)
    polyline = geo.centroid({"type": "LineString", "coordinates": [[0, 0], [2, 0], [2, 0.000001]]})
    assert polyline == (pytest.approx(1.0, abs=1e-3), pytest.approx(0.0, abs=1e-3))
    square = geo.centroid({"type": "Polygon", "coordinates": [[[0, 0], [2, 0], [2, 2], [0, 2], [0, 0]]]})
    assert square == (pytest.approx(1.0), pytest.approx(1.0))
    # A hole in the right half pulls the centroid left.
    holed = geo.centroid({"type": "Polygon", "coordinates": [
        [[0, 0], [4, 0], [4, 4], [0, 4], [0, 0]], [[2.5, 1], [3.5, 1], [3.5, 3], [2.5, 3], [2.5, 1]]]})
    assert holed[0] < 2.0 and holed[1] == pytest.approx(2.0)


def _signed_planar_area(ring) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(ring, ring[1:])) / 2.0
