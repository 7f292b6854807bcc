"""Bulk tasking from a layer against the sandbox: validation, list pricing, journaled bulk create/edit/cancel."""

from __future__ import annotations

import gc
import sqlite3
from datetime import datetime, timedelta, timezone
from typing import List

import pytest
from qgis.core import QgsCoordinateReferenceSystem, QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer

from core import compat
from core.aoi import LONGITUDE_RANGE_MESSAGE, AoiError
from core.app.bulk import (
    BulkJob,
    FieldMapping,
    LayerSnapshot,
    cancel_pairs,
    charge_refused_ids,
    edit_pairs,
    job_source,
    journal_features,
    journal_result_layer,
    price_payloads,
    readable_error,
    result_layer,
    results_by_feature,
    resume_jobs,
    validate_layer,
)
from core.app.bulk.journal import (
    CHUNK_ACCEPTED,
    CHUNK_COMPLETE,
    CHUNK_SENDING,
    CHUNK_WRITTEN,
    JOB_FINISHED,
    JOB_OPEN,
    SCHEMA_VERSION,
    BulkJournal,
)
from core.errors import ApiError
from core.services.planet_tasking.client import TaskingClient

ASSURED = "Assured Tasking"
BAD_CONTRACT = "PL-000000"  # passes local checks; the service refuses it (a partial failure)
LAYER_SIZE = 2500


@pytest.fixture
def client(sandbox) -> TaskingClient:
    return TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sandbox.sleep, timeout=30.0)


@pytest.fixture
def journal(tmp_path):
    with BulkJournal(str(tmp_path / "bulk_journal.sqlite")) as opened:
        yield opened


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def square(x: float, y: float, side: float) -> QgsGeometry:
    return QgsGeometry.fromPolygonXY([[QgsPointXY(x, y), QgsPointXY(x + side, y), QgsPointXY(x + side, y + side),
                                       QgsPointXY(x, y + side), QgsPointXY(x, y)]])


