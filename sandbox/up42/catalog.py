"""UP42's glossary as the sandbox serves it: collections, providers, data products, their order-parameter
JSON Schemas and their prices in credits."""

from __future__ import annotations

import copy
from typing import Any, Dict, List, Optional

# The document's Pléiades analytic tasking product (up42-tasking.txt).
PLEIADES_ANALYTIC = "bd102407-1814-4f92-8b5a-7697b7a73f5a"
PLEIADES_DISPLAY = "4f1b2f62-98df-4c74-81f4-5dce45deee99"
PNEO_ANALYTIC = "9a7e7bd1-05b2-4e9a-a1a5-2b2b5f2c3c01"
SPOT_ANALYTIC = "0c3f9f8e-6d4b-4bf4-9d2e-6f1d3f0b2a11"
WORLDVIEW_TASKING = "5e2a3b4c-7d8e-4f90-a1b2-c3d4e5f60718"
CAPELLA_SAR = "7b6c5d4e-3f2a-4b1c-9d8e-0f1a2b3c4d5e"
PLEIADES_ARCHIVE = "2d1c0b9a-8f7e-4d6c-b5a4-9382716f5e4d"

_DRAFT = "http://json-schema.org/draft-07/schema#"

# Shared definitions: GeoJSON geometry (the document puts it in params) and the acquisition window.
_GEOMETRY_DEFINITIONS: Dict[str, Any] = {
    "Position": {
        "type": "array",
        "minItems": 2,
        "maxItems": 3,
        "items": [
            {"type": "number", "minimum": -180, "maximum": 180, "title": "Longitude"},
            {"type": "number", "minimum": -90, "maximum": 90, "title": "Latitude"},
            {"type": "number", "title": "Altitude"},
        ],
    },
    "LinearRing": {"type": "array", "minItems": 4, "items": {"$ref": "#/definitions/Position"}},
    "Polygon": {
        "title": "Polygon",
        "type": "object",
        "required": ["type", "coordinates"],
        "properties": {
            "type": {"type": "string", "enum": ["Polygon"]},
            "coordinates": {"type": "array", "minItems": 1, "items": {"$ref": "#/definitions/LinearRing"}},
        },
    },
    "MultiPolygon": {
        "title": "MultiPolygon",
        "type": "object",
        "required": ["type", "coordinates"],
        "properties": {
            "type": {"type": "string", "enum": ["MultiPolygon"]},
            "coordinates": {"type": "array", "minItems": 1, "items": {
                "type": "array", "minItems": 1, "items": {"$ref": "#/definitions/LinearRing"}}},
        },
    },
    "Geometry": {
        "title": "Geometry",
        "description": "A GeoJSON geometry object defined in WGS84 (EPSG 4326).",
        "anyOf": [{"$ref": "#/definitions/Polygon"}, {"$ref": "#/definitions/MultiPolygon"}],
    },
}

_COMMON_PROPERTIES: Dict[str, Any] = {
    "displayName": {"title": "Order name", "description": "Human-readable name of the order.",
                    "type": "string", "minLength": 1, "maxLength": 200},
    "acquisitionStart": {"title": "Start of the acquisition window",
                         "description": "The beginning of the image capture interval (ISO 8601).",
                         "type": "string", "format": "date-time"},
    "acquisitionEnd": {"title": "End of the acquisition window",
                       "description": "The end of the image capture interval (ISO 8601).",
                       "type": "string", "format": "date-time"},
    "geometry": {"$ref": "#/definitions/Geometry"},
    "extraDescription": {"title": "Extra description",
                         "description": "Additional details about the tasking operation.",
                         "type": "string", "maxLength": 1000},
}


