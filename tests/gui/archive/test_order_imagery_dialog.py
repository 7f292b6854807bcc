"""The Order imagery dialog with a fake workflow: each field's error, nothing sent on bad input, the body
built for each delivery and tool choice, placed once, followed to the end, and its look at 420 px."""

from __future__ import annotations

from pathlib import Path
from typing import Any, List, Optional

import pytest
from qgis.core import Qgis, QgsFeature, QgsGeometry, QgsVectorLayer
from qgis.PyQt.QtCore import QObject, Qt, pyqtSignal

from core.services.planet_orders import credentials
from core.services.planet_orders.forms import CLOUD_DESTINATIONS
from ui.archive.delivery_group import HOSTING
from ui.archive.dialog import BASEMAP, CLIP_LAYER, CLIP_TASKING, ITEM_IDS, NO_CLIP, OrderImageryDialog
from ui.archive.sources import PublishedCapture

OUTPUT = Path(__file__).resolve().parents[3] / "test-output"
STRIP_A, STRIP_B = "s101_20260105T120000Z", "s102_20260105T121000Z"
# Two footprints near Chamonix, and the tasking AOI covering both.
FOOT_A = QgsGeometry.fromWkt("POLYGON((6.80 45.90, 6.90 45.90, 6.90 46.00, 6.80 46.00, 6.80 45.90))")
FOOT_B = QgsGeometry.fromWkt("POLYGON((6.85 45.92, 6.95 45.92, 6.95 46.02, 6.85 46.02, 6.85 45.92))")
TASKING_AOI = QgsGeometry.fromWkt("POLYGON((6.82 45.93, 6.92 45.93, 6.92 45.99, 6.82 45.99, 6.82 45.93))")


class FakeArchiveWorkflow(QObject):
    """ArchiveWorkflow's signals and calls; records what it was asked to order, answers as told."""

    stage = pyqtSignal(str)
    progress = pyqtSignal(float)
    placed = pyqtSignal(object)
    delivered = pyqtSignal(object, object)
    loaded = pyqtSignal(object, list)
    failed = pyqtSignal(object)
    cancelled = pyqtSignal()
    finished = pyqtSignal(object)  # the real workflow's too: the order as Planet finished it
    busyChanged = pyqtSignal(bool)  # noqa: N815

    def __init__(self):
        super().__init__()
        self.orders: List[tuple] = []
        self.cancels = 0
        self.running = False

    def busy(self) -> bool:
        return self.running

    def order_and_fetch(self, request: Any, folder: Optional[str]) -> None:
        self.orders.append((request, folder))
        self.running = True

    def fetch(self, order_id: str, folder: str) -> None:
        raise AssertionError("the dialog only places orders")

    def cancel(self) -> None:
        self.cancels += 1


class Order:
    id = "0c5a5b1e-1111-4222-8333-444455556666"
    name = "Imagery of s101"
    state = "success"


@pytest.fixture
def workflow(qgis_app):
    return FakeArchiveWorkflow()


@pytest.fixture
def dialog(workflow, qtbot, tmp_path, project):
    captures = [PublishedCapture(STRIP_A, FOOT_A, "order-1"), PublishedCapture(STRIP_B, FOOT_B, "order-1")]
    dlg = OrderImageryDialog(workflow, captures=captures, tasking_aoi=TASKING_AOI)
    qtbot.addWidget(dlg)
    dlg.delivery.folder_widget.setFilePath(str(tmp_path))
    dlg.questions = []
    dlg.confirm = lambda text: dlg.questions.append(text) or True
    return dlg


def polygon_layer(project, wkt: str, crs: str = "EPSG:4326", select: bool = True) -> QgsVectorLayer:
    layer = QgsVectorLayer(f"Polygon?crs={crs}", "areas", "memory")
    feature = QgsFeature()
    feature.setGeometry(QgsGeometry.fromWkt(wkt))
    layer.dataProvider().addFeatures([feature])
    project.addMapLayer(layer)
    if select:
        layer.selectAll()
    return layer


def placed_body(dialog, workflow) -> dict:
    assert dialog.place(), dialog.message_label.text() or [dialog.errors.text(k) for k in dialog.errors._fields]
    assert len(workflow.orders) == 1
    return workflow.orders[0][0].to_json()


