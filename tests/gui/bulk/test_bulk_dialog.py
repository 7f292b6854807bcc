"""The bulk dialogs driven with qtbot against the sandbox: check, price, create, results; bulk edit/cancel; resume at start."""

from __future__ import annotations

import time

import pytest
from qgis.core import Qgis, QgsFeature, QgsGeometry, QgsPointXY, QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import Qt

from core import compat
from core.app.bulk import JOB_DISMISSED, JOB_FINISHED, BulkJob, BulkJournal, readable_error
from core.services.planet_tasking.client import TaskingClient
from core.services.planet_tasking.layers import create_orders_layer
from core.services.planet_tasking.models import Order
from ui.bulk import (
    BulkEditDialog,
    BulkOrderDialog,
    announce_outcome,
    resume_unfinished_bulks,
    selected_order_ids_from,
)

BAD_CONTRACT = "PL-000000"


def bar_items(iface, level):
    """The message-bar entries with a button (e.g. "Show results") at `level`, newest last."""
    return [item for item in iface.messageBar().items() if item.level() == level and item.widget() is not None]


def bar_texts(iface, level):
    return list(iface.messageBar().get_messages(level)) + [item.text() for item in bar_items(iface, level)]


def clear_bar(iface):
    iface.messageBar().clear_messages()
    iface.messageBar().clearWidgets()


def by_service(factory):
    """What resume is given: a client for the service a job was journaled under (here always the sandbox's)."""
    return lambda service_id: factory()


pytestmark = pytest.mark.usefixtures("no_leftover_tasks")


def wells_layer() -> QgsVectorLayer:
    """12 points in Web Mercator: two invalid (no name, end before start), one the service will refuse."""
    layer = QgsVectorLayer("Point?crs=EPSG:3857", "well pads", "memory")
    layer.dataProvider().addAttributes([compat.make_field("pad", compat.STRING), compat.make_field("days", compat.INT),
                                        compat.make_field("contract", compat.STRING)])
    layer.updateFields()
    features = []
    for index in range(12):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(1113194.9 + index * 20000, 6800000.0)))
        name = None if index == 4 else f"pad {index}"
        feature.setAttributes([name, -3 if index == 7 else 20, BAD_CONTRACT if index == 9 else None])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def wells_dialog(qtbot, qgis_iface, project, factory, journal, poll_seconds: float) -> BulkOrderDialog:
    """The bulk dialog on a new wells layer: names, end times and contracts mapped from its fields, confirmed."""
    layer = wells_layer()
    project.addMapLayer(layer)
    dialog = BulkOrderDialog(factory, qgis_iface, journal=journal, poll_seconds=poll_seconds)
    qtbot.addWidget(dialog)
    dialog.confirm = lambda text: True
    dialog.layer_combo.setLayer(layer)
    dialog.set_expression("name", '"pad"')
    dialog.set_expression("end_time", "now() + make_interval(days:=\"days\")")
    dialog.set_expression("pl_number", '"contract"')
    return dialog


