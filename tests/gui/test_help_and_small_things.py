"""Issue 14's small things a new user meets: the bulk dialog's first guesses, one wording for quota units,
tooltips everywhere, the shipped user guide and HTTP sessions that are closed."""

from __future__ import annotations

import gc
import importlib.util
import sys
import warnings
from html.parser import HTMLParser
from pathlib import Path

import pytest
from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsVectorLayer
from qgis.gui import QgsDateTimeEdit, QgsFieldExpressionWidget
from qgis.PyQt.QtCore import Qt, QUrl
from qgis.PyQt.QtGui import QDesktopServices, QImage
from qgis.PyQt.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSpinBox,
    QComboBox,
    QDialogButtonBox,
    QLineEdit,
    QWidget,
)

from core import compat, names
from core.http import HttpTransport, close_shared_connections, create_session
from core.services.planet_tasking.client import TaskingClient
from ui.bulk import BulkEditDialog, BulkOrderDialog
from ui.orders.filters import OrderFilters
from ui.settings.dialog import SettingsDialog
from ui.shared import help

pytestmark = pytest.mark.usefixtures("no_leftover_tasks")


def no_client():
    raise AssertionError("nothing is sent while the dialog only makes its first guesses")


def points_layer(name: str, fields=(), count: int = 3) -> QgsVectorLayer:
    """`count` points in WGS 84 with text `fields` valued '<field> <n>'."""
    layer = QgsVectorLayer("Point?crs=EPSG:4326", name, "memory")
    layer.dataProvider().addAttributes([compat.make_field(field, compat.STRING) for field in fields])
    layer.updateFields()
    features = []
    for index in range(count):
        feature = QgsFeature(layer.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(10 + index * 0.1, 50)))
        feature.setAttributes([f"{field} {index}" for field in fields])
        features.append(feature)
    layer.dataProvider().addFeatures(features)
    return layer


def open_dialog(qtbot, qgis_iface, journal) -> BulkOrderDialog:
    dialog = BulkOrderDialog(no_client, qgis_iface, journal=journal)
    qtbot.addWidget(dialog)
    return dialog


# -- 1. the bulk dialog's first guesses ------------------------------------------------------------------------


def test_bulk_dialog_starts_on_the_active_layer_not_the_plugins_captures(qtbot, qgis_iface, project, journal):
    # "Captures" sorts first in the combo: before, the dialog opened on it with its selection ticked.
    captures = points_layer(names.CAPTURES_LAYER, ("capture_id",))
    captures.selectAll()
    sites = points_layer("survey sites", ("title",))
    project.addMapLayers([captures, sites])
    qgis_iface.setActiveLayer(sites)

    dialog = open_dialog(qtbot, qgis_iface, journal)

    assert dialog.layer() is sites
    assert not dialog.selected_only.isChecked()  # the sites have no selection: all of them are ordered
    assert dialog.field_widgets["name"].expression() == '"title"'
    assert dialog.preview_table.item(0, 1).text() == "title 0"


def test_selected_only_follows_the_chosen_layers_selection(qtbot, qgis_iface, project, journal):
    sites = points_layer("sites", ("Name",))
    sites.selectByIds([sites.allFeatureIds()[0]])
    project.addMapLayer(sites)
    qgis_iface.setActiveLayer(sites)

    dialog = open_dialog(qtbot, qgis_iface, journal)

    assert dialog.layer() is sites and dialog.selected_only.isChecked()
    assert dialog.field_widgets["name"].expression() == '"Name"'
    assert dialog.preview_table.rowCount() == 1


def test_a_plugin_layer_active_falls_back_to_the_users_layer(qtbot, qgis_iface, project, journal):
    orders = points_layer(names.ORDERS_LAYER, ("name",))
    wells = points_layer("wells", ("label", "ID"))
    project.addMapLayers([orders, wells])
    qgis_iface.setActiveLayer(orders)

    dialog = open_dialog(qtbot, qgis_iface, journal)

    assert dialog.layer() is wells
    assert dialog.field_widgets["name"].expression() == '"label"'  # a label beats an id


