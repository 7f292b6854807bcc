"""The Decisions panel in real QGIS against the sandbox: a study's options with their price, a confirmation before
anything is sent (declined: nothing in the sandbox's request log; accepted: one PATCH), the quotation that follows
accepted and another rejected, the orders' status and sub-status in the table, at 400 px."""

from __future__ import annotations

import os
from typing import Any, Dict, List

import pytest
from qgis.core import Qgis
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtWidgets import QMessageBox

from tests.integration.up42.test_up42_client import WORLDVIEW, order_request, square
from ui.decisions.panel import ROLE, DecisionsPanel

pytestmark = pytest.mark.usefixtures("no_leftover_tasks")


class Answers:
    """Stands in for the user at QMessageBox.question: answers from a script, records every question."""

    def __init__(self, monkeypatch):
        self.script: List[bool] = []
        self.asked: List[tuple] = []
        monkeypatch.setattr(QMessageBox, "question", self)

    def __call__(self, parent, title, text, *args):
        self.asked.append((title, text))
        return QMessageBox.StandardButton.Yes if self.script.pop(0) else QMessageBox.StandardButton.No


@pytest.fixture
def answers(monkeypatch) -> Answers:
    return Answers(monkeypatch)


@pytest.fixture
def panel(qgis_iface, qtbot, make_up42_client):
    qgis_iface.messageBar().clear_messages()
    shown = DecisionsPanel(make_up42_client, qgis_iface)
    qtbot.addWidget(shown)
    shown.resize(400, 640)
    yield shown
    shown.shutdown()


def tree_items(panel: DecisionsPanel) -> List[Any]:
    items = []
    for index in range(panel.tree.topLevelItemCount()):
        top = panel.tree.topLevelItem(index)
        items.append(top)
        items += [top.child(n) for n in range(top.childCount())]
    return items


def item_of(panel: DecisionsPanel, kind: str, contains: str = "") -> Any:
    for item in tree_items(panel):
        data = item.data(0, ROLE)
        if data and data[0] == kind and contains in item.text(0):
            return item
    return None


def table_rows(panel: DecisionsPanel) -> Dict[str, tuple]:
    """Name → (status, sub-status as shown: in words, UP42's name of it in the cell's tooltip)."""
    table = panel.orders_table
    return {table.item(row, 0).text(): (table.item(row, 1).text(), table.item(row, 2).text())
            for row in range(table.rowCount())}


def sub_status_tooltip(panel: DecisionsPanel, name: str) -> str:
    table = panel.orders_table
    return next(table.item(row, 2).toolTip() for row in range(table.rowCount()) if table.item(row, 0).text() == name)


def patches(sandbox) -> List[Dict[str, Any]]:
    return [r for r in sandbox.requests_seen() if r["method"] == "PATCH" and r["path"].startswith("/v2/tasking/")]


def messages(iface, level) -> List[str]:
    return iface.messageBar().get_messages(level)


def read_again(panel: DecisionsPanel, qtbot) -> None:
    """Refresh, as the button does, and wait for the answer."""
    with qtbot.waitSignal(panel.workflow.loaded, timeout=20000):
        qtbot.mouseClick(panel.refresh_button, Qt.MouseButton.LeftButton)


