"""Up42Client against the sandbox over HTTP: login and token refresh, every endpoint it uses, refusals by
parameter, faults, and a create never made twice."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Dict, List

import pytest

from core.errors import AuthenticationError, ConflictError, NotFoundError, OrderCreationUncertain, ValidationError
from core.services.up42.client import Up42Client
from core.services.up42.models import OrderParametersRefused, format_time

PLEIADES = "bd102407-1814-4f92-8b5a-7697b7a73f5a"
WORLDVIEW = "5e2a3b4c-7d8e-4f90-a1b2-c3d4e5f60718"
PLEIADES_ARCHIVE = "2d1c0b9a-8f7e-4d6c-b5a4-9382716f5e4d"
PARAMS: Dict[str, Any] = {"acquisitionMode": "mono", "radiometricProcessing": "reflectance",
                          "geometricProcessing": "ortho", "spectralProcessing": "bundle", "deliveredAs": "geotiff",
                          "cloudCoverage": 10, "incidenceAngle": 10, "pixelCoding": "12bits", "projection": 4326}


def square(lon: float = 13.35, lat: float = 52.51, size: float = 0.1) -> Dict[str, Any]:
    return {"type": "Polygon", "coordinates": [[[lon, lat], [lon + size, lat], [lon + size, lat + size],
                                                [lon, lat + size], [lon, lat]]]}


def order_request(sandbox, name: str = "Berlin", product: str = PLEIADES, geometries: List[dict] = None,
                  **params: Any) -> Dict[str, Any]:
    now = sandbox.now()
    body = dict(PARAMS) if product == PLEIADES else {}
    body.update(acquisitionStart=format_time(now + timedelta(days=1)),
                acquisitionEnd=format_time(now + timedelta(days=31)))
    body.update(params)
    return {"dataProduct": product, "displayName": name, "params": body,
            "featureCollection": {"type": "FeatureCollection", "features": [
                {"type": "Feature", "properties": {}, "geometry": g} for g in geometries or [square()]]}}


class RecordingSleep:
    """Stands in for time.sleep: records each wait (the token clock is the wall clock, so it is not moved)."""

    def __init__(self):
        self.waits: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def account(sandbox) -> Dict[str, str]:
    accounts = sandbox.control("GET", "up42/accounts")["accounts"]
    return next(a for a in accounts if a["password"] == sandbox.api_key)


@pytest.fixture
def other_account(sandbox) -> Dict[str, str]:
    accounts = sandbox.control("GET", "up42/accounts")["accounts"]
    return next(a for a in accounts if a["password"] == sandbox.other_key)


@pytest.fixture
def sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
def client(sandbox, account, sleep) -> Up42Client:
    made = Up42Client(sandbox.root, account["username"], account["password"], sleep=sleep, timeout=10.0)
    yield made
    made.close()


def up42_requests(sandbox) -> List[Dict[str, Any]]:
    return [r for r in sandbox.requests_seen() if r["path"].startswith(("/v2/", "/realms/", "/orders/schema/"))]


def test_logs_in_with_the_password_and_reads_its_workspace_from_userinfo(client, account):
    assert client.workspace_id == account["workspace_id"]
    assert client.logins == 1
    assert repr(client).endswith("password=***)")  # the password (here a prefix of the user name) is never shown


def test_a_wrong_password_is_an_authentication_error_naming_the_credentials(sandbox, account):
    bad = Up42Client(sandbox.root, account["username"], "not-the-password", timeout=10.0)
    with pytest.raises(AuthenticationError, match="user name or password"):
        assert bad.workspace_id
    bad.close()


def test_the_glossary_lists_the_tasking_products_and_their_schemas(client):
    products = client.data_products()
    ids = {p.id for p in products}
    assert PLEIADES in ids and WORLDVIEW in ids
    assert PLEIADES_ARCHIVE not in ids  # an archive product is no tasking product
    assert PLEIADES_ARCHIVE in {p.id for p in client.data_products(tasking_only=False)}
    worldview = next(p for p in products if p.id == WORLDVIEW)
    assert worldview.needs_feasibility_study and worldview.label == "WorldView — Standard"
    for product in products:
        schema = client.schema(product.id)
        assert schema["type"] == "object" and ("properties" in schema or "allOf" in schema)


def test_an_unknown_product_schema_is_not_found(client):
    with pytest.raises(NotFoundError):
        client.schema("00000000-0000-4000-8000-000000000000")


def test_estimate_in_credits_and_a_refused_parameter_named(sandbox, client):
    estimate = client.estimate(order_request(sandbox))
    assert estimate.errors == [] and estimate.unit == "SQ_KM" and estimate.total_credits > 0
    assert estimate.total_credits == estimate.results[0]["credits"]
    refused = client.estimate(order_request(sandbox, cloudCoverage=150))
    assert refused.results == []
    assert "params.cloudCoverage" in refused.errors[0].field_errors


def test_create_get_and_list_with_pages_from_zero(sandbox, client):
    made = [client.create_order(order_request(sandbox, name=f"order {i}", geometries=[square(13 + i)]))
            for i in range(3)]
    first = made[0]
    assert first.status == "CREATED" and first.name == "order 0" and first.data_product_id == PLEIADES
    assert client.get_order(first.id).geometry == square(13)
    page = client.list_orders(size=2)
    assert page.number == 0 and page.total_pages == 2 and page.count == 3
    assert [o.name for o in page.results] == ["order 2", "order 1"]  # newest first
    assert sorted(o.name for o in client.iter_orders(size=2)) == ["order 0", "order 1", "order 2"]
    assert [o.id for o in client.list_orders(order_ids=[first.id]).results] == [first.id]
    assert client.list_orders(status=["FULFILLED"]).results == []


def test_a_refused_order_raises_with_messages_per_parameter(sandbox, client):
    with pytest.raises(OrderParametersRefused) as caught:
        client.create_order(order_request(sandbox, cloudCoverage=150, acquisitionMode="sideways"))
    fields = caught.value.field_errors
    assert "maximum of 100" in " ".join(fields["params.cloudCoverage"])
    assert "params.acquisitionMode" in fields
    assert client.list_orders().results == []


def test_an_unreadable_request_is_a_validation_error_naming_the_parameter(client):
    with pytest.raises(ValidationError) as caught:
        client.place({"displayName": "no product", "params": {}})
    assert caught.value.field_errors == {"dataProduct": ["is required"]}
    assert str(caught.value) == "UP42 refused the request: dataProduct: is required"


def test_another_workspace_order_is_not_found(sandbox, client, other_account):
    order = client.create_order(order_request(sandbox))
    other = Up42Client(sandbox.root, other_account["username"], other_account["password"], timeout=10.0)
    with pytest.raises(NotFoundError):
        other.get_order(order.id)
    assert other.list_orders().results == []
    other.close()


def test_feasibility_option_accepted_then_quotation_accepted(sandbox, client):
    order = client.create_order(order_request(sandbox, product=WORLDVIEW, acquisitionMode="mono",
                                              maxCloudCover=20, priority="STANDARD"))
    sandbox.advance(120 + 4 * 3600)
    assert client.get_order(order.id).sub_status == "FEASIBILITY_WAITING_RESPONSE"
    (study,) = client.feasibility_studies(order.id)
    assert study.decision == "NOT_DECIDED" and [o.price_factor for o in study.options] == [1.0, 1.5]
    accepted = client.accept_feasibility_option(study.id, study.options[1].id)
    assert accepted.decision == "ACCEPTED" and accepted.decision_option_id == study.options[1].id
    sandbox.advance(2 * 3600)
    (quotation,) = client.quotations(order.id)
    assert quotation.decision == "NOT_DECIDED" and quotation.decision_at is None
    estimate = client.estimate(order_request(sandbox, product=WORLDVIEW, acquisitionMode="mono",
                                             maxCloudCover=20, priority="STANDARD"))
    assert quotation.credits_price == round(estimate.total_credits * 1.5)
    decided = client.decide_quotation(quotation.id, "ACCEPTED")
    assert decided.decision == "ACCEPTED" and decided.decision_at is not None
    assert client.get_order(order.id).sub_status == "QUOTATION_ACCEPTED"


def test_cancel_before_placement_and_its_lost_answer(sandbox, client):
    first = client.create_order(order_request(sandbox, name="first", geometries=[square(13)]))
    client.cancel_order(first.id)
    assert client.get_order(first.id).status == "CANCELED"
    second = client.create_order(order_request(sandbox, name="second", geometries=[square(14)]))
    sandbox.fault(path="/cancellation$", method="POST", kind="status", status=502, when="after")
    client.cancel_order(second.id)  # sent again, answered 409 "CANCELED": done
    assert client.get_order(second.id).status == "CANCELED"
    third = client.create_order(order_request(sandbox, name="third", geometries=[square(15)]))
    sandbox.advance(60)  # BEING_PLACED: too late to cancel
    with pytest.raises(ConflictError, match="cannot be canceled"):
        client.cancel_order(third.id)


def test_a_feasibility_decision_whose_answer_was_lost_is_read_back(sandbox, client):
    order = client.create_order(order_request(sandbox, product=WORLDVIEW, acquisitionMode="mono",
                                              maxCloudCover=20, priority="STANDARD"))
    sandbox.advance(120 + 4 * 3600)
    (study,) = client.feasibility_studies(order.id)
    sandbox.fault(path="/v2/tasking/feasibility-studies/", method="PATCH", kind="drop", when="after")
    accepted = client.accept_feasibility_option(study.id, study.options[0].id)
    assert accepted.decision_option_id == study.options[0].id
    assert client.get_order(order.id).sub_status == "QUOTATION_WAITING_UPLOAD"
    with pytest.raises(ConflictError):  # another option afterwards is refused, not taken for the same
        client.accept_feasibility_option(study.id, study.options[1].id)


def test_a_rejected_quotation_fails_the_order(sandbox, client):
    order = client.create_order(order_request(sandbox))
    sandbox.advance(120 + 2 * 3600)
    (quotation,) = client.quotations(order.id)
    client.decide_quotation(quotation.id, "REJECTED")
    after = client.get_order(order.id)
    assert (after.status, after.sub_status) == ("FAILED_PERMANENTLY", "QUOTATION_REJECTED")


def test_a_decision_whose_answer_was_lost_is_read_back_not_refused(sandbox, client):
    order = client.create_order(order_request(sandbox))
    sandbox.advance(120 + 2 * 3600)
    (quotation,) = client.quotations(order.id)
    sandbox.fault(path="/v2/tasking/quotation/", method="PATCH", kind="status", status=502, when="after")
    assert client.decide_quotation(quotation.id, "ACCEPTED").decision == "ACCEPTED"
    assert client.get_order(order.id).sub_status == "QUOTATION_ACCEPTED"


def test_the_token_is_renewed_before_it_expires(sandbox, account):
    now = [1000.0]
    client = Up42Client(sandbox.root, account["username"], account["password"], timeout=10.0, clock=lambda: now[0])
    client.list_orders()
    assert client.logins == 1
    now[0] += 300 - 31  # the sandbox's tokens live 300 s; still more than the 30 s margin left
    client.list_orders()
    assert client.logins == 1
    now[0] += 2  # within 30 s of the end: renewed before the request leaves
    client.list_orders()
    assert client.logins == 2
    assert all(r["status"] != 401 for r in up42_requests(sandbox))
    client.close()


def test_a_short_lived_token_is_renewed_by_its_expires_in(sandbox, account):
    sandbox.control("POST", "up42/token-lifetime", {"seconds": 40})
    now = [0.0]
    client = Up42Client(sandbox.root, account["username"], account["password"], timeout=10.0, clock=lambda: now[0])
    client.list_orders()
    now[0] = 11.0  # 40 s lifetime minus the 30 s margin
    client.list_orders()
    assert client.logins == 2
    client.close()


def test_a_revoked_token_gets_one_new_login_after_the_401(sandbox, client):
    client.list_orders()
    sandbox.control("POST", "up42/tokens/expire", {})
    assert client.list_orders().results == []
    assert client.logins == 2
    assert [r["status"] for r in up42_requests(sandbox) if r["path"] == "/v2/orders"] == [200, 401, 200]


def test_a_passing_503_on_a_read_is_retried_after_the_wait_it_asks(sandbox, client, sleep):
    order = client.create_order(order_request(sandbox))
    sandbox.fault(path=f"/v2/orders/{order.id}", method="GET", kind="status", status=503, retry_after=7, count=2)
    assert client.get_order(order.id).id == order.id
    assert len(sleep.waits) == 2 and all(7 <= w <= 7.7 for w in sleep.waits)


def test_a_failing_login_service_is_retried(sandbox, account, sleep):
    sandbox.fault(path="/openid-connect/token", kind="status", status=503, retry_after=4, count=1)
    client = Up42Client(sandbox.root, account["username"], account["password"], timeout=10.0, sleep=sleep)
    assert client.workspace_id == account["workspace_id"]
    assert len(sleep.waits) == 1 and 4 <= sleep.waits[0] <= 4.4  # as long as the service asked
    client.close()


@pytest.mark.parametrize("kind, status", [("status", 500), ("drop", None), ("malformed", None)])
def test_a_create_whose_answer_was_lost_is_found_not_sent_again(sandbox, client, kind, status):
    spec = dict(path="^/v2/orders$", method="POST", kind=kind, when="after")
    if status:
        spec["status"] = status
    sandbox.fault(**spec)
    request = order_request(sandbox, geometries=[square(13), square(14)])
    placement = client.place(request)
    orders = client.list_orders().results
    assert len(orders) == 2 and set(placement.ids.values()) == {o.id for o in orders}
    assert client.get_order(placement.ids[0]).geometry == square(13)
    posts = [r for r in up42_requests(sandbox) if r["method"] == "POST" and r["path"] == "/v2/orders"]
    assert len(posts) == 1


def test_a_batch_of_many_features_whose_answer_was_lost_is_found_whole(sandbox, client):
    client.create_order(order_request(sandbox, name="earlier"))  # an order from before, not the batch's
    sandbox.fault(path="^/v2/orders$", method="POST", kind="drop", when="after")
    geometries = [square(10 + i * 0.2, 40) for i in range(120)]  # more than a default page of orders
    placement = client.place(order_request(sandbox, name="batch", geometries=geometries))
    assert sorted(placement.ids) == list(range(120))
    assert client.get_order(placement.ids[77]).geometry == geometries[77]
    assert client.list_orders(size=200).count == 121


def test_a_create_refused_before_it_was_processed_is_sent_again_once(sandbox, client, sleep):
    sandbox.fault(path="^/v2/orders$", method="POST", kind="status", status=503, when="before")
    placement = client.place(order_request(sandbox))
    assert len(placement.ids) == 1 and len(client.list_orders().results) == 1
    posts = [r for r in up42_requests(sandbox) if r["method"] == "POST" and r["path"] == "/v2/orders"]
    assert [p["status"] for p in posts] == [503, 200]


def test_a_create_timing_out_is_never_sent_again(sandbox, account, sleep):
    client = Up42Client(sandbox.root, account["username"], account["password"], timeout=1.0, sleep=sleep)
    assert client.workspace_id  # logged in before the fault, so only the create is delayed
    sandbox.fault(path="^/v2/orders$", method="POST", kind="delay", delay_seconds=2.5)
    with pytest.raises(OrderCreationUncertain, match="may still be made"):
        client.place(order_request(sandbox))
    time.sleep(2.0)  # the delayed POST is processed after the client stopped waiting for it
    assert len(client.list_orders().results) == 1  # made once, by the one POST
    posts = [r for r in up42_requests(sandbox) if r["method"] == "POST" and r["path"] == "/v2/orders"]
    assert len(posts) == 1
    client.close()
