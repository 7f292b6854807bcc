"""The JSON Schema resolver and validator of UP42 order forms (core/services/up42/schema.py): every sandbox product's
schema, and hand-written schemas exercising each construct ($ref, allOf, anyOf, oneOf, enums, bounds, formats,
nested objects, constructs a form cannot show)."""

from __future__ import annotations

import copy
from typing import Any, Dict

import pytest

from core.services.up42 import schema as S
from sandbox.up42 import catalog
from tests.sandbox.up42.helpers import DOC_EXAMPLE

# A draft-04 schema: a chain of $refs, draft-04's boolean exclusiveMinimum, integer enums, a date, a nested object
# two levels deep, an optional boolean, a pattern, and an array and a `not` (no widget: raw JSON).
DRONE_SURVEY: Dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "Drone survey",
    "type": "object",
    "required": ["flightDate", "altitude", "camera"],
    "properties": {
        "flightDate": {"type": "string", "format": "date", "description": "Day of the flight."},
        "altitude": {"$ref": "#/definitions/Altitude"},
        "overlap": {"type": "integer", "enum": [60, 70, 80], "default": 70, "title": "Overlap (%)"},
        "camera": {
            "type": "object",
            "required": ["model"],
            "properties": {
                "model": {"type": "string", "pattern": "^[A-Z]{2}-[0-9]+$", "description": "Camera model code."},
                "lens": {"type": "object", "properties": {
                    "focalLength": {"type": "number", "minimum": 8, "maximum": 200},
                    "stabilised": {"type": "boolean"}}},
            },
        },
        "waypoints": {"type": "array", "items": {"type": "number"}, "minItems": 2},
        "operator": {"not": {"type": "string", "enum": ["nobody"]}},
    },
    "definitions": {
        "Altitude": {"$ref": "#/definitions/Metres"},
        "Metres": {"type": "number", "minimum": 0, "exclusiveMinimum": True, "maximum": 120, "title": "Altitude (m)"},
    },
}

# allOf of three parts (one by $ref) that constrain one property twice (the bounds merged, the tighter kept),
# required joined; a oneOf property (a choice, a bounded integer, an object); a nullable string; rules added to
# the object (patternProperties, if/then) that keep its properties as widgets.
COMPOSITE: Dict[str, Any] = {
    "title": "Composite",
    "type": "object",
    "allOf": [
        {"$ref": "#/$defs/Window"},
        {"type": "object", "required": ["resolution"], "properties": {
            "resolution": {"oneOf": [
                {"type": "string", "enum": ["low", "high"], "title": "Preset"},
                {"type": "integer", "minimum": 1, "maximum": 50, "title": "Metres"},
                {"type": "object", "title": "Per band", "required": ["red"], "properties": {
                    "red": {"type": "number", "minimum": 0.5}, "nir": {"type": "number", "minimum": 0.5}},
                 "additionalProperties": False},
            ]},
            "cloud": {"type": "number", "minimum": 0, "maximum": 100},
            "note": {"type": ["string", "null"], "maxLength": 20},
        }},
        {"properties": {"cloud": {"minimum": 5, "maximum": 60}}, "required": ["cloud"]},
    ],
    "patternProperties": {"^x-": {"type": "string"}},
    "if": {"properties": {"resolution": {"const": "high"}}, "required": ["resolution"]},
    "then": {"properties": {"cloud": {"maximum": 20}}},
    "$defs": {"Window": {"type": "object", "required": ["start", "end"], "properties": {
        "start": {"type": "string", "format": "date-time", "title": "Start"},
        "end": {"type": "string", "format": "date-time", "title": "End"}}}},
}

# anyOf at the root that only adds rules to declared properties (a form shows the properties), a oneOf
# discriminated by const, draft-06 numeric exclusive bounds, multipleOf, a $ref that names nothing and a
# recursive $ref (both raw JSON), and an object of free keys (raw JSON).
ALTERNATIVES: Dict[str, Any] = {
    "title": "Alternatives",
    "type": "object",
    "required": ["mode", "target"],
    "properties": {
        "mode": {"type": "string", "enum": ["single", "pair"], "default": "single"},
        "gap": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 10, "multipleOf": 0.5},
        "target": {"oneOf": [
            {"type": "object", "title": "Point", "required": ["kind", "lat", "lon"], "properties": {
                "kind": {"const": "point"}, "lat": {"type": "number", "minimum": -90, "maximum": 90},
                "lon": {"type": "number", "minimum": -180, "maximum": 180}}},
            {"type": "object", "title": "Named place", "required": ["kind", "name"], "properties": {
                "kind": {"const": "place"}, "name": {"type": "string", "minLength": 1}}},
        ]},
        "legacy": {"$ref": "#/definitions/DoesNotExist"},
        "tree": {"$ref": "#/definitions/Node"},
        "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "geometry": {"type": "object", "description": "The AOI (the map gives it)."},
    },
    "anyOf": [
        {"properties": {"mode": {"const": "single"}}},
        {"properties": {"mode": {"const": "pair"}}, "required": ["gap"]},
    ],
    "definitions": {"Node": {"type": "object", "properties": {"name": {"type": "string"},
                                                              "child": {"$ref": "#/definitions/Node"}}}},
}

