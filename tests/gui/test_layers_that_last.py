"""The plugin's layers in real QGIS: grouped, orders labelled, the project's time range fitted, bulk results styled."""

from __future__ import annotations

import pytest
from qgis.core import QgsDateTimeRange, QgsVectorLayer
from qgis.PyQt.QtCore import QDateTime, Qt

from core import layers as layer_tools
from core.app.bulk import result_layer
from core.services.planet_tasking.client import TaskingClient
from tests.integration.order_states import make_client, point, sim_now
from ui.orders.panel import OrdersPanel

WAIT_MS = 60_000


@pytest.fixture
def loaded_panel(sandbox, fresh_project, qgis_iface, qtbot):
    client = make_client(sandbox)
    for n in range(12):
        client.create_order({"name": f"lasting {n:02d}", "geometry": point(300 + n)})
    panel = OrdersPanel(lambda: TaskingClient(sandbox.tasking_url, sandbox.api_key, timeout=30.0), qgis_iface,
                        auto_refresh=False, now=lambda: sim_now(sandbox))
    qtbot.addWidget(panel)
    panel.show()
    panel.start()
    qtbot.waitUntil(lambda: not panel.busy(), timeout=WAIT_MS)
    qtbot.waitUntil(lambda: panel.orders_layer is not None and panel.orders_layer.featureCount() == 12,
                    timeout=WAIT_MS)
    yield panel
    panel.shutdown()


def test_layers_sit_in_one_group_and_orders_are_labelled_by_name(loaded_panel, fresh_project):
    group = fresh_project.layerTreeRoot().findGroup("Satellite Tasking")
    assert group is not None
    in_group = {node.layerId() for node in group.findLayers()}
    assert {loaded_panel.orders_layer.id(), loaded_panel.captures_layer.id()} <= in_group
    orders_layer = loaded_panel.orders_layer
    assert orders_layer.labelsEnabled()
    assert orders_layer.labeling().settings().fieldName == "name"


def test_the_project_time_range_covers_every_order_unless_the_user_set_one(loaded_panel, fresh_project):
    starts = [f["start_time"] for f in loaded_panel.orders_layer.getFeatures() if f["start_time"]]
    ends = [f["end_time"] for f in loaded_panel.orders_layer.getFeatures() if f["end_time"]]
    time_range = fresh_project.timeSettings().temporalRange()
    assert time_range.begin().isValid() and time_range.end().isValid()
    assert time_range.begin() <= min(starts) and time_range.end() >= max(ends)
    assert time_range.end().toMSecsSinceEpoch() - time_range.begin().toMSecsSinceEpoch() > 86_400_000

    users = QgsDateTimeRange(QDateTime.fromMSecsSinceEpoch(0, Qt.TimeSpec.UTC),
                             QDateTime.fromMSecsSinceEpoch(3_600_000, Qt.TimeSpec.UTC))
    fresh_project.timeSettings().setTemporalRange(users)
    late = max(ends).toMSecsSinceEpoch() + 10 * 86_400_000
    assert not layer_tools.fit_project_time_range(fresh_project, late, late + 1)
    assert fresh_project.timeSettings().temporalRange() == users


def test_the_bulk_result_layer_shows_ordered_and_failed_features_apart():
    source = QgsVectorLayer("Point?crs=EPSG:4326&field=name:string", "points", "memory")
    layer = result_layer(source, {})
    rules = [rule.filterExpression() for rule in layer.renderer().rootRule().children()]
    assert rules == ['"order_id" IS NOT NULL', '"order_id" IS NULL']
