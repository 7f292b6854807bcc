"""Step 2 of the New order tab: the order's options (name, scheduling, imaging, times, elevation, contract)."""

from __future__ import annotations

from typing import Any, Optional

from qgis.gui import QgsCollapsibleGroupBox
from qgis.PyQt.QtCore import Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QDateTimeEdit,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from ...core.services.planet_tasking.forms import (
    ASSURED,
    DEFAULT_ELEVATION_MAX,
    DEFAULT_ELEVATION_MIN,
    EXCLUSIVITY_CHOICES,
    FLEXIBLE,
    IMAGE,
    STEREO,
    OrderForm,
    default_order_name,
    default_product,
    default_times,
)
from .fields import DATE_FORMAT, FieldErrors, qdatetime, utc


class OptionsGroup(QGroupBox):
    """The order's fields, with what the user typed kept apart from the defaults that follow the AOI."""

    changed = pyqtSignal()  # any field changed
    schedulingChanged = pyqtSignal()  # noqa: N815 - flexible <-> assured (defaults already applied)
    exclusivityChanged = pyqtSignal()  # noqa: N815

    def __init__(self, errors: FieldErrors, parent: Optional[QWidget] = None):
        super().__init__("2. Order", parent)
        self.setObjectName("optionsGroup")
        self.errors = errors
        # While the panel fills fields itself, their change signals are not the user's edits.
        self.loading = True
        self.name_edited = False
        self.times_edited = False
        self.pl_number_edited = False
        self.product_edited = False
        self._build()

    def _field(self, form: QFormLayout, label: str, widget: QWidget, row: str, tip: str,
               buddy: Optional[QWidget] = None) -> None:
        holder = QWidget(form.parentWidget())
        box = QVBoxLayout(holder)
        box.setContentsMargins(0, 0, 0, 0)
        box.setSpacing(1)
        box.addWidget(widget)
        box.addWidget(self.errors.label(holder, row))
        widget.setToolTip(tip)
        if isinstance(widget, QComboBox):
            # Long choices must not make the whole dock wide: the combo shrinks, its popup shows all.
            widget.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            widget.setMinimumContentsLength(8)
        caption = QLabel(label, form.parentWidget())
        # The label's mnemonic (Alt+letter) jumps to the field.
        caption.setBuddy(buddy or widget)
        caption.setToolTip(tip)
        form.addRow(caption, holder)

    @staticmethod
    def _one_column(parent: QWidget) -> QFormLayout:
        form = QFormLayout(parent)
        # Labels above their fields: the form fits a narrow dock without a second column to squeeze.
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapAllRows)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        return form

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        main = QWidget(self)
        form = self._one_column(main)
        form.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(main)
        # Rarely changed options, folded away; opened by itself when one of them has an error.
        self.more_group = QgsCollapsibleGroupBox("More options", self)
        self.more_group.setObjectName("moreOptionsGroup")
        # Folded each time the panel is made (QGIS would otherwise restore the last session's state).
        self.more_group.setSaveCollapsedState(False)
        self.more_group.setToolTip("Satellite elevation, contract, product and exclusivity: their defaults suit "
                                   "most orders")
        outer.addWidget(self.more_group)

        self.name_edit = QLineEdit(self)
        self.name_edit.setObjectName("nameEdit")
        self.name_edit.setMaxLength(300)
        self.name_edit.textEdited.connect(self._name_typed)
        self._field(form, "&Name", self.name_edit, "name",
                    "The order's name in the order list (up to 255 characters). Filled in from the AOI until you type.")

        self.scheduling_combo = QComboBox(self)
        self.scheduling_combo.setObjectName("schedulingCombo")
        self.scheduling_combo.addItem("Flexible — imaged when possible", FLEXIBLE)
        self.scheduling_combo.addItem("Assured — a window you choose", ASSURED)
        self.scheduling_combo.currentIndexChanged.connect(self._scheduling_changed)
        self._field(form, "S&cheduling", self.scheduling_combo, "scheduling_type",
                    "Flexible: the service images the AOI when it can between start and end, retrying until a "
                    "capture passes quality checks. Assured: you pick a satellite pass (point or strip only).")

        self.imaging_combo = QComboBox(self)
        self.imaging_combo.setObjectName("imagingCombo")
        self.imaging_combo.addItem("Image (one view)", (IMAGE, None))
        self.imaging_combo.addItem("Stereo, 2 points of view", (STEREO, 2))
        self.imaging_combo.addItem("Stereo, 3 points of view", (STEREO, 3))
        self.imaging_combo.currentIndexChanged.connect(lambda *_: self.changed.emit())
        self._field(form, "&Imaging", self.imaging_combo, "order_type",
                    "Stereo takes 2 or 3 images from different angles (for elevation models); "
                    "the price is multiplied by the number of views.")

        self.start_edit = self._datetime_edit("startEdit")
        self._field(form, "S&tart (UTC)", self.start_edit, "start_time",
                    "Earliest imaging time, in UTC (Planet works in UTC); a start in the past means now.")
        self.end_edit = self._datetime_edit("endEdit")
        self._field(form, "&End (UTC)", self.end_edit, "end_time",
                    "Latest imaging time, in UTC. Assured: imaging windows are searched up to 7 days ahead.")

        form = self._one_column(self.more_group)
        elevation = QWidget(self.more_group)
        row = QHBoxLayout(elevation)
        row.setContentsMargins(0, 0, 0, 0)
        self.elevation_min_spin = self._angle_spin(elevation, "elevationMinSpin", DEFAULT_ELEVATION_MIN)
        self.elevation_max_spin = self._angle_spin(elevation, "elevationMaxSpin", DEFAULT_ELEVATION_MAX)
        row.addWidget(self.elevation_min_spin)
        row.addWidget(QLabel("to", elevation))
        row.addWidget(self.elevation_max_spin)
        self._field(form, "Satellite e&levation", elevation, "sat_elevation",
                    "The satellite's elevation above the AOI's horizon, in degrees (90° = straight overhead). "
                    "A higher minimum gives sharper images but fewer chances.", buddy=self.elevation_min_spin)
        self.elevation_min_spin.setToolTip("Lowest satellite elevation, in degrees (0–90°)")
        self.elevation_max_spin.setToolTip("Highest satellite elevation, in degrees (0–90°)")

        self.pl_number_edit = QLineEdit(self.more_group)
        self.pl_number_edit.setObjectName("plNumberEdit")
        self.pl_number_edit.setPlaceholderText("contract default (assured: required)")
        self.pl_number_edit.textChanged.connect(lambda *_: self.changed.emit())
        self.pl_number_edit.textEdited.connect(lambda _text: setattr(self, "pl_number_edited", True))
        self._field(form, "C&ontract", self.pl_number_edit, "pl_number",
                    "Your Planet contract number (PL-…), from the plugin's settings; empty: the key's default "
                    "for flexible orders. Imaging-window searches (assured) require it.")

        self.product_edit = QLineEdit(self.more_group)
        self.product_edit.setObjectName("productEdit")
        self.product_edit.setPlaceholderText("contract default")
        self.product_edit.textChanged.connect(lambda *_: self.changed.emit())
        self.product_edit.textEdited.connect(lambda _text: setattr(self, "product_edited", True))
        self._field(form, "Pro&duct", self.product_edit, "product",
                    "The tasking product, from the settings (e.g. one_time_tasking; Assured Tasking for assured).")

        self.exclusivity_combo = QComboBox(self.more_group)
        self.exclusivity_combo.setObjectName("exclusivityCombo")
        for days in EXCLUSIVITY_CHOICES:
            self.exclusivity_combo.addItem("none (0 days)" if days == 0 else f"{days} days", days)
        self.exclusivity_combo.currentIndexChanged.connect(lambda *_: self.exclusivityChanged.emit())
        self._field(form, "E&xclusivity", self.exclusivity_combo, "exclusivity_days",
                    "Days the images are withheld from Planet's public archive after capture, if your contract "
                    "allows it; costs more.")
        self.more_group.setCollapsed(True)
        fold = self.more_group.findChild(QToolButton, "collapseButton")
        if fold is not None:
            fold.setToolTip("Show or hide the options most orders leave as they are")
        self._more_rows = ("sat_elevation", "pl_number", "product", "exclusivity_days")

    def reveal_errors(self) -> None:
        """Open "More options" when one of its fields shows an error (a folded error would go unseen)."""
        if any(self.errors.labels[row].text() for row in self._more_rows if row in self.errors.labels):
            self.more_group.setCollapsed(False)

    def _datetime_edit(self, name: str) -> QDateTimeEdit:
        edit = QDateTimeEdit(self)
        edit.setObjectName(name)
        edit.setTimeSpec(Qt.TimeSpec.UTC)
        edit.setDisplayFormat(DATE_FORMAT)
        edit.setCalendarPopup(True)
        edit.dateTimeChanged.connect(self._time_changed)
        return edit

    def _angle_spin(self, parent: QWidget, name: str, value: float) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(parent)
        spin.setObjectName(name)
        spin.setRange(0.0, 90.0)
        spin.setDecimals(1)
        spin.setSingleStep(1.0)
        spin.setSuffix(" °")
        spin.setValue(value)
        spin.valueChanged.connect(lambda *_: self.changed.emit())
        return spin

    # -- values ------------------------------------------------------------------------------------

    @property
    def scheduling_type(self) -> str:
        return self.scheduling_combo.currentData() or FLEXIBLE

    @property
    def exclusivity_days(self) -> int:
        return int(self.exclusivity_combo.currentData() or 0)

    def form(self, window: Any = None) -> OrderForm:
        """The fields' values as they stand; `window` is the chosen imaging window (assured only)."""
        order_type, pov = self.imaging_combo.currentData() or (IMAGE, None)
        return OrderForm(
            name=self.name_edit.text(),
            scheduling_type=self.scheduling_type,
            order_type=order_type,
            n_stereo_pov=pov or 2,
            start_time=utc(self.start_edit),
            end_time=utc(self.end_edit),
            sat_elevation_angle_min=self.elevation_min_spin.value(),
            sat_elevation_angle_max=self.elevation_max_spin.value(),
            pl_number=self.pl_number_edit.text(),
            product=self.product_edit.text(),
            exclusivity_days=self.exclusivity_days,
            imaging_window=window.id if window and self.scheduling_type == ASSURED else None,
        )

    def reload_settings(self, pl_number: str, product: str) -> None:
        """Contract and product from the settings; what the user typed here wins until the panel is made again."""
        loading, self.loading = self.loading, True
        if not self.pl_number_edited:
            self.pl_number_edit.setText(pl_number)
        if not self.product_edited:
            self.product_edit.setText(default_product(self.scheduling_type, product))
        if not self.times_edited:
            self._set_default_times()
        self.loading = loading

    def _set_default_times(self) -> None:
        start, end = default_times(self.scheduling_type)
        for edit, value in ((self.start_edit, start), (self.end_edit, end)):
            edit.blockSignals(True)
            edit.setDateTime(qdatetime(value))
            edit.blockSignals(False)
        self._update_time_tooltips()

    def _update_time_tooltips(self) -> None:
        for edit, what in ((self.start_edit, "Earliest"), (self.end_edit, "Latest")):
            local = edit.dateTime().toLocalTime().toString("yyyy-MM-dd HH:mm")
            edit.setToolTip(f"{what} imaging time in UTC; your local time: {local}")

    def set_order_name(self, name: str) -> None:
        """Name the order as the user would by typing (the default name no longer replaces it)."""
        self.name_edit.setText(name)
        self._name_typed(name)

    def forget_name(self) -> None:
        """The next order gets a fresh default name."""
        self.name_edited = False

    def update_default_name(self, aoi: Any) -> None:
        if self.name_edited:
            return
        order_type, _pov = self.imaging_combo.currentData() or (IMAGE, None)
        self.name_edit.setText(default_order_name(aoi, self.scheduling_type, order_type))

    def _name_typed(self, _text: str) -> None:
        self.name_edited = bool(self.name_edit.text().strip())
        self.changed.emit()

    def _time_changed(self, *_args) -> None:
        if not self.loading:
            self.times_edited = True
        self._update_time_tooltips()
        self.changed.emit()

    def _scheduling_changed(self, *_args) -> None:
        loading, self.loading = self.loading, True
        self.product_edit.setText(default_product(self.scheduling_type, self.product_edit.text()))
        if not self.times_edited:
            self._set_default_times()
        self.loading = loading
        self.schedulingChanged.emit()
