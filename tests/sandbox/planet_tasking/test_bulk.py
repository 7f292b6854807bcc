"""Bulk create / edit / cancel: request validation, background progress, counts and per-payload results."""

from __future__ import annotations

import json
import uuid

import pytest

from tests.sandbox.helpers import point


def _creates(count, bad_every=0):
    payloads = []
    for index in range(count):
        lon = 181 if bad_every and index % bad_every == 0 else 10 + index * 0.001
        payloads.append({"name": f"bulk {index}", "geometry": point(lon, 45)})
    return payloads


@pytest.mark.parametrize("body, expected", [
    ({}, {"order_payloads": ["This field is required."]}),
    ({"order_payloads": []}, {"order_payloads": ["This list may not be empty."]}),
    ({"order_payloads": "x"}, {"order_payloads": ['Expected a list of items but got type "str".']}),
    ({"order_payloads": [{}], "operation_type": "MERGE"}, {"operation_type": ['"MERGE" is not a valid choice.']}),
    ({"order_payloads": [{}], "id": "not-a-uuid"}, {"id": ["Must be a valid UUID."]}),
])
def test_bulk_request_validation(api, body, expected):
    response = api.post("bulk/", body)
    assert response.status_code == 400 and response.json() == expected


def test_more_than_1000_payloads(api):
    response = api.post("bulk/", {"order_payloads": _creates(1001)})
    assert response.status_code == 400
    assert response.json() == {"order_payloads": ["Ensure this field has no more than 1000 elements."]}


def test_reused_id_creates_nothing_twice(api, other_api, sandbox):
    bulk_id = str(uuid.uuid4())
    assert api.post("bulk/", {"id": bulk_id, "order_payloads": _creates(3)}).status_code == 202
    again = api.post("bulk/", {"id": bulk_id, "order_payloads": _creates(3)})
    assert again.status_code == 400 and again.json() == {"id": ["bulk process with this id already exists."]}
    assert other_api.post("bulk/", {"id": bulk_id, "order_payloads": _creates(1)}).status_code == 400
    sandbox.advance(10)
    assert api.get("orders/").json()["count"] == 3
    assert other_api.get(f"bulk/{bulk_id}/").status_code == 404
    assert other_api.get(f"bulk/{bulk_id}/payloads/").status_code == 404


def test_generated_id_in_location(api, sandbox):
    response = api.post("bulk/", {"order_payloads": _creates(2)})
    location = response.headers["Location"]
    bulk_id = location.rstrip("/").rsplit("/", 1)[1]
    assert str(uuid.UUID(bulk_id)) == bulk_id
    assert api.get(location).json()["id"] == bulk_id


def test_thousand_payloads_progress(api, sandbox):
    response = api.post("bulk/", {"order_payloads": _creates(1000, bad_every=100)})
    location = response.headers["Location"]
    pending = api.get(location).json()
    assert pending["status"] == "PENDING" and pending["start_time"] is None and pending["end_time"] is None
    assert pending["processing_payload_count"] == 1000
    sandbox.advance(6)
    running = api.get(location).json()
    assert running["status"] == "RUNNING" and running["start_time"] and running["end_time"] is None
    done_so_far = running["successful_payload_count"] + running["failed_payload_count"]
    assert 0 < done_so_far < 1000
    assert done_so_far + running["processing_payload_count"] == 1000
    sandbox.advance(30)
    complete = api.get(location).json()
    assert complete["status"] == "COMPLETE" and complete["end_time"] >= complete["start_time"]
    assert (complete["successful_payload_count"], complete["failed_payload_count"],
            complete["processing_payload_count"]) == (990, 10, 0)
    assert api.get("orders/?limit=1").json()["count"] == 990
    page = api.get(location + "payloads/?limit=100&offset=100").json()
    assert page["count"] == 1000 and len(page["results"]) == 100
    assert page["results"][0]["payload"]["name"] == "bulk 100"
    assert json.loads(page["results"][0]["error"]) == {
        "geometry": ["Geometry longitude coordinate needs to be within -180.0 and 180.0"]}
    assert page["next"] and page["previous"]
    ids = [p["order_id"] for p in api.get(location + "payloads/?limit=1000").json()["results"] if "order_id" in p]
    assert len(set(ids)) == 990


def test_bulk_edit_errors_per_payload(api, other_api, sandbox):
    mine = api.create(name="mine")
    theirs = other_api.create(name="theirs")
    sandbox.advance(120)  # IN_PROGRESS: start_time no longer editable
    response = api.post("bulk/", {"operation_type": "EDIT", "order_payloads": [
        {"id": mine["id"], "name": "renamed"},
        {"id": mine["id"], "start_time": "2031-01-01T00:00:00Z"},
        {"id": theirs["id"], "name": "stolen"},
        {"name": "no id"},
    ]})
    sandbox.advance(5)
    status = api.get(response.headers["Location"]).json()
    assert (status["successful_payload_count"], status["failed_payload_count"]) == (1, 3)
    results = api.get(response.headers["Location"] + "payloads/").json()["results"]
    assert results[0]["order_id"] == mine["id"] and "error" not in results[0]
    assert "start_time" in json.loads(results[1]["error"])
    assert "id" in json.loads(results[2]["error"])
    assert json.loads(results[3]["error"]) == {"id": ["This field is required."]}
    assert api.order(mine["id"])["name"] == "renamed"
    assert other_api.order(theirs["id"])["name"] == "theirs"


def test_bulk_cancel_only_pending_and_in_progress(api, sandbox):
    received = api.create(name="received")
    response = api.post("bulk/", {"operation_type": "CANCEL", "order_payloads": [{"id": received["id"]}]})
    sandbox.advance(2)
    status = api.get(response.headers["Location"]).json()
    assert status["failed_payload_count"] == 1 and status["status"] == "COMPLETE"
    payload = api.get(response.headers["Location"] + "payloads/").json()["results"][0]
    assert "RECEIVED" in payload["error"]


def test_bulk_lists_own_bulks(api, other_api):
    api.post("bulk/", {"order_payloads": _creates(1)})
    assert api.get("bulk/").json()["count"] == 1
    assert other_api.get("bulk/").json()["count"] == 0
