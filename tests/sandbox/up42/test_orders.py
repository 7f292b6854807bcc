"""Orders: estimate in credits, place (results and errors by index), read, list with pages and filters, isolation."""

from __future__ import annotations

from datetime import timedelta

import requests

from sandbox.up42 import catalog
from tests.sandbox.up42.helpers import PLEIADES, doc_example, iso, square, v2_body


def test_the_documents_example_estimates_and_places_once_its_window_is_ahead(sandbox, up42):
    body = doc_example(sandbox.now())
    estimate = up42.post("/v2/orders/estimate", body)
    assert estimate.status_code == 200, estimate.text
    answer = estimate.json()
    assert answer["errors"] == []
    (cost,) = answer["results"]
    # The document's AOI is about 490 km²; Pléiades costs 1,000 credits per km².
    assert 480 < cost["size"] < 500 and cost["unit"] == "SQ_KM"
    assert cost["credits"] == round(cost["size"] * 1000)
    assert answer["summary"] == {"totalCredits": cost["credits"], "totalSize": cost["size"], "unit": "SQ_KM"}
    (order_id,) = up42.place(body)
    order = up42.order(order_id)
    assert order["displayName"] == "My satellite tasking order"  # from params, as the document sends it
    assert order["status"] == "CREATED" and order["type"] == "TASKING"
    assert order["dataProductId"] == PLEIADES and order["workspaceId"] == up42.workspace
    details = order["orderDetails"]
    assert details["geometry"] == body["params"]["geometry"]
    assert details["acquisitionStart"] == body["params"]["acquisitionStart"]
    assert details["maxCloudCover"] == 10 and details["subStatus"] is None


def test_estimate_multipliers_minimum_area_and_per_scene_prices(sandbox, up42):
    now = sandbox.now()
    mono = up42.post("/v2/orders/estimate", v2_body(now)).json()["results"][0]
    stereo = up42.post("/v2/orders/estimate", v2_body(now, acquisitionMode="stereo")).json()["results"][0]
    assert stereo["credits"] == 2 * mono["credits"]
    tiny = up42.post("/v2/orders/estimate", v2_body(now, geometries=[square(size=0.01)])).json()["results"][0]
    assert tiny["size"] == 25  # Pléiades' minimum order area
    sar = {"acquisitionStart": iso(now + timedelta(days=1)), "acquisitionEnd": iso(now + timedelta(days=9)),
           "polarization": "VV", "resolution": "1m", "sceneSize": {"lengthKm": 40}, "revisits": 3}
    body = {"dataProduct": catalog.CAPELLA_SAR, "displayName": "sar", "params": sar,
            "featureCollection": v2_body(now)["featureCollection"]}
    scenes = up42.post("/v2/orders/estimate", body).json()
    assert scenes["summary"] == {"totalCredits": 750000, "totalSize": 3.0, "unit": "SCENE"}


def test_every_feature_is_an_order_and_a_bad_one_is_an_error_at_its_index(sandbox, up42):
    bow_tie = {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]}
    body = v2_body(sandbox.now(), geometries=[square(), bow_tie, square(lon=10)])
    answer = up42.post("/v2/orders", body, params={"workspaceId": up42.workspace})
    assert answer.status_code == 200, answer.text
    placed = answer.json()
    assert [r["index"] for r in placed["results"]] == [0, 2]
    (error,) = placed["errors"]
    assert set(error) == {"index", "message", "details"} and error["index"] == 1
    assert error["details"].startswith("featureCollection.features[1].geometry: is not a valid polygon")
    assert "featureCollection.features[1].geometry" in error["message"]
    assert {o["id"] for o in up42.get("/v2/orders").json()["content"]} == {r["id"] for r in placed["results"]}


