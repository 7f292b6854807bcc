"""The order form generated from a JSON Schema (ui/shared/schema_form.py), in real QGIS: built for every sandbox
product (its schema read through the UP42 client) and three hand-written schemas; the widgets each construct gets,
values round-trip, and errors shown at their fields."""

from __future__ import annotations

import copy
from typing import Any, Dict

import pytest
from qgis.gui import QgsDateEdit, QgsDateTimeEdit, QgsDoubleSpinBox
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QCheckBox, QComboBox, QGroupBox, QLabel, QLineEdit, QPlainTextEdit, QSpinBox

from core.services.up42.client import Up42Client
from sandbox.up42 import catalog
from tests.sandbox.up42.helpers import DOC_EXAMPLE
from tests.unit.test_up42_schema import ALTERNATIVES, COMPOSITE, DRONE_SURVEY, HAND_WRITTEN
from ui.shared.schema_form import CHOOSE_TEXT, NOT_SET_TEXT, SchemaForm

PLEIADES_SCHEMA = catalog.PRODUCTS[catalog.PLEIADES_ANALYTIC]["schema"]
DOC_PARAMS = {k: v for k, v in DOC_EXAMPLE["params"].items() if k != "geometry"}

# A valid params object for each schema, with every kind of field filled in.
VALID: Dict[str, Dict[str, Any]] = {
    "pleiades-analytic-tasking": DOC_PARAMS,
    "spot-analytic-tasking": {"acquisitionStart": "2030-01-01T00:00:00.000Z", "acquisitionEnd": "2030-02-01T12:30:15.250Z",
                              "spectralProcessing": "pansharpened", "maxCloudCover": 15, "maxIncidenceAngle": 22.5,
                              "orthorectified": False, "displayName": "SPOT run"},
    "worldview-tasking": {"acquisitionStart": "2030-01-01T00:00:00.000Z", "acquisitionEnd": "2030-02-01T00:00:00.000Z",
                          "acquisitionMode": "stereo", "maxCloudCover": 20, "priority": "SELECT", "minBH": 0.4,
                          "maxBH": 0.6},
    "capella-sar-tasking": {"acquisitionStart": "2030-01-01T00:00:00.000Z",
                            "acquisitionEnd": "2030-02-01T00:00:00.000Z", "polarization": "VV", "resolution": "0.5m",
                            "looks": "single", "sceneSize": {"lengthKm": 40}, "revisits": 3,
                            "incidenceAngle": {"minimum": 20, "maximum": 45.5}},
    "drone survey": {"flightDate": "2030-05-01", "altitude": 80.5, "overlap": 80,
                     "camera": {"model": "DJ-3", "lens": {"focalLength": 24, "stabilised": True}},
                     "waypoints": [1, 2.5], "operator": "Ann"},
    "composite": {"start": "2030-01-01T08:00:00.000Z", "end": "2030-01-02T00:00:00.000Z",
                  "resolution": {"red": 1, "nir": 2.5}, "cloud": 50, "note": "dawn"},
    "alternatives": {"mode": "pair", "gap": 2.5, "target": {"kind": "place", "name": "Oslo"}, "legacy": [1],
                     "tree": {"name": "root", "child": {"name": "leaf"}}, "labels": {"a": "b"}},
}


@pytest.fixture(scope="module")
def product_schemas(sandbox_server) -> Dict[str, Dict[str, Any]]:
    """Every tasking product's schema as the plugin reads it: through the client, from the sandbox."""
    accounts = {a["password"]: a for a in sandbox_server.control("GET", "up42/accounts")["accounts"]}
    account = accounts[sandbox_server.api_key]
    client = Up42Client(sandbox_server.root, account["username"], account["password"], timeout=10.0)
    schemas = {p.name: client.schema(p.id) for p in client.data_products()}
    client.close()
    return schemas


def all_schemas(product_schemas) -> Dict[str, Dict[str, Any]]:
    return dict(product_schemas, **HAND_WRITTEN)


def build(qtbot, schema) -> SchemaForm:
    form = SchemaForm(schema)
    qtbot.addWidget(form)
    form.show()
    return form


def widget(form: SchemaForm, path: str):
    return form.editor(path).widget


def test_every_schema_builds_a_form_whose_values_round_trip_and_validate(qgis_app, qtbot, product_schemas):
    schemas = all_schemas(product_schemas)
    assert set(VALID) <= set(schemas) and len(schemas) >= 8
    for name, schema in schemas.items():
        form = build(qtbot, schema)
        assert form.editor("geometry") is None  # the map gives the AOI
        if name not in VALID:
            continue
        form.set_values(VALID[name])
        assert form.values() == VALID[name], name
        assert form.problems() == {}, name
        assert form.validate() and form.error_text("acquisitionStart") == ""
        form.reset()
        defaults = form.values()
        form.set_values(VALID[name])
        form.set_values(defaults)  # what the form gives, it takes back unchanged
        assert form.values() == defaults, name


