"""The layer parameters shared by the algorithms that read features: the input layer, one expression per
order field (as in the bulk dialog) and the snapshot the bulk engine reads in the Processing thread."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Dict, List, Optional

from qgis.core import (
    QgsFeature,
    QgsField,
    QgsFields,
    QgsGeometry,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingFeatureSourceDefinition,
    QgsProcessingParameterExpression,
    QgsProcessingParameterFeatureSource,
    QgsVectorLayer,
)

from ..core import settings
from ..core.aoi import AoiError
from ..core.app.bulk import (
    FieldMapping,
    LayerSnapshot,
    ValidationReport,
    field_labels,
    mappable_fields,
    mapping_problem,
    validate_layer,
)
from .common import canceled_of, progress_of

INPUT = "INPUT"


def field_parameter_name(order_field: str) -> str:
    """The parameter of one order field: its name in capitals (NAME, START_TIME, ...)."""
    return order_field.upper()


def input_parameter(description: str = "Areas to task (points, lines or polygons, any CRS)") -> QgsProcessingParameterFeatureSource:
    return QgsProcessingParameterFeatureSource(INPUT, description, [QgsProcessing.SourceType.TypeVectorAnyGeometry])


def field_parameters() -> List[QgsProcessingParameterExpression]:
    """One optional expression per order field the active service lets a layer fill (a field name is one too);
    empty: the bulk dialog's default (an attribute named like the order field, the name from the layer and $id)."""
    labels = field_labels()
    return [QgsProcessingParameterExpression(field_parameter_name(name), labels.get(name, name), optional=True,
                                             parentLayerParameterName=INPUT) for name in mappable_fields()]


def _layer_and_selection(algorithm: Any, parameters: Dict[str, Any], context: Any) -> tuple:
    value = parameters.get(INPUT)
    selected_only = False
    if isinstance(value, QgsProcessingFeatureSourceDefinition):
        # "Selected features only" (the Toolbox's checkbox): the layer named by the definition, its selection.
        selected_only = value.selectedFeaturesOnly
        parameters = {**parameters, INPUT: value.source.staticValue()}
    layer = algorithm.parameterAsVectorLayer(parameters, INPUT, context)
    if not isinstance(layer, QgsVectorLayer):
        raise QgsProcessingException(f"The input {value!r} is not a vector layer QGIS can open.")
    return layer, selected_only


def mapping_from(algorithm: Any, parameters: Dict[str, Any], context: Any, layer: QgsVectorLayer) -> FieldMapping:
    """The field mapping: the given expressions over the bulk dialog's defaults for the layer."""
    mapping = FieldMapping.for_layer(layer)
    for name in mappable_fields():
        text = algorithm.parameterAsExpression(parameters, field_parameter_name(name), context)
        if text and text.strip():
            mapping.expressions[name] = text
    problem = mapping_problem(mapping)
    if problem:
        raise QgsProcessingException(problem)
    return mapping


class LayerRead:
    """The input layer read on the main thread (prepareAlgorithm) for a check in the Processing thread."""

    def __init__(self, algorithm: Any, parameters: Dict[str, Any], context: Any):
        layer, selected_only = _layer_and_selection(algorithm, parameters, context)
        self.layer_name = layer.name()
        self.layer_source = layer.source()
        self.mapping = mapping_from(algorithm, parameters, context, layer)
        try:
            self.snapshot = LayerSnapshot(layer, selected_only)
        except AoiError as error:  # no CRS, not valid: nothing can be checked, nothing is sent
            raise QgsProcessingException(f"Layer “{layer.name()}”: {error.message}") from None
        # The contract's real area limit where the service tells it (only the local sandbox does), as the bulk
        # dialog's check reads it.
        self.contract, self.port, self.sandbox = settings.pl_number(), settings.sandbox_port(), settings.use_sandbox()

    def check(self, feedback: Any, start: float = 0.0, end: float = 100.0) -> ValidationReport:
        """Every feature's check by the bulk engine (validate_layer), in the calling thread."""
        limit = settings.sandbox_area_limit(self.contract, self.port) if self.sandbox and self.contract else None
        return validate_layer(self.snapshot, self.mapping, now=datetime.now(timezone.utc), max_sqkm=limit,
                              progress=progress_of(feedback, start, end), is_canceled=canceled_of(feedback))


def free_name(fields: QgsFields, wanted: str) -> str:
    """`wanted`, or `wanted_2`, `wanted_3`… when the input layer has a field of that name already."""
    taken = {fields.at(i).name().lower() for i in range(fields.count())}
    name, number = wanted, 2
    while name.lower() in taken:
        name, number = f"{wanted}_{number}", number + 1
    return name


def output_fields(source: QgsFields, extra: List[QgsField]) -> QgsFields:
    fields = QgsFields(source)
    for field in extra:
        fields.append(field)
    return fields


def source_feature(fields: QgsFields, wkb: Optional[bytes], attributes: Optional[List[Any]], extra: List[Any]) -> QgsFeature:
    """A feature as the check read it (geometry in the layer's CRS, its attributes) with `extra` values after."""
    feature = QgsFeature(fields)
    if wkb:
        geometry = QgsGeometry()
        geometry.fromWkb(wkb)
        feature.setGeometry(geometry)
    feature.setAttributes(list(attributes or []) + list(extra))
    return feature
