"""Imaging-window searches: gradual results, failure, validation, conflicts, replacement and quota multipliers."""

from __future__ import annotations

from datetime import timedelta

import pytest
import requests

from tests.sandbox.helpers import (
    ASSURED_PRODUCT,
    Client,
    assured_order,
    assured_window,
    iso,
    parse,
    point,
    sim_now,
    start_server,
    stop_server,
)


def _post_search(api, **payload):
    return api.search(payload.pop("geometry", point(13.350097, 52.514511)), **payload)


def test_results_fill_in_gradually(api, sandbox):
    search = _post_search(api).json()
    url = f"imaging-windows/search/{search['id']}/"
    assert api.get(url).json()["status"] == "CREATED"
    sandbox.advance(10)
    early = api.get(url).json()
    assert early["status"] == "IN_PROGRESS"
    sandbox.advance(110)
    middle = api.get(url).json()
    sandbox.advance(180)
    done = api.get(url).json()
    assert done["status"] == "DONE"
    assert len(early["imaging_windows"]) <= len(middle["imaging_windows"]) < len(done["imaging_windows"])
    assert [w["id"] for w in middle["imaging_windows"]] == [w["id"] for w in done["imaging_windows"]][
        :len(middle["imaging_windows"])]
    assert [w["id"] for w in api.get(url).json()["imaging_windows"]] == [w["id"] for w in done["imaging_windows"]]
    start, end = parse(done["start_time"]), parse(done["end_time"])
    assert end - start == timedelta(days=7)
    for window in done["imaging_windows"]:
        assert start <= parse(window["start_time"]) < parse(window["end_time"]) <= end
        assert window["sat_elevation_angle_min"] >= 58 and window["off_nadir_angle_max"] <= 30


def test_search_outside_coverage_fails(api, sandbox):
    search = _post_search(api, geometry=point(10, 86)).json()
    sandbox.advance(300)
    failed = api.get(f"imaging-windows/search/{search['id']}/").json()
    assert failed["status"] == "FAILED" and failed["imaging_windows"] == []
    assert failed["error_code"] == "AOI_OUT_OF_COVERAGE" and failed["error_message"]


def test_linestring_search(api, sandbox):
    response = _post_search(api, geometry={"type": "LineString", "coordinates": [[10.92, 48.91], [10.79, 49.07]]})
    assert response.status_code == 201
    sandbox.advance(300)
    assert api.get(f"imaging-windows/search/{response.json()['id']}/").json()["status"] == "DONE"


