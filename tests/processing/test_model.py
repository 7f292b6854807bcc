"""A Graphical Modeler model chaining the provider's algorithms: price a layer, order what was priced, then load
the captures of those orders, run through processing.run() against the sandbox."""

from __future__ import annotations

import pytest
from qgis.core import (
    QgsFeature,
    QgsGeometry,
    QgsPointXY,
    QgsProcessingModelAlgorithm,
    QgsProcessingModelChildAlgorithm,
    QgsProcessingModelChildDependency,
    QgsProcessingModelChildParameterSource,
    QgsProcessingModelOutput,
    QgsProcessingModelParameter,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterString,
    QgsVectorLayer,
)

from core import compat
from tests.integration.order_states import make_client
from tests.processing.test_price_and_load import RecordingFeedback

pytestmark = pytest.mark.usefixtures("tasking")

static = QgsProcessingModelChildParameterSource.fromStaticValue
from_input = QgsProcessingModelChildParameterSource.fromModelParameter
from_child = QgsProcessingModelChildParameterSource.fromChildOutput


def child(algorithm: str, child_id: str, sources: dict, outputs: dict = None, after: str = None):
    step = QgsProcessingModelChildAlgorithm(f"satellite_tasking:{algorithm}")
    step.setChildId(child_id)
    for name, source in sources.items():
        step.addParameterSources(name, [source])
    exposed = {}
    for model_name, output_name in (outputs or {}).items():
        output = QgsProcessingModelOutput(model_name)
        output.setChildId(child_id)
        output.setChildOutputName(output_name)
        exposed[model_name] = output
    step.setModelOutputs(exposed)
    if after:
        step.setDependencies([QgsProcessingModelChildDependency(after)])
    return step


def daylight_layer(sandbox, names) -> QgsVectorLayer:
    """Points where the sandbox's Sun is high soon (it images only in daylight), in EPSG:4326."""
    from tests.integration.order_states import daylight_point

    layer = QgsVectorLayer("Point?crs=EPSG:4326", "daylight sites", "memory")
    layer.dataProvider().addAttributes([compat.make_field("site", compat.STRING)])
    layer.updateFields()
    lon, lat = daylight_point(0, sandbox.now())["coordinates"]
    lon = max(-179.0, min(179.0, lon))  # clear of the antimeridian, which a tasked square may not cross
    features = []
    for index, name in enumerate(names):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(lon, lat + 0.5 * index)))
        feature.setAttributes([name])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def price_order_capture_model() -> QgsProcessingModelAlgorithm:
    model = QgsProcessingModelAlgorithm("Price, order, load captures", "Satellite Tasking tests")
    model.addModelParameter(QgsProcessingParameterFeatureSource("areas", "Areas"), QgsProcessingModelParameter("areas"))
    model.addModelParameter(QgsProcessingParameterString("url", "Service URL"), QgsProcessingModelParameter("url"))
    model.addChildAlgorithm(child("price_aois", "price", {
        "INPUT": from_input("areas"), "NAME": static('"site"'), "SERVICE_URL": from_input("url")}))
    model.addChildAlgorithm(child("create_orders_from_layer", "create", {
        "INPUT": from_child("price", "OUTPUT"), "NAME": static("concat('modelled ', \"site\")"),
        "STOP_ON_INVALID": static(False),
        "SERVICE_URL": from_input("url")}, {"orders": "OUTPUT"}))
    model.addChildAlgorithm(child("load_captures", "captures", {
        "NAME_CONTAINS": static("modelled "), "SERVICE_URL": from_input("url")}, {"captures": "OUTPUT"},
        after="create"))
    return model


def test_a_model_prices_orders_and_loads_captures(tasking, processing_registry):
    import processing

    model = price_order_capture_model()
    valid, problems = model.validate()
    assert valid, problems
    tasking.reset()
    layer = daylight_layer(tasking, ["a", "b", "c"])
    # Ten simulated days a second, and the captures step's first request held for a second: a flexible order's
    # first capture (within 30 hours of its start) is acquired by the time its captures are listed.
    tasking.control("POST", "clock", {"speed": 10 * 86400})
    tasking.fault(path="/captures/", method="GET", kind="delay", delay_seconds=1.0, count=1)
    feedback = RecordingFeedback()
    result = processing.run(model, {"areas": layer, "url": tasking.tasking_url, "create:orders": "memory:",
                                    "captures:captures": "memory:"}, feedback=feedback)
    # The steps ran in the model's order: captures only after the orders were created.
    steps = [info for info in feedback.infos if "written" in info or "features have an order" in info]
    assert "features have an order" in steps[0] and "written" in steps[-1], feedback.infos
    ordered = result["create:orders"]
    rows = {f["site"]: f for f in ordered.getFeatures()}
    # The create step read the priced layer: its features carry the price fields and got their orders.
    assert set(rows) == {"a", "b", "c"} and all(r["price"] > 0 and r["order_id"] for r in rows.values())
    orders = {o.id: o for o in make_client(tasking).iter_orders(page_size=100)}
    assert {orders[r["order_id"]].name for r in rows.values()} == {"modelled a", "modelled b", "modelled c"}
    captures = list(result["captures:captures"].getFeatures())
    assert captures and {c["order_id"] for c in captures} <= {r["order_id"] for r in rows.values()}