def test_layer_to_orders_end_to_end(qtbot, qgis_iface, project, factory, journal, sandbox):
    dialog = wells_dialog(qtbot, qgis_iface, project, factory, journal, poll_seconds=1.0)
    dialog.show()

    assert dialog.preview_table.rowCount() == 10
    assert dialog.preview_table.item(0, 1).text() == "pad 0"
    assert not dialog.create_button.isEnabled()  # nothing checked yet

    qtbot.mouseClick(dialog.validate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=20000)
    assert dialog.validation_table.rowCount() == 12
    reasons = {dialog.validation_table.item(r, 0).text(): dialog.validation_table.item(r, 4).text()
               for r in range(12)}
    assert "name is empty" in reasons["5"] and "in the past" in reasons["8"]
    assert "10 of 12 features can be ordered" in dialog.validation_label.text()

    dialog.stop_on_invalid.setChecked(True)
    assert not dialog.create_button.isEnabled() and "Stop" in dialog.validation_label.text()
    dialog.skip_invalid.setChecked(True)
    assert dialog.create_button.isEnabled()

    qtbot.mouseClick(dialog.price_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pricing is not None, timeout=20000)
    assert len(dialog.pricing.prices) == 9 and len(dialog.pricing.failures) == 1
    assert f"{dialog.pricing.total:,.3f}" in dialog.price_label.text()
    assert "left out of the total" in dialog.price_label.text()
    assert "not priced" in dialog.validation_table.item(9, 5).text()

    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert dialog.job is not None and journal.unfinished_jobs()  # journaled before anything was sent
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=30000)
    assert len(dialog.outcome.succeeded) == 9 and len(dialog.outcome.failed) == 1
    assert "9 created, 1 failed" in dialog.summary_label.text()
    assert "COMPLETE" in dialog.progress_panel.states()[0]
    assert dialog.progress_panel.bars[0].value() == 10
    result = dialog.result
    assert result is not None and QgsProject.instance().mapLayer(result.id()) is not None
    rows = {f.id(): (f["order_id"], f["error"]) for f in result.getFeatures()}
    assert len(rows) == 12
    assert rows[1][0] and not rows[1][1]  # pad 0
    assert not rows[10][0] and "pl_number" in rows[10][1]  # pad 9: refused by the service
    assert not rows[5][0] and "name is empty" in rows[5][1]  # never sent
    assert journal.unfinished_jobs() == []
    assert not dialog.create_button.isEnabled()  # the same check cannot be ordered twice by a second click
    warnings = qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Warning)
    assert any("9 created, 1 failed" in m for m in warnings)


def test_bulk_cancel_from_the_orders_layer_selection(qtbot, qgis_iface, project, factory, journal, sandbox):
    client = factory()
    pairs = [(i, {"name": f"c{i}", "geometry": {"type": "Point", "coordinates": [10 + i * 0.1, 45]}})
             for i in range(3)]
    BulkJob.start(journal, "CREATE", pairs, client.base_url).run(client)
    sandbox.advance(120)
    orders = list(client.iter_orders())
    layer = create_orders_layer(orders=orders)
    project.addMapLayer(layer)
    layer.selectAll()
    ids, statuses = selected_order_ids_from(None)
    assert sorted(ids) == sorted(o.id for o in orders) and set(statuses.values()) <= {"PENDING", "IN_PROGRESS"}

    dialog = BulkEditDialog(factory, qgis_iface, ids, statuses=statuses, journal=journal, poll_seconds=1.0)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.change_start.setChecked(True)
    dialog.start_edit.setDateTime(dialog.end_edit.dateTime().addDays(1))
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert "not after the start" in dialog.summary_label.text()

    dialog.change_start.setChecked(False)
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20000)
    assert "3 edited, 0 failed" in dialog.summary_label.text()

    dialog.outcome = None
    dialog.cancel_radio.setChecked(True)
    qtbot.waitUntil(lambda: dialog.cancellations is not None, timeout=20000)
    assert "cancellations used today" in dialog.cancellations_label.text()
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20000)
    assert "3 cancelled, 0 failed" in dialog.summary_label.text()
    assert {o.status for o in client.iter_orders()} <= {"CANCELLED", "PENDING_CANCELLATION"}


def test_orders_view_selection_wins(project):
    class View:
        def selected_order_ids(self):
            return ["a", "b"]

    assert selected_order_ids_from(View()) == (["a", "b"], {})

    class Panel(View):
        def selected_orders(self):
            return [Order(id="a", status="FULFILLED"), Order(id="b", status="PENDING")]

    ids, known = selected_order_ids_from(Panel())
    assert ids == ["a", "b"] and known["a"].status == "FULFILLED"
    dialog = BulkEditDialog(lambda: None, None, ids, statuses=known)
    dialog.cancel_radio.setChecked(False)
    operation, pairs, skipped = dialog.pairs()
    assert operation == "EDIT" and [p["id"] for _, p in pairs] == ["b"] and "FULFILLED" in skipped["a"]
    dialog.deleteLater()


