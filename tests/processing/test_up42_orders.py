"""UP42: estimate and place tasking orders from a layer through processing.run() against the sandbox: the params
JSON checked against the product's schema (nothing sent for an invalid feature), the spend bounded by Maximum
credits, and placing journaled so a rerun after a cancel, or in batch mode, orders nothing twice."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from qgis.core import QgsApplication, QgsProcessingContext, QgsProcessingException, QgsProcessingFeedback, QgsProject

from tests.processing.layers import line_layer, point_layer
from tests.processing.test_price_and_load import RecordingFeedback, run, run_failing

PLEIADES = "bd102407-1814-4f92-8b5a-7697b7a73f5a"


def pleiades_params(sandbox, **changes) -> dict:
    """Valid Pléiades Analytic parameters with an acquisition window from tomorrow on the sandbox's clock."""
    now = sandbox.now()
    params = {"acquisitionStart": (now + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
              "acquisitionEnd": (now + timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
              "acquisitionMode": "mono", "radiometricProcessing": "reflectance", "geometricProcessing": "ortho",
              "spectralProcessing": "bundle", "deliveredAs": "geotiff", "cloudCoverage": 10, "incidenceAngle": 10,
              "pixelCoding": "12bits", "projection": 4326}
    params.update(changes)
    return params


@pytest.fixture
def up42(processing_registry, clean_settings, sandbox, tmp_path, monkeypatch):
    """The sandbox's UP42 account stored as the plugin's UP42 credentials in QgsAuthManager (the sandbox switch
    off: the algorithms read the stored ones), a journal folder of the test's own. Yields the sandbox."""
    monkeypatch.setenv("SATELLITE_TASKING_BULK_JOURNAL", str(tmp_path / "journal.sqlite"))
    account = next(a for a in sandbox.control("GET", "up42/accounts")["accounts"] if a["password"] == sandbox.api_key)
    clean_settings.set_up42_credentials(account["username"], account["password"])
    return sandbox


def parameters(sandbox, layer, params=None, **extra) -> dict:
    return {"INPUT": layer, "PRODUCT": "pleiades-analytic-tasking",
            "PARAMS": json.dumps(params if params is not None else pleiades_params(sandbox)),
            "NAME": "concat('up42 ', \"site\")", "SERVICE_URL": sandbox.root + "/", "OUTPUT": "memory:", **extra}


def posts(sandbox, path: str) -> list:
    return [r for r in sandbox.requests_seen() if r["method"] == "POST" and r["path"] == path]


def estimates(sandbox) -> list:
    return posts(sandbox, "/v2/orders/estimate")


def creates(sandbox) -> list:
    return posts(sandbox, "/v2/orders")


def orders_named(make_up42_client, prefix: str) -> list:
    return [o for o in make_up42_client().iter_orders(size=200) if (o.name or "").startswith(prefix)]


def rows(layer) -> dict:
    return {f["site"]: f for f in layer.getFeatures()}


def test_estimate_prices_valid_features_in_one_request_and_explains_a_bad_geometry(up42):
    layer = line_layer([("north", 20000.0), ("stub", 1000.0), ("east", 30000.0)])
    up42.reset()
    result = run("up42_estimate_orders", parameters(up42, layer))
    estimated = rows(result["OUTPUT"])
    assert estimated["north"]["credits"] > 0 and estimated["east"]["credits"] > estimated["north"]["credits"]
    assert estimated["north"]["size_unit"] == "SQ_KM" and estimated["north"]["aoi_kind"] == "strip"
    assert not estimated["north"]["error"] and not estimated["stub"]["credits"]
    assert "km" in estimated["stub"]["error"]
    assert result["TOTAL_CREDITS"] == estimated["north"]["credits"] + estimated["east"]["credits"]
    assert result["ESTIMATED"] == 2 and result["FAILED"] == 1 and result["REQUESTS"] == 1
    # One estimate with the two valid strips' squares; nothing for the stub, and no order.
    sent = estimates(up42)
    assert len(sent) == 1 and creates(up42) == []


def test_invalid_json_is_refused_before_anything_is_sent(up42):
    layer = point_layer(["a", "b"])
    up42.reset()
    error = run_failing("up42_estimate_orders", {**parameters(up42, layer), "PARAMS": '{"cloudCoverage": 10,'})
    assert "not valid JSON" in error and "line 1" in error
    error = run_failing("up42_place_orders", {**parameters(up42, layer), "PARAMS": "[1, 2]", "MAX_CREDITS": 1e9})
    assert "must be a JSON object" in error
    assert [r for r in up42.requests_seen() if r["method"] == "POST"] == []


def test_schema_errors_name_the_parameter_and_keep_the_feature_from_being_sent(up42):
    layer = point_layer(["a", "b", "c"])
    up42.reset()
    # Every feature with a cloud cover over the schema's maximum and no acquisition mode: nothing is estimated.
    params = pleiades_params(up42, cloudCoverage=150)
    del params["acquisitionMode"]
    result = run("up42_estimate_orders", parameters(up42, layer, params))
    for row in result["OUTPUT"].getFeatures():
        assert "cloudCoverage" in row["error"] and "acquisitionMode" in row["error"] and not row["credits"]
    assert result["ESTIMATED"] == 0 and estimates(up42) == []

    # Per-feature parameters: only feature b's own cloud cover is refused; a and c are estimated.
    result = run("up42_estimate_orders", parameters(
        up42, layer, FEATURE_PARAMS="if(\"site\" = 'b', '{\"cloudCoverage\": 150}', '')"))
    estimated = rows(result["OUTPUT"])
    assert "cloudCoverage" in estimated["b"]["error"] and "100" in estimated["b"]["error"]
    assert estimated["a"]["credits"] > 0 and estimated["c"]["credits"] > 0 and not estimated["a"]["error"]
    assert len(estimates(up42)) == 1 and result["ESTIMATED"] == 2 and result["FAILED"] == 1


def test_placing_is_bounded_by_maximum_credits_then_placed_once_and_a_rerun_orders_nothing_again(up42, make_up42_client):
    layer = line_layer([("north", 20000.0), ("stub", 1000.0), ("east", 30000.0)])
    up42.reset()
    error = run_failing("up42_place_orders", parameters(up42, layer, MAX_CREDITS=1000))
    assert "nothing was ordered" in error and "Maximum credits" in error
    estimate = run("up42_estimate_orders", parameters(up42, layer))["TOTAL_CREDITS"]
    assert f"{estimate:,.0f}" in error
    assert creates(up42) == [] and orders_named(make_up42_client, "up42 ") == []

    result = run("up42_place_orders", parameters(up42, layer, MAX_CREDITS=estimate))
    placed = rows(result["OUTPUT"])
    orders = orders_named(make_up42_client, "up42 ")
    assert sorted(o.name for o in orders) == ["up42 east", "up42 north"]
    assert {o.name: o.id for o in orders} == {"up42 north": placed["north"]["order_id"],
                                              "up42 east": placed["east"]["order_id"]}
    assert {o.data_product_id for o in orders} == {PLEIADES}
    assert not placed["stub"]["order_id"] and "km" in placed["stub"]["error"]
    assert placed["north"]["credits"] > 0 and result["CREDITS"] == estimate
    assert result["PLACED"] == 2 and result["FAILED"] == 1 and len(creates(up42)) == 2

    feedback = RecordingFeedback()
    again = run("up42_place_orders", parameters(up42, layer, MAX_CREDITS=estimate), feedback)
    assert len(creates(up42)) == 2 and len(orders_named(make_up42_client, "up42 ")) == 2
    assert set(again["ORDER_IDS"].split(",")) == {o.id for o in orders} and again["CREDITS"] == 0
    assert any("not sent again" in info for info in feedback.infos)


def test_a_run_cancelled_while_placing_is_resumed_by_the_next_run_without_doubling(up42, make_up42_client):
    layer = point_layer([f"site {n}" for n in range(4)])
    up42.reset()
    feedback = RecordingFeedback()
    # Cancelled once the first order is placed (progress passes 25 % when placing begins).
    feedback.progressChanged.connect(lambda value: feedback.cancel() if value > 30 else None)
    with pytest.raises(QgsProcessingException) as raised:
        run("up42_place_orders", parameters(up42, layer, MAX_CREDITS=1e9), feedback)
    assert "Cancelled" in str(raised.value) and "again" in str(raised.value)
    first = orders_named(make_up42_client, "up42 site")
    assert 1 <= len(first) < 4 and len(creates(up42)) == len(first)

    result = run("up42_place_orders", parameters(up42, layer, MAX_CREDITS=1e9))
    orders = orders_named(make_up42_client, "up42 site")
    assert sorted(o.name for o in orders) == [f"up42 site {n}" for n in range(4)]
    assert len(creates(up42)) == 4  # the cancelled run's orders were not sent again
    assert {o.id for o in first} <= set(result["ORDER_IDS"].split(",")) and result["PLACED"] == 4


def test_an_order_whose_create_a_killed_run_left_unanswered_is_found_not_sent_again(up42, make_up42_client):
    """The journal says an order was being sent (a run killed before the answer came back): the rerun looks for
    it as the UP42 client reconciles a lost create, finds it, and sends only the rest."""
    from core.app.headless import SENDING, SchemaOrderJournal, schema_journal_path

    layer = point_layer(["a", "b"])
    up42.reset()
    result = run("up42_place_orders", parameters(up42, layer, MAX_CREDITS=1e9))
    ids = result["ORDER_IDS"].split(",")
    journal = SchemaOrderJournal(schema_journal_path())
    # As a kill between sending b's create and writing its answer leaves it: sending, its order already made.
    key_b = next(key for (key,) in journal.db.execute("SELECT key FROM schema_orders WHERE order_id=?", (ids[1],)))
    known_before = [i for i in journal.known_ids(make_up42_client()) if i != ids[1]]
    journal.db.execute("UPDATE schema_orders SET state=?, order_id=NULL, known=? WHERE key=?",
                       (SENDING, json.dumps(known_before), key_b))
    journal.close()
    feedback = RecordingFeedback()
    again = run("up42_place_orders", parameters(up42, layer, MAX_CREDITS=1e9), feedback)
    assert again["ORDER_IDS"].split(",") == ids and len(creates(up42)) == 2
    assert any("found after it was interrupted" in info for info in feedback.infos)


def three_layers() -> list:
    layers = []
    for index, name in enumerate(("north", "centre", "south")):
        layer = point_layer([f"{name} a", f"{name} b"], name=name)
        layer.startEditing()
        for feature in layer.getFeatures():
            geometry = feature.geometry()
            geometry.translate(0, (index + 1) * 50000.0)
            layer.changeGeometry(feature.id(), geometry)
        layer.commitChanges()
        layers.append(layer)
    return layers


def run_batch(sandbox, layers) -> list:
    """Each row a fresh algorithm instance in the batch's one context, as QGIS's batch dialog runs them."""
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    feedback = QgsProcessingFeedback()
    outputs = []
    for layer in layers:
        algorithm = QgsApplication.processingRegistry().createAlgorithmById("satellite_tasking:up42_place_orders")
        results, ok = algorithm.run(parameters(sandbox, layer, MAX_CREDITS=1e9), context, feedback)
        assert ok, feedback.textLog()
        outputs.append(context.takeResultLayer(results["OUTPUT"]))
    return outputs


def test_batch_over_three_layers_places_each_layers_orders_once(up42, make_up42_client):
    layers = three_layers()
    up42.reset()
    outputs = run_batch(up42, layers)
    orders = {o.id: o.name for o in orders_named(make_up42_client, "up42 ")}
    assert sorted(orders.values()) == sorted(f"up42 {n} {x}" for n in ("north", "centre", "south") for x in "ab")
    for output in outputs:
        # Each row names the orders of its own features, never another layer's (the same feature ids).
        assert {orders[f["order_id"]] for f in output.getFeatures()} == {f"up42 {f['site']}" for f in output.getFeatures()}
    assert len(creates(up42)) == 6
    again = run_batch(up42, layers)
    assert len(creates(up42)) == 6 and len(orders_named(make_up42_client, "up42 ")) == 6
    assert [{f["site"]: f["order_id"] for f in o.getFeatures()} for o in again] == \
        [{f["site"]: f["order_id"] for f in o.getFeatures()} for o in outputs]


def test_an_unknown_product_lists_the_products_there_are(up42):
    error = run_failing("up42_estimate_orders", {**parameters(up42, point_layer(["a"])), "PRODUCT": "landsat-99"})
    assert "landsat-99" in error and "pleiades-analytic-tasking" in error and PLEIADES in error


def test_a_create_the_service_may_still_be_making_is_not_sent_again_until_its_patience_is_over(up42, make_up42_client):
    """A 504 to a create: the client cannot tell whether UP42 will still make it. The run stops naming the feature;
    a rerun soon after sends the other features but not that one; once the patience is over, it is sent."""
    from core.app.headless import SchemaOrderJournal, schema_journal_path

    layer = point_layer(["a", "b"])
    up42.reset()
    up42.fault(path="^/v2/orders$", method="POST", kind="status", status=504, count=1)
    error = run_failing("up42_place_orders", parameters(up42, layer, MAX_CREDITS=1e9))
    assert "Feature 1" in error and "up42 a" in error and "again" in error
    assert orders_named(make_up42_client, "up42 ") == [] and len(creates(up42)) == 1

    result = run("up42_place_orders", parameters(up42, layer, MAX_CREDITS=1e9))
    held = rows(result["OUTPUT"])
    assert not held["a"]["order_id"] and "may still be making" in held["a"]["error"] and held["b"]["order_id"]
    assert [o.name for o in orders_named(make_up42_client, "up42 ")] == ["up42 b"] and len(creates(up42)) == 2

    journal = SchemaOrderJournal(schema_journal_path())
    journal.db.execute("UPDATE schema_orders SET since=since-3600 WHERE state='uncertain'")
    journal.close()
    result = run("up42_place_orders", parameters(up42, layer, MAX_CREDITS=1e9))
    assert sorted(o.name for o in orders_named(make_up42_client, "up42 ")) == ["up42 a", "up42 b"]
    assert result["PLACED"] == 2 and len(creates(up42)) == 3


def test_a_model_estimates_then_places_within_the_estimate(up42, make_up42_client):
    """A model: the estimate's layer goes to the placing step and its total is the placing step's Maximum credits;
    the product and the params are the model's own text inputs."""
    import processing
    from qgis.core import QgsProcessingModelAlgorithm, QgsProcessingModelParameter, QgsProcessingParameterFeatureSource
    from qgis.core import QgsProcessingParameterString as Text

    from tests.processing.test_model import child, from_child, from_input, static

    model = QgsProcessingModelAlgorithm("Estimate and place on UP42", "Satellite Tasking tests")
    model.addModelParameter(QgsProcessingParameterFeatureSource("areas", "Areas"), QgsProcessingModelParameter("areas"))
    for name in ("product", "params", "url"):
        model.addModelParameter(Text(name, name), QgsProcessingModelParameter(name))
    shared = {"PRODUCT": from_input("product"), "PARAMS": from_input("params"), "SERVICE_URL": from_input("url"),
              "NAME": static("concat('modelled ', \"site\")")}
    model.addChildAlgorithm(child("up42_estimate_orders", "estimate", {"INPUT": from_input("areas"), **shared}))
    model.addChildAlgorithm(child("up42_place_orders", "place", {
        "INPUT": from_child("estimate", "OUTPUT"), "MAX_CREDITS": from_child("estimate", "TOTAL_CREDITS"), **shared},
        {"placed": "OUTPUT"}))
    valid, problems = model.validate()
    assert valid, problems
    up42.reset()
    result = processing.run(model, {"areas": point_layer(["a", "b"]), "product": PLEIADES,
                                    "params": json.dumps(pleiades_params(up42)), "url": up42.root + "/",
                                    "place:placed": "memory:"}, feedback=RecordingFeedback())
    placed = list(result["place:placed"].getFeatures())
    orders = {o.id: o.name for o in orders_named(make_up42_client, "modelled ")}
    assert sorted(orders.values()) == ["modelled a", "modelled b"]
    # The placing step read the estimate's layer (its credits field kept) and placed each feature once.
    assert {f["order_id"] for f in placed} == set(orders) and all(f["credits"] > 0 for f in placed)
    assert len(estimates(up42)) == 2 and len(creates(up42)) == 2


def test_credentials_come_only_from_the_authentication_database_and_never_reach_the_log(up42, clean_settings):
    account = next(a for a in up42.control("GET", "up42/accounts")["accounts"] if a["password"] == up42.api_key)
    layer = point_layer(["a"])
    up42.reset()
    feedback = RecordingFeedback()
    run("up42_estimate_orders", parameters(up42, layer), feedback)
    assert account["username"] not in " ".join(feedback.infos + feedback.warnings + feedback.errors)
    assert "PASSWORD" not in {p.name() for p in QgsApplication.processingRegistry().algorithmById(
        "satellite_tasking:up42_place_orders").parameterDefinitions()}

    clean_settings.clear_api_key(clean_settings.UP42)
    up42.reset()
    error = run_failing("up42_place_orders", parameters(up42, layer, MAX_CREDITS=1e9))
    assert "No UP42 user name and password" in error and "Settings" in error
    assert up42.requests_seen() == []


def test_what_the_service_refuses_in_the_estimate_names_the_parameter_and_is_never_placed(up42, make_up42_client):
    """A window already over passes the schema (a date-time is a date-time) but UP42's estimate refuses it: each
    feature says so by the parameter's path, and placing sends no create."""
    past = (up42.now() - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    params = pleiades_params(up42, acquisitionStart=(up42.now() - timedelta(days=5)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                             acquisitionEnd=past)
    layer = point_layer(["a", "b"])
    up42.reset()
    estimated = run("up42_estimate_orders", parameters(up42, layer, params))
    assert estimated["ESTIMATED"] == 0 and estimated["FAILED"] == 2
    assert all("params.acquisitionEnd" in f["error"] and "future" in f["error"] for f in estimated["OUTPUT"].getFeatures())
    placed = run("up42_place_orders", parameters(up42, layer, params, MAX_CREDITS=1e9))
    assert placed["PLACED"] == 0 and all("params.acquisitionEnd" in f["error"] for f in placed["OUTPUT"].getFeatures())
    assert creates(up42) == [] and orders_named(make_up42_client, "up42 ") == []
