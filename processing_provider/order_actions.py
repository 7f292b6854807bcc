"""Cancel orders and Edit orders: order ids from a list or a layer's field, each checked by the service's rules
before anything is sent, a table of what became of each order."""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Optional, Tuple

from qgis.core import (
    QgsFeature,
    QgsFeatureSink,
    QgsFields,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterField,
    QgsProcessingParameterString,
    QgsWkbTypes,
)

from ..core import compat
from ..core.app.cancel import cancel_with_consent, cancellable, charge_question
from ..core.app.edit import edit_problems, save_changes
from ..core.errors import ApiError, ServiceError
from .common import (
    TaskingAlgorithm,
    canceled_of,
    progress_of,
    service_failure,
    service_url_parameter,
    utc_datetime,
)

ORDER_IDS = "ORDER_IDS"
ORDERS = "ORDERS"
ID_FIELD = "ID_FIELD"
ACCEPT_CHARGE = "ACCEPT_CHARGE"
NEW_NAME = "NEW_NAME"
START_TIME = "START_TIME"
END_TIME = "END_TIME"
OUTPUT = "OUTPUT"


def _ids_parameters(algorithm: Any) -> None:
    algorithm.addParameter(QgsProcessingParameterString(ORDER_IDS, "Order ids (comma or space separated)",
                                                        optional=True))
    algorithm.addParameter(QgsProcessingParameterFeatureSource(ORDERS, "Orders layer (e.g. Tasking orders)",
                                                               optional=True))
    algorithm.addParameter(QgsProcessingParameterField(ID_FIELD, "Order id field (of the orders layer)",
                                                       defaultValue="id", parentLayerParameterName=ORDERS,
                                                       optional=True))


def _order_ids(algorithm: Any, parameters: Dict[str, Any], context: Any) -> List[str]:
    """The ids given as a list and those read from the layer's field (its selection, if so chosen), once each."""
    ids = [part for part in re.split(r"[\s,;]+", algorithm.parameterAsString(parameters, ORDER_IDS, context) or "")
           if part]
    source = algorithm.parameterAsSource(parameters, ORDERS, context) if parameters.get(ORDERS) else None
    if source is not None:
        field = algorithm.parameterAsString(parameters, ID_FIELD, context) or "id"
        index = source.fields().lookupField(field)
        if index < 0:
            raise QgsProcessingException(f"The orders layer has no field “{field}”: choose the field holding the "
                                         "order ids.")
        ids += [str(f.attributes()[index]) for f in source.getFeatures() if f.attributes()[index]]
    unique = list(dict.fromkeys(i.strip() for i in ids if i.strip()))
    if not unique:
        raise QgsProcessingException("No order ids: give them as a list or as a field of an orders layer.")
    return unique


def _result_fields() -> QgsFields:
    fields = QgsFields()
    for name, kind in (("order_id", compat.STRING), ("name", compat.STRING), ("result", compat.STRING),
                       ("reason", compat.STRING), ("cost", compat.DOUBLE)):
        fields.append(compat.make_field(name, kind))
    return fields


def _result_sink(algorithm: Any, parameters: Dict[str, Any], context: Any) -> Tuple[QgsFields, Any, str]:
    """The results table both order actions write (one row an order, no geometry): its fields, sink and id."""
    fields = _result_fields()
    sink, sink_id = algorithm.parameterAsSink(parameters, OUTPUT, context, fields, QgsWkbTypes.Type.NoGeometry)
    if sink is None:
        raise QgsProcessingException(algorithm.invalidSinkError(parameters, OUTPUT))
    return fields, sink, sink_id


def _row(fields: QgsFields, order_id: str, name: Optional[str], result: str, reason: Optional[str] = None,
         cost: Optional[float] = None) -> QgsFeature:
    feature = QgsFeature(fields)
    feature.setAttributes([order_id, name, result, reason, cost])
    return feature


def _read_orders(client: Any, ids: List[str], feedback: Any) -> tuple:
    """The orders by id (read first: the rules need their state), and the ids the service does not know."""
    orders, unknown = [], {}
    for index, order_id in enumerate(ids):
        if feedback.isCanceled():
            raise QgsProcessingException("Cancelled before anything was sent.")
        try:
            orders.append(client.get_order(order_id))
        except ApiError as error:
            unknown[order_id] = error.server_detail or error.message
        feedback.setProgress(30.0 * (index + 1) / len(ids))
    return orders, unknown


