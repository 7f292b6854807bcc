"""The documented example answers of the Planet Tasking API parse into the models, times in UTC."""

from __future__ import annotations

import dataclasses
import json
import os
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator, List

import pytest

from core.errors import field_errors_from_body
from core.services.planet_tasking.models import (
    BulkPayload,
    BulkStatus,
    Capture,
    ImagingWindowSearch,
    Order,
    OrderEdit,
    Page,
    Pricing,
    PricingPreview,
    format_time,
    parse_time,
)

REPO_ROOT = Path(__file__).resolve().parents[2]

# --- the examples, copied from the documents (planet-tasking-api.txt, planet-assured-tasking.txt,
# planet-tasking-bulk.txt) -----------------------------------------------------------------------

ORDER_CREATED = json.loads("""{
"id": "9d79b9ba-efa3-4e6d-bc08-407b545875a1",
"geometry": {"type": "Polygon", "coordinates": [[[149.415829, 28.469843], [149.466885, 28.469843],
  [149.466896, 28.514958], [149.415818, 28.514958], [149.415829, 28.469843]]]},
"original_geometry": {"type": "Point", "coordinates": [149.441357, 28.492403]},
"order_type": "IMAGE", "sat_elevation_angle_min": 60.0, "sat_elevation_angle_max": 90.0,
"start_time": "2020-03-23T12:26:35.820963Z", "end_time": "2020-04-22T12:26:35.820963Z",
"n_stereo_pov": null, "is_cancellable": false, "cancellable_until": "2021-08-05T10:18:00.000000Z",
"requested_sqkm": 25.0, "created_time": "2020-03-23T12:26:36.137220Z",
"updated_time": "2020-03-23T12:26:36.137259Z", "name": "test_order_426",
"created_by": "a.user@a.fake.email.address.com", "status": "RECEIVED", "fulfilled_sqkm": 0.0,
"capture_status_published_count": 0, "capture_assessment_success_count": 0,
"capture_assessment_invalid_count": 0, "scheduling_type": "FLEXIBLE", "rrule": null,
"exclusivity_days": 0, "next_planned_acquisition_time": null, "last_acquired_time": null,
"imaging_window": null}""")

ORDER_EDITED = {"start_time": "2020-05-23T12:26:35.000000Z", "end_time": "2020-06-23T12:26:35.000000Z"}

PRICING_BY_MODEL = {
    "order_id": "87c66e26-adf5-4109-85b7-2056347372ea", "units": "SQKM", "estimated_quota_cost": 70.48,
    "determined_by": "pricing_model",
    "pricing_model": {"base_price": 70.48,
                      "multipliers": [{"name": "imaging_mode", "value": 1.0, "description": "single-image"}]},
}

PRICING_BY_REPLACED_ORDERS = {
    "order_id": "b79eaa77-8d74-4803-9dba-dbc33760021f", "units": "SQKM", "estimated_quota_cost": 75.0,
    "determined_by": "replaced_orders",
    "pricing_model": {"base_price": 25.0, "multipliers": [
        {"name": "imaging_mode", "value": 1.0, "description": "normal"},
        {"name": "tasking_tier", "value": 1.0, "description": "normal"}]},
    "replaced_orders": [
        {"order_id": "b9635a07-ee04-4b7b-9406-222444167018",
         "name": "PLANET_476-fb96f79c-a973-4815-9817-b7dd2e84c32a_240424_250424_11", "cost": 25.0},
        {"order_id": "acd778f0-c490-4c9b-916a-5d736db4b04f",
         "name": "PLANET_475-228e2124-3d6b-477c-a3f8-b25e9a17fb40_240424_250424_11", "cost": 25.0},
        {"order_id": "38a34626-71a3-448b-acd5-76831b4da9c8",
         "name": "PLANET_471-c607489a-8b4d-42af-86c9-54cbd3690028_240424_250424_11", "cost": 25.0},
    ],
}

_SINGLE_IMAGE = {"units": "SQKM", "estimated_quota_cost": 25.0, "determined_by": "pricing_model",
                 "pricing_model": {"base_price": 25.0, "multipliers": [
                     {"name": "imaging_mode", "description": "single-image", "value": 1.0}]}}
