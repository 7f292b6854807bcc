"""Every request example of the three Planet documents, sent as written, gets the documented answer."""

from __future__ import annotations

import uuid

import requests
from requests.auth import HTTPBasicAuth

from tests.sandbox.helpers import advance_until

ORDER_FIELDS = {
    "id": str, "geometry": dict, "original_geometry": dict, "order_type": str, "sat_elevation_angle_min": float,
    "sat_elevation_angle_max": float, "start_time": str, "end_time": str, "n_stereo_pov": type(None),
    "is_cancellable": bool, "cancellable_until": str, "requested_sqkm": float, "created_time": str,
    "updated_time": str, "name": str, "created_by": str, "status": str, "fulfilled_sqkm": float,
    "capture_status_published_count": int, "capture_assessment_success_count": int,
    "capture_assessment_invalid_count": int, "scheduling_type": str, "rrule": type(None), "exclusivity_days": int,
    "next_planned_acquisition_time": type(None), "last_acquired_time": type(None), "imaging_window": type(None),
}
WINDOW_FIELDS = {
    "id": str, "start_time": str, "end_time": str, "off_nadir_angle_start": float, "off_nadir_angle_end": float,
    "off_nadir_angle_min": float, "off_nadir_angle_max": float, "sat_elevation_angle_min": (int, float),
    "sat_elevation_angle_max": float, "sat_azimuth_angle_start": float, "sat_azimuth_angle_end": float,
    "sun_elevation_angle_min": float, "sun_elevation_angle_max": float, "solar_zenith_angle_min": float,
    "solar_zenith_angle_max": float, "low_light": bool, "ground_sample_distance": float,
    "assured_tasking_tier": str, "cloud_forecast": list, "conflicting_orders": list,
    "quota_priority_multiplier": (int, float),
}
SEARCH_FIELDS = ("id", "imaging_windows", "status", "pl_number", "product", "geometry", "start_time", "end_time",
                 "created_time", "sat_elevation_angle_min", "sat_elevation_angle_max", "off_nadir_angle_min",
                 "off_nadir_angle_max", "error_code", "error_message")
BULK_FIELDS = ("id", "start_time", "end_time", "operation_type", "payload_count", "status",
               "processing_payload_count", "failed_payload_count", "successful_payload_count")


def assert_fields(document: dict, fields: dict) -> None:
    for name, kind in fields.items():
        assert name in document, name
        assert isinstance(document[name], kind), (name, document[name])


# ---- planet-tasking-api.txt ---------------------------------------------------------------------------


def test_basic_auth_python_example(sandbox):
    res = requests.get(url=sandbox.tasking_url + "orders/", auth=HTTPBasicAuth(sandbox.api_key, ""))
    assert res.status_code == 200


def test_create_point_order(api):
    response = api.post("orders/", {"name": "Order 01", "geometry": {"type": "Point",
                                                                      "coordinates": [149.44135, 28.49240]}})
    assert response.status_code == 201
    order = response.json()
    assert_fields(order, ORDER_FIELDS)
    assert order["status"] == "RECEIVED"
    assert order["order_type"] == "IMAGE"
    assert order["scheduling_type"] == "FLEXIBLE"
    assert order["requested_sqkm"] == 25.0
    assert order["original_geometry"] == {"type": "Point", "coordinates": [149.44135, 28.4924]}
    ring = order["geometry"]["coordinates"][0]
    assert order["geometry"]["type"] == "Polygon" and len(ring) == 5 and ring[0] == ring[-1]
    # The documented square: 149.4158..149.4669 x 28.4698..28.5150
    assert abs(min(p[0] for p in ring) - 149.4158) < 0.001 and abs(max(p[1] for p in ring) - 28.51496) < 0.001
    assert order["sat_elevation_angle_min"] == 60.0 and order["sat_elevation_angle_max"] == 90.0
    assert order["exclusivity_days"] == 0 and order["fulfilled_sqkm"] == 0.0


