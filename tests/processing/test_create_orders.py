"""Create tasking orders from layer through processing.run(): the bulk engine with its journal; a rerun after a
cancel resumes the job and never orders a feature twice."""

from __future__ import annotations

import pytest
from qgis.core import QgsProcessingException

from tests.processing.layers import line_layer, point_layer
from tests.processing.test_price_and_load import RecordingFeedback, run, run_failing

pytestmark = pytest.mark.usefixtures("tasking")


def bulk_posts(sandbox) -> list:
    return [r for r in sandbox.requests_seen() if r["method"] == "POST" and r["path"].endswith("/bulk/")]


def orders_named(sandbox, prefix: str) -> list:
    from tests.integration.order_states import make_client

    return [o for o in make_client(sandbox).iter_orders(page_size=500) if (o.name or "").startswith(prefix)]


def parameters(sandbox, layer, **extra) -> dict:
    return {"INPUT": layer, "NAME": "concat('proc ', \"site\")", "SERVICE_URL": sandbox.tasking_url,
            "OUTPUT": "memory:", **extra}


def test_valid_features_are_ordered_invalid_ones_explained_and_a_rerun_orders_nothing_again(tasking):
    layer = line_layer([("north", 20000.0), ("stub", 1000.0), ("east", 30000.0)])
    tasking.reset()
    result = run("create_orders_from_layer", parameters(tasking, layer))
    rows = {f["site"]: f for f in result["OUTPUT"].getFeatures()}
    assert rows["north"]["order_id"] and rows["east"]["order_id"] and not rows["north"]["error"]
    assert not rows["stub"]["order_id"] and "km" in rows["stub"]["error"]
    assert rows["north"]["estimated_cost"] > 0
    created = orders_named(tasking, "proc ")
    assert sorted(o.name for o in created) == ["proc east", "proc north"]
    assert {o.id for o in created} == {rows["north"]["order_id"], rows["east"]["order_id"]}
    assert result["CREATED"] == 2 and result["FAILED"] == 1 and len(bulk_posts(tasking)) == 1

    feedback = RecordingFeedback()
    again = run("create_orders_from_layer", parameters(tasking, layer), feedback)
    assert len(bulk_posts(tasking)) == 1 and len(orders_named(tasking, "proc ")) == 2
    assert again["ORDER_IDS"].split(",") and set(again["ORDER_IDS"].split(",")) == {o.id for o in created}
    assert any("not sent again" in info for info in feedback.infos)


def test_a_run_cancelled_after_sending_is_resumed_by_the_next_run_without_doubling(tasking):
    layer = point_layer([f"site {n}" for n in range(5)])
    tasking.reset()
    feedback = RecordingFeedback()
    # Cancelled once creation has begun: the bulk was sent and is being followed.
    feedback.progressChanged.connect(lambda value: feedback.cancel() if value > 20 else None)
    with pytest.raises(QgsProcessingException) as raised:
        run("create_orders_from_layer", parameters(tasking, layer), feedback)
    error = str(raised.value)
    assert "Cancelled" in error and "again" in error
    assert len(bulk_posts(tasking)) == 1

    result = run("create_orders_from_layer", parameters(tasking, layer))
    assert len(bulk_posts(tasking)) == 1  # followed, not sent again
    created = orders_named(tasking, "proc site")
    assert len(created) == 5 and len({o.name for o in created}) == 5
    assert result["CREATED"] == 5 and set(result["ORDER_IDS"].split(",")) == {o.id for o in created}


def test_stop_on_invalid_names_the_feature_and_sends_nothing(tasking):
    layer = line_layer([("north", 20000.0), ("stub", 1000.0)])
    tasking.reset()
    error = run_failing("create_orders_from_layer", parameters(tasking, layer, STOP_ON_INVALID=True))
    assert "feature 2" in error and "nothing was ordered" in error
    assert bulk_posts(tasking) == [] and [r for r in tasking.requests_seen() if r["method"] == "POST"] == []
