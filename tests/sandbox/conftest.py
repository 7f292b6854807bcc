"""Fixtures for the sandbox's own tests: API clients for the two keys of the session sandbox."""

from __future__ import annotations

import pytest

from tests.sandbox.helpers import Client


@pytest.fixture
def api(sandbox) -> Client:
    return Client(sandbox.tasking_url, sandbox.api_key)


@pytest.fixture
def other_api(sandbox) -> Client:
    return Client(sandbox.tasking_url, sandbox.other_key)


@pytest.fixture
def account(sandbox) -> dict:
    accounts = sandbox.control("GET", "accounts")["accounts"]
    return next(a for a in accounts if a["api_key"] == sandbox.api_key)