HAND_WRITTEN = {"drone survey": DRONE_SURVEY, "composite": COMPOSITE, "alternatives": ALTERNATIVES}
TASKING_PRODUCTS = {p["name"]: p["schema"] for p in catalog.PRODUCTS.values() if p["collection"] != "phr"}


def kinds(schema: Dict[str, Any]) -> Dict[str, str]:
    return {f.path: f.kind for f in S.fields_of(schema).walk() if f.path and f.kind}


# -- every sandbox product -------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(TASKING_PRODUCTS))
def test_every_sandbox_product_resolves_to_fields_with_titles_and_no_reference_left(name):
    root = S.fields_of(TASKING_PRODUCTS[name])
    names = [f.name for f in root.children]
    assert {"acquisitionStart", "acquisitionEnd", "geometry"} <= set(names)
    for found in root.walk():
        assert "$ref" not in found.schema or found.kind == S.RAW
        assert found.title
    start = root.find("acquisitionStart")
    assert (start.kind, start.required) == (S.DATETIME, True)


def test_pleiades_enums_come_from_its_definitions_and_the_document_example_validates():
    schema = catalog.PRODUCTS[catalog.PLEIADES_ANALYTIC]["schema"]
    root = S.fields_of(schema)
    mode = root.find("acquisitionMode")
    assert (mode.kind, mode.enum, mode.required, mode.title) == (S.ENUM, ["mono", "stereo", "tristereo"], True,
                                                                 "Acquisition mode")
    assert mode.description == "One of mono, stereo or tristereo."
    cloud = root.find("cloudCoverage")
    assert (cloud.kind, cloud.minimum, cloud.maximum, cloud.default) == (S.INTEGER, 0, 100, 20)
    projection = root.find("projection")
    assert projection.kind == S.CHOICE and [a.kind for a in projection.alternatives] == [S.INTEGER, S.STRING]
    assert projection.alternatives[0].minimum == 1024
    assert S.validate(schema, DOC_EXAMPLE["params"]) == {}


def test_pleiades_problems_are_keyed_by_parameter():
    schema = catalog.PRODUCTS[catalog.PLEIADES_ANALYTIC]["schema"]
    params = dict(DOC_EXAMPLE["params"], cloudCoverage=150, acquisitionMode="sideways", projection="4326x",
                  unknown=1)
    del params["deliveredAs"]
    errors = S.validate(schema, params)
    assert errors["cloudCoverage"] == "150 is greater than the maximum of 100"
    assert errors["acquisitionMode"] == "must be one of 'mono', 'stereo', 'tristereo'"
    assert errors["deliveredAs"] == "is required"
    assert errors["unknown"] == "is not a parameter of this product"
    assert "projection" in errors


def test_spot_allof_is_merged_into_one_form_and_its_multiple_checked():
    schema = catalog.PRODUCTS[catalog.SPOT_ANALYTIC]["schema"]
    root = S.fields_of(schema)
    assert root.find("maxCloudCover").multiple_of == 5 and root.find("maxCloudCover").required
    assert root.find("acquisitionStart").required and root.find("orthorectified").kind == S.BOOLEAN
    assert root.find("orthorectified").default is True
    errors = S.validate(schema, {"acquisitionStart": "2030-01-01T00:00:00Z", "spectralProcessing": "bundle",
                                 "maxCloudCover": 12})
    assert errors == {"acquisitionEnd": "is required", "maxCloudCover": "must be a multiple of 5"}


