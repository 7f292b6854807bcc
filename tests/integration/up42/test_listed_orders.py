"""UP42 orders as a source of the Orders tab's list (core.app.listed_orders) against the sandbox: every page read
newest first with the status filtered by UP42, the name and times filtered here, products by name, cancel where
UP42 allows it and its refusal as the outcome, and a glossary that cannot be read costing only the names."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import parse_qs

import pytest

from core.app.listed_orders import ListedTaskingSource, listed_services
from core.app.merged_orders import MergedFilter
from core.services import registry
from tests.integration.up42.test_up42_client import PLEIADES, order_request, square


@pytest.fixture
def client(make_up42_client):
    return make_up42_client()


def source() -> ListedTaskingSource:
    return ListedTaskingSource(registry.service("up42"))


def order_pages(sandbox):
    return [parse_qs(r["query"] or "") for r in sandbox.requests_seen()
            if r["method"] == "GET" and r["path"] == "/v2/orders"]


def test_up42_is_the_tasking_service_listed_whole_with_its_descriptors_states():
    assert [d.id for d in listed_services()] == ["up42"]
    up42 = source()
    assert up42.label == "UP42" and up42.states[0] == "CREATED"
    assert up42.open_states == {"CREATED", "BEING_PLACED", "PLACED", "BEING_FULFILLED"}


def test_every_page_newest_first_with_the_status_filtered_by_up42(sandbox, client, monkeypatch):
    import core.app.listed_orders as listed

    monkeypatch.setattr(listed, "PAGE_SIZE", 2)
    made = []
    for n in range(5):
        made.append(client.create_order(order_request(sandbox, name=f"site {n}", geometries=[square(13 + n / 10)])))
        sandbox.advance(2)
    client.cancel_order(made[1].id)
    up42 = source()
    before = len(order_pages(sandbox))
    every = up42.list_orders(client, MergedFilter())
    assert [o.id for o in every] == [o.id for o in reversed(made)]
    pages = order_pages(sandbox)[before:]
    assert [p["page"] for p in pages] == [["0"], ["1"], ["2"]]
    assert {p["sort"][0] for p in pages} == {"createdAt,desc"}
    assert up42.value(every[0], "order_type") == up42.product(every[0]) and "Pléiades" in up42.product(every[0])
    assert PLEIADES not in up42.product(every[0])

    cancelled = up42.list_orders(client, MergedFilter(states=("CANCELED",)))
    assert [o.id for o in cancelled] == [made[1].id]
    assert order_pages(sandbox)[-1]["status"] == ["CANCELED"]
    assert [o.id for o in up42.list_orders(client, MergedFilter(name_contains="SITE 3"))] == [made[3].id]
    since = up42.list_orders(client, MergedFilter(created_after=made[3].created_at - timedelta(milliseconds=1)))
    assert [o.id for o in since] == [made[4].id, made[3].id]
    assert up42.list_orders(client, MergedFilter(states=())) == []
    assert up42.list_orders(client, MergedFilter(kind="scenes")) == []  # a type only another service has


def test_cancel_while_created_and_the_refusal_once_placement_started(sandbox, client):
    up42 = source()
    first = client.create_order(order_request(sandbox, name="first"))
    second = client.create_order(order_request(sandbox, name="second", geometries=[square(13.05, 52.39)]))
    assert up42.can_cancel(first)
    outcome, fresh = up42.cancel(client, [first.id])
    assert outcome.cancelled == [first.id] and fresh.status == "CANCELED"
    assert outcome.summary() == "1 UP42 order cancelled."

    sandbox.advance(40)  # UP42 starts placing the second
    moved = client.get_order(second.id)
    verdict = up42.can_cancel(moved)
    assert not verdict and "BEING_PLACED" in verdict.reason and "CREATED" in verdict.reason
    outcome, fresh = up42.cancel(client, [second.id])  # the list still said CREATED: UP42 refuses
    assert outcome.cancelled == [] and "cannot be canceled" in outcome.refused[second.id]
    assert fresh.status == "BEING_PLACED"


def test_an_unreadable_glossary_costs_only_the_products_names(sandbox, client):
    placed = client.create_order(order_request(sandbox))
    client.transport.sleep = lambda seconds: None  # its retries of the failing glossary take no time
    sandbox.fault(path="^/v2/collections$", method="GET", kind="status", status=500, count=20)
    up42 = source()
    listed = up42.list_orders(client, MergedFilter())
    assert [o.id for o in listed] == [placed.id]
    assert up42.product(listed[0]) == PLEIADES