PRICING_LIST = {"total_estimated_quota_cost": 50.0, "pricing_details": [_SINGLE_IMAGE, _SINGLE_IMAGE]}
PRICING_LIST_PARTIAL = {
    "total_estimated_quota_cost": 88.775,
    "pricing_details": [
        {"message": {"error": "Failed to calculate order pricing."}},
        _SINGLE_IMAGE,
        {"units": "SQKM", "estimated_quota_cost": 63.775, "determined_by": "pricing_model",
         "pricing_model": {"base_price": 63.775, "multipliers": [
             {"name": "imaging_mode", "description": "single-image", "value": 1.0}]}},
    ],
}

BULK_CREATE_COMPLETE = {
    "id": "example_uuid_string", "start_time": "2020-03-20T13:27:28.501032Z",
    "end_time": "2020-03-20T13:27:30.317499Z", "operation_type": "CREATE", "payload_count": 3,
    "status": "COMPLETE", "processing_payload_count": 0, "failed_payload_count": 1, "successful_payload_count": 2,
}
BULK_EDIT_RUNNING = {
    "id": "5d11a1ed-4179-45f8-a9b4-65bc40c4bf64", "start_time": "2021-03-19T14:28:51.141569Z", "end_time": None,
    "operation_type": "EDIT", "payload_count": 2, "status": "RUNNING", "processing_payload_count": 2,
    "failed_payload_count": 0, "successful_payload_count": 0,
}
BULK_CANCEL_COMPLETE = {
    "id": "7ed1516b-e65b-4886-a82d-5237b5738dd3", "start_time": "2021-03-19T15:18:22.131747Z",
    "end_time": "2021-03-19T15:18:22.850360Z", "operation_type": "CANCEL", "payload_count": 2,
    "status": "COMPLETE", "processing_payload_count": 0, "failed_payload_count": 0, "successful_payload_count": 2,
}

BULK_PAYLOADS_PAGE = json.loads(r"""{
"count": 3, "next": null, "previous": null,
"results": [
 {"id": "921be80b-b351-4e2b-afba-3384aa0b63e9",
  "bulk_process": "BulkProcess object (d722f658-cf66-4d00-8d3c-e286d5ca77ee)",
  "order_id": "493d3e9e-176d-4617-b932-d7961f60949e",
  "payload": {"name": "Bulk order 1", "altitude": 0, "end_time": "2020-05-30T23:00:00Z",
              "geometry": {"type": "Point", "coordinates": [32.142035, -0.487188]},
              "start_time": "2020-04-28T00:00:00Z"}},
 {"id": "a1b4fd59-1b80-4fff-b670-659a64c0ba1e",
  "bulk_process": "BulkProcess object (d722f658-cf66-4d00-8d3c-e286d5ca77ee)",
  "order_id": "178631b4-f23e-46e6-a77b-789cc164fdbe",
  "payload": {"name": "Bulk order 2", "altitude": 0, "end_time": "2020-05-30T23:00:00Z",
              "geometry": {"type": "Point", "coordinates": [32.142032, -0.487199]},
              "start_time": "2020-04-28T00:00:00Z"}},
 {"id": "6fdf32db-a385-4034-8e13-c6b312ce297f",
  "bulk_process": "BulkProcess object (d722f658-cf66-4d00-8d3c-e286d5ca77ee)",
  "payload": {"name": "Bulk order 3", "altitude": 0, "end_time": "2020-05-30T23:00:00Z",
              "geometry": {"type": "Point", "coordinates": [181, 40]}, "start_time": "2020-04-28T00:00:00Z"},
  "error": "{\"geometry\":[\"Geometry longitude coordinate needs to be within -180.0 and 180.0\"]}"}
]}""")

CAPTURES_PAGE = {
    "count": 1, "next": None, "previous": None,
    "results": [{
        "id": "1e0268d2-8c96-49ed-b809-eceafa563950", "assessment": "SUCCESS",
        "updated_time": "2019-09-21T23:57:43.783444Z", "acquired_time": "2019-09-21T08:51:31.094000Z",
        "published_time": "2019-09-21T23:57:43.783444Z", "status": "PUBLISHED", "status_description": None,
        "strip_id": "s104_20190921T085131Z", "cloud_cover": 0.16, "item_types": ["SkySatScene", "SkySatCollect"],
    }],
}

SEARCH_CREATED = {
    "id": "b7a4a198-17ea-45e2-baa1-766aaae3fab7", "imaging_windows": [], "status": "CREATED",
    "pl_number": "$PL_CONTRACT_NUMBER", "product": "Assured Tasking",
    "geometry": {"type": "Point", "coordinates": [133.406128, -25.837374]},
    "start_time": "2024-07-24T09:26:41.228492Z", "end_time": "2024-07-31T09:26:41.228492Z",
    "created_time": "2024-07-24T09:26:41.249987Z", "sat_elevation_angle_min": 58, "sat_elevation_angle_max": 90,
    "off_nadir_angle_min": 0, "off_nadir_angle_max": 30, "error_code": None, "error_message": None,
}


