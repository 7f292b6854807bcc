"""Search imaging windows: one assured imaging-window search per point or strip, the windows into a temporal layer."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeatureRequest,
    QgsFeatureSink,
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingOutputNumber,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDateTime,
    QgsProcessingParameterEnum,
    QgsProcessingParameterFeatureSink,
    QgsProcessingParameterFeatureSource,
    QgsProcessingParameterString,
    QgsWkbTypes,
)

from ..core import compat, settings
from ..core.aoi import AoiError, AoiValidator
from ..core.app.headless import search_imaging_windows
from ..core.errors import Cancelled, ServiceError
from ..core.layers import WriteLayout
from ..core.services import registry
from .common import (
    TaskingAlgorithm,
    canceled_of,
    kind_layout,
    progress_of,
    service_failure,
    service_url_parameter,
    utc_datetime,
)
from .styling import style_output

INPUT = "INPUT"
START_TIME = "START_TIME"
END_TIME = "END_TIME"
PL_NUMBER = "PL_NUMBER"
PRODUCT = "PRODUCT"
EXCLUSIVITY_DAYS = "EXCLUSIVITY_DAYS"
REPLACING = "REPLACING"
OUTPUT = "OUTPUT"
SOURCE_FIELD = "source_fid"


def _feature_layout(kind: Any) -> WriteLayout:
    """The windows kind's fields, then the id of the input feature searched for."""
    layout = kind_layout(kind)
    fields = layout.fields
    fields.append(compat.make_field(SOURCE_FIELD, compat.LONG))
    return WriteLayout(fields, layout.columns, layout.spec)


class SearchWindowsAlgorithm(TaskingAlgorithm):
    ID = "search_windows"
    NAME = "Search imaging windows"

    def initAlgorithm(self, config: Any = None) -> None:  # noqa: N802 - QGIS's name
        forms = registry.service().forms
        self.exclusivity = [int(d) for d in forms.EXCLUSIVITY_CHOICES]
        self.addParameter(QgsProcessingParameterFeatureSource(
            INPUT, "Points or strips to search windows for (any CRS)",
            [QgsProcessing.SourceType.TypeVectorPoint, QgsProcessing.SourceType.TypeVectorLine]))
        self.addParameter(QgsProcessingParameterDateTime(START_TIME, "Earliest start (empty: now)", optional=True))
        self.addParameter(QgsProcessingParameterDateTime(END_TIME, "Latest end (empty: the service's, 7 days ahead)",
                                                         optional=True))
        self.addParameter(QgsProcessingParameterString(PL_NUMBER, "Contract (PL number; empty: the settings')",
                                                       optional=True))
        self.addParameter(QgsProcessingParameterString(PRODUCT, "Product (empty: Assured Tasking)", optional=True))
        self.addParameter(QgsProcessingParameterEnum(EXCLUSIVITY_DAYS, "Exclusivity days priced",
                                                     [str(d) for d in self.exclusivity], defaultValue=0))
        self.addParameter(QgsProcessingParameterBoolean(
            REPLACING, "Include windows that would replace your own orders", defaultValue=False))
        self.addParameter(service_url_parameter())
        self.addParameter(QgsProcessingParameterFeatureSink(OUTPUT, "Imaging windows"))
        self.addOutput(QgsProcessingOutputNumber("WINDOWS", "Windows found"))

    def prepare(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> bool:
        forms = registry.service().forms
        start = utc_datetime(self.parameterAsDateTime(parameters, START_TIME, context)) if parameters.get(START_TIME) else None
        end = utc_datetime(self.parameterAsDateTime(parameters, END_TIME, context)) if parameters.get(END_TIME) else None
        contract = (self.parameterAsString(parameters, PL_NUMBER, context) or "").strip() or settings.pl_number()
        days = self.exclusivity[self.parameterAsEnum(parameters, EXCLUSIVITY_DAYS, context)]
        self.form = forms.OrderForm(scheduling_type=forms.ASSURED, pl_number=contract, start_time=start, end_time=end,
                                    product=(self.parameterAsString(parameters, PRODUCT, context) or "").strip(),
                                    exclusivity_days=days)
        self.replacing = self.parameterAsBoolean(parameters, REPLACING, context)
        return True

    def _searches(self, source: Any, context: Any) -> List[Tuple[int, Any, Dict[str, Any]]]:
        """(feature id, AOI, search request) of every feature, all checked before any search is sent."""
        forms = registry.service().forms
        validator = AoiValidator(source.sourceCrs(), transform_context=context.transformContext())
        searches = []
        for feature in source.getFeatures(QgsFeatureRequest()):
            try:
                aoi = validator.validate(feature.geometry() if feature.hasGeometry() else None)
            except AoiError as error:
                raise QgsProcessingException(f"Feature {feature.id()}: {error.message} Nothing was searched.") from None
            problems = forms.search_problems(self.form, aoi)
            if problems:
                raise QgsProcessingException(f"Feature {feature.id()}: " + " ".join(problems.values())
                                             + " Nothing was searched.")
            searches.append((feature.id(), aoi, forms.search_request(self.form, aoi)))
        return searches

    def processAlgorithm(self, parameters: Dict[str, Any], context: Any, feedback: Any) -> Dict[str, Any]:  # noqa: N802
        source = self.parameterAsSource(parameters, INPUT, context)
        if source is None:
            raise QgsProcessingException(self.invalidSourceError(parameters, INPUT))
        searches = self._searches(source, context)
        layers = registry.service().layers
        layout = _feature_layout(layers.IMAGING_WINDOWS)
        sink, sink_id = self.parameterAsSink(parameters, OUTPUT, context, layout.fields, QgsWkbTypes.Type.Polygon,
                                             QgsCoordinateReferenceSystem("EPSG:4326"))
        if sink is None:
            raise QgsProcessingException(self.invalidSinkError(parameters, OUTPUT))
        found = 0
        for index, (feature_id, aoi, request) in enumerate(searches):
            share = 100.0 / len(searches)
            try:
                search = search_imaging_windows(
                    self.client, request, replacing=self.replacing, exclusivity_days=self.form.exclusivity_days,
                    progress=progress_of(feedback, index * share, (index + 1) * share),
                    is_canceled=canceled_of(feedback))
            except Cancelled:
                feedback.pushWarning(f"Cancelled: the windows of {index} of {len(searches)} features were written.")
                break
            except ServiceError as error:
                raise service_failure(f"The search for feature {feature_id}", error) from None
            prepared = layers.prepare_imaging_windows(search.imaging_windows, aoi.tasked_geometry(), search.id,
                                                      build_geometries=True)
            prepared.build_features(layout)
            features = []
            for feature in prepared.built_features().values():
                feature.setAttribute(SOURCE_FIELD, feature_id)
                features.append(feature)
            sink.addFeatures(features, QgsFeatureSink.Flag.FastInsert)
            found += len(features)
            feedback.pushInfo(f"Feature {feature_id}: {len(features)} imaging windows (search {search.id}).")
        style_output(context, sink_id, layers.IMAGING_WINDOWS)
        return {OUTPUT: sink_id, "WINDOWS": found}
