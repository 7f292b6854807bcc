"""up42-py 4.3 against the sandbox, unchanged but for its URLs: run by the SDK's interpreter, prints what it saw.

Usage: python sdk_flow.py ROOT_URL USERNAME PASSWORD (imports nothing of this repository). up42-py has no
base-URL setting, so its three URL functions in `up42.host` are pointed at the sandbox (as issue #16 allows);
every request is then the SDK's own. The sandbox's clock is moved through its control endpoint between steps.
"""

import json
import os
import sys

os.environ["UP42_DISABLE_VERSION_CHECK"] = "true"  # no call to PyPI from a test

import geojson  # noqa: E402
import requests  # noqa: E402
import up42  # noqa: E402
from up42 import host  # noqa: E402

PLEIADES = "bd102407-1814-4f92-8b5a-7697b7a73f5a"
PLEIADES_NEO = "9a7e7bd1-05b2-4e9a-a1a5-2b2b5f2c3c01"  # needs a feasibility study before its quotation
AOI = geojson.FeatureCollection([geojson.Feature(geometry=geojson.Polygon(
    [[(13.35, 52.51), (13.45, 52.51), (13.45, 52.61), (13.35, 52.61), (13.35, 52.51)]]))])


def point_at(root):
    host.endpoint = lambda path: root + path
    host.token_endpoint = lambda: root + "/realms/public/protocol/openid-connect/token"
    host.user_info_endpoint = lambda: root + "/realms/public/protocol/openid-connect/userinfo"


def advance(root, seconds=0.0, speed=None):
    body = {"advance_seconds": seconds}
    if speed is not None:
        body["speed"] = speed
    return requests.post(root + "/sandbox/clock", json=body, timeout=30).json()["now"]


def params(now, **extra):
    """Pléiades parameters with the window from two days after the sandbox's `now`, a month long."""
    import datetime as dt

    start = dt.datetime.fromisoformat(now.replace("Z", "+00:00")) + dt.timedelta(days=2)
    values = {"acquisitionStart": start.strftime("%Y-%m-%dT%H:%M:%SZ"),
              "acquisitionEnd": (start + dt.timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ"),
              "acquisitionMode": "mono", "radiometricProcessing": "reflectance", "geometricProcessing": "ortho",
              "spectralProcessing": "bundle", "deliveredAs": "geotiff", "cloudCoverage": 10, "incidenceAngle": 10,
              "pixelCoding": "12bits", "projection": 4326}
    values.update(extra)
    return values


def flow(root, username, password):
    seen = {}
    point_at(root)
    up42.authenticate(username=username, password=password)
    seen["workspace"] = up42.base.workspace.id
    collections = list(up42.ProductGlossary.get_collections(collection_type=up42.CollectionType.TASKING))
    products = {p.id: p for c in collections for p in c.data_products}
    seen["tasking_products"] = len(products)
    schema = products[PLEIADES].schema
    seen["schema_required"] = schema["required"]
    now = advance(root)

    template = up42.BatchOrderTemplate(data_product_id=PLEIADES, display_name="sdk order", features=AOI,
                                       params=params(now), tags=["sdk"])
    seen["estimate"] = {"credits": template.estimate.credits, "size": template.estimate.size,
                        "unit": template.estimate.unit}
    (reference,) = template.place()
    order = reference.order
    seen["placed"] = {"id": order.id, "status": order.status, "workspace": order.workspace_id}
    # A passing 503 (an injected fault): the SDK's own retries see it through.
    requests.post(root + "/sandbox/faults", json={"path": f"^/v2/orders/{order.id}$", "method": "GET",
                                                  "kind": "status", "status": 503}, timeout=30)
    seen["read_back"] = up42.Order.get(order.id).display_name

    bad = up42.BatchOrderTemplate(data_product_id=PLEIADES, display_name="bad", features=AOI,
                                  params=params(now, cloudCoverage=150))
    seen["bad_estimate"] = [item.details for item in bad.estimate.items]
    (refused,) = bad.place()
    seen["bad_place"] = {"index": refused.index, "message": refused.message}

    rejected_ref, = up42.BatchOrderTemplate(data_product_id=PLEIADES, display_name="to reject", features=AOI,
                                            params=params(now)).place()
    cancelled_ref, = up42.BatchOrderTemplate(data_product_id=PLEIADES, display_name="to cancel", features=AOI,
                                             params=params(now)).place()
    seen["cancelled"] = cancelled_ref.order.cancel().status

    advance(root, 3 * 3600)  # placed, then the quotations are uploaded
    listed = list(up42.Order.all(workspace_id=up42.base.workspace.id, order_type="TASKING",
                                 status=["PLACED", "CANCELED"], sort_by=up42.OrderSorting.created_at.desc))
    seen["listed"] = [(o.display_name, o.status, o.details.sub_status) for o in listed]

    quotation, = up42.Quotation.all(order_id=order.id)
    seen["quotation_before"] = {"decision": quotation.decision, "decided_at": quotation.decided_at,
                                "credits": quotation.credits_price}
    quotation.accept()
    quotation.save()
    seen["quotation_after"] = {"decision": quotation.decision, "decided": quotation.decided_at is not None}
    other, = up42.Quotation.all(order_id=rejected_ref.id, decision=["NOT_DECIDED"])
    other.reject()
    other.save()
    seen["rejected_order"] = up42.Order.get(rejected_ref.id).status

    neo_ref, = up42.BatchOrderTemplate(data_product_id=PLEIADES_NEO, display_name="neo", features=AOI,
                                       params=params(now, priority="STANDARD")).place()
    advance(root, 5 * 3600)  # placed, then the study is uploaded
    study, = up42.FeasibilityStudy.all(order_id=neo_ref.id, decision=["NOT_DECIDED"])
    study.accept(study.options[0]["id"])
    study.save()
    seen["study"] = {"decision": study.decision, "option": study.decision_option.id == study.options[0]["id"]}
    advance(root, 2 * 3600)
    seen["neo"] = up42.Order.get(neo_ref.id).details.sub_status

    advance(root, 0, speed=100000)  # about 28 simulated hours a real second, for track()'s real waits
    order.track(report_time=0.3)
    seen["tracked"] = order.status
    return seen


if __name__ == "__main__":
    print(json.dumps(flow(*sys.argv[1:4])))
