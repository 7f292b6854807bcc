"""Inside QGIS (`qgis --code`, run by `make demo` without a display): the whole ordering job, scripted, with screenshots."""

# Against a sandbox started with --demo and the plugin pointed at it (scripts/demo.sh sets both up):
# a strip drawn on the map and quoted, a flexible order, an assured order from a searched imaging
# window, simulated time advanced until captures publish, orders and captures layers loaded; then
# screenshots of the dock and the map and a GeoPackage with those layers; then the Orders tab, loaded,
# with the assured order selected (map zoomed to it, details filled), in two screenshots; last the
# settings, bulk order (its preview, then checked, priced and created) and bulk edit dialogs (the user guide
# shows them); last the imagery of the demo's published captures, selected on the map, ordered from the Order
# imagery dialog clipped to the tasking areas, downloaded and shown on the map. Paths are printed and written to demo_outputs.txt. With ST_DEMO_HEADLESS=1 QGIS quits at the end (exit code 1 on failure).

import json
import math
import os
import sys
import time
import traceback
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path

import qgis.utils
from qgis.core import (
    QgsApplication,
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsFeature,
    QgsFillSymbol,
    QgsGeometry,
    QgsPalLayerSettings,
    QgsPointXY,
    QgsProject,
    QgsRasterLayer,
    QgsRectangle,
    QgsSingleSymbolRenderer,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtCore import QEvent, QPoint, QPointF, Qt, QTimer
from qgis.PyQt.QtGui import QColor, QMouseEvent
from qgis.PyQt.QtWidgets import QScrollArea

HEADLESS = os.environ.get("ST_DEMO_HEADLESS") == "1"
# `qgis --code` runs this file with exec(), so __file__ may be missing: the working folder is the repository.
REPO_ROOT = Path(globals().get("__file__") or Path.cwd() / "scripts" / "demo_workflow.py").resolve().parent.parent
# scripts/demo.sh names the window screenshot it checks (ST_SCREENSHOT); everything else goes beside it.
SCREENSHOT = os.environ.get("ST_SCREENSHOT")
OUT_DIR = Path(os.environ.get("ST_DEMO_DIR") or (Path(SCREENSHOT).parent if SCREENSHOT else REPO_ROOT / ".demo")).resolve()
WGS84 = QgsCoordinateReferenceSystem("EPSG:4326")
BERLIN = (13.3777, 52.5163)  # Brandenburg Gate
STRIP_START = (13.2000, 52.4300)
STRIP_END = (13.5200, 52.5600)
WAIT_SECONDS = 180.0

outputs = []


def say(text):
    line = f"[demo] {text}"
    print(line, flush=True)
    outputs.append(line)


def wait_until(predicate, what, timeout=WAIT_SECONDS):
    """Let QGIS run (tasks deliver their results through the event loop) until `predicate()` holds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        QgsApplication.processEvents()
        time.sleep(0.05)


def pause(seconds):
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        QgsApplication.processEvents()
        time.sleep(0.05)


# --- the map ---------------------------------------------------------------------------------------------


def canvas_point(canvas, lon, lat):
    transform = QgsCoordinateTransform(WGS84, canvas.mapSettings().destinationCrs(), QgsProject.instance())
    return transform.transform(QgsPointXY(lon, lat))


def click(canvas, lon, lat, button=Qt.MouseButton.LeftButton):
    """A real click on the canvas at a WGS84 position, as the map tools receive it from the mouse."""
    spot = canvas.getCoordinateTransform().transform(canvas_point(canvas, lon, lat))
    where = QPointF(QPoint(int(round(spot.x())), int(round(spot.y()))))
    for kind, buttons in ((QEvent.Type.MouseMove, Qt.MouseButton.NoButton), (QEvent.Type.MouseButtonPress, button),
                          (QEvent.Type.MouseButtonRelease, Qt.MouseButton.NoButton)):
        event = QMouseEvent(kind, where, Qt.MouseButton.NoButton if kind == QEvent.Type.MouseMove else button, buttons, Qt.KeyboardModifier.NoModifier)
        QgsApplication.sendEvent(canvas.viewport(), event)
    QgsApplication.processEvents()


def zoom_to(canvas, lon, lat, half_km):
    centre = canvas_point(canvas, lon, lat)
    # Web Mercator metres grow with 1/cos(latitude).
    half = half_km * 1000.0 / math.cos(math.radians(lat))
    canvas.setExtent(QgsRectangle(centre.x() - half, centre.y() - half, centre.x() + half, centre.y() + half))
    canvas.refresh()


def label(layer, expression, size=9.0, colour="40,40,40"):
    settings = QgsPalLayerSettings()
    settings.fieldName = expression
    settings.isExpression = True
    text = QgsTextFormat()
    text.setSize(size)
    text.setColor(QColor(*map(int, colour.split(","))))
    buffer = QgsTextBufferSettings()
    buffer.setEnabled(True)
    buffer.setSize(1.0)
    text.setBuffer(buffer)
    settings.setFormat(text)
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)
    layer.triggerRepaint()


def add_background():
    """QGIS's bundled world map: pale land, and the German states (Berlin, Brandenburg) named."""
    path = os.path.join(QgsApplication.pkgDataPath(), "resources", "data", "world_map.gpkg")
    layer = QgsVectorLayer(f"{path}|layername=states_provinces", "States and provinces (QGIS world map)", "ogr")
    if layer.isValid():
        # Pale land, so the orders and captures drawn over it stand out.
        symbol = QgsFillSymbol.createSimple({"color": "242,239,233,255", "outline_color": "150,150,150,255",
                                             "outline_width": "0.4", "outline_style": "dash"})
        layer.setRenderer(QgsSingleSymbolRenderer(symbol))
        label(layer, '"name"', 11.0, "120,120,120")
        QgsProject.instance().addMapLayer(layer)
    return layer


# --- the sandbox -----------------------------------------------------------------------------------------


def sandbox_control(settings, method, path, body=None):
    url = f"http://{settings.SANDBOX_HOST}:{settings.sandbox_port()}/sandbox/{path}"
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as response:
        text = response.read().decode()
    return json.loads(text) if text else None


# --- the workflow ----------------------------------------------------------------------------------------


def run():
    from satellite_tasking.core import layers, settings
    from satellite_tasking.core.services import registry
    from satellite_tasking.core.services.planet_tasking import layers as planet_layers
    from satellite_tasking.core.services.planet_tasking.forms import ASSURED
    from satellite_tasking.ui.new_order.windows_table import CLOUD_COLUMN

    OUT_DIR.mkdir(parents=True, exist_ok=True)
    iface = qgis.utils.iface
    plugin = qgis.utils.plugins.get("satellite_tasking")
    if plugin is None or plugin.dock is None:
        raise RuntimeError("the Satellite Tasking plugin did not load; see QGIS's Log Messages panel")
    window = iface.mainWindow()
    window.setGeometry(QgsApplication.primaryScreen().availableGeometry())
    window.showMaximized()
    if not plugin.dock.isVisible():
        plugin.dock_action.trigger()
    dock = plugin.dock
    dock.refresh()
    panel = dock.new_order_panel
    if panel is None:
        raise RuntimeError("the dock has no New order panel")
    say(f"Sandbox: {settings.active_base_url()} (clock {sandbox_control(settings, 'GET', 'clock')['now']})")
    # Imaging-window searches require the contract (pl_number): what ticking "Use the local sandbox" in the
    # settings dialog fills in, read from the sandbox the same way.
    if not settings.pl_number():
        contract = settings.sandbox_contract()
        if not contract:
            raise RuntimeError("the sandbox did not say its contract (GET /sandbox/accounts)")
        settings.set_pl_number(contract)
        dock.refresh()
    say(f"Contract: {settings.pl_number()}")

    confirmations = []

    def confirm(title, text):
        # The user's "Yes" in the confirmation dialog, with what it said kept for the log.
        confirmations.append(text)
        say("Confirmation shown: " + text.replace("\n", " | "))
        return True

    panel.confirm = confirm
    canvas = iface.mapCanvas()
    project = QgsProject.instance()
    # The background first: QGIS may give the project the CRS of its first layer.
    add_background()
    # QGIS zooms to (and may take the CRS of) the first layer of a project a moment after it is added.
    pause(1.0)
    mercator = QgsCoordinateReferenceSystem("EPSG:3857")
    project.setCrs(mercator)
    canvas.setDestinationCrs(mercator)
    zoom_to(canvas, 13.37, 52.50, 25)
    pause(1.0)

    # 1. A strip drawn on the map, quoted, and ordered as flexible.
    panel.tool_buttons["strip"].click()
    click(canvas, *STRIP_START)
    click(canvas, *STRIP_END)
    if panel.aoi is None:
        raise RuntimeError(f"the drawn strip was refused: {panel.field_error('geometry')}")
    say(f"AOI drawn: {panel.aoi.summary()}")
    panel.set_order_name("Demo: Berlin south-west to north-east strip")
    wait_until(panel.quote_is_current, "the quote")
    say("Quote: " + panel.quote_label.text().replace("\n", " | "))
    # What the user sees on the map before ordering: the tasked 5 km-wide strip and its size.
    canvas.waitWhileRendering()
    pause(0.5)
    aoi_shot = OUT_DIR / "demo_aoi.png"
    canvas.grab().save(str(aoi_shot))
    placed = panel.last_order
    panel.place_button.click()
    wait_until(lambda: panel.last_order is not placed, "the flexible order")
    flexible = panel.last_order
    say(f"Flexible order placed: {flexible.name} ({flexible.id}, {flexible.status})")

    # 2. An assured order: a point, an imaging-window search, the clearest window (as an analyst would pick).
    panel.scheduling_combo.setCurrentIndex(panel.scheduling_combo.findData(ASSURED))
    panel.tool_buttons["point"].click()
    click(canvas, *BERLIN)
    say(f"AOI drawn: {panel.aoi.summary()}")
    panel.set_order_name("Demo: Brandenburg Gate (assured)")
    panel.find_button.click()
    # The sandbox runs simulated time at 60× by default; the search takes a few real seconds.
    wait_until(lambda: panel.search_task is None, "the imaging-window search")
    say("Search: " + panel.search_status.text())
    if panel.windows_proxy.rowCount() == 0:
        raise RuntimeError("the imaging-window search found no window")
    model = panel.windows_proxy
    # By column number: the header the table shows may be shortened to fit a narrow dock.
    panel.windows_view.sortByColumn(CLOUD_COLUMN, Qt.SortOrder.AscendingOrder)
    # The clearest window that is still hours away: the sandbox's clock runs at 60×, and a window
    # starting within minutes would have begun (or be too late to lock in) by the time it is ordered.
    clock = sandbox_control(settings, "GET", "clock")["now"]
    soonest = datetime.fromisoformat(clock.replace("Z", "+00:00")) + timedelta(hours=3)
    row = next((r for r in range(model.rowCount()) if model.window(r).start_time > soonest), None)
    if row is None:
        raise RuntimeError("the imaging-window search found no window three hours ahead")
    panel.windows_view.selectRow(row)
    window_choice = panel.selected_window
    wait_until(panel.quote_is_current, "the assured quote")
    say("Window chosen: " + panel.window_detail.text().replace("\n", " | "))
    panel.canvas.unsetMapTool(panel.canvas.mapTool())
    # The dock as the user sees it, scrolled to the windows; and the whole panel in one picture.
    scroll = panel.findChild(QScrollArea, "newOrderScroll")
    scroll.ensureWidgetVisible(panel.window_detail)
    pause(1.0)
    dock_shot = OUT_DIR / "demo_dock.png"
    dock.grab().save(str(dock_shot))
    panel_shot = OUT_DIR / "demo_new_order_panel.png"
    panel.body.grab().save(str(panel_shot))
    placed = panel.last_order
    panel.place_button.click()
    wait_until(lambda: panel.last_order is not placed, "the assured order")
    assured = panel.last_order
    say(f"Assured order placed: {assured.name} ({assured.id}, window {window_choice.id} at "
        f"{window_choice.start_time:%Y-%m-%d %H:%M} UTC)")

    # The job is done: forget the AOI, so no quote is asked for while the sandbox's clock jumps ahead.
    panel.clear_aoi()
    pause(1.0)

    # 3. Simulated time, a day at a time, until both orders have published captures.
    client = registry.client_for()
    ours = [flexible.id, assured.id]
    day = 0
    while day < 14:
        day += 1
        sandbox_control(settings, "POST", "clock", {"advance_seconds": 86400})
        published = {c.order_id for c in client.iter_captures(ours, status="PUBLISHED")}
        # Until both have published captures and neither is still being worked on.
        if set(ours) <= published and all(client.get_order(i).is_final for i in ours):
            break
    now = sandbox_control(settings, "GET", "clock")["now"]
    say(f"Simulated time advanced {day} day(s) to {now}: published captures for "
        f"{len(published & set(ours))} of our 2 orders")

    # 4. Orders and captures layers, as the analyst would load them.
    orders = list(client.iter_orders())
    orders_layer = panel.orders_layer()
    planet_layers.upsert_orders(orders_layer, orders)
    captures = list(client.iter_captures())
    captures_layer = planet_layers.create_captures_layer("Captures", captures, planet_layers.exclusivity_days_by_order(orders))
    project.addMapLayer(captures_layer)
    label(orders_layer, """CASE WHEN "name" LIKE 'Demo: B%' THEN "name" || '\n' || "status" END""")
    for order in orders:
        if order.id in ours:
            say(f"Order {order.name}: {order.status}, {order.capture_status_published_count or 0} published capture(s)")
    say(f"Layers: {orders_layer.featureCount()} orders, {captures_layer.featureCount()} captures")

    # 5. Pictures and a GeoPackage.
    panel.footprint.clear()
    zoom_to(canvas, 13.37, 52.50, 30)
    canvas.waitWhileRendering()
    pause(2.0)
    canvas.waitWhileRendering()
    map_shot = OUT_DIR / "demo_map.png"
    canvas.grab().save(str(map_shot))
    window_shot = Path(SCREENSHOT) if SCREENSHOT else OUT_DIR / "demo_window.png"
    window.grab().save(str(window_shot))
    if not dock_shot.exists() or not map_shot.exists():
        raise RuntimeError("the screenshots were not saved")
    geopackage = OUT_DIR / "demo_orders_captures.gpkg"
    layers.save_layers_to_geopackage([orders_layer, captures_layer], str(geopackage))
    # The Orders tab keeps its own captures layer in the plugin's group: this scripted one would show beside
    # it, outside the group, in the guide's picture of the window.
    project.removeMapLayer(captures_layer.id())

    # 6. The Orders tab, as the analyst opens it once the captures are published: the table loads (and
    # mirrors every order and capture into the same layers), the assured order is selected, the map zooms
    # to its footprint and the details show its fields, captures and pricing.
    orders_tab, orders_map_shot = show_orders_tab(window, dock, assured)
    # 7. The dialogs the guide describes: settings, bulk order from a layer (checked, priced, created), bulk edit.
    settings_shot, bulk_shot, bulk_edit_shot = show_dialogs(plugin, dock)
    # 8. The imagery of the demo's published captures, ordered from the Orders API and on the map.
    imagery_dialog_shot, imagery_shot = order_capture_imagery(window, dock, ours)
    say(f"Screenshot of the drawn AOI on the map: {aoi_shot}")
    say(f"Screenshot of the dock: {dock_shot}")
    say(f"Screenshot of the whole New order panel: {panel_shot}")
    say(f"Screenshot of the map: {map_shot}")
    say(f"Screenshot of the window: {window_shot}")
    say(f"Screenshot of the Orders tab (assured order selected): {orders_tab}")
    say(f"Screenshot of the window with the Orders tab and captures: {orders_map_shot}")
    say(f"Screenshot of the settings dialog: {settings_shot}")
    say(f"Screenshot of the bulk order dialog's preview: {OUT_DIR / 'demo_bulk_preview.png'}")
    say(f"Screenshot of the bulk order dialog (checked, priced, orders created): {bulk_shot}")
    say(f"Screenshot of the bulk edit dialog (cancelling, today's cancellations counted): {bulk_edit_shot}")
    say(f"Screenshot of the Order imagery dialog (the demo's published captures): {imagery_dialog_shot}")
    say(f"Screenshot of the window with the captures' imagery on the map: {imagery_shot}")
    say(f"GeoPackage (orders, captures): {geopackage}")


def show_orders_tab(window, dock, assured):
    """Switch the dock to the Orders tab, wait for it to load, select the assured order; two screenshots."""
    orders = dock.orders_panel
    if orders is None or dock.tabs is None:
        raise RuntimeError("the dock has no Orders panel")
    details_for = []
    orders.detailsLoaded.connect(details_for.append)
    # Wider than the New order tab needs: the table has many columns and the details a form and HTML.
    window.resizeDocks([dock], [760], Qt.Orientation.Horizontal)
    dock.tabs.setCurrentWidget(orders)  # the tab loads its first page when first shown
    wait_until(lambda: orders._started and orders.model.total is not None and not orders.busy(),
               "the Orders tab to load its orders and fill the map")
    if assured.id not in orders.model.row_of:
        raise RuntimeError(f"the Orders tab did not list the assured order {assured.id}")
    say(f"Orders tab: {orders.count_label.text()}; {orders.map_label.text()}")
    canvas = qgis.utils.iface.mapCanvas()
    before = canvas.extent()
    orders.select_orders([assured.id])
    orders.view.scrollTo(orders.model.index(orders.model.row_of[assured.id], 0))
    wait_until(lambda: assured.id in details_for and not orders.busy(), "the assured order's details")
    if orders.selected_order_ids() != [assured.id]:
        raise RuntimeError(f"the Orders tab selected {orders.selected_order_ids()}, not the assured order")
    text = orders.details.browser.toPlainText()
    if "\nCaptures" not in text or "\nPricing" not in text:
        raise RuntimeError("the Orders tab's details show no captures or pricing:\n" + text)
    captures_line = text[text.index("\nCaptures") + 1:].splitlines()[0]
    selected = {layer.name(): layer.selectedFeatureCount() for layer in (orders.orders_layer, orders.captures_layer)}
    say(f"Orders tab: selected {orders.details.name_edit.text()!r}, details with "
        f"{captures_line} and pricing; selected on the map: "
        + ", ".join(f"{count} in {name}" for name, count in selected.items()))
    pause(0.3)  # the tab as it lays itself out: default column widths and splitter, summary first
    qgis.utils.iface.messageBar().clearWidgets()  # the "Order placed" messages from the New order tab
    centre = canvas.extent().center()
    here = canvas_point(canvas, *BERLIN)
    if canvas.extent() == before or not canvas.extent().contains(here):
        raise RuntimeError(f"selecting the assured order did not zoom the map to it ({canvas.extent().toString()})")
    # The panel zoomed to the footprint (1.3× its extent), where the selected capture fills the view:
    # zoom out around it so the picture shows the neighbouring orders and captures too.
    say(f"Orders tab: the map zoomed to the order's footprint at 1:{canvas.scale():,.0f}; "
        "zoomed out 3× for the picture")
    canvas.zoomByFactor(3.0, centre)
    canvas.waitWhileRendering()
    pause(1.0)
    canvas.waitWhileRendering()
    # The plugin's layers sit in one group, folded: unfolded, the picture shows their legends.
    from satellite_tasking.core.layers import GROUP_NAME
    group = QgsProject.instance().layerTreeRoot().findGroup(GROUP_NAME)
    if group is not None:
        group.setExpanded(True)
        for child in group.children():
            child.setExpanded(True)
        view = qgis.utils.iface.layerTreeView()
        for node in [group] + group.children():  # the view keeps its own folding state too
            view.setExpanded(view.node2index(node) if hasattr(view, "node2index") else
                             view.layerTreeModel().node2index(node), True)
    pause(0.3)
    tab_shot = OUT_DIR / "demo_orders_tab.png"
    dock.grab().save(str(tab_shot))
    map_shot = OUT_DIR / "demo_orders_map.png"
    window.grab().save(str(map_shot))
    if not tab_shot.exists() or not map_shot.exists():
        raise RuntimeError("the Orders tab screenshots were not saved")
    return tab_shot, map_shot


# A few field sites near Berlin, as an analyst's own point layer with a name field for the bulk dialog.
FIELD_SITES = (("Tempelhofer Feld", 13.4010, 52.4730), ("Tegel airport", 13.2877, 52.5597),
               ("Müggelsee", 13.6450, 52.4380), ("Spandau citadel", 13.2127, 52.5410))


def field_sites_layer():
    layer = QgsVectorLayer("Point?crs=EPSG:4326&field=name:string(60)", "Field sites", "memory")
    features = []
    for name, lon, lat in FIELD_SITES:
        feature = QgsFeature(layer.fields())
        feature.setAttribute("name", name)
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(lon, lat)))
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    layer.updateExtents()
    QgsProject.instance().addMapLayer(layer)
    return layer


