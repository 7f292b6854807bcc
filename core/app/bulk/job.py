"""The bulk job lifecycle: journal first, then send in chunks, follow each to its end and read its results back."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from ...errors import Cancelled, NotFoundError, ValidationError, field_errors_from_body, field_errors_text
from ...log import get_logger
from ...polling import completed_share, poll_until
from .journal import (
    CHUNK_ACCEPTED,
    CHUNK_COMPLETE,
    CHUNK_REJECTED,
    CHUNK_SENDING,
    CHUNK_WITHDRAWN,
    CHUNK_WRITTEN,
    BulkJournal,
    JournalChunk,
    JournalJob,
    SourceFeature,
)
from .pricing import chunked
from .service_rules import active_service_id, bulk_rules

LOGGER = get_logger("bulk")

Progress = Optional[Callable[[float], Any]]
IsCanceled = Optional[Callable[[], bool]]
# (chunk index, chunk count, bulk state or phase, payloads done, payloads in the chunk)
ChunkProgress = Optional[Callable[[int, int, str, int, int], Any]]


def readable_error(error: Optional[str]) -> Optional[str]:
    """The service's per-payload error (JSON text such as {"geometry": ["..."]}) as one sentence."""
    if not error:
        return error
    return field_errors_text(field_errors_from_body(error)) or error


def needs_cancellation_charge(error: Optional[str], service_id: Optional[str] = None) -> bool:
    """Whether a payload's error is the charged-cancellation refusal (accept the charge to cancel)."""
    return bool(error) and bulk_rules(service_id).is_charge_refusal(error)


@dataclass
class ItemOutcome:
    """One payload's fate: `order_id` when done, `error` when refused, neither while still pending."""

    feature_id: Optional[int]
    payload: Dict[str, Any]
    order_id: Optional[str] = None
    error: Optional[str] = None
    chunk_state: str = CHUNK_WRITTEN

    @property
    def ok(self) -> bool:
        return self.order_id is not None and not self.error

    @property
    def pending(self) -> bool:
        return not self.ok and not self.error

    def result(self, still_processing: str = "Still processing at the service.") -> Tuple[Optional[str], Optional[str]]:
        """(order id, None) when done, (None, the readable reason) when refused, else (None, `still_processing`):
        what a feature's row says of it, in the result layer and in a headless run's results alike."""
        if self.ok:
            return self.order_id, None
        if self.error:
            return None, readable_error(self.error)
        return None, still_processing


@dataclass
class BulkOutcome:
    """All payloads of a job with their results, and the chunks still to follow."""

    job_id: str
    operation: str
    items: List[ItemOutcome]
    chunk_states: List[str]
    # feature id -> why it was not sent (invalid features the user chose to skip; journaled with the job).
    skipped: Dict[int, str] = field(default_factory=dict)

    @property
    def succeeded(self) -> List[ItemOutcome]:
        return [i for i in self.items if i.ok]

    @property
    def failed(self) -> List[ItemOutcome]:
        return [i for i in self.items if i.error]

    @property
    def pending(self) -> List[ItemOutcome]:
        return [i for i in self.items if i.pending]

    @property
    def finished(self) -> bool:
        return not self.pending

    def reasons(self) -> Counter:
        return Counter(readable_error(i.error) for i in self.items if i.error)

    def by_feature(self) -> Dict[int, ItemOutcome]:
        return {i.feature_id: i for i in self.items if i.feature_id is not None}

    def summary(self, top: int = 5) -> str:
        verb = {"CREATE": "created", "EDIT": "edited", "CANCEL": "cancelled"}.get(self.operation, "done")
        text = f"{len(self.succeeded)} {verb}, {len(self.failed)} failed"
        if self.pending:
            text += f", {len(self.pending)} still processing"
        reasons = self.reasons().most_common(top)
        if reasons:
            text += ". Why: " + "; ".join(f"{count} × {reason}" for reason, count in reasons)
        if not text.endswith("."):  # the server's messages usually end with one already
            text += "."
        if self.skipped:
            text += f" {len(self.skipped)} invalid feature{'s were' if len(self.skipped) != 1 else ' was'} not sent."
        return text


@dataclass(frozen=True)
class ChunkState:
    """What a running job last said about one chunk: its bulk state or phase and how many payloads are done."""

    seq: int
    count: int
    state: str
    done: int
    size: int