def test_invalid_parameters_name_the_parameter_and_nothing_is_placed(sandbox, up42):
    body = v2_body(sandbox.now(), cloudCoverage=150, acquisitionMode="quad", colour="red")
    body["params"].pop("deliveredAs")
    answer = up42.post("/v2/orders", body, params={"workspaceId": up42.workspace}).json()
    assert answer["results"] == []
    lines = answer["errors"][0]["details"].split("\n")
    assert "params.deliveredAs: is required" in lines
    assert "params.cloudCoverage: 150 is greater than the maximum of 100" in lines
    assert "params.acquisitionMode: 'quad' is not one of 'mono', 'stereo', 'tristereo'" in lines
    assert "params.colour: is not a parameter of this product" in lines
    estimate = up42.post("/v2/orders/estimate", body).json()
    assert estimate["errors"] == answer["errors"] and estimate["summary"]["totalCredits"] == 0
    assert up42.get("/v2/orders").json()["content"] == []


def test_the_window_must_be_ahead_and_in_order(sandbox, up42):
    now = sandbox.now()
    past = v2_body(now, acquisitionStart=iso(now - timedelta(days=30)), acquisitionEnd=iso(now - timedelta(days=1)))
    details = up42.post("/v2/orders/estimate", past).json()["errors"][0]["details"]
    assert details.startswith("params.acquisitionEnd: must be in the future")
    backwards = v2_body(now, acquisitionStart=iso(now + timedelta(days=9)), acquisitionEnd=iso(now + timedelta(days=3)))
    assert up42.post("/v2/orders/estimate", backwards).json()["errors"][0]["details"] == (
        "params.acquisitionEnd: must be after params.acquisitionStart")
    huge = v2_body(now, geometries=[square(size=1.0)])  # about 7,600 km²
    assert "more than the 3000 km²" in up42.post("/v2/orders/estimate", huge).json()["errors"][0]["details"]


def test_malformed_requests_are_400s_naming_the_parameter(sandbox, up42):
    now = sandbox.now()
    cases = [
        ({**v2_body(now), "dataProduct": None}, "dataProduct: is required"),
        ({**v2_body(now), "dataProduct": "nope"}, "dataProduct: no data product with id nope"),
        ({**v2_body(now), "displayName": ""}, "displayName: is required"),
        ({**v2_body(now), "params": []}, "params: must be an object"),
        ({**v2_body(now), "featureCollection": None}, "featureCollection: is required (or params.geometry)"),
        ({**v2_body(now), "featureCollection": {"type": "FeatureCollection", "features": []}},
         "featureCollection.features: must hold at least one feature"),
        ({**v2_body(now), "tags": "a"}, "tags: must be a list of strings"),
        ({**v2_body(now), "dataProduct": catalog.PLEIADES_ARCHIVE},
         f"dataProduct: {catalog.PLEIADES_ARCHIVE} is an archive product; the sandbox emulates tasking orders only"),
    ]
    for body, detail in cases:
        for path, params in (("/v2/orders/estimate", None), ("/v2/orders", {"workspaceId": up42.workspace})):
            answer = up42.post(path, body, params=params)
            assert answer.status_code == 400, (body, answer.text)
            assert answer.json()["detail"] == detail
    garbage = up42.session.post(up42.root + "/v2/orders/estimate", data=b"{not json",
                                headers={"Content-Type": "application/json"}, timeout=30)
    assert garbage.status_code == 400


def test_placing_needs_ones_own_workspace(sandbox, up42, other_up42):
    body = v2_body(sandbox.now())
    missing = up42.post("/v2/orders", body)
    assert missing.status_code == 400 and missing.json()["detail"] == "workspaceId: is required"
    foreign = up42.post("/v2/orders", body, params={"workspaceId": other_up42.workspace})
    assert foreign.status_code == 403
    assert other_up42.get("/v2/orders").json()["content"] == []


