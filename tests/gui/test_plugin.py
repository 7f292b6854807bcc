"""The plugin's lifecycle in pytest-qgis's iface, the dock shell and the settings dialog."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from qgis.core import QgsSettings
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QCoreApplication, QEvent, QObject, QUrl, pyqtSlot
from qgis.PyQt.QtWidgets import QAction, QDockWidget, QMenu, QToolBar

import satellite_tasking
from core import settings
from core.log import MessageLogHandler
from core.tasks import active_tasks

pytestmark = pytest.mark.usefixtures("clean_settings")

KEY = "PLAK-gui-test-key-9f8e7d6c5b4a"


class WebMenu:
    """Makes pytest-qgis's stub iface behave like QGIS for what the plugin touches: a real Web menu with
    plugin submenus, toolbars and docks really added to (and removed from) the main window."""

    def __init__(self, iface):
        self.window = iface.mainWindow()
        self.menu = QMenu("&Web", self.window)
        self.menu.setObjectName("mWebMenu")
        self.window.menuBar().addMenu(self.menu)

    def submenu(self, name):
        return next((a.menu() for a in self.menu.actions() if a.menu() and a.text() == name), None)

    def add(self, name, action):
        menu = self.submenu(name)
        if menu is None:
            menu = self.menu.addMenu(name)
        menu.addAction(action)

    def remove(self, name, action):
        menu = self.submenu(name)
        if menu is None:
            return
        menu.removeAction(action)
        if not menu.actions():  # QGIS drops a plugin's submenu when its last action goes
            self.menu.removeAction(menu.menuAction())
            menu.deleteLater()


@pytest.fixture
def iface(qgis_iface, monkeypatch):
    web = WebMenu(qgis_iface)
    window = qgis_iface.mainWindow()
    monkeypatch.setattr(qgis_iface, "addPluginToWebMenu", web.add, raising=False)
    monkeypatch.setattr(qgis_iface, "removePluginWebMenu", web.remove, raising=False)
    monkeypatch.setattr(qgis_iface, "addToolBar", lambda name: window.addToolBar(name))
    monkeypatch.setattr(qgis_iface, "addDockWidget", lambda area, dock: window.addDockWidget(area, dock))
    monkeypatch.setattr(qgis_iface, "removeDockWidget", lambda dock: window.removeDockWidget(dock))
    qgis_iface.web_menu = web
    # Shown, as QGIS's main window is: docks only report visibility changes inside a visible window.
    window.show()
    yield qgis_iface
    window.hide()
    window.menuBar().removeAction(web.menu.menuAction())
    web.menu.deleteLater()
    flush_deletes()


def flush_deletes():
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    QCoreApplication.processEvents()


def plugin_leftovers(iface):
    """Everything of the plugin still reachable in the main window and in logging."""
    window = iface.mainWindow()
    found = []
    found += [f"toolbar {t.objectName()}" for t in window.findChildren(QToolBar) if "SatelliteTasking" in t.objectName()]
    found += [f"dock {d.objectName()}" for d in window.findChildren(QDockWidget) if "SatelliteTasking" in d.objectName()]
    found += [f"action {a.objectName()}" for a in window.findChildren(QAction) if "SatelliteTasking" in a.objectName()]
    found += [f"widget {w.objectName()}" for w in window.findChildren(QObject) if "SatelliteTasking" in w.objectName()]
    if iface.web_menu.submenu("&Satellite Tasking") is not None:
        found.append("web submenu")
    handlers = [h for h in logging.getLogger("satellite_tasking").handlers if isinstance(h, MessageLogHandler)]
    found += [f"log handler {h}" for h in handlers]
    return sorted(set(found))


def load(iface):
    plugin = satellite_tasking.classFactory(iface)
    plugin.initGui()
    return plugin


def test_init_gui_adds_menu_toolbar_dock_and_actions(iface):
    plugin = load(iface)
    try:
        submenu = iface.web_menu.submenu("&Satellite Tasking")
        assert submenu is not None
        # Later features add their own actions after these two; all of them go to the menu and the toolbar.
        names = [a.objectName() for a in submenu.actions()]
        assert names[:2] == ["SatelliteTaskingDockAction", "SatelliteTaskingSettingsAction"]
        assert submenu.actions() == plugin.actions
        toolbar = iface.mainWindow().findChild(QToolBar, "SatelliteTaskingToolbar")
        assert toolbar is not None and toolbar.actions() == submenu.actions()
        dock = iface.mainWindow().findChild(QDockWidget, "SatelliteTaskingDock")
        assert dock is plugin.dock and not dock.isVisibleTo(iface.mainWindow())
        # The dock's own "Order imagery of the selected captures…" (one action: the dock's enabled state and
        # text wherever it shows), before Help, with an icon for the toolbar.
        assert plugin.order_imagery_action is dock.order_imagery_action
        assert names[-2:] == ["orderImageryAction", "SatelliteTaskingHelpAction"]
        assert plugin.order_imagery_action in toolbar.actions() and not plugin.order_imagery_action.icon().isNull()
        handlers = [h for h in logging.getLogger("satellite_tasking").handlers if isinstance(h, MessageLogHandler)]
        assert len(handlers) == 1

        # The dock action shows and hides the dock, and follows it when the dock is closed another way.
        plugin.dock_action.trigger()
        assert dock.isVisibleTo(iface.mainWindow()) and plugin.dock_action.isChecked()
        dock.close()
        assert not plugin.dock_action.isChecked()
    finally:
        plugin.unload()


def test_unload_leaves_nothing_behind(iface):
    plugin = load(iface)
    plugin.dock_action.trigger()
    plugin.show_settings().reject()
    dock, dialog, actions = plugin.dock, plugin.settings_dialog, list(plugin.actions)
    imagery = plugin.order_imagery_action
    toolbar = iface.mainWindow().findChild(QToolBar, "SatelliteTaskingToolbar")
    submenu = iface.web_menu.submenu("&Satellite Tasking")
    plugin.unload()
    # The dock's action left the Web menu and the toolbar before the dock went (nothing points at it after).
    assert sip.isdeleted(submenu) or imagery not in submenu.actions()
    assert sip.isdeleted(toolbar) or imagery not in toolbar.actions()
    assert plugin.order_imagery_action is None and plugin.actions == []
    flush_deletes()
    assert plugin_leftovers(iface) == []
    assert imagery in actions and sip.isdeleted(imagery)
    assert sip.isdeleted(dock) and sip.isdeleted(dialog) and all(sip.isdeleted(a) for a in actions)
    assert plugin._connections == []
    assert logging.getLogger("satellite_tasking").propagate


def test_load_unload_load(iface):
    for _ in range(3):
        plugin = load(iface)
        assert iface.web_menu.submenu("&Satellite Tasking") is not None
        assert len(iface.mainWindow().findChildren(QDockWidget, "SatelliteTaskingDock")) == 1
        plugin.dock_action.trigger()
        assert plugin.dock.isVisibleTo(iface.mainWindow())
        # Each load puts the Order imagery action in the menu once, never beside a copy of a previous load.
        assert [a.objectName() for a in iface.web_menu.submenu("&Satellite Tasking").actions()].count(
            "orderImageryAction") == 1
        plugin.unload()
        flush_deletes()
        assert plugin_leftovers(iface) == []


def test_dock_shows_not_configured_until_sandbox_chosen(iface, qtbot):
    plugin = load(iface)
    try:
        dock = plugin.dock
        assert "Not configured" in dock.status_label.text()
        assert not dock.content.isEnabled() and dock.client() is None
        # The button starts the sandbox the plugin ships, on a free port (tests/gui/test_sandbox_in_one_click.py).
        dock.sandbox_button.click()
        qtbot.waitUntil(settings.use_sandbox, timeout=30_000)
        assert f"http://127.0.0.1:{plugin.sandbox.port}/tasking/v2/" in dock.status_label.text()
        assert dock.content.isEnabled()
        # "Open settings…" asks the plugin, which opens its dialog.
        dock.settings_button.click()
        assert plugin.settings_dialog is not None and plugin.settings_dialog.isVisible()
        plugin.settings_dialog.reject()
    finally:
        plugin.unload()


def test_dock_builds_a_client_with_the_injected_factory(qgis_iface):
    from satellite_tasking.ui.dock import TaskingDock

    made = []
    dock = TaskingDock(client_factory=lambda: made.append(settings.connection()) or "client")
    try:
        assert dock.client() is None and made == []
        settings.set_use_sandbox(True)
        dock.refresh()
        assert dock.client() == "client"
        assert made[0].base_url == "http://127.0.0.1:8765/tasking/v2/" and made[0].api_key == "sandbox"
    finally:
        dock.deleteLater()
        flush_deletes()


def test_settings_dialog_saves_and_reloads(iface, qgis_auth):
    plugin = load(iface)
    try:
        dialog = plugin.show_settings()
        assert dialog.base_url_edit.text() == "https://api.planet.com/tasking/v2/"
        dialog.api_key_edit.setText(KEY)
        dialog.base_url_edit.setText("https://proxy.example.com/tasking/v2")
        dialog.pl_number_edit.setText("PL-000042")
        dialog.product_combo.setCurrentText("Assured Tasking")
        assert dialog.save()
        assert not dialog.isVisible()

        assert settings.get_api_key() == KEY
        assert settings.base_url() == "https://proxy.example.com/tasking/v2/"
        assert (settings.pl_number(), settings.product()) == ("PL-000042", "Assured Tasking")
        qsettings = QgsSettings()
        assert not any(KEY in str(qsettings.value(k)) or KEY in k for k in qsettings.allKeys())
        # The dock follows the dialog.
        assert "https://proxy.example.com/tasking/v2/" in plugin.dock.status_label.text()

        # Reopened: the values are back, the key is not shown, only that one is stored.
        dialog = plugin.show_settings()
        assert dialog.base_url_edit.text() == "https://proxy.example.com/tasking/v2/"
        assert dialog.pl_number_edit.text() == "PL-000042"
        assert dialog.product_combo.currentText() == "Assured Tasking"
        assert dialog.api_key_edit.text() == ""
        assert "key is stored" in dialog.api_key_edit.placeholderText()
        # Saving with the key field empty keeps the stored key.
        assert dialog.save()
        assert settings.get_api_key() == KEY
    finally:
        plugin.unload()


def test_sandbox_checkbox_sets_the_url(iface):
    plugin = load(iface)
    try:
        dialog = plugin.show_settings()
        dialog.base_url_edit.setText("https://proxy.example.com/tasking/v2/")
        dialog.sandbox_check.setChecked(True)
        assert dialog.base_url_edit.text() == "http://127.0.0.1:8765/tasking/v2/"
        assert not dialog.base_url_edit.isEnabled() and not dialog.api_key_edit.isEnabled()
        dialog.sandbox_port_spin.setValue(9001)
        assert dialog.base_url_edit.text() == "http://127.0.0.1:9001/tasking/v2/"
        # Unticking gives back what was typed for the real service.
        dialog.sandbox_check.setChecked(False)
        assert dialog.base_url_edit.text() == "https://proxy.example.com/tasking/v2/"
        dialog.sandbox_check.setChecked(True)
        assert dialog.save()
        assert settings.use_sandbox() and settings.sandbox_port() == 9001
        assert settings.active_base_url() == "http://127.0.0.1:9001/tasking/v2/"
        assert settings.active_api_key() == "sandbox"
        # The real service's URL is kept for when the sandbox is switched off.
        assert settings.base_url() == "https://proxy.example.com/tasking/v2/"
    finally:
        plugin.unload()


def sandbox_contract_and_port(sandbox):
    port = int(sandbox.root.rsplit(":", 1)[1])
    accounts = sandbox.control("GET", "accounts")["accounts"]
    return next(a for a in accounts if a["api_key"] == settings.SANDBOX_API_KEY)["default_pl_number"], port


def test_sandbox_checkbox_fills_in_the_sandbox_contract(iface, sandbox, qtbot):
    # Imaging-window searches require pl_number (planet-assured-tasking.txt); the sandbox says which is its own.
    contract, port = sandbox_contract_and_port(sandbox)
    plugin = load(iface)
    try:
        dialog = plugin.show_settings()
        dialog.sandbox_port_spin.setValue(port)
        assert dialog.pl_number_edit.text() == ""
        dialog.sandbox_check.setChecked(True)
        # Read in a background task: the dialog stays responsive while the sandbox answers.
        qtbot.waitUntil(lambda: dialog.pl_number_edit.text() == contract, timeout=10_000)
        # Switched off again: the contract it filled in goes, as the sandbox URL does.
        dialog.sandbox_check.setChecked(False)
        assert dialog.pl_number_edit.text() == ""
        # A contract the user typed is never replaced.
        dialog.pl_number_edit.setText("PL-000042")
        dialog.sandbox_check.setChecked(True)
        assert dialog.pl_number_edit.text() == "PL-000042"
        dialog.pl_number_edit.clear()
        dialog.sandbox_check.setChecked(False)
        dialog.sandbox_check.setChecked(True)
        qtbot.waitUntil(lambda: dialog.pl_number_edit.text() == contract, timeout=10_000)
        assert dialog.save()
        assert settings.use_sandbox() and settings.pl_number() == contract
    finally:
        plugin.unload()


def test_a_contract_typed_while_the_sandbox_answers_is_kept(iface, sandbox, qtbot):
    contract, port = sandbox_contract_and_port(sandbox)
    plugin = load(iface)
    try:
        dialog = plugin.show_settings()
        dialog.sandbox_port_spin.setValue(port)
        dialog.sandbox_check.setChecked(True)
        dialog.pl_number_edit.setText("PL-000042")  # before the task's answer is delivered
        qtbot.waitUntil(lambda: not active_tasks(), timeout=10_000)
        assert dialog.pl_number_edit.text() == "PL-000042"
    finally:
        plugin.unload()


def test_the_docks_use_sandbox_button_also_sets_the_sandbox_contract(iface, sandbox, qtbot):
    contract, port = sandbox_contract_and_port(sandbox)
    settings.set_sandbox_port(port)
    plugin = load(iface)
    try:
        plugin.dock.sandbox_button.click()
        # It starts the plugin's own sandbox; every sandbox's key has the same contract.
        qtbot.waitUntil(settings.use_sandbox, timeout=30_000)
        qtbot.waitUntil(lambda: settings.pl_number() == contract, timeout=10_000)
    finally:
        plugin.unload()


def test_settings_dialog_refuses_a_bad_url_and_writes_nothing(iface):
    plugin = load(iface)
    try:
        dialog = plugin.show_settings()
        dialog.base_url_edit.setText("not a url")
        dialog.pl_number_edit.setText("PL-1")
        assert not dialog.save()
        assert dialog.isVisible() and dialog.error_label.isVisibleTo(dialog)
        assert "not an http(s) URL" in dialog.error_label.text()
        assert settings.pl_number() == ""
        dialog.reject()
    finally:
        plugin.unload()


def test_locked_auth_database_is_reported_in_the_dialog(iface, qgis_auth):
    plugin = load(iface)
    try:
        dialog = plugin.show_settings()
        qgis_auth.clearMasterPassword()
        dialog.api_key_edit.setText(KEY)
        dialog.pl_number_edit.setText("PL-000077")
        dialog.base_url_edit.setText("https://proxy.example.com/tasking/v2/")
        assert not dialog.save()
        assert "master password" in dialog.error_label.text()
        assert KEY not in dialog.error_label.text()
        # Nothing of the failed save was written: no half-switched configuration.
        assert settings.pl_number() == ""
        assert settings.base_url() == settings.DEFAULT_BASE_URLS[settings.PLANET_TASKING]
        dialog.reject()
    finally:
        plugin.unload()


class _UrlCatcher(QObject):
    """Takes the URLs QDesktopServices would open (Qt's own hook for a scheme), instead of a browser."""

    def __init__(self):
        super().__init__()
        self.urls = []

    @pyqtSlot(QUrl)
    def open(self, url):
        self.urls.append(url)


def test_the_help_action_opens_the_shipped_guide(iface):
    from qgis.PyQt.QtGui import QDesktopServices

    catcher = _UrlCatcher()
    QDesktopServices.setUrlHandler("file", catcher, "open")
    plugin = load(iface)
    try:
        assert plugin.help_action in iface.web_menu.submenu("&Satellite Tasking").actions()
        plugin.help_action.trigger()
        assert len(catcher.urls) == 1
        guide = Path(catcher.urls[0].toLocalFile())
        assert guide.name == "index.html" and guide.is_file() and "Satellite Tasking" in guide.read_text("utf-8")
    finally:
        QDesktopServices.unsetUrlHandler("file")
        plugin.unload()


def test_orders_created_in_bulk_show_in_the_orders_view_and_layer_without_a_refresh(
        iface, sandbox, qtbot, monkeypatch, tmp_path):
    from qgis.core import QgsFeature, QgsGeometry, QgsPointXY, QgsProject, QgsVectorLayer

    from core import compat

    monkeypatch.setenv("SATELLITE_TASKING_BULK_JOURNAL", str(tmp_path / "journal.sqlite"))
    contract, port = sandbox_contract_and_port(sandbox)
    settings.set_sandbox_port(port)
    settings.set_use_sandbox(True)
    sites = QgsVectorLayer("Point?crs=EPSG:4326", "field sites", "memory")
    sites.dataProvider().addAttributes([compat.make_field("site", compat.STRING)])
    sites.updateFields()
    features = []
    for n in range(3):
        feature = QgsFeature(sites.fields())
        feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(10 + n * 0.5, 50)))
        feature.setAttributes([f"bulk refresh site {n}"])
        features.append(feature)
    sites.dataProvider().addFeatures(features)
    QgsProject.instance().addMapLayer(sites)
    plugin = load(iface)
    try:
        plugin.dock_action.trigger()
        panel = plugin.dock.orders_panel
        plugin.dock.tabs.setCurrentWidget(panel)  # the tab loads when first shown
        qtbot.waitUntil(lambda: panel.model.total is not None and not panel.busy(), timeout=60_000)
        before = panel.model.total
        # Not the automatic refresh (it would come some 20 s later): the bulk job's own signal is tested.
        panel.refresher.auto = False
        panel.refresher.stop()

        dialog = plugin.show_bulk_dialog()
        dialog.confirm = lambda text: True
        dialog.layer_combo.setLayer(sites)
        dialog.selected_only.setChecked(False)
        dialog.set_expression("name", '"site"')
        dialog.validate_button.click()
        qtbot.waitUntil(lambda: dialog.report is not None, timeout=30_000)
        assert dialog.price_button.isEnabled(), (dialog.validation_label.text(), dialog.report)
        dialog.price_button.click()
        qtbot.waitUntil(lambda: dialog.pricing is not None, timeout=30_000)
        assert dialog.create_button.isEnabled(), (dialog.validation_label.text(), dialog.price_label.text())
        dialog.create_button.click()
        # The test sandbox's clock stands still unless moved: the bulk job's parts are processed on it.
        qtbot.waitUntil(lambda: sandbox.sleep(5) or dialog.outcome is not None, timeout=60_000)
        created = {item.order_id for item in dialog.outcome.succeeded}
        assert len(created) == 3

        # No Refresh clicked: the list and the "Tasking orders" layer read the new orders by themselves.
        try:
            qtbot.waitUntil(lambda: panel.model.total == before + 3 and not panel.busy(), timeout=60_000)
        except Exception:  # say what the tab showed (one CI-like full run timed out here once)
            raise AssertionError(f"{before=} {panel.model.total=} busy={panel.busy()} "
                                 f"{panel.count_label.text()!r} {panel.message_label.text()!r}") from None
        # The list reads rows as the view asks (a page at a time); a short dock may not ask for all of them by
        # itself, so the test scrolls as a user would. Refresh is still never pressed.
        while panel.model.canFetchMore():
            panel.model.fetchMore()
            qtbot.waitUntil(lambda: not panel.busy(), timeout=60_000)
        assert created <= set(panel.model.order_by_id())
        assert created <= {f["id"] for f in panel.orders_layer.getFeatures()}
        assert f"{before + 3} of {before + 3} orders loaded" in panel.count_label.text()
    finally:
        plugin.unload()
        QgsProject.instance().removeMapLayer(sites.id())
    assert plugin._connections == []


