"""Settings dialog: the service, its API key (UP42: user name and password) and URL, contract, product and the
local-sandbox switch (widgets only)."""

from __future__ import annotations

from typing import Optional

from qgis.PyQt import sip
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ...core import names, settings
from ...core.services import registry
from ...core.tasks import run_in_background
from ..shared.help import open_help
from ..shared.icons import icon

# Products the Planet documents name; the field stays editable for contracts with others.
KNOWN_PRODUCTS = ("one_time_tasking", "Assured Tasking")
KEY_STORED_HINT = "A key is stored in the QGIS authentication database; type a new one to replace it"
KEY_EMPTY_HINT = "Your Planet API key (stored encrypted by QGIS)"
CONTRACT_HINT = "PL-… (needed for assured imaging-window searches)"
SANDBOX_CONTRACT_HINT = "PL-… (start the sandbox and tick the switch again to fill in its contract)"
UP42_STORED_HINT = "Stored in the QGIS authentication database; type new ones to replace them"
UP42_USER_HINT = "The e-mail you log in to UP42 with"
UP42_PASSWORD_HINT = "Your UP42 password (stored encrypted by QGIS)"


class SettingsDialog(QDialog):
    """Shows the current settings; Save writes them through core.settings and closes."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("SatelliteTaskingSettingsDialog")
        self.setWindowTitle("Satellite Tasking settings")
        self.setWindowIcon(icon("settings.svg"))
        self.setMinimumWidth(520)

        # The services come from the registry; keys and URLs are kept per service.
        self.service_combo = QComboBox(self)
        self.service_combo.setObjectName("serviceCombo")
        self.service_combo.setToolTip("The tasking service to order from. Each service keeps its own API key and URL.")
        # Only tasking services: an archive service (Planet's Orders API) shares the tasking key and is not
        # a choice of "the service to order from".
        for descriptor in registry.tasking_services():
            self.service_combo.addItem(descriptor.title, descriptor.id)

        self.api_key_edit = QLineEdit(self)
        self.api_key_edit.setObjectName("apiKeyEdit")
        self.api_key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key_edit.setToolTip("Your API key for the service. It is stored encrypted in the QGIS authentication "
                                     "database, never shown again, logged or saved in a project. Leave empty to keep "
                                     "the stored key.")
        self.forget_key_button = QPushButton("Forget key", self)
        self.forget_key_button.setObjectName("forgetKeyButton")
        self.forget_key_button.setToolTip("Remove the stored API key of this service from the QGIS authentication "
                                          "database.")
        # The key's row is a widget of its own so it can be hidden for a service that logs in with a user name
        # and password instead (UP42); the forget button moves to the password's row then.
        self.key_row = QWidget(self)
        key_row = QHBoxLayout(self.key_row)
        key_row.setContentsMargins(0, 0, 0, 0)
        key_row.addWidget(self.api_key_edit, 1)
        key_row.addWidget(self.forget_key_button)

        # UP42 logs in with a user name and password, kept together in one encrypted auth configuration.
        self.username_edit = QLineEdit(self)
        self.username_edit.setObjectName("up42UsernameEdit")
        self.username_edit.setToolTip("Your UP42 user name (the e-mail you log in with). Stored encrypted in the QGIS "
                                      "authentication database with the password; never shown again or logged.")
        self.password_edit = QLineEdit(self)
        self.password_edit.setObjectName("up42PasswordEdit")
        self.password_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.password_edit.setToolTip("Your UP42 password, stored encrypted in the QGIS authentication database, never "
                                      "shown again, logged or saved in a project. Leave both empty to keep the stored "
                                      "ones.")
        self.forget_credentials_button = QPushButton("Forget", self)
        self.forget_credentials_button.setObjectName("forgetUp42Button")
        self.forget_credentials_button.setToolTip("Remove the stored UP42 user name and password from the QGIS "
                                                  "authentication database.")
        self.password_row = QWidget(self)
        password_row = QHBoxLayout(self.password_row)
        password_row.setContentsMargins(0, 0, 0, 0)
        password_row.addWidget(self.password_edit, 1)
        password_row.addWidget(self.forget_credentials_button)

        self.base_url_edit = QLineEdit(self)
        self.base_url_edit.setObjectName("baseUrlEdit")
        self.base_url_edit.setToolTip("The address of the service's API. Filled in (and locked) when the local "
                                      "sandbox is used.")
        self.pl_number_edit = QLineEdit(self)
        self.pl_number_edit.setObjectName("plNumberEdit")
        self.pl_number_edit.setPlaceholderText(CONTRACT_HINT)
        self.pl_number_edit.setToolTip("Your contract number (pl_number, PL-…). Assured imaging-window searches need "
                                       "it; the service offers no way to look it up. The sandbox fills in its own.")
        # The contract the sandbox switch filled in (taken out again when the switch is turned off).
        self._sandbox_contract: Optional[str] = None
        self.product_combo = QComboBox(self)
        self.product_combo.setObjectName("productCombo")
        self.product_combo.setEditable(True)
        self.product_combo.addItems(("",) + KNOWN_PRODUCTS)
        self.product_combo.setToolTip("The product of your contract orders are placed under; type another if your "
                                      "contract names one. Empty: the service's default.")

        self.sandbox_check = QCheckBox("Use the local sandbox (no account needed)", self)
        self.sandbox_check.setObjectName("useSandboxCheck")
        self.sandbox_check.setToolTip("Try everything without an account: the plugin talks to the sandbox shipped "
                                      "with it on this computer, which emulates the service (no real orders, no "
                                      "charges).")
        self.sandbox_port_spin = QSpinBox(self)
        self.sandbox_port_spin.setObjectName("sandboxPortSpin")
        self.sandbox_port_spin.setRange(1, 65535)
        self.sandbox_port_spin.setToolTip("The port the local sandbox listens on (127.0.0.1).")
        sandbox_row = QHBoxLayout()
        sandbox_row.addWidget(self.sandbox_check, 1)
        sandbox_row.addWidget(QLabel("Port", self))
        sandbox_row.addWidget(self.sandbox_port_spin)

        form = QFormLayout()
        form.addRow("Service", self.service_combo)
        # Labels kept so a row can be hidden with its label (QFormLayout.setRowVisible is Qt ≥ 6.4 only).
        self._key_rows = [self._row(form, "API key", self.key_row)]
        self._up42_rows = [self._row(form, "User name", self.username_edit),
                           self._row(form, "Password", self.password_row)]
        form.addRow("API URL", self.base_url_edit)
        self._planet_rows = [self._row(form, "Contract (pl_number)", self.pl_number_edit),
                             self._row(form, "Product", self.product_combo)]
        form.addRow(sandbox_row)

        self.error_label = QLabel(self)
        self.error_label.setObjectName("errorLabel")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #b00020")
        self.error_label.hide()

        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel
                                        | QDialogButtonBox.StandardButton.Help, self)
        self.buttons.button(QDialogButtonBox.StandardButton.Help).setToolTip(
            "Open the user guide at its settings and sandbox section (in your web browser).")
        self.buttons.button(QDialogButtonBox.StandardButton.Save).setToolTip(
            "Check and store these settings; they apply to the next request.")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setToolTip("Close without changing the settings.")
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.error_label)
        layout.addWidget(self.buttons)

        # All connections are to this dialog's own children, so they go away with it.
        self.buttons.accepted.connect(self.save)
        self.buttons.rejected.connect(self.reject)
        self.buttons.helpRequested.connect(lambda: open_help("settings"))
        self.sandbox_check.toggled.connect(self._sandbox_toggled)
        self.sandbox_port_spin.valueChanged.connect(self._sandbox_toggled)
        self.forget_key_button.clicked.connect(self.forget_key)
        self.forget_credentials_button.clicked.connect(self.forget_key)
        self.service_combo.currentIndexChanged.connect(self._service_chosen)
        self.load()

    def _row(self, form: QFormLayout, text: str, field: QWidget) -> tuple:
        label = QLabel(text, self)
        form.addRow(label, field)
        return label, field

    @property
    def uses_login(self) -> bool:
        """Whether the shown service logs in with a user name and password (UP42) rather than an API key."""
        return self.service_id == settings.UP42

    def _show_service_fields(self) -> None:
        login = self.uses_login
        for label, field in self._up42_rows:
            label.setVisible(login)
            field.setVisible(login)
        # UP42 has no API key, and no contract or product setting (its products are chosen per order).
        for label, field in self._key_rows + self._planet_rows:
            label.setVisible(not login)
            field.setVisible(not login)

    @property
    def service_id(self) -> str:
        """The id of the service the dialog shows (the active one until the user picks another)."""
        return self.service_combo.currentData() or registry.active_service_id()

    def _service_chosen(self, *_args) -> None:
        self._real_base_url = settings.base_url(self.service_id)
        self._show_service_fields()
        self._sandbox_toggled()

    def load(self) -> None:
        """Fill the widgets from the stored settings (the key itself is never read back into a widget)."""
        self.service_combo.blockSignals(True)
        self.service_combo.setCurrentIndex(max(0, self.service_combo.findData(registry.active_service_id())))
        self.service_combo.blockSignals(False)
        self._real_base_url = settings.base_url(self.service_id)
        self.api_key_edit.clear()
        self.username_edit.clear()
        self.password_edit.clear()
        self._show_service_fields()
        self.pl_number_edit.setText(settings.pl_number())
        self.product_combo.setCurrentText(settings.product())
        self.sandbox_port_spin.setValue(settings.sandbox_port())
        self.sandbox_check.setChecked(settings.use_sandbox())
        self._sandbox_toggled()
        self._show_key_state()

    def _show_key_state(self) -> None:
        stored = settings.has_api_key(self.service_id)
        self.forget_key_button.setEnabled(stored)
        self.forget_credentials_button.setEnabled(stored)
        if not self.sandbox_check.isChecked():
            self.api_key_edit.setPlaceholderText(KEY_STORED_HINT if stored else KEY_EMPTY_HINT)
            self.username_edit.setPlaceholderText(UP42_STORED_HINT if stored else UP42_USER_HINT)
            self.password_edit.setPlaceholderText(UP42_STORED_HINT if stored else UP42_PASSWORD_HINT)

    def _sandbox_toggled(self, *_args) -> None:
        sandbox = self.sandbox_check.isChecked()
        if sandbox:
            # Remember what the user typed for the real service, to give it back when unticked.
            if self.base_url_edit.isEnabled():
                self._real_base_url = self.base_url_edit.text()
            url = settings.sandbox_base_url(self.service_id, self.sandbox_port_spin.value())
            self.base_url_edit.setText(url)
            self.api_key_edit.setPlaceholderText(f"The sandbox uses the key “{settings.SANDBOX_API_KEY}”")
            self.username_edit.setPlaceholderText(f"The sandbox logs in as “{settings.SANDBOX_API_KEY}”")
            self.password_edit.setPlaceholderText("")
            self._fill_sandbox_contract()
        else:
            self.base_url_edit.setText(self._real_base_url)
            if self._sandbox_contract and self.pl_number_edit.text().strip() == self._sandbox_contract:
                self.pl_number_edit.clear()  # it was empty before the switch filled it in
            self._sandbox_contract = None
            self.pl_number_edit.setPlaceholderText(CONTRACT_HINT)
        self.base_url_edit.setEnabled(not sandbox)
        self.api_key_edit.setEnabled(not sandbox)
        self.username_edit.setEnabled(not sandbox)
        self.password_edit.setEnabled(not sandbox)
        self.sandbox_port_spin.setEnabled(sandbox)
        if not sandbox:
            self._show_key_state()

    def _fill_sandbox_contract(self) -> None:
        """With the sandbox on and no contract typed, take the sandbox's own (searches require one)."""
        if self.pl_number_edit.text().strip() or self.uses_login:
            return  # UP42 has no contract
        port = self.sandbox_port_spin.value()
        # Asked in a task: even a loopback request must not freeze the dialog (a sandbox starting or hung).
        run_in_background(
            names.task_description("read the local sandbox's contract"),
            lambda feedback: settings.sandbox_contract(port),
            on_success=lambda contract: self._sandbox_contract_read(port, contract),
        )

    def _sandbox_contract_read(self, port: int, contract: Optional[str]) -> None:
        if sip.isdeleted(self.pl_number_edit):  # the dialog went away while the sandbox answered
            return
        if not self.sandbox_check.isChecked() or self.sandbox_port_spin.value() != port:
            return  # the user moved on: switched off, or another port (which asks again)
        if self.pl_number_edit.text().strip():
            return  # a contract the user typed meanwhile is never replaced
        if contract:
            self.pl_number_edit.setText(contract)
            self._sandbox_contract = contract
        else:
            self.pl_number_edit.setPlaceholderText(SANDBOX_CONTRACT_HINT)

    def _fail(self, message: str) -> None:
        self.error_label.setText(message)
        self.error_label.show()

    def forget_key(self) -> None:
        try:
            settings.clear_api_key(self.service_id)
        except settings.AuthStorageError as error:
            self._fail(str(error))
        self._show_key_state()

    def save(self) -> bool:
        """Write the settings; on a problem show it in the dialog and stay open. True when saved."""
        sandbox = self.sandbox_check.isChecked()
        real_url = self._real_base_url if sandbox else self.base_url_edit.text()
        try:
            # Validate everything before writing anything, so a bad URL does not leave half a save.
            url = settings.normalize_base_url(real_url) if real_url.strip() else ""
            key = self.api_key_edit.text().strip()
            # The key next: it is the one write that can fail (a locked auth database, a refused master
            # password), and a failure must leave the stored settings as they were, not half switched.
            # An empty field keeps the stored key: the dialog never shows it, so empty means "unchanged".
            username, password = self.username_edit.text().strip(), self.password_edit.text()
            if self.uses_login and not sandbox and (username or password):
                # Both or neither: empty fields keep the stored pair (the dialog never shows it).
                settings.set_up42_credentials(username, password)
            elif key and not sandbox and not self.uses_login:
                settings.set_api_key(self.service_id, key)
            settings.set_sandbox_port(self.sandbox_port_spin.value())
            settings.set_base_url(self.service_id, url)
            settings.set_pl_number(self.pl_number_edit.text())
            settings.set_product(self.product_combo.currentText())
            settings.set_use_sandbox(sandbox)
            settings.set_active_service(self.service_id)
        except (ValueError, settings.AuthStorageError) as error:
            self._fail(str(error))
            return False
        self.api_key_edit.clear()
        self.username_edit.clear()
        self.password_edit.clear()
        self.error_label.hide()
        self.accept()
        return True
