"""Attribute and expression values as order-field values: NULL, UTC time text, whole numbers, and why not."""

from __future__ import annotations

from datetime import date, datetime, timezone
from typing import Any, Optional

from qgis.PyQt.QtCore import QDate, QDateTime, QVariant


def _parse_iso(text: str) -> datetime:
    """ISO 8601 text ("...Z", an offset, or none: UTC) as an aware datetime; ValueError when it is not one."""
    parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


class FeatureProblem(ValueError):
    """Why one feature's attributes cannot make an order payload: `code` and a sentence for the user."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code
        self.message = message


def is_null(value: Any) -> bool:
    return value is None or (isinstance(value, QVariant) and value.isNull())


def time_text(value: Any, what: str) -> Optional[str]:
    """An expression's value as the service's UTC time text (None for NULL); naive means UTC."""
    if is_null(value):
        return None
    if isinstance(value, QDateTime):
        if not value.isValid():
            raise FeatureProblem("bad_time", f"{what} is not a valid date and time.")
        moment = value.toUTC().toPyDateTime().replace(tzinfo=timezone.utc)
    elif isinstance(value, QDate):
        if not value.isValid():
            raise FeatureProblem("bad_time", f"{what} is not a valid date.")
        moment = datetime(value.year(), value.month(), value.day(), tzinfo=timezone.utc)
    elif isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    else:
        text = str(value).strip()
        if not text:
            return None
        try:
            moment = _parse_iso(text)
        except ValueError:
            raise FeatureProblem("bad_time", (
                f"{what} {text!r} is not a date and time: use ISO 8601, e.g. 2025-06-01T00:00:00Z.")) from None
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def whole_number(value: Any, what: str) -> Optional[int]:
    if is_null(value) or (isinstance(value, str) and not value.strip()):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise FeatureProblem("bad_number", f"{what} {value!r} is not a whole number.") from None
    if not number.is_integer():
        raise FeatureProblem("bad_number", f"{what} {value!r} is not a whole number.")
    return int(number)

