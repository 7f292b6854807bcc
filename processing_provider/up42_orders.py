"""UP42: estimate and place tasking orders from a layer for a chosen data product, its parameters given as JSON
and checked against the product's schema; placing is journaled, so a rerun never orders a feature twice."""

from __future__ import annotations

import hashlib
import json
from typing import Any, Dict, List

from qgis.core import (
    QgsFeatureSink,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterNumber,
)

from ..core import compat
from ..core.app.headless import SchemaOrderJournal, order_key
from ..core.errors import Cancelled, ServiceError
from ..core.services import registry
from .common import TaskingAlgorithm, canceled_of, progress_of, service_failure, service_url_parameter
from .layer_input import free_name, input_parameter, output_fields, source_feature
from .up42_input import (
    UP42,
    EstimateReport,
    Up42Check,
    Up42LayerRead,
    estimate_checks,
    make_up42_client,
    up42_parameters,
)

OUTPUT = "OUTPUT"
MAX_CREDITS = "MAX_CREDITS"
REPORTED_PROBLEMS = 20


class Up42Algorithm(TaskingAlgorithm):
    """A UP42 algorithm: the UP42 client (whatever service the dock uses) and the layer read on the main thread."""

    GROUP = "UP42"
    GROUP_ID = "up42"

    def prepareAlgorithm(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> bool:  # noqa: N802
        self.read = Up42LayerRead(self, parameters, context)
        self.client = make_up42_client(self.read.service_url)
        return self.prepare(parameters, context, feedback)

    def checked(self, feedback: Any) -> tuple:
        """(product id, label, checks): the product looked up, its schema read, every feature checked; the invalid
        ones reported in the log (nothing is sent for them)."""
        product_id, label = self.read.resolve_product(self.client)
        schema = self.client.schema(product_id)
        checks = self.read.check(registry.service(UP42).forms, product_id, schema, canceled_of(feedback))
        invalid = [c for c in checks if not c.ok]
        for check in invalid[:REPORTED_PROBLEMS]:
            feedback.pushWarning(f"Feature {check.feature_id}: {check.reason} (nothing sent for it)")
        if len(invalid) > REPORTED_PROBLEMS:
            feedback.pushWarning(f"… and {len(invalid) - REPORTED_PROBLEMS} more invalid features.")
        feedback.pushInfo(f"{label}: {len(checks) - len(invalid)} of {len(checks)} features valid.")
        return product_id, label, checks

    def sink(self, parameters: Dict[str, Any], context: Any, names: List[tuple]) -> tuple:
        source = self.read.snapshot.fields
        fields = output_fields(source, [compat.make_field(free_name(source, name), kind) for name, kind in names])
        sink, sink_id = self.parameterAsSink(parameters, OUTPUT, context, fields, self.read.snapshot.wkb_type,
                                             self.read.snapshot.crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, OUTPUT))
        return sink, sink_id, fields

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