def _window(window_id: str, start: str, end: str, forecast: float, forecast_time: str, conflicting: List[dict]) -> dict:
    return {
        "id": window_id, "start_time": start, "end_time": end, "off_nadir_angle_start": 28.91166,
        "off_nadir_angle_end": 29.49281, "off_nadir_angle_min": 10.72227, "off_nadir_angle_max": 29.49281,
        "sat_elevation_angle_min": 58, "sat_elevation_angle_max": 78.45259, "sat_azimuth_angle_start": 350.98343,
        "sat_azimuth_angle_end": 209.96627, "sun_elevation_angle_min": 28.97, "sun_elevation_angle_max": 29.17,
        "solar_zenith_angle_min": 60.83256, "solar_zenith_angle_max": 61.02764, "low_light": False,
        "ground_sample_distance": 0.9, "assured_tasking_tier": "STANDARD",
        "cloud_forecast": [{"prediction": forecast, "updated_time": forecast_time}],
        "conflicting_orders": conflicting, "quota_priority_multiplier": 1,
    }


SEARCH_DONE = dict(SEARCH_CREATED, status="DONE", imaging_windows=[
    _window("ca2be13d-e70c-4e0b-9cfe-f7e1c0cf96f6", "2024-07-25T00:25:04.851000Z", "2024-07-25T00:26:17.179000Z",
            53.4, "2024-07-24T09:26:52.626768Z", []),
    _window("a3809a14-acf8-473a-b586-62ba76cfd451", "2024-07-29T00:10:15.532000Z", "2024-07-29T00:10:27.303000Z",
            0.9, "2024-07-24T09:26:52.666272Z", []),
])
# The replacing-windows example ends in "...", so it is not JSON as printed; this is its window.
SEARCH_WITH_REPLACING = dict(SEARCH_CREATED, status="DONE", imaging_windows=[
    _window("ca2be13d-e70c-4e0b-9cfe-f7e1c0cf96f6", "2024-07-25T00:25:04.851000Z", "2024-07-25T00:26:17.179000Z",
            53.4, "2024-07-24T09:26:52.626768Z", [{
                "id": "886ed050-a16b-4c5d-a252-c805720afd80", "name": "Existing Order to Replace",
                "off_nadir_angle_min": 11.1, "off_nadir_angle_max": 29.02, "sat_elevation_angle_min": 58,
                "sat_elevation_angle_max": 78, "assured_tasking_tier": "STANDARD",
                "cloud_forecast": [{"prediction": 54.0, "updated_time": "2024-07-24T09:21:12.851000Z"}],
            }]),
])


