"""The journal records each job's service (schema 3), older journals migrate, and resume asks each job's service for its client."""

from __future__ import annotations

import json
import sqlite3

import pytest

from core.app.bulk import LEGACY_SERVICE, SCHEMA_VERSION, BulkJob, BulkJournal, plan_resume, resume_jobs
from core.services import registry
from tests.fakes.bulk import FakeBulkClient, fake_descriptor

PLANET_URL = "http://planet.test/tasking/v2/"
FAKE_URL = "http://fake.test/bulk/"

# The journal's tables exactly as schema 2 (the plugin before jobs recorded their service) made them.
V2_SCHEMA = """
CREATE TABLE IF NOT EXISTS job (
    job_id TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    base_url TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    source TEXT NOT NULL DEFAULT '{}',
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunk (
    bulk_id TEXT PRIMARY KEY,
    job_id TEXT NOT NULL REFERENCES job(job_id),
    seq INTEGER NOT NULL,
    state TEXT NOT NULL,
    bulk_status TEXT,
    error TEXT,
    send_attempts INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunk_job ON chunk(job_id, seq);
CREATE TABLE IF NOT EXISTS item (
    bulk_id TEXT NOT NULL REFERENCES chunk(bulk_id),
    position INTEGER NOT NULL,
    feature_id INTEGER,
    payload TEXT NOT NULL,
    order_id TEXT,
    error TEXT,
    PRIMARY KEY (bulk_id, position)
);
CREATE TABLE IF NOT EXISTS source_feature (
    job_id TEXT NOT NULL REFERENCES job(job_id),
    feature_id INTEGER NOT NULL,
    geometry BLOB,
    attributes TEXT NOT NULL DEFAULT '[]',
    skipped TEXT,
    estimated_cost REAL,
    PRIMARY KEY (job_id, feature_id)
);
"""


def point(i):
    return {"type": "Point", "coordinates": [10 + i * 0.1, 50]}


def write_v2_journal(path):
    """A journal file as the previous plugin left it: one open CREATE job, never sent."""
    db = sqlite3.connect(path)
    db.executescript(V2_SCHEMA)
    db.execute("PRAGMA user_version = 2")
    now = "2025-01-01T00:00:00.000000Z"
    db.execute("INSERT INTO job(job_id, operation, base_url, title, source, state, created_at, updated_at) "
               "VALUES ('old-job', 'CREATE', ?, 'from last year', '{}', 'OPEN', ?, ?)", (PLANET_URL, now, now))
    db.execute("INSERT INTO chunk(bulk_id, job_id, seq, state, updated_at) VALUES ('old-chunk', 'old-job', 0, "
               "'WRITTEN', ?)", (now,))
    for position in range(2):
        db.execute("INSERT INTO item(bulk_id, position, feature_id, payload) VALUES ('old-chunk', ?, ?, ?)",
                   (position, position, json.dumps({"name": f"old {position}", "geometry": point(position)})))
    db.commit()
    db.close()


@pytest.fixture
def fake_service(monkeypatch):
    """A second registered service besides Planet Tasking, for as long as the test runs."""
    registry.services()  # load the real ones first
    descriptor = fake_descriptor()
    monkeypatch.setitem(registry._descriptors, descriptor.id, descriptor)
    return descriptor


def test_a_new_job_records_its_service(tmp_path, fake_service):
    with BulkJournal(str(tmp_path / "journal.sqlite")) as journal:
        assert journal.schema_version == SCHEMA_VERSION == 3
        planet = BulkJob.start(journal, "CREATE", [(1, {"name": "a", "geometry": point(1)})], PLANET_URL,
                               service="planet_tasking")
        fake = BulkJob.start(journal, "CREATE", [(2, {"name": "b"})], FAKE_URL, service=fake_service.id)
        assert planet.job().service == "planet_tasking" and fake.job().service == "fake_bulk"
        assert {s.job_id: s.service for s in journal.job_summaries()} == {
            planet.job_id: "planet_tasking", fake.job_id: "fake_bulk"}
        assert [j.job_id for j in journal.unfinished_jobs(service="fake_bulk")] == [fake.job_id]
    with BulkJournal(str(tmp_path / "journal.sqlite")) as reopened:  # kept in the file
        assert reopened.job(fake.job_id).service == "fake_bulk"


