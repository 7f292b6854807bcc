"""Downloading an existing archive order from the Orders tab, against the sandbox: a finished order's files into
the folder chosen and its rasters on the map, a cancelled download resumed, an open order followed then
downloaded, and the orders that cannot be downloaded said why."""

from __future__ import annotations

import errno

import pytest
import requests
from qgis.core import Qgis, QgsProject, QgsRasterLayer

from core import rasters
from core.services.planet_orders.client import OrdersClient
from core.services.planet_orders.forms import scenes_request
from core.services.planet_orders.models import ArchiveOrder
from core.services.planet_tasking.client import TaskingClient
from core.tasks import active_tasks
from tests.integration.order_states import sim_now
from tests.integration.planet_orders.helpers import ThrottledSession
from ui.orders import panel as panel_module
from ui.orders.archive_details import download_verdict
from ui.orders.panel import OrdersPanel, download_error_text

pytestmark = pytest.mark.usefixtures("no_leftover_tasks", "clean_settings")

WAIT_MS = 60_000
ITEM_A = "20220304_093300_37_2430"
FAILING = "20220628_101531_25_2262_failing"


def orders_client(sandbox, **kwargs):
    return OrdersClient(sandbox.root + "/compute/ops/", sandbox.api_key, timeout=30.0, lookup_patience=0.0, **kwargs)


class FolderDialog:
    """Stands in for QFileDialog: remembers the folder offered first and answers with `answer`."""

    answer = ""
    offered = []

    @classmethod
    def getExistingDirectory(cls, parent, title, start):  # noqa: N802 - Qt's name
        cls.offered.append(start)
        return cls.answer


@pytest.fixture
def make_panel(qgis_app, qgis_iface, qtbot, sandbox, fresh_project, monkeypatch):
    """An Orders tab on the sandbox whose archive clients wait in real time (the tests move the sandbox's
    clock themselves) and, with `slow["on"]`, download over a slow line."""
    made = []
    slow = {"on": False}
    FolderDialog.offered = []
    monkeypatch.setattr(panel_module, "QFileDialog", FolderDialog)
    qgis_iface.messageBar().clear_messages()
    qgis_iface.messageBar().clearWidgets()

    def archive_factory():
        return orders_client(sandbox, session=ThrottledSession() if slow["on"] else None)

    def make():
        panel = OrdersPanel(lambda: TaskingClient(sandbox.tasking_url, sandbox.api_key, timeout=30.0), qgis_iface,
                            auto_refresh=False, now=lambda: sim_now(sandbox), archive_client_factory=archive_factory)
        panel.download_poll = (0.2, 0.5)
        qtbot.addWidget(panel)
        panel.resize(1100, 800)
        panel.show()
        made.append(panel)
        panel.start()
        qtbot.waitUntil(lambda: not panel.busy(), timeout=WAIT_MS)
        return panel

    make.slow = slow
    yield make
    for panel in made:
        panel.shutdown()


def select(qtbot, panel, order_id):
    panel.select_orders([order_id])
    qtbot.waitUntil(lambda: panel.archive_details.order is not None and panel.archive_details.order.id == order_id,
                    timeout=5000)


def finished_order(sandbox, name, items, bundle="visual"):
    client = orders_client(sandbox, sleep=sandbox.sleep)
    order = client.wait_for(client.create_order(scenes_request(name, items, product_bundle=bundle)), poll=30.0,
                            max_poll=60.0)
    client.close()
    return order


def downloads(sandbox):
    return [r for r in sandbox.requests_seen() if "/download" in r["path"]]


def raster_layers():
    return [layer for layer in QgsProject.instance().mapLayers().values() if isinstance(layer, QgsRasterLayer)]


def success_items(iface):
    return [item for item in iface.messageBar().items() if item.level() == Qgis.MessageLevel.Success]