def test_another_workspaces_orders_are_absent(sandbox, up42, other_up42):
    (order_id,) = up42.place(v2_body(sandbox.now()))
    assert other_up42.get(f"/v2/orders/{order_id}").status_code == 404
    assert other_up42.get("/v2/orders").json()["totalElements"] == 0
    assert other_up42.get("/v2/orders", params={"workspaceId": up42.workspace}).json()["content"] == []
    assert other_up42.post(f"/v2/orders/{order_id}/cancellation").status_code == 404
    assert up42.get(f"/v2/orders/{order_id}").status_code == 200
    assert up42.get("/v2/orders/not-an-id").status_code == 404


def test_the_list_pages_from_zero_newest_first(sandbox, up42):
    ids = []
    for index in range(5):
        ids += up42.place(v2_body(sandbox.now(), name=f"order {index}"))
        sandbox.advance(60)
    first = up42.get("/v2/orders", params={"sort": "createdAt,desc", "size": 2, "page": 0}).json()
    assert first["totalPages"] == 3 and first["totalElements"] == 5
    seen = []
    for page in range(3):
        seen += [o["id"] for o in up42.get("/v2/orders", params={"size": 2, "page": page}).json()["content"]]
    assert seen == ids[::-1]
    oldest = up42.get("/v2/orders", params={"sort": "createdAt,asc"}).json()["content"]
    assert [o["id"] for o in oldest] == ids
    names = [o["displayName"] for o in up42.get("/v2/orders", params={"sort": "displayName,desc"}).json()["content"]]
    assert names == sorted(names, reverse=True)
    assert up42.get("/v2/orders", params={"page": 7}).json()["content"] == []
    assert up42.get("/v2/orders").json()["totalPages"] == 1
    empty = up42.get("/v2/orders", params={"status": "FULFILLED"}).json()
    assert empty["content"] == [] and empty["totalPages"] == 1  # never 0: a client reads on while page < totalPages


def test_filters_status_repeatable_type_workspace_and_order_ids(sandbox, up42):
    (early,) = up42.place(v2_body(sandbox.now(), name="early"))
    sandbox.advance(45)  # BEING_PLACED
    (late,) = up42.place(v2_body(sandbox.now(), name="late"))

    def listed(**params):
        answer = up42.get("/v2/orders", params=params)
        assert answer.status_code == 200, answer.text
        return [o["id"] for o in answer.json()["content"]]
    assert listed(status="CREATED") == [late]
    assert listed(status=["CREATED", "BEING_PLACED"]) == [late, early]
    assert listed(status="CREATED,BEING_PLACED") == [late, early]
    assert listed(type="TASKING") == [late, early] and listed(type="ARCHIVE") == []
    assert listed(workspaceId=up42.workspace) == [late, early]
    assert listed(orderId=early) == [early] and listed(orderId=[early, late]) == [late, early]
    assert listed(orderIds=f"{early},{late}") == [late, early]
    assert listed(displayName="EAR") == [early]
    for params, name in (({"status": "DONE"}, "status"), ({"type": "X"}, "type"), ({"orderId": "x"}, "orderId"),
                         ({"sort": "colour,desc"}, "sort"), ({"size": "0"}, "size")):
        answer = up42.get("/v2/orders", params=params)
        assert answer.status_code == 400 and answer.json()["detail"].startswith(name + ":"), answer.text


def test_cancel_before_placement_and_edit_tags(sandbox, up42):
    first, second = (up42.place(v2_body(sandbox.now()))[0] for _ in range(2))
    cancelled = up42.post(f"/v2/orders/{first}/cancellation")
    assert cancelled.status_code == 200 and cancelled.json() == {"orderId": first, "status": "CANCELED"}
    sandbox.advance(3600)
    assert up42.order(first)["status"] == "CANCELED"  # and it stays so
    refused = up42.post(f"/v2/orders/{second}/cancellation")
    assert refused.status_code == 409 and "PLACED" in refused.json()["detail"]
    patched = up42.patch(f"/v2/orders/{second}", {"tags": ["a", "b"]},
                         headers={"Content-Type": "application/merge-patch+json"})
    assert patched.status_code == 200 and patched.json()["tags"] == ["a", "b"]
    assert up42.patch(f"/v2/orders/{second}", {"displayName": "x"}).status_code == 400
    assert up42.get("/v2/orders", params={"tags": "b"}).json()["content"][0]["id"] == second


