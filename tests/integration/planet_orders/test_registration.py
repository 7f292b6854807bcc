"""Planet's Orders API registered as a service: an archive service, never the tasking one, on Planet's one key."""

from __future__ import annotations

import pytest

from core.errors import NotFoundError
from core.services import registry
from core.services.base import Capability

KEY = "PLAK-orders-share-0123456789"

pytestmark = pytest.mark.usefixtures("clean_settings")


def test_the_orders_api_is_registered_as_an_archive_service_not_a_tasking_one(clean_settings):
    orders = registry.service("planet_orders")
    assert orders.title == "Planet archive (Orders API)"
    assert orders.capabilities == {Capability.ARCHIVE_ORDER, Capability.DOWNLOAD, Capability.CANCEL}
    assert callable(orders.forms.scenes_request) and "success" in orders.order_statuses
    assert [d.id for d in registry.services(Capability.DOWNLOAD)] == ["planet_orders"]
    assert "planet_orders" not in [d.id for d in registry.tasking_services()]
    # Even a setting naming it leaves tasking the active service: the dock's tabs are tasking's.
    clean_settings.set_active_service("planet_orders")
    assert registry.active_service_id() == "planet_tasking" and registry.service().id == "planet_tasking"


def test_the_orders_api_uses_the_planet_key_stored_for_tasking_and_its_own_url(clean_settings):
    assert registry.client_for("planet_orders") is None  # no key, no sandbox: not configured
    clean_settings.set_api_key("planet_tasking", KEY)
    connection = clean_settings.connection("planet_orders")
    assert connection.api_key == KEY and not connection.sandbox
    assert connection.base_url == "https://api.planet.com/compute/ops/orders/v2/"
    assert clean_settings.connection("planet_tasking").base_url == "https://api.planet.com/tasking/v2/"
    # One key: forgetting it for either forgets it for both.
    clean_settings.clear_api_key("planet_orders")
    assert clean_settings.get_api_key("planet_tasking") is None and not clean_settings.is_configured("planet_orders")


def test_with_the_sandbox_on_the_orders_client_reaches_the_sandboxs_orders_api(clean_settings, sandbox):
    port = int(sandbox.root.rsplit(":", 1)[1])
    clean_settings.set_api_key("planet_tasking", KEY)  # the sandbox's own key wins over a stored one
    clean_settings.set_sandbox_port(port)
    clean_settings.set_use_sandbox(True)
    connection = clean_settings.connection("planet_orders")
    assert connection.api_key == clean_settings.SANDBOX_API_KEY
    assert connection.base_url == f"http://127.0.0.1:{port}/compute/ops/orders/v2/"
    client = registry.client_for("planet_orders")
    registry.check(registry.service("planet_orders"), client)
    with pytest.raises(NotFoundError):
        client.get_order("00000000-0000-4000-8000-000000000000")
    assert [o.id for o in client.iter_orders()] == []