def test_create_with_pl_number_and_product(api, account):
    response = api.post("orders/", {"name": "Order 01", "geometry": {"type": "Point", "coordinates": [149.44135, 28.4924]},
                                    "pl_number": account["default_pl_number"], "product": "one_time_tasking"})
    assert response.status_code == 201
    assert response.json()["pl_number"] == account["default_pl_number"]
    assert response.json()["product"] == "one_time_tasking"


def test_create_strip_order(api):
    response = api.post("orders/", {"name": "Order 01", "geometry": {"type": "LineString", "coordinates": [
        [10.92041015625, 48.91527985344383], [10.78857421875, 49.0738659012854]]}})
    assert response.status_code == 201
    order = response.json()
    assert order["geometry"]["type"] == "Polygon"
    assert order["original_geometry"]["type"] == "LineString"


def test_create_area_order(api):
    response = api.post("orders/", {"name": "Area Order 01", "geometry": {"type": "Polygon", "coordinates": [[
        [-111.02062225341797, 39.58637603706183], [-110.9095573425293, 39.58637603706183],
        [-110.9095573425293, 39.670992062375056], [-111.02062225341797, 39.670992062375056],
        [-111.02062225341797, 39.58637603706183]]]}})
    assert response.status_code == 201
    order = response.json()
    assert 85 < order["requested_sqkm"] < 90  # ~9.5 km x 9.4 km
    assert_fields(order, {k: v for k, v in ORDER_FIELDS.items()})


def test_retrieve_orders_list_and_one(api):
    created = api.create(name="Order 01")
    listing = api.get("orders/")
    assert listing.status_code == 200
    body = listing.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 1 and body["results"][0]["id"] == created["id"]
    # "/orders/some_UUID_number": without the trailing slash too.
    assert api.get(f"orders/{created['id']}").json()["id"] == created["id"]
    assert api.get(f"orders/{created['id']}/").json()["id"] == created["id"]


def test_filter_example(api):
    api.create(name="a test order")
    api.create(name="another one")
    body = api.get("orders/?name__icontains=test&created_time__gt=2021-01-01T23:59:59Z").json()
    assert [o["name"] for o in body["results"]] == ["a test order"]


def test_filter_pagination_ordering_example(api, sandbox):
    body = api.get("orders/?status=FULFILLED&name__icontains=Order&limit=50&offset=0"
                   "&ordering=-updated_time,-created_time")
    assert body.status_code == 200 and body.json()["count"] == 0


def test_pagination_example(api):
    for index in range(45):
        api.create(name=f"order {index}")
    body = api.get("orders/?limit=30&offset=10").json()
    assert body["count"] == 45 and len(body["results"]) == 30
    assert body["next"].endswith("/tasking/v2/orders/?limit=30&offset=40")
    assert len(api.get(body["next"]).json()["results"]) == 5
    assert "limit=30" in body["previous"] and "offset" not in body["previous"]
    previous = api.get(body["previous"]).json()
    assert len(previous["results"]) == 30


def test_edit_example(api):
    order = api.create(name="Order 01")
    response = api.put(f"orders/{order['id']}", {"start_time": "2020-04-23T12:26:35Z"})
    assert response.status_code == 200
    body = response.json()
    assert body["start_time"] == "2020-04-23T12:26:35.000000Z"
    assert "end_time" in body


def test_cancel_example(api):
    order = api.create(name="Order 01")
    response = api.delete(f"orders/{order['id']}")
    assert response.status_code == 204 and response.content == b""
    cancelled = api.order(order["id"])
    assert cancelled["status"] == "CANCELLED" and cancelled["cancelled_time"]


def test_charged_cancellation_example(api):
    order = api.create(name="Order 01")
    assert api.delete(f"orders/{order['id']}?accept_cancellation_charge=true").status_code == 204


def test_cancellation_count_example(api, account):
    response = api.get(
        f"orders/?updated_time__gt=2021-01-01&pl_number={account['default_pl_number']}"
        "&status__in=CANCELLED,PENDING_CANCELLATION&scheduling_type=ASSURED&quota_units=CREDITS"
        "&fields=name,cancelled_time,id,listing&limit=50&offset=0")
    assert response.status_code == 200
    assert response.json()["count"] == 0


