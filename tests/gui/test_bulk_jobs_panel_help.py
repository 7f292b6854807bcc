"""The Bulk jobs tab explains itself: every control has a tooltip."""

from __future__ import annotations

from qgis.PyQt.QtWidgets import QAbstractButton

from tests.gui.test_help_and_small_things import controls_without_tooltip
from ui.bulk.jobs_panel import BulkJobsPanel


def test_every_control_of_the_bulk_jobs_tab_has_a_tooltip(qtbot, qgis_iface, journal):
    panel = BulkJobsPanel(lambda: journal, lambda service_id: None, qgis_iface)
    qtbot.addWidget(panel)
    assert len(panel.findChildren(QAbstractButton)) >= 4  # the walk sees the buttons at all
    assert controls_without_tooltip(panel) == []
    assert "journal" in panel.refresh_button.toolTip() and "Select one" in panel.table.toolTip()
