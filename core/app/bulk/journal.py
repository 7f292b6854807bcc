"""Local SQLite journal of bulk operations: each chunk (UUID, payloads, service, source features) is written before it is sent."""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Dict, Iterable, List, Optional, Sequence, Tuple

JOURNAL_FILE_NAME = "satellite_tasking_bulk_journal.sqlite"
# Tests (and a user who wants the journal elsewhere) point at another file with this variable.
JOURNAL_PATH_ENV = "SATELLITE_TASKING_BULK_JOURNAL"

# Chunk states, in the order a chunk goes through them.
CHUNK_WRITTEN = "WRITTEN"  # in the journal, never sent
CHUNK_SENDING = "SENDING"  # a POST was started: the service may or may not have it
CHUNK_ACCEPTED = "ACCEPTED"  # the service has it (202, or found by its UUID)
CHUNK_COMPLETE = "COMPLETE"  # finished at the service and every payload's outcome is stored here
CHUNK_REJECTED = "REJECTED"  # the service refused the whole chunk (its error is stored); nothing was made
CHUNK_WITHDRAWN = "WITHDRAWN"  # the user cancelled before it was sent; it never will be
FINISHED_CHUNK_STATES = frozenset({CHUNK_COMPLETE, CHUNK_REJECTED, CHUNK_WITHDRAWN})

JOB_OPEN = "OPEN"
JOB_FINISHED = "FINISHED"
JOB_DISMISSED = "DISMISSED"

