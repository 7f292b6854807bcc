"""Price AOIs: a layer's features priced by the bulk engine (check, then the service's list pricing in chunks)."""

from __future__ import annotations

from typing import Any, Dict

from qgis.core import (
    QgsFeatureSink,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterFeatureSink,
)

from ..core import compat, names
from ..core.app.bulk import PRICING_CHUNK_SIZE, price_payloads
from ..core.errors import Cancelled, ServiceError
from .common import TaskingAlgorithm, canceled_of, progress_of, service_failure, service_url_parameter
from .layer_input import LayerRead, field_parameters, free_name, input_parameter, output_fields, source_feature

OUTPUT = "OUTPUT"
# Invalid features reported one by one in the log, then only counted.
REPORTED_PROBLEMS = 20


class PriceAoisAlgorithm(TaskingAlgorithm):
    ID = "price_aois"
    NAME = "Price AOIs"

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802 - QGIS's name
        self.addParameter(input_parameter())
        for parameter in field_parameters():
            self.addParameter(parameter)
        self.addParameter(service_url_parameter())
        self.addParameter(QgsProcessingParameterFeatureSink(OUTPUT, "Priced AOIs"))
        # Numbers a model can pass on (e.g. to a condition on the total).
        self.addOutput(QgsProcessingOutputNumber("TOTAL", "Total price"))
        self.addOutput(QgsProcessingOutputNumber("PRICED", "Features priced"))
        self.addOutput(QgsProcessingOutputNumber("FAILED", "Features not priced (invalid or refused)"))
        self.addOutput(QgsProcessingOutputNumber("REQUESTS", "Pricing requests sent"))

    def prepare(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> bool:
        self.read = LayerRead(self, parameters, context)
        return True

    def processAlgorithm(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> Dict[str, Any]:  # noqa: N802
        read = self.read
        try:
            report = read.check(feedback, 0, 20)
            invalid = report.invalid
            for check in invalid[:REPORTED_PROBLEMS]:
                feedback.pushWarning(f"Feature {check.feature_id}: {check.reason} (not priced, nothing sent)")
            if len(invalid) > REPORTED_PROBLEMS:
                feedback.pushWarning(f"… and {len(invalid) - REPORTED_PROBLEMS} more invalid features.")
            pairs = report.pairs()
            feedback.pushInfo(f"{len(pairs)} valid features priced in requests of up to {PRICING_CHUNK_SIZE:,}.")
            pricing = price_payloads(self.client, pairs, progress=progress_of(feedback, 20, 95),
                                     is_canceled=canceled_of(feedback)) if pairs else None
        except Cancelled:
            raise QgsProcessingException("Pricing was cancelled; no layer was written.") from None
        except ServiceError as error:
            raise service_failure("Pricing", error) from None

        source = read.snapshot.fields
        extra = [compat.make_field(free_name(source, "price"), compat.DOUBLE),
                 compat.make_field(free_name(source, "price_units"), compat.STRING),
                 compat.make_field(free_name(source, "aoi_kind"), compat.STRING),
                 compat.make_field(free_name(source, "tasked_sqkm"), compat.DOUBLE),
                 compat.make_field(free_name(source, "price_error"), compat.STRING)]
        fields = output_fields(source, extra)
        sink, sink_id = self.parameterAsSink(parameters, OUTPUT, context, fields, read.snapshot.wkb_type,
                                             read.snapshot.crs)
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, OUTPUT))
        units = pricing.units if pricing is not None else None
        for check in report.checks:
            cost = pricing.cost(check.feature_id) if pricing is not None and check.ok else None
            error = check.reason if not check.ok else (pricing.failures.get(check.feature_id) if pricing else None)
            values = [cost, units if cost is not None else None, check.kind, check.tasked_sqkm, error]
            sink.addFeature(source_feature(fields, check.geometry_wkb, check.attributes, values),
                            QgsFeatureSink.Flag.FastInsert)
        feedback.setProgress(100)
        if pricing is not None:
            feedback.pushInfo(f"Total: {pricing.total:,.3f} {names.units_text(units)} for {len(pricing.prices)} "
                              f"features ({pricing.requests} request{'s' if pricing.requests != 1 else ''}); "
                              f"{len(pricing.failures)} refused by the service, {len(invalid)} invalid.")
        return {OUTPUT: sink_id, "TOTAL": pricing.total if pricing else 0.0,
                "PRICED": len(pricing.prices) if pricing else 0, "FAILED": len(invalid) + (len(pricing.failures) if pricing else 0),
                "REQUESTS": pricing.requests if pricing else 0}
