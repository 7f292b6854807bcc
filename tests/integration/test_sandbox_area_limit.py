"""The contract area limit is read where the service tells it (the local sandbox), and only for its contracts."""

from __future__ import annotations

import socket

from core import settings


def test_the_sandbox_tells_its_contracts_limit_and_nothing_else(sandbox):
    port = int(sandbox.root.rsplit(":", 1)[1])
    account = next(a for a in sandbox.control("GET", "accounts")["accounts"] if a["api_key"] == sandbox.api_key)
    for contract in account["pl_numbers"]:
        assert settings.sandbox_area_limit(contract, port) == account["max_sqkm"]
    assert settings.sandbox_area_limit("PL-not-mine", port) is None  # another organisation's, or a typo


def test_no_limit_when_nothing_answers():
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        free = probe.getsockname()[1]
    assert settings.sandbox_area_limit("PL-1", free, timeout=0.5) is None