def test_cancel_while_waiting_then_next_start_gives_the_results_of_an_uninterrupted_run(
        qtbot, qgis_iface, project, factory, journal, sandbox):
    # The simulated clock stands still: the bulk stays PENDING until the user gives up waiting.
    frozen = lambda: TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=lambda s: time.sleep(0.01))  # noqa: E731
    dialog = wells_dialog(qtbot, qgis_iface, project, frozen, journal, poll_seconds=0.05)
    qtbot.mouseClick(dialog.validate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=20000)
    qtbot.mouseClick(dialog.price_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pricing is not None, timeout=20000)
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "PENDING" in dialog.progress_panel.states()[0], timeout=20000)
    assert dialog.cancel_button.isEnabled()
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.task is None, timeout=20000)
    assert "still processing" in dialog.summary_label.text()
    assert any("next time QGIS starts" in m for m in qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Warning))
    assert len(journal.unfinished_jobs()) == 1
    job_id = dialog.job.job_id
    dialog.close()
    # QGIS closes; at the next start the project is empty: the source layer is gone.
    project.removeAllMapLayers()
    clear_bar(qgis_iface)

    resume_unfinished_bulks(by_service(factory), qgis_iface, journal=journal, poll_seconds=1.0)
    qtbot.waitUntil(lambda: bool(bar_items(qgis_iface, Qgis.MessageLevel.Warning)), timeout=30000)
    [entry] = bar_items(qgis_iface, Qgis.MessageLevel.Warning)  # one job, one entry; warning: one order was refused
    assert "9 created, 1 failed" in entry.text() and "pl_number" in entry.text()
    assert "2 invalid features were not sent" in entry.text()
    assert entry.widget().text() == "Show results"
    assert journal.unfinished_jobs() == []

    entry.widget().click()
    [result] = project.mapLayersByName("well pads — orders")
    assert result.crs().authid() == "EPSG:3857" and result.featureCount() == 12
    # Stored in the project's GeoPackage to last, so its key column comes first.
    assert result.providerType() == "ogr"
    assert result.fields().names() == ["fid", "pad", "days", "contract", "order_id", "error", "estimated_cost"]
    served = {}
    for chunk in journal.job(job_id).chunks:
        for listed in factory().iter_bulk_payloads(chunk.bulk_id):
            served[listed.payload["name"]] = (listed.order_id, readable_error(listed.error))
    rows = {f.id(): f for f in result.getFeatures()}
    for feature in rows.values():
        if feature["pad"] in served:  # sent: exactly what the service lists for it
            assert (feature["order_id"] or None, feature["error"] or None) == served[feature["pad"]]
        else:  # never sent: the reason from the check
            assert not feature["order_id"] and feature["error"]
    assert "name is empty" in rows[5]["error"] and "in the past" in rows[8]["error"]
    assert "pl_number" in rows[10]["error"]
    assert rows[1]["estimated_cost"] > 0 and rows[1].geometry().asPoint().x() == pytest.approx(1113194.9)
    assert {f["order_id"] for f in rows.values() if f["order_id"]} == {o.id for o in factory().iter_orders()}


def test_unfinished_bulks_are_resumed_at_start(qtbot, qgis_iface, factory, journal, sandbox):
    client = factory()
    pairs = [(i, {"name": f"r{i}", "geometry": {"type": "Point", "coordinates": [20 + i * 0.1, 40]}})
             for i in range(5)]
    BulkJob.start(journal, "CREATE", pairs, client.base_url, title="left over", chunk_size=2).run(
        client, max_chunks_to_send=1)
    other = BulkJob.start(journal, "CREATE", pairs[:1], "https://api.planet.com/tasking/v2/", title="real service")
    qgis_iface.messageBar().clear_messages()

    task = resume_unfinished_bulks(by_service(factory), qgis_iface, journal=journal, poll_seconds=1.0)
    assert task is not None
    assert any("left over" in m for m in qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Info))
    qtbot.waitUntil(lambda: bool(bar_items(qgis_iface, Qgis.MessageLevel.Success)), timeout=30000)
    assert "left over" in bar_texts(qgis_iface, Qgis.MessageLevel.Success)[0]
    assert "5 created, 0 failed" in bar_texts(qgis_iface, Qgis.MessageLevel.Success)[0]
    assert [j.job_id for j in journal.unfinished_jobs()] == [other.job_id]  # never sent elsewhere
    assert len(list(client.iter_orders())) == 5
    assert resume_unfinished_bulks(by_service(factory), qgis_iface, journal=journal) is None


