"""The service registry: which services exist, the active one, and a working client for it from the settings."""

from __future__ import annotations

import pytest
from qgis.core import QgsSettings

from core.errors import NotFoundError
from core.services import registry
from core.services.base import Capability, ServiceDescriptor

pytestmark = pytest.mark.usefixtures("clean_settings")


def test_planet_tasking_is_registered_and_active_by_default():
    ids = [descriptor.id for descriptor in registry.services()]
    assert ids[0] == "planet_tasking" and len(ids) == len(set(ids))
    active = registry.service()
    assert active.id == "planet_tasking" and active.title == "Planet Tasking"
    assert active.can(Capability.QUOTE) and active.can(Capability.CHARGED_CANCELLATION)
    assert not active.can(Capability.DOWNLOAD)  # archive downloads are another service's
    # Workflows reach the service's rules and layer schemas through the descriptor, never by import.
    assert callable(active.rules.can_cancel) and active.layers.ORDERS.name == "orders"
    assert "PENDING" in active.order_statuses


def test_an_unknown_service_is_refused_by_name(clean_settings):
    with pytest.raises(KeyError, match="unknown service 'nope'"):
        registry.service("nope")
    # A setting naming a service that is not registered (an older or newer version's) falls back to the first
    # registered one.
    QgsSettings().setValue(clean_settings.PREFIX + clean_settings.ACTIVE_SERVICE_KEY, "nope")
    assert registry.active_service_id() == "planet_tasking" and registry.service().id == "planet_tasking"


def test_up42_is_registered_with_a_schema_generated_order_form(clean_settings):
    clean_settings.set_active_service("up42")
    assert registry.active_service_id() == "up42" and "up42" in [d.id for d in registry.tasking_services()]
    assert registry.service().can(Capability.SCHEMA_FORM) and not registry.service("planet_tasking").can(
        Capability.SCHEMA_FORM)


def test_no_client_until_the_service_is_configured():
    assert registry.client_for() is None
    assert registry.client_factory()() is None


def test_the_sandbox_switch_gives_a_client_that_reaches_the_sandbox(clean_settings, sandbox, monkeypatch):
    port = int(sandbox.root.rsplit(":", 1)[1])
    clean_settings.set_sandbox_port(port)
    clean_settings.set_use_sandbox(True)
    client = registry.client_for()
    assert client is not None and client.base_url == f"http://127.0.0.1:{port}/tasking/v2/"
    with pytest.raises(NotFoundError):
        client.get_order("00000000-0000-4000-8000-000000000000")
    # Each call makes a fresh client: a task must never share one with the main thread.
    assert registry.client_for() is not client


def test_every_registered_client_meets_the_protocols_of_its_capabilities(clean_settings):
    clean_settings.set_use_sandbox(True)
    for descriptor in registry.services():
        registry.check(descriptor, descriptor.connect("http://127.0.0.1:9/", "key"))


def test_a_client_missing_a_promised_method_is_caught():
    class HalfClient:
        def preview_pricing(self, payload):
            return None

    descriptor = ServiceDescriptor(id="half", title="Half", connect=lambda url, key: HalfClient(),
                                   capabilities=frozenset({Capability.QUOTE, Capability.CANCEL}))
    with pytest.raises(TypeError, match="cancel: cancel_order"):
        registry.check(descriptor, HalfClient())
    registry.check(ServiceDescriptor(id="q", title="Q", connect=HalfClient, capabilities=frozenset({Capability.QUOTE})),
                   HalfClient())
