"""Shared fixtures: a real sandbox server on a free loopback port for the whole test session."""

from __future__ import annotations

import os
import sys
import time
from typing import List

import pytest

from tests import plugin_package
from tests.sandbox_server import OTHER_KEY, REPO_ROOT, SANDBOX_KEY, SandboxServer  # noqa: F401 - tests import them here

# Tests import the plugin the way QGIS does (package `satellite_tasking`); `core.x` is an alias of it.
plugin_package.install()


@pytest.fixture(scope="session")
def sandbox_server():
    server = SandboxServer()
    yield server
    server.stop()


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> SandboxServer:
    """The session's sandbox, emptied before each test: no orders, no faults, clock back to its start."""
    sandbox_server.reset()
    return sandbox_server


@pytest.fixture
def factory(sandbox: SandboxServer):
    """Makes a Planet Tasking client for the test sandbox (a fresh one per call, as each task gets one)."""
    from core.services.planet_tasking.client import TaskingClient

    return lambda: TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sandbox.sleep, timeout=30.0)


@pytest.fixture
def journal(tmp_path):
    """An empty bulk journal in the test's own folder, closed afterwards."""
    from core.app.bulk import BulkJournal

    with BulkJournal(str(tmp_path / "journal.sqlite")) as opened:
        yield opened


@pytest.fixture(autouse=True)
def no_task_outlives_its_test():
    """Cancel and wait out the plugin's tasks a test left running (a failed test, usually).

    QGIS's task manager runs as many tasks at once as there are cores; two stuck tasks on a 2-core
    machine would leave every later test's task queued, and one failure would turn into many.
    """
    yield
    tasks = sys.modules.get("satellite_tasking.core.tasks")
    if tasks is None or not tasks.active_tasks():
        return
    from qgis.PyQt.QtCore import QCoreApplication

    tasks.cancel_all_tasks(detach_callbacks=True)
    deadline = time.monotonic() + 30
    while tasks.active_tasks() and time.monotonic() < deadline:
        QCoreApplication.processEvents()
        time.sleep(0.01)


def pytest_configure(config):
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


# QgsAuthManager stores API keys encrypted under a master password. The test profile (.qgis-settings,
# made by pytest-qgis at the repository root) gets this fixed one, so tests store keys unattended.
TEST_MASTER_PASSWORD = "satellite-tasking-tests"


@pytest.fixture(scope="session")
def qgis_auth(qgis_app):
    """QGIS's authentication manager, unlocked with the test profile's master password."""
    from qgis.core import QgsApplication

    manager = QgsApplication.authManager()
    if not manager.setMasterPassword(TEST_MASTER_PASSWORD, True):
        pytest.fail(
            f"The test auth database {manager.authenticationDatabasePath()} was locked with another master "
            "password; it only holds test data, so delete it and run the tests again."
        )
    return manager


@pytest.fixture
def fresh_project(qgis_app):
    """QGIS's project, emptied before and after the test (layers, groups, file name)."""
    from qgis.core import QgsProject

    project = QgsProject.instance()
    project.clear()
    yield project
    project.clear()


@pytest.fixture
def clean_settings(qgis_auth):
    """No plugin settings and no stored API keys before and after the test (auth db unlocked again)."""
    from qgis.core import QgsSettings

    from core import settings

    def wipe():
        if not qgis_auth.masterPasswordIsSet():
            qgis_auth.setMasterPassword(TEST_MASTER_PASSWORD, True)
        for service in settings.SERVICES:
            settings.clear_api_key(service)
        QgsSettings().remove(settings.PREFIX.rstrip("/"))

    wipe()
    yield settings
    wipe()


@pytest.fixture
def make_up42_client(sandbox):
    """Makes UP42 clients signed in as the sandbox's own account (10 s timeout), each closed after the test."""
    from core.services.up42.client import Up42Client

    accounts = sandbox.control("GET", "up42/accounts")["accounts"]
    account = next(a for a in accounts if a["password"] == sandbox.api_key)
    made: List[Up42Client] = []

    def make() -> Up42Client:
        made.append(Up42Client(sandbox.root, account["username"], account["password"], timeout=10.0))
        return made[-1]

    yield make
    for client in made:
        client.close()
