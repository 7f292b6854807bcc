"""At QGIS start: follow the bulk jobs the last session left unfinished, each with its service's client."""

from __future__ import annotations

from typing import Any, List, Optional

from qgis.core import Qgis

from ...core import names
from ...core.app.bulk import BulkJournal, BulkOutcome, plan_resume, registry_client, resume_jobs
from ...core.app.bulk.resume import ClientsByService
from ...core.log import get_logger
from ...core.tasks import ApiTask, run_in_background
from .common import close_when_done
from .messages import announce_outcome, push_message

_log = get_logger("bulk_dialog")


def resume_unfinished_bulks(clients: Optional[ClientsByService], iface: Any, *,
                            journal: Optional[BulkJournal] = None, poll_seconds: float = 5.0) -> Optional[ApiTask]:
    """At QGIS start: list the bulk jobs the last session left unfinished and follow them in a task.

    `clients(service_id)` gives a client of the service each job was journaled under (the registry's by
    default). Only jobs sent to the address that client calls are followed (never a sandbox job against
    the real service); the message bar says what is being resumed and, when done, how it ended.
    """
    owned = journal is None
    try:
        journal = journal or BulkJournal()
    except Exception as error:  # noqa: BLE001 - an unreadable journal must not stop the plugin loading
        _log.warning("the bulk journal could not be opened: %s", error)
        return None
    task = None
    try:
        task = _resume_in_task(journal, clients or registry_client, iface, poll_seconds)
    finally:
        # A journal opened here is released once the task is done with it (at once when there is none);
        # "Show results" buttons open it again for themselves.
        if owned:
            close_when_done(journal, [task])
    return task


def _resume_in_task(journal: BulkJournal, clients: ClientsByService, iface: Any,
                    poll_seconds: float) -> Optional[ApiTask]:
    try:
        journal.prune()
    except Exception as error:  # noqa: BLE001 - pruning is housekeeping; following open jobs matters more
        _log.warning("old bulk jobs could not be pruned from the journal: %s", error)
    plan = plan_resume(journal, clients)
    if not plan.open_count:
        return None
    if not plan.jobs:
        if plan.problems:
            error = next(iter(plan.problems.values()))
            push_message(iface, f"{plan.open_count} bulk orders from a previous session are unfinished; they will be "
                                f"followed once the plugin is configured ({error}).", Qgis.MessageLevel.Warning, 0)
        return None
    jobs = plan.jobs
    titles = ", ".join(job.title or job.operation for job in jobs[:3]) + ("…" if len(jobs) > 3 else "")
    push_message(iface, f"Following {len(jobs)} unfinished bulk order job(s) from the last session: {titles}.",
                 Qgis.MessageLevel.Info)

    titles_by_id = {job.job_id: job.title or job.operation for job in jobs}

    def finished(outcomes: List[BulkOutcome]) -> None:
        # One entry per job, as at the end of an uninterrupted run: its summary and, for a CREATE, the
        # result layer one click away (rebuilt from the journal; the source layer may be gone).
        for outcome in outcomes:
            title = titles_by_id.get(outcome.job_id, outcome.operation)
            announce_outcome(iface, journal, outcome, f"Resumed bulk “{title}”: ")

    def failed(error: BaseException) -> None:
        text = getattr(error, "message", None) or str(error)
        push_message(iface, f"Following the unfinished bulk orders failed ({text}); they stay in the journal and are "
                            "tried again at the next start.", Qgis.MessageLevel.Warning, 0)

    def stopped() -> None:
        _log.info("following the unfinished bulk orders was stopped; they stay in the journal")

    return run_in_background(
        names.task_description("following unfinished bulk orders"),
        lambda feedback: resume_jobs(journal, is_canceled=feedback.is_canceled, progress=feedback.set_progress,
                                     poll=poll_seconds, plan=plan),
        finished, failed, stopped)