def show_dialogs(plugin, dock):
    """Open the settings, bulk order and bulk edit dialogs as the menu does; a screenshot of each, then close it."""
    iface = qgis.utils.iface
    settings_dialog = plugin.show_settings()
    pause(0.5)
    settings_shot = OUT_DIR / "demo_settings.png"
    settings_dialog.grab().save(str(settings_shot))
    settings_dialog.reject()

    # The bulk dialog starts on the active layer: the analyst's own sites, their names from the name field.
    iface.setActiveLayer(field_sites_layer())
    bulk = plugin.show_bulk_dialog()
    pause(0.5)
    # Before the check: the Preview tab, what the first features would send (the guide shows it too).
    bulk_preview_shot = OUT_DIR / "demo_bulk_preview.png"
    bulk.grab().save(str(bulk_preview_shot))
    bulk.validate_button.click()
    wait_until(lambda: bulk.report is not None and not bulk.workflow.busy, "the bulk dialog's check")
    bulk.price_button.click()
    wait_until(lambda: bulk.pricing is not None and not bulk.workflow.busy, "the bulk dialog's price")
    say(f"Bulk order dialog: {bulk.validation_label.text()} | {bulk.price_label.text()}".replace("\n", " | "))

    def confirm(text):
        say("Bulk confirmation shown: " + text.replace("\n", " | "))
        return True

    bulk.confirm = confirm  # the user's "Yes"
    bulk.create_button.click()
    wait_until(lambda: bulk.summary_label.text() not in ("", "Sending…") and not bulk.workflow.busy,
               "the bulk orders to be created")
    say("Bulk order dialog: " + bulk.summary_label.text().replace("\n", " | "))
    pause(0.5)
    bulk_shot = OUT_DIR / "demo_bulk_order.png"
    bulk.grab().save(str(bulk_shot))
    bulk.close()

    # Bulk edit: the orders just made in bulk (still open) selected in the Orders tab, then the menu's
    # "Edit or cancel selected orders…".
    orders = dock.orders_panel
    orders.refresh_now()
    wait_until(lambda: not orders.busy() and sum(not order.is_final for order in orders.model.orders) >= 2,
               "the Orders tab to list the bulk orders")
    open_ids = [order.id for order in orders.model.orders if not order.is_final][:4]
    if len(open_ids) < 2:
        raise RuntimeError(f"the Orders tab lists {len(open_ids)} open orders; the bulk edit needs a few")
    orders.select_orders(open_ids)
    wait_until(lambda: set(orders.selected_order_ids()) == set(open_ids), "the open orders to be selected")
    edit = plugin.show_bulk_edit_dialog()
    if edit is None:
        raise RuntimeError("the bulk edit dialog did not open for the selected orders")
    edit.cancel_radio.setChecked(True)  # the dialog then counts the contract's cancellations of the day
    wait_until(lambda: edit.cancellations_label.text() and not edit.cancellations_label.text().startswith("Counting"),
               "the bulk edit dialog's count of today's cancellations")
    say(f"Bulk edit dialog: {len(open_ids)} orders; {edit.cancellations_label.text()}")
    pause(0.5)
    bulk_edit_shot = OUT_DIR / "demo_bulk_edit.png"
    edit.grab().save(str(bulk_edit_shot))
    edit.close()
    for shot in (settings_shot, bulk_preview_shot, bulk_shot, bulk_edit_shot):
        if not shot.exists():
            raise RuntimeError(f"the screenshot {shot} was not saved")
    return settings_shot, bulk_shot, bulk_edit_shot


