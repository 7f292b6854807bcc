"""An order form generated from a data product's JSON Schema: one widget per parameter, each error at its field."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple

from qgis.gui import QgsDateEdit, QgsDateTimeEdit, QgsDoubleSpinBox
from qgis.PyQt.QtCore import QDate, QDateTime, Qt, QTime, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QSizePolicy,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from ...core.services.up42 import schema as S

UNSET = object()  # what an editor answers when the user left its field empty
NOT_SET_TEXT = "— not set —"
# A required field without a default starts empty: the user picks each value an order is paid for.
CHOOSE_TEXT = "— choose —"
INT_LIMIT = 2 ** 31 - 1  # QSpinBox holds a C int
NUMBER_LIMIT = 1e12  # the widest range a number without bounds gets
ERROR_STYLE = "color: #c0392b;"
# Where UP42 puts the form's values in its request; its errors name them so ("params.cloudCoverage").
SERVER_PREFIXES = ("params.",)


def _tooltip(field: S.Field) -> str:
    parts = [field.description] if field.description else []
    if field.required:
        parts.append("Required.")
    if field.kind in (S.INTEGER, S.NUMBER) and (field.minimum is not None or field.maximum is not None):
        low = "" if field.minimum is None else f"{'more than' if field.exclusive_minimum else 'from'} {field.minimum:g}"
        high = "" if field.maximum is None else f"{'less than' if field.exclusive_maximum else 'up to'} {field.maximum:g}"
        parts.append(" ".join(p for p in (low, high) if p).capitalize() + ".")
    if field.multiple_of:
        parts.append(f"In steps of {field.multiple_of:g}.")
    if field.kind == S.RAW:
        parts.append("Written as JSON: the plugin has no control for this parameter's form.")
    return "\n".join(parts)


def starts_empty(field: S.Field) -> bool:
    """Whether a field's widget has an empty state: optional ones, and required ones without a default."""
    return not field.required or not field.has_default


def empty_text(field: S.Field) -> str:
    return NOT_SET_TEXT if not field.required else CHOOSE_TEXT


def label_text(field: S.Field) -> str:
    return f"{field.title} *" if field.required else field.title


class Editor:
    """One field's widget(s): reads and writes its JSON value; `error_label` shows its error (None: its
    parent's label shows it, as for an alternative of a choice)."""

    def __init__(self, form: "SchemaForm", field: S.Field, widget: QWidget):
        self.form = form
        self.field = field
        self.widget = widget
        self.error_label: Optional[QLabel] = None
        widget.setObjectName(f"field:{field.path}")
        tip = _tooltip(field)
        if tip:
            widget.setToolTip(tip)

    def value(self) -> Any:
        raise NotImplementedError

    def set_value(self, value: Any) -> None:
        raise NotImplementedError

    def reset(self) -> None:
        """Back to the schema's default, or empty."""
        if self.field.has_default:
            self.set_value(self.field.default)
        else:
            self.set_value(UNSET)

    def problems(self) -> Dict[str, str]:
        """What the widget itself knows is wrong (a raw field's JSON that does not parse)."""
        return {}


class LineEditor(Editor):
    def __init__(self, form: "SchemaForm", field: S.Field, parent: QWidget):
        edit = QLineEdit(parent)
        if field.max_length:
            edit.setMaxLength(int(field.max_length))
        if field.pattern:
            edit.setPlaceholderText(f"matching {field.pattern}")
        super().__init__(form, field, edit)
        edit.textChanged.connect(form.changed)

    def value(self) -> Any:
        text = self.widget.text()
        return text if text else UNSET

    def set_value(self, value: Any) -> None:
        self.widget.setText("" if value is UNSET or value is None else str(value))


class ComboEditor(Editor):
    """An enum: its values, after an empty item ("not set", or "choose" for a required one without a default)."""

    def __init__(self, form: "SchemaForm", field: S.Field, parent: QWidget):
        combo = QComboBox(parent)
        # A long enum value must not set the form's width: the list opens as wide as its items anyway.
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(10)
        self._offset = 1 if starts_empty(field) else 0
        if self._offset:
            combo.addItem(empty_text(field), None)
        for choice in field.enum or ():
            combo.addItem(str(choice).lower() if isinstance(choice, bool) else str(choice), choice)
        super().__init__(form, field, combo)
        combo.currentIndexChanged.connect(form.changed)

    def value(self) -> Any:
        index = self.widget.currentIndex() - self._offset
        return self.field.enum[index] if 0 <= index < len(self.field.enum or ()) else UNSET

    def set_value(self, value: Any) -> None:
        values = self.field.enum or []
        if value is not UNSET and value in values:
            self.widget.setCurrentIndex(values.index(value) + self._offset)
        else:
            self.widget.setCurrentIndex(0)