def mixed_layer(count: int = LAYER_SIZE) -> QgsVectorLayer:
    """Polygons in UTM 33N (a projected CRS), one in 100 of each kind broken in its own way.

    Locally invalid (6 %): a bow-tie, a two-part polygon, an area over 3000 km², a STEREO order without
    points of view, 45 exclusivity days, an end before the start. Valid here but refused by the service
    (1 %): an unknown contract. The rest vary in order type, stereo views and exclusivity.
    """
    layer = QgsVectorLayer("Polygon?crs=EPSG:32633", "farm fields", "memory")
    provider = layer.dataProvider()
    provider.addAttributes([compat.make_field("field_name", compat.STRING), compat.make_field("begin", compat.STRING),
                            compat.make_field("finish", compat.STRING), compat.make_field("kind", compat.STRING),
                            compat.make_field("views", compat.INT), compat.make_field("exclusive", compat.INT),
                            compat.make_field("contract", compat.STRING)])
    layer.updateFields()
    now = datetime.now(timezone.utc)
    start, end = iso(now + timedelta(days=1)), iso(now + timedelta(days=20))
    features = []
    for index in range(count):
        x = 300000.0 + (index % 50) * 8000.0
        y = 5300000.0 + (index // 50) * 8000.0
        geometry = square(x, y, 2000.0)
        kind, views, exclusive, contract = "IMAGE", None, 0, None
        begin, finish = start, end
        if index % 3 == 0:
            kind, views = "STEREO", 2 + index % 2
        if index % 5 == 0:
            exclusive = 7
        flaw = index % 100
        if flaw == 7:
            geometry = QgsGeometry.fromPolygonXY([[QgsPointXY(x, y), QgsPointXY(x + 2000, y + 2000),
                                                   QgsPointXY(x + 2000, y), QgsPointXY(x, y + 2000), QgsPointXY(x, y)]])
        elif flaw == 13:
            geometry = QgsGeometry.collectGeometry([square(x, y, 1000.0), square(x + 3000, y, 1000.0)])
        elif flaw == 21:
            geometry = square(x, y, 60000.0)
        elif flaw == 33:
            kind, views = "STEREO", None
        elif flaw == 41:
            exclusive = 45
        elif flaw == 55:
            begin, finish = end, start
        elif flaw == 77:
            contract = BAD_CONTRACT
        feature = QgsFeature(layer.fields())
        feature.setGeometry(geometry)
        feature.setAttributes([f"field {index:04d}", begin, finish, kind, views, exclusive, contract])
        features.append(feature)
    provider.addFeatures(features)
    return layer


MAPPING = FieldMapping(expressions={
    "name": '"field_name"', "start_time": '"begin"', "end_time": '"finish"', "order_type": "upper(\"kind\")",
    "n_stereo_pov": '"views"', "exclusivity_days": '"exclusive"', "pl_number": '"contract"',
})


def bulk_posts(sandbox) -> List[dict]:
    return [r for r in sandbox.requests_seen() if r["method"] == "POST" and r["path"].endswith("/bulk/")]


def all_orders(client):
    return list(client.iter_orders(page_size=1000, fields=["id", "name", "status"]))


# --- the 2,500-feature layer end to end -------------------------------------------------------------------


def test_layer_of_2500_is_validated_priced_and_created_in_three_chunks(client, sandbox, journal):
    layer = mixed_layer()
    report = validate_layer(LayerSnapshot(layer), MAPPING)
    assert len(report.checks) == LAYER_SIZE
    reasons = report.reasons()
    assert reasons == {"self_intersection": 25, "too_many_parts": 25, "area_too_large": 25,
                       "bad_stereo_pov": 25, "bad_exclusivity": 25, "end_before_start": 25}
    assert all(check.reason for check in report.invalid)
    pairs = report.pairs()
    assert len(pairs) == 2350
    stereo = next(p for _, p in pairs if p.get("order_type") == "STEREO")
    assert stereo["n_stereo_pov"] in (2, 3)
    assert all(p["geometry"]["type"] == "Polygon" and -180 <= p["geometry"]["coordinates"][0][0][0] <= 180
               for _, p in pairs)

    sandbox.reset()
    pricing = price_payloads(client, pairs)
    pricing_requests = [r for r in sandbox.requests_seen() if r["path"].endswith("/pricing/")]
    assert pricing.requests == len(pricing_requests) == 3  # 2,350 payloads, 1,000 per request
    assert len(pricing.failures) == 25 and len(pricing.prices) == 2325
    failed_names = {dict(pairs)[fid]["pl_number"] for fid in pricing.failures}
    assert failed_names == {BAD_CONTRACT}
    per_feature_sum = round(sum(p.estimated_quota_cost for p in pricing.prices.values()), 3)
    assert pricing.total == per_feature_sum
    assert pricing.server_total == pytest.approx(per_feature_sum, abs=0.01)
    assert all(fid not in pricing.prices for fid in pricing.failures)

    job = BulkJob.start(journal, "CREATE", pairs, client.base_url, title=layer.name())
    stored = journal.job(job.job_id)
    assert [len(c.items) for c in stored.chunks] == [1000, 1000, 350]
    assert len({c.bulk_id for c in stored.chunks}) == 3
    assert all(c.state == CHUNK_WRITTEN for c in stored.chunks)
    seen_states = set()
    outcome = job.run(client, on_chunk=lambda seq, n, state, done, size: seen_states.add((seq, state)))
    assert {state for _, state in seen_states} >= {"PENDING", "RUNNING", "COMPLETE"}
    # Each chunk is reported PENDING once sent and COMPLETE once read back (RUNNING when a poll catches it).
    assert all({(seq, "PENDING"), (seq, "COMPLETE")} <= seen_states for seq in (0, 1, 2))
    # What the dialog's bars read on the GUI thread: the last state of every chunk, kept by the job.
    assert [(s.seq, s.count, s.state, s.done, s.size) for s in job.chunk_states()] == [
        (0, 3, "COMPLETE", 1000, 1000), (1, 3, "COMPLETE", 1000, 1000), (2, 3, "COMPLETE", 350, 350)]
    assert len(bulk_posts(sandbox)) == 3
    assert len(outcome.succeeded) == 2325 and len(outcome.failed) == 25 and not outcome.pending
    assert journal.job(job.job_id).state == JOB_FINISHED
    assert "2325 created, 25 failed" in outcome.summary() and "pl_number" in outcome.summary()

    # One for one: every journal item against the payload the service lists for its chunk.
    for chunk in journal.job(job.job_id).chunks:
        listed = list(client.iter_bulk_payloads(chunk.bulk_id, page_size=1000))
        assert len(listed) == len(chunk.items)
        for item, served in zip(chunk.items, listed):
            assert served.payload["name"] == item.payload["name"]
            assert (served.order_id, served.error) == (item.order_id, item.error)
    orders = all_orders(client)
    assert len(orders) == 2325
    assert {o.id for o in orders} == {i.order_id for i in outcome.succeeded}
    by_feature = outcome.by_feature()
    assert all(by_feature[fid].error for fid in pricing.failures)

    results = results_by_feature(report, outcome)
    copy = result_layer(layer, results, prices={fid: p.estimated_quota_cost for fid, p in pricing.prices.items()})
    assert copy.featureCount() == LAYER_SIZE and copy.crs().authid() == "EPSG:32633"
    names = copy.fields().names()
    assert names[-3:] == ["order_id", "error", "estimated_cost"]
    with_order = [f for f in copy.getFeatures() if f["order_id"]]
    assert len(with_order) == 2325
    assert all(f["error"] for f in copy.getFeatures() if not f["order_id"])


def test_longitude_181_is_refused_locally_and_by_the_service_with_the_same_sentence(client, sandbox, journal):
    # A projected CRS cannot sensibly hold longitude 181 (UTM/Web Mercator coordinates past the world's
    # edge are caught as out of the projection's domain), so the documented case lives in an EPSG:4326 layer,
    # and is also sent raw, as in the documented bulk example, to see the service's answer.
    layer = QgsVectorLayer("Point?crs=EPSG:4326", "documented example", "memory")
    layer.dataProvider().addAttributes([compat.make_field("label", compat.STRING)])
    layer.updateFields()
    for label, lon, lat in (("Bulk order 1", 32.142035, -0.487188), ("Bulk order 2", 52.142035, 13.487188),
                            ("Bulk order 3", 181.0, 40.0)):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(lon, lat)))
        feature.setAttributes([label])
        layer.dataProvider().addFeatures([feature])
    report = validate_layer(LayerSnapshot(layer), FieldMapping(expressions={"name": '"label"'}))
    assert [c.ok for c in report.checks] == [True, True, False]
    assert report.checks[2].code == "longitude_out_of_range"
    assert LONGITUDE_RANGE_MESSAGE in report.checks[2].reason

    raw = report.pairs() + [(3, {"name": "Bulk order 3", "geometry": {"type": "Point", "coordinates": [181, 40]}})]
    outcome = BulkJob.start(journal, "CREATE", raw, client.base_url).run(client)
    assert len(outcome.succeeded) == 2
    refused = outcome.by_feature()[3]
    assert refused.order_id is None
    assert readable_error(refused.error) == f"geometry: {LONGITUDE_RANGE_MESSAGE}"


