"""Fixtures the GUI tests share."""

from __future__ import annotations

import pytest
from qgis.core import QgsProject

from core.tasks import active_tasks, cancel_all_tasks


@pytest.fixture
def project(qgis_new_project):
    """A new project, its layers removed after the test."""
    yield QgsProject.instance()
    QgsProject.instance().removeAllMapLayers()


@pytest.fixture
def no_leftover_tasks(qgis_app, qtbot):
    """Every task the test started has ended within 20 s of its end (the test fails otherwise); a module
    asks for it with `pytestmark = pytest.mark.usefixtures("no_leftover_tasks")`."""
    yield
    cancel_all_tasks()
    qtbot.waitUntil(lambda: not active_tasks(), timeout=20000)
