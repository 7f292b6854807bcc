"""UP42's New order and Decisions tabs as a GIS analyst meets them at 400 px, in real QGIS against the sandbox: what
was wrong when they were tried by hand (a fresh form all red, a Place error wiped by the next estimate, a second
name field, errors naming other fields by their API path, date-times cut off, a blank gap under an empty choice,
feasibility options priced only as a factor) and is right now."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from qgis.PyQt.QtCore import QCoreApplication, QEvent, QPoint, Qt
from qgis.PyQt.QtWidgets import QLabel, QMessageBox, QScrollArea

from tests.integration.up42.test_up42_client import WORLDVIEW, order_request
from tests.sandbox.up42.helpers import iso
from ui.decisions.panel import ROLE, DecisionsPanel

from . import test_up42_new_order as new_order
from .test_decisions import item_of, patches, read_again
from .test_up42_new_order import WAIT_MS, choose_pleiades, give_aoi, order_requests, valid_params

# The New order tests' fixtures: the settings on UP42 through the sandbox, the canvas, the panel at 400 px.
up42_settings, canvas, panel = new_order.up42_settings, new_order.canvas, new_order.panel

CAPELLA = "7b6c5d4e-3f2a-4b1c-9d8e-0f1a2b3c4d5e"  # a SAR product: an anyOf scene size, long labels
SPOT = "0c3f9f8e-6d4b-4bf4-9d2e-6f1d3f0b2a11"  # sold from 100 km²
PNEO = "9a7e7bd1-05b2-4e9a-a1a5-2b2b5f2c3c01"  # Pléiades Neo: incidence up to 50°

pytestmark = pytest.mark.usefixtures("no_leftover_tasks")


def wait_for_estimate_line(panel, qtbot, start: str) -> str:
    qtbot.waitUntil(lambda: panel.estimate_label.text().startswith(start), timeout=WAIT_MS)
    return panel.estimate_label.text()


def choose(panel, qtbot, product: str) -> None:
    panel.choose_product(product)
    qtbot.waitUntil(lambda: panel.form_widget is not None and panel.product_id == product, timeout=WAIT_MS)
    qtbot.wait(50)  # laid out


def test_a_fresh_form_is_not_all_red_and_the_estimate_line_names_what_is_missing(panel, sandbox, qtbot):
    give_aoi(panel)
    choose_pleiades(panel, qtbot)
    line = wait_for_estimate_line(panel, qtbot, "No estimate: fill in")
    # The user has touched nothing yet: no field shouts "is required"; the estimate line says what to fill in.
    assert "Start of the acquisition window" in line and "more" in line
    form = panel.form_widget
    assert all(form.error_text(path) == "" for path in ("acquisitionStart", "acquisitionEnd", "acquisitionMode"))
    # All but one filled in: the line names the one left, still without a red word at it.
    form.set_values({k: v for k, v in valid_params(sandbox).items() if k != "acquisitionMode"})
    line = wait_for_estimate_line(panel, qtbot, "No estimate: fill in Acquisition mode")
    assert form.error_text("acquisitionMode") == ""
    form.editor("acquisitionMode").set_value("mono")
    wait_for_estimate_line(panel, qtbot, "Estimate:")


def test_place_marks_every_missing_field_and_the_name_and_the_next_estimate_does_not_wipe_them(panel, sandbox, qtbot):
    give_aoi(panel)
    choose_pleiades(panel, qtbot)
    panel.place_button.click()
    form = panel.form_widget
    assert panel.place_status.text() == "Fix the marked fields; nothing was sent."
    assert panel.name_error.isVisible() and panel.name_error.text() == "is required"
    assert form.error_text("acquisitionStart") == "is required"
    # The user fills the form in but forgets the name: the estimate comes, and the name stays marked.
    form.set_values(valid_params(sandbox))
    line = wait_for_estimate_line(panel, qtbot, "Estimate:")
    assert re.match(r"Estimate: [\d,]+ credits", line)
    assert panel.name_error.isVisible() and panel.name_error.text() == "is required"
    assert form.error_text("acquisitionStart") == ""  # filled in: no longer marked
    assert ("POST", "/v2/orders") not in order_requests(sandbox)
    panel.name_edit.setText("Named at last")
    qtbot.waitUntil(lambda: not panel.name_error.isVisible(), timeout=WAIT_MS)
    panel.place_order()
    qtbot.waitUntil(lambda: panel.last_order is not None or panel.last_error is not None, timeout=WAIT_MS)
    assert panel.last_error is None and panel.last_order.name == "Named at last"


def test_the_generated_form_has_no_second_name_field_and_the_order_gets_the_name_typed(panel, sandbox, qtbot):
    give_aoi(panel)
    choose_pleiades(panel, qtbot)
    form = panel.form_widget
    # The product's schema has a displayName parameter; the tab's own Name field is the one sent.
    assert form.editor("displayName") is None
    labels = [label.text() for label in form.findChildren(type(panel.form_hint)) if label.isVisible()]
    assert not any("name" in text.lower() for text in labels), labels
    form.set_values(valid_params(sandbox))
    panel.name_edit.setText("One name only")
    panel.place_order()
    qtbot.waitUntil(lambda: panel.last_order is not None or panel.last_error is not None, timeout=WAIT_MS)
    assert panel.last_error is None and panel.last_order.name == "One name only"


def test_a_refusal_naming_another_field_names_it_by_its_label(panel, sandbox, qtbot):
    give_aoi(panel)
    choose_pleiades(panel, qtbot)
    params = valid_params(sandbox)
    params["acquisitionEnd"] = iso(sandbox.now() + timedelta(days=1))  # before the start: only UP42 knows
    panel.form_widget.set_values(params)
    panel.name_edit.setText("Backwards window")
    wait_for_estimate_line(panel, qtbot, "The service refused")
    shown = panel.form_widget.error_text("acquisitionEnd")
    assert shown == "must be after “Start of the acquisition window”"
    assert "params." not in shown


def test_date_times_are_shown_whole_at_400_px_and_an_empty_choice_leaves_no_gap(panel, qtbot):
    panel.resize(400, 900)
    choose(panel, qtbot, CAPELLA)
    form = panel.form_widget
    start = form.editor("acquisitionStart")
    start.set_value("2030-01-02T03:04:05.000Z")
    qtbot.wait(50)
    edit = start.widget
    # "2030-01-02 03:04:05 UTC" fits: the field is at least as wide as its text needs, under its label, across the
    # form. (QGIS's desktop style let it sit beside the label column, cut at both ends; the offscreen style's size
    # hints wrap it anyway, so here this part holds either way: the gap below is what failed offscreen.)
    assert edit.width() >= edit.sizeHint().width(), (edit.width(), edit.sizeHint().width())
    (label,) = [found for found in form.findChildren(QLabel) if found.buddy() is edit]
    assert label.text() == "Start of the acquisition window *"
    assert edit.mapTo(form, QPoint(0, 0)).x() == label.mapTo(form, QPoint(0, 0)).x()
    assert edit.mapTo(form, QPoint(0, 0)).y() >= label.mapTo(form, QPoint(0, label.height())).y()
    # Scene size is a choice left at "— choose —": pressing Place marks it right under its chooser.
    panel.place_button.click()
    scene = form.editor("sceneSize")
    chooser, error = scene.chooser, scene.error_label
    assert error.isVisible() and error.text() == "is required"
    gap = error.mapTo(form, QPoint(0, 0)).y() - chooser.mapTo(form, QPoint(0, chooser.height())).y()
    assert gap < 12, gap


@pytest.fixture
def decisions(make_up42_client, qgis_iface, qtbot, monkeypatch):
    asked = []

    def question(parent, title, text, *args):  # the user: yes to every question, each one kept
        asked.append(text)
        return QMessageBox.StandardButton.Yes

    monkeypatch.setattr(QMessageBox, "question", question)
    shown = DecisionsPanel(make_up42_client, qgis_iface)
    shown.asked = asked
    shown.resize(400, 700)
    yield shown
    shown.shutdown()
    shown.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_feasibility_options_of_an_order_placed_here_are_priced_in_credits(panel, decisions, sandbox,
                                                                          make_up42_client, qtbot):
    give_aoi(panel)
    choose(panel, qtbot, WORLDVIEW)
    panel.form_widget.set_values({"acquisitionStart": iso(sandbox.now() + timedelta(days=3)),
                                  "acquisitionEnd": iso(sandbox.now() + timedelta(days=33)),
                                  "acquisitionMode": "mono", "maxCloudCover": 20, "priority": "STANDARD"})
    panel.name_edit.setText("WorldView placed here")
    panel.place_order()
    qtbot.waitUntil(lambda: panel.last_order is not None or panel.last_error is not None, timeout=WAIT_MS)
    assert panel.last_error is None
    estimate = int(re.search(r"It costs ([\d,]+) credits", panel.confirm.texts[-1]).group(1).replace(",", ""))
    # One placed elsewhere (UP42's console, the SDK): its estimate is not known here.
    make_up42_client().create_order(order_request(sandbox, name="WorldView placed elsewhere", product=WORLDVIEW,
                                                  acquisitionMode="mono", maxCloudCover=20, priority="STANDARD"))
    sandbox.advance(120 + 4 * 3600)  # both studies are there

    decisions.show()
    qtbot.waitUntil(lambda: len(decisions.pending.studies) == 2, timeout=WAIT_MS)
    priority = round(estimate * 1.5)
    here = [decisions.tree.topLevelItem(i) for i in range(decisions.tree.topLevelItemCount())
            if "WorldView placed here" in decisions.tree.topLevelItem(i).text(0)][0]
    options = [here.child(n).text(0) for n in range(here.childCount())]
    assert options[0].startswith(f"≈ {estimate:,} credits (price × 1)")
    assert options[1].startswith(f"≈ {priority:,} credits (price × 1.5)")
    elsewhere = [decisions.tree.topLevelItem(i) for i in range(decisions.tree.topLevelItemCount())
                 if "WorldView placed elsewhere" in decisions.tree.topLevelItem(i).text(0)][0]
    assert elsewhere.child(1).text(0).startswith("price × 1.5 of the order's estimate")
    decisions.tree.setCurrentItem(elsewhere.child(1))
    assert "not known here" in decisions.details_label.text()

    decisions.tree.setCurrentItem(here.child(1))
    details = decisions.details_label.text()
    assert f"≈ {priority:,} credits" in details and f"({estimate:,} credits) × 1.5" in details
    with qtbot.waitSignal(decisions.workflow.loaded, timeout=WAIT_MS):
        qtbot.mouseClick(decisions.accept_option_button, Qt.MouseButton.LeftButton)
    assert f"≈ {priority:,} credits" in decisions.asked[-1] and len(patches(sandbox)) == 1

    sandbox.advance(2 * 3600 + 120)  # the quotation follows: what the option said, in credits
    read_again(decisions, qtbot)
    quotation = item_of(decisions, "quotation", "WorldView placed here")
    assert f"{priority:,} credits" in quotation.text(0)


def test_place_right_after_a_change_says_it_gets_the_estimate_first_and_shows_no_stale_one(panel, sandbox, qtbot):
    give_aoi(panel)
    choose_pleiades(panel, qtbot)
    panel.form_widget.set_values(valid_params(sandbox))
    panel.name_edit.setText("Placed while estimating")
    old = wait_for_estimate_line(panel, qtbot, "Estimate:")
    # UP42 is slow to estimate; the user changes the cloud cover and presses Place before any estimate came.
    sandbox.fault(path="^/v2/orders/estimate$", kind="delay", delay_seconds=3, count=1)
    panel.form_widget.editor("cloudCoverage").widget.setValue(5)
    panel.place_button.click()
    assert not panel.place_button.isEnabled()
    assert panel.place_status.text().startswith("Getting UP42's estimate")
    assert panel.estimate_label.text() == "Estimating…" != old
    qtbot.waitUntil(lambda: panel.last_order is not None or panel.last_error is not None, timeout=WAIT_MS)
    assert panel.last_error is None and panel.estimate_label.text().startswith("Estimate:")
    assert panel.estimate_label.text().split(": ")[1] in panel.confirm.texts[-1]


def test_place_at_the_bottom_of_a_long_form_brings_the_first_marked_field_into_view(panel, qtbot):
    panel.resize(400, 500)
    give_aoi(panel)
    choose_pleiades(panel, qtbot)
    scroll = panel.findChild(QScrollArea, "schemaOrderScroll")
    bar = scroll.verticalScrollBar()
    qtbot.waitUntil(lambda: bar.maximum() > 500, timeout=WAIT_MS)  # the form laid out
    qtbot.wait(100)
    bar.setValue(bar.maximum())  # down at Place, as the user is when pressing it
    qtbot.waitUntil(lambda: not panel.place_button.visibleRegion().isEmpty(), timeout=WAIT_MS)
    assert panel.name_edit.visibleRegion().isEmpty()
    qtbot.mouseClick(panel.place_button, Qt.MouseButton.LeftButton)
    qtbot.wait(50)
    # The first mark (the empty name) is on screen, with its field above it.
    assert panel.name_error.isVisible() and not panel.name_error.visibleRegion().isEmpty()
    assert not panel.name_edit.visibleRegion().isEmpty()


def test_a_decision_on_its_way_is_said_so(decisions, make_up42_client, sandbox, qtbot):
    make_up42_client().create_order(order_request(sandbox, name="Quoted Berlin"))
    sandbox.advance(120 + 2 * 3600)
    decisions.show()
    qtbot.waitUntil(lambda: item_of(decisions, "quotation", "Quoted Berlin") is not None, timeout=WAIT_MS)
    decisions.tree.setCurrentItem(item_of(decisions, "quotation", "Quoted Berlin"))
    sandbox.fault(path="^/v2/tasking/quotation/", method="PATCH", kind="delay", delay_seconds=2, count=1)
    with qtbot.waitSignal(decisions.workflow.decided, timeout=WAIT_MS):
        qtbot.mouseClick(decisions.accept_button, Qt.MouseButton.LeftButton)
        assert decisions.state_label.text() == "Sending your decision to UP42…"
        assert not decisions.accept_button.isEnabled() and not decisions.reject_button.isEnabled()
    qtbot.waitUntil(lambda: "wait for a decision" in decisions.state_label.text(), timeout=WAIT_MS)


def test_a_busy_service_is_said_on_the_estimate_line_and_the_estimate_comes_by_itself(panel, sandbox, qtbot):
    give_aoi(panel)
    choose_pleiades(panel, qtbot)
    # UP42 answers 503 to every try the client makes for one estimate (five), then is back.
    sandbox.fault(path="^/v2/orders/estimate$", kind="status", status=503, count=5)
    panel.form_widget.set_values(valid_params(sandbox))
    panel.name_edit.setText("Busy service")
    seen = []
    qtbot.waitUntil(lambda: seen.append(panel.estimate_label.text()) or "credits" in panel.estimate_label.text(),
                    timeout=60_000)
    # Once the client gave up, the line says what UP42 answered and that it is asked again, and when.
    assert any(text.startswith("No estimate:") and "Asking again in 5 s." in text for text in seen), seen
    assert panel.estimate_label.text().startswith("Estimate:")


def test_an_aoi_smaller_than_the_product_minimum_says_what_is_charged(panel, sandbox, qtbot):
    give_aoi(panel)  # about 27 km²; SPOT's tasking is sold from 100 km²
    choose(panel, qtbot, SPOT)
    panel.form_widget.set_values({"acquisitionStart": iso(sandbox.now() + timedelta(days=3)),
                                  "acquisitionEnd": iso(sandbox.now() + timedelta(days=33)),
                                  "spectralProcessing": "bundle", "maxCloudCover": 20, "maxIncidenceAngle": 30})
    panel.name_edit.setText("Small field")
    line = wait_for_estimate_line(panel, qtbot, "Estimate:")
    aoi = f"{panel.aoi.tasked_sqkm:,.1f} km²"
    assert line == (f"Estimate: {panel.quoting.quote.total_credits:,} credits for 100.0 km², more than the AOI's "
                    f"{aoi} (the product's minimum order area)")
    panel.place_order()
    qtbot.waitUntil(lambda: panel.last_order is not None or panel.last_error is not None, timeout=WAIT_MS)
    assert "for 100.0 km², more than the AOI's" in panel.confirm.texts[-1]


def test_an_untitled_alternative_is_named_by_its_values_and_shown_across_the_form(panel, qtbot):
    choose(panel, qtbot, CAPELLA)
    scene = panel.form_widget.editor("sceneSize")
    choices = [scene.chooser.itemText(i) for i in range(scene.chooser.count())]
    # The scene size's first alternative has no title in the schema: its values tell it from "Custom strip".
    assert choices[1:] == ["Option 1: SPOT_5X5, STRIP_5X10 or STRIP_5X20", "Custom strip"]
    scene.chooser.setCurrentIndex(1)
    qtbot.wait(50)
    values = scene.chosen.widget
    assert values.isVisible() and values.width() >= scene.chooser.width() - 2, (values.width(), scene.chooser.width())


def test_another_product_keeps_what_the_user_filled_in_that_it_accepts(panel, sandbox, qtbot):
    give_aoi(panel)
    choose_pleiades(panel, qtbot)
    params = valid_params(sandbox)
    params["incidenceAngle"] = 60  # Pléiades allows up to 90, Pléiades Neo 50
    panel.form_widget.set_values(params)
    wait_for_estimate_line(panel, qtbot, "Estimate:")
    # The analyst compares with Pléiades Neo: the window and the choices both products offer stay filled in.
    choose(panel, qtbot, PNEO)
    form = panel.form_widget
    kept = form.values()
    for name in ("acquisitionStart", "acquisitionEnd", "acquisitionMode", "geometricProcessing", "cloudCoverage"):
        assert kept[name] == params[name], name
    # What Neo does not accept is not forced (nor clamped) into it: its own default stays.
    angle = form.editor("incidenceAngle").field
    assert angle.maximum == 50 and kept["incidenceAngle"] == angle.default != 60
    wait_for_estimate_line(panel, qtbot, "Estimate:")


def test_each_decision_reads_whole_at_400_px(decisions, make_up42_client, sandbox, qtbot):
    client = make_up42_client()
    client.create_order(order_request(sandbox, name="WorldView over Berlin-Mitte", product=WORLDVIEW,
                                      acquisitionMode="mono", maxCloudCover=20, priority="STANDARD"))
    client.create_order(order_request(sandbox, name="Pléiades over Berlin-Mitte"))
    sandbox.advance(120 + 4 * 3600)  # a study for the one, a quotation for the other
    decisions.show()
    qtbot.waitUntil(lambda: decisions.pending.count == 2, timeout=WAIT_MS)
    qtbot.wait(50)
    tree = decisions.tree
    metrics = tree.fontMetrics()
    rows = [tree.topLevelItem(i) for i in range(tree.topLevelItemCount())]
    rows += [row.child(n) for row in rows for n in range(row.childCount())]
    # Every line saying what a decision is, what it costs and until when fits its row; only the order's name (the
    # user's, of any length) and an option's description (both in full below the list when selected) may be cut.
    for row in rows:
        lines = row.text(0).split("\n")
        lines = lines[:-1] if row.data(0, ROLE)[0] == "option" else lines[1:]
        room = tree.visualItemRect(row).width() - 8
        for line in lines:
            assert metrics.horizontalAdvance(line) <= room, (line, metrics.horizontalAdvance(line), room)
    quotation = item_of(decisions, "quotation", "Pléiades over Berlin-Mitte")
    assert "credits" in quotation.text(0) and "decide before" in quotation.text(0) and "UTC" in quotation.text(0)


def test_a_study_and_a_quotation_are_shown_whole_without_scrolling_in_a_dock_tall_enough(decisions, make_up42_client,
                                                                                        sandbox, qtbot):
    client = make_up42_client()
    client.create_order(order_request(sandbox, name="WorldView Berlin", product=WORLDVIEW, acquisitionMode="mono",
                                      maxCloudCover=20, priority="STANDARD"))
    client.create_order(order_request(sandbox, name="Pléiades Berlin"))
    sandbox.advance(120 + 4 * 3600)
    decisions.resize(400, 830)  # the Decisions tab of a 400 px dock in a 1000 px high QGIS window
    decisions.show()
    qtbot.waitUntil(lambda: decisions.pending.count == 2, timeout=WAIT_MS)
    decisions.tree.setCurrentItem(item_of(decisions, "option", "price × 1.5"))  # its details shown below the list
    qtbot.wait(50)
    # The study with both options and the quotation down to its deadline, with room left for the orders table.
    last = item_of(decisions, "quotation", "Pléiades Berlin")
    assert decisions.tree.visualItemRect(last).bottom() <= decisions.tree.viewport().height()
    assert not decisions.tree.verticalScrollBar().isVisible()
    assert decisions.orders_table.height() >= 110
