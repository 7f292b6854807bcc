"""TaskingClient against the sandbox over HTTP: every documented endpoint and every error it maps."""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone
from typing import List

import pytest

from core.errors import (
    ApiError,
    AuthenticationError,
    CancellationChargeRequired,
    Cancelled,
    NotFoundError,
    ValidationError,
    WaitTimeout,
)
from core.services.planet_tasking.client import TaskingClient
from core.services.planet_tasking.models import BulkStatus, Order, Page

POINT = {"type": "Point", "coordinates": [13.350097, 52.514511]}
STRIP = {"type": "LineString", "coordinates": [[10.92041015625, 48.91527985344383], [10.78857421875, 49.0738659012854]]}
AREA = {"type": "Polygon", "coordinates": [[[-111.02062225341797, 39.58637603706183],
                                            [-110.9095573425293, 39.58637603706183],
                                            [-110.9095573425293, 39.670992062375056],
                                            [-111.02062225341797, 39.670992062375056],
                                            [-111.02062225341797, 39.58637603706183]]]}
ASSURED = "Assured Tasking"
# The name core.http gives the thread that fetches the next page ahead.
PREFETCH_THREAD = "satellite-tasking-next-page"


class RecordingSleep:
    """Stands in for time.sleep: records each wait and moves the sandbox's simulated clock instead."""

    def __init__(self, sandbox=None):
        self.sandbox = sandbox
        self.waits: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self.sandbox is not None and seconds > 0:
            self.sandbox.advance(seconds)


@pytest.fixture
def sleep(sandbox) -> RecordingSleep:
    return RecordingSleep(sandbox)


@pytest.fixture
def client(sandbox, sleep) -> TaskingClient:
    return TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sleep, timeout=10.0)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=timezone.utc)


def assert_aware_utc(*moments) -> None:
    for moment in moments:
        assert moment is not None and moment.tzinfo is not None and moment.utcoffset() == timedelta(0)


def pl_numbers(client: TaskingClient) -> List[str]:
    return [o.pl_number for o in client.iter_orders() if o.pl_number]


def contract(sandbox, key=None) -> str:
    """The key's contract number: the documents make pl_number a required field of a window search."""
    key = key or sandbox.api_key
    return next(a["default_pl_number"] for a in sandbox.control("GET", "accounts")["accounts"] if a["api_key"] == key)


def windows_ahead(windows, sandbox, hours: float = 1.0):
    """The windows an order can still be locked in for: one starting within minutes is refused or REJECTED."""
    return [w for w in windows if w.start_time > sandbox.now() + timedelta(hours=hours)]


def search_done(client: TaskingClient, sandbox, **kwargs):
    search = client.start_imaging_window_search(POINT, pl_number=contract(sandbox), product=ASSURED, **kwargs)
    return client.wait_imaging_window_search(search.id, poll=5.0, timeout=900)


# --- version -----------------------------------------------------------------------------------------


def test_version_is_plain_text(client):
    version = client.version()
    assert version and "\n" not in version and not version.startswith("{")


# --- orders --------------------------------------------------------------------------------------------


def test_create_point_order_answers_the_documented_order(client, sandbox):
    order = client.create_order({"name": "Order 01", "geometry": {"type": "Point", "coordinates": [149.44135, 28.4924]}})
    assert isinstance(order, Order)
    assert order.name == "Order 01" and order.status in ("RECEIVED", "PENDING")
    assert order.original_geometry["type"] == "Point" and order.geometry["type"] == "Polygon"
    assert order.requested_sqkm == pytest.approx(25.0, rel=0.01)
    assert order.scheduling_type == "FLEXIBLE" and order.order_type == "IMAGE"
    assert_aware_utc(order.created_time, order.updated_time, order.start_time, order.end_time)
    posts = [r for r in sandbox.requests_seen() if r["method"] == "POST"]
    assert len(posts) == 1 and posts[0]["path"] == "/tasking/v2/orders/" and posts[0]["status"] == 201