def test_an_id_field_names_orders_after_the_layer_when_nothing_better_exists(qtbot, qgis_iface, project, journal):
    pads = points_layer("pads", ("site_code", "ID"))
    project.addMapLayer(pads)
    qgis_iface.setActiveLayer(pads)

    dialog = open_dialog(qtbot, qgis_iface, journal)

    assert dialog.preview_table.item(0, 1).text() == "pads ID 0"


# -- 2. one wording for quota units ------------------------------------------------------------------------


def test_bulk_price_is_said_in_km2_of_quota_like_the_new_order_tab(qtbot, qgis_iface, project, journal, sandbox):
    sites = points_layer("sites", ("name",))
    project.addMapLayer(sites)
    qgis_iface.setActiveLayer(sites)
    dialog = BulkOrderDialog(
        lambda: TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sandbox.sleep, timeout=30.0),
        qgis_iface, journal=journal)
    qtbot.addWidget(dialog)

    qtbot.mouseClick(dialog.validate_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.report is not None, timeout=20000)
    qtbot.mouseClick(dialog.price_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pricing is not None, timeout=20000)

    assert dialog.pricing.units == "SQKM"  # what the service says …
    assert "km² of quota for 3 orders" in dialog.price_label.text()  # … and what the user reads
    assert "SQKM" not in dialog.price_label.text()
    assert dialog.validation_table.horizontalHeaderItem(5).text() == "Price (km² of quota)"


# -- 3. a tooltip on every control --------------------------------------------------------------------------

CONTROL_TYPES = (QAbstractButton, QComboBox, QLineEdit, QAbstractSpinBox, QAbstractItemView, QgsFieldExpressionWidget)


def controls_without_tooltip(root: QWidget, skip=()) -> list:
    """The controls under `root` a user can act on whose tooltip is empty (a control's own parts, e.g. a
    combo's line edit or a date edit's clear button, show their control's tooltip and are not counted)."""
    skipped = tuple(skip)
    bare = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROL_TYPES) or any(widget is s or s.isAncestorOf(widget) for s in skipped):
            continue
        parent, inside_control = widget.parentWidget(), False
        while parent is not None and parent is not root:
            inside_control = inside_control or isinstance(parent, CONTROL_TYPES)
            parent = parent.parentWidget()
        if not inside_control and not widget.toolTip().strip():
            bare.append(f"{type(widget).__name__} {widget.objectName() or getattr(widget, 'text', lambda: '')()!r}")
    return bare


def test_every_control_of_the_settings_dialog_has_a_tooltip(qgis_app, clean_settings):
    dialog = SettingsDialog()
    try:
        assert dialog.findChildren(QAbstractButton)  # the walk sees the controls at all
        assert controls_without_tooltip(dialog) == []
    finally:
        dialog.deleteLater()


def test_every_control_of_the_bulk_dialogs_has_a_tooltip(qtbot, qgis_iface, project, journal):
    sites = points_layer("sites", ("name",))
    project.addMapLayer(sites)
    order_dialog = open_dialog(qtbot, qgis_iface, journal)
    assert len(order_dialog.findChildren(QgsFieldExpressionWidget)) == 8
    # The Bulk jobs tab is its own panel (ui/bulk/jobs_panel.py), checked with it.
    assert controls_without_tooltip(order_dialog, skip=[order_dialog.jobs_panel, order_dialog.tabs.tabBar()]) == []

    edit_dialog = BulkEditDialog(no_client, qgis_iface, ["a", "b"], journal=journal)
    qtbot.addWidget(edit_dialog)
    assert controls_without_tooltip(edit_dialog) == []


def test_every_orders_filter_has_a_tooltip(qtbot):
    filters = OrderFilters()
    qtbot.addWidget(filters)
    assert len(filters.findChildren(QgsDateTimeEdit)) == 4
    assert controls_without_tooltip(filters) == []


# -- 4. help at hand ----------------------------------------------------------------------------------------


class GuideLinks(HTMLParser):
    """The ids and the image sources of an HTML page."""

    def __init__(self):
        super().__init__()
        self.ids, self.images, self.links = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "img":
            self.images.append(attrs.get("src"))
        if tag == "a" and attrs.get("href", "").startswith("#"):
            self.links.append(attrs["href"][1:])