def test_points_and_strips_in_a_selection_become_payloads(sandbox):
    layer = QgsVectorLayer("LineString?crs=EPSG:3857", "pipelines", "memory")
    layer.dataProvider().addAttributes([compat.make_field("id", compat.INT)])
    layer.updateFields()
    features = []
    for index, length in enumerate((20000.0, 2000.0, 30000.0)):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPolylineXY([QgsPointXY(1500000.0, 6900000.0 + index * 50000),
                                                        QgsPointXY(1500000.0 + length, 6900000.0 + index * 50000)]))
        feature.setAttributes([index])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    layer.selectByIds([f.id() for f in layer.getFeatures()][:2])
    report = validate_layer(LayerSnapshot(layer, selected_only=True), FieldMapping.for_layer(layer))
    assert len(report.checks) == 2
    assert report.checks[0].ok and report.checks[0].payload["geometry"]["type"] == "LineString"
    assert report.checks[0].payload["name"].startswith("pipelines ")
    assert report.checks[1].code == "strip_too_short"


def test_a_layer_without_crs_is_refused_as_a_whole_before_any_feature_is_checked():
    layer = QgsVectorLayer("Point", "field boundaries", "memory")
    layer.setCrs(QgsCoordinateReferenceSystem())
    feature = QgsFeature(layer.fields())
    feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(10, 50)))
    layer.dataProvider().addFeatures([feature])
    with pytest.raises(AoiError) as caught:
        LayerSnapshot(layer)
    assert caught.value.code == "no_crs"
    assert "“field boundaries” has no coordinate reference system" in caught.value.message
    assert "Layer Properties" in caught.value.message


