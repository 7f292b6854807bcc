"""Following one journaled bulk job again on request, with a client of the service it was sent to."""

from __future__ import annotations

from typing import Optional, Union

from qgis.PyQt.QtCore import QObject, pyqtSignal

from .job import BulkJob
from .journal import BulkJournal, JobSummary
from .lease import JournalLease
from .resume import ClientsByService, registry_client
from .runner import BulkTaskRunner


class BulkFollowWorkflow(BulkTaskRunner):
    """follow(job) asks the job's service about its parts now and reads back their results (followed);
    the job stays in the journal whatever happens."""

    followed = pyqtSignal(object)  # BulkOutcome
    failed = pyqtSignal(object)  # the exception
    stopped = pyqtSignal()
    refused = pyqtSignal(str)  # no client for the job's service: why (nothing sent)

    def __init__(self, clients: Optional[ClientsByService] = None,
                 journal: Union[JournalLease, BulkJournal, None] = None, poll_seconds: float = 2.0,
                 parent: Optional[QObject] = None):
        super().__init__(None, journal, poll_seconds, parent)
        self.clients = clients or registry_client
        self.following: Optional[str] = None

    def follow(self, job: JobSummary) -> bool:
        if not job.is_open or self.busy:
            return False
        try:
            client = self.clients(job.service)
        except Exception as error:  # noqa: BLE001 - not configured: say so
            self.refused.emit(str(error))
            return False
        bulk = self.job = BulkJob.resume(self.journal(), job.job_id)
        self.following = job.job_id
        self._run_job("following a bulk job", bulk, client, self._followed, self._failed, self._stopped)
        return True

    def _followed(self, outcome: object) -> None:
        self.following = None
        self.followed.emit(outcome)

    def _failed(self, error: BaseException) -> None:
        self.following = None
        self.failed.emit(error)

    def _stopped(self) -> None:
        self.following = None
        self.stopped.emit()
