"""Price AOIs, Load orders and Load captures run through processing.run() in QGIS against the sandbox."""

from __future__ import annotations

import pytest
from qgis.core import QgsProcessingException, QgsProcessingFeedback, QgsVectorLayer

from tests.layers_from_wkt import labelled_points
from tests.processing.layers import line_layer, point_layer

pytestmark = pytest.mark.usefixtures("tasking")


class RecordingFeedback(QgsProcessingFeedback):
    """What the algorithm told the user: errors, warnings and information, in order."""

    def __init__(self):
        super().__init__()
        self.errors, self.warnings, self.infos = [], [], []

    def reportError(self, error, fatalError=False):  # noqa: N802, N803 - QGIS's names
        self.errors.append(error)

    def pushWarning(self, warning):  # noqa: N802
        self.warnings.append(warning)

    def pushInfo(self, info):  # noqa: N802
        self.infos.append(info)


def run(algorithm: str, parameters: dict, feedback=None) -> dict:
    import processing

    return processing.run(f"satellite_tasking:{algorithm}", parameters, feedback=feedback or RecordingFeedback())


def run_failing(algorithm: str, parameters: dict) -> str:
    """Run an algorithm that must fail; the error it reported (processing.run raises a generic one)."""
    feedback = RecordingFeedback()
    with pytest.raises(QgsProcessingException) as raised:
        run(algorithm, parameters, feedback)
    # A failure in prepareAlgorithm reaches the feedback only; one in processAlgorithm is raised as it is.
    return " ".join(feedback.errors + [str(raised.value)])


def features_by(layer: QgsVectorLayer, field: str) -> dict:
    return {f[field]: f for f in layer.getFeatures()}


def pricing_requests(sandbox) -> list:
    return [r for r in sandbox.requests_seen() if r["path"].endswith("/pricing/")]


def test_provider_lists_its_algorithms_with_help(processing_registry):
    provider = processing_registry.providerById("satellite_tasking")
    assert provider is not None and provider.name() == "Satellite Tasking" and not provider.icon().isNull()
    ids = {a.name() for a in provider.algorithms()}
    assert {"price_aois", "create_orders_from_layer", "search_windows", "load_orders", "load_captures",
            "edit_orders", "cancel_orders"} <= ids
    for algorithm in provider.algorithms():
        help_text = algorithm.shortHelpString()
        assert "Example" in help_text and "qgis_process run satellite_tasking:" + algorithm.name() in help_text
        # Every parameter is described (by its label's start) in the help.
        for parameter in algorithm.parameterDefinitions():
            assert parameter.description().split(" (")[0] in help_text, (algorithm.name(), parameter.name())


def test_price_aois_prices_valid_features_and_explains_invalid_ones_without_sending_them(tasking):
    layer = line_layer([("north strip", 20000.0), ("stub", 1000.0), ("east strip", 30000.0)])
    tasking.reset()
    result = run("price_aois", {"INPUT": layer, "NAME": '"site"', "SERVICE_URL": tasking.tasking_url,
                                "OUTPUT": "memory:"})
    priced = result["OUTPUT"]
    assert priced.crs().authid() == "EPSG:3857" and priced.featureCount() == 3
    rows = features_by(priced, "site")
    for site in ("north strip", "east strip"):
        assert rows[site]["price"] > 0 and rows[site]["price_units"] and not rows[site]["price_error"]
        assert rows[site]["aoi_kind"] == "strip"
    stub = rows["stub"]
    assert stub["price_error"] and "km" in stub["price_error"] and not stub["price"]
    # Both valid strips in one list-pricing request; the stub never left QGIS.
    requests = pricing_requests(tasking)
    assert len(requests) == 1
    assert result["PRICED"] == 2 and result["FAILED"] == 1 and result["REQUESTS"] == 1
    assert result["TOTAL"] == pytest.approx(rows["north strip"]["price"] + rows["east strip"]["price"])
    # The geometry is the input's, in the input's CRS.
    assert rows["north strip"].geometry().equals(next(layer.getFeatures()).geometry())


def test_price_aois_without_a_stored_key_says_where_to_enter_it(tasking, clean_settings):
    clean_settings.clear_api_key(clean_settings.PLANET_TASKING)
    layer = point_layer(["a"])
    error = run_failing("price_aois", {"INPUT": layer, "SERVICE_URL": tasking.tasking_url, "OUTPUT": "memory:"})
    assert "No API key" in error and "Settings" in error
    assert pricing_requests(tasking) == []


def test_a_service_url_in_clear_to_another_host_is_refused_before_the_key_is_sent(tasking):
    error = run_failing("price_aois", {"INPUT": point_layer(["a"]), "SERVICE_URL": "http://example.com/tasking/v2/",
                                       "OUTPUT": "memory:"})
    assert "not https" in error and "example.com" in error
    # A sandbox on this computer (plain http to the loopback) is fine, as the other tests show.


def test_price_aois_refused_by_the_service_names_the_reason(tasking):
    layer = point_layer(["a", "b"])
    tasking.fault(path="/pricing/", kind="status", status=500, count=50)
    error = run_failing("price_aois", {"INPUT": layer, "SERVICE_URL": tasking.tasking_url, "OUTPUT": "memory:"})
    assert "Pricing failed" in error and "500" in error