def test_an_option_then_a_quotation_accepted_and_another_rejected_only_after_a_yes(
        sandbox, make_up42_client, panel, answers, qgis_iface, qtbot):
    client = make_up42_client()
    tasked = client.create_order(order_request(sandbox, name="WorldView Berlin", product=WORLDVIEW,
                                               acquisitionMode="mono", maxCloudCover=20, priority="STANDARD"))
    sandbox.advance(120 + 4 * 3600)  # the study is there: FEASIBILITY_WAITING_RESPONSE
    panel.show()
    qtbot.waitUntil(lambda: item_of(panel, "option", "price × 1.5") is not None, timeout=20000)
    assert "WorldView Berlin" in item_of(panel, "study").text(0)
    assert panel.state_label.text() == "1 feasibility study and 0 quotations wait for a decision."
    assert table_rows(panel)["WorldView Berlin"] == ("PLACED", "Feasibility study: pick an option")
    assert "FEASIBILITY_WAITING_RESPONSE" in sub_status_tooltip(panel, "WorldView Berlin")  # UP42's own name of it
    assert not panel.accept_option_button.isEnabled()  # nothing chosen yet

    priority = item_of(panel, "option", "price × 1.5")
    panel.tree.setCurrentItem(priority)
    assert panel.accept_option_button.isEnabled() and not panel.accept_button.isEnabled()
    # The list elides at 400 px; the selected option's price, window and terms are shown in full below it.
    details = panel.details_label.text()
    assert panel.details_label.isVisible() and "price × 1.5" in details and "Terms:" in details
    answers.script = [False]
    qtbot.mouseClick(panel.accept_option_button, Qt.MouseButton.LeftButton)
    title, question = answers.asked[-1]
    assert "price × 1.5" in question and "WorldView Berlin" in question and "quotation" in question
    assert patches(sandbox) == []
    assert any("Nothing was sent" in m for m in messages(qgis_iface, Qgis.MessageLevel.Info))

    answers.script = [True]
    with qtbot.waitSignal(panel.workflow.loaded, timeout=20000):  # read again after the answer
        qtbot.mouseClick(panel.accept_option_button, Qt.MouseButton.LeftButton)
    assert len(patches(sandbox)) == 1
    assert any("Option accepted for WorldView Berlin" in m for m in messages(qgis_iface, Qgis.MessageLevel.Success))
    assert item_of(panel, "study") is None
    assert table_rows(panel)["WorldView Berlin"] == ("PLACED", "Quotation being prepared")

    second = client.create_order(order_request(sandbox, name="Pleiades Potsdam", geometries=[square(13.05, 52.39)]))
    sandbox.advance(2 * 3600 + 120)  # both quotations are there
    read_again(panel, qtbot)
    quotations = {q.order_id: q for q in panel.pending.quotations}
    assert set(quotations) == {tasked.id, second.id}
    accepted = quotations[tasked.id]
    row = item_of(panel, "quotation", "WorldView Berlin")
    assert f"{accepted.credits_price:,} credits" in row.text(0) and "decide before" in row.text(0)

    panel.tree.setCurrentItem(row)
    assert f"Cost: {accepted.credits_price:,} credits" in panel.details_label.text()
    answers.script = [False]
    qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    assert f"Cost: {accepted.credits_price:,} credits" in answers.asked[-1][1]
    assert len(patches(sandbox)) == 1
    answers.script = [True]
    with qtbot.waitSignal(panel.workflow.loaded, timeout=20000):
        qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
    assert len(patches(sandbox)) == 2
    assert table_rows(panel)["WorldView Berlin"] == ("PLACED", "Quotation accepted")
    assert item_of(panel, "quotation", "WorldView Berlin") is None

    panel.tree.setCurrentItem(item_of(panel, "quotation", "Pleiades Potsdam"))
    answers.script = [True]
    with qtbot.waitSignal(panel.workflow.loaded, timeout=20000):
        qtbot.mouseClick(panel.reject_button, Qt.MouseButton.LeftButton)
    assert "Reject the quotation" in answers.asked[-1][1] and "nothing is charged" in answers.asked[-1][1]
    assert len(patches(sandbox)) == 3
    assert client.get_order(second.id).status == "FAILED_PERMANENTLY"
    assert table_rows(panel)["Pleiades Potsdam"] == ("FAILED_PERMANENTLY", "Quotation rejected")
    assert "No feasibility study or quotation" in panel.tree.topLevelItem(0).text(0)

    # The accepted one goes on as the sandbox moves it: captured, then fulfilled.
    sandbox.advance(40 * 24 * 3600)
    read_again(panel, qtbot)
    assert table_rows(panel)["WorldView Berlin"][0] in ("FULFILLED", "FAILED_PERMANENTLY")
    assert table_rows(panel)["WorldView Berlin"][0] == client.get_order(tasked.id).status


