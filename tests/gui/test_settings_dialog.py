"""The settings dialog names the service it configures, from the registry, and saves the choice."""

from __future__ import annotations

import pytest
from qgis.PyQt.QtCore import QCoreApplication, QEvent

from core import settings
from core.services import registry

pytestmark = pytest.mark.usefixtures("clean_settings")


@pytest.fixture
def dialog(qgis_iface):
    from satellite_tasking.ui.settings.dialog import SettingsDialog

    made = SettingsDialog(qgis_iface.mainWindow())
    yield made
    made.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_the_service_list_is_the_registrys_tasking_services_and_the_active_one_is_chosen(dialog):
    combo = dialog.service_combo
    assert [combo.itemData(i) for i in range(combo.count())] == [s.id for s in registry.tasking_services()]
    # The archive service is registered but is no choice of the service to task: it shares Planet's key.
    assert "planet_orders" in [s.id for s in registry.services()] and combo.findData("planet_orders") == -1
    assert [combo.itemText(i) for i in range(combo.count())][0] == "Planet Tasking"
    assert dialog.service_id == registry.active_service_id() == "planet_tasking"


def test_saving_writes_the_chosen_service_and_its_url_under_its_own_id(dialog):
    dialog.base_url_edit.setText("https://proxy.example.com/tasking/v2")
    assert dialog.save()
    assert settings.active_service() == "planet_tasking"
    assert settings.base_url("planet_tasking") == "https://proxy.example.com/tasking/v2/"
    assert settings.base_url("planet_orders") == settings.DEFAULT_BASE_URLS["planet_orders"]  # untouched


def test_the_sandbox_switch_shows_the_chosen_services_sandbox_url(dialog):
    dialog.sandbox_port_spin.setValue(8799)
    dialog.sandbox_check.setChecked(True)
    assert dialog.base_url_edit.text() == "http://127.0.0.1:8799/tasking/v2/"
    dialog._service_chosen()  # re-choosing the service keeps the sandbox URL, not the real one
    assert dialog.base_url_edit.text() == "http://127.0.0.1:8799/tasking/v2/"
    dialog.sandbox_check.setChecked(False)
    assert dialog.base_url_edit.text() == "https://api.planet.com/tasking/v2/"


def _nothing_saved(before_url: str) -> None:
    assert not settings.has_api_key("planet_tasking")
    assert settings.base_url("planet_tasking") == before_url
    assert settings.pl_number() == ""


@pytest.mark.parametrize("typed,what", [
    ("PLAKdialog-first\nsecond-0123", "line break"),
    ("PLAKdialog-first second-0123", "a space"),
    ("PLAKdialog-first\tsecond-0123", "a tab"),
])
def test_a_key_with_a_line_break_or_space_inside_is_refused_in_the_dialog(dialog, typed, what):
    dialog.api_key_edit.setText(typed)
    dialog.pl_number_edit.setText("PL-000123")
    assert not dialog.save()
    shown = dialog.error_label.text()
    assert what in shown and "character 17 of" in shown
    assert "dialog-first" not in shown and "second-0123" not in shown
    assert not dialog.error_label.isHidden() and dialog.result() == 0  # still open, saying why
    _nothing_saved(settings.DEFAULT_BASE_URLS["planet_tasking"])


@pytest.mark.parametrize("url", [
    "http://PLAKdialog-url-key:@proxy.example.com/tasking/v2/",
    "https://someone:PLAKdialog-url-key@proxy.example.com/tasking/v2/",
])
def test_a_url_with_user_info_is_refused_in_the_dialog(dialog, url):
    dialog.base_url_edit.setText(url)
    dialog.api_key_edit.setText("PLAKgood-key-0123456789")
    assert not dialog.save()
    shown = dialog.error_label.text()
    assert "PLAKdialog-url-key" not in shown
    assert "proxy.example.com" in shown and "API key field" in shown
    _nothing_saved(settings.DEFAULT_BASE_URLS["planet_tasking"])
    # Corrected, it saves: the key in its field, the URL without it.
    dialog.base_url_edit.setText("https://proxy.example.com/tasking/v2/")
    assert dialog.save()
    assert settings.get_api_key("planet_tasking") == "PLAKgood-key-0123456789"
    assert settings.base_url("planet_tasking") == "https://proxy.example.com/tasking/v2/"
