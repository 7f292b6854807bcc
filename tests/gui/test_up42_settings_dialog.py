"""The settings dialog for UP42: user name and password instead of an API key, kept only in QGIS's auth database."""

from __future__ import annotations

import pytest
from qgis.core import QgsApplication, QgsSettings
from qgis.PyQt.QtCore import QCoreApplication, QEvent

from core import settings
from core.log import redact
from core.services import registry

pytestmark = pytest.mark.usefixtures("clean_settings")

USER = "ada@example.com"
PASSWORD = "c0rrect horse-battery"  # a space: passwords may hold one, API keys may not


@pytest.fixture
def dialog(qgis_iface):
    from satellite_tasking.ui.settings.dialog import SettingsDialog

    made = SettingsDialog(qgis_iface.mainWindow())
    made.show()
    yield made
    made.close()
    made.deleteLater()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def _choose_up42(dialog) -> None:
    dialog.service_combo.setCurrentIndex(dialog.service_combo.findData("up42"))
    assert dialog.service_id == "up42"


def _settings_text() -> str:
    stored = QgsSettings()
    stored.sync()
    return "\n".join(f"{key}={stored.value(key)}" for key in stored.allKeys())


def test_up42_asks_for_a_user_name_and_password_instead_of_a_key_and_no_contract(dialog):
    assert dialog.api_key_edit.isVisible() and not dialog.username_edit.isVisible()
    _choose_up42(dialog)
    assert dialog.username_edit.isVisible() and dialog.password_edit.isVisible()
    assert dialog.password_edit.echoMode() == dialog.password_edit.EchoMode.Password
    assert not dialog.api_key_edit.isVisible()
    assert not dialog.pl_number_edit.isVisible() and not dialog.product_combo.isVisible()
    assert dialog.base_url_edit.isVisible() and dialog.base_url_edit.text() == "https://api.up42.com/"
    dialog.sandbox_check.setChecked(True)
    port = dialog.sandbox_port_spin.value()
    assert dialog.base_url_edit.text() == f"http://127.0.0.1:{port}/" and not dialog.username_edit.isEnabled()
    # Back to Planet: its key, contract and product again.
    dialog.service_combo.setCurrentIndex(dialog.service_combo.findData("planet_tasking"))
    assert dialog.api_key_edit.isVisible() and dialog.pl_number_edit.isVisible()
    assert not dialog.username_edit.isVisible()


def test_up42_credentials_are_stored_in_one_auth_configuration_and_nowhere_else(dialog):
    _choose_up42(dialog)
    dialog.username_edit.setText(USER)
    dialog.password_edit.setText(PASSWORD)
    assert dialog.save()
    assert settings.active_service() == "up42" and registry.active_service_id() == "up42"
    assert settings.up42_credentials() == (USER, PASSWORD)
    assert settings.active_api_key("up42") == (USER, PASSWORD)
    # Once stored, the password is masked in any log line or error text that would quote it.
    assert PASSWORD not in redact(f"login failed for {USER} with {PASSWORD}")
    # One Basic configuration holds both; the plugin's settings only name its id.
    config_id = settings.auth_config_id("up42")
    manager = QgsApplication.authManager()
    assert [i for i, c in manager.availableAuthMethodConfigs().items() if "up42" in c.name()] == [config_id]
    text = _settings_text()
    assert config_id in text and USER not in text and PASSWORD not in text
    # Planet's key is untouched; the dialog never shows the pair again.
    assert not settings.has_api_key("planet_tasking")
    assert dialog.username_edit.text() == dialog.password_edit.text() == ""


def test_saving_again_with_empty_fields_keeps_the_stored_pair_and_forget_removes_it(dialog):
    settings.set_up42_credentials(USER, PASSWORD)
    settings.set_active_service("up42")
    dialog.load()
    assert dialog.service_id == "up42" and dialog.forget_credentials_button.isEnabled()
    assert "Stored" in dialog.username_edit.placeholderText()
    assert dialog.save()
    assert settings.up42_credentials() == (USER, PASSWORD)
    dialog.forget_credentials_button.click()
    assert settings.up42_credentials() is None and not settings.has_api_key("up42")


@pytest.mark.parametrize("user,password", [(USER, ""), ("", PASSWORD), (USER, "pass\nword")])
def test_an_incomplete_or_broken_pair_is_refused_with_nothing_stored(dialog, user, password):
    _choose_up42(dialog)
    dialog.username_edit.setText(user)
    dialog.password_edit.setText(password)
    assert not dialog.save()
    assert dialog.error_label.isVisible() and "UP42" in dialog.error_label.text()
    assert password.strip() == "" or password not in dialog.error_label.text()
    assert settings.up42_credentials() is None and settings.active_service() != "up42"


def test_with_the_sandbox_on_up42_logs_in_with_the_sandbox_key_and_a_client_reaches_it(dialog, sandbox):
    port = int(sandbox.root.rsplit(":", 1)[1])
    _choose_up42(dialog)
    dialog.sandbox_port_spin.setValue(port)
    dialog.sandbox_check.setChecked(True)
    assert dialog.save()
    assert settings.up42_credentials() is None  # nothing stored for the sandbox
    client = registry.client_for()
    assert client.base_url == f"http://127.0.0.1:{port}/"
    assert client.workspace_id  # logged in: the workspace came from userinfo