def test_selected_captures_are_ordered_as_skysat_collects_clipped_to_the_tasking_aoi(dialog, workflow, tmp_path):
    assert dialog.captures_label.text().startswith("2 published captures")
    assert dialog.item_type() == "SkySatCollect" and dialog.clip_combo.currentData() == CLIP_TASKING
    body = placed_body(dialog, workflow)
    assert body["products"] == [{"item_ids": [STRIP_A, STRIP_B], "item_type": "SkySatCollect",
                                 "product_bundle": "visual"}]
    (clip,) = body["tools"]
    assert QgsGeometry.fromPolygonXY([[]]).isEmpty() or clip["clip"]["aoi"]["type"] == "Polygon"
    assert "delivery" not in body and workflow.orders[0][1] == str(tmp_path)
    assert "2 SkySatCollect item(s) as visual, clipped to the tasking order's area" in dialog.questions[0]
    # the running order: Order is off, Cancel on; the stage and progress show
    assert not dialog.order_button.isEnabled() and dialog.cancel_button.isEnabled()
    workflow.stage.emit("Planet is processing the order")
    workflow.progress.emit(42.0)
    assert dialog.stage_label.text() == "Planet is processing the order" and dialog.progress_bar.value() == 42


def test_nothing_is_sent_on_an_empty_selection_and_the_error_is_at_the_captures(workflow, qtbot, tmp_path):
    dlg = OrderImageryDialog(workflow, captures=[], skipped=2)
    qtbot.addWidget(dlg)
    dlg.delivery.folder_widget.setFilePath(str(tmp_path))
    dlg.confirm = lambda text: pytest.fail("nothing to confirm on bad input")
    assert dlg.source() == "captures" and "2 selected not published" in dlg.captures_label.text()
    assert not dlg.place() and workflow.orders == []
    assert "Select at least one published capture" in dlg.errors.text("captures")
    assert dlg.order_button.isEnabled()  # the form stays usable


@pytest.mark.parametrize("text, message", [
    ("", "Select at least one capture or type an item id"),
    ("20220304_093300_37_2430, a/b", "Not an item id: 'a/b'"),
])
def test_typed_item_ids_are_checked_at_their_field(dialog, workflow, text, message):
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findData(ITEM_IDS))
    dialog.item_ids_edit.setPlainText(text)
    assert not dialog.place() and workflow.orders == []
    assert message in dialog.errors.text("item_ids")


def test_typed_item_ids_of_another_type_offer_that_types_bundles(dialog, workflow):
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findData(ITEM_IDS))
    dialog.item_type_combo.setCurrentText("PSScene")
    bundles = [dialog.bundle_combo.itemText(i) for i in range(dialog.bundle_combo.count())]
    assert "analytic_8b_udm2" in bundles and "pansharpened_udm2" not in bundles
    # the tasking AOI is for captures only: it cannot be chosen for typed ids
    assert dialog.clip_combo.currentData() == NO_CLIP
    assert not dialog.clip_combo.model().item(dialog.clip_combo.findData(CLIP_TASKING)).isEnabled()
    dialog.item_ids_edit.setPlainText("20220304_093300_37_2430\n20220305_093440_25_2429")
    dialog.bundle_combo.setCurrentText("analytic_sr_udm2")
    body = placed_body(dialog, workflow)
    assert body["products"][0] == {"item_ids": ["20220304_093300_37_2430", "20220305_093440_25_2429"],
                                   "item_type": "PSScene", "product_bundle": "analytic_sr_udm2"}
    assert "tools" not in body


def test_an_empty_name_is_refused_at_the_name(dialog, workflow):
    dialog.name_edit.setText("  ")
    assert not dialog.place() and workflow.orders == []
    assert dialog.errors.text("name") == "The order needs a name."


