"""UP42 tasking as the registry sees it: its capabilities, its statuses and how to connect."""

from __future__ import annotations

from typing import Any, Tuple

from ..base import Capability, ServiceDescriptor
from . import forms
from .client import Up42Client
from .models import (
    CANCELLABLE_STATUSES,
    DECISION_SUB_STATUSES,
    FINAL_ORDER_STATUSES,
    ORDER_STATUSES,
    SUB_STATUS_MEANINGS,
    SUB_STATUSES,
)


def credentials_of(secret: Any) -> Tuple[str, str]:
    """(user name, password) from what the settings hand over: a pair, an object with `username` and
    `password` (a Basic configuration), or one text used as both (the sandbox's account key, which its UP42
    login accepts as user name and password)."""
    if isinstance(secret, (tuple, list)) and len(secret) == 2:
        return str(secret[0]), str(secret[1])
    username, password = getattr(secret, "username", None), getattr(secret, "password", None)
    if username is not None and password is not None:
        return str(username), str(password)
    if isinstance(secret, str) and secret:
        return secret, secret
    raise ValueError("UP42 needs a user name and a password")


def connect(base_url: str, secret: Any) -> Up42Client:
    username, password = credentials_of(secret)
    return Up42Client(base_url, username, password)


DESCRIPTOR = ServiceDescriptor(
    id="up42",
    title="UP42 tasking",
    capabilities=frozenset({Capability.QUOTE, Capability.PLACE, Capability.CANCEL, Capability.SCHEMA_FORM,
                           Capability.DECISIONS}),
    connect=connect,
    forms=forms,
    order_statuses=ORDER_STATUSES,
    # What the Orders tab reads of UP42's order states (core.app.listed_orders): sub-statuses, those a cancel
    # is accepted in, those the service moves on from no more, and those waiting for the user's decision.
    extras={"sub_statuses": SUB_STATUSES, "cancellable_statuses": CANCELLABLE_STATUSES,
            "final_statuses": tuple(sorted(FINAL_ORDER_STATUSES)), "decision_sub_statuses": DECISION_SUB_STATUSES,
            "sub_status_meanings": SUB_STATUS_MEANINGS},
)