def test_a_quotation_appears_by_itself_while_the_panel_is_shown_and_it_fits_400_px(
        sandbox, make_up42_client, panel, qtbot):
    client = make_up42_client()
    client.create_order(order_request(sandbox, name="waits for its quotation"))
    panel.timer.setInterval(300)  # the automatic reading, faster than the 30 s users get
    panel.show()
    qtbot.waitUntil(lambda: "waits for its quotation" in table_rows(panel), timeout=20000)
    assert item_of(panel, "quotation") is None
    sandbox.advance(120 + 2 * 3600)
    qtbot.waitUntil(lambda: item_of(panel, "quotation", "waits for its quotation") is not None, timeout=20000)
    assert panel.minimumSizeHint().width() <= 400 and panel.width() <= 400
    buttons = (panel.accept_option_button, panel.accept_button, panel.reject_button, panel.refresh_button)
    assert all(b.isVisible() and b.geometry().right() <= panel.width() for b in buttons)

    # A study's options and the long sub-statuses too: nothing to scroll sideways at 400 px.
    client.create_order(order_request(sandbox, name="a WorldView order with a rather long name", product=WORLDVIEW,
                                      acquisitionMode="mono", maxCloudCover=20, priority="STANDARD"))
    sandbox.advance(120 + 4 * 3600)
    qtbot.waitUntil(lambda: item_of(panel, "option", "price × 1.5") is not None, timeout=20000)
    qtbot.wait(100)
    assert "Feasibility study: pick an option" in [sub for _status, sub in table_rows(panel).values()]
    sideways = [area.objectName() for area in (panel.tree, panel.orders_table)
                if area.horizontalScrollBar().isVisible()]
    assert sideways == []
    panel.tree.setCurrentItem(item_of(panel, "option", "price × 1.5"))
    assert panel.details_label.geometry().right() <= panel.width()
    if os.environ.get("DECISIONS_SHOT"):  # a picture of the panel at 400 px, to look at
        qtbot.wait(50)
        panel.grab().save(os.environ["DECISIONS_SHOT"])

    panel.hide()
    assert not panel.timer.isActive()  # nothing is read while nobody looks


def test_without_up42_credentials_the_panel_says_so(qgis_iface, qtbot):
    qgis_iface.messageBar().clear_messages()
    shown = DecisionsPanel(lambda: None, qgis_iface)
    qtbot.addWidget(shown)
    shown.show()
    assert "not configured" in shown.state_label.text()
    assert any("not configured" in m for m in messages(qgis_iface, Qgis.MessageLevel.Warning))
    shown.shutdown()


def test_without_a_factory_the_panel_uses_the_settings_up42_account(sandbox, make_up42_client, clean_settings, qgis_iface,
                                                                      qtbot):
    """Made as the dock makes it: the client from the registry, here the local sandbox the settings point at."""
    from urllib.parse import urlsplit

    clean_settings.set_use_sandbox(True)
    clean_settings.set_sandbox_port(urlsplit(sandbox.root).port)
    make_up42_client().create_order(order_request(sandbox, name="from the settings"))
    sandbox.advance(120 + 2 * 3600)
    shown = DecisionsPanel(iface=qgis_iface)
    qtbot.addWidget(shown)
    with qtbot.waitSignal(shown.workflow.loaded, timeout=20000):
        shown.show()
    assert item_of(shown, "quotation", "from the settings") is not None
    shown.shutdown()


def test_the_dock_has_a_decisions_tab_for_up42_and_none_for_planet(sandbox, make_up42_client, clean_settings, qgis_iface,
                                                                    answers, qtbot):
    from urllib.parse import urlsplit

    from qgis.PyQt.QtCore import QCoreApplication, QEvent

    from satellite_tasking.ui.dock import TaskingDock

    clean_settings.set_sandbox_port(urlsplit(sandbox.root).port)
    clean_settings.set_use_sandbox(True)
    planet = TaskingDock(iface=qgis_iface)
    try:
        assert planet.decisions_panel is None
        assert "Decisions" not in [planet.tabs.tabText(i) for i in range(planet.tabs.count())]
    finally:
        planet.shutdown()
        planet.deleteLater()

    client = make_up42_client()
    order = client.create_order(order_request(sandbox, name="decided from the dock"))
    sandbox.advance(120 + 2 * 3600)
    clean_settings.set_active_service("up42")
    dock = TaskingDock(iface=qgis_iface)
    try:
        panel = dock.decisions_panel
        assert isinstance(panel, DecisionsPanel)
        assert dock.tabs.tabText(dock.tabs.indexOf(panel)) == "Decisions"
        dock.resize(400, 900)
        dock.show()
        dock.tabs.setCurrentWidget(panel)  # shown: it reads by itself
        qtbot.waitUntil(lambda: item_of(panel, "quotation", "decided from the dock") is not None, timeout=20000)
        assert panel.minimumSizeHint().width() <= 400
        panel.tree.setCurrentItem(item_of(panel, "quotation", "decided from the dock"))
        answers.script = [True]
        with qtbot.waitSignal(panel.workflow.loaded, timeout=20000):
            qtbot.mouseClick(panel.accept_button, Qt.MouseButton.LeftButton)
        assert client.get_order(order.id).sub_status == "QUOTATION_ACCEPTED"
        assert table_rows(panel)["decided from the dock"] == ("PLACED", "Quotation accepted")
    finally:
        dock.shutdown()
        assert not panel.timer.isActive()  # unload stops the automatic reading
        dock.deleteLater()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