def test_create_strip_area_and_stereo_orders(client):
    strip = client.create_order({"name": "Strip 01", "geometry": STRIP})
    area = client.create_order({"name": "Area Order 01", "geometry": AREA})
    stereo = client.create_order({"name": "Stereo Order 01", "geometry": {"type": "Point", "coordinates": [-110.974052, 39.634139]},
                                  "order_type": "STEREO", "n_stereo_pov": 2})
    assert strip.original_geometry["type"] == "LineString" and strip.geometry["type"] == "Polygon"
    assert area.geometry["type"] == "Polygon" and area.requested_sqkm > 50
    assert stereo.order_type == "STEREO" and stereo.n_stereo_pov == 2


def test_datetimes_and_tuples_in_a_payload_are_sent_as_utc_json(client, sandbox):
    # What the dock and bulk code hand over: aware datetimes in any zone, naive ones meaning UTC,
    # and coordinates as tuples; the order must come back at exactly those instants.
    now = datetime.fromisoformat(sandbox.clock()["now"].replace("Z", "+00:00"))
    start = (now + timedelta(days=1)).astimezone(timezone(timedelta(hours=2))).replace(microsecond=0)
    end = (now + timedelta(days=9)).replace(tzinfo=None, microsecond=0)
    order = client.create_order({"name": "Zoned", "geometry": {"type": "Point", "coordinates": (13.35, 52.51)},
                                 "start_time": start, "end_time": end})
    assert order.start_time == start
    assert order.end_time == end.replace(tzinfo=timezone.utc)


def test_get_order_reads_back_what_was_created(client):
    created = client.create_order({"name": "Read me", "geometry": POINT})
    again = client.get_order(created.id)
    assert again.id == created.id and again.name == "Read me" and again.created_time == created.created_time


def test_get_unknown_order_is_not_found(client):
    with pytest.raises(NotFoundError) as raised:
        client.get_order("00000000-0000-4000-8000-000000000000")
    assert raised.value.status == 404 and "no such item" in str(raised.value)


def test_another_organisations_order_is_not_found(client, sandbox):
    mine = client.create_order({"name": "Mine", "geometry": POINT})
    other = TaskingClient(sandbox.tasking_url, sandbox.other_key)
    with pytest.raises(NotFoundError):
        other.get_order(mine.id)
    assert other.count_orders() == 0


def test_list_orders_pages_filters_ordering_and_fields(client, sandbox):
    for index in range(5):
        client.create_order({"name": f"test order {index}", "geometry": POINT})
        sandbox.advance(60)
    client.create_order({"name": "other", "geometry": POINT})
    page = client.list_orders(limit=2, name__icontains="TEST", ordering=["created_time"])
    assert isinstance(page, Page) and page.count == 5 and len(page.results) == 2
    assert [o.name for o in page.results] == ["test order 0", "test order 1"]
    assert page.next and page.previous is None
    second = client.list_orders(limit=2, offset=2, name__icontains="test", ordering="created_time")
    assert [o.name for o in second.results] == ["test order 2", "test order 3"] and second.previous
    newest_first = client.list_orders(ordering="-created_time")
    assert newest_first.results[0].name == "other"
    # created_time__gt with an aware datetime in another zone: sent in UTC.
    third = client.get_order(page.results[0].id).created_time + timedelta(seconds=150)
    later = client.list_orders(created_time__gt=third.astimezone(timezone(timedelta(hours=5))), name__icontains="test")
    assert later.count == 2
    slim = client.list_orders(fields=["name", "status"], limit=1).results[0]
    assert slim.id and slim.name and slim.status and slim.geometry is None and slim.created_time is None
    assert client.list_orders(status="FULFILLED").count == 0
    assert client.list_orders(status__in=["RECEIVED", "PENDING", "REQUESTED", "IN_PROGRESS"]).count == 6


def test_invalid_filter_value_is_a_validation_error(client):
    with pytest.raises(ValidationError) as raised:
        client.list_orders(status="NOT_A_STATUS")
    assert "status" in raised.value.field_errors


def test_iter_orders_follows_next_lazily(client, sandbox):
    for index in range(7):
        client.create_order({"name": f"lazy {index}", "geometry": POINT})
    before = len(sandbox.requests_seen())
    iterator = client.iter_orders(page_size=3, ordering="created_time", prefetch=False)
    first = next(iterator)
    assert first.name == "lazy 0" and len(sandbox.requests_seen()) == before + 1  # one page fetched, no more
    rest = list(iterator)
    assert [o.name for o in rest] == [f"lazy {i}" for i in range(1, 7)]
    gets = [r for r in sandbox.requests_seen()[before:] if r["method"] == "GET"]
    assert len(gets) == 3