def order_capture_imagery(window, dock, order_ids):
    """Select the demo orders' published captures in the Orders tab's captures layer, open the dock's Order
    imagery dialog on them (clipped to the tasking orders' areas by default), order, wait for the rasters
    to be on the map, zoom to them; screenshots of the dialog and of the window."""
    from satellite_tasking.core.rasters import archive_group

    iface = qgis.utils.iface
    orders = dock.orders_panel
    dock.tabs.setCurrentWidget(orders)
    captures_layer = orders.captures_layer
    listed = ", ".join(f"'{order_id}'" for order_id in order_ids)
    captures_layer.selectByExpression(f"\"order_id\" IN ({listed}) AND \"status\" = 'PUBLISHED'")
    if not captures_layer.selectedFeatureCount():
        raise RuntimeError("the demo orders have no published capture in the Orders tab's captures layer")
    iface.setActiveLayer(captures_layer)
    dock.order_imagery_action.trigger()
    dialog = dock.imagery_dialog
    if dialog is None or not dialog.captures:
        raise RuntimeError("the Order imagery dialog did not open on the selected captures")
    say(f"Order imagery dialog: {dialog.captures_label.text()}; {dialog.item_type()} {dialog.bundle_combo.currentText()}, "
        f"clip: {dialog.clip_combo.currentText()}")
    dialog.delivery.folder_widget.setFilePath(str(OUT_DIR / "archive_imagery"))

    def confirm(text):
        say("Order imagery confirmation shown: " + text.replace("\n", " | "))
        return True

    dialog.confirm = confirm  # the user's "Yes"
    pause(0.5)
    dialog_shot = OUT_DIR / "demo_order_imagery.png"
    dialog.grab().save(str(dialog_shot))
    dialog.order_button.click()
    wait_until(lambda: bool(dialog.loaded_layers) or "did not complete" in dialog.stage_label.text(),
               "the archive order's rasters on the map")
    if not dialog.loaded_layers:
        raise RuntimeError("the archive order did not complete: " + dialog.message_label.text())
    rasters = [layer for layer in dialog.loaded_layers if isinstance(layer, QgsRasterLayer)]
    say(f"Order imagery: {dialog.message_label.text()} "
        + ", ".join(f"{layer.name()} ({layer.bandCount()} bands)" for layer in rasters))
    dialog.close()

    # The map on the rasters: their extent in the map's CRS, with a margin; the selection (yellow) off them.
    canvas = iface.mapCanvas()
    extent = QgsRectangle()
    for layer in rasters:
        transform = QgsCoordinateTransform(layer.crs(), canvas.mapSettings().destinationCrs(), QgsProject.instance())
        extent.combineExtentWith(transform.transformBoundingBox(layer.extent()))
    captures_layer.removeSelection()
    canvas.setExtent(extent.buffered(max(extent.width(), extent.height()) * 0.3))
    canvas.refresh()
    # In the Layers panel: the plugin's group folded, the new "Archive imagery" group and its order unfolded.
    from satellite_tasking.core.layers import GROUP_NAME
    view = iface.layerTreeView()

    def fold(node, expanded):
        node.setExpanded(expanded)
        index = view.node2index(node) if hasattr(view, "node2index") else view.layerTreeModel().node2index(node)
        view.setExpanded(index, expanded)  # the view keeps its own folding state too

    plugin_group = QgsProject.instance().layerTreeRoot().findGroup(GROUP_NAME)
    if plugin_group is not None:
        fold(plugin_group, False)
    group = archive_group(QgsProject.instance())
    for node in [group] + group.children():
        fold(node, True)
    canvas.waitWhileRendering()
    pause(1.5)
    canvas.waitWhileRendering()
    qgis.utils.iface.messageBar().clearWidgets()
    shot = OUT_DIR / "demo_archive_imagery.png"
    window.grab().save(str(shot))
    if not dialog_shot.exists() or not shot.exists():
        raise RuntimeError("the Order imagery screenshots were not saved")
    return dialog_shot, shot


def main():
    code = 0
    try:
        run()
    except Exception:  # noqa: BLE001 - a demo reports what went wrong instead of leaving QGIS hanging
        code = 1
        say("FAILED:\n" + traceback.format_exc())
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / "demo_outputs.txt").write_text("\n".join(outputs) + "\n", encoding="utf-8")
    if HEADLESS:
        sys.stdout.flush()
        # QGIS 3.22 can crash in its exit path when layers are still in the project (the layer tree
        # tells a destroyed style dock about the active layer): empty the project while all is alive.
        project = QgsProject.instance()
        project.removeAllMapLayers()
        project.setDirty(False)
        QgsApplication.processEvents()
        QgsApplication.exit(code)


# Plugins are loaded when QGIS runs --code; a moment later the window is up and laid out.
QTimer.singleShot(1500, main)