def _datetimes(value: Any) -> Iterator[datetime]:
    """Every datetime inside a model, however deeply nested."""
    if isinstance(value, datetime):
        yield value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from _datetimes(getattr(value, f.name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _datetimes(item)


def assert_utc(model: Any) -> int:
    seen = list(_datetimes(model))
    for moment in seen:
        assert moment.tzinfo is not None and moment.utcoffset() == timedelta(0), moment
    return len(seen)


def test_order_example_parses_with_every_field_and_utc_times():
    order = Order.from_json(ORDER_CREATED)
    assert order.id == "9d79b9ba-efa3-4e6d-bc08-407b545875a1"
    assert order.status == "RECEIVED" and order.scheduling_type == "FLEXIBLE" and order.order_type == "IMAGE"
    assert order.geometry["type"] == "Polygon" and order.original_geometry["type"] == "Point"
    assert order.requested_sqkm == 25.0 and order.exclusivity_days == 0 and order.n_stereo_pov is None
    assert order.start_time == datetime(2020, 3, 23, 12, 26, 35, 820963, tzinfo=timezone.utc)
    assert order.cancellable_until == datetime(2021, 8, 5, 10, 18, tzinfo=timezone.utc)
    assert order.next_planned_acquisition_time is None and order.imaging_window is None
    assert not order.is_final
    assert assert_utc(order) == 5
    assert order.raw == ORDER_CREATED


def test_order_edit_example():
    edit = OrderEdit.from_json(ORDER_EDITED)
    assert edit.start_time == datetime(2020, 5, 23, 12, 26, 35, tzinfo=timezone.utc)
    assert edit.end_time == datetime(2020, 6, 23, 12, 26, 35, tzinfo=timezone.utc)
    assert assert_utc(edit) == 2


def test_order_pricing_examples():
    by_model = Pricing.from_json(PRICING_BY_MODEL)
    assert by_model.ok and by_model.order_id == "87c66e26-adf5-4109-85b7-2056347372ea"
    assert by_model.estimated_quota_cost == 70.48 and by_model.units == "SQKM"
    assert by_model.pricing_model.multipliers[0].description == "single-image"
    replaced = Pricing.from_json(PRICING_BY_REPLACED_ORDERS)
    assert replaced.determined_by == "replaced_orders"
    assert sum(r.cost for r in replaced.replaced_orders) == replaced.estimated_quota_cost == 75.0
    assert [m.name for m in replaced.pricing_model.multipliers] == ["imaging_mode", "tasking_tier"]


def test_pricing_preview_list_examples_including_partial_failure():
    full = PricingPreview.from_json(PRICING_LIST)
    assert full.total_estimated_quota_cost == 50.0 and [p.estimated_quota_cost for p in full.pricing_details] == [25.0, 25.0]
    partial = PricingPreview.from_json(PRICING_LIST_PARTIAL)
    first, *rest = partial.pricing_details
    assert not first.ok and first.error == "Failed to calculate order pricing." and first.estimated_quota_cost is None
    assert all(p.ok for p in rest)
    # "errors ... are not included in the calculation of total_estimated_quota_cost"
    assert partial.total_estimated_quota_cost == pytest.approx(sum(p.estimated_quota_cost for p in rest))


def test_bulk_status_examples():
    create = BulkStatus.from_json(BULK_CREATE_COMPLETE)
    assert create.is_complete and create.operation_type == "CREATE"
    assert (create.payload_count, create.failed_payload_count, create.successful_payload_count) == (3, 1, 2)
    edit = BulkStatus.from_json(BULK_EDIT_RUNNING)
    assert not edit.is_complete and edit.end_time is None and edit.processing_payload_count == 2
    cancel = BulkStatus.from_json(BULK_CANCEL_COMPLETE)
    assert cancel.operation_type == "CANCEL" and cancel.successful_payload_count == 2
    for status in (create, edit, cancel):
        assert_utc(status)


def test_bulk_payloads_example_with_the_servers_field_errors():
    payloads = [BulkPayload.from_json(item) for item in BULK_PAYLOADS_PAGE["results"]]
    assert [p.ok for p in payloads] == [True, True, False]
    assert payloads[0].order_id == "493d3e9e-176d-4617-b932-d7961f60949e"
    assert payloads[2].payload["geometry"]["coordinates"] == [181, 40]
    # The error is JSON in a string; read as field errors it is exactly what the server said.
    assert field_errors_from_body(payloads[2].error) == {
        "geometry": ["Geometry longitude coordinate needs to be within -180.0 and 180.0"]}


def test_captures_example():
    page = Page(count=CAPTURES_PAGE["count"], next=None, previous=None,
                results=[Capture.from_json(c) for c in CAPTURES_PAGE["results"]])
    capture = page.results[0]
    assert capture.status == "PUBLISHED" and capture.assessment == "SUCCESS" and capture.cloud_cover == 0.16
    assert capture.item_types == ["SkySatScene", "SkySatCollect"]
    assert capture.acquired_time == datetime(2019, 9, 21, 8, 51, 31, 94000, tzinfo=timezone.utc)
    assert assert_utc(capture) == 3


def test_imaging_window_search_examples():
    created = ImagingWindowSearch.from_json(SEARCH_CREATED)
    assert created.status == "CREATED" and not created.is_finished and created.imaging_windows == []
    assert created.sat_elevation_angle_min == 58.0 and created.off_nadir_angle_max == 30.0
    done = ImagingWindowSearch.from_json(SEARCH_DONE)
    assert done.is_finished and [w.id for w in done.imaging_windows] == [
        "ca2be13d-e70c-4e0b-9cfe-f7e1c0cf96f6", "a3809a14-acf8-473a-b586-62ba76cfd451"]
    first = done.imaging_windows[0]
    assert first.duration_seconds == pytest.approx(72.328)
    assert first.latest_cloud_forecast == 53.4 and not first.replaces_orders
    assert assert_utc(done) == 3 + 2 * 3
    replacing = ImagingWindowSearch.from_json(SEARCH_WITH_REPLACING).imaging_windows[0]
    assert replacing.replaces_orders
    conflict = replacing.conflicting_orders[0]
    assert conflict.name == "Existing Order to Replace" and conflict.cloud_forecast[0].prediction == 54.0
    assert_utc(replacing)


@pytest.mark.parametrize("text, expected", [
    ("2020-03-23T12:26:35.820963Z", datetime(2020, 3, 23, 12, 26, 35, 820963, tzinfo=timezone.utc)),
    ("2021-01-01T23:59:59Z", datetime(2021, 1, 1, 23, 59, 59, tzinfo=timezone.utc)),
    ("2021-01-02T01:59:59+02:00", datetime(2021, 1, 1, 23, 59, 59, tzinfo=timezone.utc)),
    ("2021-01-01T23:59:59", datetime(2021, 1, 1, 23, 59, 59, tzinfo=timezone.utc)),
])
def test_times_are_read_as_utc(text, expected):
    parsed = parse_time(text)
    assert parsed == expected and parsed.utcoffset() == timedelta(0)


def test_times_are_written_in_utc():
    assert format_time(datetime(2021, 1, 2, 1, 0, tzinfo=timezone(timedelta(hours=2)))) == "2021-01-01T23:00:00.000000Z"


# --- every example printed in the documents, found by scanning them ----------------------------------


def _api_docs() -> Path:
    candidates = [os.environ.get("SATELLITE_TASKING_API_DOCS", ""), REPO_ROOT.parent / "shared" / "api-docs",
                  Path("/work/shared/api-docs")]
    for candidate in candidates:
        if candidate and (Path(candidate) / "planet-tasking-api.txt").is_file():
            return Path(candidate)
    pytest.skip("the API documents (shared/api-docs) are not beside this clone")


def _json_blocks(text: str) -> Iterator[Any]:
    """Each top-level {...} in a text that is valid JSON (request bodies in shell quotes are not)."""
    depth, start = 0, -1
    for index, char in enumerate(text):
        if char == "{":
            if depth == 0:
                start = index
            depth += 1
        elif char == "}" and depth:
            depth -= 1
            if depth == 0:
                try:
                    yield json.loads(text[start:index + 1])
                except ValueError:
                    continue


def _parse_documented(block: dict) -> List[Any]:
    """The model(s) a documented answer becomes; [] for a request body."""
    if "imaging_windows" in block:
        return [ImagingWindowSearch.from_json(block)]
    if "pricing_details" in block:
        return [PricingPreview.from_json(block)]
    if "estimated_quota_cost" in block:
        return [Pricing.from_json(block)]
    if "operation_type" in block and "payload_count" in block:
        return [BulkStatus.from_json(block)]
    if "results" in block:
        return [BulkPayload.from_json(r) if "payload" in r else Capture.from_json(r) for r in block["results"]]
    if "id" in block and "created_time" in block and "order_type" in block:
        return [Order.from_json(block)]
    if set(block) and set(block) <= {"start_time", "end_time", "name"}:
        return [OrderEdit.from_json(block)]
    return []


def test_every_example_answer_in_the_documents_parses():
    docs = _api_docs()
    parsed: List[Any] = []
    for name in ("planet-tasking-api.txt", "planet-assured-tasking.txt", "planet-tasking-bulk.txt"):
        for block in _json_blocks((docs / name).read_text(encoding="utf-8")):
            models = _parse_documented(block)
            for model in models:
                assert_utc(model)
            parsed.extend(models)
    kinds = {type(m).__name__ for m in parsed}
    # Answers of each kind the documents print (the replacing-windows one is not valid JSON as printed).
    assert kinds >= {"Order", "OrderEdit", "Pricing", "PricingPreview", "BulkStatus", "BulkPayload", "Capture",
                     "ImagingWindowSearch"}, kinds
    assert len(parsed) >= 20


def test_exclusivity_end_is_acquired_time_plus_days_and_unknown_when_either_is():
    from core.services.planet_tasking.models import exclusivity_end

    acquired = datetime(2020, 10, 10, 12, 0, tzinfo=timezone.utc)
    assert exclusivity_end(acquired, 30) == datetime(2020, 11, 9, 12, 0, tzinfo=timezone.utc)
    assert exclusivity_end(acquired, 0) == acquired
    assert exclusivity_end(None, 30) is None and exclusivity_end(acquired, None) is None
