"""core.services.planet_tasking.query: the list_orders parameters the Orders tab's filters and ordering make."""

from __future__ import annotations

from datetime import datetime, timezone

from core.services.planet_tasking.query import DEFAULT_ORDERING, OrdersQuery


def test_no_filter_sends_only_the_ordering():
    assert OrdersQuery().params() == {"ordering": list(DEFAULT_ORDERING)}


def test_one_status_is_an_exact_match_several_are_status_in():
    assert OrdersQuery(statuses=["FULFILLED"]).params()["status"] == "FULFILLED"
    params = OrdersQuery(statuses=["FULFILLED", "EXPIRED"]).params()
    assert params["status__in"] == ["FULFILLED", "EXPIRED"] and "status" not in params


def test_name_is_trimmed_and_blank_names_are_not_sent():
    assert OrdersQuery(name_contains="  alpha ").params()["name__icontains"] == "alpha"
    assert "name__icontains" not in OrdersQuery(name_contains="   ").params()


def test_time_bounds_types_and_ordering():
    moment = datetime(2026, 1, 2, 3, 4, tzinfo=timezone.utc)
    params = OrdersQuery(created_after=moment, created_before=moment, updated_after=moment, updated_before=moment,
                         scheduling_type="ASSURED", order_type="STEREO", ordering=("name", "id")).params()
    assert params == {"ordering": ["name", "id"], "created_time__gte": moment, "created_time__lte": moment,
                      "updated_time__gte": moment, "updated_time__lte": moment, "scheduling_type": "ASSURED",
                      "order_type": "STEREO"}
