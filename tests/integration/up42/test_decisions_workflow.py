"""The decisions workflow (core.app.decisions) against the sandbox: pending studies and quotations read with their
orders, nothing sent without the user's yes, each decision sent once, and the orders end as the sandbox says."""

from __future__ import annotations

from typing import Any, Dict, List

from core.app import decisions
from tests.integration.up42.test_up42_client import WORLDVIEW, order_request, square


def patches(sandbox) -> List[Dict[str, Any]]:
    return [r for r in sandbox.requests_seen() if r["method"] == "PATCH" and r["path"].startswith("/v2/tasking/")]


def in_line(description, fn, on_success, on_error=None):
    """Stands in for a TaskGroup's run: the task's work done at once, its callbacks as QGIS would call them."""
    try:
        result = fn(None)
    except Exception as error:  # noqa: BLE001 - handed to on_error as a task's failure is
        on_error(error)
    else:
        on_success(result)


class Recorder:
    def __init__(self, workflow: decisions.DecisionsWorkflow):
        self.seen: Dict[str, List[Any]] = {"loaded": [], "failed": [], "decided": [], "declined": []}
        for name, items in self.seen.items():
            getattr(workflow, name).connect(items.append)


def test_pending_decisions_are_read_with_their_orders_and_decided_ones_left_out(sandbox, make_up42_client):
    client = make_up42_client()
    worldview = client.create_order(order_request(sandbox, name="study order", product=WORLDVIEW,
                                                  acquisitionMode="mono", maxCloudCover=20, priority="STANDARD"))
    pleiades = client.create_order(order_request(sandbox, name="quoted order", geometries=[square(14)]))
    decided = client.create_order(order_request(sandbox, name="decided order", geometries=[square(15)]))
    sandbox.advance(120 + 2 * 3600)
    client.decide_quotation(client.quotations(decided.id)[0].id, "REJECTED")
    sandbox.advance(2 * 3600)

    pending = decisions.load_pending(make_up42_client())

    assert [s.order_id for s in pending.studies] == [worldview.id]
    assert [q.order_id for q in pending.quotations] == [pleiades.id]
    assert pending.order_of(pending.studies[0]).name == "study order"
    assert [o.name for o in decisions.waiting_orders(pending)] == ["study order", "quoted order"]
    assert {o.name: (o.status, o.sub_status) for o in pending.recent}["decided order"] == (
        "FAILED_PERMANENTLY", "QUOTATION_REJECTED")
    quotation = pending.quotations[0]
    text = decisions.quotation_text(quotation, pending.order_of(quotation))
    assert f"{quotation.credits_price:,} credits" in text and "decide before" in text
    options = [decisions.option_text(o) for o in pending.studies[0].options]
    assert "price × 1" in options[0] and "price × 1.5" in options[1]


def test_nothing_is_sent_without_a_yes_and_each_decision_once_with_one(sandbox, make_up42_client, qgis_app):
    client = make_up42_client()
    order = client.create_order(order_request(sandbox, name="worldview", product=WORLDVIEW, acquisitionMode="mono",
                                              maxCloudCover=20, priority="STANDARD"))
    sandbox.advance(120 + 4 * 3600)
    workflow = decisions.DecisionsWorkflow(in_line, make_up42_client)
    seen = Recorder(workflow)
    assert workflow.refresh()
    pending = seen.seen["loaded"][-1]
    (study,) = pending.studies
    questions: List[str] = []

    def say(answer: bool):
        return lambda title, question: questions.append(question) or answer

    assert not workflow.accept_option(study, study.options[1], pending.order_of(study), say(False))
    assert patches(sandbox) == [] and "not accepted" in seen.seen["declined"][-1]
    assert "price × 1.5" in questions[-1] and "worldview" in questions[-1]

    assert workflow.accept_option(study, study.options[1], pending.order_of(study), say(True))
    assert len(patches(sandbox)) == 1 and "Option accepted for worldview" in seen.seen["decided"][-1]
    assert client.get_order(order.id).sub_status == "QUOTATION_WAITING_UPLOAD"
    assert seen.seen["loaded"][-1].studies == []  # read again after the decision

    sandbox.advance(2 * 3600)
    workflow.refresh()
    (quotation,) = seen.seen["loaded"][-1].quotations
    assert not workflow.decide_quotation(quotation, decisions.ACCEPTED, None, say(False))
    assert len(patches(sandbox)) == 1
    assert f"{quotation.credits_price:,} credits" in questions[-1]
    assert workflow.decide_quotation(quotation, decisions.ACCEPTED, None, say(True))
    assert len(patches(sandbox)) == 2 and "accepted: the order goes on" in seen.seen["decided"][-1]
    after = client.get_order(order.id)
    assert (after.status, after.sub_status) == ("PLACED", "QUOTATION_ACCEPTED")
    assert seen.seen["failed"] == []