@pytest.mark.parametrize("payload, field", [
    ({"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [0.1, 0], [0.1, 0.1], [0, 0]]]}}, "geometry"),
    ({"geometry": {"type": "LineString", "coordinates": [[0, 0], [0.1, 0], [0.2, 0]]}}, "geometry"),
    ({"geometry": point(200, 0)}, "geometry"),
    ({"product": "one_time_tasking"}, "product"),
    ({"pl_number": "PL-0"}, "pl_number"),
    ({"sat_elevation_angle_min": "high"}, "sat_elevation_angle_min"),
    ({"start_time": "tomorrow"}, "start_time"),
])
def test_search_validation(api, payload, field):
    response = _post_search(api, **payload)
    assert response.status_code == 400 and field in response.json()


def test_search_missing_geometry(api):
    response = api.post("imaging-windows/search/", {"pl_number": api.contract(), "product": "Assured Tasking"})
    assert response.status_code == 400 and response.json() == {"geometry": ["This field is required."]}


@pytest.mark.parametrize("field", ["pl_number", "product"])
def test_search_requires_contract_and_product(api, sandbox, field):
    # planet-assured-tasking.txt: "The required fields to place an imaging windows search request include
    # the following: geometry, pl_number, product". No default fills a missing one in.
    payload = {"geometry": point(13.350097, 52.514511), "pl_number": api.contract(), "product": "Assured Tasking"}
    del payload[field]
    response = api.post("imaging-windows/search/", payload)
    assert response.status_code == 400 and response.json() == {field: ["This field is required."]}
    payload[field] = ""
    response = api.post("imaging-windows/search/", payload)
    assert response.status_code == 400 and response.json() == {field: ["This field may not be blank."]}
    assert api.post("imaging-windows/search/", {}).json() == {
        name: ["This field is required."] for name in ("geometry", "pl_number", "product")}
    assert [r for r in sandbox.requests_seen() if r["method"] == "POST" and r["status"] == 201] == []


def test_search_with_the_second_contract(api, account, sandbox):
    response = _post_search(api, pl_number=account["pl_numbers"][1])
    assert response.status_code == 201 and response.json()["pl_number"] == account["pl_numbers"][1]
    assert response.json()["product"] == "Assured Tasking"


def test_search_more_than_seven_days_ahead(api, sandbox):
    response = _post_search(api, end_time=iso(sim_now(sandbox) + timedelta(days=8)))
    assert response.status_code == 400 and "end_time" in response.json()


def test_constraints_are_applied(api, sandbox):
    search = _post_search(api, sat_elevation_angle_min=70, off_nadir_angle_max=20).json()
    assert search["sat_elevation_angle_min"] == 70 and search["off_nadir_angle_max"] == 20
    sandbox.advance(300)
    for window in api.get(f"imaging-windows/search/{search['id']}/").json()["imaging_windows"]:
        assert window["sat_elevation_angle_min"] >= 70 - 1e-3 and window["off_nadir_angle_max"] <= 20 + 1e-3


def test_replacing_an_assured_order(api, sandbox):
    window = assured_window(api, sandbox)
    first = assured_order(api, sandbox, "first", window)
    second = api.post("orders/", {"name": "second", "imaging_window": window["id"], "product": "Assured Tasking"})
    assert second.status_code == 201
    # "Only the successful scheduling of the new order will initiate the cancellation of the existing order."
    assert api.order(first["id"])["status"] in ("RECEIVED", "PENDING")
    sandbox.advance(60)
    assert api.order(second.json()["id"])["status"] == "PENDING"
    replaced = api.order(first["id"])
    assert replaced["status"] == "PENDING_CANCELLATION"
    pricing = api.get(f"orders/{second.json()['id']}/pricing/").json()
    assert pricing["determined_by"] == "replaced_orders"
    first_cost = api.get(f"orders/{first['id']}/pricing/").json()["estimated_quota_cost"]
    assert pricing["replaced_orders"] == [{"order_id": first["id"], "name": "first", "cost": first_cost}]
    assert pricing["estimated_quota_cost"] == first_cost
    sandbox.advance(600)
    assert api.order(first["id"])["status"] == "CANCELLED"


def test_quota_priority_multiplier_rule(api, sandbox):
    window = assured_window(api, sandbox, index=0)
    order = assured_order(api, sandbox, "booked", window)
    search = api.search(point(13.350097, 52.514511)).json()
    sandbox.advance(300)
    shown = api.get(f"imaging-windows/search/{search['id']}/?show_replacing_imaging_windows=true").json()
    now = sim_now(sandbox)
    tiers = {"STANDARD": 1.0, "EXPRESS": 1.5}
    saw_conflict = False
    for candidate in shown["imaging_windows"]:
        own = tiers[candidate["assured_tasking_tier"]]
        conflicts = candidate["conflicting_orders"]
        if conflicts:
            saw_conflict = True
            assert [c["id"] for c in conflicts] == [order["id"]]
        if conflicts and parse(candidate["start_time"]) - now < timedelta(hours=24):
            expected = max(own, sum(tiers[c["assured_tasking_tier"]] for c in conflicts))
        else:
            expected = own
        assert candidate["quota_priority_multiplier"] == expected
    assert saw_conflict


def test_window_in_the_past_cannot_be_ordered(api, sandbox):
    window = assured_window(api, sandbox, index=0)
    sandbox.advance((parse(window["start_time"]) - sim_now(sandbox)).total_seconds() + 1)
    response = api.post("orders/", {"name": "late", "imaging_window": window["id"], "product": "Assured Tasking"})
    assert response.status_code == 400
    assert response.json() == {"imaging_window": ["The imaging window is no longer available."]}


def test_unknown_window(api):
    response = api.post("orders/", {"name": "x", "imaging_window": "00000000-0000-4000-8000-000000000000",
                                    "product": "Assured Tasking"})
    assert response.status_code == 400 and "imaging_window" in response.json()


def test_window_with_flexible_product(api, sandbox):
    window = assured_window(api, sandbox)
    response = api.post("orders/", {"name": "x", "imaging_window": window["id"], "product": "one_time_tasking"})
    assert response.status_code == 400 and "imaging_window" in response.json()


def test_pricing_preview_with_window(api, sandbox):
    window = assured_window(api, sandbox)
    alone = api.post("pricing/", {"imaging_window": window["id"], "product": "Assured Tasking"}).json()
    assert alone["determined_by"] == "pricing_model"
    assert [m["name"] for m in alone["pricing_model"]["multipliers"]] == ["imaging_mode", "tasking_tier"]
    booked = assured_order(api, sandbox, "booked", window)
    replacing = api.post("pricing/", {"imaging_window": window["id"], "product": "Assured Tasking"}).json()
    assert replacing["determined_by"] == "replaced_orders"
    assert replacing["replaced_orders"][0]["order_id"] == booked["id"]


def test_exclusivity_days_choices(api, sandbox):
    search = _post_search(api).json()
    sandbox.advance(300)
    url = f"imaging-windows/search/{search['id']}/"
    assert "pricing_details" not in api.get(url).json()["imaging_windows"][0]
    costs = [api.get(url + f"?order_template__exclusivity_days={d}").json()["imaging_windows"][0][
        "pricing_details"]["estimated_quota_cost"] for d in (0, 7, 30)]
    assert costs[0] < costs[1] < costs[2]
    response = api.get(url + "?order_template__exclusivity_days=5")
    assert response.status_code == 400 and "order_template__exclusivity_days" in response.json()


def test_nearby_target_on_the_same_satellite_conflicts(api, sandbox):
    booked_window = assured_window(api, sandbox, 13.350097, 52.514511, index=0)
    booked = assured_order(api, sandbox, "Berlin", booked_window)
    # 4 km east: the same satellite passes within seconds, it cannot image both.
    search = api.search(point(13.41, 52.514511)).json()
    sandbox.advance(300)
    url = f"imaging-windows/search/{search['id']}/"
    shown = api.get(url + "?show_replacing_imaging_windows=true").json()["imaging_windows"]
    replacing = [w for w in shown if w["conflicting_orders"]]
    assert replacing and all([c["id"] for c in w["conflicting_orders"]] == [booked["id"]] for w in replacing)
    overlapping = replacing[0]
    assert parse(overlapping["start_time"]) < parse(booked["end_time"]) + timedelta(seconds=30)
    assert overlapping["id"] not in [w["id"] for w in api.get(url).json()["imaging_windows"]]
    created = api.post("orders/", {"name": "nearby", "imaging_window": overlapping["id"],
                                   "product": "Assured Tasking"})
    assert created.status_code == 201
    sandbox.advance(60)
    assert api.order(booked["id"])["status"] == "PENDING_CANCELLATION"


def test_lock_in_too_late_rejects_and_keeps_the_replaced_order(api, sandbox):
    window = assured_window(api, sandbox, index=0)
    booked = assured_order(api, sandbox, "booked", window)
    sandbox.advance(60)
    # Ten minutes before the window: too late to change the satellite's plan.
    sandbox.advance((parse(window["start_time"]) - sim_now(sandbox)).total_seconds() - 600)
    late = api.post("orders/", {"name": "late", "imaging_window": window["id"], "product": "Assured Tasking"})
    assert late.status_code == 201 and late.json()["status"] == "RECEIVED"
    sandbox.advance(60)
    assert api.order(late.json()["id"])["status"] == "REJECTED"
    assert api.order(booked["id"])["status"] in ("PENDING", "IN_PROGRESS")


def test_assured_order_plans_its_window(api, sandbox):
    order = assured_order(api, sandbox, "planned")
    sandbox.advance(60)
    accepted = api.order(order["id"])
    assert accepted["status"] == "PENDING" and accepted["next_planned_acquisition_time"] == order["start_time"]


def test_an_assured_captures_cloud_cover_follows_its_windows_forecast():
    # The forecast is what the analyst chose the window by: the clearest window should give a clear image
    # and the cloudiest a cloudy one (within a forecast's error), not an independent draw. A server of its
    # own with a fixed start, so the same windows come up whatever day the tests run.
    process, root = start_server(["--db", ":memory:", "--speed", "0", "--seed", "1",
                                  "--start", "2026-06-01T06:00:00Z", "--api-key", "sandbox"])
    try:
        api = Client(root + "/tasking/v2/", "sandbox")

        def advance(seconds):
            return requests.post(root + "/sandbox/clock", json={"advance_seconds": seconds}, timeout=30).json()

        response = api.search(point(13.350097, 52.514511))
        now = parse(advance(300)["now"])
        search = api.get(f"imaging-windows/search/{response.json()['id']}/").json()
        ahead = [w for w in search["imaging_windows"] if parse(w["start_time"]) > now + timedelta(hours=1)]
        by_forecast = sorted(ahead, key=lambda w: w["cloud_forecast"][-1]["prediction"])
        clearest, cloudiest = by_forecast[0], by_forecast[-1]
        assert cloudiest["cloud_forecast"][-1]["prediction"] - clearest["cloud_forecast"][-1]["prediction"] > 40
        orders = {}
        for name, window in (("clear", clearest), ("cloudy", cloudiest)):
            created = api.post("orders/", {"name": name, "imaging_window": window["id"], "product": ASSURED_PRODUCT})
            assert created.status_code == 201, created.text
            orders[name] = created.json()
        advance((parse(cloudiest["end_time"]) - now).total_seconds() + 5 * 3600)
        covers = {}
        for name, window in (("clear", clearest), ("cloudy", cloudiest)):
            captures = [c for c in api.captures(orders[name]["id"]) if c["status"] == "PUBLISHED"]
            assert captures, f"the {name} window's capture did not publish"
            covers[name] = captures[0]["cloud_cover"]
            assert abs(covers[name] - window["cloud_forecast"][-1]["prediction"] / 100) <= 0.35
        assert covers["cloudy"] > covers["clear"] + 0.2
    finally:
        stop_server(process)