def test_a_clip_layer_in_another_crs_is_reprojected_and_one_that_misses_the_items_is_refused(dialog, workflow,
                                                                                            project):
    # the same area as FOOT_A's corner, in Web Mercator
    inside = polygon_layer(project, "POLYGON((760000 5768000, 765000 5768000, 765000 5773000, 760000 5773000, "
                                    "760000 5768000))", "EPSG:3857")
    far = polygon_layer(project, "POLYGON((2 48, 2.1 48, 2.1 48.1, 2 48.1, 2 48))")
    dialog.clip_combo.setCurrentIndex(dialog.clip_combo.findData(CLIP_LAYER))
    dialog.clip_layer_combo.setLayer(far)
    assert not dialog.place() and workflow.orders == []
    assert "does not overlap any of the items" in dialog.errors.text("clip")
    far.removeSelection()
    assert not dialog.place() and "none is selected" in dialog.errors.text("clip")
    dialog.clip_layer_combo.setLayer(inside)
    body = placed_body(dialog, workflow)
    ring = body["tools"][0]["clip"]["aoi"]["coordinates"][0]
    assert all(6.8 < x < 6.9 and 45.9 < y < 46.0 for x, y in ring)  # in degrees now


def test_every_tool_control_reaches_the_body(dialog, workflow):
    dialog.clip_combo.setCurrentIndex(dialog.clip_combo.findData(NO_CLIP))
    dialog.composite_check.setChecked(True)
    dialog.harmonize_check.setChecked(True)
    assert not dialog.toar_spin.isEnabled() and not dialog.reproject_widget.isEnabled()  # until the tool is chosen
    dialog.toar_check.setChecked(True)
    dialog.toar_spin.setValue(5000)
    dialog.reproject_check.setChecked(True)
    from qgis.core import QgsCoordinateReferenceSystem
    dialog.reproject_widget.setCrs(QgsCoordinateReferenceSystem("EPSG:32632"))
    dialog.format_combo.setCurrentIndex(dialog.format_combo.findData("COG"))
    assert dialog.toar_spin.isEnabled() and dialog.reproject_widget.isEnabled()
    body = placed_body(dialog, workflow)
    assert body["tools"] == [{"composite": {}}, {"toar": {"scale_factor": 5000}},
                             {"harmonize": {"target_sensor": "Sentinel-2"}},
                             {"reproject": {"projection": "EPSG:32632"}}, {"file_format": {"format": "COG"}}]


def test_a_bad_tool_parameter_opens_the_tools_and_says_so(dialog, workflow):
    dialog.anchor_edit.setText("not an id")
    assert not dialog.place() and workflow.orders == []
    assert "Co-registration needs the id" in dialog.errors.text("coregister")


def test_direct_download_needs_a_folder_and_zip_options_become_the_delivery(dialog, workflow, tmp_path):
    dialog.delivery.folder_widget.setFilePath("")
    assert not dialog.place() and "Choose the folder" in dialog.errors.text("folder")
    dialog.delivery.folder_widget.setFilePath(str(tmp_path))
    dialog.delivery.single_archive_check.setChecked(True)
    body = placed_body(dialog, workflow)
    assert body["delivery"] == {"archive_type": "zip", "single_archive": True}


@pytest.fixture
def no_stored_credentials(qgis_auth):
    for destination in CLOUD_DESTINATIONS:
        credentials.forget(destination)
    yield
    for destination in CLOUD_DESTINATIONS:
        credentials.forget(destination)


@pytest.mark.parametrize("destination", sorted(CLOUD_DESTINATIONS))
def test_each_cloud_form_refuses_a_missing_field_at_it_and_builds_its_block(dialog, workflow, destination,
                                                                          no_stored_credentials):
    dialog.delivery.set_mode(destination)
    fields = CLOUD_DESTINATIONS[destination][1]
    edits = dialog.delivery.inputs[destination]
    for name, _, _ in fields:
        edits[name].setText(f"{name}-value-0001")
    missing = fields[-1][0]
    edits[missing].clear()
    assert not dialog.place() and workflow.orders == []
    assert "needs the" in dialog.errors.text(f"{destination}.{missing}")
    edits[missing].setText(f"{missing}-value-0001")
    dialog.delivery.remember_boxes[destination].setChecked(False)
    body = placed_body(dialog, workflow)
    assert body["delivery"] == {destination: {name: f"{name}-value-0001" for name, _, _ in fields}}
    assert workflow.orders[0][1] is None  # nothing to download here
    assert credentials.config_id(destination) is None  # not asked to keep them: nothing stored


