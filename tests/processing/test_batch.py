"""Batch mode: one algorithm run over three layers in one Processing context (as the batch dialog runs its rows),
each layer getting its own orders, and the batch run again ordering nothing twice."""

from __future__ import annotations

import pytest
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingFeedback, QgsProject

from tests.integration.order_states import make_client
from tests.processing.layers import X0, point_layer

pytestmark = pytest.mark.usefixtures("tasking")


def three_layers() -> list:
    """Three layers of two points each, named apart, with the same feature ids (1, 2) at different places."""
    layers = []
    for index, name in enumerate(("north", "centre", "south")):
        layer = point_layer([f"{name} a", f"{name} b"], name=name)
        offset = (index + 1) * 50000.0
        layer.startEditing()
        for feature in layer.getFeatures():
            geometry = feature.geometry()
            geometry.translate(0, offset)
            layer.changeGeometry(feature.id(), geometry)
        layer.commitChanges()
        assert sorted(f.id() for f in layer.getFeatures()) == [1, 2] and X0
        layers.append(layer)
    return layers


def run_batch(layers, url) -> list:
    """Each row with a fresh algorithm instance and the one context of the batch, as QGIS's batch dialog does."""
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = QgsProcessingFeedback()
    outputs = []
    for layer in layers:
        algorithm = QgsApplication.processingRegistry().createAlgorithmById("satellite_tasking:create_orders_from_layer")
        results, ok = algorithm.run({"INPUT": layer, "NAME": "concat('batch ', \"site\")", "SERVICE_URL": url,
                                     "OUTPUT": "memory:"}, context, feedback)
        assert ok, feedback.textLog()
        outputs.append(context.takeResultLayer(results["OUTPUT"]))
    return outputs


def bulk_posts(sandbox) -> list:
    return [r for r in sandbox.requests_seen() if r["method"] == "POST" and r["path"].endswith("/bulk/")]


def test_batch_over_three_layers_orders_each_layers_features_once(tasking):
    layers = three_layers()
    tasking.reset()
    outputs = run_batch(layers, tasking.tasking_url)
    orders = {o.id: o.name for o in make_client(tasking).iter_orders(page_size=100)}
    assert sorted(orders.values()) == sorted(f"batch {n} {x}" for n in ("north", "centre", "south") for x in "ab")
    for output in outputs:
        # Each row's output names the orders made for its own features, never another layer's (same ids).
        assert {orders[f["order_id"]] for f in output.getFeatures()} == {f"batch {f['site']}" for f in output.getFeatures()}
    assert len(bulk_posts(tasking)) == 3

    again = run_batch(layers, tasking.tasking_url)
    assert len(bulk_posts(tasking)) == 3 and len(list(make_client(tasking).iter_orders(page_size=100))) == 6
    assert [{f["site"]: f["order_id"] for f in o.getFeatures()} for o in again] == \
        [{f["site"]: f["order_id"] for f in o.getFeatures()} for o in outputs]
