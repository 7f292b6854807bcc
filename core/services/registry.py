"""The registry: which services the plugin knows, which one is active, and a client for it from the settings."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Dict, List, Optional

from .. import settings
from .base import Capability, ServiceDescriptor, missing_methods

# THE place a service is registered: the name of its package under core/services/, whose `adapter`
# module defines DESCRIPTOR. Nothing else in the plugin lists services.
ADAPTERS = ("planet_tasking", "planet_orders", "up42")

_descriptors: Dict[str, ServiceDescriptor] = {}


def _loaded() -> Dict[str, ServiceDescriptor]:
    if not _descriptors:
        for package in ADAPTERS:
            descriptor = importlib.import_module(f"{__package__}.{package}.adapter").DESCRIPTOR
            _descriptors[descriptor.id] = descriptor
    return _descriptors


def services(capability: Optional[Capability] = None) -> List[ServiceDescriptor]:
    """Every registered service, in registration order; with `capability`, only those that have it."""
    return [d for d in _loaded().values() if capability is None or d.can(capability)]


def tasking_services() -> List[ServiceDescriptor]:
    """The services that can place tasking orders: the choices of "the tasking service" (settings, dock)."""
    return services(Capability.PLACE)


def active_service_id() -> str:
    """The tasking service the dock and the dialogs work with (a setting; the first tasking one by default).

    An archive service (Planet's Orders API) is never the active one: the dock's new-order and orders tabs
    are tasking's; archive orders are reached by their own id (`service("planet_orders")`).
    """
    chosen = settings.active_service()
    tasking = [d.id for d in tasking_services()]
    return chosen if chosen in tasking else tasking[0]


def service(service_id: Optional[str] = None) -> ServiceDescriptor:
    """The descriptor of `service_id`, or of the active service."""
    known = _loaded()
    wanted = service_id or active_service_id()
    if wanted not in known:
        raise KeyError(f"unknown service {wanted!r}; registered: {', '.join(known)}")
    return known[wanted]


def client_for(service_id: Optional[str] = None) -> Optional[Any]:
    """A client for the service as the settings say now, or None while it is not configured.

    Call it on the main thread (it reads QgsSettings and may unlock QGIS's auth database) and give each
    task its own client. Raises settings.AuthStorageError when the key cannot be read.
    """
    descriptor = service(service_id)
    if not settings.is_configured(descriptor.id):
        return None
    connection = settings.connection(descriptor.id)
    if not connection.api_key:
        return None
    return descriptor.connect(connection.base_url, connection.api_key)


def client_factory(service_id: Optional[str] = None) -> Callable[[], Optional[Any]]:
    """What widgets and dialogs are given: a callable that makes a fresh client when they need one."""
    return lambda: client_for(service_id)


def check(descriptor: ServiceDescriptor, client: Any) -> None:
    """Raise TypeError when a client lacks a method one of its service's capabilities promises."""
    missing = missing_methods(client, descriptor.capabilities)
    if missing:
        raise TypeError(f"{descriptor.id} client lacks: {', '.join(missing)}")
