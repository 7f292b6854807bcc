"""Load orders and Load captures: the orders mirror's listing (filters as parameters) written to layers."""

from __future__ import annotations

from typing import Any, Dict, List

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeatureSink,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterString,
    QgsWkbTypes,
)

from ..core.app.orders_mirror import MapPart, mirror_orders, schemas
from ..core.errors import Cancelled, ServiceError
from ..core.services import registry
from .common import TaskingAlgorithm, canceled_of, kind_layout, service_failure, service_url_parameter, utc_datetime
from .styling import style_output

STATUS = "STATUS"
CREATED_AFTER = "CREATED_AFTER"
CREATED_BEFORE = "CREATED_BEFORE"
NAME_CONTAINS = "NAME_CONTAINS"
OUTPUT = "OUTPUT"
COUNT = "COUNT"


class _ListingAlgorithm(TaskingAlgorithm):
    """The orders matching the filters, page by page (core.app.orders_mirror.mirror_orders), into a sink."""

    GROUP = "Orders"
    GROUP_ID = "orders"
    OUTPUT_NAME = ""

    def kind(self) -> Any:
        raise NotImplementedError

    def part_features(self, part: MapPart) -> Any:
        raise NotImplementedError

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802 - QGIS's name
        statuses = list(registry.service().order_statuses)
        self.statuses = statuses
        self.addParameter(QgsProcessingParameterEnum(STATUS, "Order status (none: every status)", statuses,
                                                     allowMultiple=True, optional=True))
        self.addParameter(QgsProcessingParameterDateTime(CREATED_AFTER, "Created on or after", optional=True))
        self.addParameter(QgsProcessingParameterDateTime(CREATED_BEFORE, "Created on or before", optional=True))
        self.addParameter(QgsProcessingParameterString(NAME_CONTAINS, "Name contains", optional=True))
        self.addParameter(service_url_parameter())
        self.addParameter(QgsProcessingParameterFeatureSink(OUTPUT, self.OUTPUT_NAME))
        self.addOutput(QgsProcessingOutputNumber(COUNT, "Features written"))

    def filters(self, parameters: Dict[str, Any], context: Any) -> Dict[str, Any]:
        """The service's listing filters, as the Orders tab's query makes them (status__in, name__icontains…)."""
        statuses = list(registry.service().order_statuses)
        # An unset optional enum reads as its first option: only statuses actually given filter.
        given = parameters.get(STATUS) not in (None, "", [])
        chosen = [statuses[i] for i in self.parameterAsEnums(parameters, STATUS, context)] if given else []
        params: Dict[str, Any] = {}
        if len(chosen) == 1:
            params["status"] = chosen[0]
        elif chosen:
            params["status__in"] = chosen
        name = (self.parameterAsString(parameters, NAME_CONTAINS, context) or "").strip()
        if name:
            params["name__icontains"] = name
        after = utc_datetime(self.parameterAsDateTime(parameters, CREATED_AFTER, context)) if parameters.get(CREATED_AFTER) else None
        before = utc_datetime(self.parameterAsDateTime(parameters, CREATED_BEFORE, context)) if parameters.get(CREATED_BEFORE) else None
        if after and before and before < after:
            raise QgsProcessingException(f"“Created on or before” ({before:%Y-%m-%d %H:%M} UTC) is earlier than "
                                         f"“Created on or after” ({after:%Y-%m-%d %H:%M} UTC): no order can match.")
        if after:
            params["created_time__gte"] = after
        if before:
            params["created_time__lte"] = before
        return params

    def processAlgorithm(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> Dict[str, Any]:  # noqa: N802
        kind = self.kind()
        layout = kind_layout(kind)
        sink, sink_id = self.parameterAsSink(parameters, OUTPUT, context, layout.fields, QgsWkbTypes.Type.Polygon,
                                             QgsCoordinateReferenceSystem("EPSG:4326"))
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, OUTPUT))
        written: List[int] = [0]

        def deliver(part: MapPart) -> None:
            prepared = self.part_features(part)
            prepared.build_features(layout)
            features = list(prepared.built_features().values())
            if features:
                sink.addFeatures(features, QgsFeatureSink.Flag.FastInsert)
            written[0] += len(features)
            if part.total:
                feedback.setProgress(100.0 * min(part.listed, part.total) / part.total)

        filters = self.filters(parameters, context)
        try:
            mirror_orders(self.client, filters, {}, deliver, is_canceled=canceled_of(feedback))
        except Cancelled:
            feedback.pushWarning(f"Cancelled: {written[0]} features were written before.")
        except ServiceError as error:
            raise service_failure("Listing the orders", error) from None
        feedback.pushInfo(f"{written[0]} features written.")
        style_output(context, sink_id, kind)
        return {OUTPUT: sink_id, COUNT: written[0]}


class LoadOrdersAlgorithm(_ListingAlgorithm):
    ID = "load_orders"
    NAME = "Load orders"
    OUTPUT_NAME = "Tasking orders"

    def kind(self) -> Any:
        return schemas().ORDERS

    def part_features(self, part: MapPart) -> Any:
        return part.orders


class LoadCapturesAlgorithm(_ListingAlgorithm):
    ID = "load_captures"
    NAME = "Load captures"
    OUTPUT_NAME = "Captures"

    def kind(self) -> Any:
        return schemas().CAPTURES

    def part_features(self, part: MapPart) -> Any:
        return part.captures
