"""UP42's adapter and forms against the sandbox: the descriptor's client meets its capabilities, and a request
built from the form's params and a map AOI is checked before sending, estimated and placed once."""

from __future__ import annotations

from datetime import timedelta

import pytest
from qgis.core import QgsGeometry, QgsPointXY

from core.aoi import aoi_from_geometry
from core.errors import ValidationError
from core.services.base import missing_methods
from core.services.up42 import adapter, forms
from core.services.up42.models import OrderParametersRefused, format_time
from sandbox.up42 import catalog

PLEIADES = catalog.PLEIADES_ANALYTIC
PARAMS = {"acquisitionMode": "mono", "radiometricProcessing": "reflectance", "geometricProcessing": "ortho",
          "spectralProcessing": "bundle", "deliveredAs": "geotiff", "cloudCoverage": 10, "incidenceAngle": 10}


@pytest.fixture
def client(sandbox):
    made = adapter.connect(sandbox.root, sandbox.api_key)  # the sandbox's key: its UP42 user name and password
    yield made
    made.close()


def window(sandbox):
    now = sandbox.now()
    return {"acquisitionStart": format_time(now + timedelta(days=1)),
            "acquisitionEnd": format_time(now + timedelta(days=20))}


def test_the_descriptor_client_meets_every_capability_it_claims(client, sandbox):
    assert missing_methods(client, adapter.DESCRIPTOR.capabilities) == ()
    assert adapter.DESCRIPTOR.id == "up42" and "QUOTATION_WAITING_RESPONSE" in adapter.DESCRIPTOR.extras["sub_statuses"]
    assert client.workspace_id  # logged in with the key as user name and password


def test_credentials_from_a_pair_or_a_basic_configuration():
    class Basic:
        username, password = "ann@example.com", "s3cret"

    assert adapter.credentials_of(("ann", "pw")) == ("ann", "pw")
    assert adapter.credentials_of(Basic()) == ("ann@example.com", "s3cret")
    with pytest.raises(ValueError):
        adapter.credentials_of(None)


def test_a_drawn_point_is_ordered_as_its_tasked_square_estimated_then_placed_once(qgis_app, sandbox, client):
    aoi = aoi_from_geometry(QgsGeometry.fromPointXY(QgsPointXY(13.35, 52.51)), "EPSG:4326")
    params = dict(PARAMS, **window(sandbox))
    schema = client.schema(PLEIADES)
    forms.check_params(schema, params, "Berlin square")
    request = forms.order_request(PLEIADES, "Berlin square", params, aoi.tasked_geojson(), tags=["qgis"])
    estimate = client.preview_pricing(request)
    assert estimate.errors == [] and estimate.total_credits == 25_000  # 25 km², Pléiades' minimum, 1,000 a km²
    order = client.create_order(request)
    assert order.name == "Berlin square" and order.tags == ["qgis"] and order.geometry["type"] == "Polygon"
    assert [o.id for o in client.iter_orders()] == [order.id]


def test_the_form_check_refuses_before_sending_and_server_errors_map_to_fields(sandbox, client):
    params = dict(PARAMS, cloudCoverage=150, **window(sandbox))
    del params["deliveredAs"]
    with pytest.raises(ValidationError) as caught:
        forms.check_params(client.schema(PLEIADES), params, " ")
    assert caught.value.field_errors == {"displayName": ["is required"],
                                         "cloudCoverage": ["150 is greater than the maximum of 100"],
                                         "deliveredAs": ["is required"]}
    assert all(r["method"] == "GET" for r in sandbox.requests_seen() if r["path"].startswith("/v2/orders"))
    # What the service refuses (a window in the past, which no schema says) is shown at the field too.
    past = dict(PARAMS, acquisitionStart="2020-01-01T00:00:00.000Z", acquisitionEnd="2020-02-01T00:00:00.000Z")
    with pytest.raises(OrderParametersRefused) as refused:
        client.create_order(forms.order_request(PLEIADES, "Old", past, {"type": "Point", "coordinates": [1, 2]}))
    shown = forms.form_errors(refused.value.field_errors)
    assert shown["acquisitionEnd"].startswith("must be in the future")
    assert "Polygon or MultiPolygon" in shown["aoi"]