def _airbus_optical(title: str, *, radiometric: List[str], spectral: List[str], incidence_max: int,
                    pixel_coding: List[str], priority: bool) -> Dict[str, Any]:
    """Pléiades and Pléiades Neo: enums as sub-schemas in `definitions`, as the document describes them."""
    properties = dict(_COMMON_PROPERTIES)
    properties.update({
        "acquisitionMode": {"$ref": "#/definitions/acquisitionMode"},
        "radiometricProcessing": {"$ref": "#/definitions/radiometricProcessing"},
        "geometricProcessing": {"$ref": "#/definitions/geometricProcessing"},
        "spectralProcessing": {"$ref": "#/definitions/spectralProcessing"},
        "deliveredAs": {"$ref": "#/definitions/deliveredAs"},
        "cloudCoverage": {"title": "Maximum cloud cover (%)",
                          "description": "The maximum percentage of cloud cover for the images (0-100).",
                          "type": "integer", "minimum": 0, "maximum": 100, "default": 20},
        "incidenceAngle": {"title": "Maximum incidence angle (°)",
                           "description": "The angle between the ground normal and look direction from the "
                                          f"satellite, expressed in degrees (0-{incidence_max}).",
                           "type": "integer", "minimum": 0, "maximum": incidence_max, "default": 30},
        "pixelCoding": {"$ref": "#/definitions/pixelCoding"},
        "projection": {"$ref": "#/definitions/projection"},
    })
    definitions = dict(_GEOMETRY_DEFINITIONS)
    definitions.update({
        "acquisitionMode": {"title": "Acquisition mode", "description": "One of mono, stereo or tristereo.",
                            "type": "string", "enum": ["mono", "stereo", "tristereo"]},
        "radiometricProcessing": {"title": "Radiometric processing", "type": "string", "enum": radiometric},
        "geometricProcessing": {"title": "Geometric processing", "description": "One of primary, projected or ortho.",
                                "type": "string", "enum": ["primary", "projected", "ortho"]},
        "spectralProcessing": {"title": "Spectral processing",
                               "description": "The combination of bands to be delivered.",
                               "type": "string", "enum": spectral},
        "deliveredAs": {"title": "Delivered as", "description": "The file format of the images to be delivered.",
                        "type": "string", "enum": ["geotiff", "jpeg2000"]},
        "pixelCoding": {"title": "Pixel coding",
                        "description": "The pixel coding relates to the amount of color information in an image.",
                        "type": "string", "enum": pixel_coding},
        "projection": {
            "title": "Projection",
            "description": "Projection EPSG in which you want the image (confirm this for each satellite before "
                           "ordering).",
            "anyOf": [
                {"type": "integer", "minimum": 1024, "maximum": 32767},
                {"type": "string", "pattern": "^(EPSG:)?[0-9]{4,5}$"},
            ],
        },
    })
    required = ["acquisitionStart", "acquisitionEnd", "acquisitionMode", "radiometricProcessing",
                "geometricProcessing", "spectralProcessing", "deliveredAs", "cloudCoverage", "incidenceAngle"]
    if priority:
        properties["priority"] = {"title": "Priority", "description": "How urgently the satellite is tasked.",
                                  "type": "string", "enum": ["STANDARD", "PRIORITY"], "default": "STANDARD"}
    return {"$schema": _DRAFT, "title": title, "type": "object", "required": required,
            "additionalProperties": False, "properties": properties, "definitions": definitions}


def _spot() -> Dict[str, Any]:
    """SPOT 6/7: a shared tasking base combined with the product's own parameters through allOf."""
    definitions = dict(_GEOMETRY_DEFINITIONS)
    definitions["TaskingBase"] = {
        "type": "object",
        "required": ["acquisitionStart", "acquisitionEnd"],
        "properties": dict(_COMMON_PROPERTIES),
    }
    definitions["SpotParameters"] = {
        "type": "object",
        "required": ["spectralProcessing", "maxCloudCover"],
        "properties": {
            "spectralProcessing": {"title": "Spectral processing", "type": "string",
                                   "enum": ["bundle", "pansharpened"]},
            "maxCloudCover": {"title": "Maximum cloud cover (%)", "type": "number", "minimum": 0, "maximum": 100,
                              "multipleOf": 5, "default": 20},
            "maxIncidenceAngle": {"title": "Maximum incidence angle (°)", "type": "number", "minimum": 0,
                                  "maximum": 45, "default": 30},
            "orthorectified": {"title": "Orthorectified", "description": "Deliver orthorectified imagery.",
                               "type": "boolean", "default": True},
        },
    }
    return {"$schema": _DRAFT, "title": "SPOT tasking", "type": "object",
            "allOf": [{"$ref": "#/definitions/TaskingBase"}, {"$ref": "#/definitions/SpotParameters"}],
            "definitions": definitions}


def _worldview() -> Dict[str, Any]:
    """WorldView: stereo needs a base-to-height range, expressed with anyOf over the acquisition mode."""
    properties = dict(_COMMON_PROPERTIES)
    properties.update({
        "acquisitionMode": {"title": "Acquisition mode", "type": "string", "enum": ["mono", "stereo"],
                            "default": "mono"},
        "maxCloudCover": {"title": "Maximum cloud cover (%)", "type": "integer", "minimum": 0, "maximum": 100},
        "maxIncidenceAngle": {"title": "Maximum off-nadir angle (°)", "type": "integer", "minimum": 0,
                              "maximum": 45},
        "minBH": {"title": "Minimum base-to-height ratio", "type": "number", "minimum": 0.3, "maximum": 1.0},
        "maxBH": {"title": "Maximum base-to-height ratio", "type": "number", "minimum": 0.3, "maximum": 1.0},
        "priority": {"title": "Priority", "type": "string", "enum": ["STANDARD", "PRIORITY", "SELECT"]},
    })
    definitions = dict(_GEOMETRY_DEFINITIONS)
    return {
        "$schema": _DRAFT, "title": "WorldView tasking", "type": "object",
        "required": ["acquisitionStart", "acquisitionEnd", "acquisitionMode", "maxCloudCover", "priority"],
        "additionalProperties": False, "properties": properties, "definitions": definitions,
        "anyOf": [
            {"properties": {"acquisitionMode": {"const": "mono"}}},
            {"properties": {"acquisitionMode": {"const": "stereo"}}, "required": ["minBH", "maxBH"]},
        ],
    }