class BulkJob:
    """A bulk CREATE, EDIT or CANCEL of any size: written to the journal first, then sent in chunks of
    ≤ 1000 (each under its own UUID), followed to COMPLETE and read back per payload.

    Nothing here keeps state outside the journal but the progress last reported (chunk_states): a new
    BulkJob made by `resume` after a crash knows everything the lost one knew. A chunk is re-sent only under its own UUID, and only after asking the
    service whether it already has that UUID, so no order is ever made twice.
    """

    def __init__(self, journal: BulkJournal, job_id: str):
        self.journal = journal
        self.job_id = job_id
        # Written by run() in a task's worker thread, read by the dialog on the GUI thread (its progress bars):
        # the worker only records, so it never touches a widget or emits a signal whose receiver may be gone.
        self._states_lock = threading.Lock()
        self._chunk_states: Dict[int, ChunkState] = {}

    # -- making and finding jobs ------------------------------------------------------------------

    @classmethod
    def start(cls, journal: BulkJournal, operation: str, pairs: Sequence[Tuple[Optional[int], Mapping[str, Any]]],
              base_url: str, *, title: str = "", source: Optional[Dict[str, Any]] = None,
              chunk_size: Optional[int] = None, features: Optional[Sequence[SourceFeature]] = None,
              service: Optional[str] = None) -> "BulkJob":
        """Write a new job to the journal (nothing is sent yet); `features` (journal_features) let the
        result layer be rebuilt from the journal alone, and `source` then holds the layer's description.
        The job is journaled under `service` (the active service by default), whose client follows it."""
        operation = operation.upper()
        if operation not in ("CREATE", "EDIT", "CANCEL"):
            raise ValueError("operation must be CREATE, EDIT or CANCEL")
        if not pairs:
            raise ValueError("a bulk job needs at least one payload")
        service = service or active_service_id()
        largest = bulk_rules(service).MAX_BULK_PAYLOADS
        chunk_size = largest if chunk_size is None else chunk_size
        if not 1 <= chunk_size <= largest:
            raise ValueError(f"chunks hold 1 to {largest} payloads")
        chunks = [[(fid, dict(payload)) for fid, payload in chunk] for chunk in chunked(list(pairs), chunk_size)]
        job = journal.add_job(operation, base_url, chunks, title=title, source=source, features=features,
                              service=service)
        LOGGER.info("bulk %s job %s written to the journal: %d payloads in %d chunks", operation, job.job_id,
                    len(pairs), len(chunks))
        return cls(journal, job.job_id)

    @classmethod
    def resume(cls, journal: BulkJournal, job_id: str) -> "BulkJob":
        if journal.job(job_id, with_items=False) is None:
            raise KeyError(f"no bulk job {job_id} in the journal")
        return cls(journal, job_id)

    def job(self, with_items: bool = True) -> JournalJob:
        job = self.journal.job(self.job_id, with_items=with_items)
        if job is None:
            raise KeyError(f"bulk job {self.job_id} is no longer in the journal")
        return job

    # -- running ----------------------------------------------------------------------------------

    def run(self, client: Any, *, progress: Progress = None, on_chunk: ChunkProgress = None,
            is_canceled: IsCanceled = None, poll: float = 1.0, max_poll: float = 10.0,
            timeout: Optional[float] = None, max_chunks_to_send: Optional[int] = None) -> BulkOutcome:
        """Send every chunk not yet at the service, then follow each to COMPLETE and store its results.

        Cancelling while chunks are still unsent withdraws those (they will never be sent); chunks already
        at the service keep processing there and stay in the journal, to be followed later (`run` again
        or `resume`). `max_chunks_to_send` stops after sending that many (tests: a run killed mid-way).
        `on_chunk` is called on the thread running this (a task's worker thread): a dialog reads
        chunk_states() on the GUI thread instead of passing anything that touches Qt objects.
        """
        # Chunks are read without their payloads; each chunk's are read only when it is sent or read back
        # (decoding every payload of a 5000-order job once per step was the journal's main cost).
        job = self.job(with_items=False)
        self._check_service(client, job)
        count = len(job.chunks)
        sent = 0
        for chunk in job.chunks:
            if chunk.state not in (CHUNK_WRITTEN, CHUNK_SENDING):
                continue
            if max_chunks_to_send is not None and sent >= max_chunks_to_send:
                return self.outcome()
            if is_canceled is not None and is_canceled():
                self._withdraw_unsent()
                raise Cancelled("The bulk was cancelled before every chunk was sent; the unsent ones were withdrawn.")
            self._report(on_chunk, chunk.seq, count, "SENDING", 0, chunk.size)
            self.send_chunk(client, chunk)
            sent += 1
            state = "REJECTED" if chunk.state == CHUNK_REJECTED else "PENDING"  # send_chunk set it
            self._report(on_chunk, chunk.seq, count, state, 0, chunk.size)
        job = self.job(with_items=False)
        total_items = sum(c.size for c in job.chunks) or 1
        finished_items = sum(c.size for c in job.chunks if c.is_finished)
        for chunk in job.chunks:
            if chunk.state != CHUNK_ACCEPTED:
                if chunk.state == CHUNK_COMPLETE:
                    self._report(on_chunk, chunk.seq, count, "COMPLETE", chunk.size, chunk.size)
                continue
            base = finished_items

            def chunk_progress(percent: float, chunk: JournalChunk = chunk, base: int = base) -> None:
                if progress is not None:
                    progress(100.0 * (base + chunk.size * percent / 100.0) / total_items)

            self.follow_chunk(client, chunk, count, progress=chunk_progress, on_chunk=on_chunk,
                              is_canceled=is_canceled, poll=poll, max_poll=max_poll, timeout=timeout)
            finished_items += chunk.size
        self.journal.finish_job_if_done(self.job_id)
        if progress is not None:
            progress(100.0)
        return self.outcome()

    def _check_service(self, client: Any, job: JournalJob) -> None:
        # A job written against the sandbox must never be sent to the real service (or the reverse).
        base_url = getattr(client, "base_url", None)
        if base_url and base_url.rstrip("/") != job.base_url.rstrip("/"):
            raise ValueError(f"This bulk job was made for {job.base_url}, but the client calls {base_url}: "
                             "switch the plugin back to that service to follow it.")

    def _withdraw_unsent(self) -> None:
        for chunk in self.job(with_items=False).chunks:
            if chunk.state == CHUNK_WRITTEN:
                self.journal.set_chunk_state(chunk.bulk_id, CHUNK_WITHDRAWN, error="Withdrawn before sending.")
        self.journal.finish_job_if_done(self.job_id)

    @staticmethod
    def _exists(client: Any, bulk_id: str) -> Optional[Any]:
        try:
            return client.get_bulk(bulk_id)
        except NotFoundError:
            return None

    def send_chunk(self, client: Any, chunk: JournalChunk) -> None:
        """Get one chunk to the service exactly once (state WRITTEN or SENDING -> ACCEPTED or REJECTED).

        A SENDING chunk was perhaps received before QGIS stopped or the network failed: the service is
        asked for its UUID first, and only a 404 lets it be sent again (under the same UUID, so even a
        race ends in "already exists", which is read as "received").
        """
        job_operation = self.job(with_items=False).operation
        if not chunk.items and chunk.size:
            chunk.items = self.journal.chunk_items(chunk.bulk_id)
        if chunk.state == CHUNK_SENDING:
            found = self._exists(client, chunk.bulk_id)
            if found is not None:
                LOGGER.info("bulk %s was already received; following it instead of sending it again", chunk.bulk_id)
                self.journal.set_chunk_state(chunk.bulk_id, CHUNK_ACCEPTED, bulk_status=found.raw)
                chunk.state = CHUNK_ACCEPTED
                return
        self.journal.set_chunk_state(chunk.bulk_id, CHUNK_SENDING, count_attempt=True)
        chunk.state = CHUNK_SENDING
        payloads = [item.payload for item in chunk.items]
        try:
            returned = client.create_bulk(payloads, job_operation, bulk_id=chunk.bulk_id)
        except ValidationError as error:
            if "id" in error.field_errors and self._exists(client, chunk.bulk_id) is not None:
                self.journal.set_chunk_state(chunk.bulk_id, CHUNK_ACCEPTED)
                chunk.state = CHUNK_ACCEPTED
                return
            # The service refused the request as a whole: nothing of it was made; say why on every item.
            self.journal.set_chunk_state(chunk.bulk_id, CHUNK_REJECTED, error=error.message)
            chunk.state = CHUNK_REJECTED
            chunk.error = error.message
            return
        if returned != chunk.bulk_id:
            LOGGER.warning("the service named bulk %s as %s; following it by the name it gave", chunk.bulk_id, returned)
        self.journal.set_chunk_state(chunk.bulk_id, CHUNK_ACCEPTED)
        chunk.state = CHUNK_ACCEPTED

    def follow_chunk(self, client: Any, chunk: JournalChunk, count: int = 1, *, progress: Progress = None,
                     on_chunk: ChunkProgress = None, is_canceled: IsCanceled = None, poll: float = 1.0,
                     max_poll: float = 10.0, timeout: Optional[float] = None) -> None:
        """Wait until the chunk is COMPLETE at the service, then store each payload's order or error."""
        if not chunk.items and chunk.size:
            chunk.items = self.journal.chunk_items(chunk.bulk_id)
        size = len(chunk.items)
        last_state: Dict[str, Any] = {}

        def on_progress(percent: float) -> None:
            if progress is not None:
                progress(percent)

        def watch() -> Any:
            status = client.get_bulk(chunk.bulk_id)
            last_state["status"] = status
            self._report(on_chunk, chunk.seq, count, status.status,
                         status.successful_payload_count + status.failed_payload_count, status.payload_count or size)
            return status

        # Sleeps go through the client's `sleep` (tests make it move the sandbox's simulated clock).
        status = poll_until(watch, lambda state: state.is_complete, percent=_payload_share, poll=poll,
                            max_poll=max_poll, progress=on_progress, is_canceled=is_canceled, timeout=timeout,
                            sleep=getattr(client, "sleep", None), what=f"bulk {chunk.bulk_id}",
                            cancelled_note="it goes on at the service.",
                            timeout_note=" and stays in the journal, to be followed later.")
        self.journal.set_chunk_status(chunk.bulk_id, status.raw)
        job = self.job(with_items=False)
        rules = bulk_rules(job.service)
        results = list(client.iter_bulk_payloads(chunk.bulk_id, page_size=rules.MAX_BULK_PAYLOADS,
                                                 is_canceled=is_canceled))
        outcomes = rules.match_results(job.operation, chunk.items, results)
        missing = [item.position for item in chunk.items if item.position not in outcomes]
        for position in missing:
            outcomes[position] = (None, "The service listed no result for this payload.")
        self.journal.complete_chunk(chunk.bulk_id, outcomes, status.raw)
        chunk.state = CHUNK_COMPLETE
        self._report(on_chunk, chunk.seq, count, "COMPLETE", size, size)

    def _report(self, on_chunk: ChunkProgress, seq: int, count: int, state: str, done: int, size: int) -> None:
        with self._states_lock:
            self._chunk_states[seq] = ChunkState(seq, count, state, done, size)
        if on_chunk is not None:
            on_chunk(seq, count, state, done, size)

    def chunk_states(self) -> List[ChunkState]:
        """The chunks run() has reported on so far, by index; safe to call from any thread while it runs."""
        with self._states_lock:
            return [self._chunk_states[seq] for seq in sorted(self._chunk_states)]

    # -- results ----------------------------------------------------------------------------------

    def outcome(self) -> BulkOutcome:
        job = self.job()
        items: List[ItemOutcome] = []
        for chunk in job.chunks:
            for item in chunk.items:
                error = item.error
                if chunk.state == CHUNK_REJECTED and not error:
                    error = chunk.error or "The service refused this bulk request."
                elif chunk.state == CHUNK_WITHDRAWN and not error:
                    error = "Not sent: the bulk was cancelled before this part was sent."
                items.append(ItemOutcome(item.feature_id, item.payload, item.order_id, error, chunk.state))
        return BulkOutcome(job.job_id, job.operation, items, [c.state for c in job.chunks],
                           self.journal.skipped_features(self.job_id))

    def result_layer(self, name: Optional[str] = None) -> Any:
        """The result layer of a CREATE job, from the journal alone (journal_result_layer)."""
        from .result_layer import journal_result_layer

        return journal_result_layer(self.journal, self.job_id, name=name)


def _payload_share(status: Any, waited: float) -> float:
    return completed_share(status.successful_payload_count + status.failed_payload_count, status.payload_count,
                           status.is_complete)