class CheckEditor(Editor):
    """A boolean; tri-state (partly checked = not set) when it may be left out and has no default."""

    def __init__(self, form: "SchemaForm", field: S.Field, parent: QWidget):
        box = QCheckBox(parent)
        self._tristate = not field.required and not field.has_default
        box.setTristate(self._tristate)
        super().__init__(form, field, box)
        box.stateChanged.connect(form.changed)

    def value(self) -> Any:
        state = self.widget.checkState()
        if state == Qt.CheckState.PartiallyChecked:
            return UNSET
        return state == Qt.CheckState.Checked

    def set_value(self, value: Any) -> None:
        if value is UNSET or value is None:
            state = Qt.CheckState.PartiallyChecked if self._tristate else Qt.CheckState.Unchecked
        else:
            state = Qt.CheckState.Checked if value else Qt.CheckState.Unchecked
        self.widget.setCheckState(state)


class SpinEditor(Editor):
    """A number within its bounds; below them an empty step ("not set" / "choose", see `starts_empty`)."""

    def __init__(self, form: "SchemaForm", field: S.Field, parent: QWidget):
        integer = field.kind == S.INTEGER
        self._integer = integer
        if integer:
            spin: Any = QSpinBox(parent)
            step: float = 1
            # The whole numbers inside the bounds (0.5 → 1), within what a QSpinBox holds (one below its floor is
            # kept for the empty step).
            low = -INT_LIMIT + 1 if field.minimum is None else (
                math.floor(field.minimum) + 1 if field.exclusive_minimum else math.ceil(field.minimum))
            high = INT_LIMIT if field.maximum is None else (
                math.ceil(field.maximum) - 1 if field.exclusive_maximum else math.floor(field.maximum))
            low, high = max(low, -INT_LIMIT + 1), min(high, INT_LIMIT)
            if field.multiple_of and float(field.multiple_of).is_integer():
                step = int(field.multiple_of)
        else:
            spin = TrimmedDoubleSpinBox(parent)
            spin.setShowClearButton(False)
            decimals = _decimals(field)
            spin.setDecimals(decimals)
            step = field.multiple_of or 10 ** -min(decimals, 2)
            tiny = 10 ** -decimals
            low = -NUMBER_LIMIT if field.minimum is None else field.minimum + (tiny if field.exclusive_minimum else 0)
            high = NUMBER_LIMIT if field.maximum is None else field.maximum - (tiny if field.exclusive_maximum else 0)
        spin.setSingleStep(step)
        self._optional = starts_empty(field)
        # The special value text stands for "empty": one step below the lowest value allowed.
        self._unset = (low - 1 if integer else low - 10 ** -spin.decimals()) if self._optional else None
        spin.setRange(self._unset if self._optional else low, high)
        if self._optional:
            spin.setSpecialValueText(empty_text(field))
        self._low = low
        super().__init__(form, field, spin)
        spin.valueChanged.connect(form.changed)

    def value(self) -> Any:
        number = self.widget.value()
        if self._optional and number <= self._unset:
            return UNSET
        if self._integer:
            return int(number)
        rounded = round(float(number), self.widget.decimals())
        return int(rounded) if rounded.is_integer() else rounded

    def set_value(self, value: Any) -> None:
        if value is UNSET or value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            self.widget.setValue(self._unset if self._optional else self._low)
        else:
            self.widget.setValue(value)


class TrimmedDoubleSpinBox(QgsDoubleSpinBox):
    """A number shown with the decimals it has ("20", "20.5"), not always as many as it may have ("20.000"): a
    field without a step accepts three, and most values use none."""

    def textFromValue(self, value: float) -> str:  # noqa: N802 - Qt's virtual
        text = super().textFromValue(value)
        point = self.locale().decimalPoint()
        if self.decimals() > 0 and point in text:
            text = text.rstrip("0").rstrip(point)
        return text


