"""The plugin's layers last: GeoPackage tables (profile, then beside the saved project) that come back with the project."""

from __future__ import annotations

import os
from datetime import timedelta, timezone

import pytest
from qgis.core import Qgis, QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer
from qgis.PyQt.QtCore import QDateTime

from core import layer_store
from core import layers as layer_tools
from core.services.planet_tasking.client import TaskingClient
from tests.integration.order_states import make_client, point, sim_now
from ui.orders.panel import OrdersPanel

WAIT_MS = 60_000
ORDERS = 9


@pytest.fixture
def open_panel(sandbox, qgis_iface, qtbot):
    panels = []

    def open_() -> OrdersPanel:
        panel = OrdersPanel(lambda: TaskingClient(sandbox.tasking_url, sandbox.api_key, timeout=30.0), qgis_iface,
                            auto_refresh=False, now=lambda: sim_now(sandbox))
        qtbot.addWidget(panel)
        panel.show()
        panel.start()
        qtbot.waitUntil(lambda: not panel.busy(), timeout=WAIT_MS)
        qtbot.waitUntil(lambda: panel.orders_layer is not None and panel.orders_layer.featureCount() == ORDERS,
                        timeout=WAIT_MS)
        panels.append(panel)
        return panel

    yield open_
    for panel in panels:
        panel.shutdown()


@pytest.fixture
def orders(sandbox):
    """Orders whose start and end times carry milliseconds, which QGIS 3.22's GeoPackage writer drops."""
    client = make_client(sandbox)
    now = sim_now(sandbox).astimezone(timezone.utc)

    def with_ms(moment):
        return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{100 + moment.second:03d}Z"

    made = [client.create_order({"name": f"lasting {n:02d}", "geometry": point(700 + n),
                                 "start_time": with_ms(now + timedelta(days=1, seconds=n)),
                                 "end_time": with_ms(now + timedelta(days=9, seconds=n))}) for n in range(ORDERS)]
    assert all(order.start_time.microsecond for order in made)
    return made


def save_as(project, path):
    """What QGIS's Save (of a new project) and Save As do: name the file, then write the project."""
    project.setFileName(path)
    return project.write()


def plugin_layers(project):
    return [layer for layer in project.mapLayers().values()
            if isinstance(layer, QgsVectorLayer) and layer_tools.layer_kind(layer) is not None]


def scratch_layers_qgis_would_ask_about(project):
    # What QgisApp::checkMemoryLayers looks for on exit: a memory layer holding features.
    return [layer.name() for layer in project.mapLayers().values()
            if layer.providerType() == "memory" and layer.featureCount() != 0]


def by_id(layer):
    return {feature["id"]: feature for feature in layer.getFeatures()}


def test_the_layers_are_geopackage_tables_in_the_profile_then_beside_the_saved_project(
        orders, fresh_project, open_panel, tmp_path):
    panel = open_panel()
    profile_store = os.path.abspath(layer_store.profile_store_path())
    for layer in (panel.orders_layer, panel.captures_layer):
        assert layer.providerType() == "ogr"
        assert layer_store.layer_path(layer) == profile_store
    assert not scratch_layers_qgis_would_ask_about(fresh_project)

    path = str(tmp_path / "survey.qgz")
    assert save_as(fresh_project, path)
    beside = str(tmp_path / "survey_satellite_tasking.gpkg")
    assert os.path.exists(beside)
    for layer in (panel.orders_layer, panel.captures_layer):
        assert layer.isValid() and layer_store.layer_path(layer) == beside
    assert sorted(by_id(panel.orders_layer)) == sorted(order.id for order in orders)
    group = fresh_project.layerTreeRoot().findGroup("Satellite Tasking")
    assert {panel.orders_layer.id(), panel.captures_layer.id()} <= {node.layerId() for node in group.findLayers()}
    assert not scratch_layers_qgis_would_ask_about(fresh_project)


@pytest.fixture
def writes(monkeypatch):
    """Every UpsertResult of the layer engine's writes (what the map mirror changed in the layers)."""
    results = []
    apply_prepared = layer_tools.apply_prepared

    def recorded(layer, prepared, *args, **kwargs):
        result = apply_prepared(layer, prepared, *args, **kwargs)
        results.append(result)
        return result

    monkeypatch.setattr(layer_tools, "apply_prepared", recorded)
    return results


def total(results, what):
    return sum(getattr(result, what) for result in results)