def wait_for_page_prefetches() -> None:
    """Wait until every background page request has had its answer (they are daemon threads)."""
    for thread in threading.enumerate():
        if thread.name == PREFETCH_THREAD:
            thread.join(timeout=30)
            assert not thread.is_alive(), "a prefetched page never got its answer"


def test_iter_orders_prefetches_at_most_one_page_ahead(client, sandbox):
    for index in range(7):
        client.create_order({"name": f"ahead {index}", "geometry": POINT})
    before = len(sandbox.requests_seen())
    iterator = client.iter_orders(page_size=3, ordering="created_time")
    assert next(iterator).name == "ahead 0"
    # The second page is on its way in the background, and nothing asks for a third.
    wait_for_page_prefetches()
    assert len(sandbox.requests_seen()) == before + 2
    assert [o.name for o in iterator] == [f"ahead {i}" for i in range(1, 7)]
    assert len(sandbox.requests_seen()) == before + 3


def test_abandoned_prefetching_listing_stops_asking(client, sandbox):
    for index in range(7):
        client.create_order({"name": f"stop {index}", "geometry": POINT})
    before = len(sandbox.requests_seen())
    listing = client.iter_orders(page_size=2)
    assert next(listing).name == "stop 6"
    listing.close()
    # Once the page that was in flight has its answer, nothing is left that could ask for more:
    # the first page and the one prefetched, and no third.
    wait_for_page_prefetches()
    assert len(sandbox.requests_seen()) - before == 2


def test_iter_orders_can_be_cancelled_between_pages(client):
    for index in range(4):
        client.create_order({"name": f"c {index}", "geometry": POINT})
    asked = []

    def is_canceled() -> bool:
        asked.append(1)
        return len(asked) > 1

    with pytest.raises(Cancelled):
        list(client.iter_orders(page_size=2, is_canceled=is_canceled))