def test_wrong_methods_and_paths(sandbox, up42):
    assert up42.session.delete(up42.root + "/v2/orders", timeout=30).status_code == 405
    assert up42.get("/v2/orders/estimate").status_code == 405
    assert up42.get("/v2/nothing").status_code == 404
    assert requests.get(sandbox.root + "/v2/nothing", timeout=30).status_code == 401


def product_params(now):
    """Valid parameters of every tasking product, each from its own schema."""
    window = {"acquisitionStart": iso(now + timedelta(days=1)), "acquisitionEnd": iso(now + timedelta(days=20))}
    pleiades = v2_body(now)["params"]
    return {
        catalog.PLEIADES_ANALYTIC: pleiades,
        catalog.PLEIADES_DISPLAY: dict(pleiades, radiometricProcessing="display", spectralProcessing="pansharpened",
                                       pixelCoding="8bits"),
        catalog.PNEO_ANALYTIC: dict(pleiades, priority="PRIORITY"),
        catalog.SPOT_ANALYTIC: dict(window, spectralProcessing="bundle", maxCloudCover=15, orthorectified=False),
        catalog.WORLDVIEW_TASKING: dict(window, acquisitionMode="stereo", maxCloudCover=20, priority="SELECT",
                                        minBH=0.4, maxBH=0.7),
        catalog.CAPELLA_SAR: dict(window, polarization="HH", resolution="0.5m", sceneSize="SPOT_5X5",
                                  incidenceAngle={"minimum": 20, "maximum": 40}),
    }


def test_every_tasking_product_estimates_and_places_with_parameters_from_its_schema(sandbox, up42):
    now = sandbox.now()
    for product_id, params in product_params(now).items():
        body = {"dataProduct": product_id, "displayName": product_id, "params": params,
                "featureCollection": v2_body(now)["featureCollection"]}
        estimate = up42.post("/v2/orders/estimate", body).json()
        assert estimate["errors"] == [] and estimate["summary"]["totalCredits"] > 0, (product_id, estimate)
        (order_id,) = up42.place(body)
        assert up42.order(order_id)["dataProductId"] == product_id


def test_each_products_own_rules_are_enforced_by_name(sandbox, up42):
    now = sandbox.now()
    valid = product_params(now)
    cases = [
        (catalog.PLEIADES_DISPLAY, dict(valid[catalog.PLEIADES_DISPLAY], pixelCoding="12bits"),
         "params.pixelCoding: '12bits' is not one of '8bits'"),
        (catalog.SPOT_ANALYTIC, dict(valid[catalog.SPOT_ANALYTIC], maxCloudCover=12),
         "params.maxCloudCover: 12 is not a multiple of 5"),
        (catalog.WORLDVIEW_TASKING, {k: v for k, v in valid[catalog.WORLDVIEW_TASKING].items() if k != "maxBH"},
         "params.maxBH: is required"),
        (catalog.CAPELLA_SAR, dict(valid[catalog.CAPELLA_SAR], incidenceAngle={"minimum": 2, "maximum": 40}),
         "params.incidenceAngle.minimum: 2 is less than the minimum of 5"),
        (catalog.CAPELLA_SAR, dict(valid[catalog.CAPELLA_SAR], sceneSize={"lengthKm": 400}),
         "params.sceneSize: does not match any of the allowed forms"),
    ]
    for product_id, params, line in cases:
        body = {"dataProduct": product_id, "displayName": "x", "params": params,
                "featureCollection": v2_body(now)["featureCollection"]}
        details = up42.post("/v2/orders/estimate", body).json()["errors"][0]["details"]
        assert line in details.split("\n"), (product_id, details)