def test_pleiades_widgets_follow_the_schema(qgis_app, qtbot, product_schemas):
    form = build(qtbot, product_schemas["pleiades-analytic-tasking"])
    mode = widget(form, "acquisitionMode")
    assert isinstance(mode, QComboBox)
    # Required without a default: nothing is chosen for the user.
    assert [mode.itemText(i) for i in range(mode.count())] == [CHOOSE_TEXT, "mono", "stereo", "tristereo"]
    assert mode.currentIndex() == 0
    pixel = widget(form, "pixelCoding")
    assert pixel.itemText(0) == NOT_SET_TEXT  # optional
    cloud = widget(form, "cloudCoverage")  # required with a default: starts at it, cannot be emptied
    assert isinstance(cloud, QSpinBox) and (cloud.minimum(), cloud.maximum(), cloud.value()) == (0, 100, 20)
    assert isinstance(widget(form, "acquisitionStart"), QgsDateTimeEdit)
    assert isinstance(widget(form, "displayName"), QLineEdit) and widget(form, "displayName").maxLength() == 200
    assert "One of mono, stereo or tristereo." in mode.toolTip() and "Required." in mode.toolTip()
    labels = {label.text() for label in form.findChildren(QLabel)}
    assert {"Acquisition mode *", "Maximum cloud cover (%) *", "Pixel coding", "Projection"} <= labels
    projection = form.findChild(QComboBox, "choice:projection")
    assert [projection.itemText(i) for i in range(projection.count())] == [
        NOT_SET_TEXT, "Option 1: a whole number", "Option 2: text"]


def test_a_user_editing_the_form_gets_the_params_and_a_change_signal(qgis_app, qtbot, product_schemas):
    form = build(qtbot, product_schemas["pleiades-analytic-tasking"])
    with qtbot.waitSignal(form.changed):
        widget(form, "cloudCoverage").setValue(35)
    widget(form, "acquisitionMode").setCurrentText("stereo")
    qtbot.keyClicks(widget(form, "displayName"), "Panama")
    projection = form.findChild(QComboBox, "choice:projection")
    projection.setCurrentIndex(2)
    qtbot.keyClicks(form.findChild(QLineEdit, "field:projection"), "EPSG:32617")  # the shown alternative's
    values = form.values()
    assert values["cloudCoverage"] == 35 and values["acquisitionMode"] == "stereo"
    assert values["displayName"] == "Panama" and values["projection"] == "EPSG:32617"
    assert "pixelCoding" not in values  # left "not set"
    assert form.problems() == {name: "is required" for name in (
        "acquisitionStart", "acquisitionEnd", "radiometricProcessing", "geometricProcessing", "spectralProcessing",
        "deliveredAs")}
    assert not form.validate() and form.error_text("deliveredAs") == "is required"


def test_constructs_get_their_widgets(qgis_app, qtbot):
    drone = build(qtbot, DRONE_SURVEY)
    assert isinstance(widget(drone, "flightDate"), QgsDateEdit)
    altitude = widget(drone, "altitude")
    assert isinstance(altitude, QgsDoubleSpinBox) and altitude.maximum() == 120
    assert altitude.specialValueText() == CHOOSE_TEXT and "altitude" not in drone.values()  # required, no default
    altitude.setValue(altitude.minimum() + 10 ** -altitude.decimals())  # the lowest value: above the exclusive 0
    assert 0 < drone.values()["altitude"] <= 0.01
    assert isinstance(widget(drone, "camera"), QGroupBox) and widget(drone, "camera").title() == "Camera *"
    assert isinstance(widget(drone, "camera.lens.stabilised"), QCheckBox)
    assert widget(drone, "camera.lens.stabilised").checkState() == Qt.CheckState.PartiallyChecked  # not set
    assert isinstance(widget(drone, "waypoints"), QPlainTextEdit) and isinstance(widget(drone, "operator"), QPlainTextEdit)
    assert widget(drone, "overlap").currentText() == "70"  # the default
    composite = build(qtbot, COMPOSITE)
    cloud = widget(composite, "cloud")
    lowest = round(cloud.minimum() + 10 ** -cloud.decimals(), 6)  # the step below it is "choose"
    assert (lowest, cloud.maximum()) == (5, 60)  # allOf's tighter bounds
    resolution = composite.findChild(QComboBox, "choice:resolution")
    assert [resolution.itemText(i) for i in range(resolution.count())] == [CHOOSE_TEXT, "Preset", "Metres", "Per band"]
    alternatives = build(qtbot, ALTERNATIVES)
    gap = widget(alternatives, "gap")
    assert gap.singleStep() == 0.5 and gap.minimum() < 0.1  # the "not set" step below the exclusive minimum
    assert isinstance(widget(alternatives, "legacy"), QPlainTextEdit)  # a $ref that names nothing
    assert isinstance(widget(alternatives, "tree.child"), QPlainTextEdit)  # recursion as JSON


