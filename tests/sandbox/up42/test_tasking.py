"""Tasking on the simulated clock: placement, feasibility study, quotation decided, fulfilment or the end."""

from __future__ import annotations

from datetime import timedelta

from sandbox.up42 import catalog
from tests.sandbox.helpers import advance_until
from tests.sandbox.up42.helpers import iso, parse, v2_body

PNEO_PARAMS = {"priority": "STANDARD", "pixelCoding": "12bits", "incidenceAngle": 30}


def status(up42, order_id):
    order = up42.order(order_id)
    return order["status"], order["orderDetails"]["subStatus"]


def quoted_order(sandbox, up42, **params):
    """A Pléiades order placed and waited on until its quotation waits for the user."""
    (order_id,) = up42.place(v2_body(sandbox.now(), **params))
    sandbox.advance(121 + 2 * 3600)
    assert status(up42, order_id) == ("PLACED", "QUOTATION_WAITING_RESPONSE")
    return order_id, up42.only("/v2/tasking/quotation", orderId=order_id)


def test_placement_steps_then_a_quotation_at_the_estimated_price(sandbox, up42):
    body = v2_body(sandbox.now())
    credits = up42.post("/v2/orders/estimate", body).json()["summary"]["totalCredits"]
    (order_id,) = up42.place(body)
    assert status(up42, order_id) == ("CREATED", None)
    sandbox.advance(30)
    assert status(up42, order_id) == ("BEING_PLACED", None)
    sandbox.advance(90)
    assert status(up42, order_id) == ("PLACED", "QUOTATION_WAITING_UPLOAD")
    assert up42.get("/v2/tasking/quotation", params={"orderId": order_id}).json()["content"] == []
    sandbox.advance(2 * 3600)
    assert status(up42, order_id) == ("PLACED", "QUOTATION_WAITING_RESPONSE")
    quotation = up42.only("/v2/tasking/quotation", orderId=order_id)
    assert quotation["decision"] == "NOT_DECIDED" and quotation["decisionAt"] is None
    assert quotation["creditsPrice"] == credits
    assert quotation["workspaceId"] == up42.workspace and quotation["orderId"] == order_id
    # Exactly what up42-py's Quotation reads, decisionAt always present.
    assert set(quotation) == {"id", "createdAt", "updatedAt", "decisionAt", "accountId", "workspaceId", "orderId",
                              "creditsPrice", "decision"}
    assert up42.get(f"/v2/tasking/quotation/{quotation['id']}").json() == quotation


def test_an_accepted_quotation_is_fulfilled_later_within_the_window(sandbox, up42):
    order_id, quotation = quoted_order(sandbox, up42)
    decided = up42.patch(f"/v2/tasking/quotation/{quotation['id']}", {"decision": "ACCEPTED"})
    assert decided.status_code == 200, decided.text
    assert decided.json()["decision"] == "ACCEPTED"
    assert parse(decided.json()["decisionAt"]) == sandbox.now()
    assert status(up42, order_id) == ("PLACED", "QUOTATION_ACCEPTED")
    assert advance_until(sandbox, lambda: status(up42, order_id)[0] == "BEING_FULFILLED", step=1800)
    captured = sandbox.now()
    order = up42.order(order_id)
    window = parse(order["orderDetails"]["acquisitionStart"]), parse(order["orderDetails"]["acquisitionEnd"])
    assert window[0] <= captured <= window[1] + timedelta(minutes=30)
    assert advance_until(sandbox, lambda: status(up42, order_id)[0] == "FULFILLED", step=1800)
    assert status(up42, order_id) == ("FULFILLED", "QUOTATION_ACCEPTED")
    again = up42.patch(f"/v2/tasking/quotation/{quotation['id']}", {"decision": "REJECTED"})
    assert again.status_code == 409


def test_a_rejected_quotation_ends_the_order(sandbox, up42):
    order_id, quotation = quoted_order(sandbox, up42)
    bad = up42.patch(f"/v2/tasking/quotation/{quotation['id']}", {"decision": "MAYBE"})
    assert bad.status_code == 400 and bad.json()["detail"].startswith("decision:")
    assert up42.patch(f"/v2/tasking/quotation/{quotation['id']}", {}).status_code == 400
    rejected = up42.patch(f"/v2/tasking/quotation/{quotation['id']}", {"decision": "REJECTED"}).json()
    assert rejected["decision"] == "REJECTED" and rejected["decisionAt"] is not None
    assert status(up42, order_id) == ("FAILED_PERMANENTLY", "QUOTATION_REJECTED")
    sandbox.advance(40 * 86400)
    assert status(up42, order_id) == ("FAILED_PERMANENTLY", "QUOTATION_REJECTED")


def test_a_quotation_left_undecided_until_the_window_ends_fails_the_order(sandbox, up42):
    now = sandbox.now()
    order_id, quotation = quoted_order(sandbox, up42, acquisitionStart=iso(now + timedelta(hours=1)),
                                       acquisitionEnd=iso(now + timedelta(days=1)))
    sandbox.advance(86400)
    assert status(up42, order_id) == ("FAILED_PERMANENTLY", "QUOTATION_WAITING_RESPONSE")
    late = up42.patch(f"/v2/tasking/quotation/{quotation['id']}", {"decision": "ACCEPTED"})
    assert late.status_code == 409 and "can no longer be decided" in late.json()["detail"]
    assert up42.get(f"/v2/tasking/quotation/{quotation['id']}").json()["decision"] == "NOT_DECIDED"