def test_nothing_to_resume_without_configuration(qgis_iface, journal):
    def not_configured(service_id):
        raise RuntimeError("no key")

    assert resume_unfinished_bulks(not_configured, qgis_iface, journal=journal) is None
    BulkJob.start(journal, "CREATE", [(1, {"name": "x"})], "http://127.0.0.1:1/tasking/v2/")
    qgis_iface.messageBar().clear_messages()
    assert resume_unfinished_bulks(not_configured, qgis_iface, journal=journal) is None
    assert any("unfinished" in m for m in qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Warning))


def test_plugin_actions_open_the_bulk_dialogs_and_unload_cleanly(qgis_iface, monkeypatch, project, clean_settings,
                                                                tmp_path):
    import satellite_tasking

    monkeypatch.setenv("SATELLITE_TASKING_BULK_JOURNAL", str(tmp_path / "profile_journal.sqlite"))
    window = qgis_iface.mainWindow()
    menu: dict = {}
    monkeypatch.setattr(qgis_iface, "addPluginToWebMenu", lambda name, a: menu.setdefault(a.objectName(), a),
                        raising=False)
    monkeypatch.setattr(qgis_iface, "removePluginWebMenu", lambda name, a: menu.pop(a.objectName(), None),
                        raising=False)
    monkeypatch.setattr(qgis_iface, "addToolBar", lambda name: window.addToolBar(name))
    monkeypatch.setattr(qgis_iface, "addDockWidget", lambda area, dock: window.addDockWidget(area, dock))
    monkeypatch.setattr(qgis_iface, "removeDockWidget", lambda dock: window.removeDockWidget(dock))
    plugin = satellite_tasking.classFactory(qgis_iface)
    plugin.initGui()
    try:
        assert {"SatelliteTaskingBulkAction", "SatelliteTaskingBulkEditAction"} <= set(menu)
        menu["SatelliteTaskingBulkAction"].trigger()
        assert plugin.bulk_dialog is not None and plugin.bulk_dialog.isVisible()
        qgis_iface.messageBar().clear_messages()
        menu["SatelliteTaskingBulkEditAction"].trigger()  # nothing selected: says so
        assert plugin.bulk_edit_dialog is None
        assert any("Select orders" in m for m in qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Warning))
        # A resumed job's "Show results" entry calls into the plugin: unload takes it off the bar.
        journal = plugin.bulk_dialog.jobs_panel._journal()
        job = BulkJob.start(journal, "CREATE", [(1, {"name": "x", "geometry": {"type": "Point",
                                                                             "coordinates": [1, 2]}})], "http://x/")
        announce_outcome(qgis_iface, journal, job.outcome())
        assert bar_items(qgis_iface, Qgis.MessageLevel.Warning)
        assert journal_handles(tmp_path / "profile_journal.sqlite")
    finally:
        plugin.unload()
    assert not menu and plugin.bulk_dialog is None
    assert not bar_items(qgis_iface, Qgis.MessageLevel.Warning)
    # Each reload of the plugin would otherwise keep one more handle on the journal file.
    assert journal.closed and journal_handles(tmp_path / "profile_journal.sqlite") == []


def test_nothing_is_sent_when_the_journal_cannot_be_written(qtbot, qgis_iface, project, factory, sandbox, tmp_path):
    layer = wells_layer()
    project.addMapLayer(layer)
    journal = BulkJournal(str(tmp_path / "readonly.sqlite"))
    journal.close()  # a journal that can no longer be written
    dialog = BulkOrderDialog(factory, qgis_iface, journal=journal)
    qtbot.addWidget(dialog)
    dialog.confirm = lambda text: True
    dialog.layer_combo.setLayer(layer)
    dialog.set_expression("name", "concat('pad ', $id)")
    qtbot.mouseClick(dialog.validate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=20000)
    qtbot.mouseClick(dialog.create_button, Qt.MouseButton.LeftButton)
    assert "nothing was sent" in dialog.summary_label.text() and dialog.task is None
    assert not [r for r in sandbox.requests_seen() if r["path"].endswith("/bulk/")]