def test_order_pricing_example(api):
    order = api.create(name="Order 01")
    response = api.get(f"orders/{order['id']}/pricing")
    assert response.status_code == 200
    body = response.json()
    assert body == {"order_id": order["id"], "units": "SQKM", "estimated_quota_cost": 25.0,
                    "determined_by": "pricing_model",
                    "pricing_model": {"base_price": 25.0, "multipliers": [
                        {"name": "imaging_mode", "value": 1.0, "description": "single-image"}]}}


def test_pricing_preview_single_example(api, account):
    response = api.post("pricing/", {"pl_number": account["default_pl_number"], "product": "Assured Tasking",
                                     "geometry": {"type": "Point", "coordinates": [40.716725, 64.598217]}})
    assert response.status_code == 200
    body = response.json()
    assert "order_id" not in body
    assert body["units"] == "SQKM" and body["determined_by"] == "pricing_model"
    assert isinstance(body["estimated_quota_cost"], float)
    assert body["pricing_model"]["multipliers"][0]["name"] == "imaging_mode"


def test_pricing_preview_bulk_example(api):
    response = api.post("pricing/", [{"geometry": {"type": "Point", "coordinates": [40.716725, 64.598217]}},
                                     {"geometry": {"type": "Point", "coordinates": [40.716725, 64.598217]}}])
    assert response.status_code == 200
    assert response.json() == {"total_estimated_quota_cost": 50.0, "pricing_details": [
        {"units": "SQKM", "estimated_quota_cost": 25.0, "determined_by": "pricing_model",
         "pricing_model": {"base_price": 25.0, "multipliers": [
             {"name": "imaging_mode", "value": 1.0, "description": "single-image"}]}}] * 2}


def test_pricing_preview_partial_failure(api):
    response = api.post("pricing/", [{"geometry": {"type": "Point", "coordinates": [181, 64.598217]}},
                                     {"geometry": {"type": "Point", "coordinates": [40.716725, 64.598217]}}])
    assert response.status_code == 200
    body = response.json()
    assert body["pricing_details"][0] == {"message": {"error": "Failed to calculate order pricing."}}
    assert body["total_estimated_quota_cost"] == 25.0


def test_bulk_create_example_with_documented_id_is_rejected(api):
    # The document's "example_uuid_string" is not a UUID; the text says such an id is rejected.
    response = api.post("bulk/", {"id": "example_uuid_string", "order_payloads": [
        {"name": "Bulk order 1", "geometry": {"type": "Point", "coordinates": [32.142035, -0.487188]}}]})
    assert response.status_code == 400
    assert response.json() == {"id": ["Must be a valid UUID."]}


def test_bulk_create_example(api, sandbox):
    bulk_id = str(uuid.uuid4())
    response = api.post("bulk/", {"id": bulk_id, "order_payloads": [
        {"name": "Bulk order 1", "geometry": {"type": "Point", "coordinates": [32.142035, -0.487188]}},
        {"name": "Bulk order 2", "geometry": {"type": "Point", "coordinates": [52.142035, 13.487188]}},
        {"name": "Bulk order 3", "geometry": {"type": "Point", "coordinates": [181, 40]}}]})
    assert response.status_code == 202
    assert response.content == b""
    assert response.headers["Location"].endswith(f"/tasking/v2/bulk/{bulk_id}/")
    sandbox.advance(10)
    status = api.get(f"bulk/{bulk_id}").json()
    assert tuple(status) == BULK_FIELDS
    assert status["operation_type"] == "CREATE" and status["status"] == "COMPLETE"
    assert (status["payload_count"], status["processing_payload_count"], status["failed_payload_count"],
            status["successful_payload_count"]) == (3, 0, 1, 2)
    payloads = api.get(f"bulk/{bulk_id}/payloads").json()
    assert payloads["count"] == 3 and payloads["next"] is None and payloads["previous"] is None
    first, _, third = payloads["results"]
    assert first["bulk_process"] == f"BulkProcess object ({bulk_id})"
    assert api.order(first["order_id"])["name"] == "Bulk order 1"
    assert first["payload"]["altitude"] == 0 and "start_time" in first["payload"] and "end_time" in first["payload"]
    assert "order_id" not in third
    assert third["error"] == '{"geometry":["Geometry longitude coordinate needs to be within -180.0 and 180.0"]}'


