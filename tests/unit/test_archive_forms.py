"""The archive order form's additions: tools, cloud delivery, hosting and notifications, refused by field before sending."""

from __future__ import annotations

import logging

import pytest

from core.errors import ValidationError
from core.log import get_logger
from core.services.planet_orders.forms import (
    CLOUD_DESTINATIONS,
    CloudDelivery,
    cloud_delivery,
    hosting_block,
    notifications_block,
    other_tools,
    scenes_request,
    with_options,
)

ITEM = "20220304_093300_37_2430"
STRIP = "s101_20260105T120000Z"


def refused_field(call) -> str:
    with pytest.raises(ValidationError) as caught:
        call()
    (field,) = caught.value.field_errors
    return field


def test_a_bundle_the_item_type_does_not_offer_is_refused_before_sending():
    assert refused_field(lambda: scenes_request("x", [STRIP], item_type="SkySatCollect",
                                                product_bundle="analytic_8b_udm2")) == "product_bundle"
    # a fallback list is fine as long as the item type has one of them, as the service takes the first it has
    body = scenes_request("x", [STRIP], item_type="SkySatCollect", product_bundle="analytic_8b_udm2,visual").to_json()
    assert body["products"][0]["product_bundle"] == "analytic_8b_udm2,visual"


def test_each_tool_becomes_its_documented_block_in_planets_order():
    tools = other_tools(composite=True, harmonize=True, toar_scale=10000, reproject="epsg:32631", file_format="COG",
                        coregister_anchor=ITEM)
    assert list(tools) == [{"composite": {}}, {"coregister": {"anchor_item": ITEM}}, {"toar": {"scale_factor": 10000}},
                           {"harmonize": {"target_sensor": "Sentinel-2"}},
                           {"reproject": {"projection": "EPSG:32631"}}, {"file_format": {"format": "COG"}}]
    assert other_tools() == ()


@pytest.mark.parametrize("kwargs, field", [
    ({"reproject": ""}, "reproject"), ({"reproject": "UTM 31"}, "reproject"), ({"file_format": "PNG"}, "file_format"),
    ({"toar_scale": 0}, "toar"), ({"coregister_anchor": "a b"}, "coregister"),
])
def test_a_tool_with_a_bad_parameter_is_refused_at_its_field(kwargs, field):
    assert refused_field(lambda: other_tools(**kwargs)) == field


def full_values(destination):
    return {name: f"{name}-value-1234" for name, _, _ in CLOUD_DESTINATIONS[destination][1]}


@pytest.mark.parametrize("destination", sorted(CLOUD_DESTINATIONS))
def test_every_cloud_destination_needs_each_of_its_fields(destination):
    values = full_values(destination)
    delivery = cloud_delivery(destination, values, path_prefix="/imagery/", zip_archive=True)
    assert delivery.to_json() == {"archive_type": "zip", destination: values, "path_prefix": "imagery"}
    for name, _, _ in CLOUD_DESTINATIONS[destination][1]:
        missing = dict(values, **{name: "  "})
        assert refused_field(lambda missing=missing: cloud_delivery(destination, missing)) == name


def test_cloud_secrets_stay_out_of_repr_and_logs(caplog):
    values = full_values("amazon_s3")
    values["aws_secret_access_key"] = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    delivery = cloud_delivery("amazon_s3", values)
    request = with_options(scenes_request("x", [ITEM]), delivery=delivery)
    assert "wJalrXUtnFEMI" not in repr(request)
    logger = get_logger("test_archive_forms")
    with caplog.at_level(logging.INFO, logger=logger.name):
        logger.info("sending %s", request.to_json())
    assert caplog.records and "wJalrXUtnFEMI" not in caplog.text


def test_hosting_notifications_and_tools_join_the_body():
    request = with_options(scenes_request("x", [ITEM]), tools=other_tools(harmonize=True),
                           hosting=hosting_block(), notifications=notifications_block(True, "https://example.com/h"))
    body = request.to_json()
    assert body["hosting"] == {"sentinel_hub": {}}
    assert body["notifications"] == {"email": True, "webhook_url": "https://example.com/h", "webhook_per_order": True}
    assert body["tools"] == [{"harmonize": {"target_sensor": "Sentinel-2"}}]
    assert "delivery" not in body  # direct download: no delivery block at all, as the document says
    collection = "0d6e4a2c-7d0f-4b1e-9a55-0d4b1bde7a11"
    assert hosting_block(collection) == {"sentinel_hub": {"collection_id": collection}}
    assert notifications_block(False, "") is None


def test_bad_hosting_and_notification_values_are_refused_at_their_fields():
    assert refused_field(lambda: hosting_block("my collection")) == "collection_id"
    assert refused_field(lambda: notifications_block(False, "example.com/hook")) == "webhook_url"
    assert refused_field(lambda: notifications_block(False, "ftp://example.com/hook")) == "webhook_url"


def test_cloud_delivery_and_hosting_together_are_refused():
    delivery = cloud_delivery("google_earth_engine", full_values("google_earth_engine"))
    assert isinstance(delivery, CloudDelivery)
    assert refused_field(lambda: with_options(scenes_request("x", [ITEM]), delivery=delivery,
                                              hosting=hosting_block())) == "hosting"