def _decimals(field: S.Field) -> int:
    """Enough decimals for the field's step and bounds (0.3–1.0 shows 1, multipleOf 0.25 shows 2), at least 1."""
    texts = [repr(float(v)) for v in (field.multiple_of, field.minimum, field.maximum, field.default)
             if isinstance(v, (int, float)) and not isinstance(v, bool)]
    places = [len(t.split(".")[1].rstrip("0")) for t in texts if "." in t and "e" not in t]
    return max([1, 3 if not field.multiple_of else 0] + places)


class DateTimeEditor(Editor):
    """A date and time in UTC, as the service takes it (2022-08-01T00:00:00.000Z); may be left empty."""

    def __init__(self, form: "SchemaForm", field: S.Field, parent: QWidget):
        edit = QgsDateTimeEdit(parent)
        edit.setAllowNull(True)
        edit.setNullRepresentation(empty_text(field))
        edit.setTimeSpec(Qt.TimeSpec.UTC)
        edit.setDisplayFormat("yyyy-MM-dd HH:mm:ss 'UTC'")
        edit.clear()
        super().__init__(form, field, edit)
        edit.valueChanged.connect(form.changed)

    def value(self) -> Any:
        if self.widget.isNull():
            return UNSET
        moment = self.widget.dateTime().toUTC()
        return moment.toString("yyyy-MM-dd'T'HH:mm:ss.zzz") + "Z"

    def set_value(self, value: Any) -> None:
        moment = _parse_datetime(value) if isinstance(value, str) else None
        if moment is None:
            self.widget.clear()
            return
        stamp = QDateTime(QDate(moment.year, moment.month, moment.day),
                          QTime(moment.hour, moment.minute, moment.second, moment.microsecond // 1000),
                          Qt.TimeSpec.UTC)
        self.widget.setDateTime(stamp)


def _parse_datetime(text: str) -> Optional[datetime]:
    try:
        cleaned = re.sub(r"(\.\d{1,6})\d*", r"\1", text.strip()).replace("z", "Z").replace("Z", "+00:00")
        if re.search(r"\.\d{1,5}\+", cleaned):  # fromisoformat (Python 3.9) wants 3 or 6 decimals
            whole, rest = cleaned.split(".", 1)
            digits, offset = re.match(r"(\d+)(.*)", rest).groups()  # type: ignore[union-attr]
            cleaned = f"{whole}.{digits.ljust(6, '0')}{offset}"
        moment = datetime.fromisoformat(cleaned)
    except (ValueError, AttributeError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


class DateEditor(Editor):
    def __init__(self, form: "SchemaForm", field: S.Field, parent: QWidget):
        edit = QgsDateEdit(parent)
        edit.setAllowNull(True)
        edit.setNullRepresentation(empty_text(field))
        edit.setDisplayFormat("yyyy-MM-dd")
        edit.clear()
        super().__init__(form, field, edit)
        edit.valueChanged.connect(form.changed)

    def value(self) -> Any:
        return UNSET if self.widget.isNull() else self.widget.date().toString("yyyy-MM-dd")

    def set_value(self, value: Any) -> None:
        day = QDate.fromString(value, "yyyy-MM-dd") if isinstance(value, str) else QDate()
        if day.isValid():
            self.widget.setDate(day)
        else:
            self.widget.clear()


class RawEditor(Editor):
    """A parameter no control can edit (a list, a `not`, an unresolved $ref...), written as JSON, checked to parse."""

    def __init__(self, form: "SchemaForm", field: S.Field, parent: QWidget):
        edit = QPlainTextEdit(parent)
        edit.setPlaceholderText("JSON")
        edit.setTabChangesFocus(True)
        edit.setFixedHeight(edit.fontMetrics().lineSpacing() * 4 + 12)
        super().__init__(form, field, edit)
        edit.textChanged.connect(form.changed)

    def _parsed(self) -> Tuple[Any, Optional[str]]:
        text = self.widget.toPlainText().strip()
        if not text:
            return UNSET, None
        try:
            return json.loads(text), None
        except ValueError as error:
            return UNSET, f"is not valid JSON ({error.msg}, line {error.lineno} column {error.colno})"

    def value(self) -> Any:
        return self._parsed()[0]

    def set_value(self, value: Any) -> None:
        self.widget.setPlainText("" if value is UNSET else json.dumps(value, ensure_ascii=False))

    def problems(self) -> Dict[str, str]:
        problem = self._parsed()[1]
        return {self.field.path: problem} if problem else {}


class ObjectEditor(Editor):
    """A nested object: a group of its own fields (the root's are the form's rows)."""

    def __init__(self, form: "SchemaForm", field: S.Field, parent: QWidget, *, flat: bool = False):
        box: QWidget = QWidget(parent) if flat else QGroupBox(label_text(field), parent)
        super().__init__(form, field, box)
        layout = QFormLayout(box)
        layout.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        # In a narrow dock (400 px) a label too long to share its row goes above its field instead of
        # widening the form.
        layout.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        if flat:
            layout.setContentsMargins(0, 0, 0, 0)
        self.children: List[Editor] = []
        for child in field.children:
            if child.path in form.excluded:
                continue
            editor = form.make_editor(child, box)
            self.children.append(editor)
            if isinstance(editor, ObjectEditor):
                layout.addRow(form.with_error(editor))
                continue
            label = QLabel(label_text(child), box)
            label.setToolTip(editor.widget.toolTip())
            label.setBuddy(editor.widget)
            if isinstance(editor, FULL_WIDTH_EDITORS):
                # A date and time with its "UTC" (or a choice with its fields) needs the whole width of a 400 px
                # dock: beside a long label it was cut off at both ends. Its label goes above it.
                layout.addRow(label)
                layout.addRow(form.with_error(editor))
            else:
                layout.addRow(label, form.with_error(editor))

    def value(self) -> Any:
        found = {}
        for editor in self.children:
            item = editor.value()
            if item is not UNSET:
                found[editor.field.name] = item
        return found if found or self.field.required else UNSET

    def set_value(self, value: Any) -> None:
        given = value if isinstance(value, dict) else {}
        for editor in self.children:
            if editor.field.name in given:
                editor.set_value(given[editor.field.name])
            elif value is UNSET:
                editor.reset()
            else:
                editor.set_value(UNSET)

    def reset(self) -> None:
        for editor in self.children:
            editor.reset()

    def problems(self) -> Dict[str, str]:
        found: Dict[str, str] = {}
        for editor in self.children:
            found.update(editor.problems())
        return found


class ChoiceEditor(Editor):
    """anyOf/oneOf: a chooser of the alternatives, and the chosen one's fields below it."""

    def __init__(self, form: "SchemaForm", field: S.Field, parent: QWidget):
        box = QWidget(parent)
        super().__init__(form, field, box)
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.chooser = QComboBox(box)
        self.chooser.setObjectName(f"choice:{field.path}")
        # An alternative's title ("Option 1: SPOT_5X5, STRIP_5X10 or STRIP_5X20") must not widen a 400 px dock.
        self.chooser.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.chooser.setMinimumContentsLength(10)
        self.chooser.setToolTip(box.toolTip())
        self.stack = QStackedWidget(box)
        self._offset = 1 if starts_empty(field) else 0
        if self._offset:
            self.chooser.addItem(empty_text(field))
            self.stack.addWidget(QWidget(self.stack))
        self.alternatives: List[Editor] = []
        for alternative in field.alternatives:
            self.chooser.addItem(alternative.title)
            editor = form.make_editor(alternative, self.stack, flat=True, own_error=False)
            self.alternatives.append(editor)
            self.stack.addWidget(editor.widget)
        layout.addWidget(self.chooser)
        layout.addWidget(self.stack)
        self.chooser.currentIndexChanged.connect(self._show_page)
        self.chooser.currentIndexChanged.connect(form.changed)
        self._show_page(self.chooser.currentIndex())

    def _show_page(self, index: int) -> None:
        # A stack is as tall as its tallest page: the pages not shown are ignored in its size, so an empty choice
        # leaves no blank gap between the chooser and its error.
        for page in range(self.stack.count()):
            policy = QSizePolicy.Policy.Preferred if page == index else QSizePolicy.Policy.Ignored
            self.stack.widget(page).setSizePolicy(policy, policy)
        self.stack.setCurrentIndex(index)
        self.stack.updateGeometry()

    @property
    def chosen(self) -> Optional[Editor]:
        index = self.chooser.currentIndex() - self._offset
        return self.alternatives[index] if 0 <= index < len(self.alternatives) else None

    def value(self) -> Any:
        chosen = self.chosen
        return UNSET if chosen is None else chosen.value()

    def set_value(self, value: Any) -> None:
        if value is UNSET:
            self.chooser.setCurrentIndex(0)
            for editor in self.alternatives:
                editor.reset()
            return
        for index, editor in enumerate(self.alternatives):
            if S.matches(self.form.schema, editor.field.schema, value):
                self.chooser.setCurrentIndex(index + self._offset)
                editor.set_value(value)
                return
        # A value no alternative accepts is still shown, in the first one that can hold it, so that the
        # validation says what is wrong with it there rather than the value quietly vanishing.
        for index, editor in enumerate(self.alternatives):
            editor.set_value(value)
            if editor.value() == value:
                self.chooser.setCurrentIndex(index + self._offset)
                return
            editor.reset()
        self.chooser.setCurrentIndex(0)

    def problems(self) -> Dict[str, str]:
        chosen = self.chosen
        return chosen.problems() if chosen is not None else {}


# Editors laid out under their label, across the form's whole width.
FULL_WIDTH_EDITORS = (DateTimeEditor, ChoiceEditor)


class SchemaForm(QWidget):
    """The order form of one data product, generated from its JSON Schema.

    Enums are combo boxes, numbers spin boxes within their bounds, date-times date-time edits (UTC), booleans
    check boxes, strings line edits, nested objects groups, anyOf/oneOf a chooser with the chosen alternative's
    fields, and anything else a JSON text field. Required fields are marked "*", descriptions are tooltips.
    `excluded` paths (the AOI, which the map gives) get no widget. `values()` is the params object;
    `show_errors({path: message})` puts each message under its field ("params." prefixes are understood), and
    what has no field above the form. `changed` fires on every edit (for a debounced estimate).
    """

    changed = pyqtSignal()

    def __init__(self, schema: Mapping[str, Any], parent: Optional[QWidget] = None, *,
                 excluded: Sequence[str] = ("geometry",)):
        super().__init__(parent)
        self.schema: Dict[str, Any] = dict(schema)
        self.root = S.fields_of(self.schema)
        self.excluded = frozenset(excluded)
        # field path -> the labels its errors go to (several when alternatives share a field: the shown one reads it)
        self._labels: Dict[str, List[QLabel]] = {}
        self._editors: Dict[str, Editor] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.general_errors = QLabel(self)
        self.general_errors.setObjectName("general_errors")
        self.general_errors.setStyleSheet(ERROR_STYLE)
        self.general_errors.setWordWrap(True)
        self.general_errors.hide()
        layout.addWidget(self.general_errors)
        self.body = ObjectEditor(self, self.root, self, flat=True)
        layout.addWidget(self.body.widget)
        self.body.reset()

    # -- building ----------------------------------------------------------------------------

    def make_editor(self, field: S.Field, parent: QWidget, *, flat: bool = False, own_error: bool = True) -> Editor:
        if field.kind == S.OBJECT:
            editor: Editor = ObjectEditor(self, field, parent, flat=flat)
        elif field.kind == S.CHOICE:
            editor = ChoiceEditor(self, field, parent)
        else:
            kind = {S.ENUM: ComboEditor, S.BOOLEAN: CheckEditor, S.INTEGER: SpinEditor, S.NUMBER: SpinEditor,
                    S.STRING: LineEditor, S.DATETIME: DateTimeEditor, S.DATE: DateEditor}.get(field.kind, RawEditor)
            editor = kind(self, field, parent)
        # A choice is made after its alternatives (which share its path): the outermost editor of a path wins.
        self._editors[field.path] = editor
        if own_error:
            label = QLabel(parent)
            label.setObjectName(f"error:{field.path}")
            label.setStyleSheet(ERROR_STYLE)
            label.setWordWrap(True)
            label.hide()
            editor.error_label = label
            self._labels.setdefault(field.path, []).append(label)
        return editor

    def with_error(self, editor: Editor) -> QWidget:
        """The editor's widget with its error label under it."""
        if editor.error_label is None:
            return editor.widget
        holder = QWidget(editor.widget.parentWidget())
        column = QVBoxLayout(holder)
        column.setContentsMargins(0, 0, 0, 0)
        column.setSpacing(2)
        column.addWidget(editor.widget)
        column.addWidget(editor.error_label)
        return holder

    # -- values ------------------------------------------------------------------------------

    def values(self) -> Dict[str, Any]:
        """The params the form holds now (fields left empty are left out)."""
        found = self.body.value()
        return found if isinstance(found, dict) else {}

    def set_values(self, values: Mapping[str, Any]) -> None:
        """Fill the form from a params object (fields it does not name are emptied)."""
        self.body.set_value(dict(values))

    def reset(self) -> None:
        """Every field back to its schema default, or empty."""
        self.body.reset()

    def carry_over(self, values: Mapping[str, Any]) -> List[str]:
        """Fill in, from another product's form, each top-level value this form has a field for and accepts (the
        window, the cloud cover, a processing level both offer); the rest keep their defaults. Answers the
        fields filled in."""
        taken: List[str] = []
        for name, value in values.items():
            editor = self._editors.get(name)
            if editor is None or name in self.excluded:
                continue
            before = editor.value()
            editor.set_value(value)
            problems = S.validate(self.schema, {name: value}, skip=tuple(self.excluded))
            if editor.value() != value or any(path == name or path.startswith((f"{name}.", f"{name}["))
                                              for path in problems):
                editor.set_value(before)  # not this form's to take: its default (or empty) stays
            else:
                taken.append(name)
        return taken

    def editor(self, path: str) -> Optional[Editor]:
        return self._editors.get(path)

    # -- validation and errors ---------------------------------------------------------------

    def problems(self) -> Dict[str, str]:
        """Everything wrong with the form's values: raw JSON that does not parse, then the schema's rules
        (the excluded paths, the AOI, are the map's to check)."""
        found = self.body.problems()
        for path, message in S.validate(self.schema, self.values(), skip=tuple(self.excluded)).items():
            found.setdefault(path, message)
        return found

    def validate(self) -> bool:
        """Show every problem at its field; True when there is none."""
        found = self.problems()
        self.show_errors(found)
        return not found

    def clear_errors(self) -> None:
        for labels in self._labels.values():
            for label in labels:
                label.clear()
                label.hide()
        self.general_errors.clear()
        self.general_errors.hide()

    def show_errors(self, errors: Mapping[str, Any]) -> List[str]:
        """Put each message under its field: the field of the path, or of the nearest enclosing path that has
        one ("incidenceAngle.minimum", "params.cloudCoverage", "x[0]" -> "x"); the rest (the AOI's, the whole
        request's) above the form. Answers the paths shown above the form."""
        self.clear_errors()
        general: List[str] = []
        placed: Dict[str, List[str]] = {}
        for path, message in errors.items():
            text = self.readable(" ".join(message) if isinstance(message, (list, tuple)) else str(message))
            target = self._label_path(str(path))
            if target is None:
                general.append(f"{path}: {text}" if path and path != "non_field_errors" else text)
            else:
                placed.setdefault(target, []).append(text)
        for target, texts in placed.items():
            for label in self._labels[target]:
                label.setText("\n".join(texts))
                label.show()
        if general:
            self.general_errors.setText("\n".join(general))
            self.general_errors.show()
        return [line.split(":", 1)[0] for line in general]

    def title_of(self, path: str) -> str:
        """The field's label as the user reads it ("Start of the acquisition window"), else the path."""
        editor = self._editors.get(path)
        return editor.field.title if editor is not None and editor.field.title else path

    def readable(self, text: str) -> str:
        """A message with the fields it names by path ("must be after params.acquisitionStart") named by title."""
        def title(match: "re.Match") -> str:
            path = match.group(0)
            bare = path[len("params."):] if path.startswith("params.") else path
            return f"“{self.title_of(bare)}”" if bare in self._editors else path

        return re.sub(r"\bparams\.[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*", title, text)

    def error_text(self, path: str) -> str:
        """The error shown at a field now ("" when none): what the user reads under it."""
        return next((label.text() for label in self._labels.get(path, ()) if not label.isHidden()), "")

    def _label_path(self, path: str) -> Optional[str]:
        for prefix in SERVER_PREFIXES:
            if path.startswith(prefix):
                path = path[len(prefix):]
        while path:
            if path in self.excluded:
                return None
            if path in self._labels:
                return path
            path = re.sub(r"(\.[^.\[\]]*|\[\d+\])$", "", path) if re.search(r"[.\[]", path) else ""
        return None