def _two_orders(api):
    return api.create(name="one"), api.create(name="two")


def test_bulk_edit_example(api, sandbox):
    first, second = _two_orders(api)
    response = api.post("bulk/", {"order_payloads": [{"id": first["id"], "start_time": "2021-04-29T00:00:00Z"},
                                                     {"id": second["id"], "end_time": "2040-05-29T00:00:00Z"}],
                                  "operation_type": "EDIT"})
    assert response.status_code == 202
    location = response.headers["Location"]
    running = api.get(location).json()
    assert running["operation_type"] == "EDIT" and running["status"] == "PENDING"
    assert running["processing_payload_count"] == 2
    sandbox.advance(5)
    done = api.get(location).json()
    assert done["status"] == "COMPLETE" and done["successful_payload_count"] == 2
    assert api.order(first["id"])["start_time"] == "2021-04-29T00:00:00.000000Z"
    assert api.order(second["id"])["end_time"] == "2040-05-29T00:00:00.000000Z"


def test_bulk_cancel_example(api, sandbox):
    first, second = _two_orders(api)
    sandbox.advance(120)  # bulk cancellation takes PENDING and IN_PROGRESS orders
    response = api.post("bulk/", {"order_payloads": [{"id": first["id"]}, {"id": second["id"]}],
                                  "operation_type": "CANCEL"})
    assert response.status_code == 202
    sandbox.advance(5)
    done = api.get(response.headers["Location"]).json()
    assert done["operation_type"] == "CANCEL" and done["status"] == "COMPLETE"
    assert done["successful_payload_count"] == 2 and done["failed_payload_count"] == 0
    assert api.order(first["id"])["status"] == "CANCELLED"


def test_bulk_charged_cancel_example(api, sandbox):
    first, second = _two_orders(api)
    sandbox.advance(120)
    response = api.post("bulk/", {"order_payloads": [{"id": first["id"], "accept_cancellation_charge": True},
                                                     {"id": second["id"], "accept_cancellation_charge": True}],
                                  "operation_type": "CANCEL"})
    assert response.status_code == 202
    sandbox.advance(5)
    assert api.get(response.headers["Location"]).json()["successful_payload_count"] == 2


def test_capture_status_example(api, sandbox):
    order = api.create(name="Order 01")
    assert advance_until(sandbox, lambda: api.order(order["id"])["capture_status_published_count"] > 0)
    body = api.get(f"captures/?order_id={order['id']}").json()
    assert body["count"] >= 1
    capture = next(c for c in body["results"] if c["status"] == "PUBLISHED")
    for field, kind in {"id": str, "assessment": str, "updated_time": str, "acquired_time": str,
                        "published_time": str, "status": str, "strip_id": str, "cloud_cover": float,
                        "item_types": list}.items():
        assert isinstance(capture[field], kind), field
    assert "status_description" in capture
    assert capture["item_types"] == ["SkySatScene", "SkySatCollect"]
    assert capture["geometry"]["type"] == "Polygon"


def test_stereo_example(api):
    response = api.post("orders/", {"name": "Stereo Order 01", "geometry": {"type": "Point", "coordinates": [
        -110.974052, 39.634139]}, "order_type": "STEREO", "n_stereo_pov": "2"})
    assert response.status_code == 201
    assert response.json()["order_type"] == "STEREO" and response.json()["n_stereo_pov"] == 2