def test_jobs_view_lists_follows_again_shows_results_and_dismisses(qtbot, qgis_iface, project, factory, journal,
                                                                 sandbox):
    client = factory()
    pairs = [(i, {"name": f"j{i}", "geometry": {"type": "Point", "coordinates": [20 + i * 0.1, 40]}})
             for i in range(5)]
    done = BulkJob.start(journal, "CREATE", pairs[:2], client.base_url, title="done before")
    done.run(client)
    left = BulkJob.start(journal, "CREATE", pairs, client.base_url, title="left over", chunk_size=2)
    left.run(client, max_chunks_to_send=1)
    elsewhere = BulkJob.start(journal, "CREATE", pairs[:1], "https://api.planet.com/tasking/v2/", title="real service")
    dismissed = BulkJob.start(journal, "CREATE", pairs[:1], client.base_url, title="gone")
    journal.dismiss_job(dismissed.job_id)
    clear_bar(qgis_iface)

    dialog = BulkOrderDialog(factory, qgis_iface, journal=journal, poll_seconds=1.0)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentIndex(1)
    panel = dialog.jobs_panel
    table = panel.table

    def row_of(title):
        return next(r for r in range(table.rowCount()) if table.item(r, 2).text() == title)

    def cells(title):
        return [table.item(row_of(title), c).text() for c in range(table.columnCount())]

    assert table.rowCount() == 3  # the dismissed one is not listed
    assert cells("left over")[1] == client.base_url and cells("left over")[3] == "1 / 0 of 3"
    assert cells("left over")[6].startswith("unfinished")
    assert cells("done before")[3:] == ["1 / 1 of 1", "2", "0", "finished"]

    table.selectRow(row_of("done before"))
    assert not panel.follow_button.isEnabled() and panel.results_button.isEnabled()
    table.selectRow(row_of("left over"))
    assert panel.follow_button.isEnabled()
    qtbot.mouseClick(panel.follow_button, Qt.MouseButton.LeftButton)
    assert cells("left over")[6] == "following…" and not panel.follow_button.isEnabled()
    qtbot.waitUntil(lambda: panel.task is None, timeout=30000)
    assert cells("left over")[3:] == ["3 / 3 of 3", "5", "0", "finished"]
    assert "5 created, 0 failed" in panel.status_label.text()
    [entry] = bar_items(qgis_iface, Qgis.MessageLevel.Success)
    assert "left over" in entry.text() and entry.widget().text() == "Show results"
    assert journal.job(left.job_id).state == JOB_FINISHED

    qtbot.mouseClick(panel.results_button, Qt.MouseButton.LeftButton)
    result = panel.result
    assert QgsProject.instance().mapLayer(result.id()) is not None
    assert sorted(f["name"] for f in result.getFeatures()) == [f"j{i}" for i in range(5)]
    assert {f["order_id"] for f in result.getFeatures()} == {
        i.order_id for i in left.outcome().items}

    # Another service's job is never followed from here: the reason is shown, nothing is sent.
    posts = len([r for r in sandbox.requests_seen() if r["method"] == "POST"])
    table.selectRow(row_of("real service"))
    qtbot.mouseClick(panel.follow_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: panel.task is None, timeout=20000)
    assert "switch the plugin back" in panel.status_label.text()
    assert len([r for r in sandbox.requests_seen() if r["method"] == "POST"]) == posts

    asked = []
    panel.confirm = lambda text: asked.append(text) or False
    qtbot.mouseClick(panel.dismiss_button, Qt.MouseButton.LeftButton)
    assert asked and "go on at the service" in asked[0] and table.rowCount() == 3  # said no: kept
    panel.confirm = lambda text: True
    qtbot.mouseClick(panel.dismiss_button, Qt.MouseButton.LeftButton)
    assert table.rowCount() == 2 and journal.job(elsewhere.job_id).state == JOB_DISMISSED
    assert journal.unfinished_jobs() == []  # nothing left for the next start to follow
    table.selectRow(row_of("done before"))
    qtbot.mouseClick(panel.dismiss_button, Qt.MouseButton.LeftButton)  # a finished job goes without a question
    assert [table.item(r, 2).text() for r in range(table.rowCount())] == ["left over"]