def _capella() -> Dict[str, Any]:
    """Capella SAR: a nested object (incidence angle range), integers with bounds, oneOf for the scene size."""
    properties = dict(_COMMON_PROPERTIES)
    properties.update({
        "polarization": {"title": "Polarization", "type": "string", "enum": ["HH", "VV"], "default": "HH"},
        "resolution": {"title": "Resolution", "type": "string", "enum": ["0.5m", "1m"]},
        "looks": {"title": "Looks", "type": "string", "enum": ["single", "multi"], "default": "single"},
        "sceneSize": {
            "title": "Scene size",
            "oneOf": [
                {"type": "string", "enum": ["SPOT_5X5", "STRIP_5X10", "STRIP_5X20"]},
                {"type": "object", "title": "Custom strip", "required": ["lengthKm"],
                 "properties": {"lengthKm": {"type": "integer", "minimum": 10, "maximum": 100}},
                 "additionalProperties": False},
            ],
        },
        "incidenceAngle": {"$ref": "#/definitions/AngleRange"},
        "revisits": {"title": "Revisits", "description": "How many acquisitions within the window.",
                     "type": "integer", "minimum": 1, "maximum": 10, "default": 1},
    })
    definitions = dict(_GEOMETRY_DEFINITIONS)
    definitions["AngleRange"] = {
        "title": "Incidence angle range (°)",
        "type": "object",
        "required": ["minimum", "maximum"],
        "properties": {"minimum": {"type": "number", "minimum": 5, "maximum": 60},
                       "maximum": {"type": "number", "minimum": 5, "maximum": 60}},
        "additionalProperties": False,
    }
    return {"$schema": _DRAFT, "title": "Capella SAR tasking", "type": "object",
            "required": ["acquisitionStart", "acquisitionEnd", "polarization", "resolution", "sceneSize"],
            "additionalProperties": False, "properties": properties, "definitions": definitions}


def _archive() -> Dict[str, Any]:
    return {"$schema": _DRAFT, "title": "Pléiades archive", "type": "object", "required": ["id"],
            "properties": {"id": {"title": "Image id", "type": "string", "minLength": 1}},
            "additionalProperties": False}


# Data product id -> what the sandbox needs of it: its schema, price and which steps its orders take.
# credits: per unit (SQ_KM: per km² of the AOI, at least minimum; SCENE: per acquisition).
PRODUCTS: Dict[str, Dict[str, Any]] = {
    PLEIADES_ANALYTIC: {
        "name": "pleiades-analytic-tasking", "title": "Analytic", "collection": "phr-tasking",
        "schema": _airbus_optical("Pléiades Analytic tasking", radiometric=["reflectance", "display", "basic"],
                                  spectral=["bundle", "pansharpened", "panchromatic", "multispectral"],
                                  incidence_max=90, pixel_coding=["8bits", "12bits", "16bits"], priority=False),
        "unit": "SQ_KM", "credits": 1000, "minimum": 25, "feasibility": False,
    },
    PLEIADES_DISPLAY: {
        "name": "pleiades-display-tasking", "title": "Display", "collection": "phr-tasking",
        "schema": _airbus_optical("Pléiades Display tasking", radiometric=["display"],
                                  spectral=["pansharpened"], incidence_max=50, pixel_coding=["8bits"],
                                  priority=False),
        "unit": "SQ_KM", "credits": 800, "minimum": 25, "feasibility": False,
    },
    PNEO_ANALYTIC: {
        "name": "pneo-analytic-tasking", "title": "Analytic", "collection": "pneo-tasking",
        "schema": _airbus_optical("Pléiades Neo Analytic tasking", radiometric=["reflectance", "display", "basic"],
                                  spectral=["bundle", "pansharpened", "panchromatic", "multispectral"],
                                  incidence_max=50, pixel_coding=["12bits", "16bits"], priority=True),
        "unit": "SQ_KM", "credits": 2500, "minimum": 100, "feasibility": True,
    },
    SPOT_ANALYTIC: {
        "name": "spot-analytic-tasking", "title": "Analytic", "collection": "spot-tasking",
        "schema": _spot(), "unit": "SQ_KM", "credits": 400, "minimum": 100, "feasibility": False,
    },
    WORLDVIEW_TASKING: {
        "name": "worldview-tasking", "title": "Standard", "collection": "worldview-tasking",
        "schema": _worldview(), "unit": "SQ_KM", "credits": 2200, "minimum": 25, "feasibility": True,
    },
    CAPELLA_SAR: {
        "name": "capella-sar-tasking", "title": "SLC and GEO", "collection": "capella-tasking",
        "schema": _capella(), "unit": "SCENE", "credits": 250000, "minimum": 1, "feasibility": True,
    },
    PLEIADES_ARCHIVE: {
        "name": "pleiades-archive", "title": "Display", "collection": "phr",
        "schema": _archive(), "unit": "SQ_KM", "credits": 500, "minimum": 1, "feasibility": False,
    },
}