def test_a_finished_order_is_downloaded_into_the_folder_chosen_and_its_rasters_are_on_the_map(
        sandbox, make_panel, qtbot, qgis_iface, tmp_path, monkeypatch):
    from core import settings

    order = finished_order(sandbox, "Chamonix archive", [ITEM_A], bundle="analytic_udm2")
    assert order.state == "success"
    remembered = tmp_path / "remembered"
    settings.set_archive_download_folder(str(remembered))
    target = tmp_path / "imagery"
    FolderDialog.answer = str(target)
    panel = make_panel()
    # The links the list read have expired by the time the user asks: the download takes fresh ones.
    sandbox.advance(2 * 3600)
    select(qtbot, panel, order.id)
    details = panel.archive_details
    assert details.download_button.text() == "Download…" and details.download_button.isEnabled()
    assert not details.download_progress.isVisible()

    details.download_button.click()
    assert FolderDialog.offered == [str(remembered)]  # the remembered folder offered first
    assert details.download_button.text() == "Downloading…" and not details.download_button.isEnabled()
    assert details.download_progress.isVisible() and details.cancel_download_button.isVisible()
    details.download_button.click()  # a second click does nothing twice
    assert not panel.download_archive_order(order.id, str(target))
    assert FolderDialog.offered == [str(remembered)] and len(panel.downloads) == 1
    qtbot.waitUntil(lambda: not panel.downloading(), timeout=WAIT_MS)

    # The files as the order names them, whole, under the folder chosen (which is remembered now).
    fresh = orders_client(sandbox).get_order(order.id)
    for result in fresh.results:
        assert (target / result.name).read_bytes() == requests.get(result.location, timeout=30).content, result.name
    assert not list(target.rglob("*.part"))
    assert settings.archive_download_folder() == str(target)
    # The rasters in "Archive imagery" / <order name>.
    group = QgsProject.instance().layerTreeRoot().findGroup(rasters.ARCHIVE_GROUP).findGroup("Chamonix archive")
    layers = [node.layer() for node in group.findLayers() if isinstance(node.layer(), QgsRasterLayer)]
    assert sorted(layer.bandCount() for layer in layers) == [4, 8]
    assert all(layer.source().startswith(str(target / order.id)) for layer in layers)
    # The tab and the message bar say where the files are; the bar's button opens that folder.
    assert "on the map" in details.download_stage.text() and str(target / order.id) in details.download_stage.text()
    assert details.download_button.text() == "Download…" and details.download_button.isEnabled()
    assert not details.download_progress.isVisible()
    item = success_items(qgis_iface)[-1]
    assert str(target / order.id) in item.text()
    opened = []
    monkeypatch.setattr(panel, "open_folder", opened.append)
    item.widget().click()
    assert opened == [str(target / order.id)]


def download_half_way(sandbox, make_panel, qtbot, folder, name):
    """A finished order named `name` (512 px rasters) downloading into `folder` over a slow line, returned once a
    part file holds bytes: (panel, order)."""
    sandbox.control("POST", "orders/raster-size", {"pixels": 512})
    order = finished_order(sandbox, name, [ITEM_A], bundle="analytic_udm2")
    FolderDialog.answer = str(folder)
    panel = make_panel()
    make_panel.slow["on"] = True
    select(qtbot, panel, order.id)
    panel.archive_details.download_button.click()
    qtbot.waitUntil(lambda: any(p.stat().st_size > 0 for p in folder.rglob("*.tif.part")), timeout=WAIT_MS)
    return panel, order


def test_a_cancelled_download_keeps_what_arrived_and_download_again_resumes_it(sandbox, make_panel, qtbot,
                                                                               tmp_path):
    panel, order = download_half_way(sandbox, make_panel, qtbot, tmp_path, "stopped half way")
    details = panel.archive_details
    qtbot.waitUntil(lambda: details.download_stage.text().startswith("Downloading "), timeout=WAIT_MS)
    assert 0 <= details.download_progress.value() < 100
    details.cancel_download_button.click()
    qtbot.waitUntil(lambda: not panel.downloading(), timeout=WAIT_MS)
    assert "was cancelled" in details.download_stage.text() and "resumes" in details.download_stage.text()
    parts = list(tmp_path.rglob("*.tif.part"))
    kept = {p: p.stat().st_size for p in parts}
    assert parts and all(not p.with_suffix("").exists() for p in parts)
    assert QgsProject.instance().layerTreeRoot().findGroup(rasters.ARCHIVE_GROUP) is None
    assert details.download_button.text() == "Download…" and details.download_button.isEnabled()

    make_panel.slow["on"] = False
    before = len(downloads(sandbox))
    details.download_button.click()
    qtbot.waitUntil(lambda: not panel.downloading(), timeout=WAIT_MS)
    assert "on the map" in details.download_stage.text()
    # Each .part was continued with a Range request (206), not downloaded again from its start.
    assert [r["status"] for r in downloads(sandbox)[before:]].count(206) >= len(kept)
    assert not list(tmp_path.rglob("*.part"))
    fresh = orders_client(sandbox).get_order(order.id)
    for part in kept:
        result = next(r for r in fresh.results if (tmp_path / r.name) == part.with_suffix(""))
        assert (tmp_path / result.name).read_bytes() == requests.get(result.location, timeout=30).content


