"""Where an archive order's files go: downloaded to a folder (the default), a cloud bucket, or Sentinel Hub; and who is told."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, Mapping, Optional

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from ...core import settings
from ...core.errors import ValidationError
from ...core.services.planet_orders import credentials
from ...core.services.planet_orders.forms import (
    CLOUD_DESTINATIONS,
    CloudDelivery,
    cloud_delivery,
    hosting_block,
    notifications_block,
)
from ...core.services.planet_orders.models import Delivery
from .fields import FieldErrors, PageStack, error_label

DOWNLOAD = "download"
HOSTING = "sentinel_hub"
DESTINATION_TIPS = {
    "amazon_s3": "Planet writes the files into your Amazon S3 bucket, with the access key you give here.",
    "google_cloud_storage": "Planet writes the files into your Google Cloud Storage bucket, with a service "
                            "account key (base64 of its JSON) that may write there.",
    "azure_blob_storage": "Planet writes the files into a container of your Azure storage account, with a SAS token.",
    "oracle_cloud_storage": "Planet writes the files into your Oracle Cloud Object Storage bucket.",
    "google_earth_engine": "Planet delivers the imagery into an image collection of your Earth Engine project.",
}


@dataclass(frozen=True)
class DeliveryChoice:
    """What the group's form says: the delivery block, hosting, notifications and the folder to download to."""

    delivery: Delivery
    hosting: Optional[Mapping[str, Any]]
    notifications: Optional[Mapping[str, Any]]
    folder: Optional[str]
    description: str


