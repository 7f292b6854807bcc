"""Orders, captures and imaging-window layers: fields, index, style, temporal, refresh in place, GeoPackage."""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta, timezone

import pytest
from qgis.core import (
    Qgis,
    QgsExpressionContextUtils,
    QgsFeature,
    QgsFeatureSource,
    QgsGeometry,
    QgsRenderContext,
    QgsVectorLayer,
    QgsWkbTypes,
)
from qgis.PyQt.QtCore import QDateTime, Qt, QVariant

from core import compat, layers
from core.layers import LayerInEditModeError, geojson_to_geometry, save_layers_to_geopackage
from core.services.planet_tasking import layers as planet_layers
from core.services.planet_tasking.layers import (
    CAPTURE_FIELDS,
    IMAGING_WINDOW_FIELDS,
    ORDER_FIELDS,
    create_captures_layer,
    create_imaging_windows_layer,
    create_orders_layer,
    exclusivity_days_by_order,
    upsert_captures,
    upsert_imaging_windows,
    upsert_orders,
)
from core.services.planet_tasking.models import ORDER_STATUSES, Capture, ImagingWindow, Order

pytestmark = pytest.mark.usefixtures("qgis_app")
CLOCK = "yyyy-MM-ddTHH:mm:ss.zzz"


def square(x: float, y: float, size: float = 0.05) -> dict:
    return {"type": "Polygon", "coordinates": [[[x, y], [x + size, y], [x + size, y + size], [x, y + size], [x, y]]]}


def order(order_id: str, status: str = "PENDING", x: float = 10.0, **extra) -> Order:
    data = {
        "id": order_id, "name": f"Order {order_id}", "status": status, "geometry": square(x, 50.0),
        "original_geometry": {"type": "Point", "coordinates": [x + 0.025, 50.025]},
        "order_type": "IMAGE", "scheduling_type": "FLEXIBLE", "start_time": "2024-07-01T00:00:00Z",
        "end_time": "2024-07-31T00:00:00Z", "is_cancellable": True, "requested_sqkm": 25.0,
        "n_stereo_pov": None, "exclusivity_days": 30, "capture_status_published_count": 1,
        "created_time": "2024-06-30T12:00:00.123456Z",
    }
    data.update(extra)
    return Order.from_json(data)


def capture(capture_id: str, order_id: str = "o1", status: str = "PUBLISHED", assessment=None, x: float = 10.0,
            acquired: str = "2020-10-10T12:00:00Z") -> Capture:
    return Capture.from_json({
        "id": capture_id, "order_id": order_id, "status": status, "assessment": assessment,
        "acquired_time": acquired, "published_time": "2020-10-11T01:00:00Z", "strip_id": "s1",
        "cloud_cover": 0.16, "item_types": ["SkySatScene", "SkySatCollect"], "fulfilling": True,
        "geometry": square(x, 50.0),
    })


def window(window_id: str, cloud: float = 10.0, conflicts: int = 0) -> ImagingWindow:
    return ImagingWindow.from_json({
        "id": window_id, "start_time": "2024-07-25T00:25:04.851000Z", "end_time": "2024-07-25T00:26:17.179000Z",
        "off_nadir_angle_min": 10.7, "off_nadir_angle_max": 29.5, "sat_elevation_angle_min": 58,
        "sat_elevation_angle_max": 78.4, "sun_elevation_angle_min": 28.97, "sun_elevation_angle_max": 29.17,
        "low_light": False, "ground_sample_distance": 0.9, "assured_tasking_tier": "STANDARD",
        "cloud_forecast": [
            {"prediction": 90.0, "updated_time": "2024-07-24T08:00:00Z"},
            {"prediction": cloud, "updated_time": "2024-07-24T09:26:52Z"},
        ],
        "conflicting_orders": [{"id": f"old{n}"} for n in range(conflicts)],
        "quota_priority_multiplier": 1.5,
    })


def by_id(layer: QgsVectorLayer) -> dict:
    return {feature["id"]: feature for feature in layer.getFeatures()}


def utc(text: str) -> QDateTime:
    return QDateTime.fromString(text, Qt.DateFormat.ISODate).toUTC()


