"""The glossary (GET /v2/collections) and the product schemas (GET /orders/schema/{id}, no /v2)."""

from __future__ import annotations

import json

import requests

from tests.sandbox.up42.helpers import PLEIADES


def all_collections(up42, **params):
    found, page = [], 0
    while True:
        answer = up42.get("/v2/collections", params=dict(params, page=page))
        assert answer.status_code == 200, answer.text
        body = answer.json()
        found += body["content"]
        page += 1
        if page >= body["totalPages"]:
            return found


def tasking_products(up42):
    return {p["id"]: (c, p) for c in all_collections(up42) if c["type"] == "TASKING" for p in c["dataProducts"]}


def test_the_glossary_lists_several_tasking_products_with_the_documents_pleiades_among_them(up42):
    products = tasking_products(up42)
    assert len(products) >= 5
    collection, product = products[PLEIADES]
    assert collection["title"] == "Pléiades" and product["title"] == "Analytic"
    assert {c["title"] for c, _ in products.values()} >= {"Pléiades", "Pléiades Neo", "SPOT", "WorldView"}
    # Exactly the keys up42-py builds its objects from with **dict (an extra key would break it).
    for collection, _ in products.values():
        for provider in collection["providers"]:
            assert set(provider) == {"name", "title", "description", "roles"}
        assert set(collection["metadata"]["resolutionValue"]) <= {"minimum", "maximum"}
    archive = [c for c in all_collections(up42) if c["type"] == "ARCHIVE"]
    assert archive, "the glossary also holds archive collections, which a tasking client must leave out"


def test_pages_sizes_and_sorting(up42):
    everything = all_collections(up42)
    pages = up42.get("/v2/collections", params={"size": 2}).json()
    assert pages["totalPages"] == -(-len(everything) // 2) and len(pages["content"]) == 2
    assert all_collections(up42, size=2) == everything
    names = [c["name"] for c in all_collections(up42, sort="name,desc")]
    assert names == sorted(names, reverse=True)
    assert up42.get("/v2/collections", params={"sort": "colour,asc"}).status_code == 400
    assert up42.get("/v2/collections", params={"page": "-1"}).status_code == 400


def test_each_tasking_product_publishes_a_json_schema_and_they_differ(up42):
    schemas = {}
    for product_id in tasking_products(up42):
        answer = up42.get(f"/orders/schema/{product_id}")
        assert answer.status_code == 200, answer.text
        schemas[product_id] = answer.json()
    texts = {json.dumps(s, sort_keys=True) for s in schemas.values()}
    assert len(texts) == len(schemas), "no two products share one schema"
    pleiades = schemas[PLEIADES]
    assert "acquisitionStart" in pleiades["required"]
    assert pleiades["properties"]["acquisitionStart"]["format"] == "date-time"
    assert pleiades["properties"]["acquisitionMode"] == {"$ref": "#/definitions/acquisitionMode"}
    assert pleiades["definitions"]["acquisitionMode"]["enum"] == ["mono", "stereo", "tristereo"]
    assert pleiades["properties"]["cloudCoverage"]["maximum"] == 100
    assert "anyOf" in pleiades["definitions"]["projection"]
    assert any("allOf" in s for s in schemas.values())
    assert any("anyOf" in s for s in schemas.values())
    assert any("oneOf" in str(s) for s in schemas.values())


def test_an_unknown_product_has_no_schema_and_the_schema_needs_a_token(sandbox, up42):
    missing = up42.get("/orders/schema/00000000-0000-4000-8000-000000000000")
    assert missing.status_code == 404 and missing.json()["status"] == 404
    assert requests.get(f"{sandbox.root}/orders/schema/{PLEIADES}", timeout=30).status_code == 401
    assert up42.get(f"/v2/orders/schema/{PLEIADES}").status_code == 404  # the schema has no /v2