def test_exclusivity_recipe(api, sandbox):
    order = api.create(name="Order 01", exclusivity_days=30)
    assert advance_until(sandbox, lambda: api.order(order["id"])["capture_status_published_count"] > 0)
    assert api.get(f"orders/{order['id']}/").json()["exclusivity_days"] == 30
    published = api.get(f"captures/?order_id={order['id']}&status=PUBLISHED").json()["results"]
    assert published and all(c["status"] == "PUBLISHED" and c["acquired_time"] for c in published)


def test_version_txt(sandbox):
    response = requests.get(sandbox.tasking_url + "version.txt")
    assert response.status_code == 200 and response.text.strip()


# ---- planet-assured-tasking.txt ---------------------------------------------------------------------------


def _search(api, account, sandbox):
    response = api.post("imaging-windows/search/", {
        "geometry": {"coordinates": [13.350097, 52.514511], "type": "Point"},
        "pl_number": account["default_pl_number"], "product": "Assured Tasking"})
    assert response.status_code == 201, response.text
    return response


def test_search_example(api, account, sandbox):
    response = _search(api, account, sandbox)
    search = response.json()
    assert tuple(search) == SEARCH_FIELDS
    assert search["status"] == "CREATED" and search["imaging_windows"] == []
    assert (search["sat_elevation_angle_min"], search["sat_elevation_angle_max"]) == (58, 90)
    assert (search["off_nadir_angle_min"], search["off_nadir_angle_max"]) == (0, 30)
    assert search["error_code"] is None and search["error_message"] is None
    assert response.headers["Location"].endswith(f"/imaging-windows/search/{search['id']}/")
    sandbox.advance(300)  # "results will become available gradually up to 5 minutes"
    done = api.get(f"imaging-windows/search/{search['id']}/").json()
    assert done["status"] == "DONE" and done["imaging_windows"]
    for window in done["imaging_windows"]:
        assert_fields(window, WINDOW_FIELDS)
        assert window["assured_tasking_tier"] in ("STANDARD", "EXPRESS")
        assert set(window["cloud_forecast"][0]) == {"prediction", "updated_time"}
        assert window["conflicting_orders"] == []
        assert "pass_key" not in window and "tier_multiplier" not in window


def test_assured_order_and_replacing_windows_example(api, account, sandbox):
    search_id = _search(api, account, sandbox).json()["id"]
    sandbox.advance(300)
    window = api.get(f"imaging-windows/search/{search_id}/").json()["imaging_windows"][-1]
    response = api.post("orders/", {"name": "Assured Tasking order 01", "imaging_window": window["id"],
                                    "pl_number": account["default_pl_number"], "product": "Assured Tasking"})
    assert response.status_code == 201, response.text
    order = response.json()
    assert order["scheduling_type"] == "ASSURED" and order["imaging_window"] == window["id"]
    assert order["start_time"] == window["start_time"] and order["end_time"] == window["end_time"]
    hidden = api.get(f"imaging-windows/search/{search_id}/").json()["imaging_windows"]
    assert window["id"] not in [w["id"] for w in hidden]
    shown = api.get(f"imaging-windows/search/{search_id}/?show_replacing_imaging_windows=true").json()
    replacing = next(w for w in shown["imaging_windows"] if w["id"] == window["id"])
    assert [c["id"] for c in replacing["conflicting_orders"]] == [order["id"]]
    conflict = replacing["conflicting_orders"][0]
    assert set(conflict) == {"id", "name", "off_nadir_angle_min", "off_nadir_angle_max", "sat_elevation_angle_min",
                             "sat_elevation_angle_max", "assured_tasking_tier", "cloud_forecast"}
    assert conflict["name"] == "Assured Tasking order 01"


def test_search_pricing_details_example(api, account, sandbox):
    search_id = _search(api, account, sandbox).json()["id"]
    sandbox.advance(300)
    for days in (0, 7, 30):
        windows = api.get(f"imaging-windows/search/{search_id}/?order_template__exclusivity_days={days}").json()
        details = windows["imaging_windows"][0]["pricing_details"]
        assert details["units"] == "SQKM" and details["determined_by"] == "pricing_model"
        assert details["estimated_quota_cost"] >= 25.0
