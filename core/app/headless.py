"""Synchronous entry points for callers without an event loop or dialog (Processing, qgis_process): the bulk
engine's steps run in the calling thread, and a rerun of the same layer resumes what the journal holds."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple

from .bulk.job import BulkJob, BulkOutcome, readable_error
from .bulk.journal import BulkJournal
from .bulk.layer_input import FieldMapping, ValidationReport
from .bulk.pricing import PricingReport
from .bulk.result_layer import job_source, journal_features

Progress = Optional[Callable[[float], Any]]
IsCanceled = Optional[Callable[[], bool]]

# The key under which a job's source (in the journal) records the run it belongs to.
RUN_KEY = "headless_run"


def run_key(base_url: str, layer_source: str, mapping: FieldMapping, selected: Optional[Sequence[int]] = None) -> str:
    """Which run a CREATE job belongs to: the same service, layer, mapping and selection make the same key, so a
    rerun after a crash or a cancel finds the jobs of the first run."""
    text = json.dumps([base_url.rstrip("/"), layer_source, sorted(mapping.expressions.items()),
                       sorted(mapping.constants.items()), sorted(selected) if selected is not None else None],
                      sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _same(payload: Mapping[str, Any], other: Mapping[str, Any]) -> bool:
    return json.dumps(payload, sort_keys=True) == json.dumps(other, sort_keys=True)


@dataclass
class ResumableOutcome:
    """A run's result: each feature's order id or reason, over every job of the run (earlier ones included)."""

    results: Dict[int, Tuple[Optional[str], Optional[str]]] = field(default_factory=dict)
    outcomes: List[BulkOutcome] = field(default_factory=list)
    resumed_jobs: int = 0
    already_ordered: int = 0
    sent: int = 0

    @property
    def created(self) -> int:
        return sum(1 for order_id, _ in self.results.values() if order_id)


def _record(results: Dict[int, Tuple[Optional[str], Optional[str]]], outcome: BulkOutcome,
            wanted: Optional[Mapping[int, Mapping[str, Any]]] = None) -> None:
    """Each item's order id or reason into `results` by feature; with `wanted` (feature id -> this run's payload)
    only items that sent that very payload (an earlier job of another layer may share feature ids)."""
    for item in outcome.items:
        if item.feature_id is None or results.get(item.feature_id, (None, None))[0]:
            continue  # an order the feature already has is never replaced by a later failure
        if wanted is not None and (item.feature_id not in wanted or not _same(wanted[item.feature_id], item.payload)):
            continue
        if item.ok:
            results[item.feature_id] = (item.order_id, None)
        elif item.error:
            results[item.feature_id] = (None, readable_error(item.error))
        else:
            results[item.feature_id] = (None, "Still processing at the service; run again to follow it.")


def create_orders_resumably(journal: BulkJournal, client: Any, report: ValidationReport,
                            pricing: Optional[PricingReport], key: str, *, title: str = "",
                            progress: Progress = None, is_canceled: IsCanceled = None,
                            poll: float = 1.0) -> ResumableOutcome:
    """Create the orders of `report`'s valid features as a journaled bulk (BulkJob), in the calling thread.

    The jobs an earlier run with the same `key` left in the journal come first: open ones are followed to their
    end (a chunk whose sending was interrupted is looked up by its UUID before it is ever sent again). A feature
    whose same payload is already ordered or still processing in one of them is not sent again; the rest (never
    sent, withdrawn by a cancel, or refused) go in a new job. Raises core.errors.Cancelled when cancelled: what
    was sent stays in the journal for the next run.
    """
    result = ResumableOutcome()
    base_url = getattr(client, "base_url", "")
    earlier = [job for job in journal.jobs(with_items=False)
               if job.operation == "CREATE" and job.source.get(RUN_KEY) == key
               and job.base_url.rstrip("/") == base_url.rstrip("/")]
    wanted = dict(report.pairs())  # feature id -> the payload this run would send
    taken: Dict[int, List[Mapping[str, Any]]] = {}  # feature id -> payloads already ordered (or on their way)
    steps = len([job for job in earlier if job.is_open]) + 1

    def step_progress(index: int) -> Progress:
        if progress is None:
            return None
        return lambda percent: progress((index + percent / 100.0) * 100.0 / steps)

    done_steps = 0
    for job in earlier:
        bulk = BulkJob.resume(journal, job.job_id)
        if job.is_open:
            result.resumed_jobs += 1
            outcome = bulk.run(client, progress=step_progress(done_steps), is_canceled=is_canceled, poll=poll)
            done_steps += 1
        else:
            outcome = bulk.outcome()
        result.outcomes.append(outcome)
        _record(result.results, outcome, wanted)
        for item in outcome.items:
            if item.feature_id is not None and (item.ok or item.pending):
                taken.setdefault(item.feature_id, [])
                taken[item.feature_id].append(item.payload)
    pairs = []
    for feature_id, payload in wanted.items():
        if any(_same(sent, payload) for sent in taken.get(feature_id, ())):
            result.already_ordered += 1
        else:
            pairs.append((feature_id, payload))
    for check in report.invalid:
        result.results.setdefault(check.feature_id, (None, check.reason))
    if pairs:
        source = {**job_source(report, pricing), RUN_KEY: key}
        bulk = BulkJob.start(journal, "CREATE", pairs, base_url, title=title, source=source,
                             features=journal_features(report, pricing))
        result.sent = len(pairs)
        outcome = bulk.run(client, progress=step_progress(done_steps), is_canceled=is_canceled, poll=poll)
        result.outcomes.append(outcome)
        _record(result.results, outcome)
    if progress is not None:
        progress(100.0)
    return result


def search_imaging_windows(client: Any, request: Mapping[str, Any], *, replacing: bool = False,
                           exclusivity_days: int = 0, progress: Progress = None, is_canceled: IsCanceled = None,
                           poll: float = 2.0, max_poll: float = 5.0) -> Any:
    """One imaging-window search started and polled to its end in the calling thread (what WindowSearchWorkflow
    runs in its task); `request` is the service's forms.search_request. Raises core.errors.Cancelled when
    cancelled, the service's error when the search failed."""
    started = client.start_imaging_window_search(**request)
    return client.wait_imaging_window_search(
        started.id, poll=poll, max_poll=max(poll, max_poll), progress=progress, is_canceled=is_canceled,
        show_replacing_imaging_windows=replacing, exclusivity_days=exclusivity_days)