def make_orders(sandbox) -> dict:
    """Orders named "field 0..2" at points in daylight and "other 0" elsewhere, then 3 days of simulated time so
    captures are acquired; name -> order as the service lists it afterwards."""
    from datetime import timedelta

    from tests.integration.order_states import daylight_point, iso, make_client, point

    client = make_client(sandbox)
    start = sandbox.now()
    for n in range(3):
        geometry = daylight_point(n, start)
        lon, lat = geometry["coordinates"]
        # Wrapped onto the map: the point of highest Sun may lie on the antimeridian, its neighbours past it.
        geometry["coordinates"] = [round((lon + 180.0) % 360.0 - 180.0, 5), lat]
        client.create_order({"name": f"field {n}", "geometry": geometry,
                             "end_time": iso(start + timedelta(days=2))})
    client.create_order({"name": "other 0", "geometry": point(7)})
    sandbox.advance(3 * 86400)
    return {o.name: o for o in client.iter_orders(page_size=100)}


def test_load_orders_filters_by_name_status_and_creation_time(tasking):
    orders = make_orders(tasking)
    result = run("load_orders", {"NAME_CONTAINS": "FIELD", "SERVICE_URL": tasking.tasking_url, "OUTPUT": "memory:"})
    layer = result["OUTPUT"]
    assert layer.crs().authid() == "EPSG:4326" and result["COUNT"] == 3
    rows = features_by(layer, "name")
    assert set(rows) == {"field 0", "field 1", "field 2"}
    assert {rows[n]["id"] for n in rows} == {orders[n].id for n in rows}
    assert all(not f.geometry().isNull() for f in rows.values())

    other = orders["other 0"]
    statuses = __import__("core.services.registry", fromlist=["service"]).service().order_statuses
    result = run("load_orders", {"STATUS": [statuses.index(other.status)], "SERVICE_URL": tasking.tasking_url,
                                 "OUTPUT": "memory:"})
    loaded = features_by(result["OUTPUT"], "name")
    assert "other 0" in loaded and all(f["status"] == other.status for f in loaded.values())

    # Created after the simulated now: no order yet.
    later = tasking.now().replace(microsecond=0)
    from qgis.PyQt.QtCore import QDateTime

    after = QDateTime.fromSecsSinceEpoch(int(later.timestamp()) + 86400)
    result = run("load_orders", {"CREATED_AFTER": after, "SERVICE_URL": tasking.tasking_url, "OUTPUT": "memory:"})
    assert result["COUNT"] == 0 and result["OUTPUT"].featureCount() == 0


def test_load_captures_loads_the_captures_of_the_matching_orders_only(tasking):
    orders = make_orders(tasking)
    result = run("load_captures", {"NAME_CONTAINS": "field", "SERVICE_URL": tasking.tasking_url,
                                   "OUTPUT": "memory:"})
    layer = result["OUTPUT"]
    wanted = {orders[f"field {n}"].id for n in range(3)}
    captures = list(layer.getFeatures())
    assert captures and result["COUNT"] == len(captures)
    assert {c["order_id"] for c in captures} <= wanted
    acquired = [c for c in captures if c["acquired_time"]]
    assert acquired and all(not c.geometry().isNull() for c in acquired)


def test_load_orders_refuses_a_date_range_that_cannot_match(tasking):
    from qgis.PyQt.QtCore import QDateTime

    now = QDateTime.currentDateTimeUtc()
    error = run_failing("load_orders", {"CREATED_AFTER": now, "CREATED_BEFORE": now.addDays(-1),
                                        "SERVICE_URL": tasking.tasking_url, "OUTPUT": "memory:"})
    assert "earlier than" in error
    assert [r for r in tasking.requests_seen() if "/orders/" in r["path"]] == []


def grid_layer(count: int) -> QgsVectorLayer:
    """`count` points 10 km apart in rows of 50, in EPSG:3857 around central Europe."""
    return labelled_points("EPSG:3857", "grid", "site",
                           ((1000000.0 + (index % 50) * 10000.0, 5800000.0 + (index // 50) * 10000.0, f"grid {index}")
                            for index in range(count)))


def test_price_aois_sends_one_request_per_1000_features(tasking):
    layer = grid_layer(1500)
    tasking.reset()
    feedback = RecordingFeedback()
    progress = []
    feedback.progressChanged.connect(progress.append)
    result = run("price_aois", {"INPUT": layer, "NAME": '"site"', "SERVICE_URL": tasking.tasking_url,
                                "OUTPUT": "memory:"}, feedback)
    assert result["PRICED"] == 1500 and result["REQUESTS"] == 2 and len(pricing_requests(tasking)) == 2
    assert all(f["price"] > 0 for f in result["OUTPUT"].getFeatures())
    assert progress == sorted(progress) and progress[-1] == 100


def test_price_aois_prices_only_the_selected_features_when_asked(tasking, fresh_project):
    from qgis.core import QgsProcessingFeatureSourceDefinition

    layer = point_layer(["a", "b", "c"])
    fresh_project.addMapLayer(layer)
    layer.selectByIds([2])
    result = run("price_aois", {"INPUT": QgsProcessingFeatureSourceDefinition(layer.id(), True), "NAME": '"site"',
                                "SERVICE_URL": tasking.tasking_url, "OUTPUT": "memory:"})
    assert [f["site"] for f in result["OUTPUT"].getFeatures()] == ["b"] and result["PRICED"] == 1


def test_price_aois_cancelled_between_requests_sends_no_more(tasking):
    layer = grid_layer(1500)
    tasking.reset()
    feedback = RecordingFeedback()
    # Cancelled once the first 1,000 are priced (checking is 0-20 %, pricing 20-95 %).
    feedback.progressChanged.connect(lambda value: feedback.cancel() if value > 50 else None)
    with pytest.raises(QgsProcessingException, match="cancelled"):
        run("price_aois", {"INPUT": layer, "NAME": '"site"', "SERVICE_URL": tasking.tasking_url,
                           "OUTPUT": "memory:"}, feedback)
    assert len(pricing_requests(tasking)) == 1