@pytest.fixture
def opened_urls(monkeypatch):
    """The URLs the plugin asked the desktop to open (no browser is started)."""
    urls = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: urls.append(QUrl(url)) or True)
    return urls


def test_the_guide_ships_with_its_screenshots_and_every_section_help_can_open(qgis_app):
    guide = help.GUIDE
    assert guide.is_file() and guide.parent == Path(help.__file__).resolve().parents[2] / "resources" / "help"
    page = GuideLinks()
    page.feed(guide.read_text(encoding="utf-8"))
    assert set(help.SECTIONS) <= page.ids  # every section open_help() offers is an anchor of the page
    assert set(page.links) <= page.ids  # the table of contents has no dead link
    assert len(page.images) >= 4
    for source in page.images:
        image = QImage(str(guide.parent / source))
        assert not image.isNull() and image.width() > 300, source  # a real screenshot, shipped beside the page
    # What `make zip` packs: the page and every picture it shows.
    spec = importlib.util.spec_from_file_location("package_script", guide.parents[2] / "scripts" / "package.py")
    package = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(package)
    zipped = {path.as_posix() for path in package.plugin_files()}
    assert {f"resources/help/{name}" for name in ["index.html"] + page.images} <= zipped


def test_open_help_opens_the_local_guide_at_a_section(qgis_app, opened_urls):
    assert help.open_help("bulk")
    assert help.open_help()
    assert [url.fragment() for url in opened_urls] == ["bulk", ""]
    assert all(url.isLocalFile() and Path(url.toLocalFile()) == help.GUIDE for url in opened_urls)
    with pytest.raises(ValueError):
        help.open_help("no such section")


def test_the_settings_dialogs_help_button_opens_the_settings_section(qtbot, qgis_app, clean_settings, opened_urls):
    dialog = SettingsDialog()
    qtbot.addWidget(dialog)
    help_button = dialog.buttons.button(QDialogButtonBox.StandardButton.Help)
    assert help_button is not None and help_button.text()

    qtbot.mouseClick(help_button, Qt.MouseButton.LeftButton)

    assert [url.fragment() for url in opened_urls] == ["settings"]
    assert Path(opened_urls[0].toLocalFile()) == help.GUIDE


# -- 5. HTTP sessions closed --------------------------------------------------------------------------------


def unclosed_resource_warnings(monkeypatch, calls) -> list:
    """The "unclosed socket" ResourceWarnings raised while `calls` runs and its garbage is collected.

    A socket left open warns in its finaliser, where an error cannot propagate: the unraisable hook
    collects them instead of letting them be printed and forgotten.
    """
    gc.collect()  # what earlier tests left behind is theirs, not these calls'
    caught = []
    monkeypatch.setattr(sys, "unraisablehook", lambda unraisable: caught.append(unraisable.exc_value))
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)
        calls()
        gc.collect()
    return [str(error) for error in caught if isinstance(error, ResourceWarning) and "socket" in str(error)]


def test_clients_made_per_task_leave_no_socket_open(monkeypatch, sandbox):
    def a_few_tasks():
        # As each task does: a client of its own, a call or two, then the client is dropped.
        for _ in range(3):
            client = TaskingClient(sandbox.tasking_url, sandbox.api_key, sleep=sandbox.sleep, timeout=30.0)
            client.list_orders()
            del client

    assert unclosed_resource_warnings(monkeypatch, a_few_tasks) == []


def test_a_closed_transports_connection_waits_for_the_next_task_until_the_plugin_unloads(sandbox):
    with HttpTransport(sandbox.tasking_url, sandbox.api_key, timeout=30.0) as transport:
        transport.request("GET", "orders/")
        pool = transport.session.get_adapter(sandbox.tasking_url).poolmanager
    assert pool.pools  # the next task's client sends over it, without a new handshake …
    close_shared_connections()  # … until the plugin unloads
    assert not pool.pools


def test_a_session_given_to_a_transport_is_left_to_its_owner(sandbox):
    shared = create_session()
    with HttpTransport(sandbox.tasking_url, sandbox.api_key, session=shared, timeout=30.0) as transport:
        transport.request("GET", "orders/")
    assert shared.get_adapter(sandbox.tasking_url).poolmanager.pools  # still open for its other users
    shared.close()