_OPTICAL_VERY_HIGH = {"productType": "OPTICAL", "resolutionClass": "VERY_HIGH",
                      "resolutionValue": {"minimum": 0.3, "maximum": 0.5}}
_TASKING_QUOTED = ["ACCESS_APPROVAL_REQUIRED", "QUOTATION_REQUIRED", "PRICE_ESTIMATION_AVAILABLE"]
_TASKING_STUDIED = ["ACCESS_APPROVAL_REQUIRED", "FEASIBILITY_STUDY_REQUIRED", "QUOTATION_REQUIRED",
                    "PRICE_ESTIMATION_AVAILABLE"]
_AIRBUS = {"name": "oneatlas", "title": "Airbus OneAtlas", "description": "Airbus Defence and Space",
           "roles": ["PRODUCER", "HOST"]}

COLLECTIONS: List[Dict[str, Any]] = [
    {"name": "phr-tasking", "title": "Pléiades", "description": "Pléiades 1A/1B tasking, 50 cm.",
     "type": "TASKING", "integrations": _TASKING_QUOTED, "providers": [_AIRBUS],
     "metadata": {"productType": "OPTICAL", "resolutionClass": "VERY_HIGH",
                  "resolutionValue": {"minimum": 0.5, "maximum": 2.0}}},
    {"name": "pneo-tasking", "title": "Pléiades Neo", "description": "Pléiades Neo tasking, 30 cm.",
     "type": "TASKING", "integrations": _TASKING_STUDIED, "providers": [_AIRBUS], "metadata": _OPTICAL_VERY_HIGH},
    {"name": "spot-tasking", "title": "SPOT", "description": "SPOT 6/7 tasking, 1.5 m.",
     "type": "TASKING", "integrations": _TASKING_QUOTED, "providers": [_AIRBUS],
     "metadata": {"productType": "OPTICAL", "resolutionClass": "HIGH",
                  "resolutionValue": {"minimum": 1.5, "maximum": 6.0}}},
    {"name": "worldview-tasking", "title": "WorldView", "description": "Maxar WorldView tasking, 30 cm.",
     "type": "TASKING", "integrations": _TASKING_STUDIED,
     "providers": [{"name": "maxar", "title": "Maxar", "description": "Maxar Technologies", "roles": ["PRODUCER"]}],
     "metadata": _OPTICAL_VERY_HIGH},
    {"name": "capella-tasking", "title": "Capella SAR", "description": "Capella Space X-band SAR tasking.",
     "type": "TASKING", "integrations": _TASKING_STUDIED,
     "providers": [{"name": "capellaspace", "title": "Capella Space", "description": "Capella Space",
                    "roles": ["PRODUCER"]}],
     "metadata": {"productType": "SAR", "resolutionClass": "VERY_HIGH", "resolutionValue": {"minimum": 0.5}}},
    {"name": "phr", "title": "Pléiades archive", "description": "Pléiades archive imagery.",
     "type": "ARCHIVE", "integrations": ["SEARCH_AVAILABLE", "QUICKLOOK_AVAILABLE", "PRICE_ESTIMATION_AVAILABLE"],
     "providers": [_AIRBUS],
     "metadata": {"productType": "OPTICAL", "resolutionClass": "VERY_HIGH",
                  "resolutionValue": {"minimum": 0.5, "maximum": 2.0}}},
]


def collection_of(product_id: str) -> Dict[str, Any]:
    name = PRODUCTS[product_id]["collection"]
    return next(c for c in COLLECTIONS if c["name"] == name)


def collections_json() -> List[Dict[str, Any]]:
    """The glossary's collections with their data products, as GET /v2/collections lists them."""
    answer = []
    for collection in COLLECTIONS:
        entry = copy.deepcopy(collection)
        entry["dataProducts"] = [
            {"id": product_id, "name": product["name"], "title": product["title"],
             "description": f"{collection['title']} {product['title']}", "eulaId": None}
            for product_id, product in PRODUCTS.items() if product["collection"] == collection["name"]
        ]
        answer.append(entry)
    return answer


def schema_of(product_id: str) -> Optional[Dict[str, Any]]:
    product = PRODUCTS.get(product_id)
    return copy.deepcopy(product["schema"]) if product else None