def symbol_colors(layer: QgsVectorLayer) -> dict:
    """id -> fill colour the layer's renderer picks for each feature."""
    context = QgsRenderContext()
    context.expressionContext().appendScopes(QgsExpressionContextUtils.globalProjectLayerScopes(layer))
    renderer = layer.renderer().clone()
    renderer.startRender(context, layer.fields())
    colors = {}
    for feature in layer.getFeatures():
        context.expressionContext().setFeature(feature)
        symbol = renderer.symbolForFeature(feature, context)
        colors[feature["id"]] = symbol.color().name() if symbol else None
    renderer.stopRender(context)
    return colors


# ---------------------------------------------------------------------------------------------- geometry

@pytest.mark.parametrize("geojson, wkt", [
    ({"type": "Point", "coordinates": [1.5, 2.5]}, "Point (1.5 2.5)"),
    ({"type": "Point", "coordinates": [1.5, 2.5, 100.0]}, "Point (1.5 2.5)"),
    ({"type": "LineString", "coordinates": [[0, 0], [1, 1]]}, "LineString (0 0, 1 1)"),
    ({"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 0]], [[1, 1], [2, 1], [2, 2], [1, 1]]]},
     "Polygon ((0 0, 4 0, 4 4, 0 0),(1 1, 2 1, 2 2, 1 1))"),
    ({"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]}, "Polygon ((0 0, 1 0, 1 1, 0 0))"),
    ({"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]], [[[5, 5], [6, 5], [6, 6], [5, 5]]]]},
     "MultiPolygon (((0 0, 1 0, 1 1, 0 0)),((5 5, 6 5, 6 6, 5 5)))"),
    ({"type": "MultiPoint", "coordinates": [[0, 0], [1, 1]]}, "MultiPoint ((0 0),(1 1))"),
    ({"type": "MultiLineString", "coordinates": [[[0, 0], [1, 1]], [[2, 2], [3, 3]]]},
     "MultiLineString ((0 0, 1 1),(2 2, 3 3))"),
    ({"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [0, 0]}]},
     "GeometryCollection (Point (0 0))"),
])
def test_geojson_to_geometry_matches_wkt(geojson, wkt):
    geometry = geojson_to_geometry(geojson)
    assert geometry.asWkt() == QgsGeometry.fromWkt(wkt).asWkt()


def test_geometries_read_as_wkb_while_parsing_are_the_same_geometries_and_nothing_else_changes():
    # The map's listings turn each GeoJSON geometry into WKB as the answer is read (json.loads's object_hook).
    geometries = [
        {"type": "Point", "coordinates": [1.5, 2.5]},
        {"type": "Polygon", "coordinates": [[[0, 0], [4, 0], [4, 4], [0, 0]], [[1, 1], [2, 1], [2, 2], [1, 1]]]},
        {"type": "MultiPolygon", "coordinates": [[[[0, 0], [1, 0], [1, 1], [0, 0]]]]},
        {"type": "GeometryCollection", "geometries": [{"type": "Point", "coordinates": [0, 0]},
                                                      {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}]},
    ]
    page = {"count": 6, "results": [
        {"id": str(n), "scheduling_type": "FLEXIBLE", "geometry": geometry, "original_geometry": geometry,
         "item_types": ["SkySatCollect"]} for n, geometry in enumerate(geometries)]
        + [{"id": "empty", "geometry": {"type": "Polygon", "coordinates": []}},
           {"id": "unreadable", "geometry": {"type": "Polygon", "coordinates": "x"}, "type": "Polygon"}]}
    read = json.loads(json.dumps(page), object_hook=layers.geojson_objects_to_wkb)
    for item, geometry in zip(read["results"], geometries):
        assert isinstance(item["geometry"], bytes) and item["original_geometry"] == item["geometry"]
        assert layers.wkb_to_geometry(item["geometry"]).equals(geojson_to_geometry(geometry))
        assert item["scheduling_type"] == "FLEXIBLE" and item["item_types"] == ["SkySatCollect"]
    assert read["count"] == 6 and read["results"][4]["geometry"] is None
    assert read["results"][5]["geometry"] == {"type": "Polygon", "coordinates": "x"}  # left for the reader to refuse
    assert [layers.is_polygonal_wkb(item["geometry"]) for item in read["results"][:4]] == [False, True, True, False]


def test_geojson_to_geometry_empty_and_malformed():
    assert geojson_to_geometry(None).isNull()
    assert geojson_to_geometry({"type": "Polygon", "coordinates": []}).isNull()
    with pytest.raises(ValueError):
        geojson_to_geometry({"type": "Polygon"})
    with pytest.raises(ValueError):
        geojson_to_geometry({"type": "Circle", "coordinates": [0, 0]})


# ---------------------------------------------------------------------------------------------- building

@pytest.mark.parametrize("make, expected_fields", [
    (lambda: create_orders_layer(orders=[order("o1")]), ORDER_FIELDS),
    (lambda: create_captures_layer(captures=[capture("c1")]), CAPTURE_FIELDS),
    (lambda: create_imaging_windows_layer(windows=[window("w1")], footprint=square(0, 0)), IMAGING_WINDOW_FIELDS),
])
def test_layers_have_typed_fields_crs_polygons_and_spatial_index(make, expected_fields):
    layer = make()
    assert layer.isValid() and layer.providerType() == "memory"
    assert layer.crs().authid() == "EPSG:4326"
    assert layer.geometryType() == QgsWkbTypes.GeometryType.PolygonGeometry
    assert [(f.name(), f.type()) for f in layer.fields()] == list(expected_fields)
    assert layer.dataProvider().hasSpatialIndex() == QgsFeatureSource.SpatialIndexPresence.SpatialIndexPresent
    assert layer.featureCount() == 1


def test_default_names_and_field_type_sample():
    orders_layer, captures_layer = create_orders_layer(), create_captures_layer()
    assert (orders_layer.name(), captures_layer.name()) == ("Tasking orders", "Captures")
    fields = orders_layer.fields()
    assert compat.is_type(fields.field("start_time"), compat.DATETIME)
    assert compat.is_type(fields.field("is_cancellable"), compat.BOOL)
    assert compat.is_type(fields.field("requested_sqkm"), compat.DOUBLE)
    assert compat.is_type(fields.field("exclusivity_days"), compat.INT)
    assert compat.is_type(fields.field("status"), compat.STRING)


def test_order_attributes_and_geometry():
    layer = create_orders_layer(orders=[order("o1", "IN_PROGRESS")])
    feature = next(layer.getFeatures())
    assert feature["status"] == "IN_PROGRESS" and feature["name"] == "Order o1"
    assert feature["start_time"] == utc("2024-07-01T00:00:00Z")
    assert feature["start_time"].timeSpec() == Qt.TimeSpec.UTC
    # Date-times are kept to the whole second, what every store of the layers holds (QGIS 3.22's GeoPackage
    # writer drops milliseconds): 12:00:00.123 is shown as 12:00:00, never rounded up to the next second.
    assert feature["created_time"].toMSecsSinceEpoch() == utc("2024-06-30T12:00:00Z").toMSecsSinceEpoch()
    assert feature["is_cancellable"] is True and feature["requested_sqkm"] == 25.0
    assert feature["n_stereo_pov"] == QVariant() or feature["n_stereo_pov"] is None
    # The tasked polygon is drawn, not the point the user clicked.
    assert feature.geometry().equals(geojson_to_geometry(square(10.0, 50.0)))


def test_orders_style_is_categorized_by_every_status():
    layer = create_orders_layer(orders=[order("a", "FULFILLED"), order("b", "FAILED"), order("c", "NEW_STATUS")])
    renderer = layer.renderer()
    assert renderer.type() == "categorizedSymbol" and renderer.classAttribute() == "status"
    values = [category.value() for category in renderer.categories()]
    assert set(ORDER_STATUSES) <= set(values)
    assert "" in values  # all other values
    colors = symbol_colors(layer)
    assert colors["a"] == "#31a354" and colors["b"] == "#de2d26"
    assert colors["c"] is not None  # an unknown status still draws


def test_captures_style_by_status_and_assessment():
    layer = create_captures_layer(captures=[
        capture("queued", status="QUEUED"), capture("pending", status="PUBLISHED"),
        capture("good", status="PUBLISHED", assessment="SUCCESS"),
        capture("bad", status="PUBLISHED", assessment="INVALID"), capture("failed", status="FAILED"),
    ])
    renderer = layer.renderer()
    assert renderer.type() == "categorizedSymbol"
    assert "assessment" in renderer.classAttribute() and "status" in renderer.classAttribute()
    assert {"QUEUED", "PROCESSING", "PUBLISHED", "PUBLISHED / SUCCESS", "PUBLISHED / INVALID", "FAILED"} <= {
        category.value() for category in renderer.categories()
    }
    colors = symbol_colors(layer)
    assert len(set(colors.values())) == 5, colors


def test_imaging_windows_style_rules():
    layer = create_imaging_windows_layer(windows=[window("w1")], footprint=square(0, 0))
    renderer = layer.renderer()
    assert renderer.type() == "RuleRenderer"
    labels = [rule.label() for rule in renderer.rootRule().children()]
    assert "Replaces existing orders" in labels and len(labels) == 5


@pytest.mark.parametrize("path", [planet_layers.ORDERS_STYLE, planet_layers.CAPTURES_STYLE, planet_layers.IMAGING_WINDOWS_STYLE])
def test_each_qml_loads(path):
    layer = QgsVectorLayer("Polygon?crs=EPSG:4326&field=status:string", "x", "memory")
    message, ok = layer.loadNamedStyle(path)
    assert ok, message


def test_temporal_properties():
    captures_layer = create_captures_layer()
    temporal = captures_layer.temporalProperties()
    assert temporal.isActive()
    assert temporal.mode() == Qgis.VectorTemporalMode.FeatureDateTimeInstantFromField
    assert temporal.startField() == "acquired_time"

    for layer in (create_orders_layer(), create_imaging_windows_layer()):
        temporal = layer.temporalProperties()
        assert temporal.isActive()
        assert temporal.mode() == Qgis.VectorTemporalMode.FeatureDateTimeStartAndEndFromFields
        assert (temporal.startField(), temporal.endField()) == ("start_time", "end_time")


def test_exclusivity_end_is_acquired_time_plus_the_orders_exclusivity_days():
    # The documents' own example: acquired 2020-10-10T12:00:00, 30 days -> 2020-11-09T12:00:00.
    layer = create_captures_layer(
        captures=[capture("c1", "o30"), capture("c2", "o0"), capture("c3", "unknown")],
        exclusivity_days_by_order={"o30": 30, "o0": 0},
    )
    features = by_id(layer)
    assert features["c1"]["exclusivity_days"] == 30
    assert features["c1"]["exclusivity_end"] == utc("2020-11-09T12:00:00Z")
    assert features["c2"]["exclusivity_end"] == utc("2020-10-10T12:00:00Z")
    assert features["c3"]["exclusivity_end"] in (None, QVariant()) or features["c3"]["exclusivity_end"].isNull()
    assert features["c1"]["item_types"] == "SkySatScene,SkySatCollect"


def test_imaging_window_attributes_and_footprint():
    footprint = QgsGeometry.fromWkt("Polygon ((13 52, 13.05 52, 13.05 52.05, 13 52.05, 13 52))")
    layer = create_imaging_windows_layer(windows=[window("w1", cloud=12.5, conflicts=2)], footprint=footprint,
                                         search_id="s1")
    feature = next(layer.getFeatures())
    assert feature.geometry().equals(footprint)
    assert feature["cloud_forecast"] == 12.5  # the latest forecast, not the first
    assert feature["conflicting_order_count"] == 2 and feature["conflicting_order_ids"] == "old0,old1"
    assert feature["quota_priority_multiplier"] == 1.5 and feature["assured_tasking_tier"] == "STANDARD"
    assert feature["sun_elevation_angle_min"] == 28.97 and feature["ground_sample_distance"] == 0.9
    assert feature["search_id"] == "s1" and feature["low_light"] is False
    assert feature["start_time"] == utc("2024-07-25T00:25:04Z")  # to the whole second, as every layer
    assert feature["duration_s"] == pytest.approx(72.328)


def test_imaging_window_footprint_must_be_a_polygon():
    with pytest.raises(ValueError, match="polygon"):
        create_imaging_windows_layer(windows=[window("w1")], footprint=QgsGeometry.fromWkt("Point (13 52)"))


# ---------------------------------------------------------------------------------------------- refresh

def test_upsert_updates_in_place_adds_new_and_never_duplicates():
    captures = [capture(f"c{n}", x=n) for n in range(5)]
    layer = create_captures_layer(captures=captures, exclusivity_days_by_order={"o1": 7})
    fids = {feature["id"]: feature.id() for feature in layer.getFeatures()}

    same = upsert_captures(layer, copy.deepcopy(captures), {"o1": 7})
    assert (same.added, same.updated, same.unchanged) == (0, 0, 5)
    assert layer.featureCount() == 5

    refreshed = copy.deepcopy(captures)
    refreshed[1].assessment = "SUCCESS"
    refreshed[2].geometry = square(40.0, 10.0)
    refreshed.append(capture("c9", x=9))
    result = upsert_captures(layer, refreshed, {"o1": 7})
    assert (result.added, result.updated, result.unchanged, result.removed) == (1, 2, 3, 0)
    assert layer.featureCount() == 6
    features = by_id(layer)
    assert sorted(features) == ["c0", "c1", "c2", "c3", "c4", "c9"]
    assert features["c1"]["assessment"] == "SUCCESS"
    assert features["c2"].geometry().equals(geojson_to_geometry(square(40.0, 10.0)))
    # Updated in place: the same features, not new copies.
    assert all(features[key].id() == fid for key, fid in fids.items())
    assert layer.extent().xMaximum() >= 40.0


def test_upsert_changed_exclusivity_recomputes_end():
    layer = create_captures_layer(captures=[capture("c1")], exclusivity_days_by_order={"o1": 0})
    upsert_captures(layer, [capture("c1")], {"o1": 30})
    assert next(layer.getFeatures())["exclusivity_end"] == utc("2020-11-09T12:00:00Z")


def test_upsert_remove_missing_is_optional():
    layer = create_orders_layer(orders=[order("a"), order("b"), order("c")])
    kept = upsert_orders(layer, [order("a", "FULFILLED")])
    assert kept.removed == 0 and layer.featureCount() == 3
    removed = upsert_orders(layer, [order("a", "FULFILLED")], remove_missing=True)
    assert removed.removed == 2 and sorted(by_id(layer)) == ["a"]
    assert by_id(layer)["a"]["status"] == "FULFILLED"


def test_remove_features_by_id_keeps_the_rest_and_the_index():
    layer = create_orders_layer(orders=[order("a"), order("b"), order("c")])
    assert layers.remove_features(layer, ["b", "zz", "b"]) == 1
    assert sorted(by_id(layer)) == ["a", "c"]
    assert layers.remove_features(layer, []) == 0
    # The index knows b left: writing it again adds one feature, and a refresh finds the rest unchanged.
    result = upsert_orders(layer, [order("a"), order("b"), order("c")])
    assert (result.added, result.unchanged) == (1, 2) and layer.featureCount() == 3
    layer.startEditing()
    with pytest.raises(LayerInEditModeError):
        layers.remove_features(layer, ["a"])
    layer.rollBack()


def test_feature_ids_of_finds_fids_by_id_from_the_index():
    layer = create_orders_layer(orders=[order("a"), order("b"), order("c")])
    fids = {feature["id"]: feature.id() for feature in layer.getFeatures()}
    assert layers.feature_ids_of(layer, ["c", "a", "zz", "a"]) == [fids["c"], fids["a"]]
    assert layers.feature_ids_of(layer, []) == []
    layers.remove_features(layer, ["a"])
    assert layers.feature_ids_of(layer, ["a", "b"]) == [fids["b"]]


def test_orders_layers_are_found_by_kind_whatever_their_name_and_the_selection_gives_ids_and_statuses():
    from qgis.core import QgsProject

    project = QgsProject()
    renamed = create_orders_layer("My orders", orders=[order("a", "PENDING"), order("b", "FULFILLED")])
    other = create_orders_layer(orders=[order("c", "IN_PROGRESS")])
    captures = create_captures_layer()
    impostor = QgsVectorLayer("Point?crs=EPSG:4326&field=id:string&field=status:string", "Tasking orders", "memory")
    project.addMapLayers([renamed, other, captures, impostor], False)
    assert {layer.id() for layer in planet_layers.orders_layers(project)} == {renamed.id(), other.id()}

    assert planet_layers.selection_orders_layer(project) is None  # nothing selected anywhere, no active layer
    assert planet_layers.selection_orders_layer(project, active=renamed) is renamed
    other.selectAll()
    assert planet_layers.selection_orders_layer(project) is other
    assert planet_layers.selection_orders_layer(project, active=impostor) is other  # not an orders layer
    assert planet_layers.selection_orders_layer(project, active=renamed) is other  # the active one has no selection
    renamed.selectAll()
    assert planet_layers.selection_orders_layer(project, active=renamed) is renamed

    ids, statuses = planet_layers.selected_order_ids(renamed)
    assert sorted(ids) == ["a", "b"] and statuses == {"a": "PENDING", "b": "FULFILLED"}
    assert planet_layers.selected_order_ids(None) == ([], {})
    renamed.removeSelection()
    assert planet_layers.selected_order_ids(renamed) == ([], {})
    project.clear()


def test_upsert_duplicate_ids_in_input_give_one_feature():
    layer = create_orders_layer()
    upsert_orders(layer, [order("a", "PENDING"), order("a", "FULFILLED")])
    assert layer.featureCount() == 1 and next(layer.getFeatures())["status"] == "FULFILLED"


def test_status_change_shows_in_the_renderer():
    layer = create_orders_layer(orders=[order("a", "IN_PROGRESS")])
    before = symbol_colors(layer)["a"]
    upsert_orders(layer, [order("a", "FULFILLED")])
    assert symbol_colors(layer)["a"] != before == "#41b6c4"


def test_upsert_after_the_user_edited_the_layer_rebuilds_its_index():
    layer = create_orders_layer(orders=[order("a"), order("b"), order("c")])
    layer.startEditing()
    feature_b = by_id(layer)["b"]
    layer.deleteFeature(feature_b.id())
    feature_a = by_id(layer)["a"]
    layer.changeAttributeValue(feature_a.id(), layer.fields().indexOf("name"), "renamed by hand")
    assert layer.commitChanges()

    result = upsert_orders(layer, [order("a"), order("b"), order("c")])
    assert (result.added, result.updated, result.unchanged) == (1, 1, 1)
    features = by_id(layer)
    assert sorted(features) == ["a", "b", "c"] and layer.featureCount() == 3
    assert features["a"]["name"] == "Order a"


def test_upsert_after_features_were_added_directly_keeps_one_per_id():
    layer = create_orders_layer(orders=[order("a")])
    # Someone copies a feature through the provider: the index notices the count and re-reads.
    copy_of_a = next(layer.getFeatures())
    layer.dataProvider().addFeatures([copy_of_a])
    upsert_orders(layer, [order("a", "FULFILLED")])
    assert layer.featureCount() == 1 and next(layer.getFeatures())["status"] == "FULFILLED"


def test_upsert_refuses_a_layer_in_edit_mode():
    layer = create_orders_layer(orders=[order("a")])
    layer.startEditing()
    with pytest.raises(LayerInEditModeError, match="being edited"):
        upsert_orders(layer, [order("a", "FULFILLED")])
    layer.rollBack()


def test_upsert_into_a_layer_of_another_kind_fails_clearly():
    with pytest.raises(ValueError, match="not a captures layer"):
        upsert_captures(create_orders_layer(), [capture("c1")])


def test_imaging_windows_refresh_by_id():
    layer = create_imaging_windows_layer(windows=[window("w1"), window("w2")], footprint=square(0, 0))
    result = upsert_imaging_windows(layer, [window("w1", cloud=80.0), window("w3")], square(0, 0),
                                    remove_missing=True)
    assert (result.added, result.updated, result.removed) == (1, 1, 1)
    assert by_id(layer)["w1"]["cloud_forecast"] == 80.0 and sorted(by_id(layer)) == ["w1", "w3"]


def test_batches_smaller_than_the_input():
    captures = [capture(f"c{n}", x=n * 0.1) for n in range(25)]
    layer = create_captures_layer()
    result = layers.apply_prepared(layer, planet_layers.prepare_captures(captures), batch_size=4)
    assert result.added == 25 and layer.featureCount() == 25
    assert len({feature["id"] for feature in layer.getFeatures()}) == 25


# ---------------------------------------------------------------------------------------------- GeoPackage

def test_geopackage_round_trip_keeps_features_types_and_style(tmp_path):
    orders_layer = create_orders_layer(orders=[order("o1", "FULFILLED"), order("o2", x=11.0)])
    captures_layer = create_captures_layer(
        captures=[capture("c1"), capture("c2", x=11.0)], exclusivity_days_by_order={"o1": 30}
    )
    multi = capture("c3")
    multi.geometry = {"type": "MultiPolygon", "coordinates": [square(1, 1)["coordinates"], square(3, 3)["coordinates"]]}
    upsert_captures(captures_layer, [multi], {"o1": 30})
    path = str(tmp_path / "tasking.gpkg")

    written = save_layers_to_geopackage([orders_layer, captures_layer], path)
    assert list(written) == ["Tasking orders", "Captures"]

    for original, uri in zip((orders_layer, captures_layer), written.values()):
        reopened = QgsVectorLayer(uri, "reopened", "ogr")
        assert reopened.isValid()
        assert reopened.featureCount() == original.featureCount()
        reopened_types = {field.name(): field.type() for field in reopened.fields()}
        for field in original.fields():
            assert reopened_types[field.name()] == field.type(), field.name()
        assert reopened.renderer().type() == original.renderer().type()
        before, after = by_id(original), by_id(reopened)
        assert sorted(before) == sorted(after)
        for key, feature in before.items():
            # A layer with one multi-part footprint is written as MultiPolygon throughout.
            assert after[key].geometry().isGeosEqual(feature.geometry())
            for field in original.fields():
                old, new = feature[field.name()], after[key][field.name()]
                if isinstance(old, QDateTime):
                    # QGIS 3.22 reads a GeoPackage time as local: compare the UTC clock readings.
                    assert new.toString(CLOCK) == old.toUTC().toString(CLOCK), field.name()
                else:
                    assert new == old, field.name()

    # The file itself says UTC (OGR time-zone flag 100); the layer held 12:00:00.123 as 12:00:00 (whole seconds).
    with compat.ogr_module() as ogr:
        dataset = ogr.Open(path)
        table = dataset.GetLayerByName("Tasking orders")
        row = next(iter(table))
        assert row.GetFieldAsDateTime(row.GetFieldIndex("created_time"))[-1] == 100
        assert row.GetFieldAsDateTime(row.GetFieldIndex("created_time"))[3:6] == [12, 0, 0]
        assert dataset.GetLayerByName("Captures").GetGeomType() == ogr.wkbMultiPolygon
        dataset = None


def test_geopackage_layer_names_are_made_unique(tmp_path):
    path = str(tmp_path / "two.gpkg")
    written = save_layers_to_geopackage([create_captures_layer("Captures"), create_captures_layer("Captures")], path)
    assert list(written) == ["Captures", "Captures (2)"]


def test_time_helpers_use_utc_even_for_naive_datetimes():
    naive = Capture(id="n", acquired_time=datetime(2020, 10, 10, 12, 0, 0))
    aware = Capture(id="a", acquired_time=datetime(2020, 10, 10, 14, 0, 0, tzinfo=timezone(timedelta(hours=2))))
    features = by_id(create_captures_layer(captures=[naive, aware]))
    assert features["n"]["acquired_time"] == features["a"]["acquired_time"] == utc("2020-10-10T12:00:00Z")


def test_refresh_keeps_a_field_the_user_added():
    layer = create_orders_layer(orders=[order("a")])
    layer.dataProvider().addAttributes([compat.make_field("note", compat.STRING)])
    layer.updateFields()
    fid = next(layer.getFeatures()).id()
    layer.dataProvider().changeAttributeValues({fid: {layer.fields().indexOf("note"): "call the client"}})

    upsert_orders(layer, [order("a", "FULFILLED"), order("b")])
    features = by_id(layer)
    assert features["a"]["note"] == "call the client" and features["a"]["status"] == "FULFILLED"
    assert features["b"]["status"] == "PENDING" and features["b"]["name"] == "Order b"


def test_exclusivity_days_by_order_and_utc_aliases():
    days = exclusivity_days_by_order([order("a"), order("b", exclusivity_days=7)])
    assert days == {"a": 30, "b": 7}
    layer = create_captures_layer(captures=[capture("c1", "b")], exclusivity_days_by_order=days)
    assert next(layer.getFeatures())["exclusivity_days"] == 7
    assert layer.attributeDisplayName(layer.fields().indexOf("acquired_time")) == "acquired_time (UTC)"


def test_a_feature_drawn_by_hand_without_id_is_kept_and_not_reread_each_time(monkeypatch):
    layer = create_orders_layer(orders=[order("a")])
    layer.startEditing()
    drawn = QgsFeature(layer.fields())
    drawn.setGeometry(geojson_to_geometry(square(0.0, 0.0)))
    layer.addFeature(drawn)
    assert layer.commitChanges()
    upsert_orders(layer, [order("a", "FULFILLED")])

    reads = []
    real_read = layers._read_index
    monkeypatch.setattr(layers, "_read_index", lambda *args: reads.append(1) or real_read(*args))
    result = upsert_orders(layer, [order("a", "FULFILLED"), order("b")])
    assert reads == [] and (result.added, result.unchanged) == (1, 1)
    assert layer.featureCount() == 3


def test_prepared_slices_split_in_order_and_keep_sources_and_geometries():
    prepared = planet_layers.prepare_captures([capture(f"c{n}", x=n * 0.1) for n in range(7)])
    prepared.geometries["c2"] = QgsGeometry.fromWkt("POINT (1 2)")
    parts = list(layers.prepared_slices(prepared, 3))
    assert [list(part.rows) for part in parts] == [["c0", "c1", "c2"], ["c3", "c4", "c5"], ["c6"]]
    assert all(part.kind is planet_layers.CAPTURES for part in parts)
    assert parts[0].sources["c1"] is prepared.sources["c1"] and list(parts[0].geometries) == ["c2"]
    assert list(layers.prepared_slices(layers.PreparedFeatures(planet_layers.CAPTURES), 3)) == []


def test_features_built_on_a_worker_land_in_slices_with_their_attributes_and_footprints():
    # The map's listing builds the features to add on a worker (build_features) and the main thread writes them
    # a slice at a time (subset); each slice must add the worker's features, not make them again.
    import threading

    expected = create_captures_layer(captures=[capture(f"c{n}", x=n * 0.1) for n in range(120)])
    layer = create_captures_layer(captures=[])
    prepared = planet_layers.prepare_captures([capture(f"c{n}", x=n * 0.1) for n in range(120)])
    layout = layers.write_layout(layer, planet_layers.CAPTURES)
    worker = threading.Thread(target=prepared.build_features, args=(layout,))
    worker.start()
    worker.join()
    prepared.sources.clear()  # what the main thread would make a feature from: the worker's must be used
    ids = list(prepared.rows)
    for start in range(0, len(ids), 49):
        part = prepared.subset(ids[start:start + 49])
        assert list(part.built_features()) == ids[start:start + 49]
        assert all(feature["id"] == capture_id for capture_id, feature in part.built_features().items())
        assert layers.apply_prepared(layer, part).added == len(part)

    written, wanted = by_id(layer), by_id(expected)
    assert sorted(written) == sorted(wanted)
    for capture_id, feature in wanted.items():
        assert written[capture_id].attributes() == feature.attributes()
        assert written[capture_id].geometry().equals(feature.geometry()), capture_id


def test_the_order_details_show_the_same_exclusivity_end_as_the_captures_layer():
    from ui.orders.details import captures_html

    layer = create_captures_layer(captures=[capture("c1", "o30")], exclusivity_days_by_order={"o30": 30})
    shown = by_id(layer)["c1"]["exclusivity_end"].toString("yyyy-MM-dd HH:mm")
    assert shown == "2020-11-09 12:00" and f"<td>{shown}</td>" in captures_html([capture("c1", "o30")], 30)


def test_find_or_create_takes_the_projects_layer_of_that_kind_and_makes_one_only_when_missing():
    from qgis.core import QgsProject

    project = QgsProject()
    made = planet_layers.find_or_create_orders_layer(project)
    assert planet_layers.orders_layers(project) == [made] and made.name() == "Tasking orders"
    made.setName("renamed by the user")
    assert planet_layers.find_or_create_orders_layer(project) is made
    captures = layers.find_or_create_layer(project, planet_layers.CAPTURES, "Captures")
    assert layers.layers_of_kind(project, planet_layers.CAPTURES) == [captures] and planet_layers.orders_layers(project) == [made]


def test_a_layer_read_back_from_its_fields_is_not_rewritten_by_a_refresh_of_the_same_orders():
    # The index is read again from the layer's features (as for a project reopened): the same orders refreshed
    # write nothing, then or at the next refresh; a changed value is still written.
    orders = [order("a", requested_sqkm=25, fulfilled_sqkm=0), order("b", requested_sqkm=12.5)]
    layer = create_orders_layer(orders=orders)
    layers.forget_index(layer)
    for _ in range(2):
        result = upsert_orders(layer, copy.deepcopy(orders))
        assert (result.added, result.updated, result.unchanged) == (0, 0, 2)
    changed = copy.deepcopy(orders)
    changed[0].requested_sqkm = 30
    result = upsert_orders(layer, changed)
    assert (result.added, result.updated, result.unchanged) == (0, 1, 1)
    assert by_id(layer)["a"]["requested_sqkm"] == 30.0
