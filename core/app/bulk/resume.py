"""Following the bulk jobs a previous session left open, each with a client of the service it was sent to."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional

from ...log import get_logger
from ...services import registry
from .job import BulkJob, BulkOutcome
from .journal import BulkJournal, JournalJob

LOGGER = get_logger("bulk")

Progress = Optional[Callable[[float], Any]]
IsCanceled = Optional[Callable[[], bool]]
# service id -> a client for that service as the settings say now (raises when it cannot make one).
ClientsByService = Callable[[str], Any]


def _configured(client: Any) -> Any:
    if client is None:
        raise RuntimeError("The plugin has no API key yet: enter it in the Satellite Tasking settings.")
    return client


def registry_client(service_id: str) -> Any:
    """A client for `service_id` from the registry; RuntimeError while that service is not configured."""
    return _configured(registry.client_for(service_id))


def clients_by_service(client_factory: Callable[[], Any], service_id: Optional[str] = None) -> ClientsByService:
    """service id -> client: `client_factory`'s for the service it serves (the active one by default), the
    registry's for any other, so a job is always followed by a client of the service it was sent to."""
    served = service_id or registry.active_service_id()

    def client(job_service: str) -> Any:
        if job_service != served:
            return registry_client(job_service)
        return _configured(client_factory())

    return client


def unfinished_jobs(journal: BulkJournal, base_url: Optional[str] = None) -> List[JournalJob]:
    """Jobs a previous session left open (for `base_url` only, when given)."""
    return journal.unfinished_jobs(base_url)


@dataclass
class ResumePlan:
    """Which open jobs can be followed now (with the client of their service), and which cannot and why."""

    jobs: List[JournalJob] = field(default_factory=list)
    clients: Dict[str, Any] = field(default_factory=dict)  # job id -> client
    open_count: int = 0
    problems: Dict[str, str] = field(default_factory=dict)  # service id -> why no client


def plan_resume(journal: BulkJournal, clients: ClientsByService = registry_client) -> ResumePlan:
    """Each open job's service is asked for a client through `clients`, by the id the journal recorded.

    Only jobs sent to the address that client calls are followed (never a sandbox job against the real
    service); a job of a service that cannot give a client now waits for the next start.
    """
    plan = ResumePlan()
    open_jobs = journal.unfinished_jobs()
    plan.open_count = len(open_jobs)
    by_service: Dict[str, Any] = {}
    for job in open_jobs:
        if job.service not in by_service and job.service not in plan.problems:
            try:
                by_service[job.service] = clients(job.service)
            except Exception as error:  # noqa: BLE001 - not configured, or a service this plugin no longer has
                plan.problems[job.service] = str(error)
                LOGGER.info("bulk jobs of %s wait: %s", job.service, error)
        client = by_service.get(job.service)
        base_url = getattr(client, "base_url", None)
        if client is not None and (base_url is None or job.base_url.rstrip("/") == base_url.rstrip("/")):
            plan.jobs.append(job)
            plan.clients[job.job_id] = client
    return plan


def resume_jobs(journal: BulkJournal, clients: ClientsByService = registry_client, *, is_canceled: IsCanceled = None,
                progress: Progress = None, poll: float = 1.0, timeout: Optional[float] = None,
                plan: Optional[ResumePlan] = None) -> List[BulkOutcome]:
    """Follow every open job that a client can be had for to its end (used at QGIS start)."""
    plan = plan or plan_resume(journal, clients)
    outcomes = []
    for index, job in enumerate(plan.jobs):
        def job_progress(percent: float, index: int = index) -> None:
            if progress is not None:
                progress((index + percent / 100.0) * 100.0 / len(plan.jobs))

        outcomes.append(BulkJob(journal, job.job_id).run(plan.clients[job.job_id], progress=job_progress,
                                                         is_canceled=is_canceled, poll=poll, timeout=timeout))
    return outcomes