class CancelOrdersAlgorithm(TaskingAlgorithm):
    ID = "cancel_orders"
    NAME = "Cancel orders"
    GROUP = "Orders"
    GROUP_ID = "orders"

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802 - QGIS's name
        _ids_parameters(self)
        self.addParameter(QgsProcessingParameterBoolean(
            ACCEPT_CHARGE, "Accept the cancellation charge (when the contract's free cancellations are used up)",
            defaultValue=False))
        self.addParameter(service_url_parameter())
        self.addParameter(QgsProcessingParameterFeatureSink(OUTPUT, "Cancellation results",
                                                            QgsProcessing.SourceType.TypeVector))
        self.addOutput(QgsProcessingOutputNumber("CANCELLED", "Orders cancelled"))
        self.addOutput(QgsProcessingOutputNumber("CHARGE_DECLINED", "Orders left because cancelling would cost"))

    def processAlgorithm(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> Dict[str, Any]:  # noqa: N802
        ids = _order_ids(self, parameters, context)
        accept = self.parameterAsBoolean(parameters, ACCEPT_CHARGE, context)
        fields, sink, sink_id = _result_sink(self, parameters, context)
        try:
            orders, unknown = _read_orders(self.client, ids, feedback)
            allowed, refused = cancellable(orders, datetime.now(timezone.utc))
            asked: List[Any] = []

            def ask_charge(notices: List[Any]) -> bool:
                asked.extend(notices)
                return accept

            outcome, declined = cancel_with_consent(self.client, allowed, ask_charge,
                                                    progress=progress_of(feedback, 30, 100),
                                                    is_canceled=canceled_of(feedback))
        except ServiceError as error:
            raise service_failure("Cancelling the orders", error) from None
        names = {order.id: order.name for order in orders}
        rows = [_row(fields, i, None, "unknown", why) for i, why in unknown.items()]
        rows += [_row(fields, order.id, order.name, "not cancellable", why) for order, why in refused]
        rows += [_row(fields, i, names.get(i), "cancelled") for i in outcome.cancelled]
        rows += [_row(fields, i, names.get(i), "refused", why) for i, why in outcome.failed.items()]
        cancelled = set(outcome.cancelled)
        for notice in asked:
            if notice.order_id in cancelled:
                continue
            cost = notice.pricing.estimated_quota_cost if notice.pricing is not None else None
            rows.append(_row(fields, notice.order_id, notice.order_name, "charge not accepted",
                             f"Cancelling would be charged ({notice.cost_text}); run again with “Accept the "
                             "cancellation charge” to cancel it.", cost))
        sink.addFeatures(rows, QgsFeatureSink.Flag.FastInsert)
        if declined:
            feedback.pushWarning(charge_question(asked).replace("Accept the cancellation charge and cancel?",
                                                                "Not cancelled: the charge was not accepted."))
        feedback.pushInfo(outcome.summary(declined))
        return {OUTPUT: sink_id, "CANCELLED": len(outcome.cancelled), "CHARGE_DECLINED": declined}


class EditOrdersAlgorithm(TaskingAlgorithm):
    ID = "edit_orders"
    NAME = "Edit orders"
    GROUP = "Orders"
    GROUP_ID = "orders"

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802 - QGIS's name
        _ids_parameters(self)
        self.addParameter(QgsProcessingParameterString(NEW_NAME, "New name (empty: unchanged)", optional=True))
        self.addParameter(QgsProcessingParameterDateTime(START_TIME, "New start time (empty: unchanged)",
                                                         optional=True))
        self.addParameter(QgsProcessingParameterDateTime(END_TIME, "New end time (empty: unchanged)", optional=True))
        self.addParameter(service_url_parameter())
        self.addParameter(QgsProcessingParameterFeatureSink(OUTPUT, "Edit results", QgsProcessing.SourceType.TypeVector))
        self.addOutput(QgsProcessingOutputNumber("EDITED", "Orders edited"))

    def processAlgorithm(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> Dict[str, Any]:  # noqa: N802
        changes: Dict[str, Any] = {}
        name = (self.parameterAsString(parameters, NEW_NAME, context) or "").strip()
        if name:
            changes["name"] = name
        if parameters.get(START_TIME):
            changes["start_time"] = utc_datetime(self.parameterAsDateTime(parameters, START_TIME, context))
        if parameters.get(END_TIME):
            changes["end_time"] = utc_datetime(self.parameterAsDateTime(parameters, END_TIME, context))
        changes = {key: value for key, value in changes.items() if value is not None}
        if not changes:
            raise QgsProcessingException("Nothing to change: give a new name, start time or end time.")
        ids = _order_ids(self, parameters, context)
        fields, sink, sink_id = _result_sink(self, parameters, context)
        edited = 0
        try:
            orders, unknown = _read_orders(self.client, ids, feedback)
            rows = [_row(fields, i, None, "unknown", why) for i, why in unknown.items()]
            now = datetime.now(timezone.utc)
            for index, order in enumerate(orders):
                if feedback.isCanceled():
                    feedback.pushWarning(f"Cancelled: {edited} orders were edited before.")
                    break
                problems = edit_problems(order, changes, now)
                if problems:
                    rows.append(_row(fields, order.id, order.name, "not editable", " ".join(problems)))
                    feedback.pushWarning(f"Order {order.id} ({order.name}): {' '.join(problems)} (not sent)")
                else:
                    try:
                        saved = save_changes(self.client, order.id, changes)
                        rows.append(_row(fields, order.id, saved.name, "edited"))
                        edited += 1
                    except ApiError as error:
                        rows.append(_row(fields, order.id, order.name, "refused", error.server_detail or error.message))
                feedback.setProgress(30.0 + 70.0 * (index + 1) / max(1, len(orders)))
        except ServiceError as error:
            raise service_failure("Editing the orders", error) from None
        sink.addFeatures(rows, QgsFeatureSink.Flag.FastInsert)
        feedback.pushInfo(f"{edited} of {len(ids)} orders edited.")
        return {OUTPUT: sink_id, "EDITED": edited}