def test_a_running_order_is_followed_and_downloaded_once_planet_has_finished_it(sandbox, make_panel, qtbot,
                                                                              tmp_path):
    client = orders_client(sandbox)
    order = client.create_order(scenes_request("not ready yet", [ITEM_A], product_bundle="visual"))
    sandbox.advance(40)
    assert client.get_order(order.id).state == "running"
    FolderDialog.answer = str(tmp_path)
    panel = make_panel()
    select(qtbot, panel, order.id)
    details = panel.archive_details
    assert details.download_button.text() == "Download when ready…" and details.download_button.isEnabled()
    details.download_button.click()
    qtbot.waitUntil(lambda: "preparing the order (running)" in details.download_stage.text(), timeout=WAIT_MS)
    qtbot.wait(1500)  # several looks at the order: still running, nothing downloaded
    assert panel.downloading(order.id) and details.download_button.text() == "Downloading…"
    assert downloads(sandbox) == [] and raster_layers() == []
    # In a dock 400 px wide the details, the download's progress and its Cancel fit without scrolling sideways.
    panel.resize(400, 800)
    qtbot.waitUntil(lambda: panel.width() == 400, timeout=5000)
    assert details.minimumSizeHint().width() <= details.width() <= 400
    assert not details.text.horizontalScrollBar().isVisible()
    for widget in (details.download_button, details.cancel_download_button, details.download_progress):
        assert widget.isVisible() and widget.geometry().right() <= details.width(), widget.objectName()

    sandbox.advance(600)  # Planet finishes the order
    qtbot.waitUntil(lambda: not panel.downloading(), timeout=WAIT_MS)
    assert "on the map" in details.download_stage.text(), details.download_stage.text()
    assert [layer.bandCount() for layer in raster_layers()] == [3]
    qtbot.waitUntil(lambda: not panel.busy(), timeout=WAIT_MS)
    assert panel.model.rows[panel.model.row_of[order.id]].state == "success"  # its row read again
    client.close()


def test_orders_without_files_cannot_be_downloaded_and_say_why(sandbox, make_panel, qtbot, tmp_path, qgis_iface):
    failed = finished_order(sandbox, "doomed", [FAILING])
    good = finished_order(sandbox, "fine", [ITEM_A])
    assert failed.state == "failed"
    panel = make_panel()
    select(qtbot, panel, failed.id)
    button = panel.archive_details.download_button
    assert not button.isEnabled()
    assert "is failed" in button.toolTip() and FAILING in button.toolTip()
    # Delivered to a cloud bucket: nothing comes as a link.
    cloud = ArchiveOrder.from_json({"id": "c1", "name": "to the bucket", "state": "running",
                                    "delivery": {"google_cloud_storage": {"bucket": "b", "credentials": "x"}}})
    assert not download_verdict(cloud) and "cloud destination" in download_verdict(cloud).tooltip

    # A folder that cannot be used: said in the tab and the message bar, nothing asked of the service.
    blocker = tmp_path / "a file"
    blocker.write_text("not a folder")
    FolderDialog.answer = str(blocker)
    select(qtbot, panel, good.id)
    before = len(downloads(sandbox))
    panel.archive_details.download_button.click()
    assert not panel.downloading()
    text = panel.archive_details.download_stage.text()
    assert f"The folder {blocker} cannot be made" in text and text in panel.message_label.text()
    assert any("cannot be made" in m for m in qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical))
    assert len(downloads(sandbox)) == before
    assert "the disk holding /data is full" in download_error_text(OSError(errno.ENOSPC, "No space left on device"),
                                                                   "/data")


def test_a_download_the_service_fails_is_said_in_the_tab_and_the_message_bar_and_can_be_tried_again(
        sandbox, make_panel, qtbot, tmp_path, qgis_iface):
    order = finished_order(sandbox, "served badly", [ITEM_A])
    FolderDialog.answer = str(tmp_path)
    panel = make_panel()
    select(qtbot, panel, order.id)
    # More failures than the client's retries: every file link answers 500 this time.
    sandbox.fault(path="/download", method="GET", kind="status", status=500, count=50)
    details = panel.archive_details
    details.download_button.click()
    qtbot.waitUntil(lambda: not panel.downloading(), timeout=WAIT_MS)
    text = details.download_stage.text()
    assert text.startswith("Downloading “served badly” failed: ") and "Internal server error" in text, text
    assert text in panel.message_label.text()
    assert text in qgis_iface.messageBar().get_messages(Qgis.MessageLevel.Critical)[-1]
    assert raster_layers() == [] and details.download_button.isEnabled()

    sandbox.clear_faults()
    details.download_button.click()
    qtbot.waitUntil(lambda: not panel.downloading(), timeout=WAIT_MS)
    assert "on the map" in details.download_stage.text() and len(raster_layers()) == 1


def test_closing_the_tab_stops_a_running_download_and_keeps_its_part_files(sandbox, make_panel, qtbot, tmp_path):
    panel, _ = download_half_way(sandbox, make_panel, qtbot, tmp_path, "stopped by unload")
    panel.shutdown()
    assert not panel.downloading()
    qtbot.waitUntil(lambda: not active_tasks(), timeout=WAIT_MS)
    assert list(tmp_path.rglob("*.tif.part")) and raster_layers() == []