def test_a_quotation_accepted_too_late_for_a_capture_fails_the_order_at_the_windows_end(sandbox, up42):
    now = sandbox.now()
    end = now + timedelta(hours=5)  # the quotation comes after 2 h; a capture needs 6 h more
    order_id, quotation = quoted_order(sandbox, up42, acquisitionStart=iso(now + timedelta(hours=1)),
                                       acquisitionEnd=iso(end))
    assert up42.patch(f"/v2/tasking/quotation/{quotation['id']}", {"decision": "ACCEPTED"}).status_code == 200
    assert status(up42, order_id) == ("PLACED", "QUOTATION_ACCEPTED")
    sandbox.advance((end - sandbox.now()).total_seconds() + 1)
    assert status(up42, order_id) == ("FAILED_PERMANENTLY", "QUOTATION_ACCEPTED")
    assert parse(up42.order(order_id)["updatedAt"]) == end


def test_a_feasibility_study_comes_first_for_products_that_require_one(sandbox, up42):
    body = v2_body(sandbox.now(), product=catalog.PNEO_ANALYTIC, **PNEO_PARAMS)
    credits = up42.post("/v2/orders/estimate", body).json()["summary"]["totalCredits"]
    (order_id,) = up42.place(body)
    sandbox.advance(120)
    assert status(up42, order_id) == ("PLACED", "FEASIBILITY_WAITING_UPLOAD")
    sandbox.advance(4 * 3600)
    assert status(up42, order_id) == ("PLACED", "FEASIBILITY_WAITING_RESPONSE")
    study = up42.only("/v2/tasking/feasibility-studies", orderId=order_id)
    assert study["decision"] == "NOT_DECIDED" and study["decisionAt"] is None and study["decisionOption"] is None
    assert len(study["options"]) == 2 and all({"id", "description"} <= set(o) for o in study["options"])
    path = f"/v2/tasking/feasibility-studies/{study['id']}"
    wrong = up42.patch(path, {"acceptedOptionId": "00000000-0000-4000-8000-000000000000"})
    assert wrong.status_code == 400 and wrong.json()["detail"].startswith("acceptedOptionId:")
    assert up42.patch(path, {}).status_code == 400
    priority = study["options"][1]
    accepted = up42.patch(path, {"acceptedOptionId": priority["id"]})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["decision"] == "ACCEPTED"
    assert accepted.json()["decisionOption"] == {"id": priority["id"], "description": priority["description"]}
    assert up42.patch(path, {"acceptedOptionId": priority["id"]}).status_code == 409
    assert status(up42, order_id) == ("PLACED", "QUOTATION_WAITING_UPLOAD")
    sandbox.advance(2 * 3600)
    quotation = up42.only("/v2/tasking/quotation", orderId=order_id)
    assert quotation["creditsPrice"] == round(credits * 1.5)  # the priority option's terms
    assert status(up42, order_id) == ("PLACED", "QUOTATION_WAITING_RESPONSE")


def test_studies_and_quotations_list_filter_sort_and_stay_in_their_workspace(sandbox, up42, other_up42):
    cheap, _ = quoted_order(sandbox, up42, acquisitionMode="mono")
    dear, quotation = quoted_order(sandbox, up42, acquisitionMode="stereo")
    by_price = up42.get("/v2/tasking/quotation", params={"sort": "creditsPrice,desc"}).json()["content"]
    assert [q["orderId"] for q in by_price] == [dear, cheap]
    up42.patch(f"/v2/tasking/quotation/{quotation['id']}", {"decision": "ACCEPTED"})
    assert [q["orderId"] for q in up42.get("/v2/tasking/quotation", params={"decision": "NOT_DECIDED"}).json()[
        "content"]] == [cheap]
    assert up42.get("/v2/tasking/quotation", params={"decision": "MAYBE"}).status_code == 400
    assert up42.get("/v2/tasking/quotation", params={"id": quotation["id"]}).json()["totalElements"] == 1
    assert up42.get("/v2/tasking/quotation", params={"workspaceId": up42.workspace}).json()["totalElements"] == 2
    assert other_up42.get("/v2/tasking/quotation").json()["content"] == []
    assert other_up42.patch(f"/v2/tasking/quotation/{quotation['id']}", {"decision": "REJECTED"}).status_code == 404
    assert other_up42.get("/v2/tasking/feasibility-studies").json()["content"] == []
    assert up42.get("/v2/tasking/feasibility-studies", params={"decision": "REJECTED"}).status_code == 400


def test_a_feasibility_study_left_undecided_until_the_window_ends_fails_the_order(sandbox, up42):
    now = sandbox.now()
    (order_id,) = up42.place(v2_body(now, product=catalog.PNEO_ANALYTIC, acquisitionStart=iso(now),
                                     acquisitionEnd=iso(now + timedelta(hours=6)), **PNEO_PARAMS))
    sandbox.advance(121 + 4 * 3600)
    study = up42.only("/v2/tasking/feasibility-studies", orderId=order_id)
    sandbox.advance(2 * 3600)
    assert status(up42, order_id) == ("FAILED_PERMANENTLY", "FEASIBILITY_WAITING_RESPONSE")
    late = up42.patch(f"/v2/tasking/feasibility-studies/{study['id']}", {"acceptedOptionId": study["options"][0]["id"]})
    assert late.status_code == 409
    assert up42.get("/v2/tasking/quotation", params={"orderId": order_id}).json()["content"] == []