def test_edit_order_name_and_times(client, sandbox):
    order = client.create_order({"name": "before", "geometry": POINT})
    start = sandbox.now() + timedelta(days=2)
    end = start + timedelta(days=10)
    edit = client.edit_order(order.id, name="after", start_time=start, end_time=end)
    assert edit.start_time == start and edit.end_time == end
    assert_aware_utc(edit.start_time, edit.end_time)
    again = client.get_order(order.id)
    assert again.name == "after" and again.end_time == end
    # A time given as text is sent as it is.
    text_end = (end + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert client.edit_order(order.id, end_time=text_end).end_time == end + timedelta(days=1)


def test_edit_order_refused_with_the_servers_field_messages(client, sandbox):
    order = client.create_order({"name": "edit me", "geometry": POINT})
    with pytest.raises(ValidationError) as raised:
        client.edit_order(order.id, end_time=sandbox.now() - timedelta(days=1))
    assert raised.value.status == 400 and "end_time" in raised.value.field_errors
    assert raised.value.field_errors["end_time"] and all(isinstance(m, str) for m in raised.value.field_errors["end_time"])
    assert "end_time" in str(raised.value)


def test_cancel_order_and_cancel_again(client):
    order = client.create_order({"name": "cancel me", "geometry": POINT})
    assert client.cancel_order(order.id) is None
    assert client.get_order(order.id).status in ("CANCELLED", "PENDING_CANCELLATION")
    with pytest.raises(ValidationError) as raised:
        client.cancel_order(order.id)
    assert not isinstance(raised.value, CancellationChargeRequired)


def test_charged_cancellation_needs_explicit_acceptance(client, sandbox):
    # Free cancellations apply to assured orders; use them up, then the next one must be accepted.
    search = search_done(client, sandbox)
    assert search.imaging_windows, "the sandbox found no imaging window to order"
    orders = []
    for index, window in enumerate(windows_ahead(search.imaging_windows, sandbox)):
        orders.append(client.create_order({"name": f"assured {index}", "imaging_window": window.id, "product": ASSURED}))
    charged = None
    for order in orders:
        try:
            client.cancel_order(order.id)
        except CancellationChargeRequired as error:
            charged = (order, error)
            break
    if charged is None:
        pytest.skip("the sandbox found too few windows to use up the free cancellations")
    order, error = charged
    assert error.status == 400 and "charge" in str(error).lower()
    assert client.get_order(order.id).status not in ("CANCELLED", "PENDING_CANCELLATION")
    client.cancel_order(order.id, accept_cancellation_charge=True)
    assert client.get_order(order.id).status in ("CANCELLED", "PENDING_CANCELLATION")
    deletes = [r for r in sandbox.requests_seen() if r["method"] == "DELETE"]
    assert "accept_cancellation_charge=true" in deletes[-1]["query"]


def test_validation_error_carries_the_servers_field_errors_exactly(client):
    with pytest.raises(ValidationError) as raised:
        client.create_order({"name": "bad", "geometry": {"type": "Point", "coordinates": [181, 40]}})
    assert raised.value.field_errors == {
        "geometry": ["Geometry longitude coordinate needs to be within -180.0 and 180.0"]}
    assert "geometry: Geometry longitude coordinate needs to be within -180.0 and 180.0" in str(raised.value)
    assert client.count_orders() == 0


def test_missing_name_is_a_field_error(client):
    with pytest.raises(ValidationError) as raised:
        client.create_order({"geometry": POINT})
    assert raised.value.field_errors.get("name") == ["This field is required."]


# --- authentication and the key's secrecy -----------------------------------------------------------


def test_wrong_key_is_an_authentication_error_that_never_shows_the_key(sandbox, caplog):
    key = "WRONG-KEY-f3a9c1d2e4b5a6978877"
    client = TaskingClient(sandbox.tasking_url, key, sleep=lambda s: None)
    caplog.set_level(logging.DEBUG, logger="satellite_tasking")
    with pytest.raises(AuthenticationError) as raised:
        client.list_orders()
    error = raised.value
    assert error.status == 401 and "API key" in str(error)
    for text in (str(error), repr(error), repr(client), repr(client.transport), str(error.body), error.message):
        assert key not in text
    assert caplog.records, "the request should have been logged"
    assert all(key not in record.getMessage() for record in caplog.records)
    with pytest.raises(AuthenticationError):
        TaskingClient(sandbox.tasking_url, "", sleep=lambda s: None).get_order("00000000-0000-4000-8000-000000000000")


def test_basic_auth_is_not_needed_the_api_key_header_is_sent(client, sandbox):
    client.list_orders()
    assert sandbox.requests_seen()[-1]["status"] == 200


# --- pricing -------------------------------------------------------------------------------------------


def test_order_pricing(client):
    order = client.create_order({"name": "priced", "geometry": POINT})
    pricing = client.order_pricing(order.id)
    assert pricing.order_id == order.id and pricing.ok
    assert pricing.units and pricing.estimated_quota_cost > 0 and pricing.determined_by == "pricing_model"
    assert pricing.pricing_model.base_price > 0 and pricing.pricing_model.multipliers


def test_preview_pricing_single_and_list_with_a_failure(client, sandbox):
    single = client.preview_pricing({"geometry": POINT})
    assert single.ok and single.estimated_quota_cost > 0 and single.order_id is None
    preview = client.preview_pricing_list([
        {"geometry": {"type": "Point", "coordinates": [181, 40]}}, {"geometry": POINT}, {"geometry": AREA}])
    first, second, third = preview.pricing_details
    assert not first.ok and first.error and first.estimated_quota_cost is None
    assert second.ok and third.ok and third.estimated_quota_cost > second.estimated_quota_cost
    assert preview.total_estimated_quota_cost == pytest.approx(second.estimated_quota_cost + third.estimated_quota_cost)
    assert client.count_orders() == 0  # a preview creates nothing


def test_preview_pricing_refuses_a_bad_payload(client):
    with pytest.raises(ValidationError) as raised:
        client.preview_pricing({"name": "no geometry"})
    assert "geometry" in raised.value.field_errors


# --- imaging windows -----------------------------------------------------------------------------------


def test_imaging_window_search_start_poll_and_order(client, sandbox):
    search = client.start_imaging_window_search(POINT, pl_number=contract(sandbox), product=ASSURED)
    assert search.status in ("CREATED", "IN_PROGRESS", "DONE") and search.id
    assert_aware_utc(search.start_time, search.end_time, search.created_time)
    progress: List[float] = []
    done = client.wait_imaging_window_search(search.id, poll=5.0, progress=progress.append, timeout=900)
    assert done.status == "DONE" and done.imaging_windows
    assert progress[-1] == 100.0 and progress == sorted(progress)
    window = windows_ahead(done.imaging_windows, sandbox)[0]
    assert window.start_time < window.end_time and window.assured_tasking_tier
    assert window.conflicting_orders == []
    assured = client.create_order({"name": "Assured Tasking order 01", "imaging_window": window.id, "product": ASSURED})
    assert assured.scheduling_type == "ASSURED" and assured.imaging_window == window.id
    price = client.preview_pricing({"imaging_window": done.imaging_windows[-1].id, "product": ASSURED, "geometry": POINT})
    assert price.ok


def test_waiting_for_a_search_hands_out_the_windows_found_so_far(client, sandbox):
    # "results will become available gradually up to 5 minutes" (planet-assured-tasking.txt): each poll's
    # state goes to on_partial, so a caller can show windows before the search is DONE.
    search = client.start_imaging_window_search(POINT, pl_number=contract(sandbox), product=ASSURED)
    states = []
    done = client.wait_imaging_window_search(search.id, poll=5.0, max_poll=5.0, timeout=900,
                                             on_partial=states.append)
    assert states[-1] is done and done.status == "DONE"
    counts = [len(s.imaging_windows) for s in states]
    assert counts == sorted(counts)
    partial = [s for s in states if s.status == "IN_PROGRESS" and 0 < len(s.imaging_windows) < len(done.imaging_windows)]
    assert partial, f"no partial results seen: {[(s.status, len(s.imaging_windows)) for s in states]}"
    done_ids = [w.id for w in done.imaging_windows]
    assert all({w.id for w in s.imaging_windows} <= set(done_ids) for s in states)


def test_replacing_windows_are_shown_only_when_asked(client, sandbox):
    done = search_done(client, sandbox)
    # The first window may start within minutes, too late to lock an order in (it would be REJECTED
    # and replace nothing): take one comfortably ahead, whatever the time of day.
    taken = windows_ahead(done.imaging_windows, sandbox)[0]
    existing = client.create_order({"name": "Existing Order to Replace", "imaging_window": taken.id, "product": ASSURED})
    second = search_done(client, sandbox, start_time=done.start_time, end_time=done.end_time)
    plain_ids = {w.id for w in second.imaging_windows}
    shown = client.get_imaging_window_search(second.id, show_replacing_imaging_windows=True)
    replacing = [w for w in shown.imaging_windows if w.conflicting_orders]
    assert replacing, "a window on the taken pass should be offered as a replacing one"
    assert all(w.id not in plain_ids for w in replacing)
    assert existing.id in {c.id for w in replacing for c in w.conflicting_orders}
    assert all(w.quota_priority_multiplier >= 1 for w in replacing)


def test_window_pricing_with_exclusivity_days(client, sandbox):
    done = search_done(client, sandbox)
    priced = client.get_imaging_window_search(done.id, exclusivity_days=30)
    assert all(w.pricing_details is not None and w.pricing_details.estimated_quota_cost > 0
               for w in priced.imaging_windows)
    with pytest.raises(ValidationError) as raised:
        client.get_imaging_window_search(done.id, exclusivity_days=5)
    assert "order_template__exclusivity_days" in raised.value.field_errors


def test_imaging_window_search_refuses_a_flexible_product_and_polygons(client, sandbox):
    with pytest.raises(ValidationError) as raised:
        client.start_imaging_window_search(POINT, pl_number=contract(sandbox), product="one_time_tasking")
    assert "product" in raised.value.field_errors
    with pytest.raises(ValidationError) as raised:
        client.start_imaging_window_search(AREA, pl_number=contract(sandbox), product=ASSURED)
    assert "geometry" in raised.value.field_errors
    with pytest.raises(ValidationError) as raised:
        client.start_imaging_window_search(POINT, pl_number=contract(sandbox, sandbox.other_key), product=ASSURED)
    assert "pl_number" in raised.value.field_errors


def test_wait_reports_progress_and_can_be_cancelled(client, sandbox):
    search = client.start_imaging_window_search(POINT, pl_number=contract(sandbox), product=ASSURED)
    calls = []

    def is_canceled() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(Cancelled):
        client.wait_imaging_window_search(search.id, poll=0.2, is_canceled=is_canceled, timeout=None)


def test_wait_gives_up_after_its_timeout(sandbox):
    # A sleep that does not move the simulated clock: the search never finishes.
    waits: List[float] = []
    client = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=waits.append)
    search = client.start_imaging_window_search(POINT, pl_number=contract(sandbox), product=ASSURED)
    with pytest.raises(WaitTimeout):
        client.wait_imaging_window_search(search.id, poll=1.0, max_poll=4.0, timeout=20.0)
    assert sum(waits) == pytest.approx(20.0) and max(waits) <= 4.0