def test_a_schema_2_journal_migrates_and_its_jobs_are_planet_tasking_jobs(tmp_path):
    path = str(tmp_path / "v2.sqlite")
    write_v2_journal(path)
    with BulkJournal(path) as journal:
        assert journal.schema_version == 3
        [job] = journal.unfinished_jobs()
        assert (job.job_id, job.service, job.title) == ("old-job", LEGACY_SERVICE, "from last year")
        assert LEGACY_SERVICE == "planet_tasking"
        assert [c.size for c in job.chunks] == [2]
        [summary] = journal.job_summaries()
        assert summary.service == "planet_tasking" and summary.payloads == 2
    with BulkJournal(path) as again:  # opening a migrated file again changes nothing
        assert again.schema_version == 3 and again.job("old-job").service == "planet_tasking"


def test_a_migrated_job_resumes_with_a_planet_tasking_client(tmp_path):
    path = str(tmp_path / "v2.sqlite")
    write_v2_journal(path)
    asked = []
    planet = FakeBulkClient(PLANET_URL)

    def clients(service_id):
        asked.append(service_id)
        return planet

    with BulkJournal(path) as journal:
        [outcome] = resume_jobs(journal, clients, poll=0.01)
        assert asked == ["planet_tasking"]
        assert outcome.summary() == "2 created, 0 failed."
        assert [p["name"] for p in planet.bulks["old-chunk"]] == ["old 0", "old 1"]  # sent under its own UUID
        assert journal.unfinished_jobs() == []


def test_resume_asks_each_job_s_service_for_its_client(tmp_path, fake_service):
    planet, other = FakeBulkClient(PLANET_URL), FakeBulkClient(FAKE_URL)
    asked = []

    def clients(service_id):
        asked.append(service_id)
        return {"planet_tasking": planet, "fake_bulk": other}[service_id]

    with BulkJournal(str(tmp_path / "journal.sqlite")) as journal:
        planet_job = BulkJob.start(journal, "CREATE", [(1, {"name": "p", "geometry": point(1)})], PLANET_URL,
                                   service="planet_tasking")
        fake_job = BulkJob.start(journal, "CREATE", [(2, {"name": "f"}), (3, {"name": "g"})], FAKE_URL,
                                 service="fake_bulk")
        outcomes = {o.job_id: o for o in resume_jobs(journal, clients, poll=0.01)}
        assert sorted(asked) == ["fake_bulk", "planet_tasking"]  # each service asked once
        assert [p["name"] for payloads in planet.bulks.values() for p in payloads] == ["p"]
        assert [p["name"] for payloads in other.bulks.values() for p in payloads] == ["f", "g"]
        assert len(outcomes[planet_job.job_id].succeeded) == 1 and len(outcomes[fake_job.job_id].succeeded) == 2
        assert journal.unfinished_jobs() == []


def test_a_job_whose_service_gives_no_client_waits(tmp_path, fake_service):
    def clients(service_id):
        if service_id == "fake_bulk":
            raise RuntimeError("not configured")
        return FakeBulkClient(PLANET_URL)

    with BulkJournal(str(tmp_path / "journal.sqlite")) as journal:
        BulkJob.start(journal, "CREATE", [(2, {"name": "f"})], FAKE_URL, service="fake_bulk")
        elsewhere = BulkJob.start(journal, "CREATE", [(1, {"name": "p", "geometry": point(1)})],
                                  "https://api.planet.com/tasking/v2/", service="planet_tasking")
        plan = plan_resume(journal, clients)
        assert plan.open_count == 2 and plan.jobs == []  # one not configured, one sent to another address
        assert plan.problems == {"fake_bulk": "not configured"}
        assert elsewhere.job().is_open
