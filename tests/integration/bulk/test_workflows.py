"""The bulk workflows without a widget, against the sandbox: check → price → create, cancel mid-create, edit, follow."""

from __future__ import annotations

import threading

import pytest
from qgis.core import QgsProject, QgsVectorLayer

from core.app.bulk import (
    JOB_FINISHED,
    BulkEditWorkflow,
    BulkFollowWorkflow,
    BulkJob,
    BulkOrderWorkflow,
    FieldMapping,
    JournalLease,
    clients_by_service,
)
from core.app.bulk.journal import CHUNK_ACCEPTED, CHUNK_WITHDRAWN
from core.services import registry
from tests.fakes.bulk import fake_descriptor
from tests.layers_from_wkt import labelled_points


@pytest.fixture
def project(qgis_app):
    yield QgsProject.instance()
    QgsProject.instance().removeAllMapLayers()


def pads_layer(count: int = 5, unnamed: int = -1) -> QgsVectorLayer:
    """Points in WGS 84 named "pad <n>"; feature `unnamed` has no name (invalid)."""
    return labelled_points("EPSG:4326", "pads", "pad",
                           ((10 + index * 0.2, 45, None if index == unnamed else f"pad {index}") for index in range(count)))


class Recorder:
    """Every signal a workflow emitted, by name, in order."""

    def __init__(self, workflow, *names):
        self.seen = []
        for name in names:
            getattr(workflow, name).connect(lambda *args, name=name: self.seen.append((name, args)))

    def last(self, name):
        return [args for seen, args in self.seen if seen == name][-1]

    def names(self):
        return [name for name, _ in self.seen]


def test_check_price_create_emits_the_outcome_and_writes_the_journal(qtbot, project, factory, journal, sandbox):
    layer = pads_layer(unnamed=2)
    project.addMapLayer(layer)
    workflow = BulkOrderWorkflow(factory, journal, poll_seconds=1.0)
    seen = Recorder(workflow, "checked", "priced", "chunksJournaled", "chunkProgress", "outcomeReady", "failed",
                    "busyChanged")
    mapping = FieldMapping(expressions={"name": '"pad"'})
    assert workflow.preview(layer, False, FieldMapping(expressions={"name": '"pad'}), 3)[1].startswith(
        "The expression for")
    assert len(workflow.preview(layer, False, mapping, 3)[0].checks) == 3

    assert workflow.check(layer, False, mapping)
    assert workflow.busy and not workflow.can_price(False)
    qtbot.waitUntil(lambda: "checked" in seen.names() and not workflow.busy, timeout=20000)
    assert len(workflow.report.valid) == 4 and len(workflow.report.invalid) == 1
    assert workflow.blocked(True) and not workflow.can_create(True) and workflow.can_create(False)

    assert workflow.price()
    qtbot.waitUntil(lambda: "priced" in seen.names() and not workflow.busy, timeout=20000)
    assert len(workflow.pricing.prices) == 4
    assert workflow.question().startswith("Create 4 tasking orders for an estimated")
    assert "1 invalid features will be skipped" in workflow.question()

    assert not workflow.create(lambda question: False)  # declined: nothing journaled, nothing sent
    assert journal.job_summaries() == []
    questions = []
    assert workflow.create(lambda question: questions.append(question) or True)
    assert questions == [workflow.question()]
    assert seen.last("chunksJournaled") == ([4],) and journal.unfinished_jobs()  # journaled before sending
    qtbot.waitUntil(lambda: "outcomeReady" in seen.names() and not workflow.busy, timeout=30000)
    outcome, result, stopped = seen.last("outcomeReady")
    assert not stopped and len(outcome.succeeded) == 4 and outcome.skipped
    assert "4 created, 0 failed" in outcome.summary()
    assert [state.state for state in seen.last("chunkProgress")[0]] == ["COMPLETE"]
    assert result is not None and project.mapLayer(result.id()) is not None and result.featureCount() == 5
    assert journal.job(workflow.job.job_id).state == JOB_FINISHED
    assert {i.order_id for i in journal.job(workflow.job.job_id).chunks[0].items} == {
        i.order_id for i in outcome.succeeded}
    # The same check cannot be ordered twice; checking again allows it.
    assert workflow.ordered and not workflow.can_create(False) and not workflow.create(lambda q: True)
    assert "failed" not in seen.names() and seen.names().count("busyChanged") == 6


class HeldClient:
    """The sandbox's client, holding its first bulk create until the test lets it go."""

    def __init__(self, client):
        self._client = client
        self.sent = []
        self.first_sent = threading.Event()
        self.go_on = threading.Event()

    def __getattr__(self, name):
        return getattr(self._client, name)

    def create_bulk(self, payloads, *args, **kwargs):
        returned = self._client.create_bulk(payloads, *args, **kwargs)
        self.sent.append(returned)
        if len(self.sent) == 1:
            self.first_sent.set()
            self.go_on.wait(10)
        return returned