# PRAGMA user_version of the file. 0/1: jobs, chunks and items only. 2: source_feature, so a CREATE job's
# result layer can be rebuilt after a restart without the original layer. 3: job.service, the id of the
# service the job was sent to (resume asks the registry for that service's client). Older files are
# upgraded on open.
SCHEMA_VERSION = 3
# Every job written before the journal recorded its service was a Planet Tasking job (the only service then).
LEGACY_SERVICE = "planet_tasking"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS job (
    job_id TEXT PRIMARY KEY,
    operation TEXT NOT NULL,
    base_url TEXT NOT NULL,
    service TEXT NOT NULL DEFAULT 'planet_tasking',
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


class _Rows(list):
    """Argument rows for one executemany (a plain list is one statement's arguments)."""


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def default_journal_path() -> str:
    """The journal file: $SATELLITE_TASKING_BULK_JOURNAL, else in the QGIS profile folder."""
    override = os.environ.get(JOURNAL_PATH_ENV)
    if override:
        return override
    from qgis.core import QgsApplication

    return os.path.join(QgsApplication.qgisSettingsDirPath(), JOURNAL_FILE_NAME)


@dataclass
class JournalItem:
    """One payload of a chunk: where it came from (feature id) and, once known, its order or error."""

    position: int
    feature_id: Optional[int]
    payload: Dict[str, Any]
    order_id: Optional[str] = None
    error: Optional[str] = None


@dataclass
class SourceFeature:
    """A feature of the layer a CREATE job came from: WKB in the layer's CRS (job.source["crs"]), its
    attributes as JSON values, why it was not sent (invalid) or None, and its price when it was priced."""

    feature_id: int
    geometry: Optional[bytes]
    attributes: List[Any]
    skipped: Optional[str] = None
    estimated_cost: Optional[float] = None


@dataclass
class JobSummary:
    """One line of the jobs list: a job's counts, read without loading its payloads."""

    job_id: str
    operation: str
    base_url: str
    service: str
    title: str
    state: str
    created_at: str
    updated_at: str
    chunks: int = 0
    chunks_sent: int = 0
    chunks_complete: int = 0
    payloads: int = 0
    succeeded: int = 0
    failed: int = 0
    skipped: int = 0

    @property
    def is_open(self) -> bool:
        return self.state == JOB_OPEN

    @property
    def pending(self) -> int:
        return self.payloads - self.succeeded - self.failed


@dataclass
class JournalChunk:
    """One bulk request (≤ 1000 payloads) under its own client-chosen UUID."""

    bulk_id: str
    job_id: str
    seq: int
    state: str
    bulk_status: Optional[Dict[str, Any]] = None
    error: Optional[str] = None
    send_attempts: int = 0
    items: List[JournalItem] = field(default_factory=list)
    # How many payloads the chunk holds, known even when its items were not loaded (with_items=False).
    size: int = 0

    @property
    def is_finished(self) -> bool:
        return self.state in FINISHED_CHUNK_STATES


@dataclass
class JournalJob:
    """A bulk operation the user started (one layer, one edit, one cancel), split into chunks."""

    job_id: str
    operation: str
    base_url: str
    title: str
    source: Dict[str, Any]
    state: str
    created_at: str
    updated_at: str
    chunks: List[JournalChunk] = field(default_factory=list)
    # The registry id of the service the job was sent to.
    service: str = LEGACY_SERVICE

    @property
    def is_open(self) -> bool:
        return self.state == JOB_OPEN


class BulkJournal:
    """The journal file; safe to share between the GUI thread and one task thread (one lock, WAL).

    Every write is committed before the method returns, so what is in the file is what was done, even if
    QGIS is killed the next instant.
    """

    def __init__(self, path: Optional[str] = None):
        self.path = path or default_journal_path()
        folder = os.path.dirname(os.path.abspath(self.path))
        os.makedirs(folder, exist_ok=True)
        self._lock = threading.RLock()
        self._closed = False
        self._db = sqlite3.connect(self.path, timeout=30.0, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is on disk before we go on to send the request it describes.
        self._db.execute("PRAGMA synchronous=FULL")
        self._migrate()

    def _migrate(self) -> None:
        """Bring an older file up to SCHEMA_VERSION; refuse one written by a newer plugin (its meaning is unknown)."""
        with self._lock:
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                self._db.close()
                raise RuntimeError(f"The bulk journal {self.path} was written by a newer version of the plugin "
                                   f"(schema {version}, this one knows {SCHEMA_VERSION}); update the plugin.")
            # Steps 1 and 2 only add tables: CREATE ... IF NOT EXISTS upgrades 0/1 and leaves later ones alone.
            self._db.executescript(_SCHEMA)
            # Step 3 adds a column to an existing table; its default says what every older job was.
            columns = {row[1] for row in self._db.execute("PRAGMA table_info(job)")}
            if "service" not in columns:
                self._db.execute(f"ALTER TABLE job ADD COLUMN service TEXT NOT NULL DEFAULT '{LEGACY_SERVICE}'")
            if version < SCHEMA_VERSION:
                self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._db.execute("PRAGMA user_version").fetchone()[0]

    def close(self) -> None:
        """Release the file (idempotent); the object is unusable afterwards: open a new BulkJournal instead."""
        with self._lock:
            self._db.close()
            self._closed = True

    @property
    def closed(self) -> bool:
        return self._closed

    def __enter__(self) -> "BulkJournal":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def _write(self, statements: Iterable[Tuple[str, Sequence[Any]]]) -> None:
        with self._lock:
            cursor = self._db.cursor()
            cursor.execute("BEGIN IMMEDIATE")
            try:
                for sql, args in statements:
                    if isinstance(args, _Rows):
                        cursor.executemany(sql, args)
                    else:
                        cursor.execute(sql, args)
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            cursor.execute("COMMIT")

    # -- writing -------------------------------------------------------------------------------------

    def add_job(self, operation: str, base_url: str, chunks: Sequence[Sequence[Tuple[Optional[int], Dict[str, Any]]]],
                *, title: str = "", source: Optional[Dict[str, Any]] = None,
                features: Optional[Sequence[SourceFeature]] = None, service: str = LEGACY_SERVICE) -> JournalJob:
        """Record a whole job, every chunk with a fresh UUID and its (feature id, payload) pairs, and the
        source `features` (for the result layer), in one transaction: either all of it is in the journal,
        or none (then nothing was sent either)."""
        job_id = str(uuid.uuid4())
        now = _now()
        statements: List[Tuple[str, Sequence[Any]]] = [(
            "INSERT INTO job(job_id, operation, base_url, service, title, source, state, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (job_id, operation, base_url, service, title, json.dumps(source or {}), JOB_OPEN, now, now),
        )]
        for seq, pairs in enumerate(chunks):
            bulk_id = str(uuid.uuid4())
            statements.append((
                "INSERT INTO chunk(bulk_id, job_id, seq, state, updated_at) VALUES (?, ?, ?, ?, ?)",
                (bulk_id, job_id, seq, CHUNK_WRITTEN, now),
            ))
            statements.append((
                "INSERT INTO item(bulk_id, position, feature_id, payload) VALUES (?, ?, ?, ?)",
                _Rows((bulk_id, position, feature_id, json.dumps(payload, separators=(",", ":")))
                      for position, (feature_id, payload) in enumerate(pairs)),
            ))
        if features:
            statements.append((
                "INSERT INTO source_feature(job_id, feature_id, geometry, attributes, skipped, estimated_cost) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                _Rows((job_id, f.feature_id, f.geometry, json.dumps(f.attributes, separators=(",", ":")), f.skipped,
                       f.estimated_cost) for f in features),
            ))
        self._write(statements)
        # Without items: the caller has the payloads; decoding 5000 of them again cost ~20 ms for nothing.
        job = self.job(job_id, with_items=False)
        assert job is not None
        return job

    def set_chunk_state(self, bulk_id: str, state: str, *, error: Optional[str] = None,
                        bulk_status: Optional[Dict[str, Any]] = None, count_attempt: bool = False) -> None:
        sets = ["state = ?", "updated_at = ?"]
        args: List[Any] = [state, _now()]
        if error is not None:
            sets.append("error = ?")
            args.append(error)
        if bulk_status is not None:
            sets.append("bulk_status = ?")
            args.append(json.dumps(bulk_status, default=str))
        if count_attempt:
            sets.append("send_attempts = send_attempts + 1")
        args.append(bulk_id)
        self._write([(f"UPDATE chunk SET {', '.join(sets)} WHERE bulk_id = ?", args)])

    def set_chunk_status(self, bulk_id: str, bulk_status: Dict[str, Any]) -> None:
        """Keep the service's last answer about the chunk (for the resume list and the summary)."""
        self._write([("UPDATE chunk SET bulk_status = ?, updated_at = ? WHERE bulk_id = ?",
                      (json.dumps(bulk_status, default=str), _now(), bulk_id))])

    def complete_chunk(self, bulk_id: str, outcomes: Dict[int, Tuple[Optional[str], Optional[str]]],
                       bulk_status: Optional[Dict[str, Any]] = None) -> None:
        """Store each position's (order_id, error) and mark the chunk COMPLETE, in one transaction."""
        now = _now()
        statements: List[Tuple[str, Sequence[Any]]] = [
            ("UPDATE item SET order_id = ?, error = ? WHERE bulk_id = ? AND position = ?",
             (order_id, error, bulk_id, position))
            for position, (order_id, error) in outcomes.items()
        ]
        statements.append((
            "UPDATE chunk SET state = ?, updated_at = ?, bulk_status = COALESCE(?, bulk_status) WHERE bulk_id = ?",
            (CHUNK_COMPLETE, now, json.dumps(bulk_status, default=str) if bulk_status else None, bulk_id),
        ))
        self._write(statements)

    def set_job_state(self, job_id: str, state: str) -> None:
        self._write([("UPDATE job SET state = ?, updated_at = ? WHERE job_id = ?", (state, _now(), job_id))])

    def finish_job_if_done(self, job_id: str) -> bool:
        """Mark the job FINISHED when every chunk is; whether it is finished now."""
        job = self.job(job_id, with_items=False)
        if job is None:
            return False
        if job.state == JOB_OPEN and all(c.is_finished for c in job.chunks):
            self.set_job_state(job_id, JOB_FINISHED)
            return True
        return job.state != JOB_OPEN

    def dismiss_job(self, job_id: str) -> None:
        """Stop following a job (the user said so); chunks already at the service go on there."""
        self.set_job_state(job_id, JOB_DISMISSED)

    def prune(self, older_than_days: float = 90.0) -> int:
        """Forget FINISHED and DISMISSED jobs last touched more than `older_than_days` ago (open ones are
        always kept); how many were removed. Keeps the file small after years of bulk orders."""
        cutoff = datetime.now(timezone.utc).timestamp() - older_than_days * 86400.0
        cutoff_text = datetime.fromtimestamp(cutoff, timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        with self._lock:
            rows = self._db.execute("SELECT job_id FROM job WHERE state != ? AND updated_at < ?",
                                    (JOB_OPEN, cutoff_text)).fetchall()
        statements: List[Tuple[str, Sequence[Any]]] = []
        for (job_id,) in rows:
            statements += [
                ("DELETE FROM item WHERE bulk_id IN (SELECT bulk_id FROM chunk WHERE job_id = ?)", (job_id,)),
                ("DELETE FROM chunk WHERE job_id = ?", (job_id,)),
                ("DELETE FROM source_feature WHERE job_id = ?", (job_id,)),
                ("DELETE FROM job WHERE job_id = ?", (job_id,)),
            ]
        if statements:
            self._write(statements)
        return len(rows)

    # -- reading -------------------------------------------------------------------------------------

    def job(self, job_id: str, *, with_items: bool = True) -> Optional[JournalJob]:
        with self._lock:
            row = self._db.execute(
                "SELECT job_id, operation, base_url, title, source, state, created_at, updated_at, service FROM job "
                "WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            job = JournalJob(job_id=row[0], operation=row[1], base_url=row[2], title=row[3],
                             source=json.loads(row[4] or "{}"), state=row[5], created_at=row[6], updated_at=row[7],
                             service=row[8])
            chunk_rows = self._db.execute(
                "SELECT bulk_id, seq, state, bulk_status, error, send_attempts, "
                "(SELECT COUNT(*) FROM item WHERE item.bulk_id = chunk.bulk_id) FROM chunk WHERE job_id = ? "
                "ORDER BY seq", (job_id,)).fetchall()
            for bulk_id, seq, state, status, error, attempts, size in chunk_rows:
                chunk = JournalChunk(bulk_id=bulk_id, job_id=job_id, seq=seq, state=state,
                                     bulk_status=json.loads(status) if status else None, error=error,
                                     send_attempts=attempts, size=size)
                if with_items:
                    chunk.items = self.chunk_items(bulk_id)
                job.chunks.append(chunk)
            return job

    def chunk_items(self, bulk_id: str) -> List[JournalItem]:
        """One chunk's payloads with their outcomes, in the order sent."""
        with self._lock:
            return [
                JournalItem(position=p, feature_id=f, payload=json.loads(payload), order_id=o, error=e)
                for p, f, payload, o, e in self._db.execute(
                    "SELECT position, feature_id, payload, order_id, error FROM item WHERE bulk_id = ? "
                    "ORDER BY position", (bulk_id,))
            ]

    def jobs(self, *, states: Optional[Sequence[str]] = None, with_items: bool = False) -> List[JournalJob]:
        with self._lock:
            if states:
                marks = ",".join("?" for _ in states)
                rows = self._db.execute(
                    f"SELECT job_id FROM job WHERE state IN ({marks}) ORDER BY created_at", list(states)).fetchall()
            else:
                rows = self._db.execute("SELECT job_id FROM job ORDER BY created_at").fetchall()
        return [job for job in (self.job(r[0], with_items=with_items) for r in rows) if job is not None]

    def source_features(self, job_id: str) -> List[SourceFeature]:
        """The source features stored with a CREATE job, by feature id (none for jobs of schema < 2)."""
        with self._lock:
            rows = self._db.execute(
                "SELECT feature_id, geometry, attributes, skipped, estimated_cost FROM source_feature "
                "WHERE job_id = ? ORDER BY feature_id", (job_id,)).fetchall()
        return [SourceFeature(fid, geometry, json.loads(attributes or "[]"), skipped, cost)
                for fid, geometry, attributes, skipped, cost in rows]

    def skipped_features(self, job_id: str) -> Dict[int, str]:
        """feature id -> why it was not sent, for the features the user chose to skip."""
        with self._lock:
            rows = self._db.execute("SELECT feature_id, skipped FROM source_feature WHERE job_id = ? AND "
                                    "skipped IS NOT NULL ORDER BY feature_id", (job_id,)).fetchall()
        return dict(rows)

    def has_source_features(self, job_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM source_feature WHERE job_id = ? LIMIT 1",
                                    (job_id,)).fetchone() is not None

    def change_marker(self) -> tuple:
        """A cheap fingerprint of the jobs and their chunks: it differs whenever a job or a chunk was added or
        changed (results are written with their chunk), so a list can re-read only when there is news."""
        with self._lock:
            jobs = self._db.execute("SELECT COUNT(*), MAX(updated_at) FROM job").fetchone()
            chunks = self._db.execute("SELECT COUNT(*), MAX(updated_at) FROM chunk").fetchone()
        return tuple(jobs) + tuple(chunks)

    def job_summaries(self, *, states: Optional[Sequence[str]] = None) -> List[JobSummary]:
        """Every job (or those in `states`), newest first, with its chunk and payload counts."""
        where, args = "", []
        if states:
            where = f"WHERE j.state IN ({','.join('?' for _ in states)})"
            args = list(states)
        sent = (CHUNK_SENDING, CHUNK_ACCEPTED, CHUNK_COMPLETE, CHUNK_REJECTED)
        sql = f"""
            SELECT j.job_id, j.operation, j.base_url, j.service, j.title, j.state, j.created_at, j.updated_at,
                   (SELECT COUNT(*) FROM chunk c WHERE c.job_id = j.job_id),
                   (SELECT COUNT(*) FROM chunk c WHERE c.job_id = j.job_id AND c.state IN (?, ?, ?, ?)),
                   (SELECT COUNT(*) FROM chunk c WHERE c.job_id = j.job_id AND c.state = ?),
                   (SELECT COUNT(*) FROM item i JOIN chunk c ON c.bulk_id = i.bulk_id WHERE c.job_id = j.job_id),
                   (SELECT COUNT(*) FROM item i JOIN chunk c ON c.bulk_id = i.bulk_id
                     WHERE c.job_id = j.job_id AND i.order_id IS NOT NULL AND i.error IS NULL),
                   (SELECT COUNT(*) FROM item i JOIN chunk c ON c.bulk_id = i.bulk_id
                     WHERE c.job_id = j.job_id AND (i.error IS NOT NULL OR c.state IN (?, ?))),
                   (SELECT COUNT(*) FROM source_feature s WHERE s.job_id = j.job_id AND s.skipped IS NOT NULL)
            FROM job j {where} ORDER BY j.created_at DESC"""
        with self._lock:
            rows = self._db.execute(sql, list(sent) + [CHUNK_COMPLETE, CHUNK_REJECTED, CHUNK_WITHDRAWN]
                                    + args).fetchall()
        return [JobSummary(*row) for row in rows]

    def unfinished_jobs(self, base_url: Optional[str] = None, *, service: Optional[str] = None) -> List[JournalJob]:
        """Jobs still OPEN (optionally only those sent to `base_url`, or of `service`), oldest first."""
        jobs = self.jobs(states=[JOB_OPEN])
        if base_url is not None:
            jobs = [j for j in jobs if _same_url(j.base_url, base_url)]
        if service is not None:
            jobs = [j for j in jobs if j.service == service]
        return jobs


def _same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")