def first_run_hints(iface):
    from qgis.PyQt.QtWidgets import QPushButton

    return [item for item in iface.messageBar().items()
            if item.widget() is not None and isinstance(item.widget(), QPushButton)
            and item.widget().objectName() == "firstRunOpenDockButton"]


def test_the_first_start_in_a_profile_says_how_to_begin_once_with_a_button_to_the_panel(iface, qtbot):
    iface.messageBar().clearWidgets()
    plugin = load(iface)
    try:
        qtbot.waitUntil(lambda: len(first_run_hints(iface)) == 1, timeout=5000)
        hint = first_run_hints(iface)[0]
        assert "Try without an account" in hint.text() and "API key" in hint.text()
        assert not plugin.dock.isVisible()
        hint.widget().click()
        assert plugin.dock.isVisible() and plugin.dock_action.isChecked()
        assert first_run_hints(iface) == []  # it did its job
    finally:
        plugin.unload()

    # Enabled again (a reload, the next start of QGIS): no hint, it was given in this profile already.
    plugin = load(iface)
    try:
        qtbot.wait(200)
        assert first_run_hints(iface) == []
    finally:
        plugin.unload()

    # A hint still showing at unload goes with the plugin (its button would call unloaded code).
    settings.QgsSettings().remove(settings.PREFIX + settings.FIRST_RUN_DONE_KEY)
    plugin = load(iface)
    qtbot.waitUntil(lambda: len(first_run_hints(iface)) == 1, timeout=5000)
    plugin.unload()
    assert first_run_hints(iface) == []
