"""Outputs loaded into the project look like the plugin's own layers: the kind's QML style, and temporal by its
time fields (so the temporal controller plays orders, captures and imaging windows)."""

from __future__ import annotations

from typing import Any, Dict

from qgis.core import Qgis, QgsMapLayer, QgsProcessingLayerPostProcessorInterface, QgsVectorLayer

# Post-processors by output id: Processing holds them by pointer only, so Python must keep them alive until used.
_KEPT: Dict[str, "KindStyle"] = {}


class KindStyle(QgsProcessingLayerPostProcessorInterface):
    """Style an output layer as a layer of `kind` (a core.layers.LayerKind) once QGIS has loaded it."""

    def __init__(self, kind: Any, output_id: str):
        super().__init__()
        self.kind = kind
        self.output_id = output_id

    def postProcessLayer(self, layer: Any, context: Any, feedback: Any) -> None:  # noqa: N802 - QGIS's name
        try:
            if isinstance(layer, QgsVectorLayer):
                layer.loadNamedStyle(self.kind.style_path,
                                     QgsMapLayer.StyleCategory.Symbology | QgsMapLayer.StyleCategory.Labeling)
                temporal = layer.temporalProperties()
                if self.kind.temporal_end_field:
                    temporal.setMode(Qgis.VectorTemporalMode.FeatureDateTimeStartAndEndFromFields)
                    temporal.setEndField(self.kind.temporal_end_field)
                else:
                    temporal.setMode(Qgis.VectorTemporalMode.FeatureDateTimeInstantFromField)
                temporal.setStartField(self.kind.temporal_start_field)
                temporal.setIsActive(True)
                layer.triggerRepaint()
        finally:
            _KEPT.pop(self.output_id, None)


def style_output(context: Any, output_id: str, kind: Any) -> None:
    """Have the output `output_id` styled as `kind` when Processing loads it into the project (if it does)."""
    if not context.willLoadLayerOnCompletion(output_id):
        return
    processor = _KEPT[output_id] = KindStyle(kind, output_id)
    context.layerToLoadOnCompletionDetails(output_id).setPostProcessor(processor)
