"""Fixtures: UP42 clients logged in as the session sandbox's two accounts (separate workspaces)."""

from __future__ import annotations

import pytest

from tests.sandbox.up42.helpers import Up42


@pytest.fixture
def up42(sandbox) -> Up42:
    return Up42(sandbox.root, sandbox.api_key)


@pytest.fixture
def other_up42(sandbox) -> Up42:
    return Up42(sandbox.root, sandbox.other_key)