# --- captures ------------------------------------------------------------------------------------------


def test_captures_filters_and_paging(client, sandbox):
    orders = [client.create_order({"name": f"captured {i}", "geometry": POINT}) for i in range(3)]
    sandbox.advance(30 * 86400)
    captures = list(client.iter_captures(order_ids=[o.id for o in orders], page_size=2))
    assert captures, "thirty simulated days should bring captures"
    assert {c.order_id for c in captures} <= {o.id for o in orders}
    for capture in captures:
        assert capture.status in ("QUEUED", "PROCESSING", "PUBLISHED", "FAILED")
        if capture.acquired_time:
            assert_aware_utc(capture.acquired_time)
    published = client.list_captures(order_ids=[o.id for o in orders], status="PUBLISHED")
    assert all(c.status == "PUBLISHED" for c in published.results)
    assert all(c.geometry and c.geometry["type"] in ("Polygon", "MultiPolygon") for c in published.results)
    fulfilling = client.list_captures(order_ids=orders[0].id, fulfilling=True)
    assert all(c.order_id == orders[0].id for c in fulfilling.results)
    for capture in fulfilling.results:
        assert client.get_order(capture.order_id).status in ("FULFILLED", "FINALIZING", "IN_PROGRESS")
    first_page = client.list_captures(order_ids=[o.id for o in orders], limit=1)
    assert first_page.count == len(captures) and len(first_page.results) == 1