def test_worldview_stereo_rule_is_validated_not_shown_as_a_chooser():
    schema = catalog.PRODUCTS[catalog.WORLDVIEW_TASKING]["schema"]
    root = S.fields_of(schema)
    assert root.kind == S.OBJECT and {"minBH", "maxBH"} <= {f.name for f in root.children}
    params = {"acquisitionStart": "2030-01-01T00:00:00Z", "acquisitionEnd": "2030-02-01T00:00:00Z",
              "acquisitionMode": "stereo", "maxCloudCover": 20, "priority": "STANDARD"}
    assert S.validate(schema, params) == {"minBH": "is required", "maxBH": "is required"}
    assert S.validate(schema, dict(params, minBH=0.4, maxBH=0.6)) == {}
    assert S.validate(schema, dict(params, acquisitionMode="mono")) == {}


def test_capella_nested_object_and_oneof():
    schema = catalog.PRODUCTS[catalog.CAPELLA_SAR]["schema"]
    root = S.fields_of(schema)
    angle = root.find("incidenceAngle")
    assert angle.kind == S.OBJECT and [c.path for c in angle.children] == ["incidenceAngle.minimum",
                                                                           "incidenceAngle.maximum"]
    size = root.find("sceneSize")
    assert (size.kind, size.combinator) == (S.CHOICE, "oneOf")
    assert [a.title for a in size.alternatives] == ["Option 1: SPOT_5X5, STRIP_5X10 or STRIP_5X20", "Custom strip"]
    assert size.alternatives[1].find("sceneSize.lengthKm").minimum == 10
    base = {"acquisitionStart": "2030-01-01T00:00:00Z", "acquisitionEnd": "2030-02-01T00:00:00Z",
            "polarization": "HH", "resolution": "1m"}
    assert S.validate(schema, dict(base, sceneSize="SPOT_5X5")) == {}
    assert S.validate(schema, dict(base, sceneSize={"lengthKm": 20})) == {}
    errors = S.validate(schema, dict(base, sceneSize={"lengthKm": 5}, incidenceAngle={"minimum": 1}))
    assert errors == {"sceneSize.lengthKm": "5 is less than the minimum of 10",
                      "incidenceAngle.minimum": "1 is less than the minimum of 5",
                      "incidenceAngle.maximum": "is required"}


# -- hand-written schemas ----------------------------------------------------------------------------

def test_drone_survey_refs_draft4_bounds_nesting_and_raw_fields():
    assert kinds(DRONE_SURVEY) == {
        "flightDate": S.DATE, "altitude": S.NUMBER, "overlap": S.ENUM, "camera": S.OBJECT, "camera.model": S.STRING,
        "camera.lens": S.OBJECT, "camera.lens.focalLength": S.NUMBER, "camera.lens.stabilised": S.BOOLEAN,
        "waypoints": S.RAW, "operator": S.RAW}
    root = S.fields_of(DRONE_SURVEY)
    altitude = root.find("altitude")
    assert (altitude.minimum, altitude.exclusive_minimum, altitude.maximum, altitude.title) == (0, True, 120,
                                                                                              "Altitude (m)")
    assert root.find("overlap").enum == [60, 70, 80] and root.find("overlap").default == 70
    assert root.find("camera.model").pattern == "^[A-Z]{2}-[0-9]+$" and root.find("camera.model").required
    assert root.find("waypoints").schema["minItems"] == 2  # kept whole, for the raw field and validation
    good = {"flightDate": "2030-05-01", "altitude": 80, "camera": {"model": "DJ-3", "lens": {"focalLength": 24}},
            "waypoints": [1, 2], "operator": "Ann"}
    assert S.validate(DRONE_SURVEY, good) == {}
    bad = {"flightDate": "2030-13-01", "altitude": 0, "overlap": 65,
           "camera": {"model": "dj3", "lens": {"focalLength": 300, "stabilised": "yes"}},
           "waypoints": [1], "operator": "nobody"}
    assert S.validate(DRONE_SURVEY, bad) == {
        "flightDate": "must be a date (YYYY-MM-DD)", "altitude": "must be greater than 0",
        "overlap": "must be one of 60, 70, 80", "camera.model": "does not match the pattern ^[A-Z]{2}-[0-9]+$",
        "camera.lens.focalLength": "300 is greater than the maximum of 200",
        "camera.lens.stabilised": "must be true or false", "waypoints": "must hold at least 2 items",
        "operator": "matches a form it must not have"}