def test_a_rejected_quotation_ends_the_order_and_a_refusal_is_said(sandbox, make_up42_client, qgis_app):
    client = make_up42_client()
    order = client.create_order(order_request(sandbox, name="to reject"))
    sandbox.advance(120 + 2 * 3600)
    workflow = decisions.DecisionsWorkflow(in_line, make_up42_client)
    seen = Recorder(workflow)
    workflow.refresh()
    (quotation,) = seen.seen["loaded"][-1].quotations
    yes = lambda title, question: True  # noqa: E731
    assert workflow.decide_quotation(quotation, decisions.REJECTED, None, yes)
    after = client.get_order(order.id)
    assert (after.status, after.sub_status) == ("FAILED_PERMANENTLY", "QUOTATION_REJECTED")
    # Deciding it again (a stale list) is refused by the service: said, not raised.
    assert workflow.decide_quotation(quotation, decisions.ACCEPTED, None, yes)
    assert "failed" in seen.seen["failed"][-1]
    assert client.get_order(order.id).status == "FAILED_PERMANENTLY"


def test_a_service_not_configured_starts_nothing(qgis_app):
    workflow = decisions.DecisionsWorkflow(in_line, lambda: None)
    seen = Recorder(workflow)
    assert not workflow.refresh()
    assert "not configured" in seen.seen["failed"][-1]


def test_the_decisions_are_offered_for_up42_only():
    from core.services import registry

    assert decisions.offered_for(registry.service("up42"))
    assert not any(decisions.offered_for(d) for d in registry.services() if d.id != "up42")


class Later:
    """Stands in for a TaskGroup's run with tasks that end when the test says: run(i) does task i's work
    and calls its callback, so two tasks can overlap in either order."""

    def __init__(self):
        self.jobs: List[tuple] = []

    def __call__(self, description, fn, on_success, on_error=None):
        self.jobs.append((fn, on_success, on_error))

    def work(self, index: int):
        return self.jobs[index][0](None)

    def finish(self, index: int, result) -> None:
        self.jobs[index][1](result)


def quoted_order_in_later(sandbox, make_up42_client, name):
    """An order named `name` waiting for a decision on its quotation, and a workflow whose jobs wait in a Later for
    the test to run them: (client, later, workflow, the workflow's Recorder)."""
    client = make_up42_client()
    client.create_order(order_request(sandbox, name=name))
    sandbox.advance(120 + 2 * 3600)
    later = Later()
    workflow = decisions.DecisionsWorkflow(later, make_up42_client)
    return client, later, workflow, Recorder(workflow)


def test_a_reading_sent_before_a_decision_is_followed_by_another_so_the_decided_one_is_not_shown(
        sandbox, make_up42_client, qgis_app):
    client, later, workflow, seen = quoted_order_in_later(sandbox, make_up42_client, "decided meanwhile")
    workflow.refresh()  # the automatic reading: job 0
    (quotation,) = decisions.load_pending(client).quotations
    stale = later.work(0)  # it reads before the decision goes through
    assert workflow.decide_quotation(quotation, decisions.ACCEPTED, None, lambda title, question: True)  # job 1
    later.finish(1, later.work(1))  # accepted; the reading it asks for waits for job 0
    later.finish(0, stale)
    assert seen.seen["loaded"] == []  # the stale reading is not shown ...
    later.finish(2, later.work(2))  # ... the one after it is
    assert [len(p.quotations) for p in seen.seen["loaded"]] == [0]


def test_a_reading_that_ends_while_a_decision_is_on_its_way_is_not_shown(sandbox, make_up42_client, qgis_app):
    client, later, workflow, seen = quoted_order_in_later(sandbox, make_up42_client, "on its way")
    workflow.refresh()  # job 0
    (quotation,) = decisions.load_pending(client).quotations
    assert workflow.decide_quotation(quotation, decisions.REJECTED, None, lambda title, question: True)  # job 1
    assert workflow.sending
    later.finish(0, later.work(0))  # read before the PATCH: it still lists the quotation
    assert seen.seen["loaded"] == []
    later.finish(1, later.work(1))
    later.finish(2, later.work(2))  # the reading the decision's answer asked for
    assert [len(p.quotations) for p in seen.seen["loaded"]] == [0]