# --- failures during creation -----------------------------------------------------------------------------


def small_pairs(count: int, prefix: str = "order"):
    return [(index, {"name": f"{prefix} {index}",
                     "geometry": {"type": "Point", "coordinates": [10.0 + (index % 100) * 0.1, 45.0 + (index // 100) * 0.1]}})
            for index in range(count)]


def test_dropped_connection_and_503_during_creation_order_every_feature_once(client, sandbox, journal):
    pairs = small_pairs(1500)
    # The first chunk's POST is processed but its answer is lost; the second's gets a 503 after processing.
    sandbox.fault(path=r"/bulk/$", kind="drop", when="after", method="POST", count=1)
    job = BulkJob.start(journal, "CREATE", pairs, client.base_url)
    outcome = None
    sandbox.fault(path=r"/bulk/$", kind="status", status=503, when="after", method="POST", count=2)
    # A 503 before processing, and a dropped poll, too.
    sandbox.fault(path=r"/bulk/[0-9a-f-]+/$", kind="drop", when="after", method="GET", count=1)
    outcome = job.run(client)
    assert len(outcome.succeeded) == 1500 and not outcome.failed
    orders = all_orders(client)
    assert len(orders) == 1500
    assert len({o.name for o in orders}) == 1500
    statuses = [r["status"] for r in bulk_posts(sandbox)]
    assert None in statuses and 503 in statuses  # the faults really happened


def test_503_before_processing_is_resent_under_the_same_uuid(client, sandbox, journal):
    sandbox.fault(path=r"/bulk/$", kind="status", status=503, when="before", method="POST", count=1)
    job = BulkJob.start(journal, "CREATE", small_pairs(10), client.base_url)
    outcome = job.run(client)
    assert len(outcome.succeeded) == 10
    posts = bulk_posts(sandbox)
    assert [p["status"] for p in posts] == [503, 202]
    assert len(all_orders(client)) == 10


def test_network_lost_mid_send_then_resumed_never_doubles(sandbox, journal):
    # No retries at all: the dropped answer leaves the chunk SENDING (uncertain) in the journal.
    impatient = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sandbox.sleep, max_retries=0)
    sandbox.fault(path=r"/bulk/$", kind="drop", when="after", method="POST", count=1)
    job = BulkJob.start(journal, "CREATE", small_pairs(1200), impatient.base_url)
    with pytest.raises(ApiError):
        job.run(impatient)
    states = [c.state for c in journal.job(job.job_id, with_items=False).chunks]
    assert states == [CHUNK_SENDING, CHUNK_WRITTEN]
    outcome = BulkJob.resume(journal, job.job_id).run(impatient)
    assert len(outcome.succeeded) == 1200
    assert len(bulk_posts(sandbox)) == 2  # the first chunk was found by its UUID, not sent again
    assert len(all_orders(impatient)) == 1200


def test_journal_left_by_a_killed_run_is_resumed(client, sandbox, tmp_path):
    path = str(tmp_path / "killed.sqlite")
    journal = BulkJournal(path)
    job = BulkJob.start(journal, "CREATE", small_pairs(2100, "killed"), client.base_url, title="wells")
    job.run(client, max_chunks_to_send=1)  # one chunk out, then QGIS "dies"
    first = journal.job(job.job_id, with_items=False).chunks
    assert [c.state for c in first] == [CHUNK_ACCEPTED, CHUNK_WRITTEN, CHUNK_WRITTEN]
    del job
    journal.close()
    del journal
    gc.collect()

    reopened = BulkJournal(path)
    other_service = reopened.unfinished_jobs("https://api.planet.com/tasking/v2/")
    assert other_service == []  # never followed against another service
    unfinished = reopened.unfinished_jobs(client.base_url)
    assert len(unfinished) == 1 and unfinished[0].title == "wells"
    sandbox.advance(3600)  # the first chunk finished at the service while QGIS was down
    outcome = BulkJob.resume(reopened, unfinished[0].job_id).run(client)
    assert len(outcome.succeeded) == 2100
    assert [c.state for c in reopened.job(unfinished[0].job_id, with_items=False).chunks] == [CHUNK_COMPLETE] * 3
    assert reopened.unfinished_jobs() == []
    assert len(bulk_posts(sandbox)) == 3
    assert len(all_orders(client)) == 2100
    reopened.close()


def test_cancelled_before_sending_withdraws_the_unsent_chunks(client, sandbox, journal):
    job = BulkJob.start(journal, "CREATE", small_pairs(30), client.base_url, chunk_size=10)
    calls = []

    def cancel_after_first_send(seq, count, state, done, size):
        calls.append(state)

    from core.errors import Cancelled

    with pytest.raises(Cancelled):
        job.run(client, on_chunk=cancel_after_first_send, is_canceled=lambda: "PENDING" in calls)
    outcome = job.outcome()
    assert outcome.chunk_states == [CHUNK_ACCEPTED, "WITHDRAWN", "WITHDRAWN"]
    assert [(s.seq, s.state) for s in job.chunk_states()] == [(0, "PENDING")]  # the only one sent
    assert len(bulk_posts(sandbox)) == 1
    # Still followed: the chunk at the service keeps its place in the journal until its results are read.
    assert journal.unfinished_jobs()
    finished = BulkJob.resume(journal, job.job_id).run(client)
    assert len(finished.succeeded) == 10 and len(finished.failed) == 20
    assert journal.unfinished_jobs() == []


# --- bulk edit and cancel ----------------------------------------------------------------------------------


def created_orders(client, journal, count, prefix):
    outcome = BulkJob.start(journal, "CREATE", small_pairs(count, prefix), client.base_url).run(client)
    return [i.order_id for i in outcome.succeeded]


def test_bulk_edit_follows_the_state_rules(client, sandbox, journal):
    ids = created_orders(client, journal, 5, "edit")
    client.cancel_order(ids[4])
    statuses = {o.id: o.status for o in all_orders(client)}
    now = datetime.now(timezone.utc)
    new_start, new_end = now + timedelta(days=2), now + timedelta(days=40)

    pairs, skipped = edit_pairs(ids, start_time=new_start, end_time=new_end, statuses=statuses)
    assert list(skipped) == [ids[4]] and "CANCELLED" in skipped[ids[4]]  # core.services.planet_tasking.rules' reason
    assert pairs[0][1] == {"id": ids[0], "start_time": iso(new_start), "end_time": iso(new_end)}
    outcome = BulkJob.start(journal, "EDIT", pairs, client.base_url).run(client)
    assert len(outcome.succeeded) == 4
    edited = client.get_order(ids[0])
    assert iso(edited.start_time) == iso(new_start) and iso(edited.end_time) == iso(new_end)

    # Sent anyway (statuses unknown): the service refuses the cancelled one, per payload.
    pairs, skipped = edit_pairs(ids[3:], end_time=new_end + timedelta(days=1))
    assert not skipped
    outcome = BulkJob.start(journal, "EDIT", pairs, client.base_url).run(client)
    assert [bool(i.ok) for i in outcome.items] == [True, False]
    assert "CANCELLED cannot be edited" in readable_error(outcome.items[1].error)
    with pytest.raises(ValueError):
        edit_pairs(ids, start_time=new_end, end_time=new_start)


def test_bulk_cancel_follows_the_state_rules(client, sandbox, journal):
    ids = created_orders(client, journal, 4, "cancel")
    # Just created orders are RECEIVED, which the bulk endpoint does not cancel (only PENDING, IN_PROGRESS).
    pairs, skipped = cancel_pairs(ids, statuses={i: "RECEIVED" for i in ids})
    assert not pairs and len(skipped) == 4
    outcome = BulkJob.start(journal, "CANCEL", cancel_pairs(ids[:1])[0], client.base_url).run(client)
    assert outcome.failed and "RECEIVED cannot be cancelled" in readable_error(outcome.failed[0].error)
    sandbox.advance(120)  # accepted: PENDING
    orders = {o.id: o for o in client.iter_orders()}  # whole orders: cancellable_until is checked too
    pairs, skipped = cancel_pairs(ids + ids[:1], statuses=orders)
    assert len(pairs) == 4 and not skipped  # duplicates dropped
    outcome = BulkJob.start(journal, "CANCEL", pairs, client.base_url).run(client)
    assert len(outcome.succeeded) == 4
    assert {o.status for o in all_orders(client)} <= {"CANCELLED", "PENDING_CANCELLATION"}


def test_charged_bulk_cancellation_needs_acceptance_per_payload(client, sandbox, journal):
    accounts = sandbox.control("GET", "accounts")["accounts"]
    account = next(a for a in accounts if a["api_key"] == sandbox.api_key)
    free, contract = account["free_cancellations"], account["default_pl_number"]
    # A search needs the contract and product it is for (planet-tasking-api.txt, imaging windows).
    search = client.start_imaging_window_search({"type": "Point", "coordinates": [13.350097, 52.514511]},
                                                pl_number=contract, product=ASSURED)
    search = client.wait_imaging_window_search(search.id, poll=5.0, timeout=900)
    # A window that starts within minutes cannot be locked in (the order would be REJECTED, so not
    # cancellable): only windows comfortably ahead of the sandbox's clock, whatever the time of day.
    lockable = [w for w in search.imaging_windows if w.start_time > sandbox.now() + timedelta(hours=1)]
    ids = []
    for index, window in enumerate(lockable):
        ids.append(client.create_order({"name": f"assured {index}", "imaging_window": window.id,
                                        "pl_number": contract, "product": ASSURED}).id)
    if len(ids) <= free:
        pytest.skip("the sandbox found too few windows to use up the free cancellations")
    sandbox.advance(120)
    pending = {o.id: o.status for o in all_orders(client)}
    pairs, skipped = cancel_pairs(ids, statuses=pending)
    outcome = BulkJob.start(journal, "CANCEL", pairs, client.base_url).run(client)
    refused = charge_refused_ids(outcome)
    assert len(outcome.succeeded) == free and len(refused) == len(ids) - free
    assert all("accept_cancellation_charge" in i.error for i in outcome.failed)

    pairs, _ = cancel_pairs(refused, accept_cancellation_charge=True)
    assert all(p["accept_cancellation_charge"] is True for _, p in pairs)
    outcome = BulkJob.start(journal, "CANCEL", pairs, client.base_url).run(client)
    assert len(outcome.succeeded) == len(refused)
    assert {client.get_order(i).status for i in ids} <= {"CANCELLED", "PENDING_CANCELLATION"}


def test_a_chunk_another_qgis_already_sent_is_followed_not_doubled(client, sandbox, journal):
    # Two QGIS sessions resuming the same journal: the other one sent chunk 0 first, under its UUID.
    job = BulkJob.start(journal, "CREATE", small_pairs(15), client.base_url, chunk_size=10)
    first = journal.job(job.job_id).chunks[0]
    client.create_bulk([item.payload for item in first.items], bulk_id=first.bulk_id)
    outcome = job.run(client)
    assert len(outcome.succeeded) == 15
    assert [p["status"] for p in bulk_posts(sandbox)] == [202, 400, 202]  # the 400: "already exists"
    assert len(all_orders(client)) == 15


def test_finished_jobs_are_pruned_open_ones_kept(client, sandbox, journal):
    done = BulkJob.start(journal, "CREATE", small_pairs(2), client.base_url)
    done.run(client)
    waiting = BulkJob.start(journal, "CREATE", small_pairs(2, "waiting"), client.base_url)
    assert journal.prune(older_than_days=1) == 0
    assert journal.prune(older_than_days=-1) == 1  # everything finished counts as old now
    assert journal.job(done.job_id) is None
    assert [j.job_id for j in journal.unfinished_jobs()] == [waiting.job_id]


# --- results of a resumed job, and older journals -----------------------------------------------------------


def feature_rows(layer):
    """(geometry WKT, attributes) of every feature, in feature order."""
    return [(f.geometry().asWkt(6), f.attributes()) for f in sorted(layer.getFeatures(), key=lambda f: f.id())]


def test_killed_job_resumed_at_next_start_gives_the_result_layer_of_an_uninterrupted_run(client, sandbox, tmp_path):
    layer = mixed_layer(300)  # 18 invalid, 3 refused by the service (unknown contract)
    report = validate_layer(LayerSnapshot(layer), MAPPING)
    pricing = price_payloads(client, report.pairs())
    path = str(tmp_path / "profile.sqlite")
    journal = BulkJournal(path)
    job = BulkJob.start(journal, "CREATE", report.pairs(), client.base_url, title="farm fields",
                        source=job_source(report, pricing), features=journal_features(report, pricing),
                        chunk_size=100)
    job.run(client, max_chunks_to_send=1)  # one part out, then QGIS is killed
    summary = journal.job_summaries()[0]
    assert (summary.chunks, summary.chunks_sent, summary.chunks_complete, summary.skipped) == (3, 1, 0, 18)
    job_id = job.job_id
    del job
    journal.close()
    gc.collect()

    # Next start: a new journal object and a new client; the source layer is not needed any more.
    reopened = BulkJournal(path)
    restarted = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sandbox.sleep, timeout=30.0)
    outcomes = resume_jobs(reopened, lambda service_id: restarted)
    assert [o.job_id for o in outcomes] == [job_id]
    outcome = outcomes[0]
    text = outcome.summary()
    assert text.startswith("279 created, 3 failed") and "pl_number" in text and "18 invalid features were not sent" in text
    assert ".." not in text
    summary = reopened.job_summaries()[0]
    assert (summary.state, summary.chunks_sent, summary.chunks_complete, summary.succeeded, summary.failed) == (
        JOB_FINISHED, 3, 3, 279, 3)

    rebuilt = journal_result_layer(reopened, job_id)
    # The same layer the dialog makes from the live layer at the end of an uninterrupted run ...
    live = result_layer(layer, results_by_feature(report, outcome),
                        prices={fid: p.estimated_quota_cost for fid, p in pricing.prices.items()})
    assert rebuilt.name() == live.name() == "farm fields — orders"
    assert rebuilt.crs().authid() == "EPSG:32633" and rebuilt.wkbType() == live.wkbType()
    assert rebuilt.fields().names() == live.fields().names() == layer.fields().names() + [
        "order_id", "error", "estimated_cost"]
    assert feature_rows(rebuilt) == feature_rows(live)
    # ... and, feature for feature, what the service lists for each part.
    served = {}
    for chunk in reopened.job(job_id).chunks:
        for result in client.iter_bulk_payloads(chunk.bulk_id, page_size=1000):
            served[result.payload["name"]] = (result.order_id, readable_error(result.error))
    rows = {f["field_name"]: f for f in rebuilt.getFeatures()}
    assert len(rows) == 300 and len(served) == 282
    for name, feature in rows.items():
        if name in served:
            assert (feature["order_id"] or None, feature["error"] or None) == served[name]
        else:
            check = next(c for c in report.checks if c.payload is None and layer.getFeature(c.feature_id)["field_name"] == name)
            assert not feature["order_id"] and feature["error"] == check.reason
    assert {f["order_id"] for f in rebuilt.getFeatures() if f["order_id"]} == {o.id for o in all_orders(client)}
    costs = [f["estimated_cost"] for f in rebuilt.getFeatures() if f["order_id"]]
    assert all(cost and cost > 0 for cost in costs)
    reopened.close()


V1_SCHEMA = """
CREATE TABLE job (job_id TEXT PRIMARY KEY, operation TEXT NOT NULL, base_url TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '{}', state TEXT NOT NULL,
    created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
CREATE TABLE chunk (bulk_id TEXT PRIMARY KEY, job_id TEXT NOT NULL REFERENCES job(job_id), seq INTEGER NOT NULL,
    state TEXT NOT NULL, bulk_status TEXT, error TEXT, send_attempts INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL);
CREATE INDEX chunk_job ON chunk(job_id, seq);
CREATE TABLE item (bulk_id TEXT NOT NULL REFERENCES chunk(bulk_id), position INTEGER NOT NULL, feature_id INTEGER,
    payload TEXT NOT NULL, order_id TEXT, error TEXT, PRIMARY KEY (bulk_id, position));
"""


def test_a_journal_of_the_first_schema_opens_resumes_and_gives_results(client, sandbox, tmp_path):
    import json

    path = str(tmp_path / "old.sqlite")
    old = sqlite3.connect(path)
    old.executescript(V1_SCHEMA)
    now = "2026-01-01T00:00:00.000000Z"
    old.execute("INSERT INTO job VALUES ('job-1', 'CREATE', ?, 'old wells', '{}', 'OPEN', ?, ?)",
                (client.base_url, now, now))
    old.execute("INSERT INTO chunk(bulk_id, job_id, seq, state, updated_at) VALUES "
                "('6f1c2d3e-0000-4000-8000-000000000001', 'job-1', 0, 'WRITTEN', ?)", (now,))
    for position, (fid, payload) in enumerate(small_pairs(3, "old")):
        old.execute("INSERT INTO item(bulk_id, position, feature_id, payload) VALUES (?, ?, ?, ?)",
                    ("6f1c2d3e-0000-4000-8000-000000000001", position, fid + 10, json.dumps(payload)))
    old.commit()
    old.close()

    journal = BulkJournal(path)
    assert journal.schema_version == SCHEMA_VERSION
    [job] = journal.unfinished_jobs(client.base_url)
    assert job.title == "old wells" and job.state == JOB_OPEN
    outcome = BulkJob.resume(journal, job.job_id).run(client)
    assert outcome.summary() == "3 created, 0 failed."
    layer = journal_result_layer(journal, job.job_id)
    # No source features in an old journal: one feature per payload, where it was ordered (EPSG:4326).
    assert layer.crs().authid() == "EPSG:4326" and layer.fields().names() == ["feature_id", "name", "order_id", "error"]
    rows = sorted((f["feature_id"], f["name"], f["order_id"], f.geometry().asPoint().x()) for f in layer.getFeatures())
    assert [(r[0], r[1], r[3]) for r in rows] == [(10, "old 0", 10.0), (11, "old 1", 10.1), (12, "old 2", 10.2)]
    assert {r[2] for r in rows} == {o.id for o in all_orders(client)}
    journal.close()
    journal = BulkJournal(path)  # opening it again changes nothing
    assert journal.job(job.job_id).state == JOB_FINISHED
    journal.close()


def test_a_journal_from_a_newer_plugin_is_refused_with_a_reason(tmp_path):
    path = str(tmp_path / "newer.sqlite")
    newer = sqlite3.connect(path)
    newer.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    newer.close()
    with pytest.raises(RuntimeError, match="newer version of the plugin"):
        BulkJournal(path)