def test_the_open_jobs_list_follows_jobs_sent_from_elsewhere(qtbot, qgis_iface, project, factory, journal, sandbox):
    client = factory()
    dialog = BulkOrderDialog(factory, qgis_iface, journal=journal)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.tabs.setCurrentIndex(1)
    panel = dialog.jobs_panel
    panel.watch_timer.setInterval(100)
    assert panel.table.rowCount() == 0
    # The edit/cancel dialog, or the resume at start-up, writes to the same journal meanwhile.
    pairs = [(i, {"name": f"w{i}", "geometry": {"type": "Point", "coordinates": [21 + i * 0.1, 41]}})
             for i in range(3)]
    job = BulkJob.start(journal, "CREATE", pairs, client.base_url, title="sent elsewhere", chunk_size=2)
    qtbot.waitUntil(lambda: panel.table.rowCount() == 1, timeout=5000)
    assert panel.table.item(0, 2).text() == "sent elsewhere" and panel.table.item(0, 3).text() == "0 / 0 of 2"
    panel.table.selectRow(0)
    job.run(client)
    qtbot.waitUntil(lambda: panel.table.item(0, 6).text() == "finished", timeout=5000)
    assert [panel.table.item(0, c).text() for c in (3, 4, 5)] == ["2 / 2 of 2", "3", "0"]
    assert panel.selected() is not None and panel.selected().job_id == job.job_id  # the selection stayed
    # Hidden, it reads nothing.
    dialog.hide()
    assert not panel.watch_timer.isActive()


def test_assured_from_a_layer_is_shown_disabled_with_the_reason(qgis_iface, project, factory, journal):
    dialog = BulkOrderDialog(factory, qgis_iface, journal=journal)
    assert not dialog.assured_check.isEnabled() and not dialog.assured_check.isChecked()
    assert "imaging-window search" in dialog.assured_check.toolTip()
    assert "one search per feature" in dialog.assured_check.toolTip()
    assert "polygons cannot be assured" in dialog.assured_check.toolTip()
    dialog.deleteLater()


# --- review of issue 8: threads, journal handles, unusable layers, orders layers by kind, cancelled tasks -----


def journal_handles(path) -> list:
    """This process's open file descriptors on the journal file (and its -wal/-shm companions)."""
    import os

    found = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:  # closed meanwhile (e.g. the listing's own descriptor)
            continue
        if target.startswith(str(path)):
            found.append(target)
    return found


def three_orders(factory, journal, sandbox, prefix="e"):
    client = factory()
    pairs = [(i, {"name": f"{prefix}{i}", "geometry": {"type": "Point", "coordinates": [10 + i * 0.1, 45]}})
             for i in range(3)]
    BulkJob.start(journal, "CREATE", pairs, client.base_url).run(client)
    sandbox.advance(120)
    return [o for o in client.iter_orders() if o.name.startswith(prefix)]


def test_an_edit_goes_on_to_the_end_when_its_dialog_is_deleted_mid_run(qtbot, qgis_iface, project, factory,
                                                                      journal, sandbox):
    from qgis.PyQt import sip

    orders = three_orders(factory, journal, sandbox)
    dialog = BulkEditDialog(factory, qgis_iface, [o.id for o in orders], journal=journal, poll_seconds=1.0)
    dialog.show()
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    task, job = dialog.task, dialog.job
    assert task is not None
    # The chunk bars are fed on the GUI thread from what the job records: the worker touches no Qt object,
    # so deleting the dialog (and everything in it) cannot break the bulk half-way.
    sip.delete(dialog)
    qtbot.waitUntil(lambda: task.delivered, timeout=20000)
    assert task.exception is None
    assert journal.job(job.job_id).state == JOB_FINISHED
    assert [s.state for s in job.chunk_states()] == ["COMPLETE"]
    assert len(job.outcome().succeeded) == 3


def test_the_chunk_bars_follow_every_part_of_a_job(qtbot, qgis_iface, project, factory, journal, sandbox,
                                                   monkeypatch):
    orders = three_orders(factory, journal, sandbox, prefix="b")
    dialog = BulkEditDialog(factory, qgis_iface, [o.id for o in orders], journal=journal, poll_seconds=1.0)
    qtbot.addWidget(dialog)
    original = BulkJob.start.__func__

    def two_per_chunk(cls, *args, **kwargs):
        return original(cls, *args, **{**kwargs, "chunk_size": 2})

    monkeypatch.setattr(BulkJob, "start", classmethod(two_per_chunk))
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    assert len(dialog.progress_panel.bars) == 2
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20000)
    assert ["COMPLETE" in text for text in dialog.progress_panel.states()] == [True, True]
    assert [bar.value() for bar in dialog.progress_panel.bars] == [2, 1]