# --- bulk ----------------------------------------------------------------------------------------------


def test_bulk_create_status_payloads_and_progress(client, sandbox):
    payloads = [
        {"name": "Bulk order 1", "geometry": {"type": "Point", "coordinates": [32.142035, -0.487188]}},
        {"name": "Bulk order 2", "geometry": {"type": "Point", "coordinates": [52.142035, 13.487188]}},
        {"name": "Bulk order 3", "geometry": {"type": "Point", "coordinates": [181, 40]}},
    ]
    bulk_id = client.create_bulk(payloads)
    assert len(bulk_id) == 36
    progress: List[float] = []
    status = client.wait_bulk(bulk_id, progress=progress.append)
    assert isinstance(status, BulkStatus) and status.is_complete and status.operation_type == "CREATE"
    assert (status.payload_count, status.successful_payload_count, status.failed_payload_count) == (3, 2, 1)
    assert progress[-1] == 100.0
    assert_aware_utc(status.start_time, status.end_time)
    results = list(client.iter_bulk_payloads(bulk_id))
    assert [p.ok for p in results] == [True, True, False]
    assert results[2].error and "Geometry longitude coordinate needs to be within -180.0 and 180.0" in results[2].error
    assert {client.get_order(p.order_id).name for p in results[:2]} == {"Bulk order 1", "Bulk order 2"}
    page = client.list_bulk_payloads(bulk_id, limit=2)
    assert page.count == 3 and len(page.results) == 2 and page.next