def test_a_number_without_a_step_shows_the_decimals_it_has(qgis_app, qtbot):
    form = build(qtbot, {"type": "object", "required": ["cloud"], "properties": {
        "cloud": {"type": "number", "minimum": 0, "maximum": 100, "default": 20}}})
    cloud = widget(form, "cloud")
    assert cloud.decimals() == 3 and cloud.text() == "20"  # not "20.000"
    cloud.setValue(20.125)
    assert cloud.text() == "20.125" and form.values()["cloud"] == 20.125
    cloud.setValue(12.5)
    assert cloud.text() == "12.5"


def test_integer_bounds_beyond_a_spin_box_or_between_whole_numbers(qgis_app, qtbot):
    form = build(qtbot, {"type": "object", "required": ["count", "id"], "properties": {
        "count": {"type": "integer", "minimum": 0.5, "exclusiveMaximum": 7.5, "default": 3},
        "id": {"type": "integer", "minimum": 0, "maximum": 10 ** 12, "default": 5}}})
    count, big = widget(form, "count"), widget(form, "id")
    assert (count.minimum(), count.maximum()) == (1, 7)  # the whole numbers the schema allows
    assert big.maximum() == 2 ** 31 - 1 and big.value() == 5
    assert form.values() == {"count": 3, "id": 5}


def test_choosing_an_alternative_shows_its_fields(qgis_app, qtbot, product_schemas):
    form = build(qtbot, product_schemas["capella-sar-tasking"])
    chooser = form.findChild(QComboBox, "choice:sceneSize")
    length = form.findChildren(QSpinBox, "field:sceneSize.lengthKm")[0]
    assert chooser.itemText(0) == CHOOSE_TEXT and chooser.currentIndex() == 0  # required, no default
    chooser.setCurrentIndex(1)
    assert not length.isVisible()
    assert form.findChild(QComboBox, "field:sceneSize").isVisible()  # the preset sizes
    chooser.setCurrentIndex(2)
    assert length.isVisible()
    length.setValue(30)
    assert form.values()["sceneSize"] == {"lengthKm": 30}


def test_raw_json_is_checked_to_parse(qgis_app, qtbot):
    form = build(qtbot, DRONE_SURVEY)
    form.set_values(VALID["drone survey"])
    widget(form, "waypoints").setPlainText("[1, 2,")
    assert "waypoints" not in form.values()
    assert form.problems()["waypoints"].startswith("is not valid JSON")
    assert not form.validate()
    assert form.error_text("waypoints").startswith("is not valid JSON")
    widget(form, "waypoints").setPlainText('[3, 4, 5]')
    assert form.values()["waypoints"] == [3, 4, 5] and form.validate()
    assert form.error_text("waypoints") == ""


def test_errors_are_shown_at_their_fields(qgis_app, qtbot, product_schemas):
    form = build(qtbot, product_schemas["capella-sar-tasking"])
    values = copy.deepcopy(VALID["capella-sar-tasking"])
    values["sceneSize"] = {"lengthKm": 40}
    values["incidenceAngle"] = {"minimum": 5}  # the maximum left empty (required, no default)
    form.set_values(values)
    assert not form.validate()
    assert form.error_text("incidenceAngle.maximum") == "is required"
    label = form.findChild(QLabel, "error:incidenceAngle.maximum")
    assert label.isVisible()
    assert form.findChild(QLabel, "error:polarization").isHidden()
    # The service's errors: by "params." path, below a field (an item of a raw list), and for the AOI.
    general = form.show_errors({"params.revisits": "must be at most 10",
                                "params.sceneSize.lengthKm": "too long for this resolution",
                                "featureCollection.features[0].geometry": "is not a valid polygon"})
    assert form.error_text("revisits") == "must be at most 10"
    assert form.error_text("sceneSize.lengthKm") == "too long for this resolution"
    assert form.error_text("incidenceAngle.maximum") == ""  # the earlier errors are gone
    assert general == ["featureCollection.features[0].geometry"]
    assert form.general_errors.isVisible() and "is not a valid polygon" in form.general_errors.text()
    drone = build(qtbot, DRONE_SURVEY)
    drone.show_errors({"waypoints[1]": "must be a number", "camera.lens.focalLength": "too long"})
    assert drone.error_text("waypoints") == "must be a number"
    assert drone.error_text("camera.lens.focalLength") == "too long"


def test_the_form_validates_the_pleiades_rules_before_sending(qgis_app, qtbot):
    form = build(qtbot, PLEIADES_SCHEMA)
    form.set_values(dict(DOC_PARAMS, projection="UTM 32"))
    assert form.values()["projection"] == "UTM 32"  # kept in the alternative that can hold it
    assert not form.validate()
    assert form.error_text("projection") == "does not match the pattern ^(EPSG:)?[0-9]{4,5}$"
    form.set_values(DOC_PARAMS)
    assert form.validate() and not form.general_errors.isVisible()