def test_cancel_during_create_withdraws_the_unsent_chunks(qtbot, project, factory, journal, sandbox, monkeypatch):
    original = BulkJob.start.__func__
    monkeypatch.setattr(BulkJob, "start", classmethod(lambda cls, *a, **k: original(cls, *a, **{**k, "chunk_size": 2})))
    held = HeldClient(factory())
    layer = pads_layer(6)
    project.addMapLayer(layer)
    workflow = BulkOrderWorkflow(lambda: held, JournalLease(journal), poll_seconds=1.0)
    seen = Recorder(workflow, "checked", "outcomeReady", "failed")
    workflow.check(layer, False, FieldMapping(expressions={"name": '"pad"'}))
    qtbot.waitUntil(lambda: "checked" in seen.names() and not workflow.busy, timeout=20000)
    assert workflow.create(lambda question: True)
    assert held.first_sent.wait(10)
    workflow.cancel()
    held.go_on.set()
    qtbot.waitUntil(lambda: "outcomeReady" in seen.names() and not workflow.busy, timeout=20000)
    outcome, _, stopped = seen.last("outcomeReady")
    assert stopped and len(held.sent) == 1
    assert [chunk.state for chunk in journal.job(workflow.job.job_id).chunks] == [
        CHUNK_ACCEPTED, CHUNK_WITHDRAWN, CHUNK_WITHDRAWN]
    assert len(outcome.pending) == 2 and len(outcome.failed) == 4
    assert all("Not sent" in item.error for item in outcome.failed)
    assert "failed" not in seen.names()


def test_edit_then_cancel_with_the_consent_passed_in(qtbot, project, factory, journal, sandbox):
    client = factory()
    pairs = [(i, {"name": f"e{i}", "geometry": {"type": "Point", "coordinates": [12 + i * 0.1, 44]}})
             for i in range(3)]
    BulkJob.start(journal, "CREATE", pairs, client.base_url).run(client)
    sandbox.advance(120)
    ids = [o.id for o in client.iter_orders() if o.name.startswith("e")]
    workflow = BulkEditWorkflow(ids + ["", ids[0]], client_factory=factory, journal=journal, poll_seconds=1.0)
    seen = Recorder(workflow, "refused", "outcomeReady", "counted", "failed")

    assert not workflow.send(False)  # neither time changes: nothing to send
    assert seen.last("refused") == ("An edit changes the start time, the end time or both.",)
    from qgis.PyQt.QtCore import QDateTime

    assert workflow.send(False, end_time=QDateTime.currentDateTimeUtc().addDays(40))
    qtbot.waitUntil(lambda: "outcomeReady" in seen.names() and not workflow.busy, timeout=20000)
    assert "3 edited, 0 failed" in seen.last("outcomeReady")[1]

    assert workflow.count_cancellations() and not workflow.count_cancellations()  # one count at a time
    qtbot.waitUntil(lambda: workflow.cancellations is not None, timeout=20000)
    assert "cancellations used today" in seen.last("counted")[0].summary()
    operation, payloads, _ = workflow.payloads(True, accept_charge=True)
    assert operation == "CANCEL" and all(p["accept_cancellation_charge"] for _, p in payloads)
    assert workflow.send(True, accept_charge=False)
    qtbot.waitUntil(lambda: len([n for n in seen.names() if n == "outcomeReady"]) == 2 and not workflow.busy,
                    timeout=20000)
    assert "3 cancelled, 0 failed" in seen.last("outcomeReady")[1] and workflow.charge_refused == []
    assert not workflow.cancel_with_charge()  # nothing was refused for the charge
    assert "failed" not in seen.names()


def test_follow_again_uses_a_client_of_the_job_s_own_service(qtbot, factory, journal, sandbox, monkeypatch):
    registry.services()
    fake = fake_descriptor()
    monkeypatch.setitem(registry._descriptors, fake.id, fake)
    asked = []
    clients = clients_by_service(lambda: asked.append("active") or factory(), "planet_tasking")
    other = BulkJob.start(journal, "CREATE", [(1, {"name": "f"})], "http://fake.test/bulk/", service=fake.id)
    client = factory()
    left = BulkJob.start(journal, "CREATE", [(i, {"name": f"g{i}", "geometry": {
        "type": "Point", "coordinates": [14 + i * 0.1, 44]}}) for i in range(3)], client.base_url, chunk_size=2)
    left.run(client, max_chunks_to_send=1)
    follower = BulkFollowWorkflow(clients, journal, poll_seconds=1.0)
    seen = Recorder(follower, "followed", "refused", "failed")
    summaries = {s.job_id: s for s in journal.job_summaries()}

    # The fake service gives no client here: its job waits, and the active service's client is not asked.
    assert not follower.follow(summaries[other.job_id])
    assert seen.last("refused")[0] and asked == []
    assert follower.follow(summaries[left.job_id]) and follower.following == left.job_id
    qtbot.waitUntil(lambda: "followed" in seen.names() and not follower.busy, timeout=20000)
    assert asked == ["active"] and follower.following is None
    assert "3 created, 0 failed" in seen.last("followed")[0].summary()
    assert journal.job(left.job_id).state == JOB_FINISHED
