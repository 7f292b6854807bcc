"""Ordering a layer's features in bulk: check every feature, price them, then create the orders in journaled chunks."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Optional, Tuple, Union

from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ... import names, settings
from ...aoi import AoiError
from .journal import BulkJournal
from .layer_input import FieldMapping, LayerSnapshot, ValidationReport, validate_layer
from .lease import JournalLease
from .pricing import PricingReport, price_payloads
from .result_layer import (
    add_result_layer_to_project,
    job_source,
    journal_features,
    result_layer,
    results_by_feature,
)
from .runner import BulkTaskRunner, ClientFactory
from .service_rules import field_labels

# The question put to the caller before anything is ordered -> whether to go on.
Confirm = Callable[[str], bool]

CHECKING = "Checking features"
PRICING = "Pricing"
CREATING = "Creating orders"
JOURNAL_UNWRITABLE = "Writing the bulk journal (nothing was sent)"


def mapping_problem(mapping: FieldMapping) -> Optional[str]:
    """Why the mapping cannot be used (the first expression that does not parse), or None."""
    problems = mapping.parse_errors()
    if not problems:
        return None
    field, problem = next(iter(problems.items()))
    return f"The expression for {field_labels()[field]} does not parse: {problem}"


class BulkOrderWorkflow(BulkTaskRunner):
    """check() → price() → create(confirm): one step at a time, each in a QgsTask, reported by signals.

    It keeps the last check and price, and which check was ordered: ordering the same check twice would
    double every order, so create() refuses it until the features are checked again. The job is written
    to the journal before anything is sent; if it cannot be, nothing is sent.
    """

    checked = pyqtSignal(object)  # ValidationReport of every feature
    checkRefused = pyqtSignal(str)  # noqa: N815 - the layer or mapping cannot be checked at all: why (nothing sent)
    priced = pyqtSignal(object)  # PricingReport
    # BulkOutcome, the result layer added to the project (or None), and whether following was stopped early.
    outcomeReady = pyqtSignal(object, object, bool)  # noqa: N815 - Qt signal naming
    failed = pyqtSignal(str, object)  # what failed (e.g. "Pricing"), the exception
    cancelled = pyqtSignal(str)  # a check or a pricing was cancelled: which

    def __init__(self, client_factory: Optional[ClientFactory] = None,
                 journal: Union[JournalLease, BulkJournal, None] = None, poll_seconds: float = 2.0,
                 parent: Optional[QObject] = None):
        super().__init__(client_factory, journal, poll_seconds, parent)
        self.report: Optional[ValidationReport] = None
        self.pricing: Optional[PricingReport] = None
        self.outcome: Any = None
        self.result: Optional[QgsVectorLayer] = None
        self.snapshot_layer: Optional[QgsVectorLayer] = None
        # The check (and its price) whose features were sent.
        self._ordered: Optional[Tuple[ValidationReport, Optional[PricingReport]]] = None

    # -- what may be done now -------------------------------------------------------------------------

    def forget(self) -> None:
        """The layer or the mapping changed: the last check and price no longer hold."""
        self.report = None
        self.pricing = None

    @property
    def ordered(self) -> bool:
        """Whether the current check's features were ordered already."""
        return self.report is not None and self._ordered is not None and self.report is self._ordered[0]

    def blocked(self, stop_on_invalid: bool) -> bool:
        """Whether the user's "stop if any feature is invalid" forbids going on."""
        return self.report is not None and stop_on_invalid and bool(self.report.invalid)

    def can_price(self, stop_on_invalid: bool) -> bool:
        return self.report is not None and bool(self.report.valid) and not self.blocked(stop_on_invalid) \
            and not self.busy

    def can_create(self, stop_on_invalid: bool) -> bool:
        return self.can_price(stop_on_invalid) and not self.ordered

    # -- check ----------------------------------------------------------------------------------------

    def preview(self, layer: QgsVectorLayer, selected_only: bool, mapping: FieldMapping,
                limit: int) -> Tuple[Optional[ValidationReport], Optional[str]]:
        """The first `limit` features checked right away (cheap, no request), or why they cannot be."""
        problem = mapping_problem(mapping)
        if problem:
            return None, problem
        try:
            snapshot = LayerSnapshot(layer, selected_only)
        except AoiError as error:  # the layer as a whole is unusable (no CRS, invalid)
            return None, error.message
        return validate_layer(snapshot, mapping, limit=limit), None

    def check(self, layer: QgsVectorLayer, selected_only: bool, mapping: FieldMapping) -> bool:
        """Check every feature in a task (checked), or say at once why it cannot be (checkRefused)."""
        if self.busy:
            return False
        problem = mapping_problem(mapping)
        if problem:
            self.checkRefused.emit(problem)
            return False
        try:
            snapshot = LayerSnapshot(layer, selected_only)
        except AoiError as error:  # no CRS, not a valid layer: nothing to check, nothing to send
            self.report = None
            self.checkRefused.emit(error.message)
            return False
        self.snapshot_layer = layer
        now = datetime.now(timezone.utc)
        # The contract's real area limit where the service tells it (only the local sandbox does); read in the
        # task with the rest, from the settings as they are now.
        contract, port = settings.pl_number(), settings.sandbox_port()
        sandbox = settings.use_sandbox()

        def check_all(feedback: Any) -> Any:
            limit = settings.sandbox_area_limit(contract, port) if sandbox and contract else None
            return validate_layer(snapshot, mapping, now=now, max_sqkm=limit, progress=feedback.set_progress,
                                  is_canceled=feedback.is_canceled)

        self._run(CHECKING, check_all,
                  self._checked, lambda error: self.failed.emit(CHECKING, error),
                  lambda: self.cancelled.emit(CHECKING))
        return True

    def _checked(self, report: ValidationReport) -> None:
        self.report = report
        self.pricing = None
        self.checked.emit(report)

    # -- price ----------------------------------------------------------------------------------------

    def price(self) -> bool:
        """Price the checked features' payloads in a task (priced)."""
        if self.report is None or self.busy:
            return False
        try:
            client = self.client()
        except Exception as error:  # noqa: BLE001 - not configured: say so, do nothing else
            self.failed.emit(PRICING, error)
            return False
        pairs = self.report.pairs()
        self._run(PRICING,
                  lambda feedback: price_payloads(client, pairs, progress=feedback.set_progress,
                                                  is_canceled=feedback.is_canceled),
                  self._priced, lambda error: self.failed.emit(PRICING, error), lambda: self.cancelled.emit(PRICING))
        return True

    def _priced(self, pricing: PricingReport) -> None:
        self.pricing = pricing
        self.priced.emit(pricing)

    # -- create ---------------------------------------------------------------------------------------

    def question(self) -> str:
        """What the caller is asked before the checked features are ordered."""
        pairs = self.report.pairs() if self.report is not None else []
        price = (f" for an estimated {self.pricing.total:,.3f} {names.units_text(self.pricing.units)}"
                 if self.pricing else "")
        question = f"Create {len(pairs)} tasking orders{price}?"
        skipped = len(self.report.invalid) if self.report is not None else 0
        if skipped:
            question += f" {skipped} invalid features will be skipped."
        return question

    def create(self, confirm: Confirm) -> bool:
        """Ask `confirm(question)`, journal the job, then send and follow it in a task (outcomeReady).
        A check already ordered is not ordered again (every order would be doubled)."""
        if self.report is None or self.busy or self.ordered:
            return False
        report, pricing = self.report, self.pricing
        pairs = report.pairs()
        if not pairs or not confirm(self.question()):
            return False
        try:
            client = self.client()
        except Exception as error:  # noqa: BLE001
            self.failed.emit(CREATING, error)
            return False
        layer = self.snapshot_layer
        # The journal gets the whole job (UUIDs, payloads, feature ids) before anything is sent.
        try:
            job = self._start_job("CREATE", pairs, client,
                                  title=f"{len(pairs)} orders from “{layer.name() if layer else ''}”",
                                  source=job_source(report, pricing), features=journal_features(report, pricing))
        except Exception as error:  # noqa: BLE001 - sqlite3/OS errors: report, send nothing
            self.failed.emit(JOURNAL_UNWRITABLE, error)
            return False
        self._ordered = (report, pricing)
        self._run_job(CREATING, job, client, lambda outcome: self._finished(outcome, False),
                      lambda error: self.failed.emit(CREATING, error), lambda: self._finished(job.outcome(), True))
        return True

    def _finished(self, outcome: Any, stopped: bool) -> None:
        self.outcome = outcome
        self.result = self._result_layer(outcome)
        if self.result is not None:
            self.result = add_result_layer_to_project(self.result)
        self.outcomeReady.emit(outcome, self.result, stopped)

    def _result_layer(self, outcome: Any) -> Optional[QgsVectorLayer]:
        # From the journal, like a job resumed after a restart: the same layer either way, even if the
        # source layer was removed meanwhile.
        layer = self.job.result_layer() if self.job is not None else None
        if layer is not None or self._ordered is None:
            return layer
        report, pricing = self._ordered
        source = self.snapshot_layer
        if source is None or QgsProject.instance().mapLayer(source.id()) is None:
            return None
        prices = {fid: p.estimated_quota_cost for fid, p in pricing.prices.items()} if pricing else None
        return result_layer(source, results_by_feature(report, outcome), prices=prices)