class DeliveryGroup(QGroupBox):
    """Direct download into a folder by default; cloud destinations and hosting as forms, secrets kept only
    in QGIS's authentication database (QgsAuthManager), never in settings."""

    def __init__(self, errors: FieldErrors, parent: Optional[QWidget] = None):
        super().__init__("Delivery", parent)
        self.errors = errors
        layout = QVBoxLayout(self)

        self.mode_combo = QComboBox(self)
        self.mode_combo.setObjectName("deliveryCombo")
        self.mode_combo.setToolTip("Where the order's files go. Downloaded here (the default), the rasters are "
                                   "added to the map; a cloud bucket or Sentinel Hub gets them without this "
                                   "computer.")
        self.mode_combo.addItem("Download to this computer", DOWNLOAD)
        for destination, (title, _) in CLOUD_DESTINATIONS.items():
            self.mode_combo.addItem(f"Deliver to {title}", destination)
        self.mode_combo.addItem("Host on Sentinel Hub", HOSTING)
        layout.addWidget(self.mode_combo)

        self.stack = PageStack(self)
        layout.addWidget(self.stack)
        self.pages: Dict[str, QWidget] = {}
        self.inputs: Dict[str, Dict[str, QLineEdit]] = {}
        self.prefix_edits: Dict[str, QLineEdit] = {}
        self.remember_boxes: Dict[str, QCheckBox] = {}
        self._loaded: set = set()

        page = QWidget(self.stack)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.folder_widget = QgsFileWidget(page)
        self.folder_widget.setObjectName("downloadFolderWidget")
        self.folder_widget.setStorageMode(QgsFileWidget.StorageMode.GetDirectory)
        self.folder_widget.setDialogTitle("Folder for the ordered imagery")
        self.folder_widget.setToolTip("The files are saved here as the order names them (<order id>/<item type>/…); "
                                      "a download cut short resumes where it stopped.")
        self.folder_widget.setFilePath(settings.archive_download_folder())
        form.addRow("Folder", self.folder_widget)
        folder_error = error_label(page, "folderError")
        form.addRow(folder_error)
        errors.add(["folder"], self.folder_widget, folder_error)
        self._add_page(DOWNLOAD, page)

        for destination, (title, fields) in CLOUD_DESTINATIONS.items():
            page = QWidget(self.stack)
            form = QFormLayout(page)
            form.setContentsMargins(0, 0, 0, 0)
            edits: Dict[str, QLineEdit] = {}
            for name, label, secret in fields:
                edit = QLineEdit(page)
                edit.setObjectName(f"{destination}_{name}")
                if secret:
                    edit.setEchoMode(QLineEdit.EchoMode.Password)
                edit.setToolTip(f"{title}: {label}" + (" (kept encrypted in QGIS's authentication database, "
                                                       "never in settings or projects)" if secret else "") + ".")
                form.addRow(label, edit)
                message = error_label(page, f"{destination}_{name}Error")
                form.addRow(message)
                errors.add([f"{destination}.{name}"], edit, message)
                edits[name] = edit
            prefix = QLineEdit(page)
            prefix.setObjectName(f"{destination}_path_prefix")
            prefix.setPlaceholderText("optional")
            prefix.setToolTip("A folder inside the destination to write the order's files under.")
            form.addRow("Path prefix", prefix)
            remember = QCheckBox("Keep in QGIS's auth database", page)
            remember.setObjectName(f"{destination}_remember")
            remember.setChecked(True)
            remember.setToolTip(f"Stored encrypted as the configuration “{credentials.config_name(destination)}” "
                                "(Settings ▸ Options ▸ Authentication), so the form is filled next time; "
                                "never in settings, logs or projects.")
            form.addRow(remember)
            self.inputs[destination], self.prefix_edits[destination] = edits, prefix
            self.remember_boxes[destination] = remember
            page.setToolTip(DESTINATION_TIPS.get(destination, ""))
            self._add_page(destination, page)

        page = QWidget(self.stack)
        form = QFormLayout(page)
        form.setContentsMargins(0, 0, 0, 0)
        self.collection_edit = QLineEdit(page)
        self.collection_edit.setObjectName("collectionIdEdit")
        self.collection_edit.setPlaceholderText("empty: a new collection")
        self.collection_edit.setToolTip("The Sentinel Hub collection to host the imagery in; left empty, Planet "
                                        "makes a new collection for the order.")
        form.addRow("Collection id", self.collection_edit)
        collection_error = error_label(page, "collectionError")
        form.addRow(collection_error)
        errors.add(["collection_id", "hosting"], self.collection_edit, collection_error)
        self._add_page(HOSTING, page)

        self.zip_check = QCheckBox("Zip each item's files", self)
        self.zip_check.setObjectName("zipCheck")
        self.zip_check.setToolTip("Planet packs each item's files in a zip archive (fewer, larger files).")
        self.single_archive_check = QCheckBox("One zip for the whole order", self)
        self.single_archive_check.setObjectName("singleArchiveCheck")
        self.single_archive_check.setToolTip("Planet packs all the order's files in one zip archive.")
        layout.addWidget(self.zip_check)
        layout.addWidget(self.single_archive_check)

        notify = QFormLayout()
        self.email_check = QCheckBox("Email me when the order is ready", self)
        self.email_check.setObjectName("emailCheck")
        self.email_check.setToolTip("Planet emails the account's address when the order has finished.")
        notify.addRow(self.email_check)
        self.webhook_edit = QLineEdit(self)
        self.webhook_edit.setObjectName("webhookEdit")
        self.webhook_edit.setPlaceholderText("https://…  (optional)")
        self.webhook_edit.setToolTip("Planet calls this URL when the order changes state (one call per order).")
        notify.addRow("Webhook", self.webhook_edit)
        webhook_error = error_label(self, "webhookError")
        notify.addRow(webhook_error)
        errors.add(["webhook_url"], self.webhook_edit, webhook_error)
        layout.addLayout(notify)
        self.hint_label = QLabel(self)
        self.hint_label.setWordWrap(True)
        layout.addWidget(self.hint_label)

        self.mode_combo.currentIndexChanged.connect(self._mode_changed)
        self._mode_changed()

    def _add_page(self, key: str, page: QWidget) -> None:
        self.pages[key] = page
        self.stack.addWidget(page)

    def mode(self) -> str:
        return self.mode_combo.currentData()

    def set_mode(self, key: str) -> None:
        self.mode_combo.setCurrentIndex(self.mode_combo.findData(key))

    def _mode_changed(self, *_: Any) -> None:
        mode = self.mode()
        self.stack.setCurrentIndex(self.stack.indexOf(self.pages[mode]))
        zippable = mode != HOSTING
        self.zip_check.setEnabled(zippable)
        self.single_archive_check.setEnabled(zippable)
        hints = {DOWNLOAD: "The rasters are added to the map when they have arrived.",
                 HOSTING: "Sentinel Hub hosts the imagery; nothing is downloaded here."}
        self.hint_label.setText(hints.get(mode, "Planet delivers to the bucket; nothing is downloaded here."))
        if mode in CLOUD_DESTINATIONS and mode not in self._loaded:
            self._loaded.add(mode)
            self._fill_stored(mode)

    def _fill_stored(self, destination: str) -> None:
        """Fill the form from the destination's stored configuration (decrypted only now, on the user's choice)."""
        try:
            stored = credentials.load(destination)
        except credentials.CredentialsUnavailable as error:
            self.hint_label.setText(str(error))
            return
        for name, value in stored.items():
            edit = self.inputs[destination].get(name)
            if edit is not None and not edit.text():
                edit.setText(value)

    def choice(self) -> DeliveryChoice:
        """The checked choice; ValidationError keyed by field (cloud fields as "<destination>.<field>")."""
        mode = self.mode()
        zipped, single = self.zip_check.isChecked(), self.single_archive_check.isChecked()
        notifications = notifications_block(self.email_check.isChecked(), self.webhook_edit.text())
        if mode == DOWNLOAD:
            folder = self.folder_widget.filePath().strip()
            if not folder:
                raise ValidationError("Choose a folder", field_errors={
                    "folder": ["Choose the folder to download the imagery into."]})
            return DeliveryChoice(Delivery(archive_type="zip" if zipped or single else None, single_archive=single),
                                  None, notifications, folder, f"downloaded into {folder}")
        if mode == HOSTING:
            return DeliveryChoice(Delivery(), hosting_block(self.collection_edit.text()), notifications, None,
                                  "hosted on Sentinel Hub")
        values = {name: edit.text() for name, edit in self.inputs[mode].items()}
        try:
            delivery: CloudDelivery = cloud_delivery(mode, values, path_prefix=self.prefix_edits[mode].text(),
                                                     zip_archive=zipped, single_archive=single)
        except ValidationError as error:
            raise ValidationError(str(error), field_errors={
                f"{mode}.{name}": messages for name, messages in error.field_errors.items()}) from None
        title = CLOUD_DESTINATIONS[mode][0]
        where = values.get("bucket") or values.get("container") or values.get("collection") or ""
        return DeliveryChoice(delivery, None, notifications, None, f"delivered to {title} {where}".strip())

    def keep_credentials(self) -> Optional[str]:
        """Store the chosen destination's form in QgsAuthManager when asked to; the configuration id or None."""
        mode = self.mode()
        if mode not in CLOUD_DESTINATIONS or not self.remember_boxes[mode].isChecked():
            return None
        values = {name: edit.text().strip() for name, edit in self.inputs[mode].items()}
        return credentials.store(mode, values)

    def remember_folder(self) -> None:
        if self.mode() == DOWNLOAD and self.folder_widget.filePath().strip():
            settings.set_archive_download_folder(self.folder_widget.filePath())