def test_cloud_credentials_are_kept_only_in_the_auth_database_and_fill_the_form_again(
        workflow, qtbot, tmp_path, no_stored_credentials):
    from qgis.core import QgsSettings

    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
    first = OrderImageryDialog(workflow, captures=[PublishedCapture(STRIP_A, FOOT_A)])
    qtbot.addWidget(first)
    first.confirm = lambda text: True
    first.delivery.set_mode("amazon_s3")
    for name, value in (("bucket", "imagery"), ("aws_region", "eu-central-1"), ("aws_access_key_id", "AKIAEXAMPLE"),
                        ("aws_secret_access_key", secret)):
        first.delivery.inputs["amazon_s3"][name].setText(value)
    assert first.place()
    assert credentials.config_id("amazon_s3")
    settings = QgsSettings()
    assert not any(secret in str(settings.value(key)) for key in settings.allKeys())
    workflow.running = False
    second = OrderImageryDialog(workflow, captures=[PublishedCapture(STRIP_A, FOOT_A)])
    qtbot.addWidget(second)
    second.delivery.set_mode("amazon_s3")
    assert second.delivery.inputs["amazon_s3"]["aws_secret_access_key"].text() == secret
    assert second.delivery.inputs["amazon_s3"]["bucket"].text() == "imagery"


def test_a_hosted_order_ends_when_planet_has_finished_it(dialog, workflow, qtbot):
    dialog.delivery.set_mode(HOSTING)
    assert dialog.place() and workflow.orders[0][1] is None
    workflow.placed.emit(Order())
    workflow.finished.emit(Order())
    workflow.running = False
    workflow.busyChanged.emit(False)
    qtbot.waitUntil(lambda: not dialog.placing, timeout=2000)
    assert dialog.message_label.text() == "Order “Imagery of s101” is success. Planet delivered it to Sentinel Hub."
    assert dialog.order_button.isEnabled() and dialog.progress_bar.value() == 100


def test_a_folder_the_workflow_refuses_is_said_at_the_folder(dialog, workflow):
    from core.errors import ValidationError

    assert dialog.place()
    workflow.running = False
    workflow.failed.emit(ValidationError("x", field_errors={"folder": ["The folder /x cannot be written to."]}))
    assert dialog.errors.text("folder") == "The folder /x cannot be written to."


def test_hosting_and_notifications_join_the_body(dialog, workflow):
    dialog.delivery.set_mode(HOSTING)
    dialog.delivery.email_check.setChecked(True)
    dialog.delivery.webhook_edit.setText("ftp://example.com/x")
    assert not dialog.place() and "http(s) URL" in dialog.errors.text("webhook_url")
    dialog.delivery.webhook_edit.setText("https://example.com/hooks/planet")
    body = placed_body(dialog, workflow)
    assert body["hosting"] == {"sentinel_hub": {}}
    assert body["notifications"] == {"email": True, "webhook_url": "https://example.com/hooks/planet",
                                     "webhook_per_order": True}


def test_a_basemap_by_quads_or_by_the_selected_area(dialog, workflow, project):
    dialog.source_combo.setCurrentIndex(dialog.source_combo.findData(BASEMAP))
    dialog.clip_combo.setCurrentIndex(dialog.clip_combo.findData(NO_CLIP))
    assert not dialog.place() and "Type the quad ids" in dialog.errors.text("quad_ids")
    dialog.quads_edit.setText("1050-1374, 10501374")
    assert not dialog.place() and "Not a quad id: 10501374" in dialog.errors.text("quad_ids")
    dialog.area_radio.setChecked(True)
    area = polygon_layer(project, "POLYGON((4.60 52.35, 4.68 52.35, 4.68 52.39, 4.60 52.39, 4.60 52.35))")
    dialog.area_layer_combo.setLayer(area)
    body = placed_body(dialog, workflow)
    assert body["source_type"] == "basemaps"
    assert body["products"][0]["mosaic_name"] == "global_monthly_2022_01_mosaic"
    assert body["products"][0]["geometry"]["type"] == "Polygon"


