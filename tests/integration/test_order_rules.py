"""core.services.planet_tasking.rules against the documented state table and against the sandbox: what it allows, the service does."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from core.errors import ValidationError
from core.services.planet_tasking.models import ORDER_STATUSES, Order
from core.services.planet_tasking.rules import (
    can_bulk_cancel,
    can_cancel,
    can_edit_end_time,
    can_edit_name,
    can_edit_start_time,
    edit_problems,
    permissions,
)
from tests.integration.order_states import (
    assured_windows,
    create_assured,
    make_client,
    make_every_state,
    sim_now,
)

NOW = datetime(2024, 5, 1, 12, tzinfo=timezone.utc)
# planet-tasking-api.txt's table (PENDING / IN_PROGRESS) with facts.md's RECEIVED and REQUESTED.
EXPECTED = {
    #                       name   start  end    cancel
    "RECEIVED":             (True, True, True, True),
    "PENDING":              (True, True, True, True),
    "REQUESTED":            (True, True, True, False),
    "IN_PROGRESS":          (True, False, True, True),
    "FINALIZING":           (False, False, False, False),
    "FULFILLED":            (False, False, False, False),
    "CANCELLED":            (False, False, False, False),
    "PENDING_CANCELLATION": (False, False, False, False),
    "REJECTED":             (False, False, False, False),
    "EXPIRED":              (False, False, False, False),
    "FAILED":               (False, False, False, False),
}


def order(status: str, **extra) -> Order:
    values = dict(id="o", name="x", status=status, scheduling_type="FLEXIBLE", is_cancellable=True,
                  start_time=NOW - timedelta(days=1), end_time=NOW + timedelta(days=10),
                  cancellable_until=NOW + timedelta(days=10))
    values.update(extra)
    return Order(**values)


@pytest.mark.parametrize("status", ORDER_STATUSES)
def test_every_status_follows_the_documented_table_with_a_reason_when_refused(status):
    subject = order(status)
    got = (can_edit_name(subject), can_edit_start_time(subject), can_edit_end_time(subject), can_cancel(subject, NOW))
    assert tuple(bool(p) for p in got) == EXPECTED[status]
    for permission in got:
        assert permission.allowed or (status in permission.reason or "cannot" in permission.reason)
        assert permission.allowed == (permission.reason == "")


def test_assured_times_are_fixed_and_the_service_flags_win_for_cancel():
    assured = order("PENDING", scheduling_type="ASSURED")
    assert can_edit_name(assured) and not can_edit_start_time(assured) and not can_edit_end_time(assured)
    assert "imaging window" in can_edit_start_time(assured).reason
    past_until = order("IN_PROGRESS", cancellable_until=NOW - timedelta(minutes=1))
    assert not can_cancel(past_until, NOW) and "cancellable until" in can_cancel(past_until, NOW).reason
    assert not can_cancel(order("PENDING", is_cancellable=False), NOW)
    assert not can_bulk_cancel(order("RECEIVED"), NOW) and can_bulk_cancel(order("PENDING"), NOW)


def test_edit_problems_are_found_before_sending():
    running = order("IN_PROGRESS")
    assert edit_problems(running, end_time=NOW + timedelta(days=2), now=NOW) == []
    assert edit_problems(running, start_time=NOW, now=NOW)  # start time not editable IN_PROGRESS
    assert edit_problems(order("PENDING"), end_time=NOW - timedelta(days=2), now=NOW)  # before start, in the past
    assert edit_problems(order("PENDING"), name="  ", now=NOW) == ["The name may not be blank."]
    assert permissions(order("FULFILLED"), NOW).any_edit is False


def _service_allows(call, *args, **kwargs) -> bool:
    try:
        call(*args, **kwargs)
    except ValidationError:
        return False
    return True


def test_edit_and_cancel_in_every_reachable_state_do_what_the_rules_say(sandbox):
    client = make_client(sandbox)
    make_every_state(sandbox, client)
    now = sim_now(sandbox)
    windows = [w for w in assured_windows(sandbox, client) if w.start_time > now + timedelta(hours=3)]
    create_assured(client, windows[0].id, "assured received")
    client.create_order({"name": "flexible received", "geometry": {"type": "Point", "coordinates": [1, 2]}})
    grouped = {}
    for subject in client.iter_orders(page_size=500):
        grouped.setdefault(subject.status, []).append(subject)
    assert {"RECEIVED", "PENDING", "IN_PROGRESS", "FULFILLED", "EXPIRED", "CANCELLED",
            "PENDING_CANCELLATION"} <= set(grouped)
    assert {o.scheduling_type for o in grouped["RECEIVED"]} == {"FLEXIBLE", "ASSURED"}
    checked = 0
    for status, orders in grouped.items():
        for subject in orders:
            rules = permissions(subject, now)
            new_start = subject.start_time + timedelta(hours=1) if subject.start_time > now else now + timedelta(hours=1)
            new_end = max(subject.end_time, now) + timedelta(days=1)
            assert _service_allows(client.edit_order, subject.id, name=subject.name + " (edited)") \
                == rules.name.allowed, (status, "name")
            assert _service_allows(client.edit_order, subject.id, start_time=new_start) \
                == rules.start_time.allowed, (status, subject.scheduling_type, "start")
            assert _service_allows(client.edit_order, subject.id, end_time=new_end) \
                == rules.end_time.allowed, (status, subject.scheduling_type, "end")
            fresh = client.get_order(subject.id)
            assert _service_allows(client.cancel_order, subject.id, accept_cancellation_charge=True) \
                == can_cancel(fresh, now).allowed, (status, "cancel")
            checked += 1
    assert checked >= 25