def test_a_layer_without_crs_is_explained_in_the_dialog_and_nothing_is_sent(qtbot, qgis_iface, project, factory,
                                                                           journal, sandbox):
    from qgis.core import QgsCoordinateReferenceSystem

    layer = QgsVectorLayer("Point?field=pad:string", "drawn without a CRS", "memory")
    layer.setCrs(QgsCoordinateReferenceSystem())
    feature = QgsFeature(layer.fields())
    feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(10, 50)))
    feature.setAttributes(["pad"])
    layer.dataProvider().addFeatures([feature])
    project.addMapLayer(layer)
    requests = len(sandbox.requests_seen())
    dialog = BulkOrderDialog(factory, qgis_iface, journal=journal)
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.layer_combo.setLayer(layer)  # the preview: said once, no Python error dialog
    assert "“drawn without a CRS” has no coordinate reference system" in dialog.validation_label.text()
    assert dialog.preview_table.rowCount() == 0

    dialog.validation_label.setText("")
    qtbot.mouseClick(dialog.validate_button, Qt.MouseButton.LeftButton)
    assert "has no coordinate reference system" in dialog.validation_label.text()
    assert "Layer Properties" in dialog.validation_label.text()
    assert dialog.task is None and dialog.report is None
    assert not dialog.price_button.isEnabled() and not dialog.create_button.isEnabled()
    assert len(sandbox.requests_seen()) == requests


def test_bulk_edit_finds_a_renamed_orders_layer_by_kind_and_prefers_the_active_one(project, factory, journal,
                                                                                  sandbox):
    orders = three_orders(factory, journal, sandbox, prefix="k")
    renamed = create_orders_layer("Orders I renamed", orders=orders[:2])
    second = create_orders_layer("Old orders", orders=orders[2:])
    impostor = QgsVectorLayer("Point?crs=EPSG:4326&field=id:string&field=status:string", "Tasking orders", "memory")
    decoy = QgsFeature(impostor.fields())
    decoy.setAttributes(["not-an-order", "PENDING"])
    impostor.dataProvider().addFeatures([decoy])
    project.addMapLayers([renamed, second, impostor])
    impostor.selectAll()
    renamed.selectAll()
    ids, statuses = selected_order_ids_from(None)
    assert sorted(ids) == sorted(o.id for o in orders[:2]) and set(statuses) == set(ids)
    second.selectAll()
    assert selected_order_ids_from(None, active_layer=second)[0] == [orders[2].id]
    second.removeSelection()
    assert sorted(selected_order_ids_from(None, active_layer=impostor)[0]) == sorted(ids)  # not an orders layer


def test_a_dialog_closed_while_its_edit_runs_keeps_the_journal_until_done_then_releases_it(
        qtbot, qgis_iface, project, factory, journal, sandbox, tmp_path, monkeypatch):
    path = tmp_path / "profile_journal.sqlite"
    monkeypatch.setenv("SATELLITE_TASKING_BULK_JOURNAL", str(path))
    orders = three_orders(factory, journal, sandbox)
    dialog = BulkEditDialog(factory, qgis_iface, [o.id for o in orders], poll_seconds=1.0)  # opens its own
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    own = dialog.job.journal
    dialog.close()  # the user closes it at once: the edit goes on, writing to the journal
    assert not own.closed and journal_handles(path)
    qtbot.waitUntil(lambda: dialog.outcome is not None, timeout=20000)
    assert "3 edited, 0 failed" in dialog.summary_label.text()
    qtbot.waitUntil(lambda: own.closed, timeout=5000)
    assert journal_handles(path) == []

    # Used again, the dialog opens the journal anew, and closing it releases that one too.
    dialog.show()
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.task is None, timeout=20000)
    assert not dialog.job.journal.closed
    dialog.close()
    assert dialog.job.journal.closed and journal_handles(path) == []