def test_bulk_edit_and_cancel(client, sandbox):
    orders = [client.create_order({"name": f"bulk target {i}", "geometry": POINT}) for i in range(2)]
    end = (sandbox.now() + timedelta(days=20)).replace(microsecond=0)
    edit_id = client.create_bulk([{"id": orders[0].id, "end_time": end}, {"id": orders[1].id, "name": "renamed"}],
                                 operation_type="EDIT")
    edited = client.wait_bulk(edit_id)
    assert edited.operation_type == "EDIT" and edited.successful_payload_count == 2
    assert client.get_order(orders[0].id).end_time == end
    assert client.get_order(orders[1].id).name == "renamed"
    # Bulk cancel takes only PENDING and IN_PROGRESS orders (planet-tasking-bulk.txt): let them be accepted.
    for _ in range(120):
        if all(client.get_order(o.id).status in ("PENDING", "IN_PROGRESS") for o in orders):
            break
        sandbox.advance(60)
    cancel_id = client.create_bulk([{"id": o.id} for o in orders], operation_type="CANCEL")
    cancelled = client.wait_bulk(cancel_id)
    assert cancelled.operation_type == "CANCEL" and cancelled.successful_payload_count == 2
    assert {client.get_order(o.id).status for o in orders} <= {"CANCELLED", "PENDING_CANCELLATION"}


def test_bulk_with_our_own_id_and_a_reused_id(client):
    bulk_id = "6b1d2f0c-4f0e-4b8e-9a55-1f2b3c4d5e6f"
    assert client.create_bulk([{"name": "own id", "geometry": POINT}], bulk_id=bulk_id) == bulk_id
    with pytest.raises(ValidationError) as raised:
        client.create_bulk([{"name": "again", "geometry": POINT}], bulk_id=bulk_id)
    assert "id" in raised.value.field_errors


def test_bulk_limits_are_checked_before_sending(client, sandbox):
    with pytest.raises(ValueError):
        client.create_bulk([{"name": str(i), "geometry": POINT} for i in range(1001)])
    with pytest.raises(ValueError):
        client.create_bulk([])
    with pytest.raises(ValueError):
        client.create_bulk([{"name": "x", "geometry": POINT}], bulk_id="example_uuid_string")
    assert sandbox.requests_seen() == []


def test_unknown_bulk_is_not_found(client):
    with pytest.raises(NotFoundError):
        client.get_bulk("00000000-0000-4000-8000-000000000000")


def test_every_error_is_an_api_error_with_a_status(client):
    with pytest.raises(ApiError) as raised:
        client.get_order("00000000-0000-4000-8000-000000000000")
    assert raised.value.status == 404 and raised.value.method == "GET"


def test_listings_asked_for_wkb_geometries_give_the_same_geometries(client, sandbox):
    from core.layers import geojson_to_geometry, wkb_to_geometry

    square = {"type": "Polygon", "coordinates": [[[10, 10], [10.1, 10], [10.1, 10.1], [10, 10.1], [10, 10]]]}
    for n, geometry in enumerate([square, {"type": "Point", "coordinates": [11, 11]}]):
        client.create_order({"name": f"wkb {n}", "geometry": geometry})
    sandbox.advance(40 * 3600)  # captures
    as_json = {o.id: o for o in client.iter_orders()}
    as_wkb = {o.id: o for o in client.iter_orders(geometry_as_wkb=True, page_size=1)}
    listed = {o.id: o for o in client.list_orders(geometry_as_wkb=True).results}
    assert set(as_json) == set(as_wkb) == set(listed) and len(as_json) == 2
    for order_id, order in as_json.items():
        for other in (as_wkb[order_id], listed[order_id]):
            assert isinstance(other.geometry, bytes) and other.name == order.name
            assert wkb_to_geometry(other.geometry).equals(geojson_to_geometry(order.geometry))
            assert wkb_to_geometry(other.original_geometry).equals(geojson_to_geometry(order.original_geometry))
    captures = {c.id: c for c in client.iter_captures(list(as_json))}
    captured = {c.id: c for c in client.iter_captures(list(as_json), geometry_as_wkb=True)}
    assert captures and set(captures) == set(captured)
    for capture_id, capture in captures.items():
        assert wkb_to_geometry(captured[capture_id].geometry).equals(geojson_to_geometry(capture.geometry))