def test_the_layers_come_back_with_the_project_and_a_refresh_updates_them_in_place(
        orders, sandbox, fresh_project, open_panel, tmp_path, qtbot, writes):
    panel = open_panel()
    path = str(tmp_path / "reopened.qgz")
    assert save_as(fresh_project, path)
    written = by_id(panel.orders_layer)
    panel.shutdown()
    fresh_project.clear()
    assert not plugin_layers(fresh_project)

    assert fresh_project.read(path)
    orders_layer = next(layer for layer in plugin_layers(fresh_project)
                        if layer_tools.layer_kind(layer).name == "orders")
    assert orders_layer.isValid() and orders_layer.providerType() == "ogr"
    assert layer_store.layer_path(orders_layer) == str(tmp_path / "reopened_satellite_tasking.gpkg")
    # Features, style, labels, temporal settings and aliases all came back.
    reread = by_id(orders_layer)
    assert sorted(reread) == sorted(written)
    for order_id, feature in reread.items():
        assert feature["name"] == written[order_id]["name"]
        assert feature.geometry().equals(written[order_id].geometry())
        start = feature["start_time"]
        assert isinstance(start, QDateTime) and start == written[order_id]["start_time"]
    assert orders_layer.renderer().type() == "categorizedSymbol"
    assert orders_layer.labelsEnabled() and orders_layer.labeling().settings().fieldName == "name"
    temporal = orders_layer.temporalProperties()
    assert temporal.isActive()
    assert temporal.mode() == Qgis.VectorTemporalMode.FeatureDateTimeStartAndEndFromFields
    assert (temporal.startField(), temporal.endField()) == ("start_time", "end_time")
    assert orders_layer.attributeDisplayName(orders_layer.fields().indexOf("start_time")).startswith("start_time (")
    group = fresh_project.layerTreeRoot().findGroup("Satellite Tasking")
    assert orders_layer.id() in {node.layerId() for node in group.findLayers()}

    fids = {order_id: feature.id() for order_id, feature in reread.items()}
    renamed = orders[0]
    make_client(sandbox).edit_order(renamed.id, name="renamed after the reload")
    writes.clear()
    panel = open_panel()
    assert panel.orders_layer is orders_layer  # the project's layer is taken, not a new one
    qtbot.waitUntil(lambda: by_id(orders_layer)[renamed.id]["name"] == "renamed after the reload", timeout=WAIT_MS)
    assert {order_id: feature.id() for order_id, feature in by_id(orders_layer).items()} == fids
    # Only the renamed order was rewritten: what the GeoPackage holds (whole seconds, as the rows are kept)
    # compares equal to what the server says of every other order.
    assert (total(writes, "added"), total(writes, "updated")) == (0, 1)

    # A refresh with nothing changed on the server writes nothing: no change reaches the layer.
    writes.clear()
    changes = []
    for layer in (orders_layer, panel.captures_layer):
        layer.dataChanged.connect(lambda: changes.append("data"))
    panel.refresh_map()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=WAIT_MS)
    # (It asks whether anything changed and, told nothing did, compares nothing either: no write at all.)
    assert (total(writes, "added"), total(writes, "updated"), total(writes, "removed")) == (0, 0, 0)
    assert changes == []
    assert {order_id: feature.id() for order_id, feature in by_id(orders_layer).items()} == fids
    assert not scratch_layers_qgis_would_ask_about(fresh_project)


def test_a_layer_whose_geopackage_is_gone_is_made_anew(fresh_project, tmp_path):
    from core.services.planet_tasking import layers as schemas

    store = str(tmp_path / "gone.gpkg")
    lost = layer_tools.create_layer(schemas.CAPTURES, "Captures", store=store)
    layer_tools.add_to_group(fresh_project, lost)
    del lost
    os.remove(store)
    layer = layer_tools.find_or_create_layer(fresh_project, schemas.CAPTURES, "Captures")
    assert layer.isValid() and layer.providerType() == "ogr"
    assert layer_store.layer_path(layer) == os.path.abspath(layer_store.profile_store_path())
    assert layer.featureCount() == 0


def test_a_bulk_result_layer_is_stored_styled_in_the_group_and_comes_back_with_the_project(fresh_project, tmp_path):
    from core.app.bulk.result_layer import add_result_layer_to_project, result_layer

    source = QgsVectorLayer("Point?crs=EPSG:4326&field=name:string", "well pads", "memory")
    features = []
    for n in range(3):
        feature = QgsFeature(source.fields())
        feature.setAttributes([f"pad {n}"])
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(10 + n, 50)))
        features.append(feature)
    source.dataProvider().addFeatures(features)
    built = result_layer(source, {1: ("order-1", None), 2: (None, "Outside the area"), 3: ("order-3", None)})
    layer = add_result_layer_to_project(built, fresh_project)

    assert layer.providerType() == "ogr"
    assert layer_store.layer_path(layer) == os.path.abspath(layer_store.profile_store_path())
    assert layer.renderer().type() == built.renderer().type()
    group = fresh_project.layerTreeRoot().findGroup("Satellite Tasking")
    assert layer.id() in {node.layerId() for node in group.findLayers()}
    assert not scratch_layers_qgis_would_ask_about(fresh_project)

    path = str(tmp_path / "bulk.qgz")
    assert save_as(fresh_project, path)
    fresh_project.clear()
    assert fresh_project.read(path)
    [back] = fresh_project.mapLayersByName("well pads — orders")
    assert back.isValid() and layer_store.layer_path(back) == str(tmp_path / "bulk_satellite_tasking.gpkg")
    assert sorted((f["name"], f["order_id"], f["error"]) for f in back.getFeatures()) == [
        ("pad 0", "order-1", None), ("pad 1", None, "Outside the area"), ("pad 2", "order-3", None)]
    assert back.renderer().type() == built.renderer().type()
