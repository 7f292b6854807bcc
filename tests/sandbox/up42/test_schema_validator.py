"""The sandbox's small JSON Schema validator: each construct the products use, and errors that name the parameter."""

from __future__ import annotations

import copy

import pytest

from sandbox.up42 import catalog
from sandbox.up42.jsonschema import SchemaError, validate
from tests.sandbox.up42.helpers import DOC_EXAMPLE, PLEIADES

SCHEMA = {
    "type": "object",
    "required": ["start", "mode"],
    "additionalProperties": False,
    "properties": {
        "start": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "format": "date"},
        "mode": {"$ref": "#/definitions/mode"},
        "cloud": {"type": "integer", "minimum": 0, "maximum": 100},
        "ratio": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1, "multipleOf": 0.05},
        "name": {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "^[a-z]+$"},
        "flag": {"type": "boolean"},
        "pair": {"type": "array", "minItems": 2, "maxItems": 2, "items": [{"type": "number"}, {"type": "string"}]},
        "list": {"type": "array", "items": {"type": "integer"}},
        "epsg": {"anyOf": [{"type": "integer"}, {"type": "string", "pattern": "^EPSG:[0-9]+$"}]},
        "size": {"oneOf": [{"type": "integer"}, {"type": "number", "minimum": 10}]},
        "both": {"allOf": [{"type": "integer"}, {"minimum": 3}]},
        "kind": {"const": "x"},
        "nothing": {"type": ["string", "null"]},
    },
    "definitions": {"mode": {"type": "string", "enum": ["mono", "stereo"]}},
}


def problems(value, schema=SCHEMA):
    return validate(value, schema, "params")


def test_a_valid_instance_has_no_problems():
    assert problems({"start": "2030-01-01T00:00:00Z", "mode": "mono", "cloud": 10, "ratio": 0.25, "name": "ab",
                     "flag": True, "pair": [1, "a"], "list": [1, 2.0], "epsg": "EPSG:4326", "size": 3,
                     "both": 4, "kind": "x", "nothing": None, "day": "2030-02-28"}) == []


@pytest.mark.parametrize("value, expected", [
    ({"mode": "mono"}, ("params.start", "is required")),
    ({"start": "2030-13-01T00:00:00Z", "mode": "mono"}, ("params.start", "'2030-13-01T00:00:00Z' is not a valid date-time")),
    ({"start": "2030-01-01", "mode": "mono"}, ("params.start", "'2030-01-01' is not a valid date-time")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "quad"}, ("params.mode", "'quad' is not one of 'mono', 'stereo'")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "cloud": 101},
     ("params.cloud", "101 is greater than the maximum of 100")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "cloud": 1.5}, ("params.cloud", "1.5 is not of type integer")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "cloud": True}, ("params.cloud", "true is not of type integer")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "ratio": 1}, ("params.ratio", "1 must be less than 1")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "ratio": 0.33},
     ("params.ratio", "0.33 is not a multiple of 0.05")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "name": "ABC"}, ("params.name", "'ABC' does not match ^[a-z]+$")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "name": "abcdef"},
     ("params.name", "must have at most 5 characters")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "pair": [1, 2]}, ("params.pair[1]", "2 is not of type string")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "list": [1, "a"]},
     ("params.list[1]", "'a' is not of type integer")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "extra": 1}, ("params.extra", "is not a parameter of this product")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "both": 2}, ("params.both", "2 is less than the minimum of 3")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "kind": "y"}, ("params.kind", "must be 'x'")),
    ({"start": "2030-01-01T00:00:00Z", "mode": "mono", "day": "2030-02-30"},
     ("params.day", "'2030-02-30' is not a valid date")),
])
def test_each_problem_names_its_parameter(value, expected):
    assert expected in problems(value)


def test_any_of_and_one_of_say_which_forms_failed():
    found = problems({"start": "2030-01-01T00:00:00Z", "mode": "mono", "epsg": "4326"})
    assert found == [("params.epsg", "matches none of the allowed forms: '4326' is not of type integer, "
                                     "or '4326' does not match ^EPSG:[0-9]+$")]
    # 12 is an integer and a number >= 10: both forms match, which oneOf forbids.
    assert problems({"start": "2030-01-01T00:00:00Z", "mode": "mono", "size": 12}) == [
        ("params.size", "must match exactly one of the allowed forms")]


def test_a_stereo_worldview_order_is_told_it_misses_its_base_to_height_range():
    schema = catalog.schema_of(catalog.WORLDVIEW_TASKING)
    params = {"acquisitionStart": "2030-01-01T00:00:00Z", "acquisitionEnd": "2030-02-01T00:00:00Z",
              "acquisitionMode": "stereo", "maxCloudCover": 20, "priority": "STANDARD"}
    assert validate(params, schema, "params") == [("params.minBH", "is required"), ("params.maxBH", "is required")]
    assert validate(dict(params, minBH=0.4, maxBH=0.6), schema, "params") == []
    assert validate(dict(params, acquisitionMode="mono"), schema, "params") == []


def test_the_documents_example_request_validates_against_its_products_schema():
    assert DOC_EXAMPLE["dataProduct"] == PLEIADES
    assert validate(DOC_EXAMPLE["params"], catalog.schema_of(PLEIADES), "params") == []


def test_every_products_schema_resolves_and_rejects_an_empty_order():
    for product_id in catalog.PRODUCTS:
        found = validate({}, catalog.schema_of(product_id), "params")
        assert found and all(message == "is required" for _, message in found), (product_id, found)


def test_an_unresolvable_reference_is_a_schema_bug_not_a_request_error():
    with pytest.raises(SchemaError):
        validate(1, {"$ref": "#/definitions/missing"})
    with pytest.raises(SchemaError):
        validate(1, {"$ref": "http://example.com/schema.json"})


def test_geometry_positions_are_checked_through_nested_references():
    params = copy.deepcopy(DOC_EXAMPLE["params"])
    params["geometry"]["coordinates"][0][1] = [200, 9.07]
    found = validate(params, catalog.schema_of(PLEIADES), "params")
    assert ("params.geometry.coordinates[0][1][0]", "200 is greater than the maximum of 180") in found
