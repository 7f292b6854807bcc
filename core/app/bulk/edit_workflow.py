"""Editing the times of, or cancelling, many orders: today's cancellations counted, journaled bulk requests sent."""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from qgis.PyQt.QtCore import QObject, pyqtSignal

from ... import names
from ...tasks import ApiTask, run_in_background
from .edits import Pairs, cancel_pairs, cancellations_today, charge_refused_ids, edit_pairs
from .job import BulkOutcome
from .journal import BulkJournal
from .lease import JournalLease
from .runner import BulkTaskRunner, ClientFactory, reasons_text


class BulkEditWorkflow(BulkTaskRunner):
    """send(...) edits or cancels the chosen orders in one journaled job; cancel_with_charge() sends again,
    with the charge accepted, the cancellations the service refused for free. The consent is a value the
    caller passes (a checkbox in the dialog), never asked here.
    """

    counted = pyqtSignal(object)  # the service's tally of today's cancellations (has summary())
    countCleared = pyqtSignal()  # noqa: N815 - counting failed or was stopped: nothing to show
    refused = pyqtSignal(str)  # nothing was sent: why, as a sentence
    outcomeReady = pyqtSignal(object, str)  # noqa: N815 - BulkOutcome, its summary with what was left out
    failed = pyqtSignal(str, object)  # the verb ("Cancelling", "Editing"), the exception

    def __init__(self, order_ids: Sequence[str], statuses: Optional[Dict[str, Any]] = None,
                 client_factory: Optional[ClientFactory] = None,
                 journal: Union[JournalLease, BulkJournal, None] = None, poll_seconds: float = 2.0,
                 parent: Optional[QObject] = None):
        super().__init__(client_factory, journal, poll_seconds, parent)
        self.order_ids = list(order_ids)
        self.statuses = dict(statuses or {})
        self.count_task: Optional[ApiTask] = None
        self.cancellations: Any = None
        self.skipped: Dict[str, str] = {}
        self.charge_refused: List[str] = []
        self.outcome: Optional[BulkOutcome] = None

    # -- today's cancellations ------------------------------------------------------------------------

    def count_cancellations(self) -> bool:
        """Count today's cancellations in a task (counted, or countCleared); whether counting started."""
        if self.count_task is not None or self.cancellations is not None:
            return False
        try:
            client = self.client()
        except Exception:  # noqa: BLE001 - the count is a hint; sending will say what is wrong
            return False

        def counted(tally: Any) -> None:
            self.count_task = None
            self.cancellations = tally
            if self._alive():
                self.counted.emit(tally)

        def cleared(*_args: Any) -> None:
            # Failed or cancelled (e.g. from QGIS's task list): not busy any more, so asking again counts again.
            self.count_task = None
            if self._alive():
                self.countCleared.emit()

        self.count_task = run_in_background(
            names.task_description("counting today's cancellations"),
            lambda feedback: cancellations_today(client, is_canceled=feedback.is_canceled),
            counted, cleared, cleared)
        return True

    # -- sending --------------------------------------------------------------------------------------

    def payloads(self, cancel: bool, *, accept_charge: bool = False, start_time: Any = None,
                 end_time: Any = None) -> Tuple[str, Pairs, Dict[str, str]]:
        """(operation, payloads, orders left out with why); ValueError when the times make no edit."""
        if cancel:
            pairs, skipped = cancel_pairs(self.order_ids, accept_cancellation_charge=accept_charge,
                                          statuses=self.statuses)
            return "CANCEL", pairs, skipped
        pairs, skipped = edit_pairs(self.order_ids, start_time=start_time, end_time=end_time, statuses=self.statuses)
        return "EDIT", pairs, skipped

    def send(self, cancel: bool, *, accept_charge: bool = False, start_time: Any = None,
             end_time: Any = None) -> bool:
        """Edit (new start and/or end time) or cancel the orders in one bulk job (outcomeReady)."""
        if self.busy:
            return False
        try:
            operation, pairs, self.skipped = self.payloads(cancel, accept_charge=accept_charge,
                                                           start_time=start_time, end_time=end_time)
        except ValueError as error:
            self.refused.emit(str(error).capitalize() + ".")
            return False
        return self._send(operation, pairs)

    def cancel_with_charge(self) -> bool:
        """Cancel again the orders the service refused to cancel for free, this time accepting the charge."""
        if self.busy or not self.charge_refused:
            return False
        pairs, _ = cancel_pairs(self.charge_refused, accept_cancellation_charge=True)
        return self._send("CANCEL", pairs)

    def _send(self, operation: str, pairs: Pairs) -> bool:
        if not pairs:
            self.refused.emit(self.skipped_text() or "Nothing to send.")
            return False
        try:
            client = self.client()
        except Exception as error:  # noqa: BLE001
            self.refused.emit(str(error))
            return False
        verb = "Cancelling" if operation == "CANCEL" else "Editing"
        try:
            job = self._start_job(operation, pairs, client, title=f"{verb} {len(pairs)} orders")
        except Exception as error:  # noqa: BLE001 - the journal comes first: without it, nothing is sent
            self.refused.emit(f"The bulk journal could not be written, so nothing was sent: {error}")
            return False
        self._run_job(f"{verb.lower()} orders in bulk", job, client, self._finished,
                      lambda error: self.failed.emit(verb, error), lambda: self._finished(job.outcome()))
        return True

    # -- results --------------------------------------------------------------------------------------

    def skipped_text(self) -> str:
        """How many orders were left out and why (empty when none were)."""
        if not self.skipped:
            return ""
        return f"{len(self.skipped)} not sent: " + reasons_text(list(self.skipped.values()))

    def _finished(self, outcome: BulkOutcome) -> None:
        self.outcome = outcome
        text = outcome.summary()
        skipped = self.skipped_text()
        if skipped:
            text += " " + skipped + "."
        self.charge_refused = charge_refused_ids(outcome) if outcome.operation == "CANCEL" else []
        if self.charge_refused:
            text += (f" {len(self.charge_refused)} would be charged (the contract's free cancellations are used up): "
                     "accept the charge to cancel them.")
        self.outcomeReady.emit(outcome, text)