def test_declining_the_confirmation_sends_nothing(dialog, workflow):
    dialog.confirm = lambda text: False
    assert not dialog.place() and workflow.orders == [] and dialog.order_button.isEnabled()


def test_a_double_click_places_once(dialog, workflow, qtbot):
    qtbot.mouseDClick(dialog.order_button, Qt.MouseButton.LeftButton)
    qtbot.mouseClick(dialog.order_button, Qt.MouseButton.LeftButton)
    assert len(workflow.orders) == 1 and len(dialog.questions) == 1


def test_failure_is_said_in_the_dialog_and_the_message_bar_and_the_form_stays_usable(dialog, workflow, qgis_iface):
    qgis_iface.messageBar().clear_messages()
    dialog.iface = qgis_iface
    assert dialog.place()
    workflow.running = False
    workflow.failed.emit(RuntimeError("Unable to accept order: No access to assets"))
    assert "No access to assets" in dialog.message_label.text()
    said = list(qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical))
    assert any("No access to assets" in text for text in said), said
    assert dialog.order_button.isEnabled() and not dialog.cancel_button.isEnabled()
    workflow.orders.clear()
    assert dialog.place() and len(workflow.orders) == 1  # placed again only when asked again


def test_a_full_disk_is_said_in_words_with_the_folder_and_where_to_download_again(dialog, workflow, tmp_path):
    import errno

    assert dialog.place()
    workflow.running = False
    workflow.failed.emit(OSError(errno.ENOSPC, "No space left on device"))
    text = dialog.message_label.text()
    assert f"the disk holding {tmp_path} is full" in text and "what arrived is kept" in text, text
    assert "Orders tab" in text and dialog.order_button.isEnabled()


def test_cancel_asks_the_workflow_and_ends_when_it_says_so(dialog, workflow):
    assert dialog.place()
    dialog.cancel_button.click()
    assert workflow.cancels == 1 and not dialog.cancel_button.isEnabled()
    workflow.running = False
    workflow.cancelled.emit()
    assert dialog.stage_label.text() == "Cancelled." and dialog.order_button.isEnabled()


def test_loaded_imagery_ends_the_run_with_a_success(dialog, workflow, qgis_iface):
    qgis_iface.messageBar().clear_messages()
    dialog.iface = qgis_iface
    assert dialog.place()
    workflow.placed.emit(Order())
    assert Order.id in dialog.message_label.text()
    workflow.running = False
    workflow.loaded.emit(Order(), ["raster a", "raster b"])
    assert "on the map (2 rasters)" in dialog.message_label.text()
    assert any("on the map" in m for m in qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Success))
    assert dialog.progress_bar.value() == 100 and dialog.order_button.isEnabled()


def test_the_dialog_fits_420_px_and_every_control_has_a_tooltip(dialog, qtbot):
    from qgis.PyQt.QtWidgets import QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit, QSpinBox

    dialog.tools_group.setCollapsed(False)
    dialog.resize(420, 900)
    dialog.show()
    qtbot.waitExposed(dialog)
    body = dialog.scroll.widget()
    # once laid out, the form is no wider than the window shows: no sideways scrolling
    qtbot.waitUntil(lambda: body.width() <= dialog.scroll.viewport().width(), timeout=3000)
    assert dialog.scroll.horizontalScrollBar().maximum() == 0
    bare = [w.objectName() or type(w).__name__ for kind in (QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit,
                                                               QSpinBox)
            for w in dialog.findChildren(kind)
            if w.isVisibleTo(dialog) and not w.toolTip() and not _inside_tipped(w, dialog)]
    assert bare == []
    OUTPUT.mkdir(exist_ok=True)
    path = OUTPUT / "order_imagery_dialog_420.png"
    assert dialog.grab().save(str(path))
    assert body.grab().save(str(OUTPUT / "order_imagery_form_420.png"))  # the whole form, scrolled parts too


def _inside_tipped(widget, top) -> bool:
    """A part of a composite control (a QgsFileWidget's button, a projection widget's combo) whose owner has one."""
    parent = widget.parentWidget()
    while parent is not None and parent is not top:
        if parent.toolTip() and type(parent).__name__.startswith("Qgs"):
            return True
        parent = parent.parentWidget()
    return False