def test_the_start_up_follow_releases_the_journal_and_show_results_still_works(
        qtbot, qgis_iface, project, factory, sandbox, tmp_path, monkeypatch):
    path = tmp_path / "profile_journal.sqlite"
    monkeypatch.setenv("SATELLITE_TASKING_BULK_JOURNAL", str(path))
    client = factory()
    with BulkJournal() as journal:
        pairs = [(i, {"name": f"s{i}", "geometry": {"type": "Point", "coordinates": [30 + i * 0.1, 40]}})
                 for i in range(3)]
        BulkJob.start(journal, "CREATE", pairs, client.base_url, title="from yesterday").run(
            client, max_chunks_to_send=0)
    assert journal_handles(path) == []
    clear_bar(qgis_iface)

    task = resume_unfinished_bulks(by_service(factory), qgis_iface, poll_seconds=1.0)
    assert task is not None and journal_handles(path)
    qtbot.waitUntil(lambda: bool(bar_items(qgis_iface, Qgis.MessageLevel.Success)), timeout=30000)
    qtbot.waitUntil(lambda: journal_handles(path) == [], timeout=5000)
    [entry] = bar_items(qgis_iface, Qgis.MessageLevel.Success)
    entry.widget().click()  # long after the task: the journal is opened again just for this
    [result] = project.mapLayersByName("from yesterday — orders") or [
        layer for layer in project.mapLayers().values() if layer.featureCount() == 3]
    assert sorted(f["name"] for f in result.getFeatures()) == ["s0", "s1", "s2"]
    assert journal_handles(path) == []
    # Nothing left to follow: the journal is opened and released at once.
    assert resume_unfinished_bulks(by_service(factory), qgis_iface) is None
    assert journal_handles(path) == []


def test_tasks_cancelled_from_the_task_manager_leave_the_dialogs_usable(qtbot, qgis_iface, project, factory,
                                                                         journal, sandbox):
    orders = three_orders(factory, journal, sandbox, prefix="x")
    dialog = BulkEditDialog(factory, qgis_iface, [o.id for o in orders], journal=journal, poll_seconds=1.0)
    qtbot.addWidget(dialog)
    dialog.show()
    # Today's cancellations are being counted when QGIS's task list cancels the count.
    dialog.cancel_radio.setChecked(True)
    assert dialog._count_task is not None
    dialog._count_task.cancel()
    qtbot.waitUntil(lambda: dialog._count_task is None, timeout=20000)
    assert "Counting" not in dialog.cancellations_label.text()
    dialog.edit_radio.setChecked(True)
    dialog.cancel_radio.setChecked(True)  # counted again, not stuck as "busy"
    qtbot.waitUntil(lambda: dialog.cancellations is not None, timeout=20000)
    assert "cancellations used today" in dialog.cancellations_label.text()

    # The edit itself is cancelled the same way: the dialog is free for the next one.
    dialog.edit_radio.setChecked(True)
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    dialog.task.cancel()
    qtbot.waitUntil(lambda: dialog.task is None, timeout=20000)
    assert dialog.run_button.isEnabled() and not dialog.stop_button.isEnabled()
    dialog.outcome = None
    qtbot.mouseClick(dialog.run_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.outcome is not None and dialog.task is None, timeout=20000)
    assert "3 edited, 0 failed" in dialog.summary_label.text()

    layer = wells_layer()
    project.addMapLayer(layer)
    order_dialog = BulkOrderDialog(factory, qgis_iface, journal=journal)
    qtbot.addWidget(order_dialog)
    order_dialog.layer_combo.setLayer(layer)
    order_dialog.set_expression("name", '"pad"')
    qtbot.mouseClick(order_dialog.validate_button, Qt.MouseButton.LeftButton)
    order_dialog.task.cancel()
    qtbot.waitUntil(lambda: order_dialog.task is None, timeout=20000)
    assert order_dialog.validate_button.isEnabled() and not order_dialog.cancel_button.isEnabled()
    qtbot.mouseClick(order_dialog.validate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: order_dialog.report is not None, timeout=20000)
    assert len(order_dialog.report.checks) == 12
