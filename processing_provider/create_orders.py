"""Create tasking orders from a layer: the bulk engine (check, price, journaled chunks of up to 1,000), resumed
by a rerun after a crash or a cancel without sending any order twice."""

from __future__ import annotations

from typing import Any, Dict

from qgis.core import (
    QgsFeatureSink,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingOutputString,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFeatureSink,
)

from ..core import compat, names
from ..core.app.bulk import BulkJournal, price_payloads
from ..core.app.headless import create_orders_resumably, run_key
from ..core.errors import Cancelled, ServiceError
from .common import TaskingAlgorithm, canceled_of, progress_of, service_failure, service_url_parameter
from .layer_input import LayerRead, field_parameters, free_name, input_parameter, output_fields, source_feature

STOP_ON_INVALID = "STOP_ON_INVALID"
OUTPUT = "OUTPUT"


class CreateOrdersAlgorithm(TaskingAlgorithm):
    ID = "create_orders_from_layer"
    NAME = "Create tasking orders from layer"

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802 - QGIS's name
        self.addParameter(input_parameter())
        for parameter in field_parameters():
            self.addParameter(parameter)
        self.addParameter(QgsProcessingParameterBoolean(
            STOP_ON_INVALID, "Stop if any feature is invalid (nothing is ordered)", defaultValue=False))
        self.addParameter(service_url_parameter())
        self.addParameter(QgsProcessingParameterFeatureSink(OUTPUT, "Bulk order results"))
        self.addOutput(QgsProcessingOutputNumber("CREATED", "Orders the features have"))
        self.addOutput(QgsProcessingOutputNumber("FAILED", "Features without an order"))
        self.addOutput(QgsProcessingOutputString("ORDER_IDS", "Order ids, comma-separated"))

    def prepare(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> bool:
        self.read = LayerRead(self, parameters, context)
        self.stop_on_invalid = self.parameterAsBoolean(parameters, STOP_ON_INVALID, context)
        return True

    def processAlgorithm(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> Dict[str, Any]:  # noqa: N802
        read = self.read
        report = read.check(feedback, 0, 10)
        invalid = report.invalid
        if invalid and self.stop_on_invalid:
            first = invalid[0]
            raise QgsProcessingException(
                f"{len(invalid)} of {len(report.checks)} features are invalid, so nothing was ordered; the first is "
                f"feature {first.feature_id}: {first.reason}")
        for check in invalid[:20]:
            feedback.pushWarning(f"Feature {check.feature_id}: {check.reason} (skipped, nothing sent)")
        if not report.valid:
            raise QgsProcessingException(f"No feature of “{read.layer_name}” can be ordered: "
                                         + (f"feature {invalid[0].feature_id}: {invalid[0].reason}" if invalid else
                                            "the layer has no features."))
        selected = read.snapshot.feature_ids
        key = run_key(self.client.base_url, read.layer_source, read.mapping, selected)
        journal = BulkJournal()
        try:
            try:
                pricing = price_payloads(self.client, report.pairs(), progress=progress_of(feedback, 10, 20),
                                         is_canceled=canceled_of(feedback))
                feedback.pushInfo(f"Estimated {pricing.total:,.3f} {names.units_text(pricing.units)} for "
                                  f"{len(pricing.prices)} orders.")
                outcome = create_orders_resumably(
                    journal, self.client, report, pricing, key,
                    title=f"{len(report.valid)} orders from “{read.layer_name}” (Processing)",
                    progress=progress_of(feedback, 20, 100), is_canceled=canceled_of(feedback))
            except Cancelled:
                raise QgsProcessingException(
                    "Cancelled. Orders already sent stay in the bulk journal and go on at the service; run the "
                    "algorithm again on the same layer to follow them (nothing is ordered twice).") from None
            except ServiceError as error:
                raise service_failure("Creating the orders", error) from None
        finally:
            journal.close()
        if outcome.resumed_jobs or outcome.already_ordered:
            feedback.pushInfo(f"Resumed {outcome.resumed_jobs} unfinished bulk job(s) of an earlier run; "
                              f"{outcome.already_ordered} features were ordered before and not sent again.")

        source = read.snapshot.fields
        fields = output_fields(source, [compat.make_field(free_name(source, "order_id"), compat.STRING),
                                        compat.make_field(free_name(source, "error"), compat.STRING),
                                        compat.make_field(free_name(source, "estimated_cost"), compat.DOUBLE)])
        sink, sink_id = self.parameterAsSink(parameters, OUTPUT, context, fields, read.snapshot.wkb_type,
                                             read.snapshot.crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, OUTPUT))
        for check in report.checks:
            order_id, error = outcome.results.get(check.feature_id, (None, "Not sent."))
            values = [order_id, error, pricing.cost(check.feature_id)]
            sink.addFeature(source_feature(fields, check.geometry_wkb, check.attributes, values),
                            QgsFeatureSink.Flag.FastInsert)
        order_ids = [order_id for order_id, _ in outcome.results.values() if order_id]
        failed = len(report.checks) - len(order_ids)
        feedback.pushInfo(f"{len(order_ids)} features have an order, {failed} have none (see the error field).")
        return {OUTPUT: sink_id, "CREATED": len(order_ids), "FAILED": failed, "ORDER_IDS": ",".join(order_ids)}