class Up42EstimateAlgorithm(Up42Algorithm):
    ID = "up42_estimate_orders"
    NAME = "UP42: estimate tasking orders from layer"

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802 - QGIS's name
        self.addParameter(input_parameter())
        for parameter in up42_parameters():
            self.addParameter(parameter)
        self.addParameter(service_url_parameter())
        self.addParameter(QgsProcessingParameterFeatureSink(OUTPUT, "Estimated orders"))
        self.addOutput(QgsProcessingOutputNumber("TOTAL_CREDITS", "Total credits"))
        self.addOutput(QgsProcessingOutputNumber("ESTIMATED", "Features estimated"))
        self.addOutput(QgsProcessingOutputNumber("FAILED", "Features not estimated (invalid or refused)"))
        self.addOutput(QgsProcessingOutputNumber("REQUESTS", "Estimate requests sent"))

    def processAlgorithm(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> Dict[str, Any]:  # noqa: N802
        try:
            try:
                product_id, label, checks = self.checked(feedback)
                feedback.setProgress(15)
                estimate = estimate_checks(self.client, checks, progress_of(feedback, 15, 95), canceled_of(feedback))
            except Cancelled:
                raise QgsProcessingException("The estimate was cancelled; no layer was written.") from None
            except ServiceError as error:
                raise service_failure("The UP42 estimate", error) from None
        finally:
            self.close()
        sink, sink_id, fields = self.sink(parameters, context, [
            ("credits", compat.DOUBLE), ("size", compat.DOUBLE), ("size_unit", compat.STRING),
            ("aoi_kind", compat.STRING), ("error", compat.STRING)])
        for check in checks:
            fid = check.feature_id
            values = [estimate.credits.get(fid), estimate.sizes.get(fid), estimate.units.get(fid), check.kind,
                      check.reason or estimate.refusals.get(fid)]
            sink.addFeature(source_feature(fields, check.geometry_wkb, check.attributes, values),
                            QgsFeatureSink.Flag.FastInsert)
        failed = len(checks) - len(estimate.credits)
        feedback.setProgress(100)
        feedback.pushInfo(f"Estimate: {estimate.total:,.0f} credits for {len(estimate.credits)} orders of {label} "
                          f"({estimate.requests} request{'s' if estimate.requests != 1 else ''}); {failed} features "
                          "without an estimate (see the error field).")
        return {OUTPUT: sink_id, "TOTAL_CREDITS": estimate.total, "ESTIMATED": len(estimate.credits),
                "FAILED": failed, "REQUESTS": estimate.requests}


class Up42PlaceAlgorithm(Up42Algorithm):
    ID = "up42_place_orders"
    NAME = "UP42: place tasking orders from layer"

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802 - QGIS's name
        self.addParameter(input_parameter())
        for parameter in up42_parameters():
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterNumber(
            MAX_CREDITS, "Maximum credits to spend (nothing is ordered if the estimate is higher)",
            QgsProcessingParameterNumber.Type.Double, minValue=0.0))
        self.addParameter(service_url_parameter())
        self.addParameter(QgsProcessingParameterFeatureSink(OUTPUT, "Placed orders"))
        self.addOutput(QgsProcessingOutputNumber("PLACED", "Features that have an order"))
        self.addOutput(QgsProcessingOutputNumber("FAILED", "Features without an order"))
        self.addOutput(QgsProcessingOutputNumber("CREDITS", "Credits estimated for the orders this run placed"))
        self.addOutput(QgsProcessingOutputString("ORDER_IDS", "Order ids, comma-separated"))

    def prepare(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> bool:
        self.max_credits = self.parameterAsDouble(parameters, MAX_CREDITS, context)
        return True

    def run_key(self, product_id: str) -> str:
        """Which run the features' orders belong to: the service, the layer, its selection and the product."""
        snapshot = self.read.snapshot
        text = json.dumps([self.client.base_url.rstrip("/"), self.read.layer_source, snapshot.feature_ids, product_id],
                          default=str)
        return hashlib.sha256(text.encode("utf-8")).hexdigest()

    def processAlgorithm(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> Dict[str, Any]:  # noqa: N802
        journal = SchemaOrderJournal()
        try:
            results, estimate, checks, sent_credits = self._place(journal, feedback)
        finally:
            journal.close()
            self.close()
        sink, sink_id, fields = self.sink(parameters, context, [
            ("order_id", compat.STRING), ("error", compat.STRING), ("credits", compat.DOUBLE)])
        for check in checks:
            order_id, error = results.get(check.feature_id, (None, check.reason or "Not sent."))
            values = [order_id, error, estimate.credits.get(check.feature_id)]
            sink.addFeature(source_feature(fields, check.geometry_wkb, check.attributes, values),
                            QgsFeatureSink.Flag.FastInsert)
        order_ids = [order_id for order_id, _ in results.values() if order_id]
        failed = len(checks) - len(order_ids)
        feedback.setProgress(100)
        feedback.pushInfo(f"{len(order_ids)} features have an order, {failed} have none (see the error field).")
        return {OUTPUT: sink_id, "PLACED": len(order_ids), "FAILED": failed, "CREDITS": sent_credits,
                "ORDER_IDS": ",".join(order_ids)}

    def _place(self, journal: SchemaOrderJournal, feedback: Any) -> tuple:
        is_canceled = canceled_of(feedback)
        results: Dict[int, tuple] = {}
        try:
            product_id, label, checks = self.checked(feedback)
            run = self.run_key(product_id)
            valid = [c for c in checks if c.ok]
            keys = {c.feature_id: order_key(run, c.feature_id, c.body) for c in valid}
            settled = journal.settle(self.client, [(keys[c.feature_id], c.body) for c in valid])
            if settled.already or settled.recovered:
                feedback.pushInfo(f"{settled.already + settled.recovered} features were ordered by an earlier run "
                                  f"({settled.recovered} found after it was interrupted); not sent again.")
            waiting: List[Up42Check] = []
            for check in valid:
                if keys[check.feature_id] in settled.results:
                    results[check.feature_id] = settled.results[keys[check.feature_id]]
                else:
                    waiting.append(check)
            feedback.setProgress(10)
            estimate = estimate_checks(self.client, waiting, progress_of(feedback, 10, 25), is_canceled)
            to_send = [c for c in waiting if c.feature_id not in estimate.refusals]
            for check in waiting:
                if check.feature_id in estimate.refusals:
                    results[check.feature_id] = (None, estimate.refusals[check.feature_id])
            total = estimate.total
            feedback.pushInfo(f"Estimate: {total:,.0f} credits for {len(to_send)} new orders of {label} "
                              f"(at most {self.max_credits:,.0f} allowed).")
            if to_send and total > self.max_credits:
                raise QgsProcessingException(
                    f"The estimate is {total:,.0f} credits for {len(to_send)} orders, more than the Maximum credits "
                    f"to spend ({self.max_credits:,.0f}): nothing was ordered. Run again with Maximum credits of at "
                    f"least {total:,.0f} to place them.")
            sent_credits = self._send(journal, to_send, keys, estimate, results, feedback)
        except Cancelled:
            raise QgsProcessingException(
                "Cancelled. The orders placed so far are in the plugin's journal; run the algorithm again on the same "
                "layer to place the rest (nothing is ordered twice).") from None
        except ServiceError as error:
            raise service_failure("Placing the UP42 orders", error) from None
        return results, estimate, checks, sent_credits

    def _send(self, journal: SchemaOrderJournal, to_send: List[Up42Check], keys: Dict[int, str],
              estimate: EstimateReport, results: Dict[int, tuple], feedback: Any) -> float:
        if not to_send:
            return 0.0
        known = journal.known_ids(self.client)
        sent_credits = 0.0
        progress = progress_of(feedback, 25, 100)
        for number, check in enumerate(to_send):
            if feedback.isCanceled():
                raise Cancelled("cancelled")
            try:
                order_id, error = journal.place(self.client, keys[check.feature_id], check.body, known)
            except ServiceError as failure:
                raise QgsProcessingException(
                    f"Feature {check.feature_id} (“{check.body['displayName']}”): {failure}. The {number} orders "
                    "placed before it are in the plugin's journal: run the algorithm again to go on (nothing is "
                    "ordered twice).") from None
            results[check.feature_id] = (order_id, error)
            if order_id:
                sent_credits += estimate.credits.get(check.feature_id, 0.0)
            progress(100.0 * (number + 1) / len(to_send))
        return sent_credits