def test_composite_allof_merges_bounds_required_and_keeps_object_rules():
    root = S.fields_of(COMPOSITE)
    assert [f.name for f in root.children] == ["start", "end", "resolution", "cloud", "note"]
    assert {f.name for f in root.children if f.required} == {"start", "end", "resolution", "cloud"}
    cloud = root.find("cloud")
    assert (cloud.kind, cloud.minimum, cloud.maximum) == (S.NUMBER, 5, 60)  # the tighter of both parts
    resolution = root.find("resolution")
    assert [a.title for a in resolution.alternatives] == ["Preset", "Metres", "Per band"]
    assert [a.kind for a in resolution.alternatives] == [S.ENUM, S.INTEGER, S.OBJECT]
    assert root.find("note").kind == S.STRING and root.find("note").max_length == 20
    good = {"start": "2030-01-01T10:00:00+02:00", "end": "2030-01-02T00:00:00.5Z", "resolution": 10, "cloud": 50,
            "note": None, "x-ref": "abc"}
    assert S.validate(COMPOSITE, good) == {}
    assert S.validate(COMPOSITE, dict(good, resolution={"red": 1, "nir": 0.1})) == {
        "resolution.nir": "0.1 is less than the minimum of 0.5"}
    assert S.validate(COMPOSITE, dict(good, resolution="high")) == {
        "cloud": "50 is greater than the maximum of 20"}  # if/then
    errors = S.validate(COMPOSITE, {"start": "yesterday", "resolution": 10, "cloud": 2, "x-ref": 3})
    assert errors == {"start": "must be a date and time (ISO 8601, e.g. 2024-05-01T00:00:00Z)", "end": "is required",
                      "cloud": "2 is less than the minimum of 5", "x-ref": "must be text"}


def test_alternatives_root_rules_oneof_by_const_exclusive_bounds_and_unreadable_refs():
    root = S.fields_of(ALTERNATIVES)
    assert root.kind == S.OBJECT
    assert kinds(ALTERNATIVES)["legacy"] == S.RAW and kinds(ALTERNATIVES)["labels"] == S.RAW
    assert kinds(ALTERNATIVES)["geometry"] == S.RAW  # an object of free keys: no widgets would hold its content
    tree = root.find("tree")
    assert tree.kind == S.OBJECT and tree.find("tree.child").kind == S.RAW  # recursion stops at once
    gap = root.find("gap")
    assert (gap.minimum, gap.exclusive_minimum, gap.maximum, gap.exclusive_maximum, gap.multiple_of) == (
        0, True, 10, True, 0.5)
    target = root.find("target")
    assert [a.title for a in target.alternatives] == ["Point", "Named place"]
    assert target.alternatives[0].find("target.kind").enum == ["point"]
    good = {"mode": "pair", "gap": 2.5, "target": {"kind": "place", "name": "Oslo"}, "legacy": [1]}
    assert S.validate(ALTERNATIVES, good) == {}
    assert S.validate(ALTERNATIVES, dict(good, gap=10)) == {"gap": "must be less than 10"}
    assert S.validate(ALTERNATIVES, dict(good, gap=2.2)) == {"gap": "must be a multiple of 0.5"}
    del good["gap"]
    assert S.validate(ALTERNATIVES, good) == {"gap": "is required"}  # pair needs a gap (the root anyOf)
    # The named place is what the value meant (its kind matches): its problem is said, not the point's.
    assert S.validate(ALTERNATIVES, {"mode": "single", "target": {"kind": "place", "name": ""}}) == {
        "target.name": "must not be empty"}


def test_skipped_paths_leave_the_aoi_to_the_map():
    schema = copy.deepcopy(ALTERNATIVES)
    schema["required"] = ["mode", "target", "geometry"]
    errors = S.validate(schema, {"mode": "single", "target": {"kind": "point", "lat": 0, "lon": 0}},
                        skip=("geometry",))
    assert errors == {}
    assert S.validate(schema, {"mode": "single", "target": {"kind": "point", "lat": 0, "lon": 0}}) == {
        "geometry": "is required"}


def test_a_product_without_parameters_has_an_empty_form():
    root = S.fields_of({"type": "object"})
    assert (root.kind, root.children) == (S.OBJECT, [])


def test_a_schema_that_is_no_object_is_refused():
    with pytest.raises(S.SchemaError):
        S.fields_of({"type": "string"})
    with pytest.raises(S.SchemaError):
        S.fields_of([])  # type: ignore[arg-type]


def test_labels_from_property_names():
    assert S.humanize("cloudCoverage") == "Cloud coverage"
    assert S.humanize("maxBH") == "Max BH"
    assert S.humanize("max_incidence_angle") == "Max incidence angle"
